"""The IAM policy engine against AWS's documented examples and their documented outcomes.

Every case below is taken from AWS's own documentation (policy and outcome as published);
the source is cited above each group. The engine is pure: no harness, no moto.
"""

from __future__ import annotations

from typing import Any

import pytest

from analytics_orchestration.testing.core.iam_engine import (
    Policy,
    Principal,
    Request,
    arn_matches,
    denial_message,
    evaluate,
    glob_match,
)

ACCOUNT = "123456789012"
OTHER = "111122223333"
ROLE = Principal.role(f"arn:aws:iam::{ACCOUNT}:role/app-role", session_name="s1")


def _everything_known(key: str) -> bool:
    return True


def _identity(*statements: dict[str, Any]) -> list[Policy]:
    return [Policy({"Version": "2012-10-17", "Statement": list(statements)}, "identity")]


def _decide(statement: dict[str, Any], action: str, resource: str,
            context: dict[str, Any] | None = None, principal: Principal = ROLE) -> bool:
    request = Request(principal, action, resource, context or {})
    return evaluate(request, identity=_identity(statement),
                    known_keys=_everything_known).allowed


# ---------------------------------------------------------------------------------------
# IAM JSON policy elements: Condition operators
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
# ---------------------------------------------------------------------------------------
PRINCIPAL_TAG = {
    "Effect": "Allow", "Action": "iam:*AccessKey*", "Resource": f"arn:aws:iam::{ACCOUNT}:user/*",
    "Condition": {"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}},
}


@pytest.mark.parametrize(("context", "allowed"), [
    ({"aws:PrincipalTag/job-category": "iamuser-admin"}, True),
    ({"aws:PrincipalTag/job-category": "developer"}, False),
    # "If a user without the tag attempts to view or edit an access key, the condition
    # returns false and the request is implicitly denied by this statement."
    ({}, False),
])
def test_string_equals_principal_tag(context: dict[str, Any], allowed: bool) -> None:
    assert _decide(PRINCIPAL_TAG, "iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/bob",
                   context) is allowed


HOME_DIRECTORY = [
    {"Effect": "Allow", "Action": ["s3:ListAllMyBuckets", "s3:GetBucketLocation"],
     "Resource": "arn:aws:s3:::*"},
    {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::BUCKET-NAME",
     "Condition": {"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/"]}}},
    {"Effect": "Allow", "Action": "s3:*", "Resource": [
        "arn:aws:s3:::BUCKET-NAME/home/${aws:username}",
        "arn:aws:s3:::BUCKET-NAME/home/${aws:username}/*"]},
]


@pytest.mark.parametrize(("action", "resource", "context", "allowed"), [
    ("s3:ListBucket", "arn:aws:s3:::BUCKET-NAME", {"s3:prefix": "home/alice/"}, True),
    ("s3:ListBucket", "arn:aws:s3:::BUCKET-NAME", {"s3:prefix": ""}, True),
    ("s3:ListBucket", "arn:aws:s3:::BUCKET-NAME", {"s3:prefix": "home/bob/"}, False),
    ("s3:GetObject", "arn:aws:s3:::BUCKET-NAME/home/alice/notes.txt", {}, True),
    ("s3:GetObject", "arn:aws:s3:::BUCKET-NAME/home/bob/notes.txt", {}, False),
    ("s3:GetBucketLocation", "arn:aws:s3:::any-bucket", {}, True),
])
def test_string_like_with_policy_variable(action: str, resource: str, context: dict[str, Any],
                                          allowed: bool) -> None:
    request = Request(ROLE, action, resource, {"aws:username": "alice", **context})
    policy = Policy({"Statement": HOME_DIRECTORY}, "home directory")
    assert evaluate(request, identity=[policy], known_keys=_everything_known).allowed is allowed


MAX_KEYS = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::example_bucket",
            "Condition": {"NumericLessThanEquals": {"s3:max-keys": "10"}}}


@pytest.mark.parametrize(("max_keys", "allowed"), [("10", True), ("3", True), ("11", False)])
def test_numeric_less_than_equals_max_keys(max_keys: str, allowed: bool) -> None:
    assert _decide(MAX_KEYS, "s3:ListBucket", "arn:aws:s3:::example_bucket",
                   {"s3:max-keys": max_keys}) is allowed


