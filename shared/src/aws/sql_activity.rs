//! What the org-wide activity sources over SQL engines (Athena over the organization trail, CloudTrail Lake) share:
//! which people and accounts a query may name, the read's time budget, how far the source has caught up, and the
//! reading of one result row into an `ActivityEvent` (through `parse_cloudtrail_record`, the one reading of a
//! CloudTrail record).

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::domain::ActivityEvent;
use crate::domain::activity::Reach;
use crate::error::Result;

use super::parse_cloudtrail_record;

/// The roles Identity Center provisions for permission sets: `AWSReservedSSO_<set>_<hash>`.
pub(super) const SSO_ROLE_PREFIX: &str = "AWSReservedSSO_";
/// Accounts one query names at most (each is a partition to read); more are left out and the read is incomplete.
pub(super) const MAX_ACCOUNTS: usize = 1000;
/// People (user names and user ids, each) one query names at most.
pub(super) const MAX_PEOPLE: usize = 100;
/// CloudTrail's record time format (`eventTime`: UTC, whole seconds): compared as text, its order is time order.
pub(super) const EVENT_TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// The people and accounts of a `Reach` that a query may name, each safe to write into SQL as a quoted literal.
///
/// Injection safety by strict validation: account ids and Identity Center user ids are already checked types
/// (digits; letters, digits and '-'); a user name is kept only when it is a valid STS role-session name
/// (`[\w+=,.@-]{2,64}`, the AWS STS API Reference's `RoleSessionName` pattern), which no quote, backslash or space
/// can be part of. A name outside that pattern cannot be the session name of a role session, so leaving it out of
/// the role-session filter loses nothing; it is counted, never logged (a user name is personal data).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Named {
    pub accounts: Vec<String>,
    /// Lower-cased: session names are matched case-insensitively, as `ActivityEvent::is_by` does.
    pub session_names: Vec<String>,
    pub user_ids: Vec<String>,
    /// `false`: some accounts or people were over the caps and left out.
    pub complete: bool,
}

impl Named {
    pub fn from_reach(reach: &Reach) -> Self {
        let mut accounts: Vec<String> = reach.accounts.iter().map(|a| a.as_str().to_owned()).collect();
        accounts.sort();
        accounts.dedup();
        let mut session_names: Vec<String> = reach
            .user_names
            .iter()
            .filter(|name| is_role_session_name(name))
            .map(|name| name.to_ascii_lowercase())
            .collect();
        let unusable = reach.user_names.len() - reach.user_names.iter().filter(|n| is_role_session_name(n)).count();
        if unusable > 0 {
            tracing::warn!(
                unusable,
                "user names that cannot be role-session names are left out of the query"
            );
        }
        session_names.sort();
        session_names.dedup();
        let mut user_ids: Vec<String> = reach.user_ids.iter().map(|id| id.as_str().to_owned()).collect();
        user_ids.sort();
        user_ids.dedup();
        let complete =
            accounts.len() <= MAX_ACCOUNTS && session_names.len() <= MAX_PEOPLE && user_ids.len() <= MAX_PEOPLE;
        accounts.truncate(MAX_ACCOUNTS);
        session_names.truncate(MAX_PEOPLE);
        user_ids.truncate(MAX_PEOPLE);
        Self {
            accounts,
            session_names,
            user_ids,
            complete,
        }
    }

    /// Nothing to ask: no account, or nobody to look for.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty() || (self.session_names.is_empty() && self.user_ids.is_empty())
    }
}

/// The people filter of a query: role sessions by the `AWSReservedSSO_` role and the session name (the `arn`
/// column), portal events by the Identity Center user id (the `on_behalf_of` column). `value` writes one value into
/// the SQL (a `?` that records a parameter, or a literal of an already validated value). One reading of "which
/// sessions are this person's" for every SQL source.
pub(super) fn people_filter(
    arn: &str,
    on_behalf_of: &str,
    named: &Named,
    mut value: impl FnMut(&str) -> String,
) -> String {
    let mut list = |values: &[String]| values.iter().map(|v| value(v)).collect::<Vec<_>>().join(", ");
    let mut people = Vec::new();
    if !named.session_names.is_empty() {
        // arn:aws:sts::<account>:assumed-role/<role>/<session>: neither a role name nor a session name holds '/'.
        people.push(format!(
            "(starts_with(split_part({arn}, '/', 2), '{SSO_ROLE_PREFIX}') AND lower(split_part({arn}, '/', 3)) IN ({}))",
            list(&named.session_names)
        ));
    }
    if !named.user_ids.is_empty() {
        people.push(format!("{on_behalf_of} IN ({})", list(&named.user_ids)));
    }
    format!("({})", people.join(" OR "))
}

