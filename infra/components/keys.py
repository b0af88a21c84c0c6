"""The customer-managed key of the CloudWatch log groups (function logs and the workflow's execution log), the
key-policy statement that lets CloudWatch Logs use a key, and the generated HMAC keys tms signs its links and
addresses with."""

from __future__ import annotations

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.components._nag import acknowledge

HMAC_KEY_LENGTH = 48  # characters of [A-Za-z0-9]: ~285 bits


def log_group_arn_patterns(stack: Stack, project_name: str) -> list[str]:
    """The log groups tms creates: /aws/lambda/<project>-* and /aws/vendedlogs/states/<project>-*."""
    return [
        stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"{prefix}/{project_name}-*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        for prefix in ("/aws/lambda", "/aws/vendedlogs/states")
    ]


def allow_cloudwatch_logs(key: kms.Key, log_groups: str | list[str]) -> None:
    """Let CloudWatch Logs use key, only for the log groups matching log_groups (one ARN pattern or a list)."""
    # CloudWatch Logs calls KMS as its regional service principal and names the log group in the
    # encryption context (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html).
    key.add_to_resource_policy(
        iam.PolicyStatement(
            actions=[
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            principals=[iam.ServicePrincipal(f"logs.{Stack.of(key).region}.amazonaws.com")],
            resources=["*"],  # in a key policy "*" means this key
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
        )
    )


class LogsKey(Construct):
    """A rotated KMS key CloudWatch Logs may use only for this project's log groups."""

    def __init__(self, scope: Construct, construct_id: str, *, project_name: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.key = kms.Key(
            self,
            "Key",
            description=f"{project_name}: CloudWatch log groups of the functions and the workflow",
            enable_key_rotation=True,
            # The log groups go with the stack (RemovalPolicy.DESTROY); so does the key that reads them.
            removal_policy=RemovalPolicy.DESTROY,
        )
        allow_cloudwatch_logs(self.key, log_group_arn_patterns(stack, project_name))


def hmac_key_secret(
    scope: Construct, construct_id: str, *, secret_name: str, description: str, key: kms.IKey, reason: str
) -> secretsmanager.Secret:
    """A random HMAC key generated at deploy into a Secrets Manager secret encrypted with key and retained
    with the stack's data; reason says why it is rotated by hand (cdk-nag SMG4 asks for rotation)."""
    secret = secretsmanager.Secret(
        scope,
        construct_id,
        secret_name=secret_name,
        description=description,
        encryption_key=key,
        generate_secret_string=secretsmanager.SecretStringGenerator(
            exclude_punctuation=True, password_length=HMAC_KEY_LENGTH
        ),
        removal_policy=RemovalPolicy.RETAIN,
    )
    acknowledge(secret, "SMG4", reason)
    return secret
