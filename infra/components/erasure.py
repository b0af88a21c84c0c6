"""The erasure function (`tms customer forget` against a deployed stack invokes it): least privilege on every
store of contract/erasure.py it erases, and nothing else."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from contract import erasure, names
from contract.clients import OPERATOR_FUNCTION_TIMEOUT_S
from infra.components._nag import acknowledge, acknowledge_kms_grant, finding
from infra.components.lambdas import LambdaPackage, ServiceFunction
from infra.components.retention import data_api_arn
from infra.components.storage import Storage

# A scan of the table and a listing of every erased prefix with versions, then one DELETE per warehouse table
# (waited for); the CLI waits this long for the synchronous invoke (contract/clients.py "invoke").
TIMEOUT = Duration.seconds(OPERATOR_FUNCTION_TIMEOUT_S)
MEMORY_MB = 512
S3_ACTIONS_READ = ("s3:GetObject", "s3:GetObjectVersion")
S3_ACTIONS_DELETE = ("s3:DeleteObject", "s3:DeleteObjectVersion")


def erased_prefixes() -> list[erasure.PrefixRule]:
    """The prefixes erasure touches (a prefix that holds no customer data is never read)."""
    return [r for r in erasure.S3_PREFIXES if r.match != "none"]


class Erasure(Construct):
    """The erasure function and its role."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        package: LambdaPackage,
        storage: Storage,
        schedule_group: str,
        slack_secret: secretsmanager.ISecret,
        slack_channel_id: str,
        redshift_secret: secretsmanager.ISecret,
        redshift_key: kms.IKey,
        redshift_target: tuple[str, str],
        redshift_database: str,
        redshift_schema: str,
        redshift_table: str,
        inbound_bucket: s3.IBucket | None = None,
        inbound_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        kind, target = redshift_target
        self.fn = ServiceFunction(
            self,
            "Function",
            name=names.FN_ERASURE,
            package=package,
            description="Erases one customer from every store tms writes (tms customer forget)",
            memory_size=MEMORY_MB,
            timeout=TIMEOUT,
            # One erasure at a time: two at once would race on the same shared objects (quarantine batches).
            reserved_concurrency=1,
            environment={
                names.ENV_TABLE_NAME: storage.table.table_name,
                names.ENV_BUCKET_NAME: storage.bucket.bucket_name,
                **({names.ENV_INBOUND_BUCKET_NAME: inbound_bucket.bucket_name} if inbound_bucket else {}),
                names.ENV_SLA_SCHEDULE_GROUP: schedule_group,
                names.ENV_SLACK_SECRET_ARN: slack_secret.secret_arn,
                names.ENV_SLACK_CHANNEL: slack_channel_id,
                names.ENV_REDSHIFT_CLUSTER if kind == "cluster" else names.ENV_REDSHIFT_WORKGROUP: target,
                names.ENV_REDSHIFT_DATABASE: redshift_database,
                names.ENV_REDSHIFT_SCHEMA: redshift_schema,
                names.ENV_REDSHIFT_TABLE: redshift_table,
                names.ENV_REDSHIFT_SECRET_ARN: redshift_secret.secret_arn,
            },
        )
        self.function = self.fn.function
        role = self.fn.role
        # The table: a scan finds the customer's tickets and the counters keyed by their address; items are
        # deleted, an incident root is stripped (GetItem + UpdateItem). The table's key decrypts the items.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Scan", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
                resources=[storage.table.table_arn],
            )
        )
        storage.data_key.grant_encrypt_decrypt(role)
        acknowledge_kms_grant(role, "tickets table's data key")
        # The bucket: list every version (bucket-level, limited to the erased prefixes by condition), read
        # and delete versions under those prefixes only, and rewrite a shared quarantine batch.
        prefixes = erased_prefixes()
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucketVersions"],
                resources=[storage.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [r.prefix + "*" for r in prefixes]}},
            )
        )
        object_arns = [storage.bucket.arn_for_objects(r.prefix + "*") for r in prefixes]
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=[*S3_ACTIONS_READ, *S3_ACTIONS_DELETE], resources=object_arns)
        )
        inbound_arns: list[str] = []
        if inbound_bucket is not None:
            # Customers' answers (raw MIME, held mail) live in the inbound bucket on AWS: the same rights
            # there, under its prefixes only, and its key to read them (found by tests/infra/test_iam_sufficiency).
            inbound = [r for r in prefixes if r.prefix.startswith(names.INBOUND_MAIL_PREFIX)]
            inbound_arns = [inbound_bucket.arn_for_objects(r.prefix + "*") for r in inbound]
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["s3:ListBucketVersions"],
                    resources=[inbound_bucket.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [r.prefix + "*" for r in inbound]}},
                )
            )
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=[*S3_ACTIONS_READ, *S3_ACTIONS_DELETE],
                    resources=inbound_arns,
                )
            )
            if inbound_key is not None:
                inbound_key.grant_decrypt(role)
        # The knowledge base (store kb:precedents): the customer's precedents leave kb/index.json (read, then
        # written back conditionally) and every older version of that one object that still quotes them is
        # deleted. Only that key: the team's articles are never listed, read or deleted one by one.
        index_arn = storage.bucket.arn_for_objects(names.KB_INDEX_KEY)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucketVersions"],
                resources=[storage.bucket.bucket_arn],
                conditions={"StringEquals": {"s3:prefix": names.KB_INDEX_KEY}},
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObjectVersion"],
                resources=[index_arn],
            )
        )
        rewritten = [storage.bucket.arn_for_objects(r.prefix + "*") for r in prefixes if r.lines]
        role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:PutObject"], resources=rewritten))
        # The SLA timers of the customer's tickets, in the one schedule group.
        schedules = stack.format_arn(
            service="scheduler", resource="schedule", resource_name=f"{schedule_group}/*"
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["scheduler:DeleteSchedule"], resources=[schedules])
        )
        # Slack: the bot token, to redact the ticket posts.
        slack_secret.grant_read(role)
        # The warehouse: DELETEs through the Redshift Data API with the loader's secret.
        warehouse = data_api_arn(stack, kind, target)
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["redshift-data:ExecuteStatement"], resources=[warehouse])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["redshift-data:DescribeStatement"], resources=["*"])
        )
        redshift_secret.grant_read(role)
        redshift_key.grant_decrypt(role)
        acknowledge(
            role,
            "IAM5",
            "Erasure deletes objects of any ticket under the prefixes that hold customer data, and the SLA "
            "schedules of any ticket in the project's group; the wildcards stop at those prefixes and that "
            "group. redshift-data:DescribeStatement has no resource-level permission (a caller sees only its "
            "own statements); a serverless workgroup ARN carries its id, unknown at synth.",
            *(f"Resource::{finding(self, arn)}" for arn in [*object_arns, *inbound_arns, schedules]),
            "Resource::*",
            *([f"Resource::{finding(self, warehouse)}"] if kind != "cluster" else []),
        )