/// STS `RoleSessionName`: 2 to 64 characters of `[\w+=,.@-]`.
pub(super) fn is_role_session_name(name: &str) -> bool {
    (2..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

/// The source holds every event up to `now − lag`, and a read never claims more than its window (`end`).
pub(super) fn caught_up_to(now: DateTime<Utc>, lag: Duration, end: DateTime<Utc>) -> DateTime<Utc> {
    now.checked_sub_signed(lag).unwrap_or(DateTime::<Utc>::MIN_UTC).min(end)
}

/// CloudTrail "typically delivers logs within an average of about 5 minutes of an API call. This time is not
/// guaranteed." (CloudTrail User Guide, "Getting and viewing your CloudTrail log files"); 15 minutes, the figure AWS
/// quoted before 2023, is the default margin.
const DEFAULT_DELIVERY_LAG_SECONDS: i64 = 900;
/// The checker's watch waits `MAX_SOURCE_LAG` (1 h) past the longest session for the source to catch up, looking
/// every 15 minutes: a source trusted only further behind than 45 minutes could never catch up in time, and every
/// watch would end as unverifiable. A larger setting is refused at cold start rather than silently useless.
const MAX_DELIVERY_LAG_SECONDS: i64 = crate::rules::propagation::MAX_SOURCE_LAG.num_seconds() - 900;

/// `ACTIVITY_DELIVERY_LAG_SECONDS` (default 900, at most 2,700): how far behind now the source is trusted to hold
/// every event. One setting for every org-wide source.
pub(super) fn delivery_lag_from_env(env: &impl crate::config::Env) -> Result<Duration> {
    crate::config::seconds(
        env,
        "ACTIVITY_DELIVERY_LAG_SECONDS",
        DEFAULT_DELIVERY_LAG_SECONDS,
        MAX_DELIVERY_LAG_SECONDS,
    )
}

/// When a read must stop, and how long is left.
#[derive(Debug, Clone, Copy)]
pub(super) struct Deadline(Instant);

impl Deadline {
    pub fn after(budget: std::time::Duration) -> Self {
        Self(Instant::now().checked_add(budget).unwrap_or_else(Instant::now))
    }

    /// Time left, `None` when there is none.
    pub fn left(&self) -> Option<std::time::Duration> {
        let left = self.0.saturating_duration_since(Instant::now());
        (!left.is_zero()).then_some(left)
    }
}

/// What one look at a running query says.
pub(super) enum QueryState {
    Finished,
    Running,
}

/// The first pause between two looks at a running query, doubled after each look up to `LONGEST_POLL`.
const FIRST_POLL: std::time::Duration = std::time::Duration::from_millis(200);
const LONGEST_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// Looks at a query with `look` until it has finished (`true`), `look` fails (its error: the engine's reason) or
/// the deadline passes (`false`, also when a look itself outlives it): 200 ms between looks, doubling to 2 s, never
/// sleeping past the deadline. Athena's and Lake's one polling loop.
pub(super) async fn poll_until_finished<F, Fut>(deadline: Deadline, mut look: F) -> Result<bool>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<QueryState>>,
{
    let mut pause = FIRST_POLL;
    loop {
        let Some(left) = deadline.left() else {
            return Ok(false);
        };
        let Ok(state) = tokio::time::timeout(left, look()).await else {
            return Ok(false);
        };
        if let QueryState::Finished = state? {
            return Ok(true);
        }
        let Some(left) = deadline.left() else {
            return Ok(false);
        };
        tokio::time::sleep(pause.min(left)).await;
        pause = pause.saturating_mul(2).min(LONGEST_POLL);
    }
}

/// The columns a query selects, by the names the engine answers with (lower-cased before lookup).
pub(super) struct RowColumns<'a> {
    pub event_id: Option<&'a str>,
    pub event_time: Option<&'a str>,
    pub event_source: Option<&'a str>,
    pub event_name: Option<&'a str>,
    pub aws_region: Option<&'a str>,
    pub recipient_account_id: Option<&'a str>,
    pub error_code: Option<&'a str>,
    pub arn: Option<&'a str>,
    pub on_behalf_of_user_id: Option<&'a str>,
    /// `additionalEventData` as JSON text (a string column in both engines).
    pub additional_event_data: Option<&'a str>,
}

/// One result row, as the CloudTrail record it came from (the fields `parse_cloudtrail_record` reads), then read by
/// it: one reading of role sessions and portal events for every source.
pub(super) fn event_from_row(row: &RowColumns<'_>) -> Result<ActivityEvent> {
    let mut record = Map::new();
    let mut put = |key: &str, value: Option<&str>| {
        if let Some(value) = value {
            record.insert(key.to_owned(), Value::String(value.to_owned()));
        }
    };
    put("eventID", row.event_id);
    put("eventTime", row.event_time.map(normalize_event_time).as_deref());
    put("eventSource", row.event_source);
    put("eventName", row.event_name);
    put("awsRegion", row.aws_region);
    put("recipientAccountId", row.recipient_account_id);
    put("errorCode", row.error_code);
    let mut identity = Map::new();
    if let Some(arn) = row.arn {
        identity.insert("arn".into(), json!(arn));
    }
    if let Some(user_id) = row.on_behalf_of_user_id {
        identity.insert("onBehalfOf".into(), json!({ "userId": user_id }));
    }
    record.insert("userIdentity".into(), Value::Object(identity));
    if let Some(data) = row
        .additional_event_data
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
    {
        record.insert("additionalEventData".into(), data);
    }
    parse_cloudtrail_record(&Value::Object(record).to_string())
}

/// `2026-11-20T09:14:07Z` stays; `2026-11-20 09:14:07.000` (a SQL timestamp as text, as CloudTrail Lake answers —
/// UNVERIFIED, so both are read) becomes `2026-11-20T09:14:07.000Z`.
fn normalize_event_time(text: &str) -> String {
    if text.contains('T') {
        return text.to_owned();
    }
    match text.split_once(' ') {
        Some((date, time)) => format!("{date}T{}Z", time.trim_end_matches(" UTC").trim_end_matches('Z')),
        None => text.to_owned(),
    }
}

/// Events oldest first, each once (an engine may answer a record twice when a log file was delivered twice).
pub(super) fn in_order(mut events: Vec<ActivityEvent>) -> Vec<ActivityEvent> {
    events.sort_by(|a, b| {
        a.event_time
            .cmp(&b.event_time)
            .then_with(|| a.event_id.cmp(&b.event_id))
    });
    events.dedup_by(|a, b| a.event_id == b.event_id);
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountId, IdcUserId};

    #[test]
    fn only_valid_session_names_are_named_and_in_lower_case() {
        let reach = Reach {
            user_ids: vec![IdcUserId::parse("94d00cd8-e9e6-4810-b177-b08e84775435").unwrap()],
            user_names: vec!["Alice@Example.com".into(), "o'brien".into(), "x".into(), "a b".into()],
            accounts: vec![
                AccountId::parse("444455556666").unwrap(),
                AccountId::parse("444455556666").unwrap(),
            ],
            permission_sets: vec![],
        };
        let named = Named::from_reach(&reach);
        assert_eq!(named.session_names, vec!["alice@example.com"]);
        assert_eq!(named.accounts, vec!["444455556666"]);
        assert!(named.complete);
        assert!(!named.is_empty());
        assert!(Named::from_reach(&Reach::default()).is_empty());
    }

    #[test]
    fn a_lag_the_watch_could_never_outwait_is_refused_at_cold_start() {
        let lag = |value: &'static str| {
            delivery_lag_from_env(&move |name: &str| {
                (name == "ACTIVITY_DELIVERY_LAG_SECONDS").then(|| value.to_owned())
            })
        };
        assert_eq!(lag("2700").unwrap(), Duration::seconds(2700));
        let refused = lag("3600").unwrap_err().to_string();
        assert!(refused.contains("ACTIVITY_DELIVERY_LAG_SECONDS"), "{refused}");
        // What is accepted leaves the watch at least one 15-minute look after the source caught up.
        assert!(
            Duration::seconds(MAX_DELIVERY_LAG_SECONDS) + Duration::minutes(15)
                <= crate::rules::propagation::MAX_SOURCE_LAG
        );
    }

    #[test]
    fn caught_up_to_is_now_less_the_lag_and_never_after_the_window() {
        let now: DateTime<Utc> = "2026-11-20T10:00:00Z".parse().unwrap();
        let end: DateTime<Utc> = "2026-11-20T11:00:00Z".parse().unwrap();
        assert_eq!(
            caught_up_to(now, Duration::seconds(900), end),
            "2026-11-20T09:45:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        let early_end: DateTime<Utc> = "2026-11-20T09:00:00Z".parse().unwrap();
        assert_eq!(caught_up_to(now, Duration::seconds(900), early_end), early_end);
    }

    #[test]
    fn a_row_becomes_the_event_of_its_record() {
        let row = RowColumns {
            event_id: Some("e-1"),
            event_time: Some("2026-11-20 09:14:07.000"),
            event_source: Some("s3.amazonaws.com"),
            event_name: Some("ListBuckets"),
            aws_region: Some("eu-west-1"),
            recipient_account_id: Some("444455556666"),
            error_code: None,
            arn: Some("arn:aws:sts::444455556666:assumed-role/AWSReservedSSO_Developer_0123456789abcdef/alice"),
            on_behalf_of_user_id: None,
            additional_event_data: Some("{\"x\":1}"),
        };
        let event = event_from_row(&row).unwrap();
        assert_eq!(event.actor_user_name.as_deref(), Some("alice"));
        assert_eq!(
            event.role_name.as_deref(),
            Some("AWSReservedSSO_Developer_0123456789abcdef")
        );
        assert_eq!(event.region.as_deref(), Some("eu-west-1"));
        assert_eq!(event.event_time.to_rfc3339(), "2026-11-20T09:14:07+00:00");
    }
}
