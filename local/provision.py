"""Creates on the local endpoint the same resources the CDK stack defines, and the state machine from the
same ASL file with the same placeholder substitutions."""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from contract import names
from contract.clients import aws_client
from contract.errors import ConfigurationError
from pipeline.adapters import vector_index

PLACEHOLDER_RE = re.compile(r"\$\{(\w+)\}")
LOCAL_SHARDS = 2
NOTIFICATIONS_TAP = f"{names.PROJECT}-notifications-tap"  # stands in for email subscribers locally


def pii_redaction_setting(environ: Mapping[str, str] = os.environ) -> str:
    """The workflow's PII redaction switch: TMS_PII_REDACTION "on" (default) or "off"."""
    value = environ.get(names.ENV_PII_REDACTION, "on").strip().lower()
    if value not in names.PII_REDACTION_VALUES:
        raise ConfigurationError(f"{names.ENV_PII_REDACTION} must be on or off, got {value!r}")
    return value


def workflow_type_setting(environ: Mapping[str, str] = os.environ) -> str:
    """The workflow's type: TMS_WORKFLOW_TYPE "EXPRESS" (default, as cdk.json deploys) or "STANDARD"."""
    value = environ.get(names.ENV_WORKFLOW_TYPE, names.DEFAULT_WORKFLOW_TYPE).strip().upper()
    if value not in names.WORKFLOW_TYPES:
        raise ConfigurationError(f"{names.ENV_WORKFLOW_TYPE} must be EXPRESS or STANDARD, got {value!r}")
    return value


def render_asl(substitutions: dict[str, str], path: Path = names.ASL_PATH) -> str:
    """The ASL with every ${Placeholder} substituted; an unknown or missing one is an error."""
    text = path.read_text()
    missing = sorted(set(PLACEHOLDER_RE.findall(text)) - set(substitutions))
    if missing:
        raise KeyError(f"no value for ASL placeholder(s): {', '.join(missing)}")
    rendered = PLACEHOLDER_RE.sub(lambda m: substitutions[m.group(1)], text)
    json.loads(rendered)  # fail here, not at execution time, if a substitution broke the JSON
    return rendered


@dataclass(frozen=True)
class Provisioned:
    stream_name: str
    table_name: str
    bucket_name: str
    topic_arn: str
    alarms_topic_arn: str
    dlq_url: str
    tap_queue_url: str
    state_machine_arn: str
    function_arns: dict[str, str]
    escalation_topic_arn: str = ""
    escalation_tap_url: str = ""
    table_stream_arn: str = ""
    lifecycle_dlq_url: str = ""
    kb_sync_dlq_url: str = ""
    sla_env: dict[str, str] | None = None
    data_key_id: str = ""  # KMS key of the PII originals/ objects, as the data key on AWS


def _dummy_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("README.txt", "tms local: handlers run in-process, not from this package")
    return buf.getvalue()


def provision_mail(sesv2: Any, ses_v1: Any, events_topic_arn: str) -> None:
    """The sender identity, and the configuration set whose events (delivery, bounce, complaint) go to the
    tickets topic. moto's SES v2 lacks CreateConfigurationSetEventDestination; its v1 twin stores the same
    destination on the same configuration set (CDK creates it through CloudFormation on AWS)."""
    sesv2.create_email_identity(EmailIdentity=names.LOCAL_REPLY_FROM)
    sesv2.create_configuration_set(ConfigurationSetName=names.SES_CONFIGURATION_SET)
    ses_v1.create_configuration_set_event_destination(
        ConfigurationSetName=names.SES_CONFIGURATION_SET,
        EventDestination={
            "Name": f"{names.PROJECT}-reply-events",
            "Enabled": True,
            "MatchingEventTypes": ["delivery", "bounce", "complaint"],
            "SNSDestination": {"TopicARN": events_topic_arn},
        },
    )


