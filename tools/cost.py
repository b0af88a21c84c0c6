"""Cost per ticket, measured and modeled (`tms cost`, the report's cost section; issue 17).

The variable part is measured: the average `TicketUsage` of the tickets that recorded one (warehouse rows or
the local stack's items) times the price table (`prices.json`, data with region, source and date). The fixed
part is counted from the synthesized stack (keys, alarms, secrets, the Glue job's workers, the stream's
mode) and the deployment config (the ETL schedule), priced per month.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contract import names
from contract.errors import TmsError
from contract.models import DESCRIPTION_MAX, SUBJECT_MAX, TicketUsage, field_errors
from pipeline.domain.usage import comprehend_units

PRICES_PATH = Path(__file__).with_name("prices.json")
HOURS_PER_MONTH = 730  # AWS's own monthly figure (24 x 365 / 12)
DAYS_PER_MONTH = 30
GIB = 1024**3
KIB = 1024
# The goal of issue 17 for the default configuration: a ticket's triage and its answer (the reply mail and
# the customer's mail back included, issue 28.3) cost at most this per 1,000 tickets. The mails tms sends
# after the answer (the nudge and the rating question of issue 32) are priced on top, against their own
# budget below (docs/decisions/0021-cost-goal-triage-and-follow-up-mail.md says why).
GOAL_USD_PER_1000 = 1.00
# What each feature may add to the triage cost, $ per 1,000 tickets (docs/cost.md "Budget": the table there
# is checked against this one). The measured triage cost plus these must stay within the goal.
FEATURE_BUDGET_USD_PER_1000: dict[str, float] = {
    "knowledge-base retrieval": 0.04,
}
# The mails sent after the answer, $ per 1,000 tickets, outside the goal: one rating question per ended
# ticket (SES $0.10 per 1,000 messages) and a nudge to at most 30 % of them.
FOLLOWUP_BUDGET_USD_PER_1000: dict[str, float] = {
    "rating question mail": 0.10,
    "nudge mail": 0.03,
}
# The line items that are follow-up mail (the rest of the variable lines is the triage cost).
NUDGE_LINE = "SES nudge mails (auto-close)"
RATING_LINE = "SES rating question mails (CSAT)"
FOLLOWUP_LINES = frozenset({NUDGE_LINE, RATING_LINE})
# The draft function's knowledge-base index reads (docs/decisions/0020-knowledge-base-store.md): at most one
# HEAD per ticket (a warm function checks the ETag at most every KB_REFRESH_SECONDS, so busy hours make far
# fewer) and one GET when the index changed or the environment is new. Priced at this bound: the function
# does not report them per ticket (TicketUsage has no column for them; they are $0.0008 per 1,000 at most).
KB_INDEX_READS_PER_TICKET = 2.0
# A precedent (issue 30.2) is the subject, 300 characters of the description and the reply as sent (at most
# WORD_LIMIT = 220 words, ~1,300 characters) with its framing: ~1,700 characters, 17 Comprehend units in one
# call, ~430 embedding tokens; the lifecycle function (512 MB with precedents on) reads, embeds and rewrites
# the index in about a second. Not measured per ticket: priced at these bounds when the stack turns them on.
PRECEDENT_PII_UNITS = 17.0
PRECEDENT_EMBEDDING_TOKENS = 430.0
PRECEDENT_GB_SECONDS = 0.5
# The kb-sync function (issue 30.1) on its schedule, when nothing changed: one LIST of kb/docs/ (billed at the
# PUT/COPY/POST/LIST rate; one more per 1,000 documents), one HEAD of the index, and about a second at 512 MB
# (an estimate, not measured on AWS: a warm run is two S3 calls, a cold one adds the imports and one GET of the
# index). A changed document adds a GET, its Titan tokens and a PUT of the index (docs/knowledge-base.md "Sync").
KB_SYNC_IDLE_GB_SECONDS = 0.5
# The incident step's second opinion (issue 29.2, cdk.json `incident_second_opinion`): the reply model asked
# about a link scored in the band under the threshold. Measured with bench/incident_judge.py on both
# calibration batches (docs/measurements/2026-12-07f-incident-second-opinion.md): 262 calls per 1,000 tickets
# at the shipped band, ~700 prompt tokens a call (the shipped prompt with the report and up to three of the
# candidate's), ~15 tokens of answer. Modeled, not measured per ticket: the local stack's offline reply model
# never judges, and on AWS the calls' tokens are in the reply model's measured tokens already (an upper bound).
JUDGE_CALLS_PER_TICKET = 0.262
JUDGE_INPUT_TOKENS_PER_CALL = 700.0
JUDGE_OUTPUT_TOKENS_PER_CALL = 15.0
# Every answered ticket sends its reply through SES at least once (issue 28.3): the model counts it whether or
# not an agent approved the draft yet.
REPLIES_PER_TICKET = 1.0
# SES receiving bills each received mail and each 256 KB of it (https://aws.amazon.com/ses/pricing/).
SES_INBOUND_CHUNK_BYTES = 256 * 1024
# A Glue 5 Spark run on the tickets of a schedule interval: billed per second with a 1-minute minimum.
DEFAULT_ETL_RUN_MINUTES = 2.0
# The Redshift Serverless workgroup the Glue job loads into (the stack points at it; it does not create it):
# its base capacity, billed while the load's statements run (60-second minimum per run).
DEFAULT_REDSHIFT_BASE_RPU = 8
DEFAULT_REDSHIFT_SECONDS_PER_RUN = 60.0
# Step Functions Express bills each execution's duration rounded up to 100 ms, at the memory it uses in 64 MB
# steps (https://aws.amazon.com/step-functions/pricing/): this workflow's definition and its execution data
# (a ticket of at most ~70 KB) fit the first step.
EXPRESS_BILLING_MS = 100
EXPRESS_MEMORY_MB = 64
EXPRESS_MAX_SECONDS = 300  # an Express execution cannot run longer than 5 minutes
# What an Express execution waits for besides its functions: each service-integration state (DynamoDB,
# Comprehend, SNS) and each transition. An assumption, printed with the table: Step Functions publishes no
# figure, and a state's round trip to DynamoDB or SNS in-region is tens of milliseconds.
EXPRESS_STATE_OVERHEAD_S = 0.05
_GLUE_WORKER_DPU = {"G.025X": 0.25, "G.1X": 1.0, "G.2X": 2.0, "G.4X": 4.0, "G.8X": 8.0}


class NoUsageError(TmsError):
    """There are no tickets with recorded usage to measure."""


class PriceTableError(TmsError):
    """The price table is missing an entry or has a malformed one."""


class Price(BaseModel):
    """One price: `usd` per `per` units of `unit`, with where and when it was read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    usd: float = Field(ge=0)
    per: float = Field(gt=0)
    unit: str = Field(min_length=3)
    source: str = Field(pattern=r"^https://")
    as_of: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")

    @property
    def unit_usd(self) -> float:
        """The price of one unit."""
        return self.usd / self.per


