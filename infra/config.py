"""Deployment configuration: a typed model read from `cdk.json` context and the environment.

Precedence, lowest first: defaults < the `tms` object in cdk.json context (and `cdk -c tms=...`)
< `TMS_DEPLOY_*` environment variables. Nothing here is a secret: Slack tokens and Redshift
passwords live in Secrets Manager and are set after deploy (README.md, Deploy).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from contract import defaults, names

CONTEXT_KEY = "tms"
ENV_PREFIX = "TMS_DEPLOY_"
CDK_JSON = names.REPO_ROOT / "cdk.json"

# Kept in sync with contract.models.Priority by tests/infra/test_config.py (infra never imports runtime code).
PriorityName = Literal["HIGH", "MEDIUM", "NORMAL"]

# Lowercase letters, digits and hyphens: the intersection of the naming rules of every resource we name
# (S3 prefixes, Kinesis, DynamoDB, Lambda, Step Functions, Glue, CloudFormation stacks), short enough that
# "<project>-<longest suffix>" stays within Lambda's 64 characters.
_PROJECT_RE = re.compile(r"^[a-z][a-z0-9-]{1,18}[a-z0-9]$")
_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_SCHEDULE_RE = re.compile(r"^(rate\((?P<n>\d+) (?P<unit>minutes?|hours?|days?)\)|cron\(.+\))$")
_UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 1440}
# Geographic prefixes of Bedrock cross-region inference profiles ("us.anthropic.claude-...").
INFERENCE_PROFILE_PREFIXES = ("us", "us-gov", "eu", "apac", "jp", "au", "ca", "global")
_GLUE_MAX_TIMEOUT_MINUTES = 2880


SlackGrant = Annotated[str, Field(pattern=r"^[UWS][A-Z0-9]{2,}$")]


class ConfigError(ValueError):
    """The deployment configuration is invalid; the message names every bad field."""


class RedshiftConfig(BaseModel):
    """Where the Glue job loads tickets: the cluster endpoint and the network it lives in."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    endpoint: Annotated[str, Field(pattern=r"^[A-Za-z0-9.-]+:\d{2,5}$")] = Field(
        description="host:port of the Redshift cluster or workgroup"
    )
    database: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_$]{0,126}$")] = "dev"
    schema_name: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_$]{0,126}$")] = Field(
        default="support", alias="schema"
    )
    table: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_$]{0,126}$")] = "tickets"
    username: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,126}$")] = "tms_loader"
    vpc_id: Annotated[str, Field(pattern=r"^vpc-[0-9a-f]{8,17}$")]
    subnet_id: Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]
    security_group_id: Annotated[str, Field(pattern=r"^sg-[0-9a-f]{8,17}$")]
    availability_zone: Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$")]

    @property
    def data_api_target(self) -> tuple[str, str]:
        """("cluster" or "workgroup", its name) for the Redshift Data API, read from the endpoint's host:
        `<cluster>.<id>.<region>.redshift.amazonaws.com` or `<workgroup>.<account>.<region>.redshift-serverless...`."""
        host = self.endpoint.split(":", 1)[0]
        kind = "workgroup" if ".redshift-serverless." in host else "cluster"
        return kind, host.split(".", 1)[0]

    @property
    def jdbc_url(self) -> str:
        """The JDBC URL the Glue connection uses."""
        return f"jdbc:redshift://{self.endpoint}/{self.database}"


_DURATION = r"^(\d+d)?(\d+h)?(\d+m)?(\d+s)?$"


