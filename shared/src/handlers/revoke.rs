//! `deprov-audit revoke`: ends the role sessions a deprovisioned person still holds, the way AWS prescribes — an
//! explicit Deny on their Identity Center user ids in the inline policy of each permission set they held, then the
//! set re-provisioned to its accounts (`rules::session_revocation` decides the policy; this module only reads,
//! plans and, when a person asks, writes).
//!
//! Never automatic: no function is given a `PermissionSetEditor`. A Deny on the wrong user id locks a colleague
//! out of every account the set reaches, so a person reads the plan (the dry run, the default) and applies it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::domain::identity::{LinkCandidate, LinkKey, LinkedAccount, PersonLinks, PersonRecord, link_candidates};
use crate::domain::{
    AccountId, IdcUser, IdcUserId, IdcUserStatus, LinkPolicy, OktaAppId, OktaUser, PermissionSetArn, Principal,
    RememberedLink,
};
use crate::error::Result;
use crate::ports::{Directory, IdentityCenter, PermissionSetEditor, ProvisionStatus, ProvisionWait};
use crate::rules::session_revocation::{DENY_SID, deny_statement, with_denial};

/// What to revoke, and how to link the person (as the checker and `verify` link).
#[derive(Debug, Clone)]
pub struct RevokeRequest<'a> {
    pub person: &'a OktaUser,
    pub app_id: &'a OktaAppId,
    pub links: &'a LinkPolicy,
    /// Links the checker remembered for the person (its ledger), for when Okta no longer has the app user.
    pub remembered: &'a [RememberedLink],
    /// Permission sets named by the person running it (`--permission-set`): once SCIM has removed the
    /// assignments, the sets the person held are no longer listed.
    pub named_sets: &'a [PermissionSetArn],
    /// Deny accounts linked only by login or email too (a guess: another person's stale account can match).
    pub include_weak_links: bool,
}

/// Why a permission set is in the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetSource {
    /// Held now by a denied user (directly or through a group), on these accounts.
    Held(Vec<AccountId>),
    /// Named with `--permission-set`.
    Named,
}

/// What the plan does to one permission set.
#[derive(Debug, Clone, PartialEq)]
pub enum SetChange {
    /// The Deny is added (or widened to these users): the statement, and the whole new inline policy.
    Add { statement: Value, policy: Value },
    /// The inline policy already denies these users; accounts not yet re-provisioned with it are.
    AlreadyDenied { stale: Vec<AccountId> },
    /// Left alone, and why (the inline policy cannot be read as a policy, or could not be read at all).
    LeftAlone(String),
    /// No permission set of the instance has this ARN.
    Unknown,
}

