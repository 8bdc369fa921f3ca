//! `index.html`: one self-contained page (inline CSS and JS, nothing fetched) an auditor opens from S3 or a disk:
//! counts per rule and per control, then sortable, filterable tables of the findings, the effective access and the
//! period's deprovisions, and the diff against the previous run.
//!
//! XSS: findings and access rows carry names anyone who can edit an Okta profile or an AWS group picks. Every such
//! value goes into the page through `escape` (text and attribute contexts only; no value is ever put into the
//! script, which reads the table cells from the DOM). As a second wall, the page's Content-Security-Policy lets no
//! script run but the page's own (by its SHA-256) and allows no network at all.

use std::fmt::Write;

use base64::Engine;
use sha2::{Digest, Sha256};

use super::{StatusCounts, counts_per_control, counts_per_rule, finding_subject, kind_word, status_word};
use crate::domain::Severity;
use crate::domain::review::{FindingStatus, ReviewReport};

const STYLE: &str = r#"
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1b1b1b; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
thead th { background: #f0f0f0; }
table.sortable thead th { cursor: pointer; user-select: none; }
th[aria-sort="ascending"]::after { content: " \25B2"; } th[aria-sort="descending"]::after { content: " \25BC"; }
tr[hidden] { display: none; }
input[data-filter] { padding: .25rem; width: 20rem; }
.sev-critical, .sev-high { color: #a00; font-weight: 600; } .sev-medium { color: #a60; }
.meta dt { font-weight: 600; float: left; clear: left; width: 14rem; } .meta dd { margin-left: 14rem; }
"#;

/// Sorting: a click (or Enter) on a header sorts by that column, again reverses; numbers as numbers, else text, a
/// cell's `data-sort` before its text. Filtering: every word typed must appear in a row for it to stay shown.
const SCRIPT: &str = r#"
(function () {
  function value(row, col) {
    var cell = row.cells[col];
    if (!cell) { return ''; }
    var key = cell.getAttribute('data-sort');
    return key !== null ? key : cell.textContent.trim();
  }
  function sortBy(table, th, col) {
    var ascending = th.getAttribute('aria-sort') !== 'ascending';
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a, col), y = value(b, col);
      var nx = Number(x), ny = Number(y);
      var order = (x !== '' && y !== '' && !isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.tabIndex = 0;
      th.addEventListener('click', function () { sortBy(table, th, col); });
      th.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sortBy(table, th, col); }
      });
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll('input[data-filter]'), function (input) {
    var id = input.getAttribute('data-filter');
    var table = document.getElementById(id);
    var shown = document.getElementById(id + '-shown');
    function apply() {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var count = 0;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var text = row.textContent.toLowerCase();
        var keep = words.every(function (w) { return text.indexOf(w) !== -1; });
        row.hidden = !keep;
        if (keep) { count += 1; }
      });
      if (shown) { shown.textContent = String(count); }
    }
    input.addEventListener('input', apply);
    input.addEventListener('change', apply);
  });
})();
"#;

/// The page as one string (tests, small reports); `write_html_page` streams the same bytes.
pub fn html_page(report: &ReviewReport) -> String {
    let mut out = String::new();
    let _ = render(report, &mut out, &mut |_| Ok(()));
    out
}

/// Writes the page to `sink` as it is made: the text is handed on whenever it passes `FLUSH_AT` bytes, so at
/// 300,000 access rows the page (~90 MiB) is never held whole.
pub fn write_html_page(report: &ReviewReport, sink: &mut impl std::io::Write) -> std::io::Result<()> {
    let mut out = String::with_capacity(FLUSH_AT.saturating_mul(2));
    render(report, &mut out, &mut |text: &mut String| {
        sink.write_all(text.as_bytes())?;
        text.clear();
        Ok(())
    })?;
    sink.write_all(out.as_bytes())
}

/// How much text is gathered before it is handed on.
const FLUSH_AT: usize = 64 * 1024;

type Flush<'f> = dyn FnMut(&mut String) -> std::io::Result<()> + 'f;

fn flush_if_full(out: &mut String, flush: &mut Flush<'_>) -> std::io::Result<()> {
    if out.len() >= FLUSH_AT { flush(out) } else { Ok(()) }
}

fn render(report: &ReviewReport, out: &mut String, flush: &mut Flush<'_>) -> std::io::Result<()> {
    let script_hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT.as_bytes()));
    let counts = StatusCounts::of(&report.findings);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; \
         script-src 'sha256-{script_hash}'; base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Access review {run}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Access review {run}</h1>\n<dl class=\"meta\">\n",
        run = escape(&report.run_id)
    );
    for (label, value) in [
        ("Kind", kind_word(report.kind).to_owned()),
        ("Generated", report.generated_at.to_rfc3339()),
        (
            "Period",
            format!(
                "{} to {}",
                report.period_start.to_rfc3339(),
                report.period_end.to_rfc3339()
            ),
        ),
        (
            "Findings",
            format!(
                "{} ({} new, {} open, {} resolved, {} suppressed)",
                counts.total(),
                counts.new,
                counts.open,
                counts.resolved,
                counts.suppressed
            ),
        ),
        ("Effective access rows", report.access.len().to_string()),
        ("Deprovisions in the period", report.deprovisions.len().to_string()),
        ("Completeness", super::completeness_line(report)),
    ] {
        let _ = writeln!(out, "<dt>{label}</dt><dd>{}</dd>", escape(&value));
    }
    out.push_str("</dl>\n");

    out.push_str("<h2>Findings per rule</h2>\n");
    counts_table(
        out,
        "rule-counts",
        "Rule",
        counts_per_rule(report).into_iter().map(|(r, c)| (r.to_string(), c)),
    );
    out.push_str("<h2>Findings per control</h2>\n");
    counts_table(out, "control-counts", "Control", counts_per_control(report).into_iter());

    out.push_str("<h2>Findings</h2>\n");
    filter_box(out, "findings", report.findings.len());
    table_head(
        out,
        "findings",
        &[
            "Severity",
            "Rule",
            "Status",
            "Subject",
            "Finding",
            "Controls",
            "First seen",
            "Last seen",
            "Remedy",
            "Finding id",
        ],
    );
    for f in &report.findings {
        let severity = f.finding.severity;
        let status = match &f.status {
            FindingStatus::Suppressed { owner, reason, until } => {
                format!("suppressed by {owner} until {}: {reason}", until.format("%Y-%m-%d"))
            }
            other => status_word(other).to_owned(),
        };
        let _ = writeln!(
            out,
            "<tr><td class=\"sev-{sev}\" data-sort=\"{rank}\">{sev}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            escape(f.finding.rule.as_str()),
            escape(&status),
            escape(&finding_subject(&f.finding)),
            escape(&f.finding.title),
            escape(&f.controls.join(", ")),
            f.first_seen.to_rfc3339(),
            f.last_seen.to_rfc3339(),
            escape(&f.finding.remedy),
            escape(f.finding.finding_id.as_str()),
            sev = severity.as_str(),
            rank = severity_rank(severity),
        );
        flush_if_full(out, flush)?;
    }
    out.push_str("</tbody>\n</table>\n");

    out.push_str("<h2>Effective access</h2>\n");
    filter_box(out, "access", report.access.len());
    table_head(
        out,
        "access",
        &[
            "User",
            "Okta login",
            "IdC status",
            "Okta status",
            "Account",
            "Permission set",
            "Via group",
            "Last sign-in",
            "Sign-in source",
        ],
    );
    for row in &report.access {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td title=\"{}\">{}</td><td>{}</td>\
             <td>{}</td><td>{}</td></tr>",
            escape(row.user_name),
            escape(row.okta_login.unwrap_or("")),
            escape(row.idc_status),
            escape(row.okta_status.unwrap_or("")),
            escape(row.account_id.as_str()),
            escape(row.permission_set_arn.as_str()),
            escape(row.permission_set_name),
            escape(row.via_group.unwrap_or("(direct)")),
            row.last_sign_in.map(|t| t.to_rfc3339()).unwrap_or_default(),
            escape(row.last_sign_in_source.unwrap_or("")),
        );
        flush_if_full(out, flush)?;
    }
    out.push_str("</tbody>\n</table>\n");

    out.push_str("<h2>Deprovisions in the period and their verdicts</h2>\n");
    filter_box(out, "deprovisions", report.deprovisions.len());
    table_head(
        out,
        "deprovisions",
        &[
            "Okta event",
            "Type",
            "Person",
            "Published",
            "SCIM call",
            "Final state",
            "Latency (s)",
            "Verdict",
            "Finding id",
        ],
    );
    for d in &report.deprovisions {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td><code>{}</code></td></tr>",
            escape(&d.okta_event_id),
            escape(&d.event_type),
            escape(d.login.as_deref().unwrap_or("")),
            d.published.to_rfc3339(),
            d.scim_call_at
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| "not seen".to_owned()),
            escape(&d.final_state),
            d.latency_seconds.map(|s| s.to_string()).unwrap_or_default(),
            escape(&d.rule),
            escape(d.finding_id.as_str()),
        );
    }
    out.push_str("</tbody>\n</table>\n");

    out.push_str("<h2>Changes since the previous run</h2>\n");
    let diff = &report.diff;
    match &diff.previous_run {
        None => out.push_str("<p>First run: nothing to compare with.</p>\n"),
        Some(previous) => {
            let _ = writeln!(
                out,
                "<p>Against run {}: {} access added, {} removed; {} finding(s) new, {} resolved.</p>\n<ul id=\"diff\">",
                escape(previous),
                diff.access_added.len(),
                diff.access_removed.len(),
                diff.findings_new.len(),
                diff.findings_resolved.len()
            );
            for (label, rows) in [("Added", &diff.access_added), ("Removed", &diff.access_removed)] {
                for row in rows {
                    let _ = writeln!(
                        out,
                        "<li>{label}: {} on account {} with {} {}</li>",
                        escape(&row.user_name),
                        escape(row.account_id.as_str()),
                        escape(&row.permission_set_name),
                        escape(
                            &row.via_group
                                .as_deref()
                                .map(|g| format!("via group {g}"))
                                .unwrap_or_else(|| "(direct)".to_owned())
                        )
                    );
                    flush_if_full(out, flush)?;
                }
            }
            for id in &diff.findings_new {
                let _ = writeln!(out, "<li>New finding <code>{}</code></li>", escape(id.as_str()));
            }
            for id in &diff.findings_resolved {
                let _ = writeln!(out, "<li>Resolved finding <code>{}</code></li>", escape(id.as_str()));
            }
            out.push_str("</ul>\n");
        }
    }
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    flush(out)
}

fn severity_rank(severity: Severity) -> u8 {
    match severity {
        Severity::Info => 0,
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

fn filter_box(out: &mut String, id: &str, rows: usize) {
    let _ = writeln!(
        out,
        "<p><label>Filter <input id=\"{id}-filter\" type=\"search\" data-filter=\"{id}\" autocomplete=\"off\"></label> \
         <span id=\"{id}-shown\">{rows}</span> of {rows} shown</p>"
    );
}

fn table_head(out: &mut String, id: &str, headers: &[&str]) {
    let _ = write!(out, "<table id=\"{id}\" class=\"sortable\">\n<thead><tr>");
    for h in headers {
        let _ = write!(out, "<th scope=\"col\">{h}</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
}

fn counts_table(out: &mut String, id: &str, label: &str, rows: impl Iterator<Item = (String, StatusCounts)>) {
    table_head(out, id, &[label, "Total", "New", "Open", "Resolved", "Suppressed"]);
    for (name, c) in rows {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&name),
            c.total(),
            c.new,
            c.open,
            c.resolved,
            c.suppressed
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

/// Text safe in an HTML text node and in a quoted attribute value.
pub(crate) fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
