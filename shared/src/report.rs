//! Findings for people: a plain-text table for terminals.

use std::fmt::Write;

use crate::domain::{Finding, Severity};

/// One line per finding, most severe first (as the rules sort them), then a count by severity.
pub fn findings_table(findings: &[Finding]) -> String {
    let rows: Vec<[String; 4]> = findings
        .iter()
        .map(|f| {
            [
                f.severity.to_string().to_uppercase(),
                f.rule.to_string(),
                subject_line(f),
                f.title.clone(),
            ]
        })
        .collect();
    let headers = ["SEVERITY", "RULE", "SUBJECT", "FINDING"];
    let mut widths = headers.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row.iter()).take(3) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: [&str; 4]| {
        let _ = writeln!(
            out,
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    };
    line(&mut out, headers);
    for row in &rows {
        line(&mut out, [&row[0], &row[1], &row[2], &row[3]]);
    }
    let _ = writeln!(out, "\n{}", summary(findings));
    out
}

/// `5 findings: 2 high, 2 medium, 1 low`
pub fn summary(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "no findings".to_owned();
    }
    let counts: Vec<String> = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ]
    .iter()
    .filter_map(|s| {
        let n = findings.iter().filter(|f| f.severity == *s).count();
        (n > 0).then(|| format!("{n} {s}"))
    })
    .collect();
    format!("{} finding(s): {}", findings.len(), counts.join(", "))
}

fn subject_line(finding: &Finding) -> String {
    let s = &finding.subject;
    let person = s.okta_login.as_deref().or(s.idc_user_name.as_deref());
    let mut parts: Vec<String> = Vec::new();
    if let Some(person) = person {
        parts.push(person.to_owned());
    }
    if let Some(account) = &s.account_id {
        parts.push(format!("account {account}"));
    }
    if let Some(key) = &s.key_id {
        parts.push(format!("key {key}"));
    }
    if let Some(provider) = s.saml_provider_arn.as_deref() {
        parts.push(format!("provider {}", provider.rsplit('/').next().unwrap_or(provider)));
    }
    if parts.is_empty() {
        let set = s
            .permission_set_arn
            .as_deref()
            .map(|arn| format!("permission set {}", arn.rsplit('/').next().unwrap_or(arn)));
        let group = s.group_id.as_deref().map(|g| format!("group {g}"));
        parts.push(group.or(set).or_else(|| s.app_id.clone()).unwrap_or_default());
    }
    parts.join(", ")
}
