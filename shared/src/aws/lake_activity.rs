//! The `OrgActivity` port over a CloudTrail Lake event data store (source `cloudtrail-lake`), for organizations that
//! already have one: AWS closed CloudTrail Lake to new customers on 2026-05-31, so it is optional, never the default.
//!
//! One query per person and window (StartQuery → DescribeQuery → GetQueryResults, paged), restricted to the accounts
//! the person could reach (`recipientAccountId`) and the window (`eventTime`), with the same people filter as the
//! Athena source. Lake SQL is Trino's ("CloudTrail Lake supports all valid Trino SQL SELECT statements, functions,
//! and operators", CloudTrail User Guide, "CloudTrail Lake SQL constraints"), with the event data store's id as the
//! `FROM` table.
//!
//! Injection safety by strict validation only: StartQuery's `QueryParameters` apply to saved queries
//! (`QueryAlias`), not to a query statement, so every value is written as a literal — and every value has been
//! validated to a character set no quote can be part of (`sql_activity::Named`; the store id to letters, digits and
//! '-').

use std::collections::HashMap;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_cloudtrail as cloudtrail;
use chrono::{DateTime, Utc};
use cloudtrail::types::QueryStatus;

use crate::config::{Env, required};
use crate::domain::ActivityEvent;
use crate::error::{AwsCause, AwsFailure, Error, Result};
use crate::ports::{OrgActivity, UseQuery, UseRead};

use super::sql_activity::{
    Deadline, Named, QueryState, RowColumns, caught_up_to, delivery_lag_from_env, event_from_row, in_order,
    people_filter, poll_until_finished,
};

const SERVICE: &str = "cloudtrail";
pub const SOURCE: &str = "cloudtrail-lake";
/// GetQueryResults' largest page (`MaxQueryResults` 1-1000).
const PAGE_SIZE: i32 = 1000;
const MAX_PAGES: usize = 50;
/// Lake's `eventTime` is a timestamp; a literal compares as `yyyy-MM-dd HH:mm:ss` (UTC).
const LAKE_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// The event data store to query: `LAKE_EVENT_DATA_STORE` (its ARN or its id), and
/// `ACTIVITY_DELIVERY_LAG_SECONDS` (default 900).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeSettings {
    /// The id part of the store's ARN: what a Lake query names in `FROM`.
    pub event_data_store: String,
    pub delivery_lag: chrono::Duration,
}

impl LakeSettings {
    pub fn from_env(env: &impl Env) -> Result<Self> {
        let value = required(env, "LAKE_EVENT_DATA_STORE")?;
        // arn:aws:cloudtrail:<region>:<account>:eventdatastore/<id>, or the id alone.
        let id = value.rsplit('/').next().unwrap_or(&value).to_owned();
        let arn_shape = !value.contains('/') || value.starts_with("arn:") && value.contains(":eventdatastore/");
        if !arn_shape || id.is_empty() || id.len() > 256 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(Error::config(
                "LAKE_EVENT_DATA_STORE",
                "must be an event data store ARN (arn:aws:cloudtrail:…:eventdatastore/<id>) or its id",
            ));
        }
        Ok(Self {
            event_data_store: id,
            delivery_lag: delivery_lag_from_env(env)?,
        })
    }
}

/// The columns the query selects, each under a plain alias (read case-insensitively).
const SELECTED: &[(&str, &str)] = &[
    ("eventID", "eventid"),
    ("eventTime", "eventtime"),
    ("eventSource", "eventsource"),
    ("eventName", "eventname"),
    ("awsRegion", "awsregion"),
    ("recipientAccountId", "recipientaccountid"),
    ("errorCode", "errorcode"),
    ("userIdentity.arn", "arn"),
    ("userIdentity.onBehalfOf.userId", "onbehalfof_userid"),
];

