"""cdk-nag acknowledgments and checkov skips: every suppression names its rule, optionally its finding, and says why."""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import Acknowledgment, CfnElement, CfnResource, Stack, Validations
from constructs import IConstruct

PACK = "AwsSolutions"


def acknowledge(scope: IConstruct, rule: str, reason: str, *findings: str) -> None:
    """Suppress AwsSolutions-<rule> on scope and its children, for the given findings only if any."""
    if not reason.strip():
        raise ValueError("a cdk-nag suppression needs a written reason")
    ids = [f"{PACK}::{PACK}-{rule}[{finding}]" for finding in findings] or [f"{PACK}::{PACK}-{rule}"]
    Validations.of(scope).acknowledge(*(Acknowledgment(id=rule_id, reason=reason) for rule_id in ids))


def logical_id(construct: IConstruct) -> str:
    """The CloudFormation logical id of construct's L1 resource, as cdk-nag spells it in findings."""
    child = construct.node.default_child or construct
    if not isinstance(child, CfnElement):
        raise TypeError(f"{construct.node.path} has no CloudFormation element")
    stack = Stack.of(child)
    return str(stack.resolve(stack.get_logical_id(child)))


def finding(scope: IConstruct, value: str) -> str:
    """Spell a (possibly tokenized) string the way cdk-nag prints it in a finding: <Ref> / <Id.Attr>."""
    return _flatten(Stack.of(scope).resolve(value))


def _flatten(node: Any) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and "Fn::Join" in node:
        separator, parts = node["Fn::Join"]
        return str(separator).join(_flatten(part) for part in parts)
    if isinstance(node, dict) and "Fn::Sub" in node and isinstance(node["Fn::Sub"], str):
        return re.sub(r"\$\{([^}]+)\}", r"<\1>", node["Fn::Sub"])
    if isinstance(node, dict) and "Ref" in node:
        return f"<{node['Ref']}>"
    if isinstance(node, dict) and "Fn::GetAtt" in node:
        resource, attribute = node["Fn::GetAtt"]
        return f"<{resource}.{attribute}>"
    raise TypeError(f"cannot spell {node!r} as a cdk-nag finding")


def acknowledge_kms_grant(scope: IConstruct, key_purpose: str) -> None:
    """CDK's grants on encrypted Kinesis/SNS/SQS add kms:GenerateDataKey* and kms:ReEncrypt* on that one key."""
    acknowledge(
        scope,
        "IAM5",
        f"kms:GenerateDataKey*/ReEncrypt* come from CDK's grant on the {key_purpose}; the resource is that "
        "single customer-managed key, the wildcard only spans the action's variants.",
        "Action::kms:GenerateDataKey*",
        "Action::kms:ReEncrypt*",
    )


CHECKOV_METADATA = "checkov"


def skip_checkov(scope: IConstruct, check_id: str, reason: str) -> None:
    """Suppress checkov's check_id on scope's CloudFormation resource, with the reason where checkov reads it.

    checkov reads `Metadata.checkov.skip: [{id, comment}]` on the resource itself, so the reason travels in
    the template next to the resource it excuses (https://www.checkov.io/2.Basics/Suppressing%20and%20Skipping%20Policies.html).
    """
    if not reason.strip():
        raise ValueError("a checkov suppression needs a written reason")
    child = scope.node.default_child or scope
    if not isinstance(child, CfnResource):
        raise TypeError(f"{scope.node.path} has no CloudFormation resource")
    current = child.get_metadata(CHECKOV_METADATA) or {}
    skips = [skip for skip in current.get("skip", []) if skip["id"] != check_id]
    child.add_metadata(CHECKOV_METADATA, {"skip": [*skips, {"id": check_id, "comment": reason}]})
