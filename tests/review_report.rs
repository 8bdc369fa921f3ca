//! The review's report files in S3 (moto): every file under `reviews/<run_id>/`, a manifest whose SHA-256s match
//! the objects read back, object lock when configured; the verdict archive written and read back by period; the
//! summary finding published to SNS and read back.

use chrono::{Duration, TimeZone, Utc};
use integration_tests::moto::MotoAccount;
use sha2::{Digest, Sha256};
use shared::aws::{ObjectLock, ReportStoreSettings, S3ReportStore, S3VerdictArchive};
use shared::domain::archived_verdict::ArchivedVerdict;
use shared::domain::review::DeprovisionRecord;
use shared::domain::{FindingId, Rule};
use shared::ports::{ReportStore, VerdictArchive};
use shared::review_report::example::example_report;
use shared::review_report::{Manifest, ReportFiles, StagingDir, summary_finding};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A bucket of its own (S3 names are global: the account id keeps tests apart).
async fn bucket(account: &MotoAccount, name: &str, object_lock: bool) -> (aws_sdk_s3::Client, String) {
    let s3 = aws_sdk_s3::Client::new(account.sdk_config());
    let bucket = format!("{name}-{}", account.id());
    s3.create_bucket()
        .bucket(&bucket)
        .object_lock_enabled_for_bucket(object_lock)
        .send()
        .await
        .expect("CreateBucket");
    (s3, bucket)
}

async fn read(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> (Vec<u8>, Option<String>) {
    let object = s3.get_object().bucket(bucket).key(key).send().await.expect("GetObject");
    let content_type = object.content_type().map(str::to_owned);
    let bytes = object.body.collect().await.expect("body").into_bytes().to_vec();
    (bytes, content_type)
}

#[tokio::test]
async fn the_report_files_and_a_manifest_whose_hashes_match_the_objects_are_written_under_the_run() {
    let account = MotoAccount::new().await;
    let (s3, bucket) = bucket(&account, "reports", false).await;
    let store = S3ReportStore::new(
        account.sdk_config(),
        ReportStoreSettings {
            bucket: bucket.clone(),
            object_lock: None,
        },
    );
    let report = example_report();
    let staging = StagingDir::create("2026-q3").expect("a staging directory");
    let location = store
        .store(&ReportFiles::render(&report, staging.path()).expect("render"))
        .await
        .expect("stored");
    assert_eq!(location.base, format!("s3://{bucket}/reviews/2026-q3/"));
    assert_eq!(
        location.manifest,
        format!("s3://{bucket}/reviews/2026-q3/manifest.json")
    );

    let listed = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("reviews/2026-q3/")
        .send()
        .await
        .expect("ListObjectsV2");
    let mut keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "reviews/2026-q3/access.csv",
            "reviews/2026-q3/index.html",
            "reviews/2026-q3/manifest.json",
            "reviews/2026-q3/report.json",
            "reviews/2026-q3/report.md",
        ]
    );
    let (manifest, _) = read(&s3, &bucket, "reviews/2026-q3/manifest.json").await;
    let manifest: Manifest = serde_json::from_slice(&manifest).expect("manifest JSON");
    assert_eq!(manifest.files.len(), 4);
    for entry in &manifest.files {
        let (bytes, content_type) = read(&s3, &bucket, &format!("reviews/2026-q3/{}", entry.name)).await;
        assert_eq!(hex(&Sha256::digest(&bytes)), entry.sha256, "{} read back", entry.name);
        assert_eq!(bytes.len() as u64, entry.bytes);
        assert_eq!(content_type.as_deref(), Some(entry.content_type.as_str()));
    }
    let (json, _) = read(&s3, &bucket, "reviews/2026-q3/report.json").await;
    let back: shared::domain::review::ReviewReport = serde_json::from_slice(&json).expect("report JSON");
    assert_eq!(back, report);
}

#[tokio::test]
async fn with_object_lock_set_every_file_is_retained_in_that_mode_for_those_days() {
    let account = MotoAccount::new().await;
    let (s3, bucket) = bucket(&account, "locked-reports", true).await;
    let store = S3ReportStore::new(
        account.sdk_config(),
        ReportStoreSettings {
            bucket: bucket.clone(),
            object_lock: Some(ObjectLock {
                compliance: false,
                days: 400,
            }),
        },
    );
    let before = Utc::now();
    let staging = StagingDir::create("2026-q3").expect("a staging directory");
    store
        .store(&ReportFiles::render(&example_report(), staging.path()).expect("render"))
        .await
        .expect("stored");
    for name in ["report.json", "access.csv", "report.md", "index.html", "manifest.json"] {
        // HeadObject carries the lock (moto 5.2.5 answers GetObjectRetention with the object itself).
        let head = s3
            .head_object()
            .bucket(&bucket)
            .key(format!("reviews/2026-q3/{name}"))
            .send()
            .await
            .expect("HeadObject");
        assert_eq!(
            head.object_lock_mode(),
            Some(&aws_sdk_s3::types::ObjectLockMode::Governance),
            "{name}"
        );
        let until = head.object_lock_retain_until_date().expect("until").secs();
        let expected = (before + Duration::days(400)).timestamp();
        assert!(
            (until - expected).abs() < 120,
            "{name}: retained until {until}, expected about {expected}"
        );
    }
}

