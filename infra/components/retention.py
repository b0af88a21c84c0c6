"""Warehouse retention on Redshift: a daily EventBridge Scheduler schedule whose universal target calls the
Redshift Data API (`BatchExecuteStatement`, one transaction) with the DELETEs of contract/erasure.py
RETAINED_TABLES, the same definition the local sweeper runs. No function, no code: the schedule's role may
run statements on the warehouse with the loader's secret and nothing else."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from contract.erasure import redshift_retention_statements

# The universal target's service and action, as the SDK names them (arn:aws:scheduler:::aws-sdk:<service>:<action>).
DATA_API_SERVICE = "redshiftdata"
DATA_API_ACTION = "batchExecuteStatement"
RETRY_ATTEMPTS = 2


def data_api_arn(stack: Stack, kind: str, target: str) -> str:
    """The ARN Redshift Data API permissions name: a provisioned cluster by name, or any serverless workgroup
    of the account (a workgroup ARN carries its id, unknown at synth)."""
    cluster = kind == "cluster"
    return stack.format_arn(
        service="redshift" if cluster else "redshift-serverless",
        resource="cluster" if cluster else "workgroup",
        resource_name=target if cluster else "*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME if cluster else ArnFormat.SLASH_RESOURCE_NAME,
    )


class WarehouseRetention(Construct):
    """The schedule that deletes warehouse rows older than the retention, and its role."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project_name: str,
        redshift_target: tuple[str, str],
        database: str,
        schema: str,
        tickets_table: str,
        secret: secretsmanager.ISecret,
        secret_key: kms.IKey,
        days: int,
        schedule: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        kind, target = redshift_target
        self.statements = redshift_retention_statements(days, schema=schema, tickets_table=tickets_table)
        self.warehouse_arn = data_api_arn(stack, kind, target)
        where = {"ClusterIdentifier": target} if kind == "cluster" else {"WorkgroupName": target}
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            description=f"Deletes warehouse rows older than {days} days (tms retention)",
            schedule=scheduler.ScheduleExpression.expression(schedule),
            target=scheduler_targets.Universal(
                service=DATA_API_SERVICE,
                action=DATA_API_ACTION,
                input=scheduler.ScheduleTargetInput.from_object(
                    {
                        **where,
                        "Database": database,
                        "SecretArn": secret.secret_arn,
                        "Sqls": self.statements,
                        "StatementName": f"{project_name}-warehouse-retention",
                    }
                ),
                # The statements run as the loader (its secret, which the analytics key encrypts); the
                # schedule's role may start them on this warehouse only. It never reads results.
                policy_statements=[
                    iam.PolicyStatement(
                        actions=["redshift-data:BatchExecuteStatement"], resources=[self.warehouse_arn]
                    ),
                    iam.PolicyStatement(
                        actions=["secretsmanager:GetSecretValue"], resources=[secret.secret_arn]
                    ),
                    iam.PolicyStatement(
                        actions=["kms:Decrypt"],
                        resources=[secret_key.key_arn],
                        conditions={
                            "StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"}
                        },
                    ),
                ],
                retry_attempts=RETRY_ATTEMPTS,
            ),
        )
