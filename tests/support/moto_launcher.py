#!/usr/bin/env python3
"""moto 5.2.5 in server mode, with the gaps to real AWS that deprov-audit depends on closed.

    python tests/support/moto_launcher.py --host 127.0.0.1 --port PORT   (PORT 0: the OS picks one)

Prints exactly one line to stdout, `ready http://HOST:PORT`, once the socket is listening; after
that stdout is redirected to stderr and request logging is off (--verbose turns it on), so a
parent that stops reading the pipes never blocks the server. Exits when its stdin reaches EOF
(so a test process that dies takes moto with it; --no-stdin-watch for manual use) and on SIGTERM.

The patches below change moto's response classes before serving. Their state lives on moto's
backend objects, which are per (account, region): STS AssumeRole into another account isolates
it (except that a delegated administrator of IAM Identity Center reaches its management account's
instance, section 4), and POST /moto-api/reset wipes it. See ../shared/reference/moto-gaps.md (the design folder beside the repo).
"""

import argparse
import base64
import fnmatch
import hashlib
import json
import logging
import os
import signal
import sys
import threading
import uuid

from moto.cloudtrail.responses import CloudTrailResponse
from moto.core.exceptions import JsonRESTError
from moto.core.utils import unix_time
from moto.identitystore.exceptions import (
    ConflictException, ResourceNotFoundException, ValidationException)
from moto.identitystore.models import Name
from moto.identitystore.responses import IdentityStoreResponse
from moto.identitystore.models import identitystore_backends
from moto.moto_api._internal import mock_random
from moto.organizations.models import FakeDelegatedAdministrator, organizations_backends
from moto.organizations.responses import OrganizationsResponse
from moto.ssoadmin.models import PermissionSet, ssoadmin_backends
from moto.ssoadmin.responses import SSOAdminResponse
from moto.iam.models import iam_backends
from moto.sts.exceptions import STSClientError
from moto.sts.models import sts_backends
from moto.sts.responses import TokenResponse


_PATCHES = []


def _patch(cls):
    """Register fn as cls's handler for the action it is named after (moto dispatches X-Amz-Target
    `Prefix.ActionName` to the method `action_name`); fn.moto keeps moto's own handler, if any."""
    def register(fn):
        fn.moto = getattr(cls, fn.__name__, None)
        _PATCHES.append((cls, fn))
        return fn
    return register


def apply_patches():
    for cls, fn in _PATCHES:
        setattr(cls, fn.__name__, fn)
    _delegated_identity_center()


def _state(backend, key, factory):
    """Extra state kept on a moto backend (one per account and region; reset with it)."""
    return backend.__dict__.setdefault(key, factory())


def _page(items, body, default, maximum, limit_error, token_error):
    """Offset paging with an opaque token bound to the other request parameters, as AWS tokens
    are (a token replayed with different parameters is rejected)."""
    params = {k: v for k, v in body.items() if k not in ("MaxResults", "NextToken")}
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    size = body.get("MaxResults", default)
    if not isinstance(size, int) or not 1 <= size <= maximum:
        raise JsonRESTError(limit_error, f"MaxResults must be between 1 and {maximum}")
    start = 0
    if body.get("NextToken"):
        try:
            token = json.loads(base64.urlsafe_b64decode(body["NextToken"]))
            start = int(token["offset"])
            assert token["params"] == digest
        except Exception:
            raise JsonRESTError(token_error, "Invalid NextToken") from None
    end = start + size
    next_token = None
    if end < len(items):
        raw = json.dumps({"offset": end, "params": digest}).encode()
        next_token = base64.urlsafe_b64encode(raw).decode()
    return items[start:end], next_token


def _body(response):
    return json.loads(response.body or "{}")


# --- 1. identitystore: UserStatus, UpdateUser, ExternalIds ------------------------------------
# AWS: every user carries UserStatus (ENABLED at creation); DescribeUser/ListUsers return it.
# Okta deactivation (SCIM active=false) makes it DISABLED; here UpdateUser with AttributePath
# `userStatus` stands in for that. UpdateUser applies all Operations or none; an unknown path is
# a ValidationException; a missing user is a ResourceNotFoundException. ExternalIds (set in real
# AWS by SCIM, not by the CreateUser API) are accepted as an extra CreateUser body field, returned
# by DescribeUser/ListUsers and honoured by GetUserId(AlternateIdentifier.ExternalId).

_USER_PATHS = {"displayname": "DisplayName", "nickname": "NickName", "title": "Title",
               "usertype": "UserType", "profileurl": "ProfileUrl", "locale": "Locale",
               "preferredlanguage": "PreferredLanguage", "timezone": "Timezone"}
_NAME_PATHS = {"name.givenname": "GivenName", "name.familyname": "FamilyName",
               "name.middlename": "MiddleName", "name.formatted": "Formatted"}


def _user_extras(self):
    return _state(self.identitystore_backend, "_deprov_user_extras", dict)


def _with_extras(self, user):
    extras = _user_extras(self).get(user["UserId"], {})
    user["UserStatus"] = extras.get("UserStatus", "ENABLED")
    user.pop("ExternalIds", None)  # moto answers null
    if extras.get("ExternalIds"):
        user["ExternalIds"] = extras["ExternalIds"]
    return user


@_patch(IdentityStoreResponse)
def create_user(self):
    external_ids = _body(self).get("ExternalIds") or []
    taken = [x for e in _user_extras(self).values() for x in e.get("ExternalIds", [])]
    if any(x in taken for x in external_ids):
        raise ConflictException(message="Duplicate ExternalId", reason="UNIQUENESS_CONSTRAINT_VIOLATION")
    out = create_user.moto(self)
    _user_extras(self)[json.loads(out)["UserId"]] = {"UserStatus": "ENABLED", "ExternalIds": external_ids}
    return out


@_patch(IdentityStoreResponse)
def update_user(self):
    body = _body(self)
    store_id, user_id = body.get("IdentityStoreId", ""), body.get("UserId")
    user = self.identitystore_backend.describe_user(store_id, user_id)  # ResourceNotFoundException
    status = _user_extras(self).get(user_id, {}).get("UserStatus", "ENABLED")
    if not body.get("Operations"):
        raise ValidationException(message="Operations must not be empty")
    for op in body["Operations"]:
        path, value = op.get("AttributePath", ""), op.get("AttributeValue")
        if path.lower() == "userstatus" and value in ("ENABLED", "DISABLED"):
            status = value
        elif path.lower() in _USER_PATHS:
            user = user._replace(**{_USER_PATHS[path.lower()]: value})
        elif path.lower() in _NAME_PATHS:
            name = user.Name or Name(*[None] * len(Name._fields))
            user = user._replace(Name=name._replace(**{_NAME_PATHS[path.lower()]: value}))
        else:
            raise ValidationException(message=f"Invalid update for attribute path {path}: {value!r}")
    self.identitystore_backend.identity_stores[store_id].users[user_id] = user
    _user_extras(self).setdefault(user_id, {})["UserStatus"] = status
    return json.dumps({"IdentityStoreId": store_id, "UserId": user_id})


@_patch(IdentityStoreResponse)
def describe_user(self):
    return json.dumps(_with_extras(self, json.loads(describe_user.moto(self))))


