//! CloudWatch metrics as Embedded Metric Format lines on stdout: Lambda ships them to CloudWatch Logs, which
//! extracts the metric. No API call, no extra permission.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::domain::DeprovisionKind;

pub const NAMESPACE: &str = "DeprovAudit";

/// One `PropagationLatencySeconds` data point, dimensioned by the kind of deprovision.
pub fn propagation_latency(kind: DeprovisionKind, seconds: i64, at: DateTime<Utc>) -> String {
    deprovision_metric("PropagationLatencySeconds", "Seconds", kind, seconds, at)
}

/// One occurrence of `name` (e.g. `DeprovisionsUnverifiable`), dimensioned by the kind of deprovision.
pub fn count(name: &str, kind: DeprovisionKind, at: DateTime<Utc>) -> String {
    deprovision_metric(name, "Count", kind, 1, at)
}

fn deprovision_metric(name: &str, unit: &str, kind: DeprovisionKind, value: i64, at: DateTime<Utc>) -> String {
    let kind = serde_json::to_value(kind).unwrap_or_else(|_| json!("unknown"));
    let mut line = json!({
        "_aws": {
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["DeprovisionKind"]],
                "Metrics": [{"Name": name, "Unit": unit}],
            }],
        },
        "DeprovisionKind": kind,
    });
    line[name] = json!(value);
    line.to_string()
}

/// The okta-hook's answers, one data point per request: `HookAnswers` (Count, 1) dimensioned by `Status`, the
/// HTTP status as text ("200", "401", "503", …). template.yaml alarms on these exact names.
pub const HOOK_ANSWERS_METRIC: &str = "HookAnswers";
pub const STATUS_DIMENSION: &str = "Status";

/// One `HookAnswers` data point for an answer with this HTTP status.
pub fn hook_answer(status: u16, at: DateTime<Utc>) -> String {
    json!({
        "_aws": {
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[STATUS_DIMENSION]],
                "Metrics": [{"Name": HOOK_ANSWERS_METRIC, "Unit": "Count"}],
            }],
        },
        STATUS_DIMENSION: status.to_string(),
        HOOK_ANSWERS_METRIC: 1,
    })
    .to_string()
}

/// identity-center-watch's count of the SCIM calls (event source `identitystore-scim`) it received, one data point
/// per batch that held any: `ScimEvents` (Count), no dimension. template.yaml alarms when none arrives for
/// `ScimSilenceHours` (missing data is breaching): SCIM has gone quiet (token expired, provisioning off in Okta).
pub const SCIM_EVENTS_METRIC: &str = "ScimEvents";

/// One `ScimEvents` data point of `count` SCIM calls.
pub fn scim_events(count: usize, at: DateTime<Utc>) -> String {
    json!({
        "_aws": {
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[]],
                "Metrics": [{"Name": SCIM_EVENTS_METRIC, "Unit": "Count"}],
            }],
        },
        SCIM_EVENTS_METRIC: count,
    })
    .to_string()
}

/// Where EMF lines go: stdout in a function (Lambda ships it to CloudWatch Logs); a recorder in tests.
pub trait MetricSink: Sync {
    fn emit(&self, line: &str);
}

/// Writes each EMF line to stdout, one line each.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdoutMetrics;

impl MetricSink for StdoutMetrics {
    fn emit(&self, line: &str) {
        println!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latency_line_is_embedded_metric_format() {
        let at: DateTime<Utc> = "2026-11-20T09:30:00Z".parse().unwrap();
        let line: serde_json::Value =
            serde_json::from_str(&propagation_latency(DeprovisionKind::Deactivated, 212, at)).unwrap();
        assert_eq!(line["PropagationLatencySeconds"], 212);
        assert_eq!(line["DeprovisionKind"], "deactivated");
        assert_eq!(line["_aws"]["Timestamp"], at.timestamp_millis());
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "PropagationLatencySeconds"
        );
    }

    #[test]
    fn a_hook_answer_is_one_count_dimensioned_by_its_status() {
        let at: DateTime<Utc> = "2026-11-20T09:30:00Z".parse().unwrap();
        let line: serde_json::Value = serde_json::from_str(&hook_answer(401, at)).unwrap();
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "DeprovAudit");
        assert_eq!(directive["Dimensions"], json!([["Status"]]));
        assert_eq!(directive["Metrics"], json!([{"Name": "HookAnswers", "Unit": "Count"}]));
        // EMF dimension values must be strings.
        assert_eq!(line["Status"], "401");
        assert_eq!(line["HookAnswers"], 1);
        assert_eq!(line["_aws"]["Timestamp"], at.timestamp_millis());
    }

    #[test]
    fn scim_events_is_one_undimensioned_count() {
        let at = Utc::now();
        let line: serde_json::Value = serde_json::from_str(&scim_events(3, at)).expect("JSON");
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "DeprovAudit");
        assert_eq!(directive["Dimensions"], json!([[]]));
        assert_eq!(directive["Metrics"], json!([{"Name": "ScimEvents", "Unit": "Count"}]));
        assert_eq!(line["ScimEvents"], 3);
    }
}
