//! cert-monitor end to end: the Okta fake serving the app's signing keys with real x5c certificates, moto IAM
//! serving SAML providers with realistic metadata (deploy account and a member account reached through the
//! read-only role), the handler judging, findings recorded.

use chrono::{DateTime, Duration, Utc};
use integration_tests::moto::MotoAccount;
use integration_tests::okta_fake::{OktaFake, api_token};
use integration_tests::saml::{TestCert, certificate, identity_center_metadata, okta_metadata};
use shared::aws::IamSamlProviders;
use shared::domain::certificate::SamlProvider;
use shared::domain::{AccountId, Finding, OktaApp, OktaAppId, OktaSide, Rule, Severity, SigningKey};
use shared::handlers::cert_monitor::{CertMonitorConfig, MemberAccounts, run};
use shared::in_memory::RecordingNotifier;
use shared::okta::OktaClient;
use shared::ports::SamlProviders;
use shared::rules::KeyExpiryThresholds;

const APP: &str = "0oa1fedaws000000001";
const APP_KEY: &str = "exk1fedaws000000001";
const MEMBER_ROLE: &str = "deprov-audit-cert-monitor-read";

fn now() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(Utc::now().timestamp(), 0).expect("now")
}

/// A certificate valid from a year ago until `days` days (and an hour) from now: the hour keeps whole days stable.
fn cert_expiring_in(days: i64, now: DateTime<Utc>) -> TestCert {
    certificate(
        "dev-123456",
        now - Duration::days(365),
        now + Duration::days(days) + Duration::hours(1),
    )
}

fn key(kid: &str, active: bool, created: DateTime<Utc>, cert: &TestCert) -> SigningKey {
    SigningKey {
        kid: kid.to_owned(),
        created: Some(created),
        expires_at: cert.not_after,
        active,
        x5c: vec![cert.base64.clone()],
    }
}

async fn okta_with_keys(keys: Vec<SigningKey>) -> OktaFake {
    OktaFake::start(
        OktaSide {
            org_url: "https://acme.okta.com".into(),
            users: vec![],
            groups: vec![],
            app: OktaApp {
                id: OktaAppId::parse(APP).expect("app id"),
                label: "AWS Account Federation".into(),
                app_users: vec![],
                group_push_mappings: vec![],
                signing_keys: keys,
            },
            deprovisions: vec![],
        },
        vec![],
    )
    .await
}

async fn add_provider(account: &MotoAccount, name: &str, metadata: &str) -> String {
    aws_sdk_iam::Client::new(account.sdk_config())
        .create_saml_provider()
        .name(name)
        .saml_metadata_document(metadata)
        .send()
        .await
        .expect("CreateSAMLProvider in moto")
        .saml_provider_arn()
        .expect("the provider's ARN")
        .to_owned()
}

async fn update_provider(account: &MotoAccount, arn: &str, metadata: &str) {
    aws_sdk_iam::Client::new(account.sdk_config())
        .update_saml_provider()
        .saml_provider_arn(arn)
        .saml_metadata_document(metadata)
        .send()
        .await
        .expect("UpdateSAMLProvider in moto");
}

fn config(members: &[&AccountId]) -> CertMonitorConfig {
    CertMonitorConfig {
        app_ids: vec![OktaAppId::parse(APP).expect("app id")],
        discover_apps: false,
        member_accounts: MemberAccounts::Listed(members.iter().map(|a| (*a).clone()).collect()),
        thresholds: KeyExpiryThresholds::default(),
        account_budget: std::time::Duration::from_secs(30),
    }
}

async fn check(okta: &OktaFake, deploy: &MotoAccount, members: &[&AccountId], now: DateTime<Utc>) -> Vec<Finding> {
    let directory = OktaClient::new(okta.client_config(api_token())).expect("Okta client");
    let providers = IamSamlProviders::new(deploy.sdk_config()).with_member_role(MEMBER_ROLE, "aws");
    let notifier = RecordingNotifier::default();
    let report = run(&directory, &providers, &notifier, &config(members), now)
        .await
        .expect("a cert-monitor run");
    assert_eq!(
        notifier.findings(),
        report.findings,
        "what was judged is what was published"
    );
    report.findings
}