class ModelPrice(BaseModel):
    """A Bedrock model's on-demand token prices."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_usd_per_1k: float = Field(ge=0)
    output_usd_per_1k: float = Field(ge=0)
    source: str = Field(pattern=r"^https://")
    as_of: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    note: str = ""


VARIABLE_KEYS = (
    "comprehend_unit",
    "s3_get_request",
    "sfn_standard_transition",
    "sfn_express_request",
    "sfn_express_gb_second",
    "lambda_request",
    "lambda_gb_second_x86",
    "kinesis_on_demand_ingest_gb",
    "kinesis_on_demand_retrieval_gb",
    "dynamodb_on_demand_wru",
    "dynamodb_on_demand_rru",
    "s3_put_request",
    "sns_publish",
    "ses_message",
    "ses_inbound_message",
    "ses_inbound_chunk",
    "titan_embed_v2_input_token",
    "scheduler_invocation",
)
FIXED_KEYS = (
    "kms_key_month",
    "cloudwatch_alarm_month",
    "cloudwatch_dashboard_month",
    "secret_month",
    "kinesis_on_demand_stream_hour",
    "kinesis_shard_hour",
    "glue_dpu_hour",
    "redshift_serverless_rpu_hour",
)


class PriceTable(BaseModel):
    """The whole table (tools/prices.json): one region, every price the cost model uses."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    region: str
    currency: str = Field(pattern=r"^USD$")
    as_of: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    note: str = ""
    variable: dict[str, Price]
    models: dict[str, ModelPrice]
    fixed: dict[str, Price]

    def check_complete(self) -> PriceTable:
        """This table, or PriceTableError naming every price the cost model needs and it lacks."""
        missing = [k for k in VARIABLE_KEYS if k not in self.variable]
        missing += [k for k in FIXED_KEYS if k not in self.fixed]
        if missing:
            raise PriceTableError(f"price table lacks {', '.join(missing)}")
        return self

    def model(self, model_id: str) -> ModelPrice:
        """The prices of a model id (an inference profile's geography prefix ignored)."""
        for candidate in (model_id, model_id.split(".", 1)[-1]):
            if candidate in self.models:
                return self.models[candidate]
        raise PriceTableError(
            f"no price for model {model_id} in {PRICES_PATH.name}: add it (with its source)"
        )


def load_prices(path: Path = PRICES_PATH) -> PriceTable:
    """Read and check the price table."""
    try:
        return PriceTable.model_validate(json.loads(path.read_text())).check_complete()
    except (OSError, json.JSONDecodeError) as e:
        raise PriceTableError(f"cannot read the price table {path}: {e}") from e
    except ValidationError as e:
        raise PriceTableError(f"price table {path}: {'; '.join(field_errors(e))}") from e


# --- What the stack deploys -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StackFacts:
    """The counts the fixed costs and some variable ones depend on, read from the synthesized template."""

    model_id: str
    state_machine_type: str
    kms_keys: int
    alarms: int
    dashboards: int
    secrets: int
    stream_mode: str  # ON_DEMAND | PROVISIONED
    shards: int
    stream_consumers: int
    glue_dpus: float
    etl_runs_per_month: float
    lambda_architecture: str = "x86_64"
    source: str = ""
    knowledge_base: bool = False  # a function grounds drafts in kb/index.json (TMS_KB_PROVIDER=s3)
    kb_sync_runs_per_month: float = 0.0  # the kb-sync function's scheduled runs (issue 30.1)
    precedents: bool = False  # resolved tickets become knowledge-base precedents (TMS_PRECEDENT_BASE_URL set)
    incident_second_opinion: bool = False  # the incident step may ask the reply model (TMS_INCIDENT_JUDGE)


