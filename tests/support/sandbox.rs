//! The local sandbox (`cargo run -p integration-tests --bin sandbox`, README "Try it on a laptop"): the demo org
//! (`events/demo/org.json`) seeded into moto the way AWS holds it and served by the Okta fake, with the queue, topic
//! and table the functions need. The Identity Center side gets moto's ids; the Okta side is rewritten to point at
//! them (app users' `externalId`, group push targets), as SCIM would have left it.

use std::collections::BTreeMap;

use aws_sdk_sqs::types::{Message, QueueAttributeName};
use serde_json::{Value, json};
use shared::domain::{IdcUserStatus, OktaSide, OrgSnapshot, Principal};

use crate::ledger::verdict_ledger;
use crate::moto::MotoAccount;
use crate::okta_fake::OktaFake;
use crate::queues::{create_queue, subscribed_topic};
use crate::seed::{OrgSeed, SeededOrg};

/// The demo org the CLI's `demo` runs on.
pub const DEMO_ORG: &str = include_str!("../../events/demo/org.json");
pub const VERIFY_QUEUE: &str = "deprov-audit-verify";
pub const FINDINGS_TOPIC: &str = "deprov-audit-findings";
/// Subscribed to the findings topic (raw delivery): what the sandbox prints.
pub const FINDINGS_TAP_QUEUE: &str = "deprov-audit-findings-tap";
pub const VERDICT_TABLE: &str = "deprov-audit-verdicts";
/// The hook's shared secret in the sandbox; the events under `events/` carry it.
pub const HOOK_SECRET: &str = "test-hook-secret-not-for-production";

/// What the sandbox made.
#[derive(Debug)]
pub struct Sandbox {
    pub org: SeededOrg,
    pub okta: OktaFake,
    /// The demo's Okta side as served (ids rewritten to moto's).
    pub okta_side: OktaSide,
    pub verify_queue_url: String,
    pub findings_topic_arn: String,
    pub findings_tap_url: String,
}

/// Seeds `snapshot`'s Identity Center side into `account`, serves its Okta side (rewritten to the ids moto gave),
/// and creates the verification queue, the findings topic (with the tap queue) and the verdict table.
pub async fn seed(account: &MotoAccount, snapshot: &OrgSnapshot) -> Sandbox {
    let idc = &snapshot.idc;
    let user_names: BTreeMap<&str, &str> = idc
        .users
        .iter()
        .map(|u| (u.id.as_str(), u.user_name.as_str()))
        .collect();
    let group_names: BTreeMap<&str, &str> = idc
        .groups
        .iter()
        .map(|g| (g.id.as_str(), g.display_name.as_str()))
        .collect();
    let set_names: BTreeMap<&str, &str> = idc
        .permission_sets
        .iter()
        .map(|s| (s.arn.as_str(), s.name.as_str()))
        .collect();

    let mut seed = OrgSeed::new();
    // Accounts are named by their id in the snapshot; moto gives them ids of its own.
    for account_id in &idc.accounts {
        seed = seed.account(account_id.as_str());
    }
    for user in &idc.users {
        seed = match user.status {
            IdcUserStatus::Disabled => seed.disabled_user(&user.user_name),
            IdcUserStatus::Enabled | IdcUserStatus::Unknown => seed.user(&user.user_name),
        };
    }
    for group in &idc.groups {
        let members: Vec<&str> = group
            .members
            .iter()
            .filter_map(|m| user_names.get(m.as_str()).copied())
            .collect();
        seed = seed.group(&group.display_name, &members);
    }
    for set in &idc.permission_sets {
        seed = seed.permission_set(&set.name, set.session_duration.as_deref().unwrap_or("PT1H"));
    }
    for assignment in &idc.assignments {
        let Some(set) = set_names.get(assignment.permission_set_arn.as_str()) else {
            continue;
        };
        let account_name = assignment.account_id.as_str();
        seed = match &assignment.principal {
            Principal::User(id) => match user_names.get(id.as_str()) {
                Some(name) => seed.assign_user(name, set, account_name),
                None => seed,
            },
            Principal::Group(id) => match group_names.get(id.as_str()) {
                Some(name) => seed.assign_group(name, set, account_name),
                None => seed,
            },
        };
    }
    let org = seed.seed(account).await;

    // Okta's records name the Identity Center ids SCIM created: point them at moto's.
    let mut okta_side = snapshot.okta.clone();
    for app_user in &mut okta_side.app.app_users {
        if let Some(name) = app_user.external_id.as_deref().and_then(|id| user_names.get(id)) {
            app_user.external_id = Some(org.user(name).to_string());
        }
    }
    for mapping in &mut okta_side.app.group_push_mappings {
        if let Some(name) = mapping
            .target_group_id
            .as_ref()
            .and_then(|id| group_names.get(id.as_str()))
        {
            mapping.target_group_id = Some(org.group(name).clone());
        }
    }
    let okta = OktaFake::start(okta_side.clone(), snapshot.okta.deprovisions.clone()).await;

    let verify_queue_url = create_queue(account, VERIFY_QUEUE).await;
    // Short, so a job the relay could not hand to the checker (no `cargo lambda watch` yet) comes back soon.
    aws_sdk_sqs::Client::new(account.sdk_config())
        .set_queue_attributes()
        .queue_url(&verify_queue_url)
        .attributes(QueueAttributeName::VisibilityTimeout, "30")
        .send()
        .await
        .expect("SetQueueAttributes VisibilityTimeout");
    let (findings_topic_arn, findings_tap_url) =
        subscribed_topic(account, FINDINGS_TOPIC, FINDINGS_TAP_QUEUE, true).await;
    verdict_ledger(account, VERDICT_TABLE).await;
    Sandbox {
        org,
        okta,
        okta_side,
        verify_queue_url,
        findings_topic_arn,
        findings_tap_url,
    }
}