class SlaConfig(BaseModel):
    """First-response targets (pipeline/domain/sla.py reads them from the functions' environment)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    targets: dict[PriorityName, Annotated[str, Field(pattern=_DURATION, min_length=2)]] = Field(
        default_factory=lambda: dict(defaults.SLA_TARGETS)  # type: ignore[arg-type,return-value]
    )
    warn_fraction: Annotated[float, Field(gt=0, lt=1)] = defaults.SLA_WARN_FRACTION
    business_hours: Annotated[str, Field(pattern=r"^(\d\d:\d\d-\d\d:\d\d)?$")] = ""
    timezone: str = "UTC"
    oncall_group: Annotated[str, Field(pattern=r"^(S[A-Z0-9]{6,12})?$")] = ""
    escalation_emails: tuple[EmailStr, ...] = ()
    escalation_priorities: tuple[PriorityName, ...] = ("HIGH", "MEDIUM", "NORMAL")

    @field_validator("targets")
    @classmethod
    def _every_priority_has_a_target(cls, value: dict[str, str]) -> dict[str, str]:
        missing = {"HIGH", "MEDIUM", "NORMAL"} - set(value)
        if missing:
            raise ValueError(f"no target for {', '.join(sorted(missing))}")
        return value

    def environment(self) -> dict[str, str]:
        """The TMS_SLA_* variables of the functions that compute due times."""
        env = {f"{names.ENV_SLA_PREFIX}{p}": v for p, v in self.targets.items()}
        env[names.ENV_SLA_WARN_FRACTION] = str(self.warn_fraction)
        if self.business_hours:
            env[names.ENV_SLA_BUSINESS_HOURS] = self.business_hours
            env[names.ENV_SLA_TIMEZONE] = self.timezone
        return env


class FollowupsConfig(BaseModel):
    """Auto-close and the rating page (issue 32); the functions read the durations from their environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    autoclose_after: Annotated[str, Field(pattern=rf"{_DURATION}|^off$", min_length=2)] = (
        defaults.AUTOCLOSE_AFTER
    )
    csat_link_valid: Annotated[str, Field(pattern=_DURATION, min_length=2)] = defaults.CSAT_LINK_VALID
    api_rate_per_second: Annotated[int, Field(ge=1, le=10_000)] = defaults.CSAT_API_RATE_PER_SECOND
    api_burst: Annotated[int, Field(ge=1, le=5_000)] = defaults.CSAT_API_BURST
    # AWS WAF's rate-based rules count at least 10 requests per 5 minutes per client.
    requests_per_ip_5min: Annotated[int, Field(ge=10, le=2_000_000_000)] = defaults.CSAT_REQUESTS_PER_IP_5MIN

    def environment(self) -> dict[str, str]:
        """The variables of the timer function (the waiting period, the rating link's validity)."""
        return {
            names.ENV_AUTOCLOSE_AFTER: self.autoclose_after,
            names.ENV_CSAT_LINK_VALID: self.csat_link_valid,
        }


