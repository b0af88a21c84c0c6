"""Are the deployed roles broad enough for what the code does? (issue 28.2)

Input: the synthesized CloudFormation template (JSON) and the calls the local stack recorded
(local/iam_record.py: principal, service, operation, resource ARNs). For each call the checker derives the
IAM actions it needs (tools/iam/actions.py), plus the implied ones: KMS on the key that encrypts the
resource (read from the template: a table's SSESpecification, a topic's or queue's KmsMasterKeyId, a
stream's StreamEncryption, a secret's KmsKeyId, a bucket's default key, a key named in the request) and
iam:PassRole for a role handed to a service. Then it evaluates the principal's policies from the template:

- a function (`function:<name>`): its execution role's policies; the state machine (`states`), the SLA
  scheduler (`scheduler:<group>`) and the Glue job (`glue`: the local ETL twin's S3 calls) likewise; KMS also needs the key policy to allow (directly or by
  delegating to the account's IAM policies);
- a service (`service:ses.amazonaws.com`, ...): the resource policies (bucket, key, topic, queue policies
  and the functions' `AWS::Lambda::Permission`s) must allow it.

CloudFormation intrinsics resolve to the local stack's names (the shared names in contract/names.py are
also the template's TableName/TopicName/...); where local and deployed names differ (a KMS key id, a role
name, the SES identity) the local value of the environment variable the template sets from that resource
says which is which (`env_rewrites`). Explicit Deny wins; conditions are not evaluated (an Allow with a
condition counts as an Allow, a Deny with one as no Deny), except kms:ViaService, which limits a key grant to
calls through that service: this proves "broad enough", not "narrow enough".
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from contract import names
from local.iam_record import ACCOUNT, GLUE_JOB, Call
from tools.iam.actions import ACTIONS, KMS_IMPLIED, PREFIX

# Buckets the template leaves unnamed (CloudFormation names them): their local names.
_LOCAL_BUCKETS = {"StorageArchive": names.BUCKET_NAME}


@dataclass(frozen=True)
class Need:
    """One (action, resource) a recorded call needs."""

    call: Call
    action: str
    resource: str

    def describe(self) -> str:
        return f"{self.call.service}.{self.call.operation} needs {self.action} on {self.resource}"


@dataclass(frozen=True)
class Finding:
    """A need the principal's policies do not grant."""

    principal: str
    need: Need
    reason: str

    def __str__(self) -> str:
        return f"{self.principal}: {self.need.describe()} ({self.reason})"


