"""Analytics: the scheduled, incremental Glue 5 job that loads archived tickets into Redshift."""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import Acknowledgment, ArnFormat, RemovalPolicy, Stack, Validations
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from contract import names
from infra.components._nag import acknowledge, finding, skip_checkov
from infra.components.keys import allow_cloudwatch_logs
from infra.components.storage import Storage
from infra.config import RedshiftConfig

GLUE_VERSION = "5.0"  # Spark 3.5, Python 3.11
WORKER_TYPE = "G.1X"
WORKERS = 2
# Network calls Glue makes to place its workers in the VPC; EC2 Describe* has no resource-level permissions.
GLUE_VPC_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeVpcAttribute",
    "ec2:DescribeRouteTables",
    "ec2:CreateTags",
    "ec2:DeleteTags",
)


class MissingGlueScriptError(FileNotFoundError):
    """The Glue entry script is not where names.GLUE_SCRIPT_PATH says."""


class Analytics(Construct):
    """Redshift secret + Glue connection, security configuration, least-privilege role, job and schedule."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project_name: str,
        storage: Storage,
        redshift: RedshiftConfig,
        script_path: Path,
        library_dir: Path,
        schedule: str,
        timeout_minutes: int,
    ) -> None:
        super().__init__(scope, construct_id)
        if not script_path.is_file():
            raise MissingGlueScriptError(
                f"Glue job script not found: {script_path} (glue/job.py is the job's entry point; "
                "synth needs it as an asset)"
            )
        stack = Stack.of(self)
        bucket = storage.bucket
        self.job_name = f"{project_name}-warehouse-load"
        connection_name = f"{project_name}-redshift"

        self.key = kms.Key(
            self,
            "Key",
            description="tms: Glue job logs and bookmarks, and the loader's Redshift secret",
            enable_key_rotation=True,
            # Retained like the secret it encrypts: a deleted key would make the retained secret unreadable.
            removal_policy=RemovalPolicy.RETAIN,
        )
        allow_cloudwatch_logs(self.key, _glue_log_groups_arn(stack))
        # The loader's own credentials: created with a generated password that the runbook replaces
        # with the real user's (README.md, Deploy); the template only holds the username.
        self.redshift_secret = secretsmanager.Secret(
            self,
            "RedshiftSecret",
            secret_name=f"{project_name}/redshift",
            description="Redshift credentials of the Glue loader: JSON {username, password}",
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({"username": redshift.username}),
                generate_string_key="password",
                exclude_punctuation=True,
                password_length=32,
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.redshift_secret,
            "SMG4",
            "The database user is managed by the Redshift administrator outside this stack; rotation "
            "needs a rotation Lambda with network access to the cluster, which is their choice to add.",
        )

        self.connection = glue.CfnConnection(
            self,
            "RedshiftConnection",
            catalog_id=stack.account,
            connection_input=glue.CfnConnection.ConnectionInputProperty(
                name=connection_name,
                connection_type="JDBC",
                description="Redshift target of the tms warehouse load",
                connection_properties={
                    "JDBC_CONNECTION_URL": redshift.jdbc_url,
                    "SECRET_ID": self.redshift_secret.secret_name,
                    "JDBC_ENFORCE_SSL": "true",
                },
                physical_connection_requirements=glue.CfnConnection.PhysicalConnectionRequirementsProperty(
                    availability_zone=redshift.availability_zone,
                    security_group_id_list=[redshift.security_group_id],
                    subnet_id=redshift.subnet_id,
                ),
            ),
        )

        # The AZ must be the configured subnet's: it is deployment config, not a hard-coded choice.
        self.connection.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3010"]}})
        Validations.of(self.connection).acknowledge(
            Acknowledgment(
                id="CloudFormation-Validate::W3010",
                reason="Glue needs the AZ of the configured subnet; it comes from the deployment config.",
            )
        )

        self.security_configuration = glue.CfnSecurityConfiguration(
            self,
            "SecurityConfiguration",
            name=f"{project_name}-glue",
            encryption_configuration=glue.CfnSecurityConfiguration.EncryptionConfigurationProperty(
                cloud_watch_encryption=glue.CfnSecurityConfiguration.CloudWatchEncryptionProperty(
                    cloud_watch_encryption_mode="SSE-KMS", kms_key_arn=self.key.key_arn
                ),
                job_bookmarks_encryption=glue.CfnSecurityConfiguration.JobBookmarksEncryptionProperty(
                    job_bookmarks_encryption_mode="CSE-KMS", kms_key_arn=self.key.key_arn
                ),
                s3_encryptions=[
                    glue.CfnSecurityConfiguration.S3EncryptionProperty(s3_encryption_mode="SSE-S3")
                ],
            ),
        )

        script = s3_assets.Asset(self, "Script", path=str(script_path))
        # The glue/ package (transforms, schema) zipped for --extra-py-files.
        library = s3_assets.Asset(self, "Library", path=str(library_dir))

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
            description=f"{self.job_name}: read tickets/ and lifecycle/, write glue-temp/ and quarantine/, reach Redshift",
        )
        self._grant_job(stack, bucket_arn=bucket.bucket_arn, connection_name=connection_name)
        script.grant_read(self.role)
        library.grant_read(self.role)
        self.redshift_secret.grant_read(self.role)
        self.key.grant_encrypt_decrypt(self.role)
        wildcard_resources = [
            "*",
            *(bucket.arn_for_objects(f"{prefix}*") for prefix in _JOB_PREFIXES),
            _glue_log_groups_arn(stack),
            f"arn:{stack.partition}:s3:::{script.s3_bucket_name}/*",
        ]
        acknowledge(
            self.role,
            "IAM5",
            "Glue needs EC2 Describe*/ENI calls (no resource-level permissions) to run in the VPC, "
            "cloudwatch:PutMetricData (namespace-conditioned) and its own /aws-glue/* log groups; S3 access "
            "is limited to the job's prefixes and the CDK asset objects it reads (CDK's asset grant adds "
            "the s3:GetObject*/GetBucket*/List* and kms variants).",
            *(f"Resource::{finding(self, arn)}" for arn in wildcard_resources),
            "Action::s3:GetObject*",
            "Action::s3:GetBucket*",
            "Action::s3:List*",
            "Action::kms:GenerateDataKey*",
            "Action::kms:ReEncrypt*",
        )

        skip_checkov(
            self.role.node.find_child("DefaultPolicy"),
            "CKV_AWS_111",
            "The unconstrained writes are the EC2 network-interface and tag calls Glue makes to place its "
            "workers in the Redshift VPC; they have no resource-level permissions. S3 writes are limited to "
            "glue-temp/ and quarantine/, logs to /aws-glue/*.",
        )

        bucket_url = f"s3://{bucket.bucket_name}"
        self.job = glue.CfnJob(
            self,
            "Job",
            name=self.job_name,
            description="Incremental, idempotent load of archived tickets into Redshift (staging + MERGE)",
            role=self.role.role_arn,
            glue_version=GLUE_VERSION,
            command=glue.CfnJob.JobCommandProperty(
                name="glueetl", python_version="3", script_location=script.s3_object_url
            ),
            worker_type=WORKER_TYPE,
            number_of_workers=WORKERS,
            max_retries=0,
            timeout=timeout_minutes,
            execution_property=glue.CfnJob.ExecutionPropertyProperty(max_concurrent_runs=1),
            connections=glue.CfnJob.ConnectionsListProperty(connections=[connection_name]),
            security_configuration=self.security_configuration.ref,
            default_arguments={
                # The job keeps its own bookmarks under etl-state/ (contract/manifests.py): Glue's could only filter
                # a listing of the whole archive by last-modified time.
                "--job-bookmark-option": "job-bookmark-disable",
                "--TempDir": f"{bucket_url}/{names.GLUE_TEMP_PREFIX}",
                "--extra-py-files": library.s3_object_url,
                "--enable-metrics": "true",
                "--enable-continuous-cloudwatch-log": "true",
                "--enable-glue-datacatalog": "false",
                "--source_path": f"{bucket_url}/{names.ARCHIVE_PREFIX}",
                "--lifecycle_path": f"{bucket_url}/{names.LIFECYCLE_PREFIX}",
                "--quarantine_path": f"{bucket_url}/{names.QUARANTINE_PREFIX}",
                "--manifest_path": f"{bucket_url}/{names.MANIFEST_PREFIX}",
                "--state_path": f"{bucket_url}/{names.ETL_STATE_PREFIX}",
                "--redshift_connection": connection_name,
                "--redshift_database": redshift.database,
                "--redshift_schema": redshift.schema_name,
                "--redshift_table": redshift.table,
            },
        )

        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            description=f"Runs {self.job_name} ({schedule})",
            schedule=scheduler.ScheduleExpression.expression(schedule),
            target=scheduler_targets.Universal(
                service="glue",
                action="startJobRun",
                input=scheduler.ScheduleTargetInput.from_object({"JobName": self.job_name}),
                policy_statements=[
                    iam.PolicyStatement(
                        actions=["glue:StartJobRun"],
                        resources=[
                            stack.format_arn(service="glue", resource="job", resource_name=self.job_name)
                        ],
                    )
                ],
                retry_attempts=2,
            ),
        )

    def _grant_job(self, stack: Stack, *, bucket_arn: str, connection_name: str) -> None:
        def objects(prefix: str) -> str:
            return f"{bucket_arn}/{prefix}*"

        statements = [
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[objects(names.ARCHIVE_PREFIX), objects(names.LIFECYCLE_PREFIX)],
            ),
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                resources=[objects(names.GLUE_TEMP_PREFIX)],
            ),
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[objects(names.QUARANTINE_PREFIX)]),
            # The job's own bookmarks (contract/manifests.py S3BookmarkStore).
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"], resources=[objects(names.ETL_STATE_PREFIX)]
            ),
            # Markers are only listed (their keys name the objects to read), never read.
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket_arn],
                conditions={
                    "StringLike": {
                        "s3:prefix": [f"{prefix}*" for prefix in (*_JOB_PREFIXES, names.MANIFEST_PREFIX)]
                    }
                },
            ),
            iam.PolicyStatement(
                actions=["glue:GetConnection"],
                resources=[
                    stack.format_arn(service="glue", resource="catalog"),
                    stack.format_arn(service="glue", resource="connection", resource_name=connection_name),
                ],
            ),
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:AssociateKmsKey",
                ],
                resources=[_glue_log_groups_arn(stack)],
            ),
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": "Glue"}},
            ),
            iam.PolicyStatement(actions=list(GLUE_VPC_ACTIONS), resources=["*"]),
        ]
        for statement in statements:
            self.role.add_to_principal_policy(statement)


_JOB_PREFIXES = (
    names.ARCHIVE_PREFIX,
    names.LIFECYCLE_PREFIX,
    names.GLUE_TEMP_PREFIX,
    names.QUARANTINE_PREFIX,
    names.ETL_STATE_PREFIX,
)


def _glue_log_groups_arn(stack: Stack) -> str:
    return stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name="/aws-glue/*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
