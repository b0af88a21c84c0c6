"""The scenario catalog is the original one, kept exactly, and its loader rejects broken data."""

from __future__ import annotations

import copy

import pytest

from contract.catalog import (
    SCENARIOS,
    SENTIMENT_WEIGHTS,
    UnknownProductError,
    issue_types,
    parse_catalog,
    products,
    read_catalog_file,
    scenarios_for,
)
from contract.errors import ConfigurationError
from contract.models import ISSUE_TYPE_MAX, PRODUCT_MAX

# The catalog as written in issue 6 ("keep exactly").
ORIGINAL = """
Amazon EC2 → Instance Connectivity, Auto Scaling Configuration, Reserved Instance Billing
Amazon ECS → Container Deployment Failure, Task Definition Errors
Amazon EKS → Kubernetes Version Upgrade, Node Group Scaling
AWS Lambda → Function Timeout, Cold Start Latency, Memory Allocation
AWS Fargate → Task Resource Constraints
Amazon S3 → Access Permissions, Bucket Policy Configuration, Cross-Region Replication
Amazon EBS → Volume Performance, Snapshot Creation Failure
Amazon EFS → Mount Target Connectivity
AWS Backup → Backup Job Failure
Amazon RDS → Database Connection, Performance Insights, Backup Restoration
Amazon Aurora → Cluster Failover, Reader Endpoint Latency
Amazon DynamoDB → Provisioned Throughput, Global Table Replication
Amazon Redshift → Query Performance, Connection Issue, Cluster Resize
Amazon ElastiCache → Cache Hit Rate
Amazon DocumentDB → Compatibility Issues
Amazon Athena → Query Timeout
Amazon EMR → Cluster Termination
Amazon Kinesis → Shard Management, Data Stream Throttling
AWS Glue → ETL Job Failure, Crawler Configuration
Amazon OpenSearch Service → Cluster Stability
Amazon QuickSight → Dashboard Rendering
AWS Data Pipeline → Pipeline Activation
Amazon SageMaker → Model Deployment, Training Job Resources
Amazon Comprehend → Entity Recognition Accuracy
Amazon Rekognition → Image Analysis Results
Amazon Textract → Document Processing Errors
Amazon VPC → Subnet Configuration, NAT Gateway Failure
AWS Direct Connect → Connection Stability
Elastic Load Balancing → Health Check Configuration
Amazon CloudFront → Cache Behavior
Amazon Route 53 → DNS Resolution
AWS Global Accelerator → Endpoint Routing
AWS IAM → Permission Boundaries, Role Assumption
Amazon Cognito → User Pool Authentication
AWS WAF → Rule Evaluation
AWS Shield → DDoS Protection Configuration
AWS KMS → Key Rotation
AWS Secrets Manager → Secret Retrieval
AWS CodePipeline → Pipeline Execution
AWS CodeBuild → Build Environment
AWS CodeDeploy → Deployment Configuration
AWS CloudFormation → Stack Creation Failure, Resource Rollback
AWS CloudWatch → Alarm Configuration, Log Insights Query
AWS CloudTrail → Event Logging
AWS Config → Compliance Rules
AWS Systems Manager → Patch Management
AWS Organizations → Service Control Policies
Amazon SNS → Topic Delivery
Amazon SQS → Message Visibility
Amazon EventBridge → Event Pattern Matching
AWS Step Functions → State Machine Execution
Amazon MQ → Broker Connectivity
AWS App Runner → Service Deployment
AWS Batch → Job Queue Priority
Amazon ECR → Image Scanning
Cloud Analytics Dashboard → Performance Issue, Data Visualization Error
Data Pipeline Service → Integration Error, Configuration Problem
"""


def _original_pairs() -> list[tuple[str, str]]:
    pairs = []
    for line in ORIGINAL.strip().splitlines():
        product, issues = line.split(" → ")
        pairs += [(product, issue) for issue in issues.split(", ")]
    return pairs


def _raw() -> dict:
    return read_catalog_file()


def test_catalog_holds_exactly_the_original_81_pairs_across_57_products():
    assert [(s.product, s.issue_type) for s in SCENARIOS] == _original_pairs()
    assert len(SCENARIOS) == 81
    assert len(products()) == 57


def test_sentiment_weights_are_the_original_five():
    assert SENTIMENT_WEIGHTS == {
        "NEGATIVE": 0.22,
        "SLIGHTLY NEGATIVE": 0.28,
        "NEUTRAL": 0.30,
        "SLIGHTLY POSITIVE": 0.12,
        "POSITIVE": 0.08,
    }


def test_every_name_fits_its_warehouse_column():
    for s in SCENARIOS:
        assert len(s.product.encode()) <= PRODUCT_MAX
        assert len(s.issue_type.encode()) <= ISSUE_TYPE_MAX


def test_issue_types_lists_a_products_issues_in_order():
    assert issue_types("AWS Lambda") == ["Function Timeout", "Cold Start Latency", "Memory Allocation"]


def test_unknown_product_is_a_clear_error():
    with pytest.raises(UnknownProductError, match="unknown product 'Amazon Nothing'"):
        issue_types("Amazon Nothing")
    with pytest.raises(UnknownProductError, match="'Amazon Nothing'"):
        scenarios_for(["AWS Lambda", "Amazon Nothing"])


def test_scenarios_for_filters_to_the_named_products():
    chosen = scenarios_for(["Amazon S3", "AWS KMS"])
    assert {s.product for s in chosen} == {"Amazon S3", "AWS KMS"}
    assert len(chosen) == 4


def test_duplicate_pair_in_the_catalog_file_is_rejected():
    raw = _raw()
    raw["products"].append(copy.deepcopy(raw["products"][0]))
    with pytest.raises(ConfigurationError, match="duplicate pair Amazon EC2 / Instance Connectivity"):
        parse_catalog(raw)


def test_weights_that_do_not_sum_to_one_are_rejected():
    raw = _raw()
    raw["sentiment_targets"]["NEGATIVE"] = 0.5
    with pytest.raises(ConfigurationError, match="sum to 1"):
        parse_catalog(raw)


def test_issue_without_symptoms_is_rejected():
    raw = _raw()
    raw["products"][0]["issues"][0]["symptoms"] = []
    with pytest.raises(ConfigurationError, match="no symptoms"):
        parse_catalog(raw)