class Template:
    """A synthesized template with intrinsics resolved to local names."""

    def __init__(self, raw: dict[str, Any], *, account: str = ACCOUNT, region: str = "us-east-1") -> None:
        self.raw = raw
        self.resources: dict[str, dict[str, Any]] = raw["Resources"]
        self.account = account
        self.region = region

    # --- names and intrinsics ---------------------------------------------------------------------
    def name(self, logical: str) -> str:
        res = self.resources[logical]
        props = res.get("Properties", {})
        for key in ("TableName", "BucketName", "TopicName", "QueueName", "FunctionName", "RoleName",
                    "StateMachineName", "EmailIdentity", "Name"):  # fmt: skip
            if isinstance(props.get(key), str):
                return str(props[key])
        if res["Type"] == "AWS::S3::Bucket":
            for prefix, local in _LOCAL_BUCKETS.items():
                if logical.startswith(prefix):
                    return local
        return logical

    def arn(self, logical: str, attr: str = "Arn") -> str:
        kind = self.resources[logical]["Type"]
        n, r, a = self.name(logical), self.region, self.account
        arns = {
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{r}:{a}:table/{n}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{n}",
            "AWS::SNS::Topic": f"arn:aws:sns:{r}:{a}:{n}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{r}:{a}:{n}",
            "AWS::Kinesis::Stream": f"arn:aws:kinesis:{r}:{a}:stream/{n}",
            "AWS::SecretsManager::Secret": f"arn:aws:secretsmanager:{r}:{a}:secret:{n}",
            "AWS::StepFunctions::StateMachine": f"arn:aws:states:{r}:{a}:stateMachine:{n}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{r}:{a}:function:{n}",
            "AWS::IAM::Role": f"arn:aws:iam::{a}:role/{n}",
            "AWS::KMS::Key": f"arn:aws:kms:{r}:{a}:key/{n}",
            "AWS::Scheduler::ScheduleGroup": f"arn:aws:scheduler:{r}:{a}:schedule-group/{n}",
        }
        base = arns.get(kind, f"arn:aws:cloudformation:::{logical}")
        if attr == "StreamArn":
            return f"{base}/stream/*"
        if attr == "QueueUrl":
            return f"https://sqs.{r}.amazonaws.com/{a}/{n}"
        if attr == "Arn":
            return base
        return n

    def ref(self, logical: str) -> str:
        pseudo = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if logical in pseudo:
            return pseudo[logical]
        kind = self.resources[logical]["Type"]
        if kind in ("AWS::SNS::Topic", "AWS::SecretsManager::Secret", "AWS::StepFunctions::StateMachine"):
            return self.arn(logical)
        if kind == "AWS::SQS::Queue":
            return self.arn(logical, "QueueUrl")
        return self.name(logical)

    def resolve(self, value: Any) -> Any:
        """A template value with Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split resolved."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict) or len(value) != 1:
            return value
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return self.ref(arg)
        if fn == "Fn::GetAtt":
            logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
            return self.arn(logical, attr)
        if fn == "Fn::Join":
            sep, parts = arg
            return sep.join(str(self.resolve(p)) for p in parts)
        if fn == "Fn::Select":
            index, items = arg
            return self.resolve(items)[int(index)]
        if fn == "Fn::Split":
            sep, text = arg
            return str(self.resolve(text)).split(sep)
        if fn == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else arg

            def sub(m: re.Match[str]) -> str:
                key = m.group(1)
                if key in variables:
                    return str(self.resolve(variables[key]))
                if "." in key and not key.startswith("AWS::"):
                    logical, attr = key.split(".", 1)
                    return self.arn(logical, attr)
                return self.ref(key)

            return re.sub(r"\$\{([^}!]+)\}", sub, text)
        return value

    def strings(self, value: Any) -> list[str]:
        resolved = self.resolve(value)
        return [str(v) for v in (resolved if isinstance(resolved, list) else [resolved])]

    def logical_of(self, value: Any) -> str | None:
        """The logical id a Ref / Fn::GetAtt points at."""
        if isinstance(value, dict) and "Ref" in value:
            return str(value["Ref"])
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            arg = value["Fn::GetAtt"]
            return str(arg[0] if isinstance(arg, list) else arg.split(".", 1)[0])
        return None

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}

    # --- principals ---------------------------------------------------------------------------------
    def function(self, name: str) -> tuple[str, dict[str, Any]]:
        for logical, res in self.of_type("AWS::Lambda::Function").items():
            if res["Properties"].get("FunctionName") == f"{names.PROJECT}-{name}":
                return logical, res
        raise KeyError(f"no function {names.PROJECT}-{name} in the template")

    def role_of(self, principal: str) -> str | None:
        """The logical id of the role a principal acts with (None for a service principal)."""
        if principal.startswith("function:"):
            _, fn = self.function(principal.split(":", 1)[1])
            return self.logical_of(fn["Properties"]["Role"])
        if principal == "states":
            (machine,) = self.of_type("AWS::StepFunctions::StateMachine").values()
            return self.logical_of(machine["Properties"]["RoleArn"])
        if principal == GLUE_JOB:
            (job,) = self.of_type("AWS::Glue::Job").values()
            return self.logical_of(job["Properties"]["Role"])
        if principal.startswith("scheduler:"):
            # The role the SLA timer function hands to the Scheduler (what the schedules run with).
            for fn in self.of_type("AWS::Lambda::Function").values():
                env = fn["Properties"].get("Environment", {}).get("Variables", {})
                if names.ENV_SLA_SCHEDULER_ROLE_ARN in env:
                    return self.logical_of(env[names.ENV_SLA_SCHEDULER_ROLE_ARN])
            raise KeyError("no function names the scheduler role")
        return None

    def role_statements(self, role: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        props = self.resources[role]["Properties"]
        for policy in props.get("Policies", []):
            out += policy["PolicyDocument"]["Statement"]
        for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for res in self.of_type(kind).values():
                if {"Ref": role} in res["Properties"].get("Roles", []):
                    out += res["Properties"]["PolicyDocument"]["Statement"]
        return out

    def resource_statements(self) -> list[dict[str, Any]]:
        """Every resource policy's statements, with Resource filled in where the policy implies it."""
        out: list[dict[str, Any]] = []
        for res in self.of_type("AWS::S3::BucketPolicy").values():
            out += res["Properties"]["PolicyDocument"]["Statement"]
        for logical, res in self.of_type("AWS::KMS::Key").items():
            for s in res["Properties"].get("KeyPolicy", {}).get("Statement", []):
                out.append({**s, "Resource": self.arn(logical)})  # "*" in a key policy means this key
        for kind, _key in (("AWS::SNS::TopicPolicy", "Topics"), ("AWS::SQS::QueuePolicy", "Queues")):
            for res in self.of_type(kind).values():
                out += res["Properties"]["PolicyDocument"]["Statement"]
        for res in self.of_type("AWS::Lambda::Permission").values():
            p = res["Properties"]
            fn = self.resolve(p["FunctionName"])
            arn = (
                fn
                if str(fn).startswith("arn:")
                else f"arn:aws:lambda:{self.region}:{self.account}:function:{fn}"
            )
            principal = p["Principal"]
            who = {"Service": principal} if principal.endswith(".amazonaws.com") else {"AWS": principal}
            out.append({"Effect": "Allow", "Principal": who, "Action": p["Action"], "Resource": arn})
        return out

    # --- encryption ------------------------------------------------------------------------------------
    def encryption_keys(self) -> dict[str, str]:
        """Resource ARN (pattern) -> the ARN of the KMS key that encrypts it (customer managed keys only)."""
        out: dict[str, str] = {}
        for logical, res in self.resources.items():
            p = res.get("Properties", {})
            key: Any = None
            if res["Type"] == "AWS::DynamoDB::Table":
                key = p.get("SSESpecification", {}).get("KMSMasterKeyId")
            elif res["Type"] in ("AWS::SNS::Topic", "AWS::SQS::Queue"):
                key = p.get("KmsMasterKeyId")
            elif res["Type"] == "AWS::Kinesis::Stream":
                key = p.get("StreamEncryption", {}).get("KeyId")
            elif res["Type"] == "AWS::SecretsManager::Secret":
                key = p.get("KmsKeyId")
            elif res["Type"] == "AWS::S3::Bucket":
                for rule in p.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", []):
                    key = rule.get("ServerSideEncryptionByDefault", {}).get("KMSMasterKeyID") or key
            if key is None or (isinstance(key, str) and key.startswith("alias/aws/")):
                continue  # AWS managed keys need no grant of ours
            key_arn = str(self.resolve(key))
            arn = self.arn(logical)
            out[arn] = key_arn
            if res["Type"] == "AWS::S3::Bucket":
                out[f"{arn}/*"] = key_arn
            if res["Type"] == "AWS::DynamoDB::Table":
                out[f"{arn}/*"] = key_arn  # its indexes and streams
        return out