@_patch(IdentityStoreResponse)
def list_users(self):
    out = json.loads(list_users.moto(self))
    out["Users"] = [_with_extras(self, u) for u in out["Users"]]
    return json.dumps(out)


@_patch(IdentityStoreResponse)
def get_user_id(self):
    body = _body(self)
    wanted = (body.get("AlternateIdentifier") or {}).get("ExternalId")
    if wanted is None:
        return get_user_id.moto(self)
    store = self.identitystore_backend.identity_stores.get(body.get("IdentityStoreId"))
    for user_id, extras in _user_extras(self).items():
        if store and user_id in store.users and wanted in extras.get("ExternalIds", []):
            return json.dumps({"UserId": user_id, "IdentityStoreId": body["IdentityStoreId"]})
    raise ResourceNotFoundException(message="USER not found.", resource_type="USER")


@_patch(IdentityStoreResponse)
def delete_user(self):
    out = delete_user.moto(self)
    _user_extras(self).pop(_body(self).get("UserId"), None)
    return out


# --- 2. sso-admin: provisioning per account ---------------------------------------------------
# AWS: a permission set is provisioned to an account when its first assignment there is made;
# ProvisionPermissionSet(TargetType=AWS_ACCOUNT, TargetId) provisions to that one account, and
# ALL_PROVISIONED_ACCOUNTS re-provisions the accounts it already has (adds none).
# ListPermissionSetsProvisionedToAccount lists, once each, the sets provisioned to AccountId;
# ListAccountsForProvisionedPermissionSet lists the accounts a set is provisioned to. Both page
# with MaxResults (1-100) / NextToken. Deleting an assignment leaves the set provisioned.
# Permission set ARNs take AWS's form (see generate_id below).
# (ListAccountAssignments already pages correctly in moto 5.2.5; it is left as it is.)
# Versions: PutInlinePolicyToPermissionSet / DeleteInlinePolicyFromPermissionSet leave the set's
# accounts at an older version (ProvisioningStatus LATEST_PERMISSION_SET_NOT_PROVISIONED) until the
# set is provisioned to them again; both list calls filter on ProvisioningStatus. Provisioning
# completes at once: ProvisionPermissionSet answers SUCCEEDED with a RequestId, and
# DescribePermissionSetProvisioningStatus answers that request (an unknown id: ResourceNotFound).


def _provisioned(self):
    """{(instance_arn, permission_set_arn): [account ids, in provisioning order]}"""
    return _state(self.ssoadmin_backend, "_deprov_provisioned", dict)


def _stale(self):
    """{(instance_arn, permission_set_arn): {account ids not at the set's latest version}}"""
    return _state(self.ssoadmin_backend, "_deprov_stale", dict)


def _provision(self, instance_arn, ps_arn, account_id):
    accounts = _provisioned(self).setdefault((instance_arn, ps_arn), [])
    if account_id not in accounts:
        accounts.append(account_id)
    _stale(self).get((instance_arn, ps_arn), set()).discard(account_id)


def _edited(self, body):
    key = (body.get("InstanceArn"), body.get("PermissionSetArn"))
    _stale(self)[key] = set(_provisioned(self).get(key, []))


@_patch(SSOAdminResponse)
def put_inline_policy_to_permission_set(self):
    out = put_inline_policy_to_permission_set.moto(self)
    _edited(self, _body(self))
    return out


@_patch(SSOAdminResponse)
def delete_inline_policy_from_permission_set(self):
    out = delete_inline_policy_from_permission_set.moto(self)
    _edited(self, _body(self))
    return out


@_patch(SSOAdminResponse)
def create_account_assignment(self):
    body = _body(self)
    _refuse_on_management_account(self, "CreateAccountAssignment", body.get("TargetId"))  # section 4
    # An unknown permission set is a ResourceNotFoundException, as in AWS:
    self.ssoadmin_backend._find_permission_set(body.get("InstanceArn"), body.get("PermissionSetArn"))
    out = create_account_assignment.moto(self)
    _provision(self, body["InstanceArn"], body["PermissionSetArn"], body.get("TargetId"))
    return out


@_patch(SSOAdminResponse)
def provision_permission_set(self):
    body = _body(self)
    instance_arn, ps_arn = body.get("InstanceArn"), body.get("PermissionSetArn")
    self.ssoadmin_backend._find_permission_set(instance_arn, ps_arn)  # ResourceNotFoundException
    status = {"CreatedDate": unix_time(), "PermissionSetArn": ps_arn,
              "RequestId": str(uuid.uuid4()), "Status": "SUCCEEDED"}
    if body.get("TargetType") == "AWS_ACCOUNT":
        _refuse_on_management_account(self, "ProvisionPermissionSet", body.get("TargetId"))  # section 4
        if not body.get("TargetId"):
            raise JsonRESTError("ValidationException", "TargetId is required for TargetType AWS_ACCOUNT")
        _provision(self, instance_arn, ps_arn, body["TargetId"])
        status["AccountId"] = body["TargetId"]
    elif body.get("TargetType") == "ALL_PROVISIONED_ACCOUNTS":
        _stale(self).pop((instance_arn, ps_arn), None)
    else:
        raise JsonRESTError("ValidationException", "TargetType must be AWS_ACCOUNT or ALL_PROVISIONED_ACCOUNTS")
    _state(self.ssoadmin_backend, "_deprov_requests", dict)[status["RequestId"]] = dict(status)
    return json.dumps({"PermissionSetProvisioningStatus": status})


@_patch(SSOAdminResponse)
def describe_permission_set_provisioning_status(self):
    body = _body(self)
    status = _state(self.ssoadmin_backend, "_deprov_requests", dict).get(body.get("ProvisionPermissionSetRequestId"))
    if status is None:
        raise JsonRESTError("ResourceNotFoundException", "No provisioning request with this id")
    return json.dumps({"PermissionSetProvisioningStatus": status})


def _sso_page(self, items, key, is_stale):
    body = _body(self)
    wanted = body.get("ProvisioningStatus")
    if wanted == "LATEST_PERMISSION_SET_NOT_PROVISIONED":
        items = [i for i in items if is_stale(i)]
    elif wanted == "LATEST_PERMISSION_SET_PROVISIONED":
        items = [i for i in items if not is_stale(i)]
    page, token = _page(items, body, 100, 100, "ValidationException", "ValidationException")
    return json.dumps({key: page, **({"NextToken": token} if token else {})})


@_patch(SSOAdminResponse)
def list_permission_sets_provisioned_to_account(self):
    body = _body(self)
    arns = [ps for (inst, ps), accounts in _provisioned(self).items()
            if inst == body.get("InstanceArn") and body.get("AccountId") in accounts]
    stale = _stale(self)
    return _sso_page(self, arns, "PermissionSets",
                     lambda ps: body.get("AccountId") in stale.get((body.get("InstanceArn"), ps), ()))


@_patch(SSOAdminResponse)
def list_accounts_for_provisioned_permission_set(self):
    body = _body(self)
    self.ssoadmin_backend._find_permission_set(body.get("InstanceArn"), body.get("PermissionSetArn"))
    key = (body["InstanceArn"], body["PermissionSetArn"])
    accounts = _provisioned(self).get(key, [])
    stale = _stale(self).get(key, set())
    return _sso_page(self, list(accounts), "AccountIds", lambda account: account in stale)


