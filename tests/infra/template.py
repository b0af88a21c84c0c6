"""The session's synthesized template and small lookups over its raw JSON."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Template

from contract import names


@dataclass(frozen=True)
class Synth:
    """The synthesized stack: its template (as JSON and as an assertions Template) and the cloud assembly dir."""

    raw: dict[str, Any]
    template_path: Path
    outdir: Path
    stack_name: str

    @cached_property
    def template(self) -> Template:
        """The assertions Template (parsed on first use: most tests read the raw JSON only)."""
        return Template.from_json(self.raw)


def resources(raw: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource of one CloudFormation type."""
    return {k: v for k, v in raw["Resources"].items() if v["Type"] == resource_type}


def function_by_name(raw: dict[str, Any], suffix: str) -> tuple[str, dict[str, Any]]:
    """The Lambda function named <project>-<suffix>."""
    for logical_id, res in resources(raw, "AWS::Lambda::Function").items():
        if res["Properties"].get("FunctionName") == f"{names.PROJECT}-{suffix}":
            return logical_id, res
    raise AssertionError(f"no function {suffix}")


def role_of(function: dict[str, Any]) -> str:
    """The logical id of a function's (or a Glue job's) execution role."""
    return function["Properties"]["Role"]["Fn::GetAtt"][0]


def role_statements(raw: dict[str, Any], role_logical_id: str) -> list[dict[str, Any]]:
    """Every statement of every IAM policy attached to the role."""
    return [
        statement
        for policy in resources(raw, "AWS::IAM::Policy").values()
        if {"Ref": role_logical_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def function_statements(raw: dict[str, Any], suffix: str) -> list[dict[str, Any]]:
    """The policy statements of the role of the function named <project>-<suffix>."""
    return role_statements(raw, role_of(function_by_name(raw, suffix)[1]))


def statement_actions(statement: dict[str, Any]) -> set[str]:
    """A statement's actions (CloudFormation writes a single one as a string)."""
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)
