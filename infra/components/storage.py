"""Ticket storage: the DynamoDB table (metadata, status, Slack thread) and the S3 archive bucket."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from contract import defaults, names
from contract.erasure import RETAINED_PREFIXES
from contract.manifests import RETENTION_DAYS as MANIFEST_RETENTION_DAYS
from infra.components._nag import acknowledge, acknowledge_kms_grant, finding, skip_checkov

QUARANTINE_EXPIRY = Duration.days(90)
GLUE_TEMP_EXPIRY = Duration.days(7)
NONCURRENT_EXPIRY = Duration.days(30)
# The ETL's manifest markers: a load whose bookmark is older than this falls back to a full load.
MANIFEST_EXPIRY = Duration.days(MANIFEST_RETENTION_DAYS)
# The trigger's copy of each execution input (what `tms retry` re-runs): as long as Standard kept it.
INPUTS_EXPIRY = Duration.days(names.INPUTS_RETENTION_DAYS)


def retention_rules(archive_days: int, inbound_mail_days: int) -> list[tuple[str, str, int]]:
    """(rule id, prefix, days) of the retention lifecycle rules (contract/erasure.py names the prefixes)."""
    days = {"archive": archive_days, "inbound_mail": inbound_mail_days}
    return [(rule_id, prefix, days[setting]) for rule_id, prefix, setting in RETAINED_PREFIXES]


class Storage(Construct):
    """The tickets table, the archive bucket (with its access-log bucket) and the data key."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table_name: str,
        archive_retention_days: int = defaults.RETENTION_DAYS["archive"],
        inbound_mail_retention_days: int = defaults.RETENTION_DAYS["inbound_mail"],
    ) -> None:
        super().__init__(scope, construct_id)
        # One customer-managed key for ticket data at rest and in flight (table, stream, DLQ, tickets topic)
        # and the Slack secret: revoking it (or its grants) cuts every path to customer data at once.
        self.data_key = kms.Key(
            self,
            "DataKey",
            description="tms: tickets table, Kinesis stream, DLQ, tickets topic and Slack secret",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.table = dynamodb.Table(
            self,
            "Tickets",
            table_name=table_name,
            partition_key=dynamodb.Attribute(name="ticket_id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.data_key,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
            # Every change after triage reaches the warehouse through the stream (the ticket-lifecycle
            # function); old images too, so a change no lifecycle column sees writes nothing.
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            # Rate-limit counters (pipeline.adapters.limits) and ticket items (the archive step stamps them
            # with the configured retention, cdk.json `retention.tickets`) expire by it.
            time_to_live_attribute=names.TABLE_TTL_ATTR,
        )
        # `/ticket mine`: an agent's tickets by owner (only owned tickets have the attribute, so it stays small).
        self.table.add_global_secondary_index(
            index_name=names.ASSIGNEE_INDEX,
            partition_key=dynamodb.Attribute(name=names.ASSIGNEE_ATTR, type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        # Incidents: one submission day's ticket vectors, in the order they were written (the window search
        # reads a day at a time and only what it has not seen; pipeline/adapters/vector_index.py).
        self.table.add_global_secondary_index(
            index_name=names.EMBEDDING_INDEX,
            partition_key=dynamodb.Attribute(
                name=names.EMBEDDING_DAY_ATTR, type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(name=names.EMBEDDED_AT_ATTR, type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.INCLUDE,
            non_key_attributes=[names.EMBEDDING_ATTR, "submitted_at"],
        )
        self.access_logs_bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs", expiration=Duration.days(365))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.access_logs_bucket,
            "S1",
            "This is the server access-log bucket of the archive; logging it into itself would loop.",
        )
        skip_checkov(
            self.access_logs_bucket,
            "CKV_AWS_18",
            "This is the server access-log bucket of the archive; logging it into itself would loop.",
        )
        skip_checkov(
            self.access_logs_bucket,
            "CKV_AWS_21",
            "Only S3's log delivery writes here, each log object once under a unique key; versions would "
            "only keep copies of what the 365-day expiry deletes.",
        )
        self.bucket = s3.Bucket(
            self,
            "Archive",
            encryption=s3.BucketEncryption.S3_MANAGED,
            versioned=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="archive/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-quarantine", prefix=names.QUARANTINE_PREFIX, expiration=QUARANTINE_EXPIRY
                ),
                s3.LifecycleRule(
                    id="expire-glue-temp", prefix=names.GLUE_TEMP_PREFIX, expiration=GLUE_TEMP_EXPIRY
                ),
                s3.LifecycleRule(
                    id="expire-execution-inputs", prefix=names.INPUTS_PREFIX, expiration=INPUTS_EXPIRY
                ),
                s3.LifecycleRule(
                    id="expire-etl-manifests", prefix=names.MANIFEST_PREFIX, expiration=MANIFEST_EXPIRY
                ),
                # Retention (cdk.json `retention`): the ticket records and customers' mail. A versioned
                # bucket keeps an expired object as a noncurrent version for NONCURRENT_EXPIRY more days.
                *(
                    s3.LifecycleRule(id=f"retain-{rule_id}", prefix=prefix, expiration=Duration.days(days))
                    for rule_id, prefix, days in retention_rules(
                        archive_retention_days, inbound_mail_retention_days
                    )
                ),
                s3.LifecycleRule(
                    id="expire-noncurrent-versions",
                    noncurrent_version_expiration=NONCURRENT_EXPIRY,
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                ),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )

    def grant_archive_write(self, grantee: iam.IGrantable) -> iam.Grant:
        """s3:PutObject under tickets/, originals/ and the tickets' manifest markers only, and the data key
        the originals are encrypted with."""
        prefixes = (
            names.ARCHIVE_PREFIX,
            names.ORIGINALS_PREFIX,
            names.MANIFEST_PREFIX + names.ARCHIVE_PREFIX,
        )
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:PutObject"],
            resource_arns=[self.bucket.arn_for_objects(f"{prefix}*") for prefix in prefixes],
        )
        # SSE-KMS on put needs GenerateDataKey (and Encrypt); nothing here may read an original back.
        self.data_key.grant(grantee, "kms:GenerateDataKey", "kms:Encrypt")
        for prefix in prefixes:
            self._acknowledge_prefix(grantee, prefix)
        return grant

    def grant_knowledge_base_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """s3:GetObject (which also authorizes HEAD) under kb/ only: the draft function reads the index
        `tms kb ingest` writes. No list, no write, no other prefix; the bucket is SSE-S3, so no key grant."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:GetObject"],
            resource_arns=[self.bucket.arn_for_objects(f"{names.KB_PREFIX}*")],
        )
        if isinstance(grantee, Construct):
            acknowledge(
                grantee,
                "IAM5",
                f"The knowledge-base index lives under {names.KB_PREFIX}; the wildcard is limited to that prefix.",
                f"Resource::{finding(self, self.bucket.arn_for_objects(names.KB_PREFIX + '*'))}",
            )
        return grant

    def grant_knowledge_base_write(self, grantee: iam.IGrantable) -> iam.Grant:
        """s3:GetObject and s3:PutObject on kb/index.json and nothing else: a precedent writer reads the index
        and writes it back conditionally (If-Match the ETag read; S3 needs no extra action for the condition).
        No list, no delete, no other key; the bucket is SSE-S3, so no key grant."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:GetObject", "s3:PutObject"],
            resource_arns=[self.bucket.arn_for_objects(names.KB_INDEX_KEY)],
        )

    def grant_input_write(self, grantee: iam.IGrantable) -> iam.Grant:
        """s3:PutObject under inputs/ only (the trigger keeps each execution input there, SSE-KMS with the
        data key): no read, no other prefix. `tms retry` reads them with the operator's credentials."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:PutObject"],
            resource_arns=[self.bucket.arn_for_objects(f"{names.INPUTS_PREFIX}*")],
        )
        self.data_key.grant(grantee, "kms:GenerateDataKey", "kms:Encrypt")
        self._acknowledge_prefix(grantee, names.INPUTS_PREFIX)
        return grant

    def grant_lifecycle_write(self, grantee: iam.IGrantable) -> iam.Grant:
        """s3:PutObject under lifecycle/ and its manifest markers only (the ticket-lifecycle function's
        records for the warehouse)."""
        prefixes = (names.LIFECYCLE_PREFIX, names.MANIFEST_PREFIX + names.LIFECYCLE_PREFIX)
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:PutObject"],
            resource_arns=[self.bucket.arn_for_objects(f"{prefix}*") for prefix in prefixes],
        )
        for prefix in prefixes:
            self._acknowledge_prefix(grantee, prefix)
        return grant

    def grant_ticket_metadata(self, grantee: iam.IGrantable) -> iam.Grant:
        """GetItem + UpdateItem (read a ticket, conditional status/thread updates), and the table's key."""
        self._grant_table_key(grantee)
        return self._grant_table(grantee, "dynamodb:GetItem", "dynamodb:UpdateItem")

    def grant_owner_lookup(self, grantee: iam.IGrantable) -> iam.Grant:
        """Query the by-assignee index (`/ticket mine`), and the table's key."""
        self._grant_table_key(grantee)
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["dynamodb:Query"],
            resource_arns=[f"{self.table.table_arn}/index/{names.ASSIGNEE_INDEX}"],
        )

    def grant_incident_window(self, grantee: iam.IGrantable) -> iam.Grant:
        """Incidents: read/write ticket items (vectors, incident aggregate), BatchGetItem the candidates,
        Query the embedding-window index; and the table's key."""
        self._grant_table_key(grantee)
        self._grant_table(grantee, "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:BatchGetItem")
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["dynamodb:Query"],
            resource_arns=[f"{self.table.table_arn}/index/{names.EMBEDDING_INDEX}"],
        )

    def grant_claim_and_record(self, grantee: iam.IGrantable) -> iam.Grant:
        """PutItem + UpdateItem: the workflow claims a ticket and records TRIAGED/FAILED; and the table's key."""
        self._grant_table_key(grantee)
        return self._grant_table(grantee, "dynamodb:PutItem", "dynamodb:UpdateItem")

    def grant_routing_loads(self, grantee: iam.IGrantable) -> iam.Grant:
        """UpdateItem on the on-call agents' routing loads only (items keyed routing#..., issue 32), and the
        key: the ticket-lifecycle function moves tickets between loads as their owners change."""
        self._grant_table_key(grantee)
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["dynamodb:UpdateItem"],
            resource_arns=[self.table.table_arn],
            conditions={
                "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{names.ROUTING_KEY_PREFIX}*"]}
            },
        )

    def grant_limit_counters(self, grantee: iam.IGrantable) -> iam.Grant:
        """UpdateItem on the new-ticket limit counters only (items keyed LIMIT#..., issue 27.5), and the key."""
        self._grant_table_key(grantee)
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["dynamodb:UpdateItem"],
            resource_arns=[self.table.table_arn],
            conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{names.LIMIT_KEY_PREFIX}*"]}},
        )

    def _grant_table(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        # Item actions on the table itself: Table.grant would add <table>/index/* now that there is an index.
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(actions), resource_arns=[self.table.table_arn]
        )

    def _grant_table_key(self, grantee: iam.IGrantable) -> None:
        # Table.grant() adds table actions only; reading and writing items of a CMK table needs the key too.
        self.data_key.grant_encrypt_decrypt(grantee)
        if isinstance(grantee, Construct):
            acknowledge_kms_grant(grantee, "tickets table's data key")

    def _acknowledge_prefix(self, grantee: iam.IGrantable, prefix: str) -> None:
        if isinstance(grantee, Construct):
            acknowledge(
                grantee,
                "IAM5",
                f"Objects are keyed by ticket under {prefix}; the wildcard is limited to that prefix.",
                f"Resource::{finding(self, self.bucket.arn_for_objects(prefix + '*'))}",
            )
