//! The access review's result: what a quarterly (or daily light) run found, in the shape its report files, its
//! SNS summary and the next run's diff are made from. Rules fill it (`rules`), the review handler orchestrates,
//! the report renderers only read it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::finding::{Finding, FindingId};
use super::ids::{AccountId, IdcUserId, PermissionSetArn};

pub const REVIEW_SCHEMA_VERSION: u32 = 1;

/// Which run: the full quarterly review, or the daily light run of the same rules (publishes only changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewKind {
    Quarterly,
    Daily,
}

/// One effective access: a person can reach an account with a permission set (directly or through a group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRow {
    pub idc_user_id: IdcUserId,
    pub user_name: String,
    /// The Identity Center `UserStatus` (`ENABLED`, `DISABLED`, `UNKNOWN`).
    pub idc_status: String,
    /// The linked Okta person's login and status, when linked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub okta_login: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub okta_status: Option<String>,
    pub account_id: AccountId,
    pub permission_set_arn: PermissionSetArn,
    pub permission_set_name: String,
    /// The Identity Center group the access comes through (`None`: a direct user assignment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via_group: Option<String>,
    /// The last sign-in known, and where it was read (`okta-last-login`, `activity-record`, `cloudtrail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sign_in: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sign_in_source: Option<String>,
}

/// The facts of one person that each of their access rows repeats: held once per person by an `AccessTable`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccessPerson {
    pub idc_user_id: IdcUserId,
    pub user_name: String,
    pub idc_status: String,
    pub okta_login: Option<String>,
    pub okta_status: Option<String>,
    pub last_sign_in: Option<DateTime<Utc>>,
    pub last_sign_in_source: Option<String>,
}

/// One row of an `AccessTable`: indices into its people, accounts, permission sets and groups (16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AccessEntry {
    person: u32,
    account: u32,
    set: u32,
    /// `DIRECT`: a direct user assignment.
    group: u32,
}

/// No list is given this many entries (`index` refuses it), so no group index is ever this.
const DIRECT: u32 = u32::MAX;

/// The index the next entry of a list of `len` gets; `None` past `u32::MAX - 1` entries (more distinct people,
/// accounts, sets or groups than memory could hold: the row is left out and the table says it is incomplete).
fn index(len: usize) -> Option<u32> {
    u32::try_from(len).ok().filter(|&i| i != DIRECT)
}

fn at<T>(list: &[T], i: u32) -> Option<&T> {
    list.get(usize::try_from(i).ok()?)
}

/// Every effective access of a run, compact: each person's facts, each account, permission set and group name held
/// once, and each row four indices (16 bytes, not nine strings of its own: at 324,000 rows 5 MiB instead of
/// ~190 MiB). Read through `AccessView`s; serialized (and read back) as the list of `AccessRow`s it stands for, so
/// the report and state files keep their shape and an old state file reads.
#[derive(Debug, Clone, Default)]
pub struct AccessTable {
    people: Vec<AccessPerson>,
    accounts: Vec<AccountId>,
    sets: Vec<(PermissionSetArn, String)>,
    groups: Vec<String>,
    rows: Vec<AccessEntry>,
    /// Rows were left out (see `index`).
    incomplete: bool,
}

/// One effective access, borrowed from an `AccessTable`; serializes as the `AccessRow` it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AccessView<'a> {
    pub idc_user_id: &'a IdcUserId,
    pub user_name: &'a str,
    pub idc_status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub okta_login: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub okta_status: Option<&'a str>,
    pub account_id: &'a AccountId,
    pub permission_set_arn: &'a PermissionSetArn,
    pub permission_set_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via_group: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sign_in: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sign_in_source: Option<&'a str>,
}