fn of(findings: &[Finding], rule: Rule) -> Vec<&Finding> {
    findings.iter().filter(|f| f.rule == rule).collect()
}

#[tokio::test]
async fn each_threshold_on_both_sides_with_ids_stable_per_certificate_and_threshold() {
    let now = now();
    for (days, rule, severity, threshold) in [
        (120, None, None, None),
        (80, Some(Rule::SamlCertExpiring), Some(Severity::Low), Some("90d")),
        (20, Some(Rule::SamlCertExpiring), Some(Severity::Medium), Some("30d")),
        (5, Some(Rule::SamlCertExpiring), Some(Severity::High), Some("7d")),
        (
            -3,
            Some(Rule::SamlCertExpired),
            Some(Severity::Critical),
            Some("expired"),
        ),
    ] {
        let cert = cert_expiring_in(days, now);
        // Okta's expiresAt says "fine for years": the certificate's notAfter is what counts.
        let mut active = key("akm1active", true, now - Duration::days(365), &cert);
        active.expires_at = now + Duration::days(3650);
        let okta = okta_with_keys(vec![active]).await;
        let deploy = MotoAccount::new().await;
        let arn = add_provider(&deploy, "Okta", &okta_metadata(APP_KEY, &[&cert.base64])).await;

        let findings = check(&okta, &deploy, &[], now).await;
        assert!(
            of(&findings, Rule::SamlCertDrift).is_empty(),
            "{days} d: AWS trusts Okta's key"
        );
        let expiry: Vec<_> = findings
            .iter()
            .filter(|f| matches!(f.rule, Rule::SamlCertExpiring | Rule::SamlCertExpired))
            .collect();
        match (rule, severity, threshold) {
            (Some(rule), Some(severity), Some(threshold)) => {
                assert_eq!(expiry.len(), 2, "{days} d: one finding per side: {expiry:#?}");
                for finding in &expiry {
                    assert_eq!((finding.rule, finding.severity), (rule, severity), "{days} d");
                    assert_eq!(finding.subject.threshold.as_deref(), Some(threshold));
                    assert_eq!(
                        finding.subject.certificate_sha256.as_deref(),
                        Some(cert.sha256.as_str())
                    );
                }
                let okta_side = expiry.iter().find(|f| f.subject.key_id.is_some()).expect("Okta's side");
                assert_eq!(okta_side.subject.app_id.as_deref(), Some(APP));
                let aws_side = expiry
                    .iter()
                    .find(|f| f.subject.saml_provider_arn.is_some())
                    .expect("AWS's side");
                assert_eq!(aws_side.subject.saml_provider_arn.as_deref(), Some(arn.as_str()));
                assert_eq!(aws_side.subject.account_id.as_deref(), Some(deploy.id().as_str()));

                // The next day, at the same threshold: the same ids (no new page).
                let next_day = check(&okta, &deploy, &[], now + Duration::hours(20)).await;
                let ids = |f: &[&Finding]| {
                    let mut ids: Vec<String> = f.iter().map(|f| f.finding_id.to_string()).collect();
                    ids.sort();
                    ids
                };
                let again: Vec<&Finding> = next_day
                    .iter()
                    .filter(|f| matches!(f.rule, Rule::SamlCertExpiring | Rule::SamlCertExpired))
                    .collect();
                assert_eq!(ids(&again), ids(&expiry), "{days} d: ids stable across daily runs");
            }
            _ => assert!(expiry.is_empty(), "{days} d: nothing yet: {expiry:#?}"),
        }
    }
}