TOKEN_ISSUED = {"Effect": "Allow", "Action": "iam:*AccessKey*",
                "Resource": f"arn:aws:iam::{ACCOUNT}:user/*",
                "Condition": {"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}}}


@pytest.mark.parametrize(("context", "allowed"), [
    ({"aws:TokenIssueTime": "2020-06-01T10:00:00Z"}, True),
    ({"aws:TokenIssueTime": "2019-12-31T23:00:00Z"}, False),
    # "The key is not present in ... requests that are made using access keys ... denied."
    ({}, False),
])
def test_date_greater_than_token_issue_time(context: dict[str, Any], allowed: bool) -> None:
    assert _decide(TOKEN_ISSUED, "iam:ListAccessKeys", f"arn:aws:iam::{ACCOUNT}:user/bob",
                   context) is allowed


SECURE_TRANSPORT_DENY = {"Sid": "BooleanExample", "Action": "s3:*", "Effect": "Deny",
                         "Resource": ["arn:aws:s3:::DOC-EXAMPLE-BUCKET",
                                      "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"],
                         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
ALLOW_S3 = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}


@pytest.mark.parametrize(("secure", "allowed"), [("false", False), ("true", True)])
def test_bool_secure_transport_deny(secure: str, allowed: bool) -> None:
    request = Request(ROLE, "s3:GetObject", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/a.txt",
                      {"aws:SecureTransport": secure})
    decision = evaluate(request, identity=_identity(SECURE_TRANSPORT_DENY, ALLOW_S3))
    assert decision.allowed is allowed


def test_bool_deny_alone_allows_nothing() -> None:
    """'This policy does not allow any actions.'"""
    request = Request(ROLE, "s3:GetObject", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/a.txt",
                      {"aws:SecureTransport": "true"})
    assert not evaluate(request, identity=_identity(SECURE_TRANSPORT_DENY)).allowed


SOURCE_IP = {"Effect": "Allow", "Action": "someservice:*", "Resource": "*",
             "Condition": {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24",
                                                          "2001:DB8:1234:5678::/64"]}}}


@pytest.mark.parametrize(("address", "allowed"), [
    ("203.0.113.7", True), ("2001:db8:1234:5678::1", True), ("198.51.100.1", False)])
def test_ip_address_mixed_families(address: str, allowed: bool) -> None:
    assert _decide(SOURCE_IP, "someservice:Do", "arn:aws:someservice:::x",
                   {"aws:SourceIp": address}) is allowed


def test_arn_like_matches_each_part_where_string_like_spans_colons() -> None:
    """The documented pair: StringLike matches, ArnLike does not."""
    pattern = "arn:aws:someservice:*:111122223333:finance/*"
    value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
    assert glob_match(pattern, value)
    assert not arn_matches(pattern, value)
    for operator, allowed in (("StringLike", True), ("ArnLike", False)):
        statement = {"Effect": "Allow", "Action": "someservice:Get", "Resource": "*",
                     "Condition": {operator: {"aws:SourceArn": pattern}}}
        assert _decide(statement, "someservice:Get", "*", {"aws:SourceArn": value}) is allowed


SNS_TO_SQS = {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "SQS:SendMessage",
              "Resource": f"arn:aws:sqs:us-east-1:{ACCOUNT}:QUEUE-ID",
              "Condition": {"ArnEquals": {
                  "aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:TOPIC-ID"}}}


def test_arn_equals_source_arn_denies_a_direct_call() -> None:
    """'If an IAM user attempts to perform this operation directly, the condition returns
    false and the request is implicitly denied by this statement.'"""
    request = Request(ROLE, "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:QUEUE-ID", {})
    decision = evaluate(request, resource=[Policy({"Statement": [SNS_TO_SQS]}, "queue policy")])
    assert not decision.allowed


RUN_INSTANCES_BROKEN = {"Sid": "THISPOLICYDOESNOTWORK", "Effect": "Allow",
                        "Action": "ec2:RunInstances", "Resource": "*",
                        "Condition": {"StringLike": {"ec2:InstanceType": ["t1.*", "t2.*",
                                                                          "m3.*"]}}}
RUN_INSTANCES = {**RUN_INSTANCES_BROKEN, "Sid": "RunInstance",
                 "Condition": {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*",
                                                                           "m3.*"]}}}