def _of_type(template: Mapping[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template.get("Resources", {}).values() if r.get("Type") == kind]


def _referenced(value: Any, logical_ids: list[str]) -> bool:
    """Whether an ARN property is `{"Fn::GetAtt": [id, "Arn"]}` or `{"Ref": id}` of one of `logical_ids`."""
    if not isinstance(value, Mapping):
        return False
    get_att = value.get("Fn::GetAtt")
    if isinstance(get_att, list) and len(get_att) == 2 and get_att[1] == "Arn":
        return get_att[0] in logical_ids
    return value.get("Ref") in logical_ids


_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_RATE_MINUTES = {"minute": 1, "hour": 60, "day": 24 * 60}


def _runs_per_month(template: Mapping[str, Any], handler: str) -> float:
    """Runs a month of the rate() schedules whose target is a function running `handler`."""
    resources = template.get("Resources", {})
    functions = [
        k
        for k, r in resources.items()
        if r.get("Type") == "AWS::Lambda::Function" and r.get("Properties", {}).get("Handler") == handler
    ]
    runs = 0.0
    for schedule in _of_type(template, "AWS::Scheduler::Schedule"):
        props = schedule.get("Properties", {})
        rate = _RATE.match(str(props.get("ScheduleExpression", "")))
        if rate and _referenced(props.get("Target", {}).get("Arn"), functions):
            minutes = int(rate[1]) * _RATE_MINUTES[rate[2].rstrip("s")]
            runs += DAYS_PER_MONTH * 24 * 60 / minutes
    return runs


def _function_variables(template: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every function's environment variables in the template."""
    return [
        f.get("Properties", {}).get("Environment", {}).get("Variables") or {}
        for f in _of_type(template, "AWS::Lambda::Function")
    ]


def stack_facts(
    template: Mapping[str, Any], *, model_id: str, schedule_minutes: int | None, source: str = ""
) -> StackFacts:
    """Count the billed fixed parts of a synthesized tms template."""
    streams = _of_type(template, "AWS::Kinesis::Stream")
    stream_ids = [
        k for k, r in template.get("Resources", {}).items() if r.get("Type") == "AWS::Kinesis::Stream"
    ]
    mode = "ON_DEMAND"
    shards = 0
    if streams:
        props = streams[0].get("Properties", {})
        mode = props.get("StreamModeDetails", {}).get("StreamMode", "PROVISIONED")
        shards = int(props.get("ShardCount", 0) or 0)
    consumers = sum(
        1
        for m in _of_type(template, "AWS::Lambda::EventSourceMapping")
        if _referenced(m.get("Properties", {}).get("EventSourceArn"), stream_ids)
    )
    dpus = 0.0
    for job in _of_type(template, "AWS::Glue::Job"):
        p = job.get("Properties", {})
        if p.get("WorkerType"):
            dpus += _GLUE_WORKER_DPU.get(p["WorkerType"], 1.0) * int(p.get("NumberOfWorkers", 0))
        else:
            dpus += float(p.get("MaxCapacity", 0) or 0)
    machines = _of_type(template, "AWS::StepFunctions::StateMachine")
    archs = {
        a
        for f in _of_type(template, "AWS::Lambda::Function")
        for a in f["Properties"].get("Architectures", [])
    }
    variables = _function_variables(template)
    return StackFacts(
        model_id=model_id,
        state_machine_type=(
            machines[0]["Properties"].get("StateMachineType", "STANDARD") if machines else "STANDARD"
        ),
        kms_keys=len(_of_type(template, "AWS::KMS::Key")),
        alarms=len(_of_type(template, "AWS::CloudWatch::Alarm")),
        dashboards=len(_of_type(template, "AWS::CloudWatch::Dashboard")),
        secrets=len(_of_type(template, "AWS::SecretsManager::Secret")),
        stream_mode=mode,
        shards=shards,
        stream_consumers=consumers,
        glue_dpus=dpus,
        etl_runs_per_month=(DAYS_PER_MONTH * 24 * 60 / schedule_minutes) if schedule_minutes else 0.0,
        lambda_architecture="arm64" if archs == {"arm64"} else "x86_64",
        source=source,
        knowledge_base=any(v.get(names.ENV_KB_PROVIDER) == "s3" for v in variables),
        precedents=any(v.get(names.ENV_PRECEDENT_BASE_URL) for v in variables),
        kb_sync_runs_per_month=_runs_per_month(template, names.HANDLERS[names.FN_KB_SYNC]),
        incident_second_opinion=any(v.get(names.ENV_INCIDENT_JUDGE) == "reply-model" for v in variables),
    )


# --- The arithmetic -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line item: `quantity` of `unit` (per ticket, or per month for a fixed part) and its cost."""

    item: str
    quantity: float
    unit: str
    usd_per_unit: float
    usd: float  # per 1,000 tickets (variable) or per month (fixed)


@dataclass(frozen=True)
class CostEstimate:
    """The cost per 1,000 tickets by line item, and a month at `tickets_per_day` including the fixed parts."""

    tickets_measured: int
    tickets_per_day: int
    model_id: str
    variable: list[Line]
    fixed: list[Line]
    price_table_as_of: str
    region: str
    stack: StackFacts
    usage_source: str
    notes: list[str] = field(default_factory=list)

    @property
    def variable_usd_per_1000(self) -> float:
        """Variable AWS cost of 1,000 tickets, everything included: the one figure `tms cost` and the report
        show."""
        return sum(line.usd for line in self.variable)

    @property
    def followup_usd_per_1000(self) -> float:
        """The part of it that is mail sent after the answer (nudges, rating questions)."""
        return sum(line.usd for line in self.variable if line.item in FOLLOWUP_LINES)

    @property
    def triage_usd_per_1000(self) -> float:
        """The part the goal is read against: triage, the reply mail and the customer's mail back."""
        return self.variable_usd_per_1000 - self.followup_usd_per_1000

    @property
    def fixed_usd_per_month(self) -> float:
        """What the stack costs a month with no tickets at all."""
        return sum(line.usd for line in self.fixed)

    @property
    def monthly_usd(self) -> float:
        """A month at `tickets_per_day`: variable + fixed."""
        return (
            self.variable_usd_per_1000 * self.tickets_per_day * DAYS_PER_MONTH / 1000
            + self.fixed_usd_per_month
        )

    def to_dict(self) -> dict[str, Any]:
        """The --json document."""
        return {
            "region": self.region,
            "price_table_as_of": self.price_table_as_of,
            "model_id": self.model_id,
            "usage_source": self.usage_source,
            "tickets_measured": self.tickets_measured,
            "variable_usd_per_1000_tickets": round(self.variable_usd_per_1000, 6),
            "triage_usd_per_1000_tickets": round(self.triage_usd_per_1000, 6),
            "followup_mail_usd_per_1000_tickets": round(self.followup_usd_per_1000, 6),
            "goal_usd_per_1000_tickets": GOAL_USD_PER_1000,
            "within_goal": self.triage_usd_per_1000 <= GOAL_USD_PER_1000,
            "feature_budget_usd_per_1000_tickets": FEATURE_BUDGET_USD_PER_1000,
            "planned_triage_usd_per_1000_tickets": round(
                self.triage_usd_per_1000 + sum(FEATURE_BUDGET_USD_PER_1000.values()), 6
            ),
            "followup_mail_budget_usd_per_1000_tickets": FOLLOWUP_BUDGET_USD_PER_1000,
            "variable": [asdict(line) for line in self.variable],
            "fixed": [asdict(line) for line in self.fixed],
            "fixed_usd_per_month": round(self.fixed_usd_per_month, 2),
            "tickets_per_day": self.tickets_per_day,
            "monthly_usd": round(self.monthly_usd, 2),
            "stack": asdict(self.stack),
            "notes": self.notes,
        }


def average_usage(usages: Iterable[TicketUsage]) -> tuple[dict[str, float], int]:
    """The mean of every usage field over the tickets that recorded usage (all-zero usages are skipped)."""
    total = dict.fromkeys(TicketUsage.model_fields, 0.0)
    n = 0
    for usage in usages:
        if usage == TicketUsage():
            continue
        n += 1
        for name in total:
            total[name] += getattr(usage, name)
    if n == 0:
        raise NoUsageError(
            "no tickets with recorded usage: run tickets through the pipeline first (e.g. `tms demo --tickets 50`)"
        )
    return {k: v / n for k, v in total.items()}, n


def express_seconds(usage: Mapping[str, float]) -> float:
    """The billed duration of a ticket's Express execution, modeled from its measured usage: the time its
    task functions ran (their GB-seconds at the smallest task function's memory: an upper bound, the 1 GB
    functions ran a quarter of that) plus EXPRESS_STATE_OVERHEAD_S per state entered, rounded up to 100 ms
    and capped at Express's 5 minutes."""
    from contract import names

    smallest_gb = min(names.FUNCTION_MEMORY_MB.values()) / 1024
    seconds = usage["lambda_gb_seconds"] / smallest_gb + usage["state_transitions"] * EXPRESS_STATE_OVERHEAD_S
    billed = math.ceil(round(seconds * 1000 / EXPRESS_BILLING_MS, 6)) * EXPRESS_BILLING_MS / 1000
    return min(float(EXPRESS_MAX_SECONDS), billed)


def _line(item: str, quantity: float, price: Price, scale: float = 1000.0, unit: str | None = None) -> Line:
    return Line(
        item,
        round(quantity, 6),
        unit or price.unit,
        price.unit_usd,
        quantity * price.unit_usd * scale,
    )


def variable_lines(
    usage: Mapping[str, float], prices: PriceTable, stack: StackFacts, *, mail: MailUsage | None = None
) -> list[Line]:
    """Cost per 1,000 tickets of each billed unit a ticket consumed on average."""
    v = prices.variable
    mail = mail or MailUsage()
    model = prices.model(stack.model_id)
    lines = [
        Line(
            "Bedrock reply model, input tokens",
            round(usage["llm_input_tokens"], 3),
            f"token ({stack.model_id})",
            model.input_usd_per_1k / 1000,
            usage["llm_input_tokens"] * model.input_usd_per_1k,
        ),
        Line(
            "Bedrock reply model, output tokens",
            round(usage["llm_output_tokens"], 3),
            f"token ({stack.model_id})",
            model.output_usd_per_1k / 1000,
            usage["llm_output_tokens"] * model.output_usd_per_1k,
        ),
        _line(
            "Bedrock embeddings (incidents, knowledge-base queries)",
            usage["embedding_input_tokens"],
            v["titan_embed_v2_input_token"],
        ),
        _line("Comprehend DetectSentiment", usage["comprehend_sentiment_units"], v["comprehend_unit"]),
        _line("Comprehend DetectPiiEntities", usage["comprehend_pii_units"], v["comprehend_unit"]),
    ]
    if stack.state_machine_type == "STANDARD":
        lines.append(
            _line(
                "Step Functions Standard transitions",
                usage["state_transitions"],
                v["sfn_standard_transition"],
            )
        )
    else:
        lines.append(_line("Step Functions Express requests", 1.0, v["sfn_express_request"], unit="request"))
        seconds = express_seconds(usage)
        lines.append(
            _line(
                f"Step Functions Express duration ({seconds:g} s x {EXPRESS_MEMORY_MB} MB)",
                seconds * EXPRESS_MEMORY_MB / 1024,
                v["sfn_express_gb_second"],
                unit="GB-second",
            )
        )
    lines += [
        _line("Lambda requests", usage["lambda_requests"], v["lambda_request"]),
        _line("Lambda duration", usage["lambda_gb_seconds"], v["lambda_gb_second_x86"], unit="GB-second"),
    ]
    kib = usage["kinesis_put_kib"]
    if stack.stream_mode == "ON_DEMAND":
        lines.append(
            _line("Kinesis on-demand ingest", kib * KIB / GIB, v["kinesis_on_demand_ingest_gb"], unit="GB")
        )
        lines.append(
            _line(
                f"Kinesis on-demand retrieval ({stack.stream_consumers} consumers)",
                kib * KIB / GIB * stack.stream_consumers,
                v["kinesis_on_demand_retrieval_gb"],
                unit="GB",
            )
        )
    lines += [
        _line(
            "DynamoDB writes",
            usage["dynamodb_write_units"],
            v["dynamodb_on_demand_wru"],
            unit="write request unit",
        ),
        _line(
            "DynamoDB reads",
            usage["dynamodb_read_units"],
            v["dynamodb_on_demand_rru"],
            unit="read request unit",
        ),
        _line("S3 PUT requests", usage["s3_put_requests"], v["s3_put_request"], unit="request"),
        *(
            [
                _line(
                    "Knowledge-base index reads (S3 HEAD + GET, at most)",
                    KB_INDEX_READS_PER_TICKET,
                    v["s3_get_request"],
                    unit="request",
                )
            ]
            if stack.knowledge_base
            else []
        ),
        _line("SNS publishes", usage["sns_publishes"], v["sns_publish"], unit="request"),
    ]
    if stack.precedents:
        lines += precedent_lines(prices)
    if stack.incident_second_opinion:
        lines += second_opinion_lines(prices, stack.model_id)
    lines += mail_lines(mail, prices)
    return lines


def second_opinion_lines(prices: PriceTable, model_id: str) -> list[Line]:
    """The incident step's second opinion per 1,000 tickets at the reply model's price, modeled from the
    calibration replay (JUDGE_* above; docs/incidents.md "Second opinion")."""
    model = prices.model(model_id)
    calls = JUDGE_CALLS_PER_TICKET
    return [
        Line(
            f"Incident second opinion, input tokens ({calls:g} calls a ticket)",
            calls * JUDGE_INPUT_TOKENS_PER_CALL,
            f"token ({model_id})",
            model.input_usd_per_1k / 1000,
            calls * JUDGE_INPUT_TOKENS_PER_CALL * model.input_usd_per_1k,
        ),
        Line(
            "Incident second opinion, output tokens",
            calls * JUDGE_OUTPUT_TOKENS_PER_CALL,
            f"token ({model_id})",
            model.output_usd_per_1k / 1000,
            calls * JUDGE_OUTPUT_TOKENS_PER_CALL * model.output_usd_per_1k,
        ),
    ]


def precedent_lines(prices: PriceTable) -> list[Line]:
    """What turning a resolved ticket into a precedent costs (cdk.json `precedent_base_url`, off by default),
    priced as if every ticket were resolved once after its reply was sent (an upper bound): one
    DetectPiiEntities call on the precedent as stored, its embedding, a GET and a conditional PUT of the index,
    and the lifecycle function's time (docs/knowledge-base.md)."""
    v = prices.variable
    return [
        _line("Precedents: Comprehend DetectPiiEntities", PRECEDENT_PII_UNITS, v["comprehend_unit"]),
        _line("Precedents: Bedrock embeddings", PRECEDENT_EMBEDDING_TOKENS, v["titan_embed_v2_input_token"]),
        _line("Precedents: index GET", 1.0, v["s3_get_request"], unit="request"),
        _line("Precedents: index PUT", 1.0, v["s3_put_request"], unit="request"),
        _line(
            "Precedents: Lambda duration", PRECEDENT_GB_SECONDS, v["lambda_gb_second_x86"], unit="GB-second"
        ),
    ]


@dataclass(frozen=True)
class MailUsage:
    """The mail a ticket sends and receives on average (SES bills per message, not per ticket field)."""

    replies: float = REPLIES_PER_TICKET  # outbound replies: at least the one every answered ticket gets
    inbound: float = 0.0  # customer mails received (SES receiving)
    inbound_chunks: float = 0.0  # their 256 KB chunks (each received mail is at least one)
    # Issue 32: the reminder to customers who did not answer, and the one rating question per ended ticket.
    # Measured only (0 without data): docs/cost.md's follow-up budget (rating question mail, nudge mail)
    # stands for them then.
    nudges: float = 0.0
    ratings: float = 0.0

    @classmethod
    def measured(
        cls,
        *,
        tickets: int,
        sent: int,
        received: int,
        received_chunks: int | None = None,
        nudged: int = 0,
        asked: int = 0,
    ) -> MailUsage:
        """Per-ticket mail from counts: every ticket is answered once at least, even before an agent approved
        the reply (the cost of a ticket includes its answer); what was measured beyond that counts as it is."""
        if tickets <= 0:
            return cls()
        chunks = received if received_chunks is None else max(received, received_chunks)
        return cls(
            replies=max(REPLIES_PER_TICKET, sent / tickets),
            inbound=received / tickets,
            inbound_chunks=chunks / tickets,
            nudges=nudged / tickets,
            ratings=asked / tickets,
        )


def mail_lines(mail: MailUsage, prices: PriceTable) -> list[Line]:
    """SES per 1,000 tickets: the reply mails sent, and the customer mails received with their chunks."""
    v = prices.variable
    return [
        _line("SES reply mails (outbound)", mail.replies, v["ses_message"], unit="message"),
        _line("SES inbound mails", mail.inbound, v["ses_inbound_message"], unit="message"),
        _line("SES inbound mail chunks (256 KB)", mail.inbound_chunks, v["ses_inbound_chunk"], unit="chunk"),
        _line(NUDGE_LINE, mail.nudges, v["ses_message"], unit="message"),
        _line(RATING_LINE, mail.ratings, v["ses_message"], unit="message"),
    ]


def fixed_lines(
    stack: StackFacts,
    prices: PriceTable,
    *,
    etl_run_minutes: float = DEFAULT_ETL_RUN_MINUTES,
    redshift_base_rpu: int = DEFAULT_REDSHIFT_BASE_RPU,
    redshift_seconds_per_run: float = DEFAULT_REDSHIFT_SECONDS_PER_RUN,
) -> list[Line]:
    """What the stack costs a month whatever the volume."""
    f = prices.fixed
    billed_minutes = max(1.0, etl_run_minutes)  # Glue's 1-minute minimum
    lines = [
        _line("KMS customer managed keys", stack.kms_keys, f["kms_key_month"], scale=1, unit="key-month"),
        _line("CloudWatch alarms", stack.alarms, f["cloudwatch_alarm_month"], scale=1, unit="alarm-month"),
        _line("Secrets Manager secrets", stack.secrets, f["secret_month"], scale=1, unit="secret-month"),
    ]
    if stack.stream_mode == "ON_DEMAND":
        lines.append(
            _line(
                "Kinesis on-demand stream",
                HOURS_PER_MONTH,
                f["kinesis_on_demand_stream_hour"],
                scale=1,
                unit="stream-hour",
            )
        )
    else:
        lines.append(
            _line(
                "Kinesis shards",
                stack.shards * HOURS_PER_MONTH,
                f["kinesis_shard_hour"],
                scale=1,
                unit="shard-hour",
            )
        )
    lines.append(
        _line(
            f"Glue warehouse load ({stack.etl_runs_per_month:.0f} runs x {stack.glue_dpus:g} DPU x {billed_minutes:g} min)",
            stack.etl_runs_per_month * stack.glue_dpus * billed_minutes / 60,
            f["glue_dpu_hour"],
            scale=1,
            unit="DPU-hour",
        )
    )
    if stack.kb_sync_runs_per_month:
        lines += kb_sync_lines(stack.kb_sync_runs_per_month, prices)
    seconds = max(60.0, redshift_seconds_per_run)
    lines.append(
        _line(
            f"Redshift Serverless loads ({redshift_base_rpu} RPU x {seconds:g} s per run)",
            stack.etl_runs_per_month * redshift_base_rpu * seconds / 3600,
            f["redshift_serverless_rpu_hour"],
            scale=1,
            unit="RPU-hour",
        )
    )
    return lines


def kb_sync_lines(runs: float, prices: PriceTable) -> list[Line]:
    """What the kb-sync schedule costs a month when no document changes (its alarms are in the alarms line)."""
    v = prices.variable
    return [
        _line(
            f"Knowledge-base sync: schedule ({runs:.0f} runs)",
            runs,
            v["scheduler_invocation"],
            scale=1,
            unit="run",
        ),
        _line("Knowledge-base sync: Lambda requests", runs, v["lambda_request"], scale=1, unit="request"),
        _line(
            "Knowledge-base sync: Lambda duration",
            runs * KB_SYNC_IDLE_GB_SECONDS,
            v["lambda_gb_second_x86"],
            scale=1,
            unit="GB-second",
        ),
        _line("Knowledge-base sync: S3 LIST of kb/docs/", runs, v["s3_put_request"], scale=1, unit="request"),
        _line(
            "Knowledge-base sync: S3 HEAD of the index", runs, v["s3_get_request"], scale=1, unit="request"
        ),
    ]


def estimate(
    usages: Iterable[TicketUsage],
    stack: StackFacts,
    prices: PriceTable,
    *,
    tickets_per_day: int = 1000,
    mail: MailUsage | None = None,
    usage_source: str = "",
    etl_run_minutes: float = DEFAULT_ETL_RUN_MINUTES,
    redshift_base_rpu: int = DEFAULT_REDSHIFT_BASE_RPU,
) -> CostEstimate:
    """Cost per 1,000 tickets by line item and a month at `tickets_per_day`."""
    avg, n = average_usage(usages)
    notes = []
    if stack.state_machine_type != "STANDARD":
        notes.append(
            "Express workflow: its duration is modeled from the measured function time (at the smallest task "
            f"function's memory, an upper bound) plus {EXPRESS_STATE_OVERHEAD_S:g} s per state entered"
        )
    if stack.lambda_architecture != "x86_64":
        notes.append("arm64 functions: GB-seconds priced at the x86_64 rate (an upper bound)")
    if stack.incident_second_opinion:
        notes.append(
            "incident second opinion: modeled from the calibration replay (bench/incident_judge.py), not "
            "measured; usage measured on AWS already holds its tokens in the reply model's lines, so there it "
            "is counted twice (an upper bound)"
        )
    if avg.get("comprehend_pii_units", 0) > 0:
        longest = comprehend_units("x" * (SUBJECT_MAX + 2 + DESCRIPTION_MAX))
        notes.append(
            "PII detection reads subject + the whole description (everything the model and the warehouse "
            f"get): {avg['comprehend_pii_units']:g} units a ticket on average, one per 100 characters, so the "
            f"longest ticket costs {longest} units (${longest * prices.variable['comprehend_unit'].unit_usd:.3f}) "
            "where a short one costs the 3-unit minimum"
        )
    return CostEstimate(
        tickets_measured=n,
        tickets_per_day=tickets_per_day,
        model_id=stack.model_id,
        variable=variable_lines(avg, prices, stack, mail=mail),
        fixed=fixed_lines(
            stack, prices, etl_run_minutes=etl_run_minutes, redshift_base_rpu=redshift_base_rpu
        ),
        price_table_as_of=prices.as_of,
        region=prices.region,
        stack=stack,
        usage_source=usage_source,
        notes=notes,
    )


def render(est: CostEstimate) -> str:
    """The table `tms cost` prints."""
    width = max(len(line.item) for line in [*est.variable, *est.fixed])
    out = [
        f"Cost per 1,000 tickets ({est.region} on-demand prices of {est.price_table_as_of}; usage measured on "
        f"{est.tickets_measured} tickets from {est.usage_source}; reply model {est.model_id})",
        "",
        f"{'line item':<{width}}  {'per ticket':>12}  unit{'':<20}  {'USD / 1,000':>11}",
    ]
    for line in est.variable:
        out.append(f"{line.item:<{width}}  {line.quantity:>12.4g}  {line.unit[:24]:<24}  {line.usd:>11.4f}")
    triage = est.triage_usd_per_1000
    verdict = "within" if triage <= GOAL_USD_PER_1000 else "OVER"
    budgeted = sum(FEATURE_BUDGET_USD_PER_1000.values())
    planned = triage + budgeted
    followup_budget = sum(FOLLOWUP_BUDGET_USD_PER_1000.values())
    out += [
        f"{'variable cost per 1,000 tickets':<{width}}  {'':>12}  {'':<24}  {est.variable_usd_per_1000:>11.4f}",
        f"{'  of which triage and answer (the goal)':<{width}}  {'':>12}  {'':<24}  {triage:>11.4f}"
        f"  ({verdict} ${GOAL_USD_PER_1000:.2f}: ${GOAL_USD_PER_1000 - triage:+.4f} left)",
        f"{'  of which follow-up mail (nudge, rating)':<{width}}  {'':>12}  {'':<24}  "
        f"{est.followup_usd_per_1000:>11.4f}  (budget ${followup_budget:.2f}, outside the goal)",
        f"{'triage + budgeted features (docs/cost.md)':<{width}}  {'':>12}  {'':<24}  {planned:>11.4f}"
        f"  ({'within' if planned <= GOAL_USD_PER_1000 else 'OVER'} the goal)",
        "",
        f"{'fixed part':<{width}}  {'per month':>12}  unit{'':<20}  {'USD / month':>11}",
    ]
    for line in est.fixed:
        out.append(f"{line.item:<{width}}  {line.quantity:>12.4g}  {line.unit[:24]:<24}  {line.usd:>11.2f}")
    out += [
        f"{'fixed cost per month':<{width}}  {'':>12}  {'':<24}  {est.fixed_usd_per_month:>11.2f}",
        "",
        f"A month at {est.tickets_per_day:,} tickets a day: ${est.monthly_usd:,.2f} "
        f"(variable ${est.variable_usd_per_1000 * est.tickets_per_day * DAYS_PER_MONTH / 1000:,.2f} "
        f"+ fixed ${est.fixed_usd_per_month:,.2f})",
    ]
    out += [f"note: {n}" for n in est.notes]
    return "\n".join(out)


# --- Where usage and the stack come from -------------------------------------------------------------------


def warehouse_usages(warehouse: Any) -> tuple[list[TicketUsage], MailUsage]:
    """Every loaded ticket's usage, and its mail (replies sent, customer mails received: ticket_lifecycle)."""
    columns = [f"usage_{name}" for name in TicketUsage.model_fields]
    query = f"SELECT {', '.join(columns)} FROM tickets WHERE usage_state_transitions > 0"  # noqa: S608
    _, rows = warehouse.query(query)  # the column names come from the model, nothing from input
    usages = [
        TicketUsage(**{name: (value or 0) for name, value in zip(TicketUsage.model_fields, row, strict=True)})
        for row in rows
    ]
    _, counts = warehouse.query(
        "SELECT COUNT(sent_at), COUNT(customer_replied_at), COUNT(nudged_at), "
        "SUM(CASE WHEN status IN ('RESOLVED', 'CLOSED') THEN 1 ELSE 0 END) FROM ticket_lifecycle"
    )
    # Every ended ticket is asked its rating question once (the warehouse keeps no ask time: the end is it).
    sent, received, nudged, ended = (int(c or 0) for c in counts[0]) if counts else (0, 0, 0, 0)
    return usages, MailUsage.measured(
        tickets=len(rows), sent=sent, received=received, nudged=nudged, asked=ended
    )


def item_usages(items: Iterable[Mapping[str, Any]]) -> tuple[list[TicketUsage], MailUsage]:
    """The usage on each ticket item of the tickets table (DynamoDB JSON deserialized), and its mail."""
    usages: list[TicketUsage] = []
    sent = received = nudged = asked = 0
    for item in items:
        if not any(k.startswith("usage_") for k in item):
            continue  # an incident's item, or a ticket triaged before usage was recorded
        sent += 1 if item.get("sent_at") else 0
        received += 1 if item.get("customer_replied_at") else 0
        nudged += 1 if item.get("nudged_at") else 0
        asked += 1 if item.get("csat_asked_at") else 0
        fields = {name: item.get(f"usage_{name}", 0) for name in TicketUsage.model_fields}
        usages.append(
            TicketUsage(**{k: (float(v) if k == "lambda_gb_seconds" else int(v)) for k, v in fields.items()})
        )
    return usages, MailUsage.measured(
        tickets=len(usages), sent=sent, received=received, nudged=nudged, asked=asked
    )


def read_template(path: Path) -> tuple[dict[str, Any], str]:
    """A synthesized template given explicitly (`--template`)."""
    try:
        return json.loads(Path(path).read_text()), str(path)
    except (OSError, json.JSONDecodeError) as e:
        raise TmsError(f"cannot read the template {path}: {e}") from e


@cache
def synthesized_template() -> tuple[dict[str, Any], str]:
    """The template of a synth of cdk.json and the environment, once per process (~4 s). Never a cdk.out
    left in the checkout: that one may be stale (an older config, another branch), and two commands reading
    different templates priced the same tickets differently (issue 28.3)."""
    import os
    import tempfile

    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from infra.app import build_app

    outdir = tempfile.mkdtemp(prefix="tms-cost-synth-")
    app, stack = build_app(outdir=outdir, environ={})
    assembly = app.synth()
    artifact = assembly.get_stack_by_name(stack.stack_name)
    template_path = Path(assembly.directory) / artifact.template_file
    return json.loads(template_path.read_text()), "a synth of cdk.json"


def load_template(path: Path | None) -> tuple[dict[str, Any], str]:
    """The synthesized template: `path` when given, else a synth of cdk.json (cached per process)."""
    return read_template(path) if path is not None else synthesized_template()


def deployed_stack(template: Path | None = None, *, model_id: str | None = None) -> StackFacts:
    """What the stack deploys, for both `tms cost` and `tms report`: counted from `template` when given, else
    from a synth of cdk.json; the reply model is the configured one unless `model_id` prices another."""
    import os

    from infra.config import load_config, read_cdk_json_context

    config = load_config(read_cdk_json_context(), os.environ)
    document, source = load_template(template)
    return stack_facts(
        document,
        model_id=model_id or config.model_id,
        schedule_minutes=config.schedule_minutes,
        source=source,
    )


def warehouse_estimate(
    warehouse: Any,
    *,
    template: Path | None = None,
    model_id: str | None = None,
    tickets_per_day: int = 1000,
    prices: PriceTable | None = None,
) -> CostEstimate:
    """The one computation behind `tms cost --from warehouse` and the report's cost section: the warehouse's
    usage and mail, priced on the stack `deployed_stack` counts. NoUsageError without measured tickets."""
    usages, mail = warehouse_usages(warehouse)
    return estimate(
        usages,
        deployed_stack(template, model_id=model_id),
        prices or load_prices(),
        tickets_per_day=tickets_per_day,
        mail=mail,
        usage_source=f"the warehouse {warehouse.url}",
    )