#[tokio::test]
async fn crossing_a_threshold_gives_a_new_id() {
    let now = now();
    let cert = cert_expiring_in(31, now);
    let okta = okta_with_keys(vec![key("akm1active", true, now - Duration::days(365), &cert)]).await;
    let deploy = MotoAccount::new().await;
    add_provider(&deploy, "Okta", &okta_metadata(APP_KEY, &[&cert.base64])).await;
    let before = check(&okta, &deploy, &[], now).await;
    let after = check(&okta, &deploy, &[], now + Duration::days(2)).await;
    let okta_side = |f: &[Finding]| {
        f.iter()
            .find(|f| f.rule == Rule::SamlCertExpiring && f.subject.key_id.is_some())
            .cloned()
            .expect("Okta's expiry finding")
    };
    let (before, after) = (okta_side(&before), okta_side(&after));
    assert_eq!((before.severity, after.severity), (Severity::Low, Severity::Medium));
    assert_ne!(before.finding_id, after.finding_id);
}

#[tokio::test]
async fn drift_then_no_drift_once_the_rotation_is_mirrored_in_aws() {
    let now = now();
    let old = cert_expiring_in(-10, now);
    let new = cert_expiring_in(1000, now);
    // Okta rotated: the new key is active; AWS still trusts only the old certificate.
    let okta = okta_with_keys(vec![
        key("akm1old", false, now - Duration::days(1100), &old),
        key("akm1new", true, now - Duration::days(2), &new),
    ])
    .await;
    let deploy = MotoAccount::new().await;
    let arn = add_provider(&deploy, "Okta", &okta_metadata(APP_KEY, &[&old.base64])).await;

    let findings = check(&okta, &deploy, &[], now).await;
    let drift = of(&findings, Rule::SamlCertDrift);
    assert_eq!(drift.len(), 1, "{findings:#?}");
    assert_eq!(drift[0].severity, Severity::Critical);
    assert_eq!(drift[0].subject.saml_provider_arn.as_deref(), Some(arn.as_str()));
    assert_eq!(drift[0].subject.key_id.as_deref(), Some("akm1new"));
    assert_eq!(
        drift[0].subject.certificate_sha256.as_deref(),
        Some(new.sha256.as_str())
    );

    // The rotation mirrored: the provider's metadata lists the new certificate (the old one kept beside it).
    update_provider(&deploy, &arn, &okta_metadata(APP_KEY, &[&old.base64, &new.base64])).await;
    let findings = check(&okta, &deploy, &[], now).await;
    assert!(of(&findings, Rule::SamlCertDrift).is_empty(), "{findings:#?}");
    assert!(
        findings
            .iter()
            .all(|f| f.subject.certificate_sha256.as_deref() != Some(old.sha256.as_str())),
        "the old certificate kept beside the active one signs nothing: its expiry is not reported: {findings:#?}"
    );
}

#[tokio::test]
async fn another_identity_providers_saml_provider_never_drifts_but_its_expiry_is_checked() {
    let now = now();
    let active = cert_expiring_in(1000, now);
    let entra = cert_expiring_in(20, now);
    let okta = okta_with_keys(vec![key("akm1cur", true, now - Duration::days(30), &active)]).await;
    let deploy = MotoAccount::new().await;
    add_provider(&deploy, "Okta", &okta_metadata(APP_KEY, &[&active.base64])).await;
    // An expired certificate kept beside the current one (a rotation's leftover) is not judged.
    let leftover = cert_expiring_in(-30, now);
    let metadata = integration_tests::saml::other_idp_metadata(&entra.base64)
        .replace("</IDPSSODescriptor>", &format!("<KeyDescriptor use=\"signing\"><KeyInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><X509Data><X509Certificate>{}</X509Certificate></X509Data></KeyInfo></KeyDescriptor></IDPSSODescriptor>", leftover.base64));
    let arn = add_provider(&deploy, "EntraID", &metadata).await;

    let findings = check(&okta, &deploy, &[], now).await;
    assert!(
        of(&findings, Rule::SamlCertDrift).is_empty(),
        "another IdP's provider is not Okta's: {findings:#?}"
    );
    assert!(of(&findings, Rule::SamlCertRotationPending).is_empty());
    let expiring = of(&findings, Rule::SamlCertExpiring);
    assert_eq!(expiring.len(), 1, "{findings:#?}");
    assert_eq!(expiring[0].subject.saml_provider_arn.as_deref(), Some(arn.as_str()));
    assert_eq!(expiring[0].severity, Severity::Medium);
    assert!(of(&findings, Rule::SamlCertExpired).is_empty(), "{findings:#?}");
}