class RetentionConfig(BaseModel):
    """Days each store keeps a ticket's data (contract/defaults.py RETENTION_DAYS says what each covers)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tickets: Annotated[int, Field(ge=1, le=3650)] = defaults.RETENTION_DAYS["tickets"]
    archive: Annotated[int, Field(ge=1, le=3650)] = defaults.RETENTION_DAYS["archive"]
    inbound_mail: Annotated[int, Field(ge=1, le=3650)] = defaults.RETENTION_DAYS["inbound_mail"]
    warehouse: Annotated[int, Field(ge=1, le=3650)] = defaults.RETENTION_DAYS["warehouse"]

    def environment(self) -> dict[str, str]:
        """TMS_RETENTION_<STORE> of the functions that stamp or sweep (the archive stamps ticket items)."""
        return {f"{names.ENV_RETENTION_PREFIX}{k.upper()}": str(v) for k, v in self.model_dump().items()}


class TmsConfig(BaseModel):
    """Everything `cdk synth` needs to know about one deployment of tms."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    project_name: str = names.PROJECT
    region: str = "us-east-1"
    account: str | None = None

    notification_emails: tuple[EmailStr, ...] = ()
    email_priorities: tuple[PriorityName, ...] = ("HIGH",)
    slack_channel_id: Annotated[str, Field(pattern=r"^[CGD][A-Z0-9]{8,12}$")]
    slack_alerts_channel_id: Annotated[str, Field(pattern=r"^[CGD][A-Z0-9]{8,12}$")]

    redshift: RedshiftConfig
    sla: SlaConfig = Field(default_factory=SlaConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    followups: FollowupsConfig = Field(default_factory=FollowupsConfig)

    # The reply model (contract/defaults.py says why this one).
    model_id: Annotated[str, Field(pattern=r"^[a-z0-9-]+(\.[a-zA-Z0-9-]+)+(:\d+)?(:[a-z0-9]+)?$")] = (
        defaults.BEDROCK_MODEL_ID
    )
    # "on-demand" or a positive number of provisioned shards.
    shards: Literal["on-demand"] | PositiveInt = "on-demand"
    etl_schedule: str = "rate(2 hours)"
    etl_timeout_minutes: PositiveInt | None = None

    # Incidents: the Bedrock embedding model (Titan Text Embeddings V2 unless told otherwise).
    embedding_model_id: Annotated[str, Field(pattern=r"^[a-z0-9-]+(\.[a-zA-Z0-9-]+)+(:\d+)?$")] = (
        defaults.BEDROCK_EMBEDDING_MODEL_ID
    )
    draft_reply_concurrency: Annotated[int, Field(ge=1, le=1000)] = 5
    # Execution environments of the bot kept initialized (an alias "live" on a published version serves the
    # function URL): no cold /ticket ack at all, for a fixed monthly price (README "Cold start"). 0 = off.
    bot_provisioned_concurrency: Annotated[int, Field(ge=0, le=100)] = 0
    # Lambda SnapStart for the bot (docs/cold-start.md): each deploy publishes a version whose initialized
    # environment Lambda snapshots, and new environments resume from it instead of running the init; the
    # function URL serves the alias "live" on that version. Billed per snapshot cached and per restore.
    # Not with bot_provisioned_concurrency (Lambda supports only one of the two on a version).
    bot_snapstart: bool = False
    # The most environments the bot's function URL may run at once: a public URL answers anyone, so a flood
    # of (refused) requests is capped here instead of eating the account's concurrency, which the pipeline
    # shares. Slack sends a few requests a second at peak; each takes well under a second.
    bot_reserved_concurrency: Annotated[int, Field(ge=1, le=1000)] = 10
    # Who may act in Slack (bot/logic/roles.py): Slack user (U…/W…) and user-group (S…) ids. Not secrets.
    # Empty approvers: nothing is ever sent to a customer (the ticket post says how to configure them).
    agents: tuple[SlackGrant, ...] = ()
    approvers: tuple[SlackGrant, ...] = ()
    admins: tuple[SlackGrant, ...] = ()
    # On call (issue 32): the agents new tickets are routed to (user ids; a user group here is only mentioned),
    # and the share of the first-response target after which an unanswered routed ticket moves on, once.
    oncall: tuple[SlackGrant, ...] = ()
    routing_reassign_fraction: Annotated[float, Field(gt=0, lt=1)] = defaults.ROUTING_REASSIGN_FRACTION
    # A draft's last editor cannot approve it; false for one-person teams.
    four_eyes: bool = True
    # Tickets from where customers talk (issue 31, docs/slack-intake.md): watched customer channels, each
    # with the company of its customers ("" when none; `/ticket watch` adds more at run time), how readily
    # a message becomes a ticket, and how long a DM joins the sender's open DM ticket.
    customer_channels: dict[
        Annotated[str, Field(pattern=r"^[CG][A-Z0-9]{2,}$")], Annotated[str, Field(max_length=100)]
    ] = {}
    ticketing_strictness: Literal["lenient", "balanced", "strict"] = defaults.TICKETING_STRICTNESS  # type: ignore[assignment]
    slack_dm_window_hours: Annotated[float, Field(ge=0, le=24 * 90)] = defaults.SLACK_DM_WINDOW_HOURS
    # The one Slack installation served: the app id (A…) and the workspace (T…) or org (E…) it is installed in.
    slack_app_id: Annotated[str, Field(pattern=r"^(A[A-Z0-9]{2,})?$")] = ""
    slack_team_id: Annotated[str, Field(pattern=r"^([TE][A-Z0-9]{2,})?$")] = ""
    # Customer mail: the verified SES sender, where answers go (the receipt rule's recipient), and how
    # long after resolution an answer reopens a ticket instead of opening a new one.
    reply_from: EmailStr = "support@example.com"
    reply_to: EmailStr | None = None
    reopen_window_days: Annotated[int, Field(ge=0, le=365)] = defaults.REOPEN_WINDOW_DAYS
    # Domains a drafted reply may link to without a warning on its Slack post; the domain of reply_from is
    # always added (draft_link_allow_list).
    draft_link_domains: tuple[
        Annotated[str, Field(max_length=253, pattern=r"^([a-z0-9-]{1,63}\.)+[a-z]{2,63}$")], ...
    ] = defaults.DRAFT_LINK_DOMAINS
    # Verify the whole domain of reply_from (Easy DKIM: SES signs every reply) instead of the one address.
    ses_domain: Annotated[str, Field(max_length=253, pattern=r"^([a-z0-9-]{1,63}\.)+[a-z]{2,63}$")] | None = (
        None
    )
    # Inbound mail (issue 27): From domains trusted on their From alone, without DMARC/SPF/DKIM (only domains
    # whose mail reaches SES by a path you control).
    mail_trusted_domains: list[Annotated[str, Field(pattern=r"^([a-z0-9-]{1,63}\.)+[a-z]{2,63}$")]] = []
    # New-ticket limits (issue 27.5), one limit on every way in (mail, /ticket, API producers, Slack): new
    # tickets per hour from one customer address and from one domain (unset: contract.defaults, 5 and 50).
    tickets_per_sender_hour: Annotated[int, Field(ge=1, le=100_000)] | None = None
    tickets_per_domain_hour: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    # Deprecated names of the same limits for mail only: still passed to the inbound mail function, which
    # warns and reads them when the general ones are unset.
    mail_tickets_per_sender_hour: Annotated[int, Field(ge=1, le=100_000)] | None = None
    mail_tickets_per_domain_hour: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    # Grounded drafts (issue 30, docs/knowledge-base.md "On AWS"): the draft function reads kb/index.json in the
    # archive bucket (written by `tms kb ingest` with the operator's credentials) and embeds each redacted
    # ticket with the incident step's Titan model. No index: drafts are not grounded, as locally. On by
    # default: no fixed monthly cost, about $0.002 per 1,000 tickets (docs/decisions/0020-knowledge-base-store.md).
    knowledge_base: bool = True
    # Precedents (issue 30.2, docs/knowledge-base.md "Precedents"): a ticket resolved after its reply was sent
    # becomes a knowledge-base document linked at this https:// base URL + "/" + the ticket id (your help
    # desk's ticket view). Empty: no precedents, and the lifecycle function gets no knowledge-base access.
    precedent_base_url: Annotated[str, Field(max_length=2000, pattern=r"^(https://[^\s]+)?$")] = ""
    # Documents put under kb/docs/ of the archive bucket join the knowledge base within
    # contract/defaults.KB_SYNC_INTERVAL_MINUTES (the kb-sync function, issue 30.1); one without its own
    # `url`/canonical link is linked at this https:// base URL + its file name, else skipped (its log says why).
    kb_base_url: Annotated[str, Field(max_length=2000, pattern=r"^(https://[^\s]+)?$")] = ""
    # Incident grouping's second opinion (issue 29.2, docs/incidents.md "Second opinion"): a link scored just
    # under the threshold is shown to the reply model, which reads the reports and says whether they are one
    # problem. About a quarter of tickets ask, under a cent per 1,000 tickets at the default model (`tms cost`).
    incident_second_opinion: bool = True
    # PII in subject and description is replaced by typed placeholders before the reply model and the
    # warehouse see it (Comprehend DetectPiiEntities in the workflow). Off: both see the text as written.
    pii_redaction: bool = True
    # EXPRESS: billed per execution and its duration, about $0.004 per 1,000 tickets instead of $0.275 of
    # Standard's state transitions (README "Choices made, and the goal": what retry and dedup rely on instead).
    workflow_type: Literal["EXPRESS", "STANDARD"] = "EXPRESS"
    log_retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653] = (
        30
    )
    # Deploying without the dependency layer built would ship Lambdas that cannot import their
    # dependencies; `make deploy` sets this so a missing layer fails synth instead of warning.
    require_layer: bool = False
    asl_path: Path = names.ASL_PATH
    glue_script_path: Path = names.GLUE_SCRIPT_PATH

    def draft_link_allow_list(self) -> tuple[str, ...]:
        """The allow-list the bot gets: draft_link_domains and the domain of reply_from."""
        domain = str(self.reply_from).rpartition("@")[2].lower()
        return tuple(dict.fromkeys([*self.draft_link_domains, domain]))

    @model_validator(mode="after")
    def _precedents_need_the_knowledge_base(self) -> TmsConfig:
        if self.precedent_base_url and not self.knowledge_base:
            raise ValueError(
                "precedent_base_url is set but knowledge_base is false: precedents are knowledge-base "
                "documents; turn knowledge_base on or leave precedent_base_url empty"
            )
        return self

    @model_validator(mode="after")
    def _kb_base_url_needs_the_knowledge_base(self) -> TmsConfig:
        if self.kb_base_url and not self.knowledge_base:
            raise ValueError(
                "kb_base_url is set but knowledge_base is false: it links the documents of kb/docs/, which "
                "only the knowledge base reads; turn knowledge_base on or leave kb_base_url empty"
            )
        return self

    @model_validator(mode="after")
    def _sender_is_in_the_verified_domain(self) -> TmsConfig:
        if self.ses_domain and not str(self.reply_from).lower().endswith("@" + self.ses_domain):
            raise ValueError(
                f"reply_from {self.reply_from} is not an address of ses_domain {self.ses_domain}: SES only "
                "sends as an address of a verified domain"
            )
        return self

    @model_validator(mode="after")
    def _snapstart_or_provisioned_not_both(self) -> TmsConfig:
        if self.bot_snapstart and self.bot_provisioned_concurrency > 0:
            raise ValueError(
                f"bot_snapstart is on and bot_provisioned_concurrency is {self.bot_provisioned_concurrency}: "
                "Lambda does not support SnapStart with provisioned concurrency; choose one (set "
                "bot_provisioned_concurrency to 0, or bot_snapstart to false)"
            )
        return self

    @model_validator(mode="after")
    def _provisioned_fits_in_reserved(self) -> TmsConfig:
        # Lambda refuses provisioned concurrency above the function's reserved concurrency.
        if self.bot_provisioned_concurrency > self.bot_reserved_concurrency:
            raise ValueError(
                f"bot_provisioned_concurrency {self.bot_provisioned_concurrency} exceeds "
                f"bot_reserved_concurrency {self.bot_reserved_concurrency}: Lambda cannot provision more "
                "environments than the function may run"
            )
        return self

    @field_validator("project_name")
    @classmethod
    def _project_name_fits_aws_naming_rules(cls, value: str) -> str:
        if not _PROJECT_RE.match(value) or "--" in value:
            raise ValueError(
                "must be 3-20 characters of lowercase letters, digits and single hyphens, "
                "start with a letter and end with a letter or digit"
            )
        return value

    @field_validator("region")
    @classmethod
    def _region_looks_like_a_region(cls, value: str) -> str:
        if not _REGION_RE.match(value):
            raise ValueError(f"{value!r} is not an AWS region name")
        return value

    @field_validator("account")
    @classmethod
    def _account_is_twelve_digits(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\d{12}", value):
            raise ValueError("must be a 12-digit AWS account id")
        return value

    @field_validator("etl_schedule")
    @classmethod
    def _schedule_is_an_eventbridge_expression(cls, value: str) -> str:
        match = _SCHEDULE_RE.match(value)
        if not match:
            raise ValueError("must be an EventBridge expression: rate(N minutes|hours|days) or cron(...)")
        if match["n"] is not None and int(match["n"]) < 1:
            raise ValueError("rate must be at least 1")
        return value

    @field_validator("email_priorities")
    @classmethod
    def _at_least_one_priority(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError(
                "list at least one priority (emails for nothing: leave notification_emails empty)"
            )
        return tuple(dict.fromkeys(value))

    @model_validator(mode="after")
    def _cron_needs_an_explicit_timeout(self) -> TmsConfig:
        if self.schedule_minutes is None and self.etl_timeout_minutes is None:
            raise ValueError("a cron etl_schedule needs an explicit etl_timeout_minutes")
        return self

    @property
    def schedule_minutes(self) -> int | None:
        """The ETL interval in minutes for a rate() schedule, None for cron()."""
        match = _SCHEDULE_RE.match(self.etl_schedule)
        if match is None or match["n"] is None:
            return None
        return int(match["n"]) * _UNIT_MINUTES[match["unit"].rstrip("s")]

    @property
    def glue_timeout_minutes(self) -> int:
        """The Glue job timeout: explicit, else 90% of the interval so a stuck run ends before the next."""
        if self.etl_timeout_minutes is not None:
            return min(self.etl_timeout_minutes, _GLUE_MAX_TIMEOUT_MINUTES)
        interval = self.schedule_minutes or 60
        return max(5, min(interval * 9 // 10, _GLUE_MAX_TIMEOUT_MINUTES))

    @property
    def uses_inference_profile(self) -> bool:
        """Whether model_id names a cross-region inference profile rather than a foundation model."""
        return self.model_id.split(".", 1)[0] in INFERENCE_PROFILE_PREFIXES

    @property
    def foundation_model_id(self) -> str:
        """The foundation model behind model_id (the profile prefix stripped)."""
        return self.model_id.split(".", 1)[1] if self.uses_inference_profile else self.model_id

    def routing_environment(self) -> dict[str, str]:
        """TMS_ONCALL and the reassignment share, for the sla-timer function that routes new tickets."""
        return {
            names.ENV_ONCALL: ",".join(self.oncall),
            names.ENV_ROUTING_REASSIGN_FRACTION: str(self.routing_reassign_fraction),
        }

    def slack_roles_environment(self) -> dict[str, str]:
        """The roles, four-eyes switch and installation pin of the bot and notifier functions."""
        env = {
            names.ENV_AGENTS: ",".join(self.agents),
            names.ENV_APPROVERS: ",".join(self.approvers),
            names.ENV_ADMINS: ",".join(self.admins),
            names.ENV_ONCALL: ",".join(self.oncall),
            names.ENV_FOUR_EYES: "on" if self.four_eyes else "off",
        }
        if self.slack_app_id:
            env[names.ENV_SLACK_APP_ID] = self.slack_app_id
        if self.slack_team_id:
            env[names.ENV_SLACK_TEAM_ID] = self.slack_team_id
        return env

    def limits_environment(self, *, mail: bool = False) -> dict[str, str]:
        """The new-ticket limits set here, as the trigger reads them (`mail`: the inbound mail function,
        which also gets the deprecated mail-only names when they are set)."""
        given = {
            names.ENV_TICKETS_PER_SENDER: self.tickets_per_sender_hour,
            names.ENV_TICKETS_PER_DOMAIN: self.tickets_per_domain_hour,
        }
        if mail:
            given[names.ENV_MAIL_TICKETS_PER_SENDER] = self.mail_tickets_per_sender_hour
            given[names.ENV_MAIL_TICKETS_PER_DOMAIN] = self.mail_tickets_per_domain_hour
        return {key: str(value) for key, value in given.items() if value is not None}

    def slack_intake_environment(self) -> dict[str, str]:
        """The bot function's customer-channel settings (issue 31)."""
        for company in self.customer_channels.values():
            if "," in company or "=" in company:
                raise ValueError(f"customer_channels: a company name may not contain ',' or '=': {company!r}")
        return {
            names.ENV_CUSTOMER_CHANNELS: ",".join(
                f"{channel}={company}" if company else channel
                for channel, company in sorted(self.customer_channels.items())
            ),
            names.ENV_TICKETING_STRICTNESS: self.ticketing_strictness,
            names.ENV_SLACK_DM_WINDOW_HOURS: f"{self.slack_dm_window_hours:g}",
            names.ENV_REOPEN_WINDOW_DAYS: str(self.reopen_window_days),
        }

    def name(self, suffix: str) -> str:
        """A physical resource name prefixed by the project name."""
        return f"{self.project_name}-{suffix}"


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Read TMS_DEPLOY_<FIELD> variables; values are JSON when they parse as JSON, else plain strings."""
    overrides: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        field = key.removeprefix(ENV_PREFIX).lower()
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        if field in {"notification_emails", "email_priorities"} and isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        overrides[field] = value
    return overrides


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def load_config(context: Mapping[str, Any], environ: Mapping[str, str]) -> TmsConfig:
    """Build the config from the `tms` context object and TMS_DEPLOY_* / CDK_DEFAULT_* variables."""
    raw = context.get(CONTEXT_KEY, {})
    if isinstance(raw, str):  # `cdk -c tms='{...}'` passes a JSON string
        raw = json.loads(raw)
    data = _merge({}, raw)
    if "region" not in data:
        region = environ.get("CDK_DEFAULT_REGION") or environ.get("AWS_REGION")
        if region:
            data["region"] = region
    if "account" not in data and environ.get("CDK_DEFAULT_ACCOUNT"):
        data["account"] = environ["CDK_DEFAULT_ACCOUNT"]
    data = _merge(data, _env_overrides(environ))
    try:
        return TmsConfig.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise ConfigError(f"invalid tms deployment config ({problems})") from e


def read_cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The `context` object of cdk.json (the CDK CLI passes it itself; plain `python infra/app.py` does not)."""
    if not path.exists():
        return {}
    context: dict[str, Any] = json.loads(path.read_text()).get("context", {})
    return context
