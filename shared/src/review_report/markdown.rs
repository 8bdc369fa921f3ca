//! `report.md`: the review for people who read it in a repository or a ticket: counts per rule and per control,
//! the findings, the diff against the previous run, and the period's deprovisions with their verdicts.
//! Every value from Okta or AWS is escaped (`text`): a name cannot break a table, start a heading or a link, or
//! carry HTML into a renderer that allows it.

use std::fmt::Write;

use super::{StatusCounts, counts_per_control, counts_per_rule, finding_subject, kind_word, status_word};
use crate::domain::review::{FindingStatus, ReviewReport};

pub fn markdown(report: &ReviewReport) -> String {
    let mut out = String::new();
    let counts = StatusCounts::of(&report.findings);
    let _ = writeln!(out, "# Access review {}\n", text(&report.run_id));
    let _ = writeln!(
        out,
        "- Kind: {}\n- Generated: {}\n- Period: {} to {}\n- Findings: {} ({} new, {} open, {} resolved, {} suppressed)\n- Effective access rows: {}\n- Deprovisions in the period: {}\n- Completeness: {}\n",
        kind_word(report.kind),
        report.generated_at.to_rfc3339(),
        report.period_start.to_rfc3339(),
        report.period_end.to_rfc3339(),
        counts.total(),
        counts.new,
        counts.open,
        counts.resolved,
        counts.suppressed,
        report.access.len(),
        report.deprovisions.len(),
        super::completeness_line(report)
    );

    let _ = writeln!(out, "## Findings per rule\n");
    counts_table(
        &mut out,
        "Rule",
        counts_per_rule(report).into_iter().map(|(r, c)| (r.to_string(), c)),
    );
    let _ = writeln!(out, "## Findings per control\n");
    counts_table(&mut out, "Control", counts_per_control(report).into_iter());

    let _ = writeln!(out, "## Findings\n");
    if report.findings.is_empty() {
        let _ = writeln!(out, "No findings.\n");
    } else {
        let _ = writeln!(
            out,
            "| Severity | Rule | Status | Subject | Finding | Controls | First seen | Remedy |\n|---|---|---|---|---|---|---|---|"
        );
        for f in &report.findings {
            let status = match &f.status {
                FindingStatus::Suppressed { owner, reason, until } => format!(
                    "suppressed by {} until {}: {}",
                    text(owner),
                    until.format("%Y-%m-%d"),
                    text(reason)
                ),
                other => status_word(other).to_owned(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                f.finding.severity,
                f.finding.rule,
                status,
                text(&finding_subject(&f.finding)),
                text(&f.finding.title),
                text(&f.controls.join(", ")),
                f.first_seen.format("%Y-%m-%d"),
                text(&f.finding.remedy)
            );
        }
        out.push('\n');
    }

    let _ = writeln!(out, "## Changes since the previous run\n");
    let diff = &report.diff;
    match &diff.previous_run {
        None => {
            let _ = writeln!(out, "First run: nothing to compare with.\n");
        }
        Some(previous) => {
            let _ = writeln!(
                out,
                "Against run {}: {} access added, {} removed; {} finding(s) new, {} resolved.\n",
                text(previous),
                diff.access_added.len(),
                diff.access_removed.len(),
                diff.findings_new.len(),
                diff.findings_resolved.len()
            );
            for (label, rows) in [("Added", &diff.access_added), ("Removed", &diff.access_removed)] {
                for row in rows {
                    let _ = writeln!(
                        out,
                        "- {label}: {} on account {} with {}{}",
                        text(&row.user_name),
                        row.account_id,
                        text(&row.permission_set_name),
                        row.via_group
                            .as_deref()
                            .map(|g| format!(" via group {}", text(g)))
                            .unwrap_or_else(|| " (direct)".to_owned())
                    );
                }
            }
            for id in &diff.findings_new {
                let _ = writeln!(out, "- New finding: `{id}`");
            }
            for id in &diff.findings_resolved {
                let _ = writeln!(out, "- Resolved finding: `{id}`");
            }
            out.push('\n');
        }
    }

    let _ = writeln!(out, "## Deprovisions in the period and their verdicts\n");
    if report.deprovisions.is_empty() {
        let _ = writeln!(out, "None recorded.\n");
    } else {
        let _ = writeln!(
            out,
            "| Okta event | Type | Person | Published | SCIM call | Final state | Latency (s) | Verdict |\n|---|---|---|---|---|---|---|---|"
        );
        for d in &report.deprovisions {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} (`{}`) |",
                text(&d.okta_event_id),
                text(&d.event_type),
                text(d.login.as_deref().unwrap_or("")),
                d.published.to_rfc3339(),
                d.scim_call_at
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_else(|| "not seen".to_owned()),
                text(&d.final_state),
                d.latency_seconds.map(|s| s.to_string()).unwrap_or_default(),
                text(&d.rule),
                d.finding_id
            );
        }
        out.push('\n');
    }
    out
}

fn counts_table(out: &mut String, label: &str, rows: impl Iterator<Item = (String, StatusCounts)>) {
    let rows: Vec<_> = rows.collect();
    if rows.is_empty() {
        let _ = writeln!(out, "None.\n");
        return;
    }
    let _ = writeln!(
        out,
        "| {label} | Total | New | Open | Resolved | Suppressed |\n|---|---|---|---|---|---|"
    );
    for (name, c) in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            text(&name),
            c.total(),
            c.new,
            c.open,
            c.resolved,
            c.suppressed
        );
    }
    out.push('\n');
}

/// A value from outside, safe in a Markdown table cell: on one line, the characters that make emphasis, code, links,
/// strike-through or a cell break backslash-escaped, and
/// `<`, `>` and `&` as HTML entities (an escaped `<` is still HTML to some renderers).
pub(crate) fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\r' | '\n' | '\t' => out.push(' '),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}
