//! Member accounts' own CloudTrail event history, for the per-account activity source: each `MemberCall` seeded
//! into the LookupEvents history of its account and Region (moto keeps one per account and Region), and the
//! activity-read role `member-activity-role.yaml` creates in a member account.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use shared::domain::AccountId;

use crate::cloudtrail::{MemberCall, lookup_event};
use crate::moto::MotoAccount;

/// The deploy stack's name the tests' trust policies name (member-activity-role.yaml's `DeployStackName` default).
pub const DEPLOY_STACK: &str = "deprov-audit";
/// The name SAM gives the propagation-check function's role (`<stack>-PropagationCheckFunctionRole-<suffix>`):
/// the deploy account enters moto as a session of it, as the deployed function runs.
pub const CHECKER_ROLE: &str = "deprov-audit-PropagationCheckFunctionRole-AbC123dEf456";

/// Seeds every call into its member account's event history, in its Region, as LookupEvents answers it.
pub async fn seed_member_calls(calls: &[MemberCall]) {
    let mut places: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
    for call in calls {
        places
            .entry((call.account_id.clone(), call.region.clone()))
            .or_default()
            .push(lookup_event(&call.record()));
    }
    for ((account, region), events) in places {
        let member = MotoAccount::enter(AccountId::parse(account).expect("a member call's account id")).await;
        member.seed_lookup_events_in(&region, &events).await;
    }
}

/// The trust policy member-activity-role.yaml gives the role, for the deploy account and stack given and a
/// function role name pattern (`<stack>-PropagationCheckFunctionRole-*` in the template).
pub fn trust_policy(deploy: &AccountId, function_role_pattern: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "AWS": format!("arn:aws:iam::{deploy}:root") },
            "Action": "sts:AssumeRole",
            "Condition": {
                "ArnLike": { "aws:PrincipalArn": format!("arn:aws:iam::{deploy}:role/{function_role_pattern}") }
            }
        }]
    })
}

/// Creates the activity-read role in `member` as the StackSet would: trusting the propagation-check function
/// role of `deploy`'s `DEPLOY_STACK`, allowed `cloudtrail:LookupEvents` only.
pub async fn activity_role(member: &AccountId, role_name: &str, deploy: &AccountId) {
    role_trusting(
        member,
        role_name,
        &trust_policy(deploy, &format!("{DEPLOY_STACK}-PropagationCheckFunctionRole-*")),
    )
    .await;
}

/// Creates a role named `role_name` in `member` with the given trust policy and the LookupEvents permission.
pub async fn role_trusting(member: &AccountId, role_name: &str, trust: &Value) {
    let member = MotoAccount::enter(member.clone()).await;
    let iam = aws_sdk_iam::Client::new(member.sdk_config());
    iam.create_role()
        .role_name(role_name)
        .assume_role_policy_document(trust.to_string())
        .max_session_duration(3600)
        .send()
        .await
        .expect("CreateRole");
    let permissions = json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Action": "cloudtrail:LookupEvents", "Resource": "*" }]
    });
    iam.put_role_policy()
        .role_name(role_name)
        .policy_name("lookup-events")
        .policy_document(permissions.to_string())
        .send()
        .await
        .expect("PutRolePolicy");
}
