"""Tests for moto_launcher.py: each patch, multi-account isolation, and the process lifecycle.

Run from the repo root:  .venv/bin/python -m unittest tests/support/test_moto_launcher.py -v
"""

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

LAUNCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "moto_launcher.py")
REGION = "us-east-1"
CT_TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."


def start_launcher():
    """Start the launcher on a port the OS picks; return (process, endpoint URL)."""
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, LAUNCHER, "--host", "127.0.0.1", "--port", "0"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
    line = proc.stdout.readline().decode().strip()
    if not line.startswith("ready http://"):
        log.seek(0)
        raise RuntimeError(f"launcher did not start: {line!r}\n{log.read().decode()}")
    log.close()  # the child keeps its own descriptor
    return proc, line.split(" ", 1)[1]


def new_account_id():
    return str(random.randint(10**11, 10**12 - 1))


class Account:
    """boto3 clients for a fresh account, entered the way tests do it: STS AssumeRole."""

    def __init__(self, endpoint, account_id=None):
        self.endpoint = endpoint
        self.id = account_id or new_account_id()
        base = dict(endpoint_url=endpoint, region_name=REGION,
                    aws_access_key_id="testing", aws_secret_access_key="testing")
        creds = boto3.client("sts", **base).assume_role(
            RoleArn=f"arn:aws:iam::{self.id}:role/audit", RoleSessionName="test")["Credentials"]
        self.access_key = creds["AccessKeyId"]
        self.kw = dict(base, aws_access_key_id=creds["AccessKeyId"],
                       aws_secret_access_key=creds["SecretAccessKey"],
                       aws_session_token=creds["SessionToken"],
                       config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))

    def client(self, service, region=REGION):
        return boto3.client(service, **dict(self.kw, region_name=region))

    def raw(self, service, target, body, region=REGION):
        """A JSON-protocol call boto3 cannot make (test-only actions, non-model fields). moto reads
        the account from the access key, the service and Region from the credential scope; it does
        not check the signature."""
        auth = (f"AWS4-HMAC-SHA256 Credential={self.access_key}/20260101/{region}/{service}/"
                "aws4_request, SignedHeaders=host, Signature=0")
        req = urllib.request.Request(self.endpoint + "/", data=json.dumps(body).encode(), headers={
            "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target,
            "Authorization": auth})
        try:
            with urllib.request.urlopen(req) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def sso(self):
        """(sso-admin client, instance ARN, identity store id) of this account's instance."""
        sso = self.client("sso-admin")
        inst = sso.list_instances()["Instances"][0]
        return sso, inst["InstanceArn"], inst["IdentityStoreId"]


class LauncherTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proc, cls.endpoint = start_launcher()

    @classmethod
    def tearDownClass(cls):
        cls.proc.stdin.close()
        cls.proc.wait(timeout=10)
        cls.proc.stdout.close()

    def assertError(self, code, fn, *args, **kwargs):
        with self.assertRaises(ClientError) as ctx:
            fn(*args, **kwargs)
        self.assertEqual(ctx.exception.response["Error"]["Code"], code)
        return ctx.exception

    def create_user(self, ids, store, name, **extra):
        return ids.create_user(IdentityStoreId=store, UserName=name, DisplayName=name.title(),
                               Name={"GivenName": name, "FamilyName": "Doe"},
                               Emails=[{"Value": f"{name}@example.com", "Primary": True}],
                               **extra)["UserId"]

    # --- 1. identitystore ---------------------------------------------------------------------

    def test_user_status_defaults_to_enabled_and_update_user_disables(self):
        acct = Account(self.endpoint)
        _, _, store = acct.sso()
        ids = acct.client("identitystore")
        alice = self.create_user(ids, store, "alice")
        bob = self.create_user(ids, store, "bob")
        self.assertEqual(ids.describe_user(IdentityStoreId=store, UserId=alice)["UserStatus"], "ENABLED")

        ids.update_user(IdentityStoreId=store, UserId=alice, Operations=[
            {"AttributePath": "userStatus", "AttributeValue": "DISABLED"},
            {"AttributePath": "displayName", "AttributeValue": "Alice (left)"},
            {"AttributePath": "name.familyName", "AttributeValue": "Gone"}])
        user = ids.describe_user(IdentityStoreId=store, UserId=alice)
        self.assertEqual((user["UserStatus"], user["DisplayName"], user["Name"]["FamilyName"],
                          user["Name"]["GivenName"]), ("DISABLED", "Alice (left)", "Gone", "alice"))
        listed = {u["UserId"]: u["UserStatus"] for u in ids.list_users(IdentityStoreId=store)["Users"]}
        self.assertEqual(listed, {alice: "DISABLED", bob: "ENABLED"})

        ids.update_user(IdentityStoreId=store, UserId=alice, Operations=[
            {"AttributePath": "userStatus", "AttributeValue": "ENABLED"},
            {"AttributePath": "name.givenName", "AttributeValue": "Al"}])
        user = ids.describe_user(IdentityStoreId=store, UserId=alice)
        self.assertEqual((user["UserStatus"], user["Name"]["GivenName"]), ("ENABLED", "Al"))

    def test_update_user_rejects_bad_input_atomically(self):
        acct = Account(self.endpoint)
        _, _, store = acct.sso()
        ids = acct.client("identitystore")
        alice = self.create_user(ids, store, "alice")
        for op in ({"AttributePath": "emails", "AttributeValue": "x"},
                   {"AttributePath": "userStatus", "AttributeValue": "SUSPENDED"}):
            self.assertError("ValidationException", ids.update_user, IdentityStoreId=store, UserId=alice,
                             Operations=[{"AttributePath": "userStatus", "AttributeValue": "DISABLED"}, op])
        user = ids.describe_user(IdentityStoreId=store, UserId=alice)
        self.assertEqual(user["UserStatus"], "ENABLED")
        self.assertError("ResourceNotFoundException", ids.update_user, IdentityStoreId=store,
                         UserId="00000000-0000-0000-0000-000000000000",
                         Operations=[{"AttributePath": "userStatus", "AttributeValue": "DISABLED"}])
        self.assertError("ResourceNotFoundException", ids.describe_user, IdentityStoreId=store,
                         UserId="00000000-0000-0000-0000-000000000000")

    def test_get_user_id_by_user_name_email_and_external_id(self):
        acct = Account(self.endpoint)
        _, _, store = acct.sso()
        ids = acct.client("identitystore")
        alice = self.create_user(ids, store, "alice")
        # ExternalIds are not a CreateUser field in the API model (SCIM sets them): send raw JSON.
        status, out = acct.raw("identitystore", "AWSIdentityStore.CreateUser", {
            "IdentityStoreId": store, "UserName": "carol", "DisplayName": "Carol",
            "Name": {"GivenName": "Carol", "FamilyName": "Doe"},
            "ExternalIds": [{"Issuer": "https://example.okta.com", "Id": "00u1"}]})
        self.assertEqual(status, 200, out)
        carol = out["UserId"]

        def user_id(alt):
            return ids.get_user_id(IdentityStoreId=store, AlternateIdentifier=alt)["UserId"]

        self.assertEqual(user_id({"UniqueAttribute": {"AttributePath": "userName", "AttributeValue": "alice"}}), alice)
        self.assertEqual(user_id({"UniqueAttribute": {"AttributePath": "emails.value",
                                                      "AttributeValue": "alice@example.com"}}), alice)
        self.assertEqual(user_id({"ExternalId": {"Issuer": "https://example.okta.com", "Id": "00u1"}}), carol)
        self.assertError("ResourceNotFoundException", ids.get_user_id, IdentityStoreId=store,
                         AlternateIdentifier={"ExternalId": {"Issuer": "https://example.okta.com", "Id": "nope"}})
        self.assertError("ResourceNotFoundException", ids.get_user_id, IdentityStoreId=store,
                         AlternateIdentifier={"UniqueAttribute": {"AttributePath": "userName",
                                                                  "AttributeValue": "nobody"}})
        described = ids.describe_user(IdentityStoreId=store, UserId=carol)
        self.assertEqual(described["ExternalIds"], [{"Issuer": "https://example.okta.com", "Id": "00u1"}])
        self.assertNotIn("ExternalIds", ids.describe_user(IdentityStoreId=store, UserId=alice))
        listed = {u["UserId"]: u.get("ExternalIds") for u in ids.list_users(IdentityStoreId=store)["Users"]}
        self.assertEqual(listed[carol], described["ExternalIds"])
        ids.delete_user(IdentityStoreId=store, UserId=carol)
        self.assertError("ResourceNotFoundException", ids.get_user_id, IdentityStoreId=store,
                         AlternateIdentifier={"ExternalId": {"Issuer": "https://example.okta.com", "Id": "00u1"}})

    # --- 2. sso-admin -------------------------------------------------------------------------

    def test_permission_sets_are_provisioned_per_account(self):
        sso, instance, _ = Account(self.endpoint).sso()
        acct_a, acct_b = new_account_id(), new_account_id()
        ps = [sso.create_permission_set(Name=f"ps{i}", InstanceArn=instance, SessionDuration="PT1H")
              ["PermissionSet"]["PermissionSetArn"] for i in range(4)]

        def provisioned_to(account, **kw):
            return sso.list_permission_sets_provisioned_to_account(
                InstanceArn=instance, AccountId=account, **kw)

        def accounts_for(ps_arn):
            return sso.list_accounts_for_provisioned_permission_set(
                InstanceArn=instance, PermissionSetArn=ps_arn)["AccountIds"]

        self.assertEqual(provisioned_to(acct_a)["PermissionSets"], [])
        for principal in ("u1", "u2"):  # two assignments of ps0 in A: provisioned once
            sso.create_account_assignment(InstanceArn=instance, TargetId=acct_a, TargetType="AWS_ACCOUNT",
                                          PermissionSetArn=ps[0], PrincipalType="USER", PrincipalId=principal)
        self.assertEqual(provisioned_to(acct_a)["PermissionSets"], [ps[0]])
        self.assertEqual(provisioned_to(acct_b)["PermissionSets"], [])
        self.assertEqual(accounts_for(ps[0]), [acct_a])

        out = sso.provision_permission_set(InstanceArn=instance, PermissionSetArn=ps[1],
                                           TargetType="AWS_ACCOUNT", TargetId=acct_b)
        self.assertEqual(out["PermissionSetProvisioningStatus"]["AccountId"], acct_b)
        sso.provision_permission_set(InstanceArn=instance, PermissionSetArn=ps[1],
                                     TargetType="AWS_ACCOUNT", TargetId=acct_b)  # repeat
        sso.provision_permission_set(InstanceArn=instance, PermissionSetArn=ps[0],
                                     TargetType="ALL_PROVISIONED_ACCOUNTS")
        self.assertEqual(provisioned_to(acct_b)["PermissionSets"], [ps[1]])
        self.assertEqual(accounts_for(ps[0]), [acct_a])
        self.assertEqual(accounts_for(ps[2]), [])
        self.assertError("ResourceNotFoundException", sso.provision_permission_set, InstanceArn=instance,
                         PermissionSetArn=instance.replace("instance", "permissionSet") + "/ps-0000000000000000",
                         TargetType="AWS_ACCOUNT", TargetId=acct_a)

        # Paging: all four in A, two per page.
        for p in ps[2:] + [ps[1]]:
            sso.provision_permission_set(InstanceArn=instance, PermissionSetArn=p,
                                         TargetType="AWS_ACCOUNT", TargetId=acct_a)
        page1 = provisioned_to(acct_a, MaxResults=2)
        page2 = provisioned_to(acct_a, MaxResults=2, NextToken=page1["NextToken"])
        both = page1["PermissionSets"] + page2["PermissionSets"]
        self.assertEqual((len(both), set(both)), (4, set(ps)))
        self.assertNotIn("NextToken", page2)
        self.assertEqual(sorted(accounts_for(ps[1])), sorted([acct_b, acct_a]))
        page = sso.list_accounts_for_provisioned_permission_set(
            InstanceArn=instance, PermissionSetArn=ps[1], MaxResults=1)
        rest = sso.list_accounts_for_provisioned_permission_set(
            InstanceArn=instance, PermissionSetArn=ps[1], MaxResults=1, NextToken=page["NextToken"])
        self.assertEqual(sorted(page["AccountIds"] + rest["AccountIds"]), sorted([acct_b, acct_a]))

        sso.delete_permission_set(InstanceArn=instance, PermissionSetArn=ps[3])
        self.assertEqual(set(provisioned_to(acct_a)["PermissionSets"]), {ps[0], ps[1], ps[2]})

    def test_an_edited_permission_set_is_stale_until_provisioned_again(self):
        sso, instance, _ = Account(self.endpoint).sso()
        acct_a, acct_b = new_account_id(), new_account_id()
        ps = sso.create_permission_set(Name="Developer", InstanceArn=instance, SessionDuration="PT8H")[
            "PermissionSet"]["PermissionSetArn"]
        for account in (acct_a, acct_b):
            sso.create_account_assignment(InstanceArn=instance, TargetId=account, TargetType="AWS_ACCOUNT",
                                          PermissionSetArn=ps, PrincipalType="USER", PrincipalId="u1")

        def accounts_in(status):
            return sorted(sso.list_accounts_for_provisioned_permission_set(
                InstanceArn=instance, PermissionSetArn=ps, ProvisioningStatus=status)["AccountIds"])

        def sets_in(account, status):
            return sso.list_permission_sets_provisioned_to_account(
                InstanceArn=instance, AccountId=account, ProvisioningStatus=status)["PermissionSets"]

        stale, latest = "LATEST_PERMISSION_SET_NOT_PROVISIONED", "LATEST_PERMISSION_SET_PROVISIONED"
        self.assertEqual(accounts_in(stale), [])
        self.assertEqual(accounts_in(latest), sorted([acct_a, acct_b]))
        sso.put_inline_policy_to_permission_set(InstanceArn=instance, PermissionSetArn=ps,
                                                InlinePolicy='{"Version":"2012-10-17","Statement":[]}')
        self.assertEqual(accounts_in(stale), sorted([acct_a, acct_b]))
        self.assertEqual(sets_in(acct_a, stale), [ps])
        sso.provision_permission_set(InstanceArn=instance, PermissionSetArn=ps,
                                     TargetType="AWS_ACCOUNT", TargetId=acct_a)
        self.assertEqual(accounts_in(stale), [acct_b])
        self.assertEqual(sets_in(acct_a, latest), [ps])
        out = sso.provision_permission_set(InstanceArn=instance, PermissionSetArn=ps,
                                           TargetType="ALL_PROVISIONED_ACCOUNTS")
        self.assertEqual(accounts_in(stale), [])
        request_id = out["PermissionSetProvisioningStatus"]["RequestId"]
        described = sso.describe_permission_set_provisioning_status(
            InstanceArn=instance, ProvisionPermissionSetRequestId=request_id)["PermissionSetProvisioningStatus"]
        self.assertEqual((described["Status"], described["PermissionSetArn"]), ("SUCCEEDED", ps))
        self.assertError("ResourceNotFoundException", sso.describe_permission_set_provisioning_status,
                         InstanceArn=instance, ProvisionPermissionSetRequestId="00000000-0000-4000-8000-000000000000")
    def test_bulk_seed_creates_what_the_api_would(self):
        account = Account(self.endpoint)
        sso, instance, store = account.sso()
        acct = new_account_id()
        status, out = account.raw("sso", "SWBExternalService.SeedOrgForTest", {
            "IdentityStoreId": store, "InstanceArn": instance,
            "Users": [{"UserName": "a@example.com"}, {"UserName": "b@example.com", "Status": "DISABLED"}],
            "Groups": [{"DisplayName": "devs", "Members": [0, 1]}],
            "PermissionSets": [{"Name": "Dev", "SessionDuration": "PT8H"}],
            "Assignments": [{"AccountId": acct, "PermissionSet": 0, "PrincipalType": "GROUP", "Principal": 0},
                            {"AccountId": acct, "PermissionSet": 0, "PrincipalType": "USER", "Principal": 1}]})
        self.assertEqual(status, 200, out)
        ids = account.client("identitystore")
        users = {u["UserName"]: u for u in ids.list_users(IdentityStoreId=store)["Users"]}
        self.assertEqual(users["b@example.com"]["UserStatus"], "DISABLED")
        self.assertEqual(users["a@example.com"]["UserStatus"], "ENABLED")
        members = ids.list_group_memberships(IdentityStoreId=store, GroupId=out["GroupIds"][0])
        self.assertEqual(len(members["GroupMemberships"]), 2)
        ps = out["PermissionSetArns"][0]
        self.assertEqual(sso.describe_permission_set(InstanceArn=instance, PermissionSetArn=ps)
                         ["PermissionSet"]["SessionDuration"], "PT8H")
        self.assertEqual(sso.list_accounts_for_provisioned_permission_set(
            InstanceArn=instance, PermissionSetArn=ps)["AccountIds"], [acct])
        assigned = sso.list_account_assignments(InstanceArn=instance, AccountId=acct, PermissionSetArn=ps)
        self.assertEqual(sorted(a["PrincipalType"] for a in assigned["AccountAssignments"]), ["GROUP", "USER"])

    def test_permission_set_arns_take_the_aws_form(self):
        sso, instance, _ = Account(self.endpoint).sso()
        out = sso.create_permission_set(Name="Developer", InstanceArn=instance, SessionDuration="PT8H")
        arn = out["PermissionSet"]["PermissionSetArn"]
        ssoins = instance.split("/")[-1]
        self.assertRegex(arn, r"^arn:aws:sso:::permissionSet/" + ssoins + r"/ps-[a-z0-9]{16}$")
        described = sso.describe_permission_set(InstanceArn=instance, PermissionSetArn=arn)["PermissionSet"]
        self.assertEqual((described["PermissionSetArn"], described["SessionDuration"]), (arn, "PT8H"))
        self.assertEqual(sso.list_permission_sets(InstanceArn=instance)["PermissionSets"], [arn])

    def test_list_account_assignments_pages(self):
        sso, instance, _ = Account(self.endpoint).sso()
        target = new_account_id()
        ps = sso.create_permission_set(Name="admin", InstanceArn=instance, SessionDuration="PT1H")[
            "PermissionSet"]["PermissionSetArn"]
        for i in range(5):
            sso.create_account_assignment(InstanceArn=instance, TargetId=target, TargetType="AWS_ACCOUNT",
                                          PermissionSetArn=ps, PrincipalType="USER", PrincipalId=f"user-{i}")
        seen, token, pages = [], None, 0
        while True:
            kw = {"NextToken": token} if token else {}
            out = sso.list_account_assignments(InstanceArn=instance, AccountId=target,
                                               PermissionSetArn=ps, MaxResults=2, **kw)
            pages += 1
            self.assertLessEqual(len(out["AccountAssignments"]), 2)
            seen += [a["PrincipalId"] for a in out["AccountAssignments"]]
            token = out.get("NextToken")
            if not token:
                break
        self.assertEqual((pages, seen), (3, [f"user-{i}" for i in range(5)]))

    # --- 3. CloudTrail LookupEvents -----------------------------------------------------------

    def seed(self, acct, events):
        status, out = acct.raw("cloudtrail", CT_TARGET + "SeedLookupEventsForTest", {"Events": events})
        self.assertEqual((status, out), (200, {"Seeded": len(events)}))

    def test_lookup_events_filters_sorts_and_pages(self):
        acct = Account(self.endpoint)
        ct = acct.client("cloudtrail")
        events = [{"EventId": f"e{i}", "EventName": "CreateUser" if i % 2 else "DeleteUser",
                   "EventSource": "sso-directory.amazonaws.com", "EventTime": 1_700_000_000 + 60 * i,
                   "Username": f"admin{i % 3}", "ReadOnly": False, "AccessKeyId": "AKIA1",
                   "Resources": [{"ResourceType": "AWS::SSO::User", "ResourceName": f"user{i}"}],
                   "CloudTrailEvent": json.dumps({"eventID": f"e{i}"})} for i in range(5)]
        self.seed(acct, events[:3])
        self.seed(acct, events[3:])

        def ids(**kw):
            return [e["EventId"] for e in ct.lookup_events(**kw)["Events"]]

        self.assertEqual(ids(), ["e4", "e3", "e2", "e1", "e0"])
        full = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": "e3"}])["Events"][0]
        self.assertEqual(full["EventTime"].timestamp(), 1_700_000_180)
        self.assertEqual((full["ReadOnly"], full["Resources"], json.loads(full["CloudTrailEvent"])),
                         ("false", events[3]["Resources"], {"eventID": "e3"}))
        for key, value, expected in (("EventName", "CreateUser", ["e3", "e1"]),
                                     ("Username", "admin0", ["e3", "e0"]),
                                     ("ResourceName", "user2", ["e2"]),
                                     ("ResourceType", "AWS::SSO::User", ["e4", "e3", "e2", "e1", "e0"]),
                                     ("ReadOnly", "true", []),
                                     ("EventSource", "iam.amazonaws.com", [])):
            self.assertEqual(ids(LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}]),
                             expected, key)
        self.assertEqual(ids(StartTime=1_700_000_060, EndTime=1_700_000_180), ["e3", "e2", "e1"])

        query = dict(LookupAttributes=[{"AttributeKey": "EventSource",
                                        "AttributeValue": "sso-directory.amazonaws.com"}],
                     StartTime=1_700_000_000, MaxResults=2)
        pages = [ct.lookup_events(**query)]
        while "NextToken" in pages[-1]:
            pages.append(ct.lookup_events(NextToken=pages[-1]["NextToken"], **query))
        self.assertEqual([[e["EventId"] for e in p["Events"]] for p in pages], [["e4", "e3"], ["e2", "e1"], ["e0"]])
        self.assertError("InvalidNextTokenException", ct.lookup_events, NextToken=pages[0]["NextToken"],
                         **dict(query, StartTime=1_700_000_001))

        self.assertError("InvalidLookupAttributesException", ct.lookup_events, LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "CreateUser"},
            {"AttributeKey": "Username", "AttributeValue": "admin0"}])
        self.assertError("InvalidMaxResultsException", ct.lookup_events, MaxResults=51)
        self.assertError("InvalidTimeRangeException", ct.lookup_events, StartTime=2, EndTime=1)

    def test_lookup_events_throttling_injection(self):
        acct = Account(self.endpoint)
        ct = acct.client("cloudtrail")
        self.seed(acct, [{"EventId": "e1", "EventName": "CreateUser", "EventTime": 1_700_000_000}])
        status, _ = acct.raw("cloudtrail", CT_TARGET + "ThrottleLookupEventsForTest", {"Count": 2})
        self.assertEqual(status, 200)
        for _ in range(2):
            err = self.assertError("ThrottlingException", ct.lookup_events)
            self.assertEqual(err.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertEqual([e["EventId"] for e in ct.lookup_events()["Events"]], ["e1"])

    def test_lookup_events_answer_per_account_and_region(self):
        """A member account's history, read through a role assumed there: the account is the role's,
        the Region the request's."""
        member, other = Account(self.endpoint), Account(self.endpoint)
        event = {"EventId": "e1", "EventName": "ListBuckets", "EventTime": 1_700_000_000, "Username": "alice"}
        status, out = member.raw("cloudtrail", CT_TARGET + "SeedLookupEventsForTest", {"Events": [event]},
                                 region="eu-west-1")
        self.assertEqual((status, out), (200, {"Seeded": 1}))
        reader = Account(self.endpoint, member.id)  # another session in the member account
        self.assertEqual([e["EventId"] for e in reader.client("cloudtrail", "eu-west-1").lookup_events()["Events"]],
                         ["e1"])
        self.assertEqual(reader.client("cloudtrail", "us-east-1").lookup_events()["Events"], [])
        self.assertEqual(other.client("cloudtrail", "eu-west-1").lookup_events()["Events"], [])

    # --- 5. STS AssumeRole and trust policies --------------------------------------------------

    def test_assume_role_honours_an_existing_roles_trust_policy(self):
        deploy, member = Account(self.endpoint), Account(self.endpoint)
        stranger = Account(self.endpoint)

        def trust(condition_pattern):
            return json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{deploy.id}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"ArnLike": {"aws:PrincipalArn": condition_pattern}}}]})
        iam = member.client("iam")
        iam.create_role(RoleName="reader", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{deploy.id}:role/aud*"))  # Account() enters as role/audit
        iam.create_role(RoleName="other-fn", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{deploy.id}:role/x-*"))
        iam.create_role(RoleName="odd", AssumeRolePolicyDocument=json.dumps({"Statement": [{
            "Effect": "Allow", "Principal": {"AWS": deploy.id}, "Action": "sts:AssumeRole",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}))

        def assume(caller, name):
            return caller.client("sts").assume_role(
                RoleArn=f"arn:aws:iam::{member.id}:role/{name}", RoleSessionName="check")

        creds = assume(deploy, "reader")["Credentials"]
        who = boto3.client("sts", endpoint_url=self.endpoint, region_name=REGION,
                           aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                           aws_session_token=creds["SessionToken"]).get_caller_identity()
        self.assertEqual(who["Account"], member.id)
        for caller, name in ((deploy, "other-fn"), (stranger, "reader"), (deploy, "odd")):
            err = self.assertError("AccessDenied", assume, caller, name)
            self.assertIn("is not authorized to perform: sts:AssumeRole on resource", str(err))
        # A role that does not exist is still assumed, as moto does (tests enter accounts that way).
        self.assertEqual(assume(stranger, "no-such-role")["AssumedRoleUser"]["Arn"].split(":")[4], member.id)

    # --- multi-account isolation ----------------------------------------------------------------

    # --- 4. delegated administrator ------------------------------------------------------------

    def org_with_member(self, name="security"):
        """(management Account, member Account) of a new organization."""
        mgmt = Account(self.endpoint)
        orgs = mgmt.client("organizations")
        orgs.create_organization(FeatureSet="ALL")
        member_id = orgs.create_account(AccountName=name, Email=f"{name}@example.com")[
            "CreateAccountStatus"]["AccountId"]
        return mgmt, Account(self.endpoint, member_id)

    def register_delegate(self, mgmt, member, service="sso.amazonaws.com"):
        orgs = mgmt.client("organizations")
        orgs.enable_aws_service_access(ServicePrincipal=service)
        orgs.register_delegated_administrator(AccountId=member.id, ServicePrincipal=service)

    def test_a_delegated_administrator_administers_the_management_accounts_instance(self):
        mgmt, member = self.org_with_member()
        m_sso, m_inst, m_store = mgmt.sso()
        self.assertNotEqual(member.sso()[1], m_inst)  # before registration: no access to the org's instance
        self.assertError("AccessDeniedException", member.client("organizations").list_accounts)

        self.register_delegate(mgmt, member)
        listed = member.client("organizations").list_accounts()["Accounts"]
        self.assertEqual(sorted(a["Id"] for a in listed), sorted([mgmt.id, member.id]))
        d_sso, d_inst, d_store = member.sso()
        self.assertEqual((d_inst, d_store), (m_inst, m_store))
        self.assertEqual(d_sso.list_instances()["Instances"][0]["OwnerAccountId"], mgmt.id)
        alice = self.create_user(mgmt.client("identitystore"), m_store, "alice")
        d_ids = member.client("identitystore")
        self.assertEqual(d_ids.describe_user(IdentityStoreId=d_store, UserId=alice)["UserStatus"], "ENABLED")

        ps = d_sso.create_permission_set(Name="Dev", InstanceArn=d_inst, SessionDuration="PT1H")[
            "PermissionSet"]["PermissionSetArn"]
        workload = new_account_id()
        d_sso.create_account_assignment(InstanceArn=d_inst, TargetId=workload, TargetType="AWS_ACCOUNT",
                                        PermissionSetArn=ps, PrincipalType="USER", PrincipalId=alice)
        assignment = {"AccountId": workload, "PermissionSetArn": ps, "PrincipalType": "USER", "PrincipalId": alice}
        self.assertEqual(m_sso.list_account_assignments(InstanceArn=m_inst, AccountId=workload,
                                                        PermissionSetArn=ps)["AccountAssignments"], [assignment])
        self.assertEqual(d_sso.list_accounts_for_provisioned_permission_set(
            InstanceArn=d_inst, PermissionSetArn=ps)["AccountIds"], [workload])

        # Management-only calls: refused to the delegate, answered in the management account.
        for_principal = dict(InstanceArn=d_inst, PrincipalType="USER", PrincipalId=alice)
        error = self.assertError("AccessDeniedException", d_sso.list_account_assignments_for_principal,
                                 **for_principal)
        self.assertIn("management account", error.response["Error"]["Message"])
        self.assertEqual(len(m_sso.list_account_assignments_for_principal(**for_principal)["AccountAssignments"]), 1)
        self.assertError("AccessDeniedException", d_sso.list_application_assignments_for_principal,
                         **for_principal)
        on_mgmt = dict(InstanceArn=d_inst, TargetId=mgmt.id, TargetType="AWS_ACCOUNT", PermissionSetArn=ps,
                       PrincipalType="USER", PrincipalId=alice)
        self.assertError("AccessDeniedException", d_sso.create_account_assignment, **on_mgmt)
        self.assertError("AccessDeniedException", d_sso.provision_permission_set, InstanceArn=d_inst,
                         PermissionSetArn=ps, TargetType="AWS_ACCOUNT", TargetId=mgmt.id)
        m_sso.create_account_assignment(**on_mgmt)  # the management account manages its own
        self.assertError("AccessDeniedException", d_sso.delete_account_assignment, **on_mgmt)
        self.assertEqual(sorted(m_sso.list_accounts_for_provisioned_permission_set(
            InstanceArn=m_inst, PermissionSetArn=ps)["AccountIds"]), sorted([workload, mgmt.id]))

    def test_a_delegate_for_another_service_keeps_its_own_instance(self):
        mgmt, member = self.org_with_member()
        self.register_delegate(mgmt, member, "guardduty.amazonaws.com")
        self.assertNotEqual(member.sso()[1], mgmt.sso()[1])
        self.assertEqual(len(member.client("organizations").list_accounts()["Accounts"]), 2)
        sso, inst, _ = member.sso()  # its own instance: nothing is refused there
        sso.list_account_assignments_for_principal(InstanceArn=inst, PrincipalType="USER", PrincipalId="u-1")
        self.assertError("ConstraintViolationException",
                         mgmt.client("organizations").register_delegated_administrator,
                         AccountId=mgmt.id, ServicePrincipal="sso.amazonaws.com")

    # --- 5. Athena over CloudTrail log files, in DuckDB --------------------------------------
    DDL = os.path.join(os.path.dirname(LAUNCHER), "..", "..", "docs", "athena-org-trail.sql")

    def org_trail(self, account, records_by_key):
        """An org-trail bucket with log files, the docs DDL run, an Athena workgroup; returns athena."""
        bucket = f"trail-{account.id}"
        s3 = account.client("s3")
        s3.create_bucket(Bucket=bucket)
        import gzip as _gzip
        for key, records in records_by_key.items():
            s3.put_object(Bucket=bucket, Key=key, Body=_gzip.compress(json.dumps({"Records": records}).encode()))
        athena = account.client("athena")
        athena.create_work_group(Name="audit", Configuration={
            "ResultConfiguration": {"OutputLocation": f"s3://{bucket}-results/"}})
        with open(self.DDL) as f:
            ddl = f.read().replace("<bucket>", bucket).replace("<org-id>", "o-abc123")
        for sql in ("CREATE DATABASE cloudtrail", ddl):
            qid = athena.start_query_execution(QueryString=sql, WorkGroup="audit",
                                               QueryExecutionContext={"Database": "cloudtrail"})["QueryExecutionId"]
            status = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
            self.assertEqual(status["State"], "SUCCEEDED", status)
        return athena

    @staticmethod
    def record(event_id, account, region, when, arn):
        return {"eventVersion": "1.09", "eventID": event_id, "eventTime": when, "eventName": "ListBuckets",
                "eventSource": "s3.amazonaws.com", "awsRegion": region, "recipientAccountId": account,
                "userIdentity": {"type": "AssumedRole", "arn": arn},
                "requestParameters": {"Host": "s3.amazonaws.com"}}

    def athena_query(self, athena, sql, params=None, **kw):
        args = dict(QueryString=sql, WorkGroup="audit", QueryExecutionContext={"Database": "cloudtrail"}, **kw)
        if params:
            args["ExecutionParameters"] = params
        qid = athena.start_query_execution(**args)["QueryExecutionId"]
        return qid, athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]

    def test_athena_runs_the_query_over_the_org_trail_layout_with_parameters_and_pages(self):
        account = Account(self.endpoint)
        arn = "arn:aws:sts::444455556666:assumed-role/AWSReservedSSO_Dev_0123456789abcdef/alice"
        records = {
            "AWSLogs/o-abc123/444455556666/CloudTrail/eu-west-1/2026/11/20/f1.json.gz":
                [self.record(f"e{i}", "444455556666", "eu-west-1", f"2026-11-20T10:00:{i:02d}Z", arn)
                 for i in range(5)],
            "AWSLogs/o-abc123/777788889999/CloudTrail/us-east-1/2026/11/20/f2.json.gz":
                [self.record("other", "777788889999", "us-east-1", "2026-11-20T10:00:00Z", arn)],
            "AWSLogs/o-abc123/444455556666/CloudTrail-Digest/eu-west-1/2026/11/20/d.json.gz": [],
        }
        athena = self.org_trail(account, records)
        qid, status = self.athena_query(athena, "SELECT eventid, region, log_date, useridentity.arn AS arn, requestparameters "
                                       "FROM cloudtrail.org_trail WHERE account_id IN (?) AND log_date = ? "
                                       "ORDER BY eventid", ["'444455556666'", "'2026/11/20'"])
        self.assertEqual(status["State"], "SUCCEEDED", status)
        first = athena.get_query_results(QueryExecutionId=qid, MaxResults=3)
        rows = first["ResultSet"]["Rows"]
        self.assertEqual([d["VarCharValue"] for d in rows[0]["Data"]],
                         ["eventid", "region", "log_date", "arn", "requestparameters"])
        self.assertEqual([d["VarCharValue"] for d in rows[1]["Data"]],
                         ["e0", "eu-west-1", "2026/11/20", arn, '{"Host":"s3.amazonaws.com"}'])
        second = athena.get_query_results(QueryExecutionId=qid, MaxResults=3, NextToken=first["NextToken"])
        self.assertEqual([r["Data"][0]["VarCharValue"] for r in second["ResultSet"]["Rows"]], ["e2", "e3", "e4"])
        self.assertNotIn("NextToken", second)
        self.assertError("InvalidRequestException", athena.get_query_results, QueryExecutionId=qid, MaxResults=1001)

    def test_athena_failures_states_and_stop(self):
        account = Account(self.endpoint)
        athena = self.org_trail(account, {})
        _, status = self.athena_query(athena, "SELECT nosuchcolumn FROM cloudtrail.org_trail WHERE account_id = '1'")
        self.assertEqual(status["State"], "FAILED")
        self.assertIn("nosuchcolumn", status["StateChangeReason"])
        self.assertIn("ErrorType", status["AthenaError"])
        _, status = self.athena_query(athena, "SELECT eventid FROM cloudtrail.org_trail")
        self.assertEqual(status["State"], "FAILED")
        self.assertIn("CONSTRAINT_VIOLATION", status["StateChangeReason"])
        _, status = self.athena_query(athena, "SELECT eventid FROM cloudtrail.org_trail WHERE account_id = ?", ["x'; --"])
        self.assertEqual(status["State"], "FAILED")
        self.assertError("InvalidRequestException", athena.start_query_execution, QueryString="SELECT 1",
                         WorkGroup="nope")
        status, _ = account.raw("athena", "AmazonAthena.HoldQueriesForTest", {"Polls": 2})
        self.assertEqual(status, 200)
        qid, status = self.athena_query(athena, "SELECT 1 AS one")
        self.assertEqual(status["State"], "QUEUED")
        self.assertError("InvalidRequestException", athena.get_query_results, QueryExecutionId=qid)
        states = [athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]["State"]
                  for _ in range(2)]
        self.assertEqual(states, ["RUNNING", "SUCCEEDED"])
        account.raw("athena", "AmazonAthena.HoldQueriesForTest", {"Polls": -1})
        qid, _ = self.athena_query(athena, "SELECT 1 AS one")
        athena.stop_query_execution(QueryExecutionId=qid)
        self.assertEqual(athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]["State"],
                         "CANCELLED")

    # --- 6. CloudTrail Lake in DuckDB ----------------------------------------------------------
    def test_lake_runs_the_statement_over_seeded_events_and_pages(self):
        account = Account(self.endpoint)
        store = "EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE"
        arn = "arn:aws:sts::444455556666:assumed-role/AWSReservedSSO_Dev_0123456789abcdef/alice"
        events = [self.record(f"e{i}", "444455556666", "eu-west-1", f"2026-11-20T10:00:{i:02d}Z", arn)
                  for i in range(3)]
        status, out = account.raw("cloudtrail", CT_TARGET + "SeedLakeEventsForTest", {
            "EventDataStore": f"arn:aws:cloudtrail:us-east-1:{account.id}:eventdatastore/{store}", "Events": events})
        self.assertEqual((status, out), (200, {"Seeded": 3}))
        ct = account.client("cloudtrail")
        qid = ct.start_query(QueryStatement=(
            f"SELECT eventID, eventTime, userIdentity.arn AS arn FROM {store} WHERE recipientAccountId IN "
            "('444455556666') AND eventTime BETWEEN '2026-11-20 10:00:01' AND '2026-11-20 11:00:00' "
            "ORDER BY eventTime"))["QueryId"]
        self.assertEqual(ct.describe_query(QueryId=qid)["QueryStatus"], "FINISHED")
        first = ct.get_query_results(QueryId=qid, MaxQueryResults=1)
        self.assertEqual(first["QueryResultRows"][0],
                         [{"eventid": "e1"}, {"eventtime": "2026-11-20 10:00:01.000"}, {"arn": arn}])
        second = ct.get_query_results(QueryId=qid, MaxQueryResults=1, NextToken=first["NextToken"])
        self.assertEqual(second["QueryResultRows"][0][0], {"eventid": "e2"})
        self.assertNotIn("NextToken", second)
        self.assertError("EventDataStoreNotFoundException", ct.start_query, QueryStatement="SELECT eventID FROM nope")
        self.assertError("InvalidQueryStatementException", ct.start_query,
                         QueryStatement=f"SELECT nosuchcolumn FROM {store}")
        account.raw("cloudtrail", CT_TARGET + "FailLakeQueriesForTest", {"ErrorMessage": "Query exceeded limits"})
        qid = ct.start_query(QueryStatement=f"SELECT eventID FROM {store}")["QueryId"]
        described = ct.describe_query(QueryId=qid)
        self.assertEqual((described["QueryStatus"], described["ErrorMessage"]), ("FAILED", "Query exceeded limits"))
        account.raw("cloudtrail", CT_TARGET + "HoldLakeQueriesForTest", {"Polls": -1})
        qid = ct.start_query(QueryStatement=f"SELECT eventID FROM {store}")["QueryId"]
        self.assertEqual([ct.describe_query(QueryId=qid)["QueryStatus"] for _ in range(2)], ["QUEUED", "RUNNING"])
        self.assertEqual(ct.get_query_results(QueryId=qid)["QueryResultRows"], [])
        ct.cancel_query(QueryId=qid)
        self.assertEqual(ct.describe_query(QueryId=qid)["QueryStatus"], "CANCELLED")

    def test_assumed_accounts_are_isolated(self):
        one, two = Account(self.endpoint), Account(self.endpoint)
        self.assertEqual(one.client("sts").get_caller_identity()["Account"], one.id)
        (sso1, inst1, store1), (sso2, inst2, store2) = one.sso(), two.sso()
        self.assertNotEqual(inst1, inst2)
        self.assertEqual(sso1.list_instances()["Instances"][0]["OwnerAccountId"], one.id)

        ids1, ids2 = one.client("identitystore"), two.client("identitystore")
        self.create_user(ids1, store1, "alice")
        self.assertEqual(len(ids1.list_users(IdentityStoreId=store1)["Users"]), 1)
        self.assertEqual(ids2.list_users(IdentityStoreId=store1)["Users"], [])
        self.assertEqual(ids2.list_users(IdentityStoreId=store2)["Users"], [])

        ps = sso1.create_permission_set(Name="x", InstanceArn=inst1, SessionDuration="PT1H")[
            "PermissionSet"]["PermissionSetArn"]
        self.assertEqual(sso2.list_permission_sets(InstanceArn=inst2)["PermissionSets"], [])
        self.assertError("ResourceNotFoundException", sso2.describe_permission_set,
                         InstanceArn=inst1, PermissionSetArn=ps)

        org1, org2 = one.client("organizations"), two.client("organizations")
        org1.create_organization(FeatureSet="ALL")
        self.assertEqual(org1.describe_organization()["Organization"]["MasterAccountId"], one.id)
        self.assertError("AWSOrganizationsNotInUseException", org2.describe_organization)

        one.client("sns").create_topic(Name="alerts")
        self.assertEqual(two.client("sns").list_topics()["Topics"], [])
        url = one.client("sqs").create_queue(QueueName="q")["QueueUrl"]
        self.assertIn(one.id, url)
        self.assertNotIn("QueueUrls", two.client("sqs").list_queues())

        self.seed(one, [{"EventId": "e1", "EventName": "CreateUser", "EventTime": 1_700_000_000}])
        self.assertEqual(len(one.client("cloudtrail").lookup_events()["Events"]), 1)
        self.assertEqual(two.client("cloudtrail").lookup_events()["Events"], [])


class LifecycleTest(unittest.TestCase):
    def test_exits_when_stdin_closes(self):
        proc, endpoint = start_launcher()
        with urllib.request.urlopen(endpoint + "/moto-api/") as resp:
            self.assertEqual(resp.status, 200)
        proc.stdin.close()
        self.assertEqual(proc.wait(timeout=10), 0)
        proc.stdout.close()

    def test_exits_on_sigterm(self):
        proc, _ = start_launcher()
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=10), 0)
        proc.stdin.close()
        proc.stdout.close()


if __name__ == "__main__":
    unittest.main()
