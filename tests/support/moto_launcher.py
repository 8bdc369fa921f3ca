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


def _provisioned(self):
    """{(instance_arn, permission_set_arn): [account ids, in provisioning order]}"""
    return _state(self.ssoadmin_backend, "_deprov_provisioned", dict)


def _provision(self, instance_arn, ps_arn, account_id):
    accounts = _provisioned(self).setdefault((instance_arn, ps_arn), [])
    if account_id not in accounts:
        accounts.append(account_id)


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
    return json.dumps({"PermissionSetProvisioningStatus": status})


def _sso_page(self, items, key):
    body = _body(self)
    if body.get("ProvisioningStatus") == "LATEST_PERMISSION_SET_NOT_PROVISIONED":
        items = []  # provisioning here is instantaneous: nothing is ever out of date
    page, token = _page(items, body, 100, 100, "ValidationException", "ValidationException")
    return json.dumps({key: page, **({"NextToken": token} if token else {})})


@_patch(SSOAdminResponse)
def list_permission_sets_provisioned_to_account(self):
    body = _body(self)
    arns = [ps for (inst, ps), accounts in _provisioned(self).items()
            if inst == body.get("InstanceArn") and body.get("AccountId") in accounts]
    return _sso_page(self, arns, "PermissionSets")


@_patch(SSOAdminResponse)
def list_accounts_for_provisioned_permission_set(self):
    body = _body(self)
    self.ssoadmin_backend._find_permission_set(body.get("InstanceArn"), body.get("PermissionSetArn"))
    accounts = _provisioned(self).get((body["InstanceArn"], body["PermissionSetArn"]), [])
    return _sso_page(self, list(accounts), "AccountIds")


@_patch(SSOAdminResponse)
def delete_permission_set(self):
    out = delete_permission_set.moto(self)
    body = _body(self)
    _provisioned(self).pop((body.get("InstanceArn"), body.get("PermissionSetArn")), None)
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