impl AccessView<'_> {
    /// The row as owned values (the diff's few rows, tests).
    pub fn to_row(&self) -> AccessRow {
        AccessRow {
            idc_user_id: self.idc_user_id.clone(),
            user_name: self.user_name.to_owned(),
            idc_status: self.idc_status.to_owned(),
            okta_login: self.okta_login.map(str::to_owned),
            okta_status: self.okta_status.map(str::to_owned),
            account_id: self.account_id.clone(),
            permission_set_arn: self.permission_set_arn.clone(),
            permission_set_name: self.permission_set_name.to_owned(),
            via_group: self.via_group.map(str::to_owned),
            last_sign_in: self.last_sign_in,
            last_sign_in_source: self.last_sign_in_source.map(str::to_owned),
        }
    }
}

impl AccessTable {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// `false`: rows were left out because a list passed 4,294,967,294 distinct entries (never, in memory a
    /// run can have).
    pub fn is_complete(&self) -> bool {
        !self.incomplete
    }

    /// The rows in the table's order.
    pub fn iter(&self) -> AccessIter<'_> {
        AccessIter {
            table: self,
            rows: self.rows.iter(),
        }
    }

    pub fn get(&self, index: usize) -> Option<AccessView<'_>> {
        self.rows.get(index).and_then(|entry| self.view(entry))
    }

    /// The entry's strings. Indices are only made by the builder, always in range; `None` (row skipped) would only
    /// mean a bug, never a panic.
    fn view(&self, entry: &AccessEntry) -> Option<AccessView<'_>> {
        let person = at(&self.people, entry.person)?;
        let (arn, name) = at(&self.sets, entry.set)?;
        let via_group = match entry.group {
            DIRECT => None,
            group => Some(at(&self.groups, group)?.as_str()),
        };
        Some(AccessView {
            idc_user_id: &person.idc_user_id,
            user_name: &person.user_name,
            idc_status: &person.idc_status,
            okta_login: person.okta_login.as_deref(),
            okta_status: person.okta_status.as_deref(),
            account_id: at(&self.accounts, entry.account)?,
            permission_set_arn: arn,
            permission_set_name: name,
            via_group,
            last_sign_in: person.last_sign_in,
            last_sign_in_source: person.last_sign_in_source.as_deref(),
        })
    }

    /// Sorts the rows by user name, account, permission set name and group (direct first), so two runs compare
    /// row by row.
    pub fn sort(&mut self) {
        let Self {
            people,
            accounts,
            sets,
            groups,
            rows,
            incomplete: _,
        } = self;
        let key = |e: &AccessEntry| {
            (
                at(people, e.person).map(|p| p.user_name.as_str()),
                at(accounts, e.account),
                at(sets, e.set).map(|(_, name)| name.as_str()),
                match e.group {
                    DIRECT => None,
                    g => Some(at(groups, g).map(String::as_str)),
                },
            )
        };
        rows.sort_by(|a, b| key(a).cmp(&key(b)));
    }
}

/// The rows of an `AccessTable`, as views.
#[derive(Debug, Clone)]
pub struct AccessIter<'a> {
    table: &'a AccessTable,
    rows: std::slice::Iter<'a, AccessEntry>,
}

impl<'a> Iterator for AccessIter<'a> {
    type Item = AccessView<'a>;

    fn next(&mut self) -> Option<AccessView<'a>> {
        let table = self.table;
        self.rows.by_ref().find_map(|entry| table.view(entry))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, self.rows.size_hint().1)
    }
}

impl<'a> IntoIterator for &'a AccessTable {
    type Item = AccessView<'a>;
    type IntoIter = AccessIter<'a>;

    fn into_iter(self) -> AccessIter<'a> {
        self.iter()
    }
}

impl PartialEq for AccessTable {
    /// The same rows in the same order, however the strings are shared.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Serialize for AccessTable {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for AccessTable {
    /// From a list of `AccessRow`s (the report's and the state file's shape), one row at a time.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Rows;
        impl<'de> serde::de::Visitor<'de> for Rows {
            type Value = AccessTable;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of access rows")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<AccessTable, A::Error> {
                let mut table = AccessTableBuilder::default();
                while let Some(row) = seq.next_element::<AccessRow>()? {
                    table.push_row(row);
                }
                let table = table.finish();
                if table.is_complete() {
                    Ok(table)
                } else {
                    Err(serde::de::Error::custom(
                        "more distinct access entries than a table holds",
                    ))
                }
            }
        }
        deserializer.deserialize_seq(Rows)
    }
}