@pytest.mark.parametrize(("statement", "context", "allowed"), [
    (RUN_INSTANCES, {"ec2:InstanceType": "t2.micro"}, True),
    (RUN_INSTANCES, {"ec2:InstanceType": "m5.large"}, False),
    # The key-pair, image and security-group resources carry no ec2:InstanceType: with
    # IfExists the statement still applies to them, without it it does not.
    (RUN_INSTANCES, {}, True),
    (RUN_INSTANCES_BROKEN, {}, False),
])
def test_if_exists(statement: dict[str, Any], context: dict[str, Any], allowed: bool) -> None:
    assert _decide(statement, "ec2:RunInstances", "arn:aws:ec2:us-east-1::image/ami-1",
                   context) is allowed


def test_negated_operator_with_missing_key_is_true() -> None:
    """'If the policy condition requires that the key is not matched, such as StringNotLike
    ... and the right key is not present, the condition is true.'"""
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                 "Condition": {"StringNotLike": {"aws:SourceArn": "arn:aws:sns:*"}}}
    assert _decide(statement, "s3:GetObject", "arn:aws:s3:::b/k", {})


TEMPORARY_CREDENTIALS = {"Action": "ec2:*", "Effect": "Allow", "Resource": "*",
                         "Condition": {"Null": {"aws:TokenIssueTime": "true"}}}


@pytest.mark.parametrize(("context", "allowed"), [
    ({}, True), ({"aws:TokenIssueTime": "2020-06-01T10:00:00Z"}, False)])
def test_null_condition(context: dict[str, Any], allowed: bool) -> None:
    assert _decide(TEMPORARY_CREDENTIALS, "ec2:DescribeInstances", "*", context) is allowed


# ---------------------------------------------------------------------------------------
# Creating a condition that tests multiple key values (set operators)
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html
# ---------------------------------------------------------------------------------------
THREAD = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Thread"
ONLY_SOME_ATTRIBUTES = {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": THREAD,
                        "Condition": {"ForAllValues:StringLike": {
                            "dynamodb:requestedAttributes": ["PostDateTime", "Message", "Tags"]}}}
NO_ID_UPDATES = {"Effect": "Deny", "Action": "dynamodb:PutItem", "Resource": THREAD,
                 "Condition": {"ForAnyValue:StringLike": {
                     "dynamodb:requestedAttributes": ["ID", "PostDateTime"]}}}
