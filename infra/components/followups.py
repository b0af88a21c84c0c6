"""After the reply (issue 32): the timer function also nudges, closes and asks for a rating, so it gains the mail
settings and the right to send through the SES identity; the rating page is a function behind an API Gateway
REST API whose stage throttles everyone together and whose WAF web ACL throttles each client IP. The key
signing rating links is a Secrets Manager secret: the timer function signs, the page verifies."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from contract import names
from infra.components._nag import acknowledge, acknowledge_kms_grant, skip_checkov
from infra.components.keys import hmac_key_secret
from infra.components.lambdas import LambdaPackage, ServiceFunction, encrypted_log_group
from infra.components.mail import Mail
from infra.components.sla import Sla
from infra.components.storage import Storage
from infra.config import FollowupsConfig

PAGE_PATH = "rate"


class Followups(Construct):
    """The nudge/close/rating mail of the timer function, and the throttled rating page."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project_name: str,
        package: LambdaPackage,
        storage: Storage,
        tickets_topic: sns.ITopic,
        sla: Sla,
        mail: Mail,
        reply_from: str,
        reply_to: str,
        config: FollowupsConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = hmac_key_secret(
            self,
            "CsatKey",
            secret_name=f"{project_name}/csat-key",
            description="HMAC key of the rating links in satisfaction mails (issue 32)",
            key=storage.data_key,
            reason="Rotating the key voids every rating link already mailed (they expire on their own within "
            "csat_link_valid); it is rotated by hand, with the runbook, if ever exposed.",
        )
        page_env = {
            names.ENV_TABLE_NAME: storage.table.table_name,
            names.ENV_TOPIC_ARN: tickets_topic.topic_arn,
            names.ENV_REPLY_FROM: reply_from,
            names.ENV_CSAT_KEY_SECRET_ARN: self.key.secret_arn,
        }
        self.page = ServiceFunction(
            self,
            "Page",
            name=names.FN_CSAT,
            package=package,
            description="The rating page: GET shows the form, POST records one answer per ticket",
            memory_size=256,
            timeout=Duration.seconds(10),
            environment=page_env,
            # A public page: a flood that passes the throttles still cannot take the account's concurrency.
            reserved_concurrency=5,
        )
        self.key.grant_read(self.page.role)
        storage.grant_ticket_metadata(self.page.role)
        tickets_topic.grant_publish(self.page.role)
        acknowledge_kms_grant(self.page.role, "tickets topic's data key")
        # The comment is redacted by the same detector as intake.
        self.page.role.add_to_policy(
            iam.PolicyStatement(actions=["comprehend:DetectPiiEntities"], resources=["*"])
        )
        acknowledge(
            self.page.role,
            "IAM5",
            "comprehend:DetectPiiEntities has no resource-level permissions (it acts on the text sent).",
            "Resource::*",
        )

        # --- the API: one resource, GET and POST, throttled per stage and per client -----------------------
        access_logs = encrypted_log_group(
            self,
            "ApiLogs",
            package=package,
            log_group_name=f"/aws/vendedlogs/apigateway/{project_name}-csat",
        )
        self.api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=f"{project_name}-csat",
            description="tms rating page (the link in satisfaction mails)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Access logs need the account's API Gateway CloudWatch role; CDK creates it.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.DESTROY,
            deploy_options=apigw.StageOptions(
                stage_name="v1",
                throttling_rate_limit=config.api_rate_per_second,
                throttling_burst_limit=config.api_burst,
                tracing_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # request bodies carry customers' comments: never logged
                metrics_enabled=True,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
            ),
        )
        # The token must be in the GET query; the POST body is form-encoded and checked by the page itself.
        validator = self.api.add_request_validator(
            "Validator", validate_request_parameters=True, validate_request_body=True
        )
        integration = apigw.LambdaIntegration(self.page.function)
        rate = self.api.root.add_resource(PAGE_PATH)
        methods = [
            rate.add_method(
                "GET",
                integration,
                request_validator=validator,
                request_parameters={"method.request.querystring.t": True},
            ),
            rate.add_method("POST", integration, request_validator=validator),
        ]
        plan = self.api.add_usage_plan(
            "Plan",
            name=f"{project_name}-csat",
            description="The rating page's throttle (no API keys: customers open a link)",
            throttle=apigw.ThrottleSettings(
                rate_limit=config.api_rate_per_second, burst_limit=config.api_burst
            ),
        )
        plan.add_api_stage(stage=self.api.deployment_stage)
        for method in methods:
            acknowledge(
                method,
                "APIG4",
                "A public page for customers following a mailed link: the signed, single-use, expiring token in "
                "the request is the authorization (pipeline/domain/csat.py); there is no user to sign in.",
            )
            acknowledge(method, "COG4", "No user pool: customers are not users of tms (see APIG4).")
            skip_checkov(
                method,
                "CKV_AWS_59",
                "A public page for customers following a mailed link: the signed, single-use, expiring token is "
                "the authorization; the stage and the WAF web ACL throttle it.",
            )
        stage = self.api.deployment_stage
        skip_checkov(
            stage,
            "CKV_AWS_120",
            "No cache: every answer depends on the token and the ticket's state (a cached page could show a "
            "form for a link already used); the pages are sent with Cache-Control: no-store.",
        )
        acknowledge(
            self.api,
            "IAM4",
            "API Gateway's account-level CloudWatch role uses the AWS managed policy "
            "AmazonAPIGatewayPushToCloudWatchLogs, which is what access logging requires.",
            "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
        )

        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=f"{project_name}-csat",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(f"{project_name}-csat"),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="PerClientRate",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            aggregate_key_type="IP", limit=config.requests_per_ip_5min
                        )
                    ),
                    visibility_config=_visibility("PerClientRate"),
                ),
                wafv2.CfnWebACL.RuleProperty(
                    name="KnownBadInputs",
                    priority=1,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS", name="AWSManagedRulesKnownBadInputsRuleSet"
                        )
                    ),
                    visibility_config=_visibility("KnownBadInputs"),
                ),
            ],
        )
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=stage.stage_arn,  # a reference to the stage: created after it
            web_acl_arn=self.web_acl.attr_arn,
        )

        # --- the timer function sends the nudge and the rating question, and links to this page -------------
        timer = sla.timer
        for key, value in {
            names.ENV_REPLY_FROM: reply_from,
            names.ENV_REPLY_TO: reply_to,
            names.ENV_MAIL_REPLY_KEY_SECRET_ARN: mail.reply_key.secret_arn,
            names.ENV_SES_CONFIGURATION_SET: mail.configuration_set.configuration_set_name,
            names.ENV_CSAT_KEY_SECRET_ARN: self.key.secret_arn,
            names.ENV_CSAT_BASE_URL: self.api.url,
            **config.environment(),
        }.items():
            timer.function.add_environment(key, value)
        mail.grant_send(timer.role)
        mail.reply_key.grant_read(timer.role)
        self.key.grant_read(timer.role)

    @property
    def url(self) -> str:
        """The rating page's base URL (links are <url>rate?t=...)."""
        return self.api.url


def _visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )
