//! `access.csv`: one row per effective access, RFC 4180 (comma-separated, CRLF line ends, a field quoted when it
//! holds a comma, a quote or a line break, quotes doubled), with a header row.
//!
//! Formula injection: a spreadsheet opening the file runs a cell that starts with `=`, `+`, `-` or `@` (and, in some,
//! a tab or carriage return) as a formula. User names, logins and group names come from Okta and AWS, where anyone
//! who can edit a profile picks them, so such a cell is prefixed with `'`, which spreadsheets show as text. The value
//! stays readable; the JSON file keeps the exact value for machines.

use crate::domain::review::{AccessView, ReviewReport};

const HEADER: [&str; 11] = [
    "user",
    "idc_user_id",
    "okta_login",
    "idc_status",
    "okta_status",
    "account_id",
    "permission_set",
    "permission_set_arn",
    "via_group",
    "last_sign_in",
    "last_sign_in_source",
];

/// The CSV text: the header, then one row per access in the report's order.
pub fn access_csv(report: &ReviewReport) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = write_access_csv(report, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Writes the same text to `sink` row by row (at 300,000 rows the file is ~70 MiB: never held whole).
pub fn write_access_csv(report: &ReviewReport, sink: &mut impl std::io::Write) -> std::io::Result<()> {
    let mut line = String::new();
    push_row(&mut line, HEADER.iter().map(|h| (*h).to_owned()));
    sink.write_all(line.as_bytes())?;
    for row in &report.access {
        line.clear();
        push_row(&mut line, cells(&row));
        sink.write_all(line.as_bytes())?;
    }
    Ok(())
}

fn cells(row: &AccessView<'_>) -> [String; 11] {
    [
        row.user_name.to_owned(),
        row.idc_user_id.to_string(),
        row.okta_login.unwrap_or_default().to_owned(),
        row.idc_status.to_owned(),
        row.okta_status.unwrap_or_default().to_owned(),
        row.account_id.to_string(),
        row.permission_set_name.to_owned(),
        row.permission_set_arn.to_string(),
        // Empty: a direct user assignment.
        row.via_group.unwrap_or_default().to_owned(),
        row.last_sign_in.map(|t| t.to_rfc3339()).unwrap_or_default(),
        row.last_sign_in_source.unwrap_or_default().to_owned(),
    ]
}

fn push_row(out: &mut String, cells: impl IntoIterator<Item = String>) {
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&field(&cell));
    }
    out.push_str("\r\n");
}

/// One field: defused against formulas, then quoted if RFC 4180 needs it.
pub(crate) fn field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}
