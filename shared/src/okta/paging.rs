//! Okta's cursor paging: each answer's `Link` headers (RFC 8288) name the next page, if there is one.
//! Okta sends one header per link (`rel="self"`, `rel="next"`); proxies may join them with commas.

use reqwest::header::{HeaderMap, LINK};
use url::Url;

use super::OktaError;

/// The page after `current`, or `None` at the end: no `rel="next"` link, or one that points back at `current`
/// (a System Log polling query always has a next link). A next link that leaves the org is refused, so the
/// credentials never go anywhere else.
pub(crate) fn next_page(headers: &HeaderMap, current: &Url, base: &Url) -> Result<Option<Url>, OktaError> {
    Ok(next_link(headers, current, base)?.filter(|next| next != current))
}

/// The `rel="next"` link resolved against `current`, even when it is `current` itself (a caught-up System Log
/// poll may offer the page it just answered), or `None` without one. A link that leaves the org is refused.
pub(crate) fn next_link(headers: &HeaderMap, current: &Url, base: &Url) -> Result<Option<Url>, OktaError> {
    let target = headers
        .get_all(LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(next_target);
    let Some(target) = target else {
        return Ok(None);
    };
    let refuse = |reason| OktaError::NextLink {
        path: current.path().to_owned(),
        reason,
    };
    let next = current.join(target).map_err(|_| refuse("it is not a URL"))?;
    if next.origin() != base.origin() {
        return Err(refuse("it points away from the Okta org"));
    }
    Ok(Some(next))
}

/// The target of the first link in `value` whose `rel` includes `next`.
fn next_target(value: &str) -> Option<&str> {
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        let opened = rest.strip_prefix('<')?;
        let close = opened.find('>')?;
        let target = &opened[..close];
        let after = &opened[close + 1..];
        let params_len = unquoted_comma(after).unwrap_or(after.len());
        if rel_includes_next(&after[..params_len]) {
            return Some(target.trim());
        }
        rest = &after[params_len..];
    }
}

/// Where the parameters of one link end: the first comma outside a quoted string.
fn unquoted_comma(params: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (index, c) in params.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => return Some(index),
            _ => {}
        }
    }
    None
}

/// `rel=next`, `rel="next"`, `REL="prev next"`: relation types are space-separated and case-insensitive.
fn rel_includes_next(params: &str) -> bool {
    params
        .split(';')
        .filter_map(|param| param.split_once('='))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("rel"))
        .any(|(_, value)| {
            value
                .trim()
                .trim_matches('"')
                .split_ascii_whitespace()
                .any(|rel| rel.eq_ignore_ascii_case("next"))
        })
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn base() -> Url {
        Url::parse("https://acme.okta.com/").unwrap()
    }

    fn current() -> Url {
        Url::parse("https://acme.okta.com/api/v1/users?limit=2").unwrap()
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(LINK, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn next(values: &[&str]) -> Option<String> {
        next_page(&headers(values), &current(), &base())
            .unwrap()
            .map(String::from)
    }

    #[test]
    fn follows_the_next_link_among_separate_link_headers() {
        let next = next(&[
            r#"<https://acme.okta.com/api/v1/users?limit=2>; rel="self""#,
            r#"<https://acme.okta.com/api/v1/users?after=00u2&limit=2>; rel="next""#,
        ]);
        assert_eq!(
            next.as_deref(),
            Some("https://acme.okta.com/api/v1/users?after=00u2&limit=2")
        );
    }

    #[test]
    fn follows_the_next_link_in_a_comma_joined_header() {
        let next = next(&[
            r#"<https://acme.okta.com/api/v1/users?limit=2>; rel="self", <https://acme.okta.com/api/v1/users?after=00u2&limit=2>; rel="next""#,
        ]);
        assert_eq!(
            next.as_deref(),
            Some("https://acme.okta.com/api/v1/users?after=00u2&limit=2")
        );
    }

    #[test]
    fn accepts_unquoted_uppercase_and_multi_valued_rels() {
        for rel in [
            "rel=next",
            "REL=NEXT",
            r#"rel="prev next""#,
            r#"title="a, b"; rel=next"#,
        ] {
            let value = format!("<https://acme.okta.com/api/v1/users?after=x>; {rel}");
            assert!(next(&[&value]).is_some(), "{rel}");
        }
    }

    #[test]
    fn a_comma_inside_the_target_or_a_quoted_parameter_does_not_split_links() {
        let next = next(&[
            r#"<https://acme.okta.com/api/v1/users?q=a,b>; rel="self"; title="x, rel=next", <https://acme.okta.com/api/v1/users?after=y>; rel="next""#,
        ]);
        assert_eq!(next.as_deref(), Some("https://acme.okta.com/api/v1/users?after=y"));
    }

    #[test]
    fn resolves_a_relative_next_link_against_the_current_page() {
        assert_eq!(
            next(&[r#"</api/v1/users?after=00u9>; rel="next""#]).as_deref(),
            Some("https://acme.okta.com/api/v1/users?after=00u9")
        );
    }

    #[test]
    fn no_next_link_or_a_next_link_to_the_same_page_ends_paging() {
        assert_eq!(next(&[]), None);
        assert_eq!(
            next(&[r#"<https://acme.okta.com/api/v1/users?limit=2>; rel="self""#]),
            None
        );
        assert_eq!(
            next(&[r#"<https://acme.okta.com/api/v1/users?limit=2>; rel="next""#]),
            None
        );
        assert_eq!(next(&["garbage"]), None);
    }

    #[test]
    fn a_next_link_to_the_same_page_is_still_a_link_for_a_system_log_poll() {
        let same = headers(&[r#"<https://acme.okta.com/api/v1/users?limit=2>; rel="next""#]);
        assert_eq!(next_link(&same, &current(), &base()).unwrap(), Some(current()));
        assert_eq!(next_link(&headers(&[]), &current(), &base()).unwrap(), None);
        let foreign = headers(&[r#"<https://evil.example/api/v1/users>; rel="next""#]);
        assert!(matches!(
            next_link(&foreign, &current(), &base()),
            Err(OktaError::NextLink { .. })
        ));
    }

    #[test]
    fn refuses_a_next_link_that_leaves_the_org() {
        for foreign in ["https://evil.example/api/v1/users", "http://acme.okta.com/api/v1/users"] {
            let value = format!(r#"<{foreign}>; rel="next""#);
            let refused = next_page(&headers(&[&value]), &current(), &base());
            assert!(matches!(refused, Err(OktaError::NextLink { .. })), "{foreign}");
        }
    }
}