ALLOW_PUT = {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": THREAD}


@pytest.mark.parametrize(("attributes", "allowed"), [
    (["PostDateTime", "Message"], True),
    (["PostDateTime", "ID"], False),
    (["PostDateTime", "UserName"], False),
    # "If the key values in the request resolve to an empty data set ... ForAllValues
    # returns true."
    ([], True),
])
def test_for_all_values(attributes: list[str], allowed: bool) -> None:
    assert _decide(ONLY_SOME_ATTRIBUTES, "dynamodb:GetItem", THREAD,
                   {"dynamodb:requestedAttributes": attributes}) is allowed


@pytest.mark.parametrize(("attributes", "allowed"), [
    (["UserName", "Message", "PostDateTime"], False),  # one match: the Deny applies
    (["UserName"], True),                              # no match: not denied by it
    ([], True),                                        # empty: ForAnyValue is false
])
def test_for_any_value_deny(attributes: list[str], allowed: bool) -> None:
    request = Request(ROLE, "dynamodb:PutItem", THREAD,
                      {"dynamodb:requestedAttributes": attributes})
    decision = evaluate(request, identity=_identity(NO_ID_UPDATES, ALLOW_PUT),
                        known_keys=_everything_known)
    assert decision.allowed is allowed


# ---------------------------------------------------------------------------------------
# Policy evaluation logic: within one account and across accounts
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
# ---------------------------------------------------------------------------------------
LOGS_BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar-logs"
CARLOS_IDENTITY = {"Sid": "AllowS3ListRead", "Effect": "Allow",
                   "Action": ["s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket"],
                   "Resource": "*"}
CARLOS_BUCKET_POLICY = {"Sid": "AllowLogsWrite", "Effect": "Allow",
                        "Principal": {"AWS": ROLE.arn}, "Action": "s3:PutObject",
                        "Resource": f"{LOGS_BUCKET}/*"}


@pytest.mark.parametrize(("action", "allowed"), [
    ("s3:PutObject", True),   # only the bucket policy allows it: still allowed
    ("s3:GetObject", True),   # only the identity policy allows it
    ("s3:DeleteObject", False),
])
def test_same_account_identity_or_resource_policy(action: str, allowed: bool) -> None:
    """'If either the identity-based policy or the resource-based policy within the same
    account allows the request and the other doesn't, the request is still allowed.'"""
    request = Request(ROLE, action, f"{LOGS_BUCKET}/log.txt", {})
    decision = evaluate(request, identity=_identity(CARLOS_IDENTITY),
                        resource=[Policy({"Statement": [CARLOS_BUCKET_POLICY]}, "bucket")])
    assert decision.allowed is allowed


def test_explicit_deny_overrides_allow() -> None:
    deny = {"Effect": "Deny", "Action": "s3:*", "Resource": f"{LOGS_BUCKET}/*"}
    request = Request(ROLE, "s3:PutObject", f"{LOGS_BUCKET}/log.txt", {})
    decision = evaluate(request, identity=_identity(CARLOS_IDENTITY, deny),
                        resource=[Policy({"Statement": [CARLOS_BUCKET_POLICY]}, "bucket")])
    assert not decision.allowed
    assert decision.reason.startswith("explicit deny")


CROSS_BUCKET = f"arn:aws:s3:::other-account-bucket/{OTHER}.txt"


@pytest.mark.parametrize(("identity_allows", "resource_allows", "allowed"), [
    (True, True, True), (True, False, False), (False, True, False)])
def test_cross_account_needs_both(identity_allows: bool, resource_allows: bool,
                                  allowed: bool) -> None:
    """'The identity-based policy and the resource-based policy must both allow it.'"""
    identity = _identity({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}) \
        if identity_allows else []
    resource = [Policy({"Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT},
                                       "Action": "s3:GetObject", "Resource": "*"}]},
                       "bucket")] if resource_allows else []
    request = Request(ROLE, "s3:GetObject", CROSS_BUCKET, {}, resource_account=OTHER)
    assert evaluate(request, identity=identity, resource=resource).allowed is allowed


def test_account_principal_delegates_within_the_account() -> None:
    """An account principal in a resource policy delegates to IAM; it grants no role
    anything by itself (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html)."""
    resource = [Policy({"Statement": [{"Effect": "Allow", "Principal": {
        "AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sqs:SendMessage",
        "Resource": "*"}]}, "queue")]
    request = Request(ROLE, "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:q", {})
    assert not evaluate(request, resource=resource).allowed


# ---------------------------------------------------------------------------------------
# AWS KMS key policies: the default key policy and what it enables
# https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
# ---------------------------------------------------------------------------------------
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ENABLE_IAM = {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
              "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*",
              "Resource": "*"}
KEY_USERS = {"Sid": "Allow use of the key", "Effect": "Allow", "Principal": {"AWS": ROLE.arn},
             "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*",
                        "kms:GenerateDataKey*", "kms:DescribeKey"], "Resource": "*"}
IDENTITY_DECRYPT = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY}


@pytest.mark.parametrize(("key_statements", "identity", "allowed"), [
    # The root statement enables IAM policies: the identity policy decides.
    ([ENABLE_IAM], [IDENTITY_DECRYPT], True),
    ([ENABLE_IAM], [], False),
    # Without it, no IAM policy can grant use of the key...
    ([KEY_USERS], [], True),
    ([{**KEY_USERS, "Principal": {"AWS": "arn:aws:iam::123456789012:role/other"}}],
     [IDENTITY_DECRYPT], False),
])
def test_kms_key_policy(key_statements: list[dict[str, Any]],
                        identity: list[dict[str, Any]], allowed: bool) -> None:
    request = Request(ROLE, "kms:Decrypt", KEY, {})
    key_policy = Policy({"Statement": key_statements}, "key policy")
    decision = evaluate(request, identity=_identity(*identity) if identity else [],
                        key_policy=key_policy)
    assert decision.allowed is allowed