@_patch(SSOAdminResponse)
def delete_permission_set(self):
    out = delete_permission_set.moto(self)
    body = _body(self)
    _provisioned(self).pop((body.get("InstanceArn"), body.get("PermissionSetArn")), None)
    _stale(self).pop((body.get("InstanceArn"), body.get("PermissionSetArn")), None)
    return out


# AWS: permission set ARNs are arn:aws:sso:::permissionSet/ssoins-<id>/ps-<id>. moto 5.2.5 mints the
# instance ARN plus /ps-<id> (arn:aws:sso:::instance/ssoins-<id>/ps-<id>), which a client that checks
# ARNs rightly rejects. moto itself only ever compares whole ARNs or takes the part after the last '/'.


@_patch(PermissionSet)
def generate_id(instance_arn):  # a staticmethod in moto; always called on the class
    ps_id = mock_random.get_random_string(length=16).lower()
    return instance_arn.replace(":instance/", ":permissionSet/", 1) + "/ps-" + ps_id


# --- 3. CloudTrail LookupEvents over seeded events --------------------------------------------
# AWS: LookupEvents takes at most one LookupAttribute (more: InvalidLookupAttributesException),
# StartTime/EndTime inclusive (start after end: InvalidTimeRangeException), answers newest first,
# MaxResults 1-50 (default 50), and a NextToken valid only with the same parameters. Throttled
# calls answer HTTP 400 ThrottlingException. Test-only actions (same JSON protocol and target
# prefix) seed events and inject throttling, per (account, region):
#   ...CloudTrail_20131101.SeedLookupEventsForTest     {"Events": [{EventId, EventName, EventTime,
#       EventSource?, Username?, ReadOnly?, AccessKeyId?, Resources?, CloudTrailEvent?}]}
#   ...CloudTrail_20131101.ThrottleLookupEventsForTest {"Count": N}  (next N LookupEvents throttle)

_LOOKUP_KEYS = ("EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName",
                "EventSource", "AccessKeyId")
_EVENT_FIELDS = ("EventId", "EventName", "ReadOnly", "AccessKeyId", "EventTime", "EventSource",
                 "Username", "Resources", "CloudTrailEvent")


@_patch(CloudTrailResponse)
def seed_lookup_events_for_test(self):
    events = _body(self).get("Events") or []
    for e in events:
        if not all(k in e for k in ("EventId", "EventName", "EventTime")):
            raise JsonRESTError("ValidationException", "EventId, EventName and EventTime are required")
        if isinstance(e.get("ReadOnly"), bool):
            e["ReadOnly"] = "true" if e["ReadOnly"] else "false"  # AWS answers a string
    _state(self.cloudtrail_backend, "_deprov_events", list).extend(events)
    return json.dumps({"Seeded": len(events)})


@_patch(CloudTrailResponse)
def throttle_lookup_events_for_test(self):
    self.cloudtrail_backend.__dict__["_deprov_throttle"] = int(_body(self).get("Count", 1))
    return "{}"


def _matches(event, attr):
    key, value = attr.get("AttributeKey"), attr.get("AttributeValue")
    if key == "ResourceType":
        return any(r.get("ResourceType") == value for r in event.get("Resources") or [])
    if key == "ResourceName":
        return any(r.get("ResourceName") == value for r in event.get("Resources") or [])
    return event.get(key) == value


@_patch(CloudTrailResponse)
def lookup_events(self):
    backend = self.cloudtrail_backend
    if backend.__dict__.get("_deprov_throttle", 0) > 0:
        backend.__dict__["_deprov_throttle"] -= 1
        raise JsonRESTError("ThrottlingException", "Rate exceeded")
    body = _body(self)
    attrs = body.get("LookupAttributes") or []
    if len(attrs) > 1 or any(a.get("AttributeKey") not in _LOOKUP_KEYS for a in attrs):
        raise JsonRESTError("InvalidLookupAttributesException",
                            "Lookup attributes must be at most one, with a supported AttributeKey")
    start, end = body.get("StartTime"), body.get("EndTime")
    if start is not None and end is not None and float(start) > float(end):
        raise JsonRESTError("InvalidTimeRangeException", "StartTime must not be after EndTime")
    events = [e for e in _state(backend, "_deprov_events", list)
              if all(_matches(e, a) for a in attrs)
              and (start is None or float(e["EventTime"]) >= float(start))
              and (end is None or float(e["EventTime"]) <= float(end))
              and body.get("EventCategory") != "insight"]
    events.sort(key=lambda e: float(e["EventTime"]), reverse=True)  # stable for equal times
    page, token = _page(events, body, 50, 50, "InvalidMaxResultsException", "InvalidNextTokenException")
    out = {"Events": [{k: e[k] for k in _EVENT_FIELDS if k in e} for e in page]}
    if token:
        out["NextToken"] = token
    return json.dumps(out)

# --- 3b. Bulk seed (test-only) ------------------------------------------------------------------
# An org of 10,000 users and 20,000 assignments takes ~50,000 API calls to seed one by one; the bench seeds it
# in one request instead, through moto's own backend methods (so what it creates is what the API would):
#   SWBExternalService.SeedOrgForTest {"IdentityStoreId", "InstanceArn",
#       "Users": [{"UserName", "Status"?: "ENABLED"|"DISABLED"}],
#       "Groups": [{"DisplayName", "Members": [user index]}],
#       "PermissionSets": [{"Name", "SessionDuration"}],
#       "Assignments": [{"AccountId", "PermissionSet": index, "PrincipalType": "USER"|"GROUP", "Principal": index}]}
#   → {"UserIds": [...], "GroupIds": [...], "PermissionSetArns": [...]}
# Each assignment provisions its set to its account, as CreateAccountAssignment does (section 2).


@_patch(SSOAdminResponse)
def seed_org_for_test(self):
    body = _body(self)
    store_id, instance_arn = body["IdentityStoreId"], body["InstanceArn"]
    store = identitystore_backends[_identity_center_home(self.current_account)][self.region]
    extras = _state(store, "_deprov_user_extras", dict)
    user_ids = []
    for user in body.get("Users") or []:
        name = user["UserName"]
        given = name.split("@")[0]
        user_id, _ = store.create_user(
            store_id, name, {"GivenName": given, "FamilyName": "Example"}, given, None, None,
            [{"Value": name, "Type": "work", "Primary": True}], None, None, None, None, None, None, None)
        extras[user_id] = {"UserStatus": user.get("Status", "ENABLED"), "ExternalIds": []}
        user_ids.append(user_id)
    group_ids = []
    for group in body.get("Groups") or []:
        group_id, _ = store.create_group(store_id, group["DisplayName"], None)
        for member in group.get("Members") or []:
            store.create_group_membership(store_id, group_id, {"UserId": user_ids[member]})
        group_ids.append(group_id)
    set_arns = []
    for ps in body.get("PermissionSets") or []:
        created = self.ssoadmin_backend.create_permission_set(
            ps["Name"], None, instance_arn, ps["SessionDuration"], None, [])
        set_arns.append(created["PermissionSetArn"])
    for a in body.get("Assignments") or []:
        principals = user_ids if a["PrincipalType"] == "USER" else group_ids
        ps_arn = set_arns[a["PermissionSet"]]
        self.ssoadmin_backend.create_account_assignment(
            instance_arn, a["AccountId"], "AWS_ACCOUNT", ps_arn, a["PrincipalType"], principals[a["Principal"]])
        _provision(self, instance_arn, ps_arn, a["AccountId"])
    return json.dumps({"UserIds": user_ids, "GroupIds": group_ids, "PermissionSetArns": set_arns})


