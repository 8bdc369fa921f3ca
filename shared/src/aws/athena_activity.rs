//! The `OrgActivity` port over Athena and the organization trail's S3 log files (source `athena`): the default
//! org-wide activity source. The table is `docs/athena-org-trail.sql` (partition projection over
//! `AWSLogs/<org-id>/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/`).
//!
//! One query per person and window: restricted to the accounts the person could reach (the `account_id` partition,
//! an injected projection) and the days concerned (`log_date`), role sessions matched by the `AWSReservedSSO_`
//! role and the session name, portal events by `userIdentity.onBehalfOf.userId`. The query waits inside the read's
//! budget; a query still running when the budget is spent is stopped and the read says it is incomplete.
//!
//! Injection safety, twice: every value reaches Athena as an `ExecutionParameters` entry (the query text holds only
//! `?`), and every value is first validated to a character set no quote can be part of (`sql_activity::Named`);
//! the database and table names, which cannot be parameters, are validated identifiers and double-quoted.
//! Parameters alone would not do: Athena reads each one as a SQL literal (a string is sent quoted, `'value'`).

use std::time::Duration;

use athena::types::{QueryExecutionContext, QueryExecutionState, ResultConfiguration};
use aws_config::SdkConfig;
use aws_sdk_athena as athena;
use chrono::{DateTime, Utc};

use crate::config::{Env, optional, required};
use crate::error::{AwsCause, AwsFailure, Error, Result};
use crate::ports::{OrgActivity, UseQuery, UseRead};

use super::sql_activity::{
    Deadline, EVENT_TIME_FORMAT, Named, QueryState, RowColumns, caught_up_to, delivery_lag_from_env, event_from_row,
    in_order, people_filter, poll_until_finished,
};

const SERVICE: &str = "athena";
pub const SOURCE: &str = "athena";
/// GetQueryResults' largest page.
const PAGE_SIZE: i32 = 1000;
/// Pages read at most (50,000 rows): more is handed back as an incomplete read.
const MAX_PAGES: usize = 50;
/// The `log_date` partition's format (`projection.log_date.format`).
const LOG_DATE_FORMAT: &str = "%Y/%m/%d";

/// Where the org-trail table is and how Athena runs queries on it: `ATHENA_DATABASE`, `ATHENA_TABLE`,
/// `ATHENA_WORKGROUP`, optional `ATHENA_OUTPUT_LOCATION` (else the workgroup's), `ACTIVITY_DELIVERY_LAG_SECONDS`
/// (default 900).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AthenaSettings {
    pub database: String,
    pub table: String,
    pub workgroup: String,
    pub output_location: Option<String>,
    pub delivery_lag: chrono::Duration,
}

impl AthenaSettings {
    pub fn from_env(env: &impl Env) -> Result<Self> {
        let name = |var: &'static str| -> Result<String> {
            let value = required(env, var)?.to_ascii_lowercase();
            if is_identifier(&value) {
                Ok(value)
            } else {
                Err(Error::config(var, "must be 1 to 255 letters, digits or '_'"))
            }
        };
        let workgroup = required(env, "ATHENA_WORKGROUP")?;
        if workgroup.is_empty()
            || workgroup.len() > 128
            || !workgroup
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(Error::config("ATHENA_WORKGROUP", "must be 1 to 128 of [a-zA-Z0-9._-]"));
        }
        let output_location = optional(env, "ATHENA_OUTPUT_LOCATION");
        if output_location.as_deref().is_some_and(|l| !l.starts_with("s3://")) {
            return Err(Error::config("ATHENA_OUTPUT_LOCATION", "must be an s3:// URI"));
        }
        Ok(Self {
            database: name("ATHENA_DATABASE")?,
            table: name("ATHENA_TABLE")?,
            workgroup,
            output_location,
            delivery_lag: delivery_lag_from_env(env)?,
        })
    }
}

