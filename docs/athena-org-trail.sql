-- The organization trail as an Athena table, for the `athena` activity source (ACTIVITY_SOURCE=athena).
--
-- Columns: the CloudTrail table of the Athena User Guide ("Create the table for CloudTrail logs in Athena using
-- manual partitioning" / "... using partition projection"), with the CloudTrail SerDe, trimmed to what an
-- activity read needs plus the usual neighbours. Partitions: projected from the org trail's S3 layout
--   s3://<bucket>/AWSLogs/<org-id>/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/
-- account_id is an *injected* projection (new member accounts need no DDL change; every query must name its
-- accounts, which the auditor's does), region an enum of the Regions the trail logs, log_date a date range.
--
-- Replace <bucket>, <org-id> and the region list (a Region not in projection.region.values is never scanned: list
-- every Region the trail logs, opt-in Regions included), then run it once in Athena
-- (database: CREATE DATABASE cloudtrail;). Set ATHENA_DATABASE=cloudtrail, ATHENA_TABLE=org_trail.
-- The test world runs this file as written (placeholders substituted) behind moto's Athena API.
CREATE EXTERNAL TABLE IF NOT EXISTS org_trail (
    eventversion STRING,
    useridentity STRUCT<
        type: STRING,
        principalid: STRING,
        arn: STRING,
        accountid: STRING,
        invokedby: STRING,
        accesskeyid: STRING,
        username: STRING,
        onbehalfof: STRUCT<
            userid: STRING,
            identitystorearn: STRING>,
        sessioncontext: STRUCT<
            attributes: STRUCT<
                mfaauthenticated: STRING,
                creationdate: STRING>,
            sessionissuer: STRUCT<
                type: STRING,
                principalid: STRING,
                arn: STRING,
                accountid: STRING,
                username: STRING>,
            sourceidentity: STRING>>,
    eventtime STRING,
    eventsource STRING,
    eventname STRING,
    awsregion STRING,
    sourceipaddress STRING,
    useragent STRING,
    errorcode STRING,
    errormessage STRING,
    requestparameters STRING,
    responseelements STRING,
    additionaleventdata STRING,
    requestid STRING,
    eventid STRING,
    readonly STRING,
    resources ARRAY<STRUCT<
        arn: STRING,
        accountid: STRING,
        type: STRING>>,
    eventtype STRING,
    apiversion STRING,
    recipientaccountid STRING,
    serviceeventdetails STRING,
    sharedeventid STRING,
    vpcendpointid STRING,
    eventcategory STRING
)
PARTITIONED BY (
    account_id STRING,
    region STRING,
    log_date STRING
)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://<bucket>/AWSLogs/<org-id>/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'projection.account_id.type' = 'injected',
    'projection.region.type' = 'enum',
    'projection.region.values' = 'us-east-1,us-east-2,us-west-1,us-west-2,ca-central-1,eu-west-1,eu-west-2,eu-west-3,eu-central-1,eu-north-1,eu-south-1,ap-south-1,ap-northeast-1,ap-northeast-2,ap-northeast-3,ap-southeast-1,ap-southeast-2,sa-east-1',
    'projection.log_date.type' = 'date',
    'projection.log_date.format' = 'yyyy/MM/dd',
    'projection.log_date.range' = '2024/01/01,NOW',
    'projection.log_date.interval' = '1',
    'projection.log_date.interval.unit' = 'DAYS',
    'storage.location.template' = 's3://<bucket>/AWSLogs/<org-id>/${account_id}/CloudTrail/${region}/${log_date}'
);