impl FromIterator<AccessRow> for AccessTable {
    fn from_iter<I: IntoIterator<Item = AccessRow>>(rows: I) -> Self {
        let mut table = AccessTableBuilder::default();
        for row in rows {
            table.push_row(row);
        }
        table.finish()
    }
}

/// Builds an `AccessTable`, each person, account, permission set and group name stored once.
#[derive(Debug, Default)]
pub struct AccessTableBuilder {
    table: AccessTable,
    people: HashMap<AccessPerson, u32>,
    accounts: HashMap<AccountId, u32>,
    /// A set's ARN to the entries with that ARN (one, unless two rows named it differently).
    sets: HashMap<PermissionSetArn, Vec<u32>>,
    groups: HashMap<String, u32>,
}

/// A person in the table being built (`None`: the list of people is full, their rows are left out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonIndex(Option<u32>);

impl AccessTableBuilder {
    /// A builder with room for `rows` rows.
    pub fn with_capacity(rows: usize) -> Self {
        let mut builder = Self::default();
        builder.table.rows.reserve_exact(rows);
        builder
    }

    /// The person's index (the same facts: the same person).
    pub fn person(&mut self, person: AccessPerson) -> PersonIndex {
        if let Some(&i) = self.people.get(&person) {
            return PersonIndex(Some(i));
        }
        let i = index(self.table.people.len());
        if let Some(i) = i {
            self.table.people.push(person.clone());
            self.people.insert(person, i);
        }
        PersonIndex(i)
    }

    /// A person added as given, without looking for the same facts (a caller that adds each person once: no
    /// map of people beside the table).
    pub fn new_person(&mut self, person: AccessPerson) -> PersonIndex {
        let i = index(self.table.people.len());
        if i.is_some() {
            self.table.people.push(person);
        }
        PersonIndex(i)
    }

    /// One access of `person`.
    pub fn access(
        &mut self,
        person: PersonIndex,
        account: &AccountId,
        permission_set_arn: &PermissionSetArn,
        permission_set_name: &str,
        via_group: Option<&str>,
    ) {
        let entry = self.entry(person, account, permission_set_arn, permission_set_name, via_group);
        match entry {
            Some(entry) => self.table.rows.push(entry),
            None => self.table.incomplete = true,
        }
    }

    fn entry(
        &mut self,
        person: PersonIndex,
        account: &AccountId,
        permission_set_arn: &PermissionSetArn,
        permission_set_name: &str,
        via_group: Option<&str>,
    ) -> Option<AccessEntry> {
        let person = person.0?;
        let account = match self.accounts.get(account) {
            Some(&i) => i,
            None => {
                let i = index(self.table.accounts.len())?;
                self.table.accounts.push(account.clone());
                self.accounts.insert(account.clone(), i);
                i
            }
        };
        let candidates = self.sets.entry(permission_set_arn.clone()).or_default();
        let known = candidates
            .iter()
            .copied()
            .find(|&i| at(&self.table.sets, i).is_some_and(|(_, name)| name == permission_set_name));
        let set = match known {
            Some(i) => i,
            None => {
                let i = index(self.table.sets.len())?;
                self.table
                    .sets
                    .push((permission_set_arn.clone(), permission_set_name.to_owned()));
                candidates.push(i);
                i
            }
        };
        let group = match via_group {
            None => DIRECT,
            Some(name) => match self.groups.get(name) {
                Some(&i) => i,
                None => {
                    let i = index(self.table.groups.len())?;
                    self.table.groups.push(name.to_owned());
                    self.groups.insert(name.to_owned(), i);
                    i
                }
            },
        };
        Some(AccessEntry {
            person,
            account,
            set,
            group,
        })
    }