/// Athena's rule for database, table and column names: letters, digits and underscore, at most 255.
fn is_identifier(name: &str) -> bool {
    (1..=255).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A query and its positional parameters (each a quoted SQL literal, as Athena's `ExecutionParameters` take them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AthenaQuery {
    pub sql: String,
    pub parameters: Vec<String>,
    /// `false`: some accounts or people were over the caps and left out.
    pub complete: bool,
}

/// The columns the query selects, and the names it answers them under.
const SELECTED: &[(&str, &str)] = &[
    ("eventid", "eventid"),
    ("eventtime", "eventtime"),
    ("eventsource", "eventsource"),
    ("eventname", "eventname"),
    ("awsregion", "awsregion"),
    ("recipientaccountid", "recipientaccountid"),
    ("errorcode", "errorcode"),
    ("useridentity.arn", "arn"),
    ("useridentity.onbehalfof.userid", "onbehalfof_userid"),
    ("additionaleventdata", "additionaleventdata"),
];

/// The query for one person (all their user names and ids) and window: `None` when there is nothing to ask (no
/// account, nobody). A pure function of its input.
pub fn use_query(
    database: &str,
    table: &str,
    reach: &crate::domain::activity::Reach,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Option<AthenaQuery> {
    let named = Named::from_reach(reach);
    if named.is_empty() || start > end {
        return None;
    }
    let mut parameters = Vec::new();
    let mut placeholders = |values: &[String]| -> String {
        parameters.extend(values.iter().map(|v| literal(v)));
        vec!["?"; values.len()].join(", ")
    };
    let columns = SELECTED
        .iter()
        .map(|(column, alias)| format!("{column} AS {alias}"))
        .collect::<Vec<_>>()
        .join(", ");
    let accounts = placeholders(&named.accounts);
    let day_from = placeholders(&[start.format(LOG_DATE_FORMAT).to_string()]);
    let day_to = placeholders(&[end.format(LOG_DATE_FORMAT).to_string()]);
    let time_from = placeholders(&[start.format(EVENT_TIME_FORMAT).to_string()]);
    let time_to = placeholders(&[end.format(EVENT_TIME_FORMAT).to_string()]);
    let people = people_filter("useridentity.arn", "useridentity.onbehalfof.userid", &named, |value| {
        placeholders(std::slice::from_ref(&value.to_owned()))
    });
    let sql = format!(
        "SELECT {columns}\nFROM \"{database}\".\"{table}\"\nWHERE account_id IN ({accounts})\n  AND log_date BETWEEN \
         {day_from} AND {day_to}\n  AND eventtime BETWEEN {time_from} AND {time_to}\n  AND {people}\nORDER BY eventtime, eventid"
    );
    Some(AthenaQuery {
        sql,
        parameters,
        complete: named.complete,
    })
}

/// A validated value as the SQL string literal Athena's `ExecutionParameters` take.
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Athena over the organization trail.
#[derive(Debug, Clone)]
pub struct AthenaActivity {
    client: athena::Client,
    settings: AthenaSettings,
}

impl AthenaActivity {
    pub fn new(sdk: &SdkConfig, settings: AthenaSettings) -> Self {
        Self {
            client: athena::Client::new(sdk),
            settings,
        }
    }

    async fn start(&self, query: &AthenaQuery) -> Result<String> {
        let mut request = self
            .client
            .start_query_execution()
            .query_string(&query.sql)
            .query_execution_context(
                QueryExecutionContext::builder()
                    .database(&self.settings.database)
                    .build(),
            )
            .work_group(&self.settings.workgroup)
            .set_execution_parameters(Some(query.parameters.clone()));
        if let Some(location) = &self.settings.output_location {
            request = request.result_configuration(ResultConfiguration::builder().output_location(location).build());
        }
        let started = request
            .send()
            .await
            .map_err(|e| Error::aws(SERVICE, "StartQueryExecution", e).without_service_message())?;
        started
            .query_execution_id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| super::missing(SERVICE, "StartQueryExecution", "QueryExecutionId"))
    }

    /// Polls until the query succeeds (`true`), fails (an error with Athena's reason) or the budget ends (`false`).
    async fn wait(&self, id: &str, deadline: Deadline) -> Result<bool> {
        poll_until_finished(deadline, || async {
            let answer = (self.client.get_query_execution().query_execution_id(id).send().await)
                .map_err(|e| Error::aws(SERVICE, "GetQueryExecution", e))?;
            let status = answer.query_execution.and_then(|q| q.status);
            match status.as_ref().and_then(|s| s.state.clone()) {
                Some(QueryExecutionState::Succeeded) => Ok(QueryState::Finished),
                Some(QueryExecutionState::Queued | QueryExecutionState::Running) => Ok(QueryState::Running),
                Some(state @ (QueryExecutionState::Failed | QueryExecutionState::Cancelled)) => {
                    let status = status.unwrap_or_else(|| athena::types::QueryExecutionStatus::builder().build());
                    Err(Error::aws(
                        SERVICE,
                        "GetQueryExecution",
                        QueryFailed {
                            id: id.to_owned(),
                            state: state.as_str().to_owned(),
                            error_type: status.athena_error.as_ref().and_then(|e| e.error_type),
                            reason: status.state_change_reason.clone(),
                        },
                    ))
                }
                other => Err(Error::AwsContract {
                    service: SERVICE,
                    operation: "GetQueryExecution",
                    problem: format!("query {id} is in state {other:?}"),
                }),
            }
        })
        .await
    }

    /// Stops a query the read no longer waits for (its scan is paid while it runs). A failure to stop is logged,
    /// not raised: the read already says it is incomplete.
    async fn stop(&self, id: &str) {
        let call = self.client.stop_query_execution().query_execution_id(id).send();
        match tokio::time::timeout(Duration::from_secs(5), call).await {
            Ok(Ok(_)) => tracing::info!(query_execution_id = id, "Athena query stopped: out of budget"),
            Ok(Err(e)) => tracing::warn!(
                query_execution_id = id,
                error = %Error::aws(SERVICE, "StopQueryExecution", e).causes(),
                "could not stop the Athena query"
            ),
            Err(_) => tracing::warn!(query_execution_id = id, "StopQueryExecution timed out"),
        }
    }

    /// Every result row, paged; `complete: false` at the page cap or the end of the budget.
    async fn results(&self, id: &str, deadline: Deadline) -> Result<(Vec<crate::domain::ActivityEvent>, bool)> {
        let operation = "GetQueryResults";
        let mut events = Vec::new();
        let mut next_token: Option<String> = None;
        let mut columns: Option<Vec<String>> = None;
        for page_number in 0..MAX_PAGES {
            let Some(left) = deadline.left() else {
                return Ok((events, false));
            };
            let sent = next_token.clone();
            let call = self
                .client
                .get_query_results()
                .query_execution_id(id)
                .max_results(PAGE_SIZE)
                .set_next_token(next_token.take())
                .send();
            let Ok(page) = tokio::time::timeout(left, call).await else {
                return Ok((events, false));
            };
            let page = page.map_err(|e| Error::aws(SERVICE, operation, e))?;
            let result_set = page
                .result_set
                .unwrap_or_else(|| athena::types::ResultSet::builder().build());
            if columns.is_none() {
                columns = Some(
                    result_set
                        .result_set_metadata
                        .as_ref()
                        .map(|m| m.column_info().iter().map(|c| c.name().to_ascii_lowercase()).collect())
                        .unwrap_or_default(),
                );
            }
            let names = columns.as_deref().unwrap_or_default();
            for (index, row) in result_set.rows().iter().enumerate() {
                let values: Vec<Option<&str>> = row.data().iter().map(|d| d.var_char_value()).collect();
                // A SELECT's first page begins with the header row (the column labels): skipped when it is that.
                if page_number == 0
                    && index == 0
                    && values.len() == names.len()
                    && values
                        .iter()
                        .zip(names)
                        .all(|(v, n)| v.is_some_and(|v| v.eq_ignore_ascii_case(n)))
                {
                    continue;
                }
                let get = |name: &str| {
                    names
                        .iter()
                        .position(|n| n == name)
                        .and_then(|i| values.get(i).copied().flatten())
                };
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
                    additional_event_data: get("additionaleventdata"),
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

impl OrgActivity for AthenaActivity {
    fn source(&self) -> &'static str {
        SOURCE
    }

    async fn use_of_aws(&self, query: &UseQuery) -> Result<UseRead> {
        let deadline = Deadline::after(query.budget);
        let caught_up_to = caught_up_to(Utc::now(), self.settings.delivery_lag, query.end);
        let Some(sql) = use_query(
            &self.settings.database,
            &self.settings.table,
            &query.reach,
            query.start,
            query.end,
        ) else {
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
        let id = self.start(&sql).await?;
        if !self.wait(&id, deadline).await? {
            self.stop(&id).await;
            return Ok(UseRead {
                events: Vec::new(),
                complete: false,
                caught_up_to,
                unread_accounts: Vec::new(),
            });
        }
        let (events, read_all) = self.results(&id, deadline).await?;
        let events = in_order(events);
        let complete = read_all && sql.complete;
        tracing::info!(query_execution_id = %id, events = events.len(), complete, "Athena activity read");
        Ok(UseRead {
            events,
            complete,
            caught_up_to,
            unread_accounts: Vec::new(),
        })
    }
}

/// A query Athena ran and ended FAILED or CANCELLED: its state, error type and `StateChangeReason`.
#[derive(Debug, thiserror::Error)]
#[error("query {id} ended {state}")]
pub struct QueryFailed {
    pub id: String,
    pub state: String,
    pub error_type: Option<i32>,
    pub reason: Option<String>,
}

impl AwsCause for QueryFailed {
    fn failure(&self) -> AwsFailure {
        let code = match self.error_type {
            Some(error_type) => format!("Query{}:{error_type}", title(&self.state)),
            None => format!("Query{}", title(&self.state)),
        };
        AwsFailure::Service {
            code,
            message: self.reason.clone().map(|r| r.chars().take(300).collect()),
        }
    }
}

/// `FAILED` → `Failed`.
fn title(state: &str) -> String {
    let mut chars = state.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::domain::activity::Reach;
    use crate::domain::{AccountId, IdcUserId};

    fn reach() -> Reach {
        Reach {
            user_ids: vec![IdcUserId::parse("94d00cd8-e9e6-4810-b177-b08e84775435").unwrap()],
            user_names: vec!["Alice@Example.com".into(), "o'brien; DROP TABLE x".into()],
            accounts: vec![
                AccountId::parse("444455556666").unwrap(),
                AccountId::parse("777788889999").unwrap(),
            ],
            permission_sets: vec![],
        }
    }

    fn time(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn the_query_restricts_accounts_days_times_and_people_through_parameters_only() {
        let query = use_query(
            "cloudtrail",
            "org_trail",
            &reach(),
            time("2026-11-20T09:00:00Z"),
            time("2026-11-21T01:30:00Z"),
        )
        .unwrap();
        assert!(query.sql.contains("FROM \"cloudtrail\".\"org_trail\""), "{}", query.sql);
        assert!(query.sql.contains("account_id IN (?, ?)"), "{}", query.sql);
        assert!(query.sql.contains("log_date BETWEEN ? AND ?"), "{}", query.sql);
        assert!(query.sql.contains("eventtime BETWEEN ? AND ?"), "{}", query.sql);
        assert!(query.sql.contains("'AWSReservedSSO_'"), "{}", query.sql);
        assert!(
            query.sql.contains("useridentity.onbehalfof.userid IN (?)"),
            "{}",
            query.sql
        );
        assert_eq!(
            query.parameters,
            vec![
                "'444455556666'",
                "'777788889999'",
                "'2026/11/20'",
                "'2026/11/21'",
                "'2026-11-20T09:00:00Z'",
                "'2026-11-21T01:30:00Z'",
                "'alice@example.com'",
                "'94d00cd8-e9e6-4810-b177-b08e84775435'",
            ]
        );
        assert_eq!(query.sql.matches('?').count(), query.parameters.len());
        // No value ever reaches the query text; the unusable name reaches nothing at all.
        for value in ["444455556666", "alice", "94d00cd8", "brien", "DROP"] {
            assert!(!query.sql.contains(value), "{value} in {}", query.sql);
        }
        assert!(query.complete);
    }

    #[test]
    fn the_query_names_only_columns_the_ddl_declares() {
        // docs/athena-org-trail.sql: every column and struct field on a line of its own (`name TYPE` or `name: TYPE`).
        let ddl = include_str!("../../../docs/athena-org-trail.sql");
        let declared: Vec<String> = ddl
            .lines()
            .map(str::trim)
            .filter(|line| !line.starts_with("--"))
            .filter_map(|line| line.split([' ', ':']).next())
            .map(str::to_ascii_lowercase)
            .collect();
        let query = use_query(
            "db",
            "t",
            &reach(),
            time("2026-11-20T09:00:00Z"),
            time("2026-11-20T10:00:00Z"),
        )
        .unwrap();
        let mut named: Vec<&str> = SELECTED.iter().flat_map(|(column, _)| column.split('.')).collect();
        named.extend([
            "account_id",
            "log_date",
            "eventtime",
            "useridentity",
            "arn",
            "onbehalfof",
            "userid",
        ]);
        for column in named {
            assert!(
                declared.iter().any(|d| d == column),
                "{column} is not declared by the DDL"
            );
            assert!(query.sql.contains(column), "{column} is not in the query");
        }
    }

    #[test]
    fn a_person_known_only_by_id_is_asked_about_portal_events_only() {
        let mut reach = reach();
        reach.user_names.clear();
        let query = use_query(
            "db",
            "t",
            &reach,
            time("2026-11-20T09:00:00Z"),
            time("2026-11-20T10:00:00Z"),
        )
        .unwrap();
        assert!(!query.sql.contains("AWSReservedSSO_"), "{}", query.sql);
        assert_eq!(query.sql.matches('?').count(), query.parameters.len());
    }

    #[test]
    fn nothing_to_ask_is_no_query() {
        let mut no_accounts = reach();
        no_accounts.accounts.clear();
        let start = time("2026-11-20T09:00:00Z");
        assert_eq!(use_query("db", "t", &no_accounts, start, start), None);
        assert_eq!(
            use_query("db", "t", &reach(), start, time("2026-11-20T08:00:00Z")),
            None
        );
    }

    #[test]
    fn settings_read_validate_and_default() {
        let map: HashMap<&str, &str> = HashMap::from([
            ("ATHENA_DATABASE", "CloudTrail"),
            ("ATHENA_TABLE", "org_trail"),
            ("ATHENA_WORKGROUP", "deprov-audit"),
        ]);
        let env = |name: &str| map.get(name).map(|v| (*v).to_owned());
        let settings = AthenaSettings::from_env(&env).unwrap();
        assert_eq!(settings.database, "cloudtrail");
        assert_eq!(settings.delivery_lag, chrono::Duration::seconds(900));
        assert_eq!(settings.output_location, None);

        let bad: HashMap<&str, &str> = HashMap::from([
            ("ATHENA_DATABASE", "x\"; --"),
            ("ATHENA_TABLE", "t"),
            ("ATHENA_WORKGROUP", "w"),
        ]);
        let env = |name: &str| bad.get(name).map(|v| (*v).to_owned());
        let error = AthenaSettings::from_env(&env).unwrap_err();
        assert!(error.to_string().contains("ATHENA_DATABASE"), "{error}");
    }

    #[test]
    fn a_failed_query_keeps_its_state_and_reason() {
        let error = Error::aws(
            SERVICE,
            "GetQueryExecution",
            QueryFailed {
                id: "q-1".into(),
                state: "FAILED".into(),
                error_type: Some(1301),
                reason: Some("TABLE_NOT_FOUND: line 2:6: Table 'x' does not exist".into()),
            },
        );
        let text = error.to_string();
        assert!(text.contains("QueryFailed:1301"), "{text}");
        assert!(text.contains("TABLE_NOT_FOUND"), "{text}");
    }
}