#[tokio::test]
async fn an_okta_app_that_cannot_be_read_is_a_finding_and_the_other_apps_are_still_checked() {
    let now = now();
    let expiring = cert_expiring_in(20, now);
    let okta = okta_with_keys(vec![key("akm1cur", true, now - Duration::days(30), &expiring)]).await;
    let deploy = MotoAccount::new().await;
    let directory = OktaClient::new(okta.client_config(api_token())).expect("Okta client");
    let providers = IamSamlProviders::new(deploy.sdk_config());
    let mut with_missing = config(&[]);
    with_missing
        .app_ids
        .push(OktaAppId::parse("0oa1missing000000009").expect("app id"));
    let report = run(
        &directory,
        &providers,
        &RecordingNotifier::default(),
        &with_missing,
        now,
    )
    .await
    .expect("the run goes on");
    let unreadable = of(&report.findings, Rule::SamlCertUnreadable);
    assert_eq!(unreadable.len(), 1, "{:#?}", report.findings);
    assert_eq!(unreadable[0].subject.app_id.as_deref(), Some("0oa1missing000000009"));
    assert_eq!(
        of(&report.findings, Rule::SamlCertExpiring).len(),
        1,
        "the readable app is still judged"
    );
    // A provider that may serve the unreadable app (it trusts none of the readable app's keys) is not paged as
    // drift from the readable one: that would be a guess.
    let other = cert_expiring_in(500, now);
    add_provider(
        &deploy,
        "OktaOtherApp",
        &okta_metadata("exk1otherapp", &[&other.base64]),
    )
    .await;
    let report = run(
        &directory,
        &providers,
        &RecordingNotifier::default(),
        &with_missing,
        now,
    )
    .await
    .expect("a run");
    assert!(
        of(&report.findings, Rule::SamlCertDrift).is_empty(),
        "{:#?}",
        report.findings
    );
}

#[tokio::test]
async fn an_active_key_without_a_certificate_is_said_not_skipped() {
    let now = now();
    let cert = cert_expiring_in(400, now);
    let mut active = key("akm1nox5c", true, now - Duration::days(30), &cert);
    active.x5c.clear();
    let okta = okta_with_keys(vec![active]).await;
    let deploy = MotoAccount::new().await;
    add_provider(&deploy, "Okta", &okta_metadata(APP_KEY, &[&cert.base64])).await;
    let findings = check(&okta, &deploy, &[], now).await;
    let unreadable = of(&findings, Rule::SamlCertUnreadable);
    assert_eq!(unreadable.len(), 1, "{findings:#?}");
    assert_eq!(unreadable[0].subject.key_id.as_deref(), Some("akm1nox5c"));
}

#[tokio::test]
async fn a_newer_okta_key_aws_does_not_trust_yet_is_a_pending_rotation() {
    let now = now();
    let current = cert_expiring_in(40, now);
    let next = cert_expiring_in(1100, now);
    let okta = okta_with_keys(vec![
        key("akm1current", true, now - Duration::days(325), &current),
        key("akm1next", false, now - Duration::days(1), &next),
    ])
    .await;
    let deploy = MotoAccount::new().await;
    let arn = add_provider(&deploy, "Okta", &okta_metadata(APP_KEY, &[&current.base64])).await;

    let findings = check(&okta, &deploy, &[], now).await;
    let pending = of(&findings, Rule::SamlCertRotationPending);
    assert_eq!(pending.len(), 1, "{findings:#?}");
    assert_eq!(pending[0].severity, Severity::Medium);
    assert_eq!(pending[0].subject.key_id.as_deref(), Some("akm1next"));
    assert_eq!(pending[0].subject.saml_provider_arn.as_deref(), Some(arn.as_str()));
    assert!(of(&findings, Rule::SamlCertDrift).is_empty());

    update_provider(&deploy, &arn, &okta_metadata(APP_KEY, &[&current.base64, &next.base64])).await;
    let findings = check(&okta, &deploy, &[], now).await;
    assert!(of(&findings, Rule::SamlCertRotationPending).is_empty(), "{findings:#?}");
}

