"""Incident detection: the workflow's link-incident function, its Bedrock embedding permission and table access.

The function embeds each ticket with Titan Text Embeddings V2 (InvokeModel on that ONE foundation model) and
reads/writes vectors and incident aggregates on the tickets table (its window GSI). With the second opinion
on (cdk.json `incident_second_opinion`), it may also ask the reply model about a borderline link (Converse,
authorized by InvokeModel on the reply model's ARNs only).
The offline MiniLM model is not shipped: the layer stays as `make layer` builds it (README "Incidents").
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from contract import defaults, names
from infra.components._nag import acknowledge, finding
from infra.components.lambdas import LambdaPackage, metered_function
from infra.components.storage import Storage
from infra.components.workflow import LLM_PROVIDER

EMBEDDING_PROVIDER = "bedrock"
DEFAULT_EMBEDDING_MODEL_ID = defaults.BEDROCK_EMBEDDING_MODEL_ID
DEFAULT_EMBEDDING_DIMENSIONS = defaults.BEDROCK_EMBEDDING_DIMENSIONS


def embedding_model_arn(stack: Stack, model_id: str) -> str:
    """The one foundation-model ARN the function may invoke."""
    return f"arn:{stack.partition}:bedrock:{stack.region}::foundation-model/{model_id}"


class IncidentDetection(Construct):
    """The link-incident function (embedding + window search + incident aggregate)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        package: LambdaPackage,
        storage: Storage,
        embedding_model_id: str = DEFAULT_EMBEDDING_MODEL_ID,
        embedding_dimensions: int = DEFAULT_EMBEDDING_DIMENSIONS,
        threshold: float | None = None,
        second_opinion_model_id: str = "",
        second_opinion_model_arns: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        # The one embedder of the stack: the draft function's knowledge-base search uses it too.
        self.embedding_environment = {
            names.ENV_EMBEDDING_PROVIDER: EMBEDDING_PROVIDER,
            names.ENV_EMBEDDING_MODEL_ID: embedding_model_id,
            names.ENV_EMBEDDING_DIMENSIONS: str(embedding_dimensions),
        }
        environment = {names.ENV_TABLE_NAME: storage.table.table_name, **self.embedding_environment}
        if threshold is not None:  # Titan's similarity scale differs from MiniLM's: calibrate, then set
            environment[names.ENV_INCIDENT_THRESHOLD] = str(threshold)
        if second_opinion_model_id:  # the reply model judges borderline links (docs/incidents.md)
            environment |= {
                names.ENV_INCIDENT_JUDGE: "reply-model",
                names.ENV_LLM_PROVIDER: LLM_PROVIDER,
                names.ENV_MODEL_ID: second_opinion_model_id,
            }
        self.function = metered_function(
            self,
            "LinkIncident",
            name=names.FN_LINK_INCIDENT,
            package=package,
            description="Embeds a ticket (Bedrock Titan) and links it to an open incident of similar tickets",
            timeout=Duration.seconds(60),
            environment=environment,
        )
        self.model_arn = embedding_model_arn(Stack.of(self), embedding_model_id)
        # Converse (the second opinion) is authorized by bedrock:InvokeModel on the reply model's ARNs.
        self.function.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["bedrock:InvokeModel"],
                resources=[self.model_arn, *(second_opinion_model_arns if second_opinion_model_id else [])],
            )
        )
        wildcarded = [arn for arn in second_opinion_model_arns if "*" in arn and second_opinion_model_id]
        if wildcarded:
            acknowledge(
                self.function.role,
                "IAM5",
                "A cross-region inference profile invokes the configured reply model in any region of its "
                "geography; only the region is wildcarded, the model is fixed.",
                *(f"Resource::{finding(self, arn)}" for arn in wildcarded),
            )
        # Vectors and aggregates live on the ticket items; the window is read through its GSI only.
        storage.grant_incident_window(self.function.role)
