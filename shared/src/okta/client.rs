//! `OktaClient`: the `Directory` port over Okta's management API.

use std::collections::{HashMap, HashSet};

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION};
use serde::de::DeserializeOwned;
use url::Url;

use super::auth::Authorizer;
use super::config::OktaConfig;
use super::transport::{Answer, Transport};
use super::{OktaError, paging, wire};
use crate::domain::{
    AppUser, GroupPushMapping, IdcGroupId, OktaApp, OktaAppId, OktaGroup, OktaGroupId, OktaLogEvent, OktaUser,
    OktaUserId,
};
use crate::error::Result;
use crate::ports::{Directory, LogCursor, LogPoll, LogQuery};
use crate::rate_limit::Gates;

/// Okta's "Not found: Resource not found" error code.
const NOT_FOUND: &str = "E0000007";
/// The System Log's largest `limit`, and the page size it uses when a link names none.
const LOG_PAGE_MAX: usize = 1000;
const LOG_PAGE_DEFAULT: usize = 100;
const LOG_SEGMENTS: [&str; 3] = ["api", "v1", "logs"];

/// Reads one Okta org. Build it once (at cold start) and share it: it holds the HTTP connection pool and, for a
/// service app, the cached access token.
#[derive(Debug)]
pub struct OktaClient {
    base: Url,
    /// The largest `limit` asked for; each list asks for the smaller of this and its endpoint's maximum.
    page_size: u32,
    /// The page size, within the System Log's 1..=1000.
    log_page_size: String,
    transport: Transport,
    authorizer: Authorizer,
}

/// The most pages one list reads: 5,000 pages of Okta's largest (200 users, 1,000 log events) is more than any
/// org the auditor serves; past it the read fails, bounded, instead of running on.
const MAX_LIST_PAGES: usize = 5_000;

impl OktaClient {
    /// Checks the configuration (base URL, credentials, private key) without sending anything.
    pub fn new(config: OktaConfig) -> Result<Self, OktaError> {
        let base = org_url(config.base_url)?;
        let token_url = base
            .join("oauth2/v1/token")
            .map_err(|_| OktaError::Config("the base URL cannot hold /oauth2/v1/token"))?;
        Ok(Self {
            authorizer: Authorizer::new(&config.credentials, token_url)?,
            transport: Transport::new(config.timeout, config.retry)?,
            page_size: config.page_size.max(1),
            log_page_size: usize::try_from(config.page_size)
                .unwrap_or(LOG_PAGE_MAX)
                .clamp(1, LOG_PAGE_MAX)
                .to_string(),
            base,
        })
    }

    /// Every request (each page, each retry) passes its Okta rate-limit bucket's gate in `gates`.
    pub fn gated(mut self, gates: Gates) -> Self {
        self.transport.set_gates(gates);
        self
    }