#[tokio::test]
async fn identity_centers_own_providers_are_reported_apart_and_never_drift() {
    let now = now();
    let okta_cert = cert_expiring_in(1000, now);
    let idc_cert = cert_expiring_in(20, now);
    let okta = okta_with_keys(vec![key("akm1active", true, now - Duration::days(10), &okta_cert)]).await;
    let deploy = MotoAccount::new().await;
    let idc = add_provider(
        &deploy,
        "AWSSSO_1a2b3c4d5e6f7a8b_DO_NOT_DELETE",
        &identity_center_metadata(&idc_cert.base64),
    )
    .await;

    let findings = check(&okta, &deploy, &[], now).await;
    assert!(of(&findings, Rule::SamlCertDrift).is_empty(), "{findings:#?}");
    let idc_findings: Vec<_> = findings
        .iter()
        .filter(|f| f.subject.saml_provider_arn.as_deref() == Some(idc.as_str()))
        .collect();
    assert_eq!(idc_findings.len(), 1, "{findings:#?}");
    assert_eq!(
        (idc_findings[0].rule, idc_findings[0].severity),
        (Rule::SamlCertExpiring, Severity::Info)
    );
}

#[tokio::test]
async fn a_member_accounts_provider_is_read_through_the_role_and_judged() {
    let now = now();
    let old = cert_expiring_in(200, now);
    let new = cert_expiring_in(1000, now);
    let okta = okta_with_keys(vec![
        key("akm1old", false, now - Duration::days(200), &old),
        key("akm1new", true, now - Duration::days(1), &new),
    ])
    .await;
    let deploy = MotoAccount::new().await;
    add_provider(&deploy, "Okta", &okta_metadata(APP_KEY, &[&new.base64])).await;
    let member = MotoAccount::new().await;
    let stale = add_provider(&member, "Okta", &okta_metadata(APP_KEY, &[&old.base64])).await;

    let findings = check(&okta, &deploy, &[member.id()], now).await;
    let drift = of(&findings, Rule::SamlCertDrift);
    assert_eq!(drift.len(), 1, "only the member account drifted: {findings:#?}");
    assert_eq!(drift[0].subject.account_id.as_deref(), Some(member.id().as_str()));
    assert_eq!(drift[0].subject.saml_provider_arn.as_deref(), Some(stale.as_str()));
}

#[tokio::test]
async fn malformed_certificates_and_metadata_are_findings_not_panics() {
    let now = now();
    let good = cert_expiring_in(1000, now);
    let mut broken = key("akm1broken", false, now - Duration::days(1), &good);
    broken.x5c = vec!["MIIDfakeCertificateForTestsOnly".into()];
    let okta = okta_with_keys(vec![key("akm1active", true, now - Duration::days(10), &good), broken]).await;
    let deploy = MotoAccount::new().await;
    // IAM takes metadata of 1,000 characters or more: both broken documents are that long.
    let not_xml = format!("<html><body>{}</body>", "maintenance page ".repeat(80));
    let bad_cert = okta_metadata(APP_KEY, &[&"QUJD".repeat(300)]);
    let not_xml_arn = add_provider(&deploy, "Broken", &not_xml).await;
    let bad_cert_arn = add_provider(&deploy, "BadCert", &bad_cert).await;

    let findings = check(&okta, &deploy, &[], now).await;
    let unreadable = of(&findings, Rule::SamlCertUnreadable);
    let about = |predicate: &dyn Fn(&Finding) -> bool| unreadable.iter().filter(|f| predicate(f)).count();
    assert_eq!(
        about(&|f| f.subject.key_id.as_deref() == Some("akm1broken")),
        1,
        "{findings:#?}"
    );
    assert_eq!(
        about(&|f| f.subject.saml_provider_arn.as_deref() == Some(not_xml_arn.as_str())),
        1
    );
    assert_eq!(
        about(&|f| f.subject.saml_provider_arn.as_deref() == Some(bad_cert_arn.as_str())),
        1
    );
    // Nothing readable to compare: no drift claimed for the broken providers.
    assert!(of(&findings, Rule::SamlCertDrift).is_empty(), "{findings:#?}");
}