# --- 4. IAM Identity Center administered from a delegated administrator account ---------------
# AWS: the organization's Identity Center instance lives in the management account; the management
# account registers one member account as delegated administrator with Organizations
# RegisterDelegatedAdministrator(ServicePrincipal="sso.amazonaws.com"), and that account then
# administers the same instance (ListInstances answers it, OwnerAccountId the management account) and
# its identity store. moto 5.2.5 refuses the sso.amazonaws.com principal and keeps one instance per
# account; here a registered delegate's sso-admin and identitystore calls reach the management
# account's backends. Some calls stay the management account's own:
#   - ListAccountAssignmentsForPrincipal: "This action must be called from the management account
#     containing your organization instance of IAM Identity Center." (sso-admin API Reference)
#   - ListApplicationAssignmentsForPrincipal: "You must provide a filter when calling this action from
#     a member account against your organization instance of IAM Identity Center." (API Reference)
#   - Create/DeleteAccountAssignment and ProvisionPermissionSet on the management account: a delegated
#     administrator can perform every task "except for: ... Managing permission sets provisioned in the
#     management account" (IAM Identity Center User Guide, Register a member account). Only these calls
#     that target the management account are refused here, not edits of such a permission set.
#     Reading assignments there is not refused: AWS does not say it is (UNVERIFIED either way).
# Refused calls answer AccessDeniedException (HTTP 400, the sso-admin model's error); AWS's exact
# message for them is UNVERIFIED, so ours says what was refused and why.
# Organizations read-only calls a delegate makes (ListAccounts) answer the management account's
# organization ("A delegated administrator account also has these read-only permissions",
# Organizations User Guide); from a member account that is no delegate they answer AWS's
# AccessDeniedException "You don't have permissions to access this resource."

_SSO_PRINCIPAL = "sso.amazonaws.com"


def _management_account_of(account_id):
    """(management account id, partition) of the organization account_id is a member of, or None."""
    return organizations_backends.master_accounts.get(account_id)


def _delegated_services(account_id):
    """The service principals account_id is registered as delegated administrator for."""
    owner = _management_account_of(account_id)
    if owner is None:
        return set()
    org = organizations_backends[owner[0]][owner[1]]
    return {svc for admin in org.admins if admin.account.id == account_id for svc in admin.services}


def _identity_center_home(account_id):
    """The account whose Identity Center instance account_id administers: the management account when
    account_id is its delegated administrator for IAM Identity Center, else account_id itself."""
    if _SSO_PRINCIPAL in _delegated_services(account_id):
        return _management_account_of(account_id)[0]
    return account_id


def _delegated_identity_center():
    if _SSO_PRINCIPAL not in FakeDelegatedAdministrator.SUPPORTED_SERVICES:
        FakeDelegatedAdministrator.SUPPORTED_SERVICES.append(_SSO_PRINCIPAL)
    SSOAdminResponse.ssoadmin_backend = property(
        lambda self: ssoadmin_backends[_identity_center_home(self.current_account)][self.region])
    IdentityStoreResponse.identitystore_backend = property(
        lambda self: identitystore_backends[_identity_center_home(self.current_account)][self.region])


def _refuse_delegate(self, operation, why):
    """AccessDeniedException when the caller administers another account's instance as its delegate."""
    home = _identity_center_home(self.current_account)
    if home != self.current_account:
        raise JsonRESTError(
            "AccessDeniedException",
            f"{operation} refused to delegated administrator account {self.current_account}: {why} "
            f"(management account {home})")


@_patch(SSOAdminResponse)
def list_account_assignments_for_principal(self):
    _refuse_delegate(self, "ListAccountAssignmentsForPrincipal",
                     "this action must be called from the management account")
    return list_account_assignments_for_principal.moto(self)


@_patch(SSOAdminResponse)
def list_application_assignments_for_principal(self):
    if not _body(self).get("Filter"):
        _refuse_delegate(self, "ListApplicationAssignmentsForPrincipal",
                         "a member account must provide a Filter")
    if list_application_assignments_for_principal.moto is None:
        raise NotImplementedError("The list_application_assignments_for_principal action has not been implemented")
    return list_application_assignments_for_principal.moto(self)


def _refuse_on_management_account(self, operation, target_id):
    if target_id == _identity_center_home(self.current_account):
        _refuse_delegate(self, operation, "permission sets in the management account are its own to manage")


@_patch(SSOAdminResponse)
def delete_account_assignment(self):
    _refuse_on_management_account(self, "DeleteAccountAssignment", _body(self).get("TargetId"))
    return delete_account_assignment.moto(self)


@_patch(OrganizationsResponse)
def list_accounts(self):
    owner = _management_account_of(self.current_account)
    if owner is None:  # the management account itself, or an account outside any organization
        return list_accounts.moto(self)
    if not _delegated_services(self.current_account):
        raise JsonRESTError("AccessDeniedException", "You don't have permissions to access this resource.")
    accounts, next_token = organizations_backends[owner[0]][owner[1]].list_accounts(
        max_results=self._get_int_param("MaxResults"), next_token=self._get_param("NextToken"))
    return json.dumps({"Accounts": accounts, "NextToken": next_token})


# --- 5. STS AssumeRole honours the trust policy of a role that exists ---------------------------
# AWS: AssumeRole succeeds only when the role exists and its trust policy lets the caller assume it;
# otherwise "AccessDenied: User: <caller arn> is not authorized to perform: sts:AssumeRole on
# resource: <role arn>" (HTTP 403). moto 5.2.5 assumes any ARN, existing or not. Tests enter fresh
# accounts through roles that do not exist, so that stays; but a role that *does* exist in the target
# account's IAM is checked here: an Allow statement for sts:AssumeRole (or sts:*, *) whose Principal.AWS
# names the caller's account (id or :root), the caller's role ARN, or *, and whose Condition, if any,
# holds. Conditions understood: ArnLike/ArnEquals/StringLike/StringEquals on aws:PrincipalArn (the
# caller's role ARN, or its account root for non-role credentials); any other condition does not hold
# (fails closed). Deny statements are not evaluated. The error is answered as moto's STS errors are
# (HTTP 400, code AccessDenied).

_CONDITION_TESTS = {
    "ArnLike": fnmatch.fnmatchcase, "StringLike": fnmatch.fnmatchcase,
    "ArnEquals": lambda value, pattern: value == pattern,
    "StringEquals": lambda value, pattern: value == pattern,
}


def _as_list(value):
    return value if isinstance(value, list) else [] if value is None else [value]


def _conditions_hold(condition, principal_arn):
    for operator, tests in (condition or {}).items():
        test = _CONDITION_TESTS.get(operator)
        if test is None or not isinstance(tests, dict):
            return False
        for key, patterns in tests.items():
            if key.lower() != "aws:principalarn":
                return False
            if not any(test(principal_arn, pattern) for pattern in _as_list(patterns)):
                return False
    return True