# --- matching ---------------------------------------------------------------------------------------------
def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _action_matches(patterns: Iterable[str], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


def _resource_matches(patterns: Iterable[str], resource: str) -> bool:
    return any(p == "*" or fnmatch.fnmatchcase(resource, p) for p in patterns)


def _applies(t: Template, statement: dict[str, Any], action: str, resource: str, service: str = "") -> bool:
    if service and not _via_service_matches(t, statement, service):
        return False
    if "Action" in statement and not _action_matches(_listed(statement["Action"]), action):
        return False
    if "NotAction" in statement and _action_matches(_listed(statement["NotAction"]), action):
        return False
    if "Resource" in statement and not _resource_matches(t.strings(statement["Resource"]), resource):
        return False
    return not (
        "NotResource" in statement and _resource_matches(t.strings(statement["NotResource"]), resource)
    )


def _via_service_matches(t: Template, statement: dict[str, Any], service: str) -> bool:
    """False when the statement is limited to requests made through another service (kms:ViaService): CDK's
    grant on a secret allows the secret's key only via Secrets Manager, not for a DynamoDB call on a table
    encrypted with the same key. The one condition evaluated (the others still count as met)."""
    for operator in ("StringEquals", "StringLike"):
        via = (statement.get("Condition") or {}).get(operator, {}).get("kms:ViaService")
        if via is not None:
            return any(str(v).split(".", 1)[0] == service for v in t.strings(via))
    return True


def _principal_matches(t: Template, statement: dict[str, Any], principal: str, role_arn: str | None) -> bool:
    who = statement.get("Principal")
    if who == "*":
        return True
    if not isinstance(who, dict):
        return False
    if principal.startswith("service:"):
        return principal.split(":", 1)[1] in _listed(who.get("Service", []))
    aws = t.strings(who.get("AWS", []))
    return "*" in aws or (role_arn is not None and role_arn in aws)


def _decide(
    t: Template, statements: list[dict[str, Any]], action: str, resource: str, service: str = ""
) -> str:
    """allow | deny | none, for statements already narrowed to the principal (`service`: the one the call
    went to, for kms:ViaService)."""
    matching = [s for s in statements if _applies(t, s, action, resource, service)]
    if any(s["Effect"] == "Deny" and not s.get("Condition") for s in matching):
        return "deny"
    return "allow" if any(s["Effect"] == "Allow" for s in matching) else "none"


class UnmappedOperationError(LookupError):
    """A recorded API operation the operation -> IAM action map does not list (so nothing can be checked)."""


# --- needs ----------------------------------------------------------------------------------------------
def needs(call: Call, keys: dict[str, str]) -> list[Need]:
    """The (action, resource) pairs a call needs; UnmappedOperationError for an operation the map lacks."""
    actions = ACTIONS.get((call.service, call.operation))
    if actions is None:
        raise UnmappedOperationError(
            f"{call.principal} called {call.service}:{call.operation}, which tools/iam/actions.py does not map "
            "to IAM actions: add it from the Service Authorization Reference"
        )
    out = [Need(call, a, r) for a in actions for r in call.resources]
    kms_actions = KMS_IMPLIED.get((call.service, call.operation), ())
    key_arns = set(call.kms_keys)
    for resource in call.resources:
        for pattern, key in keys.items():
            if resource == pattern or fnmatch.fnmatchcase(resource, pattern):
                key_arns.add(key)
    out += [Need(call, a, k) for a in kms_actions for k in sorted(key_arns)]
    out += [Need(call, "iam:PassRole", role) for role in call.passed_roles]
    return out


def rewrite(call: Call, rewrites: list[tuple[str, str]]) -> Call:
    """The call with local names replaced by the template's (see `env_rewrites`)."""

    def fix(values: tuple[str, ...]) -> tuple[str, ...]:
        out = []
        for v in values:
            for local, deployed in rewrites:
                v = v.replace(local, deployed)
            out.append(v)
        return tuple(out)

    return Call(
        call.principal,
        call.service,
        call.operation,
        fix(call.resources),
        fix(call.kms_keys),
        fix(call.passed_roles),
    )


def env_rewrites(t: Template, local_env: dict[str, str]) -> list[tuple[str, str]]:
    """(local value, template value) pairs: each function environment variable the template sets from a
    resource (Ref/GetAtt), whose local value differs; plus the inbound-mail bucket (SES writes to a bucket
    of its own on AWS, to the archive bucket's inbound-mail/ prefix locally) and the sender identity."""
    pairs: dict[str, str] = {}
    known = {t.name(logical) for logical in t.resources} | {t.arn(logical) for logical in t.resources}
    for fn in t.of_type("AWS::Lambda::Function").values():
        for key, value in fn["Properties"].get("Environment", {}).get("Variables", {}).items():
            local = local_env.get(key, "")
            if not isinstance(value, dict) or len(local) < 8 or t.logical_of(value) is None or local in known:
                continue  # a shared name (contract/names.py) is the same on both sides
            deployed = str(t.resolve(value))
            if deployed.startswith("arn:") != local.startswith("arn:"):
                if not deployed.startswith("arn:"):
                    continue
                deployed = deployed.rsplit("/", 1)[-1].rsplit(":", 1)[-1]  # a bare id (KMS key) locally
            if deployed != local:
                pairs[local] = deployed
    for rule in t.of_type("AWS::SES::ReceiptRule").values():
        for action in rule["Properties"]["Rule"].get("Actions", []):
            if "S3Action" in action:
                bucket = t.resolve(action["S3Action"]["BucketName"])
                prefix = action["S3Action"].get("ObjectKeyPrefix", names.INBOUND_MAIL_PREFIX)
                pairs[f"arn:aws:s3:::{names.BUCKET_NAME}/{prefix}"] = f"arn:aws:s3:::{bucket}/{prefix}"
    local_from = _address(local_env.get(names.ENV_REPLY_FROM, ""))
    for identity in t.of_type("AWS::SES::EmailIdentity").values():
        deployed_from = str(identity["Properties"]["EmailIdentity"])
        if local_from and local_from != deployed_from:
            pairs[f":identity/{local_from}"] = f":identity/{deployed_from}"
    return sorted(pairs.items(), key=lambda kv: -len(kv[0]))


def _address(value: str) -> str:
    return value.rsplit("<", 1)[-1].rstrip(">").strip()


# --- the check ------------------------------------------------------------------------------------------
def check(t: Template, calls: Iterable[Call], rewrites: list[tuple[str, str]] | None = None) -> list[Finding]:
    """Every need of every call that the principal's policies do not grant."""
    keys = t.encryption_keys()
    resource_policies = t.resource_statements()
    findings: list[Finding] = []
    for raw in sorted(set(calls), key=lambda c: (c.principal, c.service, c.operation, c.resources)):
        call = rewrite(raw, rewrites or [])
        role = t.role_of(call.principal)
        role_arn = t.arn(role) if role else None
        identity = t.role_statements(role) if role else []
        for need in needs(call, keys):
            reason = _denied(t, call.principal, role_arn, identity, resource_policies, need)
            if reason:
                findings.append(Finding(call.principal, need, reason))
    return findings


def _denied(
    t: Template,
    principal: str,
    role_arn: str | None,
    identity: list[dict[str, Any]],
    resource_policies: list[dict[str, Any]],
    need: Need,
) -> str | None:
    on_resource = [
        s for s in resource_policies if _principal_matches(t, s, principal, role_arn) or s["Effect"] == "Deny"
    ]
    via = need.call.service if need.action.startswith("kms:") else ""
    by_resource = _decide(t, on_resource, need.action, need.resource, via)
    if by_resource == "deny":
        return "denied by a resource policy"
    if role_arn is None:  # a service acting on its own: only resource policies can allow it
        return None if by_resource == "allow" else "no resource policy allows it"
    by_identity = _decide(t, identity, need.action, need.resource, via)
    if by_identity == "deny":
        return f"denied by the role {role_arn.rsplit('/', 1)[-1]}"
    if need.action.startswith("kms:") and not _key_lets_iam_decide(t, need) and by_resource != "allow":
        return "the key policy allows neither the role nor the account's IAM policies"
    if by_identity == "allow" or by_resource == "allow":
        return None
    return f"no statement of the role {role_arn.rsplit('/', 1)[-1]} allows it"


def _key_lets_iam_decide(t: Template, need: Need) -> bool:
    """A key policy that allows the account root lets IAM policies grant the key (CDK's default)."""
    root = f"arn:aws:iam::{t.account}:root"
    for logical, res in t.of_type("AWS::KMS::Key").items():
        if t.arn(logical) != need.resource:
            continue
        for s in res["Properties"].get("KeyPolicy", {}).get("Statement", []):
            who = s.get("Principal", {})
            grants_root = isinstance(who, dict) and root in t.strings(who.get("AWS", []))
            if (
                s["Effect"] == "Allow"
                and grants_root
                and _action_matches(_listed(s.get("Action", [])), need.action)
            ):
                return True
        return False
    return True  # not a key of this template (e.g. an AWS managed key)


def principals(t: Template) -> list[str]:
    """Every principal the check knows how to evaluate: each function, the state machine, the scheduler,
    the Glue job."""
    out = [f"function:{fn}" for fn in names.HANDLERS]
    return [*out, "states", f"scheduler:{names.SLA_SCHEDULE_GROUP}", GLUE_JOB]


def iam_action(call: Call) -> tuple[str, ...]:
    """The IAM actions of a call's operation (the map's answer, or the service prefix + operation)."""
    return ACTIONS.get((call.service, call.operation)) or (
        f"{PREFIX.get(call.service, call.service)}:{call.operation}",
    )
