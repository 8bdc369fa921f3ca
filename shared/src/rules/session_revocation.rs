//! Ending the role sessions a deprovisioned person still holds: disabling an Identity Center user does not end
//! the IAM role sessions it already has ("they persist for the duration configured in the permission set"). AWS
//! prescribes an explicit Deny on every action, conditioned on the person's identity-store user id, in the inline
//! policy of each permission set they held (IAM Identity Center user guide, "Revoke active IAM role sessions
//! created by permission sets" / "Deny user access"). `identitystore:userId` rather than `aws:userid`: the id is
//! globally unique and does not change when the user name or email does.

use serde_json::{Value, json};

use crate::domain::IdcUserId;

/// The statement id this auditor owns in a permission set's inline policy: re-applied, it is replaced, never added
/// twice; every other statement is kept as it is.
pub const DENY_SID: &str = "DeprovAuditDenyDeprovisionedUsers";

/// The explicit Deny for these Identity Center users (sorted, without repeats).
pub fn deny_statement(user_ids: &[IdcUserId]) -> Value {
    let mut ids: Vec<&str> = user_ids.iter().map(IdcUserId::as_str).collect();
    ids.sort_unstable();
    ids.dedup();
    json!({
        "Sid": DENY_SID,
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        // Condition key names are case-insensitive in IAM; AWS's pages spell this one both ways.
        "Condition": { "StringEquals": { "identitystore:userId": ids } }
    })
}

/// Why an inline policy could not take the Deny.
#[derive(Debug, thiserror::Error)]
pub enum InlinePolicyError {
    #[error("the permission set's inline policy is not a JSON policy document")]
    NotJson(#[source] serde_json::Error),
    #[error("the permission set's inline policy has no Statement list")]
    NoStatements,
}

/// The permission set's inline policy with the Deny for `user_ids` in it: the users already denied by an earlier
/// run are kept (a second revoke never lifts the first), every other statement is left as it was. `None` when
/// the policy already denies exactly these users (nothing to change).
pub fn with_denial(current: Option<&str>, user_ids: &[IdcUserId]) -> Result<Option<Value>, InlinePolicyError> {
    let mut policy: Value = match current.map(str::trim).filter(|text| !text.is_empty()) {
        Some(text) => serde_json::from_str(text).map_err(InlinePolicyError::NotJson)?,
        None => json!({ "Version": "2012-10-17", "Statement": [] }),
    };
    // A policy may carry one statement as an object rather than a list.
    if policy.get("Statement").is_some_and(Value::is_object) {
        let single = policy["Statement"].take();
        policy["Statement"] = Value::Array(vec![single]);
    }
    let statements = policy
        .get_mut("Statement")
        .and_then(Value::as_array_mut)
        .ok_or(InlinePolicyError::NoStatements)?;
    let ours = statements
        .iter()
        .position(|s| s.get("Sid").and_then(Value::as_str) == Some(DENY_SID));
    let mut denied: Vec<IdcUserId> = ours.map(|at| denied_users(&statements[at])).unwrap_or_default();
    denied.extend(user_ids.iter().cloned());
    let statement = deny_statement(&denied);
    match ours {
        Some(at) if statements[at] == statement => return Ok(None),
        Some(at) => statements[at] = statement,
        None => statements.push(statement),
    }
    Ok(Some(policy))
}

/// The users an existing Deny of ours names (either spelling of the key; one id or a list).
fn denied_users(statement: &Value) -> Vec<IdcUserId> {
    let Some(condition) = statement.pointer("/Condition/StringEquals").and_then(Value::as_object) else {
        return Vec::new();
    };
    condition
        .iter()
        .filter(|(key, _)| key.eq_ignore_ascii_case("identitystore:userId"))
        .flat_map(|(_, value)| match value {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        })
        .filter_map(|id| IdcUserId::parse(id).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> IdcUserId {
        IdcUserId::parse(text).expect("a user id")
    }

    const ALICE: &str = "906756d7e2-1c2b3d4e-0000-4000-8000-00000000a11c";
    const BOB: &str = "906756d7e2-1c2b3d4e-0000-4000-8000-0000000000b0";

    #[test]
    fn an_empty_permission_set_gets_a_policy_with_only_the_deny() {
        let policy = with_denial(None, &[id(ALICE)]).expect("valid").expect("a change");
        assert_eq!(policy["Statement"].as_array().map(Vec::len), Some(1));
        assert_eq!(policy["Statement"][0]["Effect"], "Deny");
        assert_eq!(
            policy["Statement"][0]["Condition"]["StringEquals"]["identitystore:userId"][0],
            ALICE
        );
    }

    #[test]
    fn other_statements_are_kept_and_earlier_denials_are_not_lifted() {
        let existing = json!({
            "Version": "2012-10-17",
            "Statement": [
                { "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*" },
                { "Sid": DENY_SID, "Effect": "Deny", "Action": "*", "Resource": "*",
                  "Condition": { "StringEquals": { "identitystore:UserId": BOB } } }
            ]
        })
        .to_string();
        let policy = with_denial(Some(&existing), &[id(ALICE)])
            .expect("valid")
            .expect("a change");
        let statements = policy["Statement"].as_array().expect("a list");
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[0]["Action"], "s3:GetObject");
        let denied = &statements[1]["Condition"]["StringEquals"]["identitystore:userId"];
        // Sorted, so the statement is the same whatever order runs added the users in.
        assert_eq!(denied, &json!([BOB, ALICE]));
    }

    #[test]
    fn applying_the_same_denial_twice_changes_nothing() {
        let once = with_denial(None, &[id(ALICE)])
            .expect("valid")
            .expect("a change")
            .to_string();
        assert!(with_denial(Some(&once), &[id(ALICE)]).expect("valid").is_none());
    }

    #[test]
    fn a_policy_that_is_not_json_is_an_error_not_a_replacement() {
        assert!(matches!(
            with_denial(Some("{not json"), &[id(ALICE)]),
            Err(InlinePolicyError::NotJson(_))
        ));
        assert!(matches!(
            with_denial(Some("{\"Version\":\"2012-10-17\"}"), &[id(ALICE)]),
            Err(InlinePolicyError::NoStatements)
        ));
    }
}