def _trust_allows(document, caller_account, principal_arn, partition):
    policy = json.loads(document) if isinstance(document, str) else document
    for statement in _as_list(policy.get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        if not any(a in ("sts:AssumeRole", "sts:*", "*") for a in _as_list(statement.get("Action"))):
            continue
        principal = statement.get("Principal")
        named = ["*"] if principal == "*" else _as_list((principal or {}).get("AWS"))
        callers = {"*", caller_account, f"arn:{partition}:iam::{caller_account}:root", principal_arn}
        if any(p in callers for p in named) and _conditions_hold(statement.get("Condition"), principal_arn):
            return True
    return False


@_patch(TokenResponse)
def assume_role(self):
    role_arn = self._get_param("RoleArn") or ""
    parts = role_arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("role/"):
        partition, target_account, role_name = parts[1], parts[4], parts[5].rsplit("/", 1)[-1]
        role = next((r for r in iam_backends[target_account][partition].roles.values()
                     if r.name == role_name), None)
        if role is not None:
            caller = sts_backends[self.current_account][partition].get_assumed_role_from_access_key(
                self.get_access_key())
            if caller is not None:
                caller_account, principal_arn = caller.account_id, caller.role_arn
                caller_arn = caller.arn
            else:
                caller_account = self.current_account
                principal_arn = caller_arn = f"arn:{partition}:iam::{caller_account}:root"
            if not _trust_allows(role.assume_role_policy_document, caller_account, principal_arn, partition):
                raise STSClientError(
                    "AccessDenied",
                    f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}")
    return assume_role.moto(self)
# --- 6. Athena over CloudTrail log files in S3, run in DuckDB -----------------------------------
# moto 5.2.5 answers StartQueryExecution with canned results. Here the *real query text* runs in
# DuckDB over the CloudTrail log files seeded in moto S3 (gzip JSON `{"Records":[...]}`), so the
# adapter's SQL, parameters, paging and states are tried for real. AWS behaviour kept:
#   - StartQueryExecution needs an existing WorkGroup and an output location (the request's
#     ResultConfiguration or the workgroup's): else InvalidRequestException, as in AWS.
#   - `CREATE DATABASE x` and `CREATE EXTERNAL TABLE` (docs/athena-org-trail.sql as written) define
#     tables, per (account, region). A table's columns are exactly the DDL's: a query naming any
#     other column fails, as in Athena. The JSON SerDe reads keys case-insensitively and gives a
#     STRING column holding a JSON object its JSON text; both are done on loading.
#   - Partition projection: partition columns are read from each object key through
#     `storage.location.template` (a `date` column's `projection.<col>.format` becomes its pattern).
#     An `injected` column the WHERE clause does not name with `=` or `IN (` fails with Athena's
#     documented CONSTRAINT_VIOLATION (a textual check, not a planner).
#   - ExecutionParameters: each is a SQL literal ('text' with '' for a quote, or a number), bound to
#     the query's `?` in order; any other form fails the query (INVALID_PARAMETER, UNVERIFIED text).
#   - GetQueryExecution: Status.State QUEUED/RUNNING/SUCCEEDED/FAILED/CANCELLED, a FAILED query's
#     StateChangeReason (the engine's message, as Athena gives Trino's) and AthenaError.
#   - GetQueryResults: Athena's wire shape: the header row (column labels) first on the first page,
#     then each value as VarCharValue (NULL: no VarCharValue), MaxResults 1-1000 (default 1000),
#     NextToken; before SUCCEEDED an InvalidRequestException. StopQueryExecution cancels.
# Not emulated: result CSVs written to the output location, query cost, DDL beyond these two forms.
# Trino/DuckDB differences: the functions the adapters use (starts_with, split_part, lower, IN,
# BETWEEN, struct field access) behave alike in both; where one does not, add a DuckDB macro to
# _TRINO_MACROS below (documented), never change the production SQL.
# Test-only action (same JSON target prefix):
#   AmazonAthena.HoldQueriesForTest {"Polls": N}  the next queries answer QUEUED, then RUNNING, for
#                                                 N GetQueryExecution polls before their end state
#                                                 (N = -1: they never end until stopped).

import datetime as _dt
import gzip
import re
import tempfile

from moto.athena.responses import AthenaResponse
from moto.s3.models import s3_backends

_TRINO_MACROS = [
    # Trino's from_iso8601_timestamp, for queries that compare times as timestamps.
    "CREATE OR REPLACE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)",
]


def _split_top(text, sep=","):
    """Split at `sep` outside <...> and (...)."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts]


def _parse_type(text):
    """Hive type text -> ('string'|'bigint'|..., ) | ('struct', [(name, type)]) | ('array', type)."""
    text = text.strip()
    low = text.lower()
    if low.startswith("struct<") and low.endswith(">"):
        fields = []
        for part in _split_top(text[7:-1]):
            name, _, rest = part.partition(":")
            fields.append((name.strip().strip("`").lower(), _parse_type(rest)))
        return ("struct", fields)
    if low.startswith("array<") and low.endswith(">"):
        return ("array", _parse_type(text[6:-1]))
    return (low,)


_DUCK_SCALARS = {"string": "VARCHAR", "varchar": "VARCHAR", "bigint": "BIGINT", "int": "INTEGER",
                 "integer": "INTEGER", "boolean": "BOOLEAN", "double": "DOUBLE", "timestamp": "TIMESTAMP"}


def _duck_type(t):
    if t[0] == "struct":
        return "STRUCT(" + ", ".join(f'"{n}" {_duck_type(ft)}' for n, ft in t[1]) + ")"
    if t[0] == "array":
        return _duck_type(t[1]) + "[]"
    return _DUCK_SCALARS.get(t[0], "VARCHAR")


def _convert(value, t):
    """A JSON value read as the declared type, as the JSON SerDe does (case-insensitive keys; an
    object or array in a STRING column is its JSON text)."""
    if value is None:
        return None
    if t[0] == "struct":
        if not isinstance(value, dict):
            return None
        lower = {k.lower(): v for k, v in value.items()}
        return {n: _convert(lower.get(n), ft) for n, ft in t[1]}
    if t[0] == "array":
        return [_convert(v, t[1]) for v in value] if isinstance(value, list) else None
    if t[0] in ("string", "varchar"):
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        return json.dumps(value, separators=(",", ":"))
    if t[0] == "timestamp" and isinstance(value, str):
        return value.replace("T", " ").rstrip("Z")
    return value


def _columns(text):
    """'(a STRING, b STRUCT<...>)' body -> [(name, type)]."""
    out = []
    for part in _split_top(text):
        name, _, rest = part.strip().partition(" ")
        out.append((name.strip("`").lower(), _parse_type(rest)))
    return out


def _balanced(text, start):
    """The text inside the parenthesis that opens at text[start]."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return text[start + 1:i], i + 1
    raise ValueError("unbalanced parentheses")


def _parse_ddl(sql):
    """CREATE EXTERNAL TABLE [IF NOT EXISTS] [db.]name (cols) PARTITIONED BY (cols) ... LOCATION '...'
    TBLPROPERTIES ('k'='v', ...) -> (db or None, name, table)."""
    sql = re.sub(r"--[^\n]*", "", sql)
    head = re.match(r"\s*CREATE\s+EXTERNAL\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?([`\w.]+)\s*", sql, re.I)
    if not head:
        raise ValueError("not a CREATE EXTERNAL TABLE statement")
    qualified = head.group(2).replace("`", "").lower()
    db, _, name = qualified.rpartition(".")
    body, pos = _balanced(sql, head.end())
    rest = sql[pos:]
    partitions = []
    m = re.search(r"PARTITIONED\s+BY\s*\(", rest, re.I)
    if m:
        inner, _ = _balanced(rest, m.end() - 1)
        partitions = _columns(inner)
    loc = re.search(r"LOCATION\s+'([^']*)'", rest, re.I)
    props = {}
    m = re.search(r"TBLPROPERTIES\s*\(", rest, re.I)
    if m:
        inner, _ = _balanced(rest, m.end() - 1)
        props = dict(re.findall(r"""['"]([^'"]+)['"]\s*=\s*['"]([^'"]*)['"]""", inner))
    return db or None, name, {"columns": _columns(body), "partitions": partitions,
                              "location": loc.group(1) if loc else None, "properties": props}


def _athena_tables(backend):
    return _state(backend, "_deprov_tables", dict)


def _key_pattern(table):
    """A regex over S3 object keys that yields the partition columns (partition projection)."""
    props = table["properties"]
    template = props.get("storage.location.template") or table["location"].rstrip("/")
    bucket, _, prefix = template[len("s3://"):].partition("/")
    out, pos = "", 0
    for m in re.finditer(r"\$\{(\w+)\}", prefix):
        out += re.escape(prefix[pos:m.start()])
        col = m.group(1).lower()
        fmt = props.get(f"projection.{col}.format")
        if props.get(f"projection.{col}.type") == "date" and fmt:
            pattern = re.escape(fmt)
            for token, rx in (("yyyy", r"\d{4}"), ("MM", r"\d{2}"), ("dd", r"\d{2}"), ("HH", r"\d{2}")):
                pattern = pattern.replace(token, rx)
        else:
            pattern = r"[^/]+"
        out += f"(?P<{col}>{pattern})"
        pos = m.end()
    out += re.escape(prefix[pos:])
    return bucket, re.compile("^" + out + r"/(?:.*/)?[^/]+$")


def _s3_objects(account_id, bucket_name):
    bucket = s3_backends[account_id]["aws"].buckets.get(bucket_name)
    if bucket is None:
        return []
    return [(name, key.value) for name, key in bucket.keys.items()]


def _records(blob):
    try:
        data = gzip.decompress(blob) if blob[:2] == b"\x1f\x8b" else blob
        return json.loads(data).get("Records") or []
    except Exception:
        return []  # not a CloudTrail log file (a digest, a folder marker): skipped, as the SerDe would


def _load_table(con, account_id, schema, name, table):
    cols = table["columns"] + table["partitions"]
    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    ddl = ", ".join(f'"{n}" {_duck_type(t)}' for n, t in cols)
    con.execute(f'CREATE TABLE "{schema}"."{name}" ({ddl})')
    bucket, pattern = _key_pattern(table)
    rows = []
    for key, blob in _s3_objects(account_id, bucket):
        m = pattern.match(key)
        if not m:
            continue
        for record in _records(blob):
            lower = {k.lower(): v for k, v in record.items()}
            row = {n: _convert(lower.get(n), t) for n, t in table["columns"]}
            row.update({n: m.group(n) for n, _ in table["partitions"]})
            rows.append(row)
    _insert(con, f'"{schema}"."{name}"', cols, rows)


def _insert(con, target, cols, rows):
    if not rows:
        return
    with tempfile.NamedTemporaryFile("w", suffix=".ndjson", delete=False) as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
        path = f.name
    try:
        spec = "{" + ", ".join(f"'{n}': '{_duck_type(t)}'" for n, t in cols) + "}"
        names = ", ".join(f'"{n}"' for n, _ in cols)
        con.execute(f"INSERT INTO {target} SELECT {names} FROM read_json('{path}', "
                    f"format='newline_delimited', columns={spec})")
    finally:
        os.unlink(path)


def _sql_literal(text):
    """One ExecutionParameters entry -> a Python value; None when it is no literal."""
    text = text.strip()
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'":
        inner = text[1:-1]
        if re.search(r"(?<!')'(?!')", inner.replace("''", "")):
            return None
        return inner.replace("''", "'")
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d*", text):
        return float(text)
    return None


def _duck_run(sql, params, load):
    """Runs sql in a fresh DuckDB with tables loaded by load(con); (columns, rows) or raises
    duckdb.Error."""
    import duckdb
    con = duckdb.connect(":memory:")
    try:
        for macro in _TRINO_MACROS:
            con.execute(macro)
        load(con)
        cur = con.execute(sql, params)
        columns = [d[0] for d in cur.description]
        return columns, cur.fetchall()
    finally:
        con.close()


def _athena_queries(self):
    return _state(self.athena_backend, "_deprov_queries", dict)


class _AthenaFailure(Exception):
    def __init__(self, reason, error_type=1301, category=2):
        super().__init__(reason)
        self.reason, self.error_type, self.category = reason, error_type, category


def _athena_run(self, sql, params, database):
    """(statement type, columns, rows) or raises _AthenaFailure."""
    backend = self.athena_backend
    tables = _athena_tables(backend)
    stripped = re.sub(r"--[^\n]*", "", sql).strip()
    m = re.fullmatch(r"CREATE\s+DATABASE\s+(IF\s+NOT\s+EXISTS\s+)?`?(\w+)`?\s*;?", stripped, re.I)
    if m:
        _state(backend, "_deprov_databases", set).add(m.group(2).lower())
        return "DDL", [], []
    if re.match(r"CREATE\s+EXTERNAL\s+TABLE", stripped, re.I):
        try:
            db, name, table = _parse_ddl(stripped)
        except ValueError as e:
            raise _AthenaFailure(f"line 1:1: mismatched input. {e}", 1303, 2) from None
        db = db or database
        if db not in _state(backend, "_deprov_databases", set) | {"default"}:
            raise _AthenaFailure(f"SCHEMA_NOT_FOUND: Database {db} does not exist", 1301)
        tables[(db, name)] = table
        return "DDL", [], []
    values = [_sql_literal(p) for p in params]
    if any(v is None for v in values):
        raise _AthenaFailure("INVALID_PARAMETER: an execution parameter is not a SQL literal", 1303)
    for (db, name), table in tables.items():
        if re.search(rf'"?{db}"?\."?{name}"?\b', sql, re.I) or (db == database and re.search(rf'\b{name}\b', sql, re.I)):
            for col, _ in table["partitions"]:
                if table["properties"].get(f"projection.{col}.type") == "injected" and not re.search(
                        rf'\b"?{col}"?\s*(=|IN\s*\()', sql, re.I):
                    raise _AthenaFailure(
                        f"CONSTRAINT_VIOLATION: For the injected projected partition column {col}, the WHERE "
                        "clause must contain only static equality conditions, and at least one such "
                        "condition must be present.", 1303)
    account = self.current_account

    def load(con):
        for (db, name), table in tables.items():
            _load_table(con, account, db, name, table)
        if database:
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{database}"')
            con.execute(f'SET schema = \'{database}\'')
    import duckdb
    try:
        columns, rows = _duck_run(sql, values, load)
    except duckdb.CatalogException as e:
        raise _AthenaFailure(f"TABLE_NOT_FOUND or COLUMN_NOT_FOUND: {e}", 1301) from None
    except duckdb.Error as e:
        raise _AthenaFailure(f"GENERIC_USER_ERROR: {e}", 1301) from None
    return "DML", columns, rows


def _varchar(value):
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"VarCharValue": "true" if value else "false"}
    if isinstance(value, _dt.datetime):
        return {"VarCharValue": value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]}
    return {"VarCharValue": str(value)}


