use super::example::{FORMULA_LOGIN, HOSTILE_NAME, example_report};
use super::*;

#[test]
fn csv_quotes_as_rfc_4180_says_and_defuses_formulas() {
    assert_eq!(csv::field("plain"), "plain");
    assert_eq!(csv::field("a,b"), "\"a,b\"");
    assert_eq!(csv::field("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(csv::field("two\nlines"), "\"two\nlines\"");
    for risky in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
        assert!(
            csv::field(risky).trim_start_matches('"').starts_with('\''),
            "{risky:?} not defused"
        );
    }
    // A defused cell that also needs quoting: prefix inside the quotes.
    assert_eq!(csv::field("=A1,B1"), "\"'=A1,B1\"");
    // A hyphen inside a value is not a formula.
    assert_eq!(csv::field("aws-production"), "aws-production");
}

#[test]
fn csv_has_a_header_and_one_crlf_row_per_access() {
    let report = example_report();
    let text = access_csv(&report);
    let records = split_csv(&text);
    assert_eq!(records.len(), report.access.len() + 1);
    assert_eq!(records[0][0], "user");
    assert_eq!(records[0].len(), 11);
    assert!(
        records.iter().all(|r| r.len() == 11),
        "every row has every column: {records:?}"
    );
    assert!(text.ends_with("\r\n"));
    let hostile = records.iter().find(|r| r[0] == HOSTILE_NAME).expect("hostile row");
    assert_eq!(hostile[2], format!("'{FORMULA_LOGIN}"));
    assert_eq!(hostile[8], "Engineers, \"all\"\nof them");
    let direct = records
        .iter()
        .find(|r| r[0] == "sam.ops@example.com")
        .expect("direct row");
    assert_eq!(direct[8], "", "a direct assignment has no group");
    assert_eq!(direct[9], "2026-09-03T09:00:00+00:00");
}

/// A small RFC 4180 reader, to read back what the writer wrote (not the writer's own code).
fn split_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    records
}

#[test]
fn counts_per_rule_and_control_follow_the_findings() {
    let report = example_report();
    let rules = counts_per_rule(&report);
    let direct = rules
        .iter()
        .find(|(r, _)| *r == Rule::DirectUserAssignment)
        .map(|(_, c)| *c)
        .expect("direct");
    assert_eq!(
        direct,
        StatusCounts {
            new: 0,
            open: 1,
            resolved: 0,
            suppressed: 1
        }
    );
    assert_eq!(
        rules.iter().map(|(_, c)| c.total()).sum::<usize>(),
        report.findings.len()
    );
    let controls = counts_per_control(&report);
    let cc62 = controls
        .iter()
        .find(|(c, _)| c == "SOC2 CC6.2")
        .map(|(_, c)| *c)
        .expect("cc6.2");
    assert_eq!((cc62.new, cc62.resolved, cc62.total()), (1, 1, 2));
    let cc63 = controls
        .iter()
        .find(|(c, _)| c == "SOC2 CC6.3")
        .map(|(_, c)| *c)
        .expect("cc6.3");
    assert_eq!(cc63.total(), 2);
}

#[test]
fn html_escapes_every_outside_value_and_allows_only_its_own_script() {
    let report = example_report();
    let page = html_page(&report);
    assert!(!page.contains(HOSTILE_NAME), "raw markup reached the page");
    assert!(!page.contains("<img"), "an injected element reached the page");
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;&quot;mal|lory&quot;"));
    assert_eq!(page.matches("<script>").count(), 1, "one script: the page's own");
    // The CSP names the script by its hash: the script that is there is the one hashed.
    let script = page
        .split("<script>")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("script");
    let hash = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        Sha256::digest(script.as_bytes()),
    );
    assert!(page.contains(&format!("script-src 'sha256-{hash}'")));
    assert!(page.contains("default-src 'none'"), "no network");
    // Nothing to fetch: no element that loads (the login's URL is text, escaped, in a cell).
    for loader in ["<link", "<img", "<iframe", "<script src", " src=\"", " href=\""] {
        assert!(!page.contains(loader), "{loader}");
    }
    for id in ["findings", "access", "deprovisions", "rule-counts", "control-counts"] {
        assert!(page.contains(&format!("<table id=\"{id}\"")), "table {id}");
    }
    assert_eq!(
        page.matches("<tr><td").count(),
        report.findings.len()
            + report.access.len()
            + report.deprovisions.len()
            + counts_per_rule(&report).len()
            + counts_per_control(&report).len()
    );
}