    /// `{base}/{segments…}?{query}`; each segment is percent-encoded, so a login cannot change the path.
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// A list endpoint's first page: `limit` (the endpoint's largest page, at most `page_size`) plus the given
    /// parameters.
    fn list_url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let limit = self.page_size.min(largest_page(segments)).to_string();
        let mut url = self.url(segments, &[("limit", limit.as_str())]);
        url.query_pairs_mut().extend_pairs(query);
        url
    }

    /// GET `url`; a 4xx other than 429 becomes `Refused` with Okta's error code and summary.
    async fn get(&self, url: &Url) -> Result<Answer, OktaError> {
        let authorization = self.authorizer.header(&self.transport).await?;
        let path = url.path();
        let answer = self
            .transport
            .send(path, |http| {
                Ok(http
                    .get(url.clone())
                    .header(AUTHORIZATION, authorization.clone())
                    .header(ACCEPT, "application/json"))
            })
            .await?;
        if answer.status.is_success() {
            return Ok(answer);
        }
        let error = wire::ErrorBody::read(&answer.body);
        Err(OktaError::Refused {
            path: path.to_owned(),
            status: answer.status.as_u16(),
            code: error.error_code.unwrap_or_else(|| "no errorCode".to_owned()),
            summary: error.error_summary.unwrap_or_else(|| "no errorSummary".to_owned()),
        })
    }

    async fn get_one<T: DeserializeOwned>(&self, url: &Url, what: &str) -> Result<T, OktaError> {
        let answer = self.get(url).await?;
        wire::decode_one(&answer.body, url.path(), what)
    }

    /// One record, or `None` when Okta answers 404 `E0000007` (no such resource).
    async fn get_if_found<T: DeserializeOwned>(&self, url: &Url, what: &str) -> Result<Option<T>> {
        match self.get_one::<T>(url, what).await {
            Ok(found) => Ok(Some(found)),
            Err(OktaError::Refused { status, code, .. }) if status == StatusCode::NOT_FOUND && code == NOT_FOUND => {
                Ok(None)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Every record of a list, following `rel="next"` links until there are none (at most `MAX_LIST_PAGES`). `until_empty` also stops at
    /// an empty page (the System Log may keep offering next links).
    async fn list<T: DeserializeOwned>(&self, first: Url, until_empty: bool) -> Result<Vec<T>, OktaError> {
        let mut records = Vec::new();
        let mut visited = HashSet::new();
        let mut url = first;
        for page in 1.. {
            if page > MAX_LIST_PAGES {
                // Bounded: a list that never ends (or an org past a million records a list) is an error that
                // says so, not a run that outlives its invocation.
                return Err(OktaError::NextLink {
                    path: url.path().to_owned(),
                    reason: "the list runs past 5,000 pages, the reader's bound",
                });
            }
            let answer = self.get(&url).await?;
            let page_records: Vec<T> = wire::decode_page(&answer.body, url.path(), page)?;
            let empty = page_records.is_empty();
            records.extend(page_records);
            if empty && until_empty {
                break;
            }
            let Some(next) = paging::next_page(&answer.headers, &url, &self.base)? else {
                break;
            };
            visited.insert(url);
            if visited.contains(&next) {
                return Err(OktaError::NextLink {
                    path: next.path().to_owned(),
                    reason: "it leads back to a page already read",
                });
            }
            url = next;
        }
        Ok(records)
    }

    /// The first page of a polling read: `since`, no `until`, oldest first.
    fn first_poll_url(&self, since: chrono::DateTime<chrono::Utc>, filter: Option<&str>) -> Url {
        let since = okta_time(since);
        let mut query = vec![
            ("limit", self.log_page_size.as_str()),
            ("since", since.as_str()),
            ("sortOrder", "ASCENDING"),
        ];
        query.extend(filter.map(|filter| ("filter", filter)));
        self.url(&LOG_SEGMENTS, &query)
    }

    /// The page a stored cursor names, checked as a next link is: this org's System Log, a polling query (no
    /// `until`) with an `after` cursor. If the event types asked for changed since the cursor was stored, its
    /// `after` is kept and the filter replaced, so new types are read from there on.
    /// UNVERIFIED: Okta documents `after` only as opaque and "only from the next link"; that it is a position in
    /// the log independent of `filter` is observed, not documented. The other choice (keeping the old filter)
    /// would never read the new types.
    fn resume_url(&self, stored: &str, filter: Option<&str>) -> Result<Url, OktaError> {
        let refuse = |reason| OktaError::StoredCursor { reason };
        let url = Url::parse(stored).map_err(|_| refuse("it is not a URL"))?;
        if url.origin() != self.base.origin() {
            return Err(refuse("it points away from the Okta org"));
        }
        if url.path() != self.url(&LOG_SEGMENTS, &[]).path() {
            return Err(refuse("it is not a System Log URL"));
        }
        let parameter = |name: &str| url.query_pairs().find(|(key, _)| key == name).map(|(_, value)| value);
        if parameter("until").is_some() {
            return Err(refuse("it is a bounded query (until), not a polling one"));
        }
        // UNVERIFIED: whether the next link of a first poll that found nothing carries `after` or repeats `since`
        // is not documented: a polling link with either is followed.
        let position = match (parameter("after"), parameter("since")) {
            (Some(after), _) => ("after", after.into_owned()),
            (None, Some(since)) => ("since", since.into_owned()),
            (None, None) => return Err(refuse("it has neither an after cursor nor a since")),
        };
        if parameter("filter").as_deref() == filter {
            return Ok(url);
        }
        tracing::warn!(
            "the System Log event types changed since the sweep cursor was stored; resuming from its position with the new filter"
        );
        let mut query = vec![
            ("limit", self.log_page_size.as_str()),
            (position.0, position.1.as_str()),
            ("sortOrder", "ASCENDING"),
        ];
        query.extend(filter.map(|filter| ("filter", filter)));
        Ok(self.url(&LOG_SEGMENTS, &query))
    }

    /// The members of each group, several groups at once (the groups bucket's gate spaces the calls).
    async fn members_of_groups(
        &self,
        groups: impl Iterator<Item = OktaGroupId>,
    ) -> Result<HashMap<OktaGroupId, Vec<OktaUserId>>, OktaError> {
        use futures_util::{StreamExt, TryStreamExt, stream};
        stream::iter(groups)
            .map(|group| async move {
                let url = self.list_url(&["api", "v1", "groups", group.as_str(), "users"], &[]);
                let members: Vec<wire::Member> = self.list(url, false).await?;
                Ok::<_, OktaError>((group, members.into_iter().map(|member| member.id).collect()))
            })
            .buffered(32)
            .try_collect()
            .await
    }
}

/// The largest `limit` each list endpoint allows (Okta management API spec, operation parameters): users 200, a
/// user's groups 200 (no maximum documented), groups 10,000, a group's users 1,000, apps 200, app users 500, app
/// groups 200, group push mappings 1,000, System Log 1,000. Fewer pages is fewer calls against per-minute buckets.
fn largest_page(segments: &[&str]) -> u32 {
    match segments {
        ["api", "v1", "groups"] => 10_000,
        ["api", "v1", "groups", _, "users"] => 1000,
        ["api", "v1", "apps", _, "users"] => 500,
        ["api", "v1", "apps", _, "group-push", "mappings"] => 1000,
        ["api", "v1", "logs"] => 1000,
        _ => 200,
    }
}

impl Directory for OktaClient {
    /// The plain list leaves DEPROVISIONED users out, so they are asked for by filter too and merged by id.
    async fn users(&self) -> Result<Vec<OktaUser>> {
        let listed = self.list::<wire::User>(self.list_url(&["api", "v1", "users"], &[]), false);
        let deprovisioned = self.list::<wire::User>(
            self.list_url(&["api", "v1", "users"], &[("filter", r#"status eq "DEPROVISIONED""#)]),
            false,
        );
        let (listed, deprovisioned) = tokio::try_join!(listed, deprovisioned)?;
        let mut seen = HashSet::new();
        Ok(listed
            .into_iter()
            .chain(deprovisioned)
            .map(OktaUser::from)
            .filter(|user| seen.insert(user.id.clone()))
            .collect())
    }

    async fn user(&self, id_or_login: &str) -> Result<Option<OktaUser>> {
        let url = self.url(&["api", "v1", "users", id_or_login], &[]);
        self.get_if_found::<wire::User>(&url, "the user")
            .await
            .map(|found| found.map(Into::into))
    }

    /// Groups one after another: each costs a request per page of members, and Okta's limits are per minute.
    async fn groups(&self) -> Result<Vec<OktaGroup>> {
        let groups: Vec<wire::Group> = self.list(self.list_url(&["api", "v1", "groups"], &[]), false).await?;
        let mut with_members = Vec::with_capacity(groups.len());
        for group in groups {
            let mut members = self.members_of_groups(std::iter::once(group.id.clone())).await?;
            with_members.push(OktaGroup {
                members: members.remove(&group.id).unwrap_or_default(),
                id: group.id,
                name: group.profile.name,
            });
        }
        Ok(with_members)
    }

    /// The members of the pushed groups, read at once beside `GET /api/v1/groups` (names, one page of 10,000) and
    /// `GET /api/v1/apps/{appId}/groups` (the groups assigned to the app, in the slower apps bucket) — so the
    /// groups bucket, the review's busiest Okta family, starts as soon as the push mappings are in — then the
    /// members of those assigned groups not pushed. No other group's members are read; a pushed group the org no
    /// longer lists is left out.
    async fn app_groups(&self, app_id: &OktaAppId, pushed: &[OktaGroupId]) -> Result<Vec<OktaGroup>> {
        let assigned = async {
            let url = self.list_url(&["api", "v1", "apps", app_id.as_str(), "groups"], &[]);
            self.list::<wire::AppGroup>(url, false).await
        };
        let all = async {
            self.list::<wire::Group>(self.list_url(&["api", "v1", "groups"], &[]), false)
                .await
        };
        let mut seen: HashSet<&OktaGroupId> = HashSet::with_capacity(pushed.len());
        let pushed_once: Vec<OktaGroupId> = pushed.iter().filter(|id| seen.insert(id)).cloned().collect();
        let (all, assigned, mut members) =
            tokio::try_join!(all, assigned, self.members_of_groups(pushed_once.into_iter()))?;
        let only_assigned: Vec<OktaGroupId> = assigned
            .iter()
            .map(|g| &g.id)
            .filter(|id| seen.insert(id))
            .cloned()
            .collect();
        members.extend(self.members_of_groups(only_assigned.into_iter()).await?);
        let groups: Vec<OktaGroup> = all
            .into_iter()
            .filter_map(|group| {
                let members = members.remove(&group.id)?;
                Some(OktaGroup {
                    id: group.id,
                    name: group.profile.name,
                    members,
                })
            })
            .collect();
        tracing::info!(groups = groups.len(), "Okta groups the app uses read, with members");
        Ok(groups)
    }

    /// The app with its users, push mappings and keys, and the groups it uses (`app_groups`) — the push
    /// mappings asked for first, so the pushed groups' members are read (groups bucket) while the app's users
    /// page through the slower apps bucket.
    async fn app_and_groups(&self, app_id: &OktaAppId) -> Result<(OktaApp, Vec<OktaGroup>)> {
        let app = ["api", "v1", "apps", app_id.as_str()];
        let under_app = |rest: &[&'static str]| [&app[..], rest].concat();
        let app_url = self.url(&app, &[]);
        let mappings_and_groups = async {
            let url = self.list_url(&under_app(&["group-push", "mappings"]), &[]);
            let mappings: Vec<GroupPushMapping> = self
                .list::<wire::PushMapping>(url, false)
                .await?
                .into_iter()
                .map(Into::into)
                .collect();
            let pushed: Vec<OktaGroupId> = mappings.iter().map(|m| m.source_group_id.clone()).collect();
            let groups = self.app_groups(app_id, &pushed).await?;
            Ok::<_, crate::error::Error>((mappings, groups))
        };
        let ((mappings, groups), found, app_users, keys) = tokio::try_join!(
            mappings_and_groups,
            async { Ok(self.get_one::<wire::App>(&app_url, "the app").await?) },
            async {
                let url = self.list_url(&under_app(&["users"]), &[]);
                Ok(self.list::<wire::AppUserRecord>(url, false).await?)
            },
            async {
                let url = self.url(&under_app(&["credentials", "keys"]), &[]);
                Ok(self.list::<wire::Key>(url, false).await?)
            },
        )?;
        let app = OktaApp {
            id: app_id.clone(),
            signing_keys: keys
                .into_iter()
                .map(|key| key.into_signing_key(found.active_kid()))
                .collect(),
            label: found.label,
            app_users: app_users.into_iter().map(Into::into).collect(),
            group_push_mappings: mappings,
        };
        Ok((app, groups))
    }

    async fn app(&self, app_id: &OktaAppId) -> Result<OktaApp> {
        let app = ["api", "v1", "apps", app_id.as_str()];
        let under_app = |rest: &[&'static str]| [&app[..], rest].concat();
        let app_url = self.url(&app, &[]);
        let (found, app_users, mappings, keys) = tokio::try_join!(
            self.get_one::<wire::App>(&app_url, "the app"),
            self.list::<wire::AppUserRecord>(self.list_url(&under_app(&["users"]), &[]), false),
            self.list::<wire::PushMapping>(self.list_url(&under_app(&["group-push", "mappings"]), &[]), false),
            self.list::<wire::Key>(self.url(&under_app(&["credentials", "keys"]), &[]), false),
        )?;
        Ok(OktaApp {
            id: app_id.clone(),
            signing_keys: keys
                .into_iter()
                .map(|key| key.into_signing_key(found.active_kid()))
                .collect(),
            label: found.label,
            app_users: app_users.into_iter().map(Into::into).collect(),
            group_push_mappings: mappings.into_iter().map(Into::into).collect(),
        })
    }

    /// `GET /api/v1/apps?filter=status eq "ACTIVE"`, every page; the AWS SAML apps kept.
    async fn aws_saml_apps(&self) -> Result<Vec<OktaAppId>> {
        let url = self.list_url(&["api", "v1", "apps"], &[("filter", "status eq \"ACTIVE\"")]);
        let apps: Vec<wire::AppSummary> = self.list(url, false).await?;
        Ok(apps
            .into_iter()
            .filter(wire::AppSummary::is_active_aws_saml)
            .map(|app| app.id)
            .collect())
    }

    async fn signing_keys(&self, app_id: &OktaAppId) -> Result<crate::domain::certificate::AppSigningKeys> {
        let app = ["api", "v1", "apps", app_id.as_str()];
        let keys_path = [&app[..], &["credentials", "keys"]].concat();
        let app_url = self.url(&app, &[]);
        let (found, keys) = tokio::try_join!(
            self.get_one::<wire::App>(&app_url, "the app"),
            self.list::<wire::Key>(self.url(&keys_path, &[]), false),
        )?;
        Ok(crate::domain::certificate::AppSigningKeys {
            app_id: app_id.clone(),
            keys: keys
                .into_iter()
                .map(|key| key.into_signing_key(found.active_kid()))
                .collect(),
            label: found.label,
        })
    }

    /// `GET /api/v1/apps/{appId}/group-push/mappings?sourceGroupId=…`: the mapping's target, whatever its status.
    async fn group_push_target(&self, app_id: &OktaAppId, group_id: &OktaGroupId) -> Result<Option<IdcGroupId>> {
        let url = self.list_url(
            &["api", "v1", "apps", app_id.as_str(), "group-push", "mappings"],
            &[("sourceGroupId", group_id.as_str())],
        );
        let mappings: Vec<wire::PushMapping> = self.list(url, false).await?;
        Ok(mappings
            .into_iter()
            .map(GroupPushMapping::from)
            .filter(|m| &m.source_group_id == group_id)
            .find_map(|m| m.target_group_id))
    }

    async fn app_user(&self, app_id: &OktaAppId, user_id: &OktaUserId) -> Result<Option<AppUser>> {
        let url = self.url(&["api", "v1", "apps", app_id.as_str(), "users", user_id.as_str()], &[]);
        self.get_if_found::<wire::AppUserRecord>(&url, "the app user")
            .await
            .map(|found| found.map(Into::into))
    }

    async fn user_groups(&self, user_id: &OktaUserId) -> Result<Vec<OktaGroupId>> {
        let url = self.list_url(&["api", "v1", "users", user_id.as_str(), "groups"], &[]);
        let groups: Vec<wire::Group> = self.list(url, false).await?;
        Ok(groups.into_iter().map(|g| g.id).collect())
    }

    async fn group_members(&self, group_id: &OktaGroupId) -> Result<Option<Vec<OktaUserId>>> {
        let url = self.list_url(&["api", "v1", "groups", group_id.as_str(), "users"], &[]);
        match self.list::<wire::Member>(url, false).await {
            Ok(members) => Ok(Some(members.into_iter().map(|m| m.id).collect())),
            Err(OktaError::Refused { status, code, .. }) if status == StatusCode::NOT_FOUND && code == NOT_FOUND => {
                Ok(None)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// A bounded query (`since` and `until`), oldest first, every page followed until an empty page or no next.
    async fn system_log(&self, query: &LogQuery) -> Result<Vec<OktaLogEvent>> {
        let since = okta_time(query.since);
        let until = okta_time(query.until);
        let filter = event_type_filter(&query.event_types);
        let mut parameters = vec![
            ("since", since.as_str()),
            ("until", until.as_str()),
            ("sortOrder", "ASCENDING"),
        ];
        if let Some(filter) = &filter {
            parameters.push(("filter", filter.as_str()));
        }
        let events: Vec<wire::LogEvent> = self
            .list(self.list_url(&["api", "v1", "logs"], &parameters), true)
            .await?;
        Ok(events.into_iter().map(Into::into).collect())
    }

    /// Okta's polling request: no `until`, `sortOrder=ASCENDING`, then the `rel="next"` link every answer carries
    /// (an empty page included), as Okta says to ("always follow the next links"). Stops at a short or empty page
    /// (caught up) or after `max_pages` (at least 1); either way `next` is the link the last answer offered.
    async fn poll_system_log(&self, from: &LogCursor, event_types: &[String], max_pages: usize) -> Result<LogPoll> {
        let filter = event_type_filter(event_types);
        let mut url = match from {
            LogCursor::Since(since) => self.first_poll_url(*since, filter.as_deref()),
            LogCursor::Next(stored) => self.resume_url(stored, filter.as_deref())?,
        };
        let mut events = Vec::new();
        for page in 1..=max_pages.max(1) {
            let answer = self.get(&url).await?;
            let records: Vec<wire::LogEvent> = wire::decode_page(&answer.body, url.path(), page)?;
            let read = records.len();
            events.extend(records.into_iter().map(OktaLogEvent::from));
            // Okta documents the next link as always present on a polling answer; without it there is no way
            // on that neither skips nor re-reads, so the run fails (and stores nothing) rather than guess.
            let next = paging::next_link(&answer.headers, &url, &self.base)?.ok_or(OktaError::NextLink {
                path: url.path().to_owned(),
                reason: "a System Log polling answer has no next link",
            })?;
            if read > 0 && next == url {
                return Err(OktaError::NextLink {
                    path: url.path().to_owned(),
                    reason: "it leads back to the page just read",
                }
                .into());
            }
            let caught_up = read < page_limit(&url);
            url = next;
            if caught_up {
                return Ok(LogPoll {
                    events,
                    next: url.into(),
                    complete: true,
                });
            }
        }
        Ok(LogPoll {
            events,
            next: url.into(),
            complete: false,
        })
    }
}

/// The `limit` a System Log URL asks for (Okta's default without one), so a short page can be told apart.
fn page_limit(url: &Url) -> usize {
    url.query_pairs()
        .find(|(name, _)| name == "limit")
        .and_then(|(_, limit)| limit.parse::<usize>().ok())
        .unwrap_or(LOG_PAGE_DEFAULT)
        .clamp(1, LOG_PAGE_MAX)
}

/// The org's base URL with a trailing slash. Okta takes HTTPS only; plain HTTP is allowed on loopback for fakes.
fn org_url(mut base: Url) -> Result<Url, OktaError> {
    let loopback = match base.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => return Err(OktaError::Config("the base URL has no host")),
    };
    if base.scheme() != "https" && !(base.scheme() == "http" && loopback) {
        return Err(OktaError::Config(
            "the base URL must be https:// (http:// only on loopback)",
        ));
    }
    if base.query().is_some() || base.fragment().is_some() {
        return Err(OktaError::Config("the base URL must not have a query or a fragment"));
    }
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    Ok(base)
}

/// ISO 8601 with milliseconds, as Okta writes and reads dates.
fn okta_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `eventType eq "a" or eventType eq "b"`; each type written as a JSON string, as Okta's filter grammar wants.
fn event_type_filter(event_types: &[String]) -> Option<String> {
    let clauses: Vec<String> = event_types
        .iter()
        .map(|event_type| format!("eventType eq {}", serde_json::Value::from(event_type.as_str())))
        .collect();
    (!clauses.is_empty()).then(|| clauses.join(" or "))
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::okta::Credentials;

    fn client(base: &str) -> Result<OktaClient, OktaError> {
        let token = SecretString::from("token".to_owned());
        OktaClient::new(OktaConfig::new(Url::parse(base).unwrap(), Credentials::ApiToken(token)))
    }

    #[test]
    fn a_login_is_one_encoded_path_segment() {
        let client = client("https://acme.okta.com").unwrap();
        let url = client.url(&["api", "v1", "users", "jane/../doe@example.com"], &[]);
        assert_eq!(
            url.as_str(),
            "https://acme.okta.com/api/v1/users/jane%2F..%2Fdoe@example.com"
        );
    }

    #[test]
    fn a_base_url_with_a_path_keeps_it() {
        let client = client("https://proxy.example/okta").unwrap();
        let url = client.list_url(&["api", "v1", "groups"], &[]);
        assert_eq!(
            url.as_str(), // The groups list takes Okta's largest page (10,000).
            "https://proxy.example/okta/api/v1/groups?limit=10000"
        );
    }

    #[test]
    fn plain_http_is_refused_except_on_loopback() {
        assert!(matches!(client("http://acme.okta.com"), Err(OktaError::Config(_))));
        assert!(client("http://127.0.0.1:8080").is_ok());
        assert!(client("http://localhost:8080").is_ok());
    }

    #[test]
    fn event_types_are_or_ed_as_json_strings() {
        let types = ["user.lifecycle.deactivate".to_owned(), "odd\"type".to_owned()];
        assert_eq!(
            event_type_filter(&types).as_deref(),
            Some(r#"eventType eq "user.lifecycle.deactivate" or eventType eq "odd\"type""#)
        );
        assert_eq!(event_type_filter(&[]), None);
    }

    #[test]
    fn a_first_poll_has_since_and_no_until() {
        let client = client("https://acme.okta.com").unwrap();
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let url = client.first_poll_url(at, Some(r#"eventType eq "a""#));
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(url.path(), "/api/v1/logs");
        assert!(pairs.contains(&("since".into(), "2023-11-14T22:13:20.000Z".into())));
        assert!(pairs.contains(&("sortOrder".into(), "ASCENDING".into())));
        assert!(pairs.contains(&("filter".into(), r#"eventType eq "a""#.into())));
        assert!(!pairs.iter().any(|(name, _)| name == "until"));
    }

    #[test]
    fn a_stored_cursor_of_this_orgs_system_log_is_followed_as_stored() {
        let client = client("https://acme.okta.com").unwrap();
        let stored =
            "https://acme.okta.com/api/v1/logs?limit=200&sortOrder=ASCENDING&filter=eventType+eq+%22a%22&after=17_1";
        let url = client.resume_url(stored, Some(r#"eventType eq "a""#)).unwrap();
        assert_eq!(url.as_str(), stored);
    }

    #[test]
    fn a_stored_cursor_keeps_its_position_when_the_event_types_change() {
        let client = client("https://acme.okta.com").unwrap();
        let stored = "https://acme.okta.com/api/v1/logs?limit=200&filter=eventType+eq+%22a%22&after=17_1";
        let url = client.resume_url(stored, Some(r#"eventType eq "b""#)).unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert!(pairs.contains(&("after".into(), "17_1".into())));
        assert!(pairs.contains(&("filter".into(), r#"eventType eq "b""#.into())));
        assert!(!pairs.contains(&("filter".into(), r#"eventType eq "a""#.into())));
    }

    #[test]
    fn a_stored_cursor_elsewhere_or_of_another_shape_is_refused() {
        let client = client("https://acme.okta.com").unwrap();
        for stored in [
            "not a url",
            "https://evil.example/api/v1/logs?after=1",
            "http://acme.okta.com/api/v1/logs?after=1",
            "https://acme.okta.com/api/v1/users?after=1",
            "https://acme.okta.com/api/v1/logs?until=2026-01-01T00:00:00.000Z&after=1",
            "https://acme.okta.com/api/v1/logs?limit=1000",
        ] {
            let refused = client.resume_url(stored, None);
            assert!(matches!(refused, Err(OktaError::StoredCursor { .. })), "{stored}");
        }
        // A polling link that repeats `since` (a first poll that found nothing) is followed, not a wedge.
        let since = "https://acme.okta.com/api/v1/logs?since=2026-01-01T00:00:00.000Z&sortOrder=ASCENDING";
        assert!(client.resume_url(since, None).is_ok());
    }

    #[test]
    fn a_page_is_short_against_the_limit_its_url_asked_for() {
        let limit = |url: &str| page_limit(&Url::parse(url).unwrap());
        assert_eq!(limit("https://acme.okta.com/api/v1/logs?limit=2&after=x"), 2);
        assert_eq!(limit("https://acme.okta.com/api/v1/logs?after=x"), 100);
        assert_eq!(limit("https://acme.okta.com/api/v1/logs?limit=5000"), 1000);
        assert_eq!(limit("https://acme.okta.com/api/v1/logs?limit=zero"), 100);
    }

    #[test]
    fn times_are_written_with_milliseconds_in_utc() {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert_eq!(okta_time(at), "2023-11-14T22:13:20.000Z");
    }
}