@_patch(AthenaResponse)
def hold_queries_for_test(self):
    self.athena_backend.__dict__["_deprov_hold"] = int(_body(self).get("Polls", 0))
    return "{}"


@_patch(AthenaResponse)
def start_query_execution(self):
    body = _body(self)
    backend = self.athena_backend
    workgroup = body.get("WorkGroup") or "primary"
    wg = backend.get_work_group(workgroup)
    if wg is None:
        raise JsonRESTError("InvalidRequestException", f"WorkGroup {workgroup} is not found.")
    output = (body.get("ResultConfiguration") or {}).get("OutputLocation") or \
        ((wg.get("Configuration") or {}).get("ResultConfiguration") or {}).get("OutputLocation")
    if not output:
        raise JsonRESTError("InvalidRequestException",
                            "No output location provided. An output location is required either through "
                            "the Workgroup result configuration setting or as an API input.")
    sql = body.get("QueryString") or ""
    database = ((body.get("QueryExecutionContext") or {}).get("Database") or "default").lower()
    params = body.get("ExecutionParameters") or []
    query_id = str(uuid.uuid4())
    query = {"id": query_id, "sql": sql, "workgroup": workgroup, "database": database, "params": params,
             "output": output.rstrip("/") + f"/{query_id}.csv", "submitted": unix_time(),
             "polls": backend.__dict__.get("_deprov_hold", 0), "state": "QUEUED"}
    try:
        query["type"], query["columns"], query["rows"] = _athena_run(self, sql, params, database)
        query["end"] = "SUCCEEDED"
    except _AthenaFailure as failure:
        query["type"], query["end"], query["failure"] = "DML", "FAILED", failure
    _athena_queries(self)[query_id] = query
    return json.dumps({"QueryExecutionId": query_id})