/// The Lake query for one person and window, `None` when there is nothing to ask; and whether every account and
/// person fitted. A pure function of its input.
pub fn lake_query(
    event_data_store: &str,
    reach: &crate::domain::activity::Reach,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Option<(String, bool)> {
    let named = Named::from_reach(reach);
    if named.is_empty() || start > end {
        return None;
    }
    // Every value here is validated (see the module's note): a literal is the value in quotes.
    let literal = |value: &str| format!("'{value}'");
    let columns = SELECTED
        .iter()
        .map(|(column, alias)| format!("{column} AS {alias}"))
        .collect::<Vec<_>>()
        .join(", ");
    let accounts = named.accounts.iter().map(|a| literal(a)).collect::<Vec<_>>().join(", ");
    let people = people_filter("userIdentity.arn", "userIdentity.onBehalfOf.userId", &named, literal);
    let sql = format!(
        "SELECT {columns}\nFROM {event_data_store}\nWHERE recipientAccountId IN ({accounts})\n  AND eventTime BETWEEN \
         '{}' AND '{}'\n  AND {people}\nORDER BY eventTime, eventID",
        start.format(LAKE_TIME_FORMAT),
        end.format(LAKE_TIME_FORMAT),
    );
    Some((sql, named.complete))
}

/// CloudTrail Lake.
#[derive(Debug, Clone)]
pub struct LakeActivity {
    client: cloudtrail::Client,
    settings: LakeSettings,
}

impl LakeActivity {
    pub fn new(sdk: &SdkConfig, settings: LakeSettings) -> Self {
        Self {
            client: cloudtrail::Client::new(sdk),
            settings,
        }
    }

    /// Polls DescribeQuery until the query finishes (`true`), fails (an error with Lake's message) or the budget
    /// ends (`false`).
    async fn wait(&self, id: &str, deadline: Deadline) -> Result<bool> {
        poll_until_finished(deadline, || async {
            let answer = (self.client.describe_query().query_id(id).send().await)
                .map_err(|e| Error::aws(SERVICE, "DescribeQuery", e))?;
            match answer.query_status {
                Some(QueryStatus::Finished) => Ok(QueryState::Finished),
                Some(QueryStatus::Queued | QueryStatus::Running) => Ok(QueryState::Running),
                Some(status @ (QueryStatus::Failed | QueryStatus::Cancelled | QueryStatus::TimedOut)) => {
                    Err(Error::aws(
                        SERVICE,
                        "DescribeQuery",
                        LakeQueryFailed {
                            id: id.to_owned(),
                            status: status.as_str().to_owned(),
                            message: answer.error_message,
                        },
                    ))
                }
                other => Err(Error::AwsContract {
                    service: SERVICE,
                    operation: "DescribeQuery",
                    problem: format!("query {id} has status {other:?}"),
                }),
            }
        })
        .await
    }

    /// Cancels a query the read no longer waits for; a failure is logged, the read already says it is incomplete.
    async fn cancel(&self, id: &str) {
        let call = self.client.cancel_query().query_id(id).send();
        match tokio::time::timeout(Duration::from_secs(5), call).await {
            Ok(Ok(_)) => tracing::info!(query_id = id, "Lake query cancelled: out of budget"),
            Ok(Err(e)) => tracing::warn!(
                query_id = id,
                error = %Error::aws(SERVICE, "CancelQuery", e).causes(),
                "could not cancel the Lake query"
            ),
            Err(_) => tracing::warn!(query_id = id, "CancelQuery timed out"),
        }
    }

    async fn results(&self, id: &str, deadline: Deadline) -> Result<(Vec<ActivityEvent>, bool)> {
        let operation = "GetQueryResults";
        let mut events = Vec::new();
        let mut next_token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let Some(left) = deadline.left() else {
                return Ok((events, false));
            };
            let sent = next_token.clone();
            let call = self
                .client
                .get_query_results()
                .query_id(id)
                .max_query_results(PAGE_SIZE)
                .set_next_token(next_token.take())
                .send();
            let Ok(page) = tokio::time::timeout(left, call).await else {
                return Ok((events, false));
            };
            let page = page.map_err(|e| Error::aws(SERVICE, operation, e))?;
            for row in page.query_result_rows.unwrap_or_default() {
                // A row is a list of one-entry maps, column → value (a NULL column may be absent).
                let cells: HashMap<String, String> = row
                    .into_iter()
                    .flatten()
                    .map(|(column, value)| (column.to_ascii_lowercase(), value))
                    .collect();
                let get = |name: &str| cells.get(name).map(String::as_str);
                let event = event_from_row(&RowColumns {
                    event_id: get("eventid"),
                    event_time: get("eventtime"),
                    event_source: get("eventsource"),
                    event_name: get("eventname"),
                    aws_region: get("awsregion"),
                    recipient_account_id: get("recipientaccountid"),
                    error_code: get("errorcode"),
                    arn: get("arn"),
                    on_behalf_of_user_id: get("onbehalfof_userid"),
                    additional_event_data: None,
                })
                .map_err(super::contract_breach(SERVICE, operation))?;
                events.push(event);
            }
            match page.next_token.filter(|t| !t.is_empty()) {
                Some(token) if Some(&token) == sent.as_ref() => {
                    return Err(Error::AwsContract {
                        service: SERVICE,
                        operation,
                        problem: "answered with the NextToken it was sent".into(),
                    });
                }
                Some(token) => next_token = Some(token),
                None => return Ok((events, true)),
            }
        }
        Ok((events, false))
    }
}

