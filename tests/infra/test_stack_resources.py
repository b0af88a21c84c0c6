"""The synthesized template holds every resource of issue 4 with its security and reliability settings."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Matcher

from contract import manifests, names
from infra.components.ingest import BATCH_SIZE
from infra.components.lambdas import STREAM_MAX_RECORD_AGE as MAX_RECORD_AGE
from infra.components.lambdas import STREAM_RETRY_ATTEMPTS as RETRY_ATTEMPTS
from tests.conftest import expected_alarm_names
from tests.infra.conftest import TEST_EMAILS
from tests.infra.template import (
    Synth,
    function_by_name,
    resources,
    role_of,
    role_statements,
    statement_actions,
)

pytestmark = pytest.mark.infra


def test_stream_is_on_demand_and_kms_encrypted_by_default(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::Kinesis::Stream",
        {
            "Name": f"{names.PROJECT}-tickets",
            "StreamModeDetails": {"StreamMode": "ON_DEMAND"},
            "StreamEncryption": {"EncryptionType": "KMS", "KeyId": Match.any_value()},
        },
    )


def _mappings_by_function(synth: Synth) -> dict[str, dict[str, Any]]:
    mappings = resources(synth.raw, "AWS::Lambda::EventSourceMapping")
    by_ref = {m["Properties"]["FunctionName"]["Ref"]: m["Properties"] for m in mappings.values()}
    assert len(by_ref) == len(mappings) == 3  # the stream's two, and the tickets table stream's one
    out = {}
    for fn in (names.FN_TRIGGER, names.FN_INTAKE_AUDIT, names.FN_TICKET_LIFECYCLE):
        logical_id, _ = function_by_name(synth.raw, fn)
        out[fn] = by_ref[logical_id]
    return out


@pytest.mark.parametrize("fn", [names.FN_TRIGGER, names.FN_INTAKE_AUDIT])
def test_both_stream_mappings_bound_failures_and_dead_letter_to_the_dlq(synth: Synth, fn: str) -> None:
    props = _mappings_by_function(synth)[fn]
    stream_id = next(iter(resources(synth.raw, "AWS::Kinesis::Stream")))
    assert props["EventSourceArn"] == {"Fn::GetAtt": [stream_id, "Arn"]}
    assert props["StartingPosition"] == "TRIM_HORIZON"
    assert props["BatchSize"] == BATCH_SIZE
    assert props["MaximumBatchingWindowInSeconds"] >= 1
    assert props["BisectBatchOnFunctionError"] is True
    assert props["MaximumRetryAttempts"] == RETRY_ATTEMPTS
    assert props["MaximumRecordAgeInSeconds"] == MAX_RECORD_AGE.to_seconds()
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    dlq_id = next(
        k
        for k, q in resources(synth.raw, "AWS::SQS::Queue").items()
        if q["Properties"].get("QueueName") == f"{names.PROJECT}-tickets-dlq"
    )
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": [dlq_id, "Arn"]}


def test_trigger_mapping_filters_ticket_submitted_and_the_audit_mapping_sees_everything(synth: Synth) -> None:
    mappings = _mappings_by_function(synth)
    trigger = mappings[names.FN_TRIGGER]
    patterns = [json.loads(f["Pattern"]) for f in trigger["FilterCriteria"]["Filters"]]
    assert patterns == [{"data": {"eventName": ["TicketSubmitted"]}}]
    # What the filter drops must reach the audit function, so its mapping must not filter at all.
    assert "FilterCriteria" not in mappings[names.FN_INTAKE_AUDIT]


def test_intake_audit_may_only_dead_letter_never_start_workflows(synth: Synth) -> None:
    _, function = function_by_name(synth.raw, names.FN_INTAKE_AUDIT)
    actions = {a for s in role_statements(synth.raw, role_of(function)) for a in statement_actions(s)}
    assert "sqs:SendMessage" in actions
    assert not {a for a in actions if a.startswith(("states:", "dynamodb:", "s3:", "sns:"))}
    env = function["Properties"]["Environment"]["Variables"]
    assert names.ENV_DLQ_URL in env and names.ENV_STATE_MACHINE_ARN not in env


def test_dlq_is_kms_encrypted_and_tls_only(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::SQS::Queue", {"KmsMasterKeyId": Match.any_value(), "MessageRetentionPeriod": 14 * 86400}
    )
    synth.template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {"PolicyDocument": {"Statement": Match.array_with([_deny_insecure_transport()])}},
    )


def _deny_insecure_transport() -> Matcher:
    return Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})


def test_table_is_on_demand_with_pitr_and_encryption(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [{"AttributeName": "ticket_id", "KeyType": "HASH"}],
            "AttributeDefinitions": [
                {"AttributeName": "ticket_id", "AttributeType": "S"},
                {"AttributeName": names.ASSIGNEE_ATTR, "AttributeType": "S"},
                {"AttributeName": names.EMBEDDING_DAY_ATTR, "AttributeType": "S"},
                {"AttributeName": names.EMBEDDED_AT_ATTR, "AttributeType": "S"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": Match.any_value()},
        },
    )


def test_archive_bucket_is_encrypted_versioned_private_and_expires_temp_data(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LoggingConfiguration": Match.object_like({"DestinationBucketName": Match.any_value()}),
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        Match.object_like({"Prefix": names.QUARANTINE_PREFIX, "ExpirationInDays": 90}),
                        Match.object_like({"Prefix": names.GLUE_TEMP_PREFIX, "ExpirationInDays": 7}),
                        Match.object_like(
                            {"Prefix": names.MANIFEST_PREFIX, "ExpirationInDays": manifests.RETENTION_DAYS}
                        ),
                    ]
                )
            },
        },
    )


def test_every_bucket_denies_non_tls_requests(synth: Synth) -> None:
    buckets = resources(synth.raw, "AWS::S3::Bucket")
    policies = resources(synth.raw, "AWS::S3::BucketPolicy").values()
    covered = {p["Properties"]["Bucket"]["Ref"] for p in policies if _has_tls_deny(p)}
    assert covered == set(buckets)


def _has_tls_deny(policy: dict[str, Any]) -> bool:
    return any(
        s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    )


def test_topics_are_kms_encrypted_and_tls_only(synth: Synth) -> None:
    topics = resources(synth.raw, "AWS::SNS::Topic")
    assert {t["Properties"]["TopicName"] for t in topics.values()} == {
        f"{names.PROJECT}-tickets",
        f"{names.PROJECT}-alarms",
        f"{names.PROJECT}-ops",
        f"{names.PROJECT}-escalations",
    }
    assert all("KmsMasterKeyId" in t["Properties"] for t in topics.values())
    tls_topics = {
        topic["Ref"]
        for p in resources(synth.raw, "AWS::SNS::TopicPolicy").values()
        if _has_tls_deny(p)
        for topic in p["Properties"]["Topics"]
    }
    assert tls_topics == set(topics)


def test_email_subscriptions_filter_on_priority(synth: Synth) -> None:
    emails = [
        s["Properties"]
        for s in resources(synth.raw, "AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == "email"
        and s["Properties"]["TopicArn"] == {"Ref": _topic_id(synth, "tickets")}
    ]
    assert sorted(s["Endpoint"] for s in emails) == sorted(TEST_EMAILS)
    assert all(s["FilterPolicy"] == {names.ATTR_PRIORITY: ["HIGH"]} for s in emails)


def test_notifier_subscribes_to_the_tickets_and_alarms_topics(synth: Synth) -> None:
    notifier_id, _ = function_by_name(synth.raw, names.FN_NOTIFIER)
    subscribed = {
        s["Properties"]["TopicArn"]["Ref"]
        for s in resources(synth.raw, "AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == "lambda"
        and s["Properties"]["Endpoint"] == {"Fn::GetAtt": [notifier_id, "Arn"]}
    }
    assert subscribed == {_topic_id(synth, "tickets"), _topic_id(synth, "alarms")}


@pytest.mark.parametrize("fn", list(names.HANDLERS))
def test_every_function_is_traced_with_retained_logs_and_its_handler(synth: Synth, fn: str) -> None:
    _, function = function_by_name(synth.raw, fn)
    props = function["Properties"]
    assert props["Handler"] == names.HANDLERS[fn]
    assert props["Runtime"] == "python3.13"  # Amazon Linux 2023 (contract.names.LAMBDA_PYTHON)
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert 128 <= props["MemorySize"] <= 1024
    assert 1 <= props["Timeout"] <= 120
    assert len(props["Layers"]) == 1
    env = props["Environment"]["Variables"]
    assert env[names.ENV_POWERTOOLS_SERVICE_NAME] == fn
    assert "POWERTOOLS_METRICS_NAMESPACE" in env
    assert env["PYDANTIC_DISABLE_PLUGINS"] == "__all__"  # no plugin scan on each cold start
    log_group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
    assert synth.raw["Resources"][log_group_id]["Properties"]["RetentionInDays"] == 30


def test_draft_reply_has_reserved_concurrency_and_bedrock_settings(synth: Synth) -> None:
    _, function = function_by_name(synth.raw, names.FN_DRAFT_REPLY)
    props = function["Properties"]
    assert props["ReservedConcurrentExecutions"] == 5
    env = props["Environment"]["Variables"]
    assert env[names.ENV_LLM_PROVIDER] == "bedrock"
    assert env[names.ENV_MODEL_ID] == "us.amazon.nova-lite-v1:0"


def test_bedrock_access_is_scoped_to_the_configured_profile_and_model(synth: Synth) -> None:
    _, function = function_by_name(synth.raw, names.FN_DRAFT_REPLY)
    bedrock = [
        s
        for s in role_statements(synth.raw, role_of(function))
        if any("bedrock" in a for a in statement_actions(s))
    ]
    assert len(bedrock) == 1
    assert statement_actions(bedrock[0]) == {"bedrock:InvokeModel"}
    arns = json.dumps(bedrock[0]["Resource"])
    assert "inference-profile/us.amazon.nova-lite-v1:0" in arns
    assert "foundation-model/amazon.nova-lite-v1:0" in arns
    assert '"*"' not in arns


def test_archive_may_only_put_objects_under_tickets_originals_and_their_manifest_markers(
    synth: Synth,
) -> None:
    _, function = function_by_name(synth.raw, names.FN_ARCHIVE)
    statements = role_statements(synth.raw, role_of(function))
    s3 = [s for s in statements if any(a.startswith("s3:") for a in statement_actions(s))]
    assert [statement_actions(s) for s in s3] == [{"s3:PutObject"}]
    prefixes = sorted(r["Fn::Join"][1][-1] for r in s3[0]["Resource"])
    assert prefixes == sorted(
        [
            f"/{names.ARCHIVE_PREFIX}*",
            f"/{names.ORIGINALS_PREFIX}*",
            f"/{names.MANIFEST_PREFIX}{names.ARCHIVE_PREFIX}*",
        ]
    )
    assert props_env(synth, names.FN_ARCHIVE)[names.ENV_BUCKET_NAME]


def props_env(synth: Synth, fn: str) -> dict[str, Any]:
    """The environment variables of one function."""
    _, function = function_by_name(synth.raw, fn)
    variables: dict[str, Any] = function["Properties"]["Environment"]["Variables"]
    return variables


def test_trigger_knows_the_state_machine_and_dlq_and_may_use_them(synth: Synth) -> None:
    env = props_env(synth, names.FN_TRIGGER)
    assert set(env) >= {names.ENV_STATE_MACHINE_ARN, names.ENV_DLQ_URL}
    _, function = function_by_name(synth.raw, names.FN_TRIGGER)
    actions = {a for s in role_statements(synth.raw, role_of(function)) for a in statement_actions(s)}
    assert {"states:StartExecution", "sqs:SendMessage"} <= actions


def test_slack_functions_get_the_secret_arn_never_its_value(synth: Synth) -> None:
    (slack_secret,) = (
        k
        for k, v in resources(synth.raw, "AWS::SecretsManager::Secret").items()
        if v["Properties"]["Name"].endswith("/slack")
    )
    for fn in (names.FN_BOT, names.FN_NOTIFIER):
        env = props_env(synth, fn)
        assert env[names.ENV_SLACK_SECRET_ARN] == {"Ref": slack_secret}
        assert names.ENV_SLACK_BOT_TOKEN not in env and names.ENV_SLACK_SIGNING_SECRET not in env
        assert env[names.ENV_SLACK_CHANNEL] == "C0000000000"
        assert "Ref" in env[names.ENV_TABLE_NAME]
    assert props_env(synth, names.FN_NOTIFIER)[names.ENV_SLACK_ALERTS_CHANNEL] == "C0000000001"
    assert "Ref" in props_env(synth, names.FN_BOT)[names.ENV_STREAM_NAME]


def test_bot_has_a_public_function_url_and_may_put_records(synth: Synth) -> None:
    bot_id, function = function_by_name(synth.raw, names.FN_BOT)
    synth.template.has_resource_properties(
        "AWS::Lambda::Url", {"AuthType": "NONE", "TargetFunctionArn": {"Fn::GetAtt": [bot_id, "Arn"]}}
    )
    actions = {a for s in role_statements(synth.raw, role_of(function)) for a in statement_actions(s)}
    assert {
        "kinesis:PutRecord",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "secretsmanager:GetSecretValue",
    } <= actions


def test_state_machine_is_express_logged_traced_and_substituted(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineType": "EXPRESS",
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": Match.object_like({"Level": "ALL", "Destinations": Match.any_value()}),
            "DefinitionS3Location": Match.any_value(),
            "DefinitionSubstitutions": {
                names.ASL_TABLE: Match.any_value(),
                names.ASL_TOPIC: Match.any_value(),
                names.ASL_DRAFT_REPLY_FN: Match.any_value(),
                names.ASL_ARCHIVE_FN: Match.any_value(),
                names.ASL_PII_REDACTION: "on",
            },
        },
    )


def test_state_machine_role_has_exactly_the_task_permissions(synth: Synth) -> None:
    machine = next(iter(resources(synth.raw, "AWS::StepFunctions::StateMachine").values()))
    statements = role_statements(synth.raw, machine["Properties"]["RoleArn"]["Fn::GetAtt"][0])
    by_action = {a: s for s in statements for a in statement_actions(s)}
    assert {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "comprehend:DetectPiiEntities",
        "lambda:InvokeFunction",
    } <= set(by_action)
    assert "comprehend:DetectSentiment" not in by_action  # sentiment is computed at intake (issue 28.3)
    assert "sns:Publish" in by_action
    assert by_action["comprehend:DetectPiiEntities"]["Resource"] == "*"
    assert "dynamodb:DeleteItem" not in by_action and "dynamodb:*" not in by_action
    wildcard = {a for a, s in by_action.items() if s["Resource"] == "*"}
    assert wildcard <= {"comprehend:DetectPiiEntities", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
                        "xray:GetSamplingRules", "xray:GetSamplingTargets", "logs:CreateLogDelivery",
                        "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
                        "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
                        "logs:DescribeLogGroups"}  # fmt: skip


def test_secrets_hold_no_literal_values(synth: Synth) -> None:
    secrets = resources(synth.raw, "AWS::SecretsManager::Secret")
    assert {s["Properties"]["Name"] for s in secrets.values()} == {
        f"{names.PROJECT}/slack",
        f"{names.PROJECT}/redshift",
        f"{names.PROJECT}/mail-reply-key",  # generated by Secrets Manager, never a literal
        f"{names.PROJECT}/csat-key",  # the rating links' key (issue 32): generated too
    }
    assert all("SecretString" not in s["Properties"] for s in secrets.values())


def test_glue_job_is_glue5_serial_keeps_its_own_bookmarks_and_times_out_within_the_schedule(
    synth: Synth,
) -> None:
    synth.template.has_resource_properties(
        "AWS::Glue::Job",
        {
            "GlueVersion": "5.0",
            "Command": {"Name": "glueetl", "PythonVersion": "3", "ScriptLocation": Match.any_value()},
            "ExecutionProperty": {"MaxConcurrentRuns": 1},
            "Timeout": 108,  # 90% of the 2-hour schedule
            "Connections": {"Connections": [f"{names.PROJECT}-redshift"]},
            "SecurityConfiguration": Match.any_value(),
            "DefaultArguments": Match.object_like(
                {
                    # Selection by manifest markers with the job's own bookmarks (contract/manifests.py).
                    "--job-bookmark-option": "job-bookmark-disable",
                    "--TempDir": {
                        "Fn::Join": ["", ["s3://", Match.any_value(), f"/{names.GLUE_TEMP_PREFIX}"]]
                    },
                    "--manifest_path": {
                        "Fn::Join": ["", ["s3://", Match.any_value(), f"/{names.MANIFEST_PREFIX}"]]
                    },
                    "--state_path": {
                        "Fn::Join": ["", ["s3://", Match.any_value(), f"/{names.ETL_STATE_PREFIX}"]]
                    },
                }
            ),
        },
    )


def test_glue_role_can_write_its_temp_dir_and_read_the_redshift_secret(synth: Synth) -> None:
    job = next(iter(resources(synth.raw, "AWS::Glue::Job").values()))
    statements = role_statements(synth.raw, job["Properties"]["Role"]["Fn::GetAtt"][0])
    temp = [s for s in statements if names.GLUE_TEMP_PREFIX in json.dumps(s["Resource"])]
    assert any("s3:PutObject" in statement_actions(s) for s in temp)
    assert any("secretsmanager:GetSecretValue" in statement_actions(s) for s in statements)


def test_glue_role_lists_manifest_markers_without_reading_them_and_keeps_its_bookmarks(synth: Synth) -> None:
    job = next(iter(resources(synth.raw, "AWS::Glue::Job").values()))
    statements = role_statements(synth.raw, job["Properties"]["Role"]["Fn::GetAtt"][0])
    listing = [s for s in statements if statement_actions(s) == {"s3:ListBucket"}]
    assert any(f"{names.MANIFEST_PREFIX}*" in json.dumps(s.get("Condition")) for s in listing)
    reads = [s for s in statements if "s3:GetObject" in statement_actions(s)]
    assert not any(names.MANIFEST_PREFIX in json.dumps(s["Resource"]) for s in reads)
    state = [s for s in statements if names.ETL_STATE_PREFIX in json.dumps(s["Resource"])]
    assert any({"s3:GetObject", "s3:PutObject"} <= statement_actions(s) for s in state)


def test_glue_connection_uses_the_secret_inside_the_vpc(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::Glue::Connection",
        {
            "ConnectionInput": Match.object_like(
                {
                    "ConnectionType": "JDBC",
                    "ConnectionProperties": Match.object_like(
                        {
                            "JDBC_CONNECTION_URL": Match.string_like_regexp("^jdbc:redshift://"),
                            "SECRET_ID": Match.any_value(),
                        }
                    ),
                    "PhysicalConnectionRequirements": {
                        "AvailabilityZone": "us-east-1a",
                        "SecurityGroupIdList": ["sg-0123456789abcdef0"],
                        "SubnetId": "subnet-0123456789abcdef0",
                    },
                }
            )
        },
    )


def test_glue_job_runs_on_an_eventbridge_schedule(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": "rate(2 hours)",
            "Target": Match.object_like({"RoleArn": Match.any_value()}),
        },
    )
    (schedule,) = [
        s
        for s in resources(synth.raw, "AWS::Scheduler::Schedule").values()
        if ":glue:" in json.dumps(s["Properties"]["Target"]["Arn"])
    ]
    assert json.loads(schedule["Properties"]["Target"]["Input"]) == {
        "JobName": f"{names.PROJECT}-warehouse-load"
    }
    assert json.dumps(schedule["Properties"]["Target"]["Arn"]).endswith(
        ':scheduler:::aws-sdk:glue:startJobRun"]]}'
    )


def test_glue_failures_reach_the_alarms_topic(synth: Synth) -> None:
    alarms_topic = _topic_id(synth, "alarms")
    synth.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.glue"],
                "detail-type": ["Glue Job State Change"],
                "detail": {
                    "jobName": [f"{names.PROJECT}-warehouse-load"],
                    "state": ["FAILED", "TIMEOUT", "STOPPED", "ERROR", "SUCCEEDED"],
                },
            },
            "Targets": [Match.object_like({"Arn": {"Ref": alarms_topic}})],
        },
    )


def _topic_id(synth: Synth, suffix: str) -> str:
    return next(
        k
        for k, v in resources(synth.raw, "AWS::SNS::Topic").items()
        if v["Properties"]["TopicName"] == f"{names.PROJECT}-{suffix}"
    )


def test_alarms_cover_every_stage_and_notify_the_alarms_topic(synth: Synth) -> None:
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources(synth.raw, "AWS::CloudWatch::Alarm").values()
    }
    expected = expected_alarm_names()
    assert {name.removeprefix(f"{names.PROJECT}-") for name in alarms} == expected
    topic = {"Ref": _topic_id(synth, "alarms")}
    notifier_errors = f"{names.PROJECT}-NotifierErrors"  # goes to the ops topic (test_alert_routing.py)
    assert all(
        a["AlarmActions"] == [topic] and a["OKActions"] == [topic]
        for name, a in alarms.items()
        if name != notifier_errors
    )
    metrics = {a["MetricName"] for a in alarms.values()}
    assert {
        "GetRecords.IteratorAgeMilliseconds",
        "ApproximateNumberOfMessagesVisible",
        "ExecutionsFailed",
    } <= metrics
    dlq = alarms[f"{names.PROJECT}-DlqNotEmpty"]
    assert (dlq["Threshold"], dlq["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")


def test_alarm_publishers_may_use_the_alarms_key(synth: Synth) -> None:
    keys = resources(synth.raw, "AWS::KMS::Key").values()
    services: set[str] = set()
    for key in keys:
        for statement in key["Properties"]["KeyPolicy"]["Statement"]:
            service = statement.get("Principal", {}).get("Service", [])
            services.update([service] if isinstance(service, str) else service)
    assert {"cloudwatch.amazonaws.com", "events.amazonaws.com"} <= services
    assert all(k["Properties"]["EnableKeyRotation"] for k in keys)


def test_pipeline_dashboard_exists(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::CloudWatch::Dashboard", {"DashboardName": f"{names.PROJECT}-pipeline"}
    )


def test_functions_whose_time_a_ticket_records_have_the_memory_cost_per_ticket_reads(synth: Synth) -> None:
    # pipeline/domain/usage.py prices GB-seconds from contract/names.py; the deployed memory must be the same.
    for fn, memory_mb in names.FUNCTION_MEMORY_MB.items():
        _, function = function_by_name(synth.raw, fn)
        assert function["Properties"]["MemorySize"] == memory_mb, fn