def _athena_query(self, query_id):
    query = _athena_queries(self).get(query_id)
    if query is None:
        raise JsonRESTError("InvalidRequestException", f"QueryExecution {query_id} was not found")
    return query


@_patch(AthenaResponse)
def get_query_execution(self):
    query = _athena_query(self, _body(self).get("QueryExecutionId"))
    _advance(query)
    if query["state"] not in ("QUEUED", "RUNNING"):
        query.setdefault("completed", unix_time())
    status = {"State": query["state"], "SubmissionDateTime": query["submitted"]}
    if query.get("completed"):
        status["CompletionDateTime"] = query["completed"]
    failure = query.get("failure")
    if query["state"] == "FAILED" and failure:
        status["StateChangeReason"] = failure.reason
        status["AthenaError"] = {"ErrorCategory": failure.category, "ErrorType": failure.error_type,
                                 "Retryable": False, "ErrorMessage": failure.reason}
    if query["state"] == "CANCELLED":
        status["StateChangeReason"] = "Query was cancelled by the user"
    return json.dumps({"QueryExecution": {
        "QueryExecutionId": query["id"], "Query": query["sql"], "StatementType": query["type"],
        "ResultConfiguration": {"OutputLocation": query["output"]},
        "QueryExecutionContext": {"Database": query["database"], "Catalog": "awsdatacatalog"},
        "Status": status, "WorkGroup": query["workgroup"],
        "Statistics": {"EngineExecutionTimeInMillis": 1, "DataScannedInBytes": 0, "TotalExecutionTimeInMillis": 1},
        "EngineVersion": {"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"},
        **({"ExecutionParameters": query["params"]} if query["params"] else {})}})


@_patch(AthenaResponse)
def get_query_results(self):
    body = _body(self)
    query = _athena_query(self, body.get("QueryExecutionId"))
    if query["state"] != "SUCCEEDED":
        reason = query["failure"].reason if query.get("failure") and query["state"] == "FAILED" else ""
        raise JsonRESTError("InvalidRequestException",
                            f"Query has not yet finished. Current state: {query['state']}"
                            if query["state"] in ("QUEUED", "RUNNING") else f"Query did not succeed: {reason}")
    columns = query["columns"]
    rows = [{"Data": [{"VarCharValue": c} for c in columns]}] if columns else []
    rows += [{"Data": [_varchar(v) for v in row]} for row in query["rows"]]
    page, token = _page(rows, {k: v for k, v in body.items()}, 1000, 1000,
                        "InvalidRequestException", "InvalidRequestException")
    info = [{"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": c, "Label": c,
             "Type": "varchar", "Precision": 2147483647, "Scale": 0, "Nullable": "UNKNOWN",
             "CaseSensitive": True} for c in columns]
    out = {"UpdateCount": 0, "ResultSet": {"Rows": page, "ResultSetMetadata": {"ColumnInfo": info}}}
    if token:
        out["NextToken"] = token
    return json.dumps(out)


@_patch(AthenaResponse)
def stop_query_execution(self):
    query = _athena_query(self, _body(self).get("QueryExecutionId"))
    if query["state"] in ("QUEUED", "RUNNING"):
        query["state"], query["completed"], query["failure"] = "CANCELLED", unix_time(), None
    return "{}"


# --- 7. CloudTrail Lake queries over seeded events, run in DuckDB -----------------------------
# moto 5.2.5 has no CloudTrail Lake. Here StartQuery runs the *real query statement* in DuckDB
# over the events seeded into an event data store (per account and region):
#   ...CloudTrail_20131101.SeedLakeEventsForTest {"EventDataStore": ARN or id, "Events": [records]}
#       (CloudTrail records as JSON objects; the store exists once seeded)
#   ...CloudTrail_20131101.HoldLakeQueriesForTest {"Polls": N}  (QUEUED, then RUNNING, for N
#       DescribeQuery calls; -1: until cancelled)
#   ...CloudTrail_20131101.FailLakeQueriesForTest {"ErrorMessage": text}  (the next query ends FAILED)
# AWS behaviour kept: the FROM table is the store's id (the ID part of its ARN); an unknown store is
# EventDataStoreNotFoundException and a statement the engine cannot plan InvalidQueryStatementException,
# both at StartQuery; DescribeQuery answers QueryStatus QUEUED/RUNNING/FINISHED/FAILED/CANCELLED with
# ErrorMessage; GetQueryResults answers QueryResultRows (each row a list of one-entry maps, column →
# text value; a NULL column is left out — UNVERIFIED), MaxQueryResults 1-1000, NextToken, and no rows
# before FINISHED; CancelQuery cancels. Lake's columns are the record's camelCase names, read
# case-insensitively; eventTime is a timestamp (answered as `yyyy-MM-dd HH:mm:ss.SSS`, UNVERIFIED).
# DuckDB difference: an id such as `EXAMPLE-f852-…` is no bare identifier in DuckDB, so the launcher
# double-quotes the FROM target before running the statement (the statement is otherwise untouched).