# The key policy statement for services (key-policy-services.html): a service principal
# allowed through aws:SourceArn.
SERVICE_KEY_STATEMENT = {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                         "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*",
                         "Condition": {"ArnEquals": {
                             "aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:topic"}}}


@pytest.mark.parametrize(("source", "allowed"), [
    (f"arn:aws:sns:us-east-1:{ACCOUNT}:topic", True),
    (f"arn:aws:sns:us-east-1:{ACCOUNT}:other", False)])
def test_kms_service_principal(source: str, allowed: bool) -> None:
    request = Request(Principal.aws_service("sns.amazonaws.com"), "kms:GenerateDataKey", KEY,
                      {"aws:SourceArn": source})
    decision = evaluate(request, key_policy=Policy({"Statement": [ENABLE_IAM,
                                                                  SERVICE_KEY_STATEMENT]}, "k"))
    assert decision.allowed is allowed


# ---------------------------------------------------------------------------------------
# The engine's own rules (not AWS examples): failing closed, messages
# ---------------------------------------------------------------------------------------
def test_unsupported_condition_key_fails_closed_and_is_reported() -> None:
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                 "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-123"}}}
    decision = evaluate(Request(ROLE, "s3:GetObject", "arn:aws:s3:::b/k", {}),
                        identity=_identity(statement))
    assert not decision.allowed
    assert any("aws:PrincipalOrgID" in item for item in decision.unsupported)


def test_unsupported_key_in_a_deny_denies() -> None:
    deny = {"Effect": "Deny", "Action": "s3:*", "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-123"}}}
    decision = evaluate(Request(ROLE, "s3:GetObject", "arn:aws:s3:::b/k", {}),
                        identity=_identity(deny, ALLOW_S3))
    assert not decision.allowed and decision.unsupported


def test_actions_are_case_insensitive_and_not_action() -> None:
    assert _decide({"Effect": "Allow", "Action": "SQS:sendmessage", "Resource": "*"},
                   "sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q")
    assert not _decide({"Effect": "Allow", "NotAction": "sqs:*", "Resource": "*"},
                       "sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q")
    assert not _decide({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::b/*"},
                       "s3:GetObject", "arn:aws:s3:::b/k")


def test_denial_message_has_aws_shape() -> None:
    request = Request(ROLE, "sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q", {})
    decision = evaluate(request)
    assert denial_message(request, decision) == (
        "User: arn:aws:sts::123456789012:assumed-role/app-role/s1 is not authorized to "
        "perform: sqs:SendMessage on resource: arn:aws:sqs:us-east-1:123456789012:q because "
        "no identity-based policy allows the sqs:SendMessage action")


# -- the action table: what a call asks for --------------------------------------------
def test_a_listing_carries_its_prefix_as_the_s3_prefix_key() -> None:
    """A grant limited with ``"StringLike": {"s3:prefix": [...]}`` is judged by the
    listing's Prefix (the reconciler's ListObjectVersions grant is scoped that way)."""
    from analytics_orchestration.testing.core.iam_actions import requests_for
    from analytics_orchestration.testing.core.iam_index import PolicyIndex

    [request] = requests_for(PolicyIndex(), "us-east-1", "123456789012", "s3",
                             "ListObjectVersions", {"Bucket": "b", "Prefix": "incoming/"}) or []
    assert (request.action, request.resource) == ("s3:ListBucketVersions", "arn:aws:s3:::b")
    assert request.context["s3:prefix"] == "incoming/"
    [unscoped] = requests_for(PolicyIndex(), "us-east-1", "123456789012", "s3",
                              "ListObjectsV2", {"Bucket": "b"}) or []
    assert "s3:prefix" not in unscoped.context  # absent, as on AWS, when no Prefix is sent

    policy = Policy({"Statement": [{
        "Effect": "Allow", "Action": "s3:ListBucketVersions", "Resource": "arn:aws:s3:::b",
        "Condition": {"StringLike": {"s3:prefix": ["incoming/*"]}}}]}, "identity")
    role = Principal.role("arn:aws:iam::123456789012:role/r")

    def allowed(prefix: str) -> bool:
        context = {"s3:prefix": prefix}
        return evaluate(Request(role, "s3:ListBucketVersions", "arn:aws:s3:::b", context),
                        identity=[policy]).allowed

    assert allowed("incoming/") and not allowed("other/")