impl SetChange {
    /// `apply` writes something for it (a policy, a re-provisioning).
    pub fn writes(&self) -> bool {
        match self {
            Self::Add { .. } => true,
            Self::AlreadyDenied { stale } => !stale.is_empty(),
            Self::LeftAlone(_) | Self::Unknown => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SetPlan {
    pub arn: PermissionSetArn,
    pub name: Option<String>,
    pub source: SetSource,
    /// The accounts the set is provisioned to: where it is re-provisioned.
    pub accounts: Vec<AccountId>,
    pub change: SetChange,
}

/// The dry run: who is denied, and what happens to each permission set.
#[derive(Debug, Clone, PartialEq)]
pub struct RevokePlan {
    pub person: OktaUser,
    /// The Identity Center users the Deny names.
    pub denied: Vec<LinkedAccount<IdcUser>>,
    /// Linked by login or email only, and not denied (without `include_weak_links`).
    pub not_denied: Vec<LinkedAccount<IdcUser>>,
    /// Identity Center user ids a strong link names (Okta's record, the checker's memory) that the identity store
    /// no longer has — deleted, as SCIM does on some deprovisions. Their role sessions outlive the user: the Deny
    /// names these ids too (a Deny on an id nobody holds blocks nobody).
    pub deleted: Vec<LinkCandidate>,
    pub sets: Vec<SetPlan>,
}

impl RevokePlan {
    /// The ids the Deny names: the linked users, then the deleted ones.
    pub fn user_ids(&self) -> Vec<IdcUserId> {
        denied_ids(&self.denied, &self.deleted)
    }

    /// Something `apply` would write.
    pub fn has_changes(&self) -> bool {
        self.sets.iter().any(|s| s.change.writes())
    }

    /// Some set cannot take the Deny (or does not exist): the revoke is not complete.
    pub fn has_problems(&self) -> bool {
        self.user_ids().is_empty()
            || self
                .sets
                .iter()
                .any(|s| matches!(s.change, SetChange::LeftAlone(_) | SetChange::Unknown))
    }
}

fn denied_ids(denied: &[LinkedAccount<IdcUser>], deleted: &[LinkCandidate]) -> Vec<IdcUserId> {
    let mut ids: Vec<IdcUserId> = denied.iter().map(|a| a.user.id.clone()).collect();
    for candidate in deleted {
        if let LinkKey::UserId(id) = &candidate.key
            && !ids.contains(id)
        {
            ids.push(id.clone());
        }
    }
    ids
}

/// Links the person (Okta's record first: `link_candidates`, the one linking rule), lists the permission sets their
/// Identity Center users hold plus the named ones, and works out each set's change. Reads only.
pub async fn plan(
    directory: &impl Directory,
    identity_center: &impl IdentityCenter,
    editor: &impl PermissionSetEditor,
    request: &RevokeRequest<'_>,
) -> Result<RevokePlan> {
    let person = request.person;
    let app_user = directory.app_user(request.app_id, &person.id).await?;
    let mut logins = vec![person.login.to_string()];
    logins.extend(person.email.clone());
    let record = PersonRecord {
        okta_user_id: &person.id,
        logins: &logins,
        app_user: app_user.as_ref(),
        remembered: request.remembered,
    };
    let mut answers = Vec::new();
    for candidate in link_candidates(&record, request.links) {
        let found = identity_center.find_user(&candidate.key).await?;
        answers.push((candidate, found));
    }
    let links = PersonLinks::resolve(answers, |u: &IdcUser| &u.id);
    let mut deleted: Vec<LinkCandidate> = Vec::new();
    for candidate in links.dangling {
        if matches!(candidate.key, LinkKey::UserId(_)) && !deleted.iter().any(|known| known.key == candidate.key) {
            deleted.push(candidate);
        }
    }
    let (denied, not_denied): (Vec<_>, Vec<_>) = links
        .accounts
        .into_iter()
        .partition(|a| request.include_weak_links || !a.basis.is_weak());

    // The sets the denied users hold now, and where.
    let mut held: BTreeMap<PermissionSetArn, Vec<AccountId>> = BTreeMap::new();
    for account in &denied {
        let mut principals = vec![Principal::User(account.user.id.clone())];
        principals.extend(
            identity_center
                .groups_of(&account.user)
                .await?
                .into_iter()
                .map(Principal::Group),
        );
        for assignment in identity_center.assignments_for(&principals).await? {
            let accounts = held.entry(assignment.permission_set_arn).or_default();
            if !accounts.contains(&assignment.account_id) {
                accounts.push(assignment.account_id);
            }
        }
    }
    let mut wanted: Vec<(PermissionSetArn, SetSource)> = held
        .into_iter()
        .map(|(arn, accounts)| (arn, SetSource::Held(accounts)))
        .collect();
    for arn in request.named_sets {
        if !wanted.iter().any(|(held, _)| held == arn) {
            wanted.push((arn.clone(), SetSource::Named));
        }
    }

    let mut sets = Vec::with_capacity(wanted.len());
    let user_ids = denied_ids(&denied, &deleted);
    if !user_ids.is_empty() && !wanted.is_empty() {
        let known = identity_center.permission_sets().await?;
        for (arn, source) in wanted {
            let Some(set) = known.iter().find(|s| s.arn == arn) else {
                sets.push(SetPlan {
                    arn,
                    name: None,
                    source,
                    accounts: Vec::new(),
                    change: SetChange::Unknown,
                });
                continue;
            };
            let (accounts, change) = match set_change(editor, &arn, &user_ids).await {
                Ok(found) => found,
                Err(e) => (Vec::new(), SetChange::LeftAlone(e.causes().to_string())),
            };
            sets.push(SetPlan {
                name: Some(set.name.clone()),
                arn,
                source,
                accounts,
                change,
            });
        }
    }
    Ok(RevokePlan {
        person: person.clone(),
        denied,
        not_denied,
        deleted,
        sets,
    })
}

/// One set's provisioned accounts and the change its current inline policy calls for.
async fn set_change(
    editor: &impl PermissionSetEditor,
    arn: &PermissionSetArn,
    user_ids: &[IdcUserId],
) -> Result<(Vec<AccountId>, SetChange)> {
    let provisioned = editor.provisioned(arn).await?;
    let current = editor.inline_policy(arn).await?;
    let change = match with_denial(current.as_deref(), user_ids) {
        Ok(Some(policy)) => SetChange::Add {
            statement: deny_statement_in(&policy).unwrap_or_else(|| deny_statement(user_ids)),
            policy,
        },
        Ok(None) => SetChange::AlreadyDenied {
            stale: provisioned.stale,
        },
        Err(e) => SetChange::LeftAlone(format!("{e}; left as it is, fix it by hand")),
    };
    Ok((provisioned.accounts, change))
}

/// The auditor's statement as it stands in a policy (it may name users denied by an earlier run too).
fn deny_statement_in(policy: &Value) -> Option<Value> {
    policy
        .get("Statement")?
        .as_array()?
        .iter()
        .find(|s| s.get("Sid").and_then(Value::as_str) == Some(DENY_SID))
        .cloned()
}

/// What `apply` did to one permission set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The Deny was put; the re-provisioning's outcome (`None`: provisioned to no account).
    Changed(Option<ProvisionStatus>),
    /// The policy already had the Deny, but accounts were stale: re-provisioned.
    Reprovisioned(ProvisionStatus),
    /// Already denied and provisioned everywhere: nothing written.
    Unchanged,
    /// Not touched (the plan left it alone, or it is unknown), and why.
    Skipped(String),
    /// A call failed: the error, one line.
    Failed(String),
}

impl Applied {
    /// The set is denied and provisioned everywhere.
    pub fn is_done(&self) -> bool {
        matches!(
            self,
            Self::Changed(None | Some(ProvisionStatus::Succeeded))
                | Self::Reprovisioned(ProvisionStatus::Succeeded)
                | Self::Unchanged
        )
    }
}

/// Applies the plan: each set's policy is read again (the plan may be minutes old) and merged with the Deny, put
/// when it changes, and the set re-provisioned to its accounts, waiting at most `wait` each. One set failing does
/// not stop the others. Idempotent: a second run writes nothing and answers `Unchanged`.
pub async fn apply(
    editor: &impl PermissionSetEditor,
    plan: &RevokePlan,
    wait: ProvisionWait,
) -> Vec<(PermissionSetArn, Applied)> {
    let user_ids = plan.user_ids();
    let mut done = Vec::with_capacity(plan.sets.len());
    for set in &plan.sets {
        let outcome = match &set.change {
            SetChange::Unknown => Applied::Skipped("no permission set of the instance has this ARN".into()),
            SetChange::LeftAlone(why) => Applied::Skipped(why.clone()),
            SetChange::Add { .. } | SetChange::AlreadyDenied { .. } if user_ids.is_empty() => {
                Applied::Skipped("no Identity Center user to deny".into())
            }
            SetChange::Add { .. } | SetChange::AlreadyDenied { .. } => apply_one(editor, &set.arn, &user_ids, wait)
                .await
                .unwrap_or_else(|e| Applied::Failed(e.causes().to_string())),
        };
        tracing::info!(permission_set = %set.arn, outcome = ?outcome, "revoke applied");
        done.push((set.arn.clone(), outcome));
    }
    done
}

async fn apply_one(
    editor: &impl PermissionSetEditor,
    arn: &PermissionSetArn,
    user_ids: &[IdcUserId],
    wait: ProvisionWait,
) -> Result<Applied> {
    let (accounts, change) = set_change(editor, arn, user_ids).await?;
    match change {
        SetChange::Add { policy, .. } => {
            editor.put_inline_policy(arn, &policy.to_string()).await?;
            if accounts.is_empty() {
                return Ok(Applied::Changed(None));
            }
            Ok(Applied::Changed(Some(editor.provision(arn, wait).await?)))
        }
        SetChange::AlreadyDenied { stale } if stale.is_empty() => Ok(Applied::Unchanged),
        SetChange::AlreadyDenied { .. } => Ok(Applied::Reprovisioned(editor.provision(arn, wait).await?)),
        SetChange::LeftAlone(why) => Ok(Applied::Skipped(why)),
        SetChange::Unknown => Ok(Applied::Skipped(
            "no permission set of the instance has this ARN".into(),
        )),
    }
}

fn set_label(set: &SetPlan) -> String {
    match &set.name {
        Some(name) => format!("{name} ({})", set.arn),
        None => set.arn.to_string(),
    }
}

fn accounts_list(accounts: &[AccountId]) -> String {
    if accounts.is_empty() {
        return "none".into();
    }
    accounts.iter().map(AccountId::as_str).collect::<Vec<_>>().join(", ")
}

fn status_label(status: IdcUserStatus) -> &'static str {
    match status {
        IdcUserStatus::Enabled => "ENABLED",
        IdcUserStatus::Disabled => "DISABLED",
        IdcUserStatus::Unknown => "status not reported",
    }
}

/// The plan, for a person to read before `--apply`.
pub fn render_plan(plan: &RevokePlan, applying: bool) -> String {
    let mut out = String::new();
    let person = &plan.person;
    let _ = writeln!(
        out,
        "revoke {} (Okta {}, {}){}",
        person.login,
        person.id,
        person.effective_status().as_str(),
        if applying { "" } else { ": DRY RUN, nothing is changed" }
    );
    if person.effective_status() == crate::domain::OktaUserStatus::Active {
        let _ = writeln!(
            out,
            "  warning: Okta has this person ACTIVE; the Deny blocks them in AWS until it is removed by hand"
        );
    }
    if plan.denied.is_empty() && plan.deleted.is_empty() {
        let _ = writeln!(out, "Identity Center users denied: none linked to this person");
    } else {
        let _ = writeln!(out, "Identity Center users denied:");
        for a in &plan.denied {
            let _ = writeln!(
                out,
                "  {} {} ({}), linked by {}{}",
                a.user.id,
                a.user.user_name,
                status_label(a.user.status),
                a.basis.describe(),
                if a.remembered {
                    ", remembered by the checker"
                } else {
                    ""
                }
            );
        }
    }
    for candidate in &plan.deleted {
        if let LinkKey::UserId(id) = &candidate.key {
            let _ = writeln!(
                out,
                "  {id} (deleted from Identity Center: its role sessions live on until they expire), linked by {}{}",
                candidate.basis.describe(),
                if candidate.remembered {
                    ", remembered by the checker"
                } else {
                    ""
                }
            );
        }
    }
    for a in &plan.not_denied {
        let _ = writeln!(
            out,
            "  not denied: {} {}, linked only by {} (add --include-weak-links if it is theirs)",
            a.user.id,
            a.user.user_name,
            a.basis.describe()
        );
    }
    if plan.sets.is_empty() {
        let _ = writeln!(out, "Permission sets: none held now.");
    } else {
        let _ = writeln!(out, "Permission sets:");
    }
    for set in &plan.sets {
        let _ = writeln!(out, "  {}", set_label(set));
        match &set.source {
            SetSource::Held(on) => {
                let _ = writeln!(out, "    held on: {}", accounts_list(on));
            }
            SetSource::Named => {
                let _ = writeln!(out, "    named with --permission-set");
            }
        }
        match &set.change {
            SetChange::Add { statement, .. } => {
                let _ = writeln!(out, "    change: add to the inline policy (other statements kept):");
                let text = serde_json::to_string_pretty(statement).unwrap_or_else(|_| statement.to_string());
                for line in text.lines() {
                    let _ = writeln!(out, "      {line}");
                }
                let _ = writeln!(out, "    re-provisioned to: {}", accounts_list(&set.accounts));
            }
            SetChange::AlreadyDenied { stale } if stale.is_empty() => {
                let _ = writeln!(out, "    no change: the inline policy already denies these users");
            }
            SetChange::AlreadyDenied { stale } => {
                let _ = writeln!(
                    out,
                    "    the inline policy already denies these users; re-provisioned to: {}",
                    accounts_list(stale)
                );
            }
            SetChange::LeftAlone(why) => {
                let _ = writeln!(out, "    left alone: {why}");
            }
            SetChange::Unknown => {
                let _ = writeln!(out, "    left alone: no permission set of the instance has this ARN");
            }
        }
    }
    let count = |f: fn(&SetChange) -> bool| plan.sets.iter().filter(|s| f(&s.change)).count();
    let _ = writeln!(
        out,
        "Plan: {} permission set(s) to change, {} already denied, {} left alone; {} Identity Center user(s) denied",
        plan.sets.iter().filter(|s| s.change.writes()).count(),
        count(|c| matches!(c, SetChange::AlreadyDenied { stale } if stale.is_empty())),
        count(|c| matches!(c, SetChange::LeftAlone(_) | SetChange::Unknown)),
        plan.user_ids().len()
    );
    let _ = writeln!(
        out,
        "Note: once SCIM has removed the person's assignments, the sets they held are no longer listed; name \
         those with --permission-set ARN."
    );
    out
}

/// One line per set after `--apply`, and the count.
pub fn render_applied(applied: &[(PermissionSetArn, Applied)]) -> String {
    let mut out = String::new();
    for (arn, outcome) in applied {
        let line = match outcome {
            Applied::Changed(None) => "Deny added; provisioned to no account".to_owned(),
            Applied::Changed(Some(ProvisionStatus::Succeeded)) => "Deny added; re-provisioned".to_owned(),
            Applied::Reprovisioned(ProvisionStatus::Succeeded) => {
                "already denied; re-provisioned to the accounts that were stale".to_owned()
            }
            Applied::Changed(Some(status)) | Applied::Reprovisioned(status) => match status {
                ProvisionStatus::Failed { reason } => format!(
                    "policy in place, re-provisioning FAILED: {}",
                    reason.as_deref().unwrap_or("no reason given")
                ),
                ProvisionStatus::InProgress { request_id } => format!(
                    "policy in place, re-provisioning still in progress (request {request_id}); run again to check"
                ),
                ProvisionStatus::Succeeded => "re-provisioned".to_owned(),
            },
            Applied::Unchanged => "unchanged: already denied and provisioned".to_owned(),
            Applied::Skipped(why) => format!("left alone: {why}"),
            Applied::Failed(why) => format!("FAILED: {why}"),
        };
        let _ = writeln!(out, "  {arn}: {line}");
    }
    let done = applied.iter().filter(|(_, a)| a.is_done()).count();
    let changed = applied
        .iter()
        .filter(|(_, a)| matches!(a, Applied::Changed(_) | Applied::Reprovisioned(_)))
        .count();
    let _ = writeln!(
        out,
        "applied: {changed} permission set(s) changed, {} done of {}{}",
        done,
        applied.len(),
        if changed == 0 && done == applied.len() {
            " (nothing needed changing)"
        } else {
            ""
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        AccountAssignment, AppUser, AppUserStatus, IdcGroup, IdcGroupId, IdcSide, OktaLogin, OktaSide, OktaUserId,
        OktaUserStatus, PermissionSet,
    };
    use crate::in_memory::{FakeDirectory, FakeIdentityCenter, FakePermissionSetEditor};

    const BOB_IDC: &str = "906756d7e2-1c2b3d4e-0000-4000-8000-0000000000b0";
    const DEV: &str = "arn:aws:sso:::permissionSet/ssoins-0000000000000001/ps-00000000000000d1";
    const OPS: &str = "arn:aws:sso:::permissionSet/ssoins-0000000000000001/ps-00000000000000e1";
    const PROD: &str = "111111111111";
    const STAGING: &str = "222222222222";

    fn arn(text: &str) -> PermissionSetArn {
        PermissionSetArn::parse(text).expect("arn")
    }

    fn account(text: &str) -> AccountId {
        AccountId::parse(text).expect("account")
    }

    fn bob() -> OktaUser {
        OktaUser {
            id: OktaUserId::parse("00u1bob00000000002").expect("id"),
            login: OktaLogin::parse("bob@acme.example").expect("login"),
            email: Some("bob@acme.example".into()),
            status: OktaUserStatus::Deprovisioned,
            transitioning_to_status: None,
            status_changed: None,
            last_login: None,
        }
    }

    fn world(external_id: Option<&str>) -> (FakeDirectory, FakeIdentityCenter) {
        let side: OktaSide = serde_json::from_value(serde_json::json!({
            "org_url": "https://acme.okta.com",
            "users": [], "groups": [],
            "app": { "id": "0oa1awsidc00000001", "label": "AWS IAM Identity Center" }
        }))
        .expect("an Okta side");
        let mut okta = side;
        okta.users.push(bob());
        okta.app.app_users.push(AppUser {
            user_id: bob().id,
            external_id: external_id.map(str::to_owned),
            user_name: None,
            status: AppUserStatus::Provisioned,
            sync_state: None,
            last_sync: None,
        });
        let mut idc: IdcSide = serde_json::from_value(serde_json::json!({
            "instance": { "instance_arn": "arn:aws:sso:::instance/ssoins-0000000000000001",
                          "identity_store_id": "d-0000000001" },
            "users": [], "groups": [], "permission_sets": [], "assignments": [], "accounts": []
        }))
        .expect("an IdC side");
        idc.users.push(IdcUser {
            id: IdcUserId::parse(BOB_IDC).expect("id"),
            user_name: "bob@acme.example".into(),
            display_name: None,
            emails: vec!["bob@acme.example".into()],
            external_ids: vec![],
            status: IdcUserStatus::Disabled,
        });
        let devs = IdcGroupId::parse("906756d7e2-00000000-0000-4000-8000-0000000000d0").expect("group");
        idc.groups.push(IdcGroup {
            id: devs.clone(),
            display_name: "aws-production-developers".into(),
            members: vec![IdcUserId::parse(BOB_IDC).expect("id")],
        });
        for (set, name) in [(DEV, "Developer"), (OPS, "Operations")] {
            idc.permission_sets.push(PermissionSet {
                arn: arn(set),
                name: name.into(),
                session_duration: Some("PT8H".into()),
            });
        }
        idc.assignments.push(AccountAssignment {
            account_id: account(PROD),
            permission_set_arn: arn(DEV),
            principal: Principal::Group(devs),
        });
        (FakeDirectory { okta, log: vec![] }, FakeIdentityCenter::new(idc))
    }

    fn request<'a>(person: &'a OktaUser, named: &'a [PermissionSetArn], app: &'a OktaAppId) -> RevokeRequest<'a> {
        static LINKS: std::sync::OnceLock<LinkPolicy> = std::sync::OnceLock::new();
        RevokeRequest {
            person,
            app_id: app,
            links: LINKS.get_or_init(LinkPolicy::default),
            remembered: &[],
            named_sets: named,
            include_weak_links: false,
        }
    }