#[test]
fn html_escape_covers_text_and_attribute_contexts() {
    assert_eq!(html::escape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
}

#[test]
fn markdown_escapes_cells_and_lists_every_part() {
    let report = example_report();
    let md = markdown(&report);
    assert!(!md.contains("<img"));
    assert!(md.contains("## Findings per rule"));
    assert!(md.contains("| orphaned-idc-user | 1 | 1 | 0 | 0 | 0 |"));
    assert!(md.contains("| SOC2 CC6.2 | 2 | 1 | 0 | 1 | 0 |"));
    assert!(md.contains("suppressed by secops@example.com until 2026-11-29: break-glass account, reviewed monthly"));
    assert!(md.contains("Against run 2026-q2: 1 access added, 1 removed; 1 finding(s) new, 1 resolved."));
    assert!(md.contains("| 42 | propagation-verified"));
    // A cell break in a value is escaped: every table row still has its column count.
    assert_eq!(markdown::text("a|b\nc"), "a\\|b c");
    let mut checked = 0;
    for line in md.lines().filter(|l| l.starts_with("| ") && l.contains("lory")) {
        assert_eq!(line.matches(" | ").count(), 7, "{line}");
        checked += 1;
    }
    assert_eq!(checked, 1, "the hostile finding's row");
}

#[test]
fn the_manifest_names_each_file_with_its_sha256_and_comes_last() {
    let report = example_report();
    let staging = StagingDir::create(&report.run_id).expect("staging");
    let files = ReportFiles::render(&report, staging.path()).expect("render");
    let names: Vec<_> = files.files.iter().map(|f| f.name).collect();
    assert_eq!(
        names,
        ["report.json", "access.csv", "report.md", "index.html", MANIFEST_NAME]
    );
    let read = |i: usize| std::fs::read(&files.files[i].path).expect("a rendered file");
    let manifest: Manifest = serde_json::from_slice(&read(4)).expect("manifest json");
    assert_eq!(manifest.run_id, "2026-q3");
    assert_eq!(manifest.files.len(), 4);
    for (i, (entry, file)) in manifest.files.iter().zip(&files.files).enumerate() {
        let bytes = read(i);
        assert_eq!(entry.name, file.name);
        assert_eq!(entry.sha256, hex(&Sha256::digest(&bytes)));
        assert_eq!(
            entry.sha256,
            file.sha256_hex(),
            "the hash taken while writing is the file's"
        );
        assert_eq!(entry.bytes, bytes.len() as u64);
    }
    // The streamed files are the ones the string renderers make.
    assert_eq!(read(1), access_csv(&report).into_bytes());
    assert_eq!(read(3), html_page(&report).into_bytes());
    let back: ReviewReport = serde_json::from_slice(&read(0)).expect("json back");
    assert_eq!(back, report);
    let dir = staging.path().to_path_buf();
    drop(staging);
    assert!(!dir.exists(), "the staging directory goes with its guard");
}

#[test]
fn a_run_id_that_could_leave_its_prefix_is_refused() {
    for bad in ["", "../x", "a/b", ".hidden", "a b", &"x".repeat(129)] {
        assert!(check_run_id(bad).is_err(), "{bad:?}");
    }
    for good in ["2026-q3", "review_2026-09-30T06:00:00Z", "a.b"] {
        assert!(check_run_id(good).is_ok(), "{good:?}");
    }
    let mut report = example_report();
    report.run_id = "../../etc".into();
    assert!(ReportFiles::render(&report, &std::env::temp_dir().join("deprov-never")).is_err());
    assert!(StagingDir::create("../../etc").is_err());
}

#[test]
fn the_summary_finding_counts_and_links_the_report() {
    let report = example_report();
    let location = ReportLocation {
        base: "s3://reports/reviews/2026-q3/".into(),
        index: "s3://reports/reviews/2026-q3/index.html".into(),
        manifest: "s3://reports/reviews/2026-q3/manifest.json".into(),
    };
    let summary = summary_finding(&report, &location, report.generated_at);
    assert_eq!(summary.rule, Rule::AccessReviewSummary);
    assert_eq!(summary.severity, Severity::Info);
    assert!(
        summary
            .title
            .contains("4 finding(s) (1 new, 1 open, 1 resolved, 1 suppressed), 4 effective access row(s)"),
        "{}",
        summary.title
    );
    let observations: Vec<_> = summary.evidence.iter().map(|e| e.observation.as_str()).collect();
    assert!(observations.contains(&"open findings by severity: 1 high, 1 medium"));
    assert!(observations.iter().any(|o| o.ends_with("2 deprovision(s), 1 verified")));
    assert!(
        summary
            .evidence
            .iter()
            .any(|e| e.reference.as_deref() == Some(location.base.as_str()))
    );
    assert!(summary.remedy.contains(&location.manifest));
    // One summary per run: the same run gets the same id, another run another.
    let again = summary_finding(&report, &location, report.generated_at + chrono::Duration::hours(1));
    assert_eq!(again.finding_id, summary.finding_id);
    let mut other = report.clone();
    other.run_id = "2026-q4".into();
    assert_ne!(
        summary_finding(&other, &location, other.generated_at).finding_id,
        summary.finding_id
    );
}

#[test]
fn a_capped_read_is_in_the_report_its_summaries_and_the_summary_finding() {
    use crate::domain::review::ReadCompleteness;
    let location = ReportLocation {
        base: "s3://reports/reviews/2026-q3/".into(),
        index: "s3://reports/reviews/2026-q3/index.html".into(),
        manifest: "s3://reports/reviews/2026-q3/manifest.json".into(),
    };
    let read = |source: &str, complete: bool, records: u64| ReadCompleteness {
        source: source.into(),
        complete,
        records,
        detail: format!("{source} detail"),
    };
    let mut report = example_report();
    report.completeness = vec![read("cloudtrail", true, 12), read("verdict-archive", true, 2)];
    assert_eq!(
        completeness_line(&report),
        "complete (cloudtrail 12 record(s), verdict-archive 2 record(s))"
    );
    let whole = summary_finding(&report, &location, report.generated_at);
    assert!(!whole.title.contains("INCOMPLETE"), "{}", whole.title);

    report.completeness[1] = read("verdict-archive", false, 10_000);
    let line = completeness_line(&report);
    assert_eq!(
        line,
        "INCOMPLETE: verdict-archive: 10000 record(s), INCOMPLETE — verdict-archive detail"
    );
    let summary = summary_finding(&report, &location, report.generated_at);
    assert!(summary.title.contains("INCOMPLETE"), "{}", summary.title);
    let observations: Vec<_> = summary.evidence.iter().map(|e| e.observation.as_str()).collect();
    assert!(
        observations.contains(&format!("completeness: {line}").as_str()),
        "{observations:?}"
    );
    assert!(
        observations.contains(&"read cloudtrail: 12 record(s), complete (cloudtrail detail)"),
        "{observations:?}"
    );

    let staging = StagingDir::create(&report.run_id).expect("staging");
    let files = ReportFiles::render(&report, staging.path()).expect("renders");
    let text = |name: &str| {
        let file = files.files.iter().find(|f| f.name == name).expect("the file");
        std::fs::read_to_string(&file.path).expect("a rendered utf-8 file")
    };
    assert!(text("report.md").contains(&format!("- Completeness: {line}")));
    assert!(text("index.html").contains("<dt>Completeness</dt><dd>INCOMPLETE: verdict-archive: 10000 record(s)"));
    let json: ReviewReport = serde_json::from_str(&text("report.json")).expect("report.json");
    assert_eq!(json.completeness, report.completeness);
}

#[tokio::test]
async fn the_directory_store_writes_the_files_the_manifest_names() {
    use crate::ports::ReportStore;
    let root = std::env::temp_dir().join(format!("deprov-report-{}", std::process::id()));
    let report = example_report();
    let staging = StagingDir::create(&report.run_id).expect("staging");
    let files = ReportFiles::render(&report, staging.path()).expect("render");
    let store = DirectoryReportStore { root: root.clone() };
    let location = store.store(&files).await.expect("store");
    assert_eq!(location.base, root.join("2026-q3").display().to_string());
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(&location.manifest).expect("manifest")).expect("manifest json");
    for entry in &manifest.files {
        let bytes = std::fs::read(root.join("2026-q3").join(&entry.name)).expect("file");
        assert_eq!(hex(&Sha256::digest(&bytes)), entry.sha256, "{}", entry.name);
    }
    let _ = std::fs::remove_dir_all(&root);
}