    /// One owned row.
    pub fn push_row(&mut self, row: AccessRow) {
        let person = self.person(AccessPerson {
            idc_user_id: row.idc_user_id,
            user_name: row.user_name,
            idc_status: row.idc_status,
            okta_login: row.okta_login,
            okta_status: row.okta_status,
            last_sign_in: row.last_sign_in,
            last_sign_in_source: row.last_sign_in_source,
        });
        self.access(
            person,
            &row.account_id,
            &row.permission_set_arn,
            &row.permission_set_name,
            row.via_group.as_deref(),
        );
    }

    /// The table, in the order the rows were added.
    pub fn finish(self) -> AccessTable {
        self.table
    }
}

/// Where a finding stands across runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum FindingStatus {
    /// Not found by the previous run.
    New,
    /// Found by the previous run too.
    Open,
    /// Found by the previous run, not by this one.
    Resolved,
    /// Found, and suppressed by the review's suppression list: reported as suppressed, never dropped.
    Suppressed {
        owner: String,
        reason: String,
        until: DateTime<Utc>,
    },
}

/// A finding with its lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewedFinding {
    pub finding: Finding,
    pub status: FindingStatus,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// The compliance controls the rule evidences (e.g. `SOC2 CC6.2`, `ISO27001 5.18`).
    #[serde(default)]
    pub controls: Vec<String>,
}

/// One deprovision of the period and its verdict: the timely-removal evidence auditors ask for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeprovisionRecord {
    pub okta_event_id: String,
    pub event_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    pub published: DateTime<Utc>,
    /// The SCIM call that carried it to Identity Center, when seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_call_at: Option<DateTime<Utc>>,
    /// The Identity Center state at the verdict (`DISABLED`, `deleted`, `ENABLED`, …).
    pub final_state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_seconds: Option<i64>,
    /// The verdict's finding (rule id and finding id).
    pub rule: String,
    pub finding_id: FindingId,
}

/// What changed since the previous run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReviewDiff {
    /// The previous run's id (`None`: this is the first run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_run: Option<String>,
    /// Rows this run has and the previous did not. Empty on a first run (nothing to compare with: every row of
    /// the report's access table is new, and listing them all again would double the report).
    pub access_added: Vec<AccessRow>,
    pub access_removed: Vec<AccessRow>,
    pub findings_new: Vec<FindingId>,
    pub findings_resolved: Vec<FindingId>,
}

/// How the inventory was read: calls per API family, for the report and the bench.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryStats {
    /// (API family, calls made), e.g. ("sso-admin", 1234).
    pub calls: Vec<(String, u64)>,
    pub wall_millis: u64,
}

/// One review run's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewReport {
    pub schema_version: u32,
    /// Unique per run; the report's S3 prefix.
    pub run_id: String,
    pub kind: ReviewKind,
    pub generated_at: DateTime<Utc>,
    /// The period the deprovisions and activity cover.
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub findings: Vec<ReviewedFinding>,
    pub access: AccessTable,
    pub deprovisions: Vec<DeprovisionRecord>,
    pub diff: ReviewDiff,
    #[serde(default)]
    pub inventory: InventoryStats,
    /// Each bounded read the run made and whether it read all it was asked for (a verdict the review cannot
    /// reach is part of its result, not a log line). Empty in a report written before this field.
    #[serde(default)]
    pub completeness: Vec<ReadCompleteness>,
}

/// One bounded read of a review run: what it read and whether it stopped at its cap (calls, records or time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadCompleteness {
    /// `cloudtrail`, `activity-record`, `verdict-archive`.
    pub source: String,
    /// `false`: stopped at a cap; what it covers is in `detail`.
    pub complete: bool,
    /// Records read (events, users' last uses, verdicts).
    pub records: u64,
    /// What the read covers, or where it stopped and what that leaves unseen.
    pub detail: String,
}

