"""Customer data is encrypted with customer-managed keys the services are allowed to use, and no broader."""

from __future__ import annotations

from typing import Any

import pytest

from contract import names
from tests.infra.template import Synth, function_by_name, resources, role_statements, statement_actions

pytestmark = pytest.mark.infra


def _key_ref(value: Any) -> str:
    """The logical id of the AWS::KMS::Key a KmsKeyId-like property points at (GetAtt Arn or Ref)."""
    assert isinstance(value, dict), f"expected a reference to a key in the stack, got {value!r}"
    return str(value["Fn::GetAtt"][0] if "Fn::GetAtt" in value else value["Ref"])


def test_tickets_table_is_encrypted_with_a_customer_managed_rotated_key(synth: Synth) -> None:
    (table,) = resources(synth.raw, "AWS::DynamoDB::Table").values()
    sse = table["Properties"]["SSESpecification"]
    assert (sse["SSEEnabled"], sse["SSEType"]) == (True, "KMS")
    key = resources(synth.raw, "AWS::KMS::Key")[_key_ref(sse["KMSMasterKeyId"])]
    assert key["Properties"]["EnableKeyRotation"] is True


def test_every_secret_is_encrypted_with_a_customer_managed_key(synth: Synth) -> None:
    keys = resources(synth.raw, "AWS::KMS::Key")
    secrets = resources(synth.raw, "AWS::SecretsManager::Secret")
    assert len(secrets) == 4  # Slack, Redshift, the reply-address HMAC key, the rating-link (CSAT) key
    for logical_id, secret in secrets.items():
        assert _key_ref(secret["Properties"].get("KmsKeyId")) in keys, logical_id


def test_every_log_group_is_encrypted_with_a_key_cloudwatch_logs_may_use_for_it(synth: Synth) -> None:
    keys = resources(synth.raw, "AWS::KMS::Key")
    groups = resources(synth.raw, "AWS::Logs::LogGroup")
    assert len(groups) >= 7  # six functions and the workflow
    for logical_id, group in groups.items():
        key = keys[_key_ref(group["Properties"].get("KmsKeyId"))]
        logs_statements = [
            s
            for s in key["Properties"]["KeyPolicy"]["Statement"]
            if s.get("Principal", {}).get("Service") == "logs.us-east-1.amazonaws.com"
        ]
        assert logs_statements, f"{logical_id}: its key does not let CloudWatch Logs use it"
        for statement in logs_statements:
            condition = statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
            patterns = [condition] if not isinstance(condition, list) else condition
            # Scoped to this project's log groups, never every log group of the account.
            assert all(":log-group:/aws/" in str(p) for p in patterns), patterns


def test_functions_that_read_the_table_may_use_its_key_and_the_bot_may_not_decrypt_the_redshift_secret(
    synth: Synth,
) -> None:
    (table,) = resources(synth.raw, "AWS::DynamoDB::Table").values()
    table_key = _key_ref(table["Properties"]["SSESpecification"]["KMSMasterKeyId"])
    _, bot = function_by_name(synth.raw, names.FN_BOT)
    statements = role_statements(synth.raw, bot["Properties"]["Role"]["Fn::GetAtt"][0])
    kms_resources = [
        _key_ref(s["Resource"]) for s in statements if any(a.startswith("kms:") for a in statement_actions(s))
    ]
    assert table_key in kms_resources
    (redshift_secret,) = (
        s
        for s in resources(synth.raw, "AWS::SecretsManager::Secret").values()
        if s["Properties"]["Name"].endswith("/redshift")
    )
    assert _key_ref(redshift_secret["Properties"]["KmsKeyId"]) not in kms_resources


def test_state_machine_may_encrypt_what_it_writes_to_the_table(synth: Synth) -> None:
    (table,) = resources(synth.raw, "AWS::DynamoDB::Table").values()
    table_key = _key_ref(table["Properties"]["SSESpecification"]["KMSMasterKeyId"])
    (machine,) = resources(synth.raw, "AWS::StepFunctions::StateMachine").values()
    statements = role_statements(synth.raw, machine["Properties"]["RoleArn"]["Fn::GetAtt"][0])
    granted = set().union(
        *(
            statement_actions(s)
            for s in statements
            if isinstance(s["Resource"], dict) and _key_ref(s["Resource"]) == table_key
        )
    )
    assert {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"} <= granted