impl OrgActivity for LakeActivity {
    fn source(&self) -> &'static str {
        SOURCE
    }

    async fn use_of_aws(&self, query: &UseQuery) -> Result<UseRead> {
        let deadline = Deadline::after(query.budget);
        let caught_up_to = caught_up_to(Utc::now(), self.settings.delivery_lag, query.end);
        let Some((sql, named_all)) = lake_query(&self.settings.event_data_store, &query.reach, query.start, query.end)
        else {
            return Ok(UseRead {
                events: Vec::new(),
                complete: true,
                caught_up_to,
                unread_accounts: Vec::new(),
            });
        };
        if deadline.left().is_none() {
            return Ok(UseRead {
                events: Vec::new(),
                complete: false,
                caught_up_to,
                unread_accounts: Vec::new(),
            });
        }
        let started = self
            .client
            .start_query()
            .query_statement(sql)
            .send()
            .await
            .map_err(|e| Error::aws(SERVICE, "StartQuery", e).without_service_message())?;
        let id = started
            .query_id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| super::missing(SERVICE, "StartQuery", "QueryId"))?;
        if !self.wait(&id, deadline).await? {
            self.cancel(&id).await;
            return Ok(UseRead {
                events: Vec::new(),
                complete: false,
                caught_up_to,
                unread_accounts: Vec::new(),
            });
        }
        let (events, read_all) = self.results(&id, deadline).await?;
        let events = in_order(events);
        let complete = read_all && named_all;
        tracing::info!(query_id = %id, events = events.len(), complete, "CloudTrail Lake activity read");
        Ok(UseRead {
            events,
            complete,
            caught_up_to,
            unread_accounts: Vec::new(),
        })
    }
}

/// A Lake query that ended FAILED, CANCELLED or TIMED_OUT, with Lake's `ErrorMessage`.
#[derive(Debug, thiserror::Error)]
#[error("query {id} ended {status}")]
pub struct LakeQueryFailed {
    pub id: String,
    pub status: String,
    pub message: Option<String>,
}

impl AwsCause for LakeQueryFailed {
    fn failure(&self) -> AwsFailure {
        AwsFailure::Service {
            code: format!("Query{}", self.status),
            message: self.message.clone().map(|m| m.chars().take(300).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::domain::activity::Reach;
    use crate::domain::{AccountId, IdcUserId};

    #[test]
    fn the_query_names_the_store_accounts_window_and_people_as_validated_literals() {
        let reach = Reach {
            user_ids: vec![IdcUserId::parse("94d00cd8-e9e6-4810-b177-b08e84775435").unwrap()],
            user_names: vec!["Alice@Example.com".into(), "x' OR '1'='1".into()],
            accounts: vec![AccountId::parse("444455556666").unwrap()],
            permission_sets: vec![],
        };
        let (sql, complete) = lake_query(
            "EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE",
            &reach,
            "2026-11-20T09:00:00Z".parse().unwrap(),
            "2026-11-20T21:00:00Z".parse().unwrap(),
        )
        .unwrap();
        assert!(complete);
        assert!(sql.contains("FROM EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE\n"), "{sql}");
        assert!(sql.contains("recipientAccountId IN ('444455556666')"), "{sql}");
        assert!(
            sql.contains("eventTime BETWEEN '2026-11-20 09:00:00' AND '2026-11-20 21:00:00'"),
            "{sql}"
        );
        assert!(sql.contains("IN ('alice@example.com')"), "{sql}");
        assert!(
            sql.contains("userIdentity.onBehalfOf.userId IN ('94d00cd8-e9e6-4810-b177-b08e84775435')"),
            "{sql}"
        );
        assert!(!sql.contains("'1'='1"), "{sql}");
    }

    #[test]
    fn the_store_is_an_arn_or_an_id() {
        for (value, id) in [
            (
                "arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/EXAMPLE-f852-4e8f",
                Some("EXAMPLE-f852-4e8f"),
            ),
            ("EXAMPLE-f852-4e8f", Some("EXAMPLE-f852-4e8f")),
            ("x; DROP", None),
            ("arn:aws:s3:::bucket/key", None),
        ] {
            let map = HashMap::from([("LAKE_EVENT_DATA_STORE", value)]);
            let env = |name: &str| map.get(name).map(|v| (*v).to_owned());
            let settings = LakeSettings::from_env(&env);
            assert_eq!(
                settings.as_ref().ok().map(|s| s.event_data_store.as_str()),
                id,
                "{value}: {settings:?}"
            );
        }
    }
}