impl ReadCompleteness {
    /// The source read from the snapshot: the CloudTrail activity (and how far back it really reaches) and,
    /// when one was read, the activity record's last uses.
    pub fn of_snapshot(snapshot: &super::OrgSnapshot) -> Vec<Self> {
        let since = snapshot
            .activity_since
            .map_or_else(|| "the start of the snapshot's activity".to_owned(), |t| t.to_rfc3339());
        let mut reads = vec![Self {
            source: "cloudtrail".into(),
            complete: snapshot.activity_complete,
            records: u64::try_from(snapshot.activity.len()).unwrap_or(u64::MAX),
            detail: if snapshot.activity_complete {
                format!("portal sign-ins and SCIM calls read since {since}")
            } else {
                format!(
                    "stopped at its page or time cap: read back only to {since} (newest first); older activity in \
                     the window is not seen"
                )
            },
        }];
        if let Some(recorded) = &snapshot.recorded_uses {
            reads.push(Self {
                source: "activity-record".into(),
                complete: recorded.complete,
                records: u64::try_from(recorded.events.len()).unwrap_or(u64::MAX),
                detail: if recorded.complete {
                    format!("every user's last use read, since {}", recorded.since.to_rfc3339())
                } else {
                    "stopped at its call or time cap: some users' recorded last uses are not read".to_owned()
                },
            });
        }
        reads
    }

    /// One line for the report's summary: `source: N record(s), complete` or `…, INCOMPLETE — detail`.
    pub fn line(&self) -> String {
        if self.complete {
            format!(
                "{}: {} record(s), complete ({})",
                self.source, self.records, self.detail
            )
        } else {
            format!(
                "{}: {} record(s), INCOMPLETE — {}",
                self.source, self.records, self.detail
            )
        }
    }
}

/// What a review run leaves for the next one (`state/latest.json` in `REPORT_BUCKET`): its findings with their
/// lifecycle, and the effective access it saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewState {
    pub schema_version: u32,
    pub run_id: String,
    pub kind: ReviewKind,
    pub generated_at: DateTime<Utc>,
    pub findings: Vec<ReviewedFinding>,
    #[serde(default)]
    pub access: AccessTable,
}

/// The state a finished run leaves, borrowed from its report (written without a copy); serializes as a
/// `ReviewState`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ReviewStateRef<'a> {
    pub schema_version: u32,
    pub run_id: &'a str,
    pub kind: ReviewKind,
    pub generated_at: DateTime<Utc>,
    pub findings: &'a [ReviewedFinding],
    pub access: &'a AccessTable,
}

impl ReviewReport {
    /// The state this run leaves for the next, borrowed.
    pub fn state(&self) -> ReviewStateRef<'_> {
        ReviewStateRef {
            schema_version: REVIEW_SCHEMA_VERSION,
            run_id: &self.run_id,
            kind: self.kind,
            generated_at: self.generated_at,
            findings: &self.findings,
            access: &self.access,
        }
    }
}

impl ReviewState {
    /// The state a finished run leaves, owned (a copy of the report's findings and access: tests, and readers
    /// that keep it; a run saves `ReviewReport::state`).
    pub fn of(report: &ReviewReport) -> Self {
        Self {
            schema_version: REVIEW_SCHEMA_VERSION,
            run_id: report.run_id.clone(),
            kind: report.kind,
            generated_at: report.generated_at,
            findings: report.findings.clone(),
            access: report.access.clone(),
        }
    }
}

/// An accepted finding: reported as `Suppressed` (never dropped) until `until`. It matches by `finding_id`, or
/// by `rule` and every field set in `subject` (a rule with an empty subject: every finding of the rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    pub owner: String,
    pub reason: String,
    pub until: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding_id: Option<FindingId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<super::finding::Rule>,
    #[serde(default)]
    pub subject: super::finding::Subject,
}

/// The suppression list's config object (`config/suppressions.json` in `REPORT_BUCKET` by default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuppressionList {
    #[serde(default)]
    pub suppressions: Vec<Suppression>,
}