def provision(endpoint_url: str, region: str) -> Provisioned:
    """Create the stream, table, bucket, topics, queues, functions, subscriptions and the state machine."""

    def c(service: str) -> Any:
        return aws_client(service, endpoint_url=endpoint_url, region=region, profile="local")

    kinesis, ddb, s3, sns, sqs, lam, iam, sfn, scheduler = (
        c(s)
        for s in ("kinesis", "dynamodb", "s3", "sns", "sqs", "lambda", "iam", "stepfunctions", "scheduler")
    )
    kinesis.create_stream(StreamName=names.STREAM_NAME, ShardCount=LOCAL_SHARDS)
    ddb.create_table(
        TableName=names.TABLE_NAME,
        AttributeDefinitions=[
            {"AttributeName": "ticket_id", "AttributeType": "S"},
            {"AttributeName": names.ASSIGNEE_ATTR, "AttributeType": "S"},
            {"AttributeName": vector_index.EMBEDDING_DAY, "AttributeType": "S"},
            {"AttributeName": vector_index.EMBEDDED_AT, "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "ticket_id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": names.ASSIGNEE_INDEX,
                "KeySchema": [{"AttributeName": names.ASSIGNEE_ATTR, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
            vector_index.embedding_index_definition(),
        ],
        BillingMode="PAY_PER_REQUEST",
        # As deployed: the stream feeds the ticket-lifecycle function (the warehouse's lifecycle records).
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    ddb.update_time_to_live(
        TableName=names.TABLE_NAME,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": names.TABLE_TTL_ATTR},
    )
    table_stream_arn = ddb.describe_table(TableName=names.TABLE_NAME)["Table"]["LatestStreamArn"]
    lifecycle_dlq_url = sqs.create_queue(QueueName=names.LIFECYCLE_DLQ_NAME)["QueueUrl"]
    kb_sync_dlq_url = sqs.create_queue(QueueName=names.KB_SYNC_DLQ_NAME)["QueueUrl"]
    s3.create_bucket(Bucket=names.BUCKET_NAME)
    # Versioned, as deployed: erasure must find (and delete) every version, not just the current one.
    s3.put_bucket_versioning(Bucket=names.BUCKET_NAME, VersioningConfiguration={"Status": "Enabled"})
    topic_arn = sns.create_topic(Name=names.TOPIC_NAME)["TopicArn"]
    alarms_arn = sns.create_topic(Name=names.ALARMS_TOPIC_NAME)["TopicArn"]
    dlq_url = sqs.create_queue(QueueName=names.DLQ_NAME)["QueueUrl"]
    tap_url = sqs.create_queue(QueueName=NOTIFICATIONS_TAP)["QueueUrl"]
    tap_arn = sqs.get_queue_attributes(QueueUrl=tap_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=tap_arn)

    role_arn = iam.create_role(
        RoleName=f"{names.PROJECT}-local-lambda",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    code = _dummy_zip()
    arns: dict[str, str] = {}
    for key, handler in names.HANDLERS.items():
        arns[key] = lam.create_function(
            FunctionName=f"{names.PROJECT}-{key}",
            Runtime=f"python{names.LAMBDA_PYTHON}",
            Role=role_arn,
            Handler=handler,
            Code={"ZipFile": code},
        )["FunctionArn"]
    for topic in (topic_arn, alarms_arn):
        sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arns[names.FN_NOTIFIER])
    # Approved replies go to the mailer, as the CDK subscription's filter policy routes them.
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="lambda",
        Endpoint=arns[names.FN_MAILER],
        Attributes={"FilterPolicy": json.dumps({names.ATTR_EVENT_TYPE: [names.EVENT_REPLY_APPROVED]})},
    )
    provision_mail(c("sesv2"), c("ses"), topic_arn)

    # SLA timers: the schedule group, the target's dead-letter queue, the role the scheduler assumes, and the
    # escalation topic (a local queue stands in for its email subscribers).
    scheduler.create_schedule_group(Name=names.SLA_SCHEDULE_GROUP)
    sla_dlq_url = sqs.create_queue(QueueName=names.SLA_DLQ_NAME)["QueueUrl"]
    sla_dlq_arn = _queue_arn(sqs, sla_dlq_url)
    scheduler_role = iam.create_role(
        RoleName=f"{names.PROJECT}-local-scheduler",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "scheduler.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    escalation_arn = sns.create_topic(Name=names.ESCALATION_TOPIC_NAME)["TopicArn"]
    escalation_tap = sqs.create_queue(QueueName=f"{names.ESCALATION_TOPIC_NAME}-tap")["QueueUrl"]
    sns.subscribe(TopicArn=escalation_arn, Protocol="sqs", Endpoint=_queue_arn(sqs, escalation_tap))
    sla_env = {
        names.ENV_SLA_SCHEDULE_GROUP: names.SLA_SCHEDULE_GROUP,
        names.ENV_SLA_TARGET_ARN: arns[names.FN_SLA_TIMER],
        names.ENV_SLA_SCHEDULER_ROLE_ARN: scheduler_role,
        names.ENV_SLA_DLQ_ARN: sla_dlq_arn,
        names.ENV_ESCALATION_TOPIC_ARN: escalation_arn,
        names.ENV_SLA_FUNCTION: arns[names.FN_SLA_TIMER],
    }

    definition = render_asl(
        {
            names.ASL_TABLE: names.TABLE_NAME,
            names.ASL_TOPIC: topic_arn,
            names.ASL_DRAFT_REPLY_FN: arns[names.FN_DRAFT_REPLY],
            names.ASL_ARCHIVE_FN: arns[names.FN_ARCHIVE],
            names.ASL_SLA_TIMER_FN: arns[names.FN_SLA_TIMER],
            names.ASL_PII_REDACTION: pii_redaction_setting(),
            names.ASL_LINK_INCIDENT_FN: arns[names.FN_LINK_INCIDENT],
        }
    )
    sm_arn = sfn.create_state_machine(
        name=names.STATE_MACHINE_NAME,
        definition=definition,
        roleArn=role_arn,
        # moto runs both types the same way (FACTS.md); the type is what `tms cost` and the tools see.
        type=workflow_type_setting(),
    )["stateMachineArn"]
    return Provisioned(
        stream_name=names.STREAM_NAME,
        table_name=names.TABLE_NAME,
        bucket_name=names.BUCKET_NAME,
        topic_arn=topic_arn,
        alarms_topic_arn=alarms_arn,
        dlq_url=dlq_url,
        tap_queue_url=tap_url,
        state_machine_arn=sm_arn,
        function_arns=arns,
        escalation_topic_arn=escalation_arn,
        escalation_tap_url=escalation_tap,
        sla_env=sla_env,
        data_key_id=c("kms").create_key(Description=f"{names.PROJECT} local: PII originals")["KeyMetadata"][
            "KeyId"
        ],
        table_stream_arn=table_stream_arn,
        lifecycle_dlq_url=lifecycle_dlq_url,
        kb_sync_dlq_url=kb_sync_dlq_url,
    )


def _queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def reconcile(endpoint_url: str, region: str, restored: Provisioned) -> Provisioned:
    """After a restore: everything `provision` created is there already (it is in the snapshot); the
    workflow takes today's ASL file and settings, as a redeploy would."""
    sfn = aws_client("stepfunctions", endpoint_url=endpoint_url, region=region, profile="local")
    arns = restored.function_arns
    sla = restored.sla_env or {}
    try:
        sfn.update_state_machine(
            stateMachineArn=restored.state_machine_arn,
            definition=render_asl(
                {
                    names.ASL_TABLE: restored.table_name,
                    names.ASL_TOPIC: restored.topic_arn,
                    names.ASL_DRAFT_REPLY_FN: arns[names.FN_DRAFT_REPLY],
                    names.ASL_ARCHIVE_FN: arns[names.FN_ARCHIVE],
                    names.ASL_SLA_TIMER_FN: sla.get(names.ENV_SLA_TARGET_ARN, arns[names.FN_SLA_TIMER]),
                    names.ASL_PII_REDACTION: pii_redaction_setting(),
                    names.ASL_LINK_INCIDENT_FN: arns[names.FN_LINK_INCIDENT],
                }
            ),
        )
    except sfn.exceptions.StateMachineDoesNotExist as e:
        raise ConfigurationError(
            "the saved local state has no workflow; start empty with `tms local up --fresh`"
        ) from e
    # Resources added since the state was saved, as a redeploy would add them (CreateQueue is idempotent).
    sqs = aws_client("sqs", endpoint_url=endpoint_url, region=region, profile="local")
    kb_sync_dlq_url = sqs.create_queue(QueueName=names.KB_SYNC_DLQ_NAME)["QueueUrl"]
    return replace(restored, kb_sync_dlq_url=kb_sync_dlq_url)