impl Sandbox {
    /// The environment `cargo lambda watch` (okta-hook, propagation-check) and the CLI need, in order.
    pub fn env(&self, account: &MotoAccount, access_key_id: &str, secret: &str, token: &str) -> Vec<(String, String)> {
        let pairs = [
            ("AWS_ENDPOINT_URL", crate::moto::endpoint().to_owned()),
            ("AWS_REGION", crate::moto::REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", access_key_id.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", secret.to_owned()),
            ("AWS_SESSION_TOKEN", token.to_owned()),
            ("AWS_ACCOUNT_ID", account.id().to_string()),
            ("OKTA_ORG_URL", self.okta.url().to_string()),
            ("OKTA_APP_ID", self.okta_side.app.id.to_string()),
            ("OKTA_API_TOKEN", crate::okta_fake::API_TOKEN.to_owned()),
            ("OKTA_HOOK_SECRET", HOOK_SECRET.to_owned()),
            ("VERIFY_QUEUE_URL", self.verify_queue_url.clone()),
            ("FINDINGS_TOPIC_ARN", self.findings_topic_arn.clone()),
            ("VERDICT_TABLE_NAME", VERDICT_TABLE.to_owned()),
            ("IDC_INSTANCE_ARN", self.org.instance.instance_arn.to_string()),
            ("IDENTITY_STORE_ID", self.org.instance.identity_store_id.to_string()),
            // No SCIM window in the sandbox: the hook queues the job without delay, and the checker judges at once.
            ("PROPAGATION_WINDOW_SECONDS", "0".to_owned()),
        ];
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }
}

/// The Lambda SQS event for `messages` received from the queue `queue_arn`, as the SQS event source mapping hands
/// a batch to a function (what the sandbox's relay does for `cargo lambda watch`, which has no event sources).
pub fn sqs_event(messages: &[Message], queue_arn: &str) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: serde_json::Map<String, Value> = m
                .attributes()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.as_str().to_owned(), json!(v)))
                .collect();
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": crate::moto::REGION,
            })
        })
        .collect();
    json!({ "Records": records })
}