    #[tokio::test]
    async fn plans_the_held_set_and_the_named_one_then_applies_once() {
        let (directory, idc) = world(Some(BOB_IDC));
        let editor = FakePermissionSetEditor::default()
            .with_set(arn(DEV), None, &[account(PROD), account(STAGING)])
            .with_set(arn(OPS), Some(r#"{"Version":"2012-10-17","Statement":[]}"#), &[]);
        let person = bob();
        let app = OktaAppId::parse("0oa1awsidc00000001").expect("app");
        let named = [arn(OPS)];
        let plan = plan(&directory, &idc, &editor, &request(&person, &named, &app))
            .await
            .expect("a plan");
        assert_eq!(plan.user_ids(), [IdcUserId::parse(BOB_IDC).expect("id")]);
        assert_eq!(plan.sets.len(), 2);
        assert_eq!(plan.sets[0].source, SetSource::Held(vec![account(PROD)]));
        assert_eq!(plan.sets[0].accounts, [account(PROD), account(STAGING)]);
        assert!(matches!(plan.sets[0].change, SetChange::Add { .. }));
        assert_eq!(plan.sets[1].source, SetSource::Named);
        assert_eq!(editor.writes(), (0, 0), "planning writes nothing");
        let text = render_plan(&plan, false);
        assert!(text.contains("DRY RUN"), "{text}");
        assert!(text.contains(DENY_SID), "{text}");
        assert!(
            text.contains(&format!("re-provisioned to: {PROD}, {STAGING}")),
            "{text}"
        );

        let first = apply(&editor, &plan, ProvisionWait::default()).await;
        assert_eq!(
            first.iter().map(|(_, a)| a.clone()).collect::<Vec<_>>(),
            [
                Applied::Changed(Some(ProvisionStatus::Succeeded)),
                Applied::Changed(None)
            ]
        );
        assert_eq!(editor.writes(), (2, 1));
        let second = apply(&editor, &plan, ProvisionWait::default()).await;
        assert!(second.iter().all(|(_, a)| *a == Applied::Unchanged), "{second:?}");
        assert_eq!(editor.writes(), (2, 1), "a second apply writes nothing");
        assert!(render_applied(&second).contains("nothing needed changing"));
    }

    #[tokio::test]
    async fn a_policy_put_but_not_provisioned_is_provisioned_on_the_next_run() {
        let (directory, idc) = world(Some(BOB_IDC));
        let denied = with_denial(None, &[IdcUserId::parse(BOB_IDC).expect("id")])
            .expect("valid")
            .expect("a change")
            .to_string();
        let editor = FakePermissionSetEditor::default().with_set(arn(DEV), None, &[account(PROD)]);
        // An earlier run put the policy and stopped before provisioning.
        crate::ports::PermissionSetEditor::put_inline_policy(&editor, &arn(DEV), &denied)
            .await
            .expect("put");
        let person = bob();
        let app = OktaAppId::parse("0oa1awsidc00000001").expect("app");
        let plan = plan(&directory, &idc, &editor, &request(&person, &[], &app))
            .await
            .expect("a plan");
        assert_eq!(
            plan.sets[0].change,
            SetChange::AlreadyDenied {
                stale: vec![account(PROD)]
            }
        );
        let done = apply(&editor, &plan, ProvisionWait::default()).await;
        assert_eq!(done[0].1, Applied::Reprovisioned(ProvisionStatus::Succeeded));
        assert_eq!(editor.writes(), (1, 1));
    }

    #[tokio::test]
    async fn a_user_scim_deleted_is_still_denied_by_the_id_okta_recorded() {
        const GONE: &str = "94d00cd8-e9e6-4810-b177-b08e84775435";
        // Okta's app user still names the IdC user SCIM deleted; the set is named, as the dry run's note says.
        let (directory, idc) = world(Some(GONE));
        let editor = FakePermissionSetEditor::default().with_set(arn(DEV), None, &[account(PROD)]);
        let person = bob();
        let app = OktaAppId::parse("0oa1awsidc00000001").expect("app");
        let named = [arn(DEV)];
        let plan = plan(&directory, &idc, &editor, &request(&person, &named, &app))
            .await
            .expect("a plan");
        assert!(
            plan.denied.is_empty(),
            "bob's live account is linked only by login: {plan:#?}"
        );
        assert_eq!(plan.user_ids(), [IdcUserId::parse(GONE).expect("id")]);
        let SetChange::Add { statement, .. } = &plan.sets[0].change else {
            panic!("the named set takes the Deny: {plan:#?}");
        };
        assert_eq!(*statement, deny_statement(&plan.user_ids()));
        assert!(!plan.has_problems(), "{plan:#?}");
        let text = render_plan(&plan, false);
        assert!(
            text.contains(&format!("{GONE} (deleted from Identity Center")),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_person_linked_only_by_login_is_not_denied_unless_asked() {
        let (directory, idc) = world(None);
        let editor = FakePermissionSetEditor::default().with_set(arn(DEV), None, &[account(PROD)]);
        let person = bob();
        let app = OktaAppId::parse("0oa1awsidc00000001").expect("app");
        let mut asked = request(&person, &[], &app);
        let plan_weak = plan(&directory, &idc, &editor, &asked).await.expect("a plan");
        assert!(plan_weak.denied.is_empty());
        assert_eq!(plan_weak.not_denied.len(), 1);
        assert!(plan_weak.sets.is_empty() && plan_weak.has_problems());
        asked.include_weak_links = true;
        let plan_all = plan(&directory, &idc, &editor, &asked).await.expect("a plan");
        assert_eq!(plan_all.denied.len(), 1);
        assert_eq!(plan_all.sets.len(), 1);
    }
}