_LAKE_COLUMNS = _columns(
    "eventversion STRING, useridentity STRUCT<type: STRING, principalid: STRING, arn: STRING, "
    "accountid: STRING, accesskeyid: STRING, username: STRING, onbehalfof: STRUCT<userid: STRING, "
    "identitystorearn: STRING>>, eventtime TIMESTAMP, eventsource STRING, eventname STRING, "
    "awsregion STRING, sourceipaddress STRING, useragent STRING, errorcode STRING, errormessage STRING, "
    "eventid STRING, readonly BOOLEAN, recipientaccountid STRING, eventtype STRING, eventcategory STRING")


def _lake_stores(backend):
    return _state(backend, "_deprov_lake_stores", dict)


def _lake_queries(backend):
    return _state(backend, "_deprov_lake_queries", dict)


def _store_id(value):
    return (value or "").rsplit("/", 1)[-1]


@_patch(CloudTrailResponse)
def seed_lake_events_for_test(self):
    body = _body(self)
    store = _store_id(body.get("EventDataStore"))
    events = body.get("Events") or []
    _lake_stores(self.cloudtrail_backend).setdefault(store, []).extend(events)
    return json.dumps({"Seeded": len(events)})


@_patch(CloudTrailResponse)
def hold_lake_queries_for_test(self):
    self.cloudtrail_backend.__dict__["_deprov_lake_hold"] = int(_body(self).get("Polls", 0))
    return "{}"


@_patch(CloudTrailResponse)
def fail_lake_queries_for_test(self):
    self.cloudtrail_backend.__dict__["_deprov_lake_fail"] = _body(self).get("ErrorMessage") or "failed"
    return "{}"


@_patch(CloudTrailResponse)
def start_query(self):
    import duckdb
    backend = self.cloudtrail_backend
    statement = _body(self).get("QueryStatement") or ""
    m = re.search(r"\bFROM\s+([A-Za-z0-9-]+)", statement, re.I)
    stores = _lake_stores(backend)
    if not m or m.group(1) not in stores:
        raise JsonRESTError("EventDataStoreNotFoundException",
                            "The specified event data store was not found.")
    store = m.group(1)
    runnable = statement[:m.start(1)] + f'"{store}"' + statement[m.end(1):]

    def load(con):
        con.execute(f'CREATE TABLE "{store}" (' +
                    ", ".join(f'"{n}" {_duck_type(t)}' for n, t in _LAKE_COLUMNS) + ")")
        rows = []
        for record in stores[store]:
            lower = {k.lower(): v for k, v in record.items()}
            rows.append({n: _convert(lower.get(n), t) for n, t in _LAKE_COLUMNS})
        _insert(con, f'"{store}"', _LAKE_COLUMNS, rows)
    query_id = str(uuid.uuid4())
    query = {"id": query_id, "statement": statement, "state": "QUEUED", "created": unix_time(),
             "polls": backend.__dict__.get("_deprov_lake_hold", 0), "end": "FINISHED", "rows": [], "columns": []}
    try:
        query["columns"], query["rows"] = _duck_run(runnable, [], load)
    except (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException) as e:
        raise JsonRESTError("InvalidQueryStatementException", f"Query statement is invalid: {e}") from None
    except duckdb.Error as e:
        query["end"], query["error"] = "FAILED", str(e)
    fail = backend.__dict__.pop("_deprov_lake_fail", None)
    if fail:
        query["end"], query["error"] = "FAILED", fail
    _lake_queries(backend)[query_id] = query
    return json.dumps({"QueryId": query_id})


def _lake_query(self):
    query_id = _body(self).get("QueryId")
    query = _lake_queries(self.cloudtrail_backend).get(query_id)
    if query is None:
        raise JsonRESTError("QueryIdNotFoundException", "The query ID does not exist or does not map to a query.")
    return query


def _advance(query):
    """One status poll: QUEUED first, then RUNNING while polls last, then the end state."""
    if query["state"] in ("QUEUED", "RUNNING"):
        if query["polls"] == 0:
            query["state"] = query["end"]
        else:
            query["state"] = "RUNNING" if query.get("seen") else "QUEUED"
            query["seen"] = True
            if query["polls"] > 0:
                query["polls"] -= 1


@_patch(CloudTrailResponse)
def describe_query(self):
    query = _lake_query(self)
    _advance(query)
    out = {"QueryId": query["id"], "QueryString": query["statement"], "QueryStatus": query["state"],
           "QueryStatistics": {"EventsMatched": len(query["rows"]), "EventsScanned": len(query["rows"]),
                               "BytesScanned": 0, "ExecutionTimeInMillis": 1, "CreationTime": query["created"]}}
    if query["state"] == "FAILED":
        out["ErrorMessage"] = query.get("error")
    return json.dumps(out)


@_patch(CloudTrailResponse)
def get_query_results(self):
    body = _body(self)
    query = _lake_query(self)
    out = {"QueryStatus": query["state"]}
    if query["state"] == "FAILED":
        out["ErrorMessage"] = query.get("error")
    rows = []
    if query["state"] == "FINISHED":
        rows = [[{c: _varchar(v)["VarCharValue"]} for c, v in zip(query["columns"], row) if v is not None]
                for row in query["rows"]]
    paging = {k: v for k, v in body.items() if k != "MaxQueryResults"}
    paging["MaxResults"] = body.get("MaxQueryResults", 1000)
    page, token = _page(rows, paging, 1000, 1000, "InvalidMaxResultsException", "InvalidNextTokenException")
    out["QueryResultRows"] = page
    out["QueryStatistics"] = {"ResultsCount": len(page), "TotalResultsCount": len(rows), "BytesScanned": 0}
    if token:
        out["NextToken"] = token
    return json.dumps(out)


@_patch(CloudTrailResponse)
def cancel_query(self):
    query = _lake_query(self)
    if query["state"] in ("QUEUED", "RUNNING"):
        query["state"] = "CANCELLED"
    return json.dumps({"QueryId": query["id"], "QueryStatus": query["state"]})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-stdin-watch", action="store_true", help="do not exit on stdin EOF")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args()

    apply_patches()
    from werkzeug.serving import make_server
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication, MotoRequestHandler, create_backend_app)

    if not args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(args.host, args.port, DomainDispatcherApplication(create_backend_app),
                         threaded=True, request_handler=MotoRequestHandler)
    os.environ["MOTO_PORT"] = str(server.server_port)  # moto builds some URLs from it

    def exit_on_eof():
        while sys.stdin.buffer.read(4096):
            pass
        os._exit(0)
    if not args.no_stdin_watch:
        threading.Thread(target=exit_on_eof, daemon=True).start()
    for sig in (signal.SIGTERM, signal.SIGINT):  # os._exit: sys.exit would abort at interpreter
        signal.signal(sig, lambda *_: os._exit(0))  # shutdown, on the stdin thread's buffer lock

    print(f"ready http://{args.host}:{server.server_port}", flush=True)
    sys.stdout = sys.stderr  # nothing else on stdout: the parent may have stopped reading it
    server.serve_forever()


if __name__ == "__main__":
    main()