/// Providers of one account that cannot be read (the role missing there): the run goes on, the account is a
/// finding.
struct OneAccountDenied {
    inner: IamSamlProviders,
    denied: AccountId,
}

impl SamlProviders for OneAccountDenied {
    async fn providers(&self, account: Option<&AccountId>) -> shared::Result<Vec<SamlProvider>> {
        if account == Some(&self.denied) {
            return Err(shared::Error::config(
                "CERT_MONITOR_MEMBER_ROLE_NAME",
                "role not assumable here",
            ));
        }
        self.inner.providers(account).await
    }

    async fn organization_accounts(&self) -> shared::Result<Vec<AccountId>> {
        self.inner.organization_accounts().await
    }
}

#[tokio::test]
async fn an_unreadable_member_account_is_a_finding_and_the_run_goes_on() {
    let now = now();
    let cert = cert_expiring_in(5, now);
    let okta = okta_with_keys(vec![key("akm1active", true, now - Duration::days(360), &cert)]).await;
    let deploy = MotoAccount::new().await;
    add_provider(&deploy, "Okta", &okta_metadata(APP_KEY, &[&cert.base64])).await;
    let denied = AccountId::parse("999988887777").expect("account id");
    let providers = OneAccountDenied {
        inner: IamSamlProviders::new(deploy.sdk_config()).with_member_role(MEMBER_ROLE, "aws"),
        denied: denied.clone(),
    };
    let directory = OktaClient::new(okta.client_config(api_token())).expect("Okta client");
    let notifier = RecordingNotifier::default();
    let report = run(&directory, &providers, &notifier, &config(&[&denied]), now)
        .await
        .expect("the run goes on");
    let unreadable = of(&report.findings, Rule::SamlCertUnreadable);
    assert_eq!(unreadable.len(), 1);
    assert_eq!(unreadable[0].subject.account_id.as_deref(), Some("999988887777"));
    assert_eq!(
        of(&report.findings, Rule::SamlCertExpiring).len(),
        2,
        "the readable side is still judged"
    );
}

#[tokio::test]
async fn every_organization_account_is_read_when_asked() {
    let now = now();
    let old = cert_expiring_in(200, now);
    let new = cert_expiring_in(1000, now);
    let okta = okta_with_keys(vec![
        key("akm1old", false, now - Duration::days(200), &old),
        key("akm1new", true, now - Duration::days(1), &new),
    ])
    .await;
    let deploy = MotoAccount::new().await;
    let org = integration_tests::seed::OrgSeed::new()
        .account("production")
        .account("sandbox")
        .seed(&deploy)
        .await;
    let production = MotoAccount::enter(org.account("production").clone()).await;
    let stale = add_provider(&production, "Okta", &okta_metadata(APP_KEY, &[&old.base64])).await;
    add_provider(&deploy, "Okta", &okta_metadata(APP_KEY, &[&new.base64])).await;

    let directory = OktaClient::new(okta.client_config(api_token())).expect("Okta client");
    let providers = IamSamlProviders::new(deploy.sdk_config()).with_member_role(MEMBER_ROLE, "aws");
    let listed = providers.organization_accounts().await.expect("ListAccounts");
    assert!(listed.contains(org.account("production")) && listed.contains(org.account("sandbox")));
    assert!(
        !listed.contains(deploy.id()),
        "the deploy account is read with its own credentials"
    );

    let notifier = RecordingNotifier::default();
    let mut config = config(&[]);
    config.member_accounts = MemberAccounts::Organization;
    // The app found in Okta's list (AWS Account Federation, active, SAML 2.0), not named.
    config.app_ids.clear();
    config.discover_apps = true;
    let report = run(&directory, &providers, &notifier, &config, now)
        .await
        .expect("a run");
    let drift = of(&report.findings, Rule::SamlCertDrift);
    assert_eq!(drift.len(), 1, "{:#?}", report.findings);
    assert_eq!(drift[0].subject.saml_provider_arn.as_deref(), Some(stale.as_str()));
    assert!(report.inventory.unread_accounts.is_empty());
    assert_eq!(report.inventory.okta.len(), 1, "the app was discovered");
}