#[tokio::test]
async fn object_lock_on_a_bucket_without_it_fails_loudly() {
    let account = MotoAccount::new().await;
    let (_, bucket) = bucket(&account, "unlocked-reports", false).await;
    let store = S3ReportStore::new(
        account.sdk_config(),
        ReportStoreSettings {
            bucket,
            object_lock: Some(ObjectLock {
                compliance: true,
                days: 30,
            }),
        },
    );
    let staging = StagingDir::create("2026-q3").expect("a staging directory");
    let error = store
        .store(&ReportFiles::render(&example_report(), staging.path()).expect("render"))
        .await
        .expect_err("a lock the bucket cannot hold");
    assert!(error.to_string().contains("PutObject"), "{error}");
}

fn verdict(episode: &str, day: u32, hour: u32, rule: Rule) -> ArchivedVerdict {
    let published = Utc.with_ymd_and_hms(2026, 9, day, hour, 0, 0).single().expect("time");
    ArchivedVerdict {
        episode_id: episode.into(),
        verdict_at: published + Duration::minutes(15),
        record: DeprovisionRecord {
            okta_event_id: format!("evt-{episode}"),
            event_type: "user.lifecycle.deactivate".into(),
            login: Some(format!("{episode}@acme.example")),
            published,
            scim_call_at: None,
            final_state: "DISABLED".into(),
            latency_seconds: Some(60),
            rule: rule.as_str().into(),
            finding_id: FindingId::derive(rule, &shared::domain::Subject::default()),
        },
    }
}

#[tokio::test]
async fn the_archive_answers_the_verdicts_of_a_period_by_day_and_no_others() {
    let account = MotoAccount::new().await;
    let (s3, bucket) = bucket(&account, "verdicts", false).await;
    let archive = S3VerdictArchive::new(account.sdk_config(), bucket.clone());
    for v in [
        verdict("ep-before", 1, 23, Rule::PropagationVerified),
        verdict("ep-first", 2, 0, Rule::PropagationVerified),
        verdict("ep-late", 15, 8, Rule::PropagationOverdue),
        verdict("ep-early", 15, 7, Rule::PropagationVerified),
        verdict("ep-end", 20, 0, Rule::PropagationVerified),
    ] {
        archive.record(&v).await.expect("recorded");
    }
    // Recording an episode again replaces its record.
    let mut again = verdict("ep-late", 15, 8, Rule::PropagationOverdue);
    again.record.final_state = "ENABLED".into();
    archive.record(&again).await.expect("recorded again");
    let keys = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("verdicts/2026/09/15/")
        .send()
        .await
        .expect("list");
    let mut keys: Vec<_> = keys.contents().iter().filter_map(|o| o.key()).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["verdicts/2026/09/15/ep-early.json", "verdicts/2026/09/15/ep-late.json"]
    );

    let start = Utc.with_ymd_and_hms(2026, 9, 2, 0, 0, 0).single().expect("time");
    let end = Utc.with_ymd_and_hms(2026, 9, 20, 0, 0, 0).single().expect("time");
    let period = archive.period(start, end, 100).await.expect("period");
    assert!(period.complete);
    let episodes: Vec<_> = period.verdicts.iter().map(|v| v.episode_id.as_str()).collect();
    assert_eq!(
        episodes,
        ["ep-first", "ep-early", "ep-late"],
        "in the period, oldest first"
    );
    let records = period.records();
    assert_eq!(records[2].final_state, "ENABLED");
    assert_eq!(records[2].rule, "propagation-overdue");

    let capped = archive.period(start, end, 2).await.expect("capped");
    assert_eq!((capped.verdicts.len(), capped.complete), (2, false));
    assert!(archive.period(start, start + Duration::days(401), 10).await.is_err());
}

#[tokio::test]
async fn the_summary_finding_links_the_stored_report_and_reaches_sns() {
    let account = MotoAccount::new().await;
    let (_, bucket) = bucket(&account, "summary-reports", false).await;
    let store = S3ReportStore::new(
        account.sdk_config(),
        ReportStoreSettings {
            bucket: bucket.clone(),
            object_lock: None,
        },
    );
    let report = example_report();
    let staging = StagingDir::create("2026-q3").expect("a staging directory");
    let location = store
        .store(&ReportFiles::render(&report, staging.path()).expect("render"))
        .await
        .expect("stored");
    let (topic_arn, queue_url) =
        integration_tests::queues::subscribed_topic(&account, "findings", "summary-reader", true).await;
    let notifier = shared::aws::SnsNotifier::new(account.sdk_config(), topic_arn);
    let summary = summary_finding(&report, &location, report.generated_at);
    shared::ports::Notifier::publish(&notifier, std::slice::from_ref(&summary))
        .await
        .expect("published");
    let sqs = aws_sdk_sqs::Client::new(account.sdk_config());
    let received = sqs
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("ReceiveMessage");
    let bodies: Vec<_> = received.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies.len(), 1);
    let back: shared::domain::Finding = serde_json::from_str(bodies[0]).expect("the finding");
    assert_eq!(back, summary);
    assert!(back.evidence.iter().any(|e| e.observation.contains(&location.index)));
}
