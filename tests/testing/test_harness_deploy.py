"""Layer 1: version guard, deploying core resources, in-process Lambda from its asset."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from analytics_orchestration.testing import (
    REQUIRED_MOTO_VERSION,
    MotoVersionMismatchError,
    OfflineAws,
    ResourceNotFoundError,
    UnsupportedResourceError,
    check_moto_version,
)

HANDLER = """
    import json, os
    import boto3

    LOADED_WITH = os.environ.get("TABLE_NAME")

    def handler(event, context):
        if event.get("fail"):
            raise KeyError("no such thing")
        boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"]).put_item(
            Item={"pk": event["id"], "from": context.function_name})
        return {"table": os.environ["TABLE_NAME"], "loaded_with": LOADED_WITH,
                "region": os.environ["AWS_REGION"], "request": context.aws_request_id}
"""

OTHER = """
    def handler(event, context):
        return "other index module"
"""

SYNTH_ONLY = """
    def handler(event, context):
        return event
"""


@pytest.fixture(scope="module")
def core_stack(make_asset) -> cdk.Stack:
    app = cdk.App()
    stack = cdk.Stack(app, "Core")
    s3.Bucket(stack, "Landing", versioned=True)
    dlq = sqs.Queue(stack, "Dlq")
    sqs.Queue(stack, "Work", visibility_timeout=cdk.Duration.seconds(45),
              dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=3))
    sns.Topic(stack, "Alerts")
    table = ddb.Table(stack, "Ledger",
                      partition_key=ddb.Attribute(name="pk", type=ddb.AttributeType.STRING),
                      billing_mode=ddb.BillingMode.PAY_PER_REQUEST,
                      time_to_live_attribute="expires")
    group = cdk.Stack(app, "Unused")  # a second stack in the same app must not interfere
    sns.Topic(group, "Ignored")
    writer = lambda_.Function(stack, "Writer", runtime=lambda_.Runtime.PYTHON_3_12,
                              handler="index.handler",
                              code=lambda_.Code.from_asset(make_asset("writer", HANDLER)),
                              environment={"TABLE_NAME": table.table_name})
    table.grant_write_data(writer)
    lambda_.Function(stack, "Other", runtime=lambda_.Runtime.PYTHON_3_12,
                     handler="index.handler",
                     code=lambda_.Code.from_asset(make_asset("other", OTHER)))
    app.synth()
    return stack


def test_version_guard_names_installed_and_required_versions() -> None:
    with pytest.raises(MotoVersionMismatchError) as caught:
        check_moto_version("5.1.0")
    assert caught.value.installed == "5.1.0"
    assert caught.value.required == REQUIRED_MOTO_VERSION
    assert "5.1.0" in str(caught.value) and REQUIRED_MOTO_VERSION in str(caught.value)


def test_version_guard_reports_missing_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    from analytics_orchestration.testing import _version

    monkeypatch.setattr(_version, "installed_moto_version", lambda: None)
    with pytest.raises(MotoVersionMismatchError, match="not installed"):
        check_moto_version()


def test_version_guard_accepts_the_pinned_version() -> None:
    check_moto_version(REQUIRED_MOTO_VERSION)


def test_deploys_core_resources_into_moto(offline_aws: OfflineAws, core_stack) -> None:
    aws = offline_aws.deploy(core_stack)

    bucket = aws.physical_id("Landing")
    versioning = aws.client("s3").get_bucket_versioning(Bucket=bucket)
    assert versioning["Status"] == "Enabled"

    attrs = aws.client("sqs").get_queue_attributes(
        QueueUrl=aws.physical_id("Core/Work"), AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "45"
    assert aws.arn("Dlq") in attrs["RedrivePolicy"]

    assert aws.arn("Alerts").startswith("arn:aws:sns:us-east-1:123456789012:")
    ttl = aws.client("dynamodb").describe_time_to_live(TableName=aws.physical_id("Ledger"))
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires"


def test_lookup_by_path_logical_id_and_physical_id(offline_aws: OfflineAws, core_stack) -> None:
    aws = offline_aws.deploy(core_stack)
    by_path = aws.resource("Core/Ledger/Resource")
    assert aws.resource("Ledger") is by_path
    assert aws.resource(by_path.logical_id) is by_path
    assert aws.resource(by_path.physical_id) is by_path
    assert by_path.resource_type == "AWS::DynamoDB::Table"
    with pytest.raises(ResourceNotFoundError, match="Nope"):
        aws.resource("Nope")


def test_lambda_runs_real_handler_from_asset_with_environment(
        offline_aws: OfflineAws, core_stack) -> None:
    aws = offline_aws.deploy(core_stack)
    invocation = aws.invoke("Writer", {"id": "a-1"})

    assert invocation.error is None
    table = aws.physical_id("Ledger")
    assert invocation.result["table"] == table
    assert invocation.result["loaded_with"] == table  # module code ran under the env too
    assert aws.table_items("Ledger") == [{"pk": "a-1", "from": aws.physical_id("Writer")}]


def test_lambda_error_comes_back_in_lambdas_shape(offline_aws: OfflineAws, core_stack) -> None:
    aws = offline_aws.deploy(core_stack)
    response = aws.client("lambda").invoke(FunctionName=aws.physical_id("Writer"),
                                           Payload=b'{"fail": true}')
    assert response["FunctionError"] == "Unhandled"
    import json

    payload = json.loads(response["Payload"].read())
    assert payload["errorType"] == "KeyError"
    assert "no such thing" in payload["errorMessage"]
    assert any("index.py" in line for line in payload["stackTrace"])


def test_two_assets_with_the_same_module_name_stay_apart(
        offline_aws: OfflineAws, core_stack) -> None:
    aws = offline_aws.deploy(core_stack)
    assert aws.invoke("Other").result == "other index module"
    assert aws.invoke("Writer", {"id": "x"}).result["table"] == aws.physical_id("Ledger")
    assert aws.invoke("Other").result == "other index module"


def test_unsupported_resource_type_is_named(offline_aws: OfflineAws) -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Odd")
    cdk.CfnResource(stack, "Db", type="AWS::Glue::Registry", properties={"Name": "odd"})
    with pytest.raises(UnsupportedResourceError, match="AWS::Glue::Registry") as caught:
        offline_aws.deploy(stack)
    assert caught.value.logical_id == "Db"


def test_ignored_resource_type_deploys_as_no_op() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Odd")
    cdk.CfnResource(stack, "Db", type="AWS::Glue::Registry", properties={"Name": "odd"})
    with OfflineAws(ignore_resource_types={"AWS::Glue::Registry"}) as aws:
        aws.deploy(stack)
        assert aws.resource("Db").resource_type == "AWS::Glue::Registry"


def test_deploys_a_template_with_its_asset_directory(make_asset) -> None:
    import json
    from pathlib import Path

    app = cdk.App()
    stack = cdk.Stack(app, "Raw")
    lambda_.Function(stack, "Echo", runtime=lambda_.Runtime.PYTHON_3_12,
                     handler="index.handler",
                     code=lambda_.Code.from_asset(make_asset("echo", SYNTH_ONLY)))
    assembly = app.synth()
    template = json.loads(Path(assembly.directory, "Raw.template.json").read_text())

    with OfflineAws() as aws:
        aws.deploy(template=template, asset_dir=assembly.directory, stack_name="Raw")
        echo = next(r for r in aws.resources if r.resource_type == "AWS::Lambda::Function")
        assert aws.invoke(echo.logical_id, {"hi": 1}).result == {"hi": 1}


def test_kms_key_pairs_are_generated_on_first_use_and_answer_as_moto_does(monkeypatch):
    """Symmetric keys never pay for the RSA pair moto makes for every key; an asymmetric
    key still signs, verifies and gives its public key."""
    from moto.kms import utils as kms_utils

    generated: list[str] = []
    original = kms_utils.generate_private_key

    def counting(key_spec: str) -> object:
        generated.append(key_spec)
        return original(key_spec)

    monkeypatch.setattr("moto.kms.models.generate_private_key", counting)
    stack = cdk.Stack(cdk.App(), "Keys")
    cdk.aws_kms.Key(stack, "Data")
    with OfflineAws() as aws:
        aws.deploy(stack)
        kms = aws.client("kms")
        symmetric = kms.encrypt(KeyId=aws.physical_id("Data"), Plaintext=b"x")
        assert kms.decrypt(CiphertextBlob=symmetric["CiphertextBlob"])["Plaintext"] == b"x"
        assert generated == []

        signing = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        signature = kms.sign(KeyId=signing["KeyId"], Message=b"m",
                             SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
        assert kms.verify(KeyId=signing["KeyId"], Message=b"m", Signature=signature,
                          SigningAlgorithm="RSASSA_PSS_SHA_256")["SignatureValid"]
        assert kms.get_public_key(KeyId=signing["KeyId"])["PublicKey"]
        assert generated == ["RSA_2048"]