/// The real `cert-monitor` binary, configured by environment like the deployed function, run by the scheduled
/// event: the drift it finds reaches the findings topic (read back through a subscribed queue).
#[tokio::test]
async fn the_built_binary_runs_on_the_scheduled_event_and_publishes_to_sns() {
    use integration_tests::lambda_runtime::{LambdaRuntime, Outcome, spawn_function};
    use integration_tests::queues::drain;

    let now = now();
    let old = cert_expiring_in(200, now);
    let new = cert_expiring_in(1000, now);
    let okta = okta_with_keys(vec![
        key("akm1old", false, now - Duration::days(200), &old),
        key("akm1new", true, now - Duration::days(1), &new),
    ])
    .await;
    let deploy = MotoAccount::new().await;
    add_provider(&deploy, "Okta", &okta_metadata(APP_KEY, &[&old.base64])).await;
    let (topic_arn, queue_url) =
        integration_tests::queues::subscribed_topic(&deploy, "deprov-audit-findings", "findings-reader", true).await;

    let credentials = deploy.credentials().await;
    let runtime = LambdaRuntime::start().await;
    let function = spawn_function(
        "cert-monitor",
        &runtime,
        &[
            ("OKTA_ORG_URL", okta.url().to_string()),
            ("OKTA_APP_ID", APP.into()),
            ("OKTA_API_TOKEN", integration_tests::okta_fake::API_TOKEN.into()),
            ("FINDINGS_TOPIC_ARN", topic_arn.clone()),
            ("AWS_ENDPOINT_URL", integration_tests::moto::endpoint().into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", credentials.access_key_id().into()),
            ("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key().into()),
            (
                "AWS_SESSION_TOKEN",
                credentials.session_token().unwrap_or_default().into(),
            ),
        ],
    );
    let event = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/cert-monitor/scheduled.json"),
    )
    .expect("events/cert-monitor/scheduled.json");
    let outcome = runtime.invoke(&event, std::time::Duration::from_secs(60)).await;
    let Some(Outcome::Response(answer)) = outcome else {
        panic!("expected a response, got {outcome:?}")
    };
    assert_eq!(answer["findings"], 1, "the drift alone: {answer}");
    let published: Vec<serde_json::Value> = drain(&deploy, &queue_url)
        .await
        .iter()
        .map(|m| serde_json::from_str(m.body().expect("a body")).expect("a finding"))
        .collect();
    assert_eq!(published.len(), 1, "{published:#?}");
    assert_eq!(published[0]["rule"], "saml-cert-drift");
    assert_eq!(published[0]["severity"], "critical");

    // A failure path: Okta's answers cut short (a key list that is not JSON), every retry included.
    okta.fail_next("/api/v1/apps/", 50, integration_tests::okta_fake::Fault::Truncated);
    let failed = runtime.invoke(&event, std::time::Duration::from_secs(60)).await;
    assert!(failed.is_some(), "the run ends, one way or the other");
    // The process's output — tracing and EMF lines — carries no certificate, metadata, key or token.
    let output = function.finish().await;
    let lines = integration_tests::log_check::LogCheck::new()
        .forbid("the Okta API token", integration_tests::okta_fake::API_TOKEN)
        .forbid("a certificate's body", &old.base64[old.base64.len() / 2..][..48])
        .forbid("a certificate's body", &new.base64[new.base64.len() / 2..][..48])
        .assert_clean("cert-monitor", &output);
    assert!(lines > 0, "the check read the output: {failed:?}");
    eprintln!("cert-monitor output ({lines} lines), second run {failed:?}:\n{output}");
}
