"""Names shared by CDK, the runtime and the tests: environment variables, resource names, paths.

Nothing here imports runtime code; the runtime imports this module.
"""

from __future__ import annotations

from pathlib import Path

PROJECT = "tms"

# --- Environment variables set on the Lambdas (by CDK) and by the local runtime ---------------------------
ENV_TABLE_NAME = "TMS_TABLE_NAME"
ENV_BUCKET_NAME = "TMS_BUCKET_NAME"
# On AWS customers' answers land in their own bucket (SES receipt rule); locally in the one bucket.
ENV_INBOUND_BUCKET_NAME = "TMS_INBOUND_BUCKET_NAME"
ENV_TOPIC_ARN = "TMS_TOPIC_ARN"  # tickets topic
ENV_ALARMS_TOPIC_ARN = "TMS_ALARMS_TOPIC_ARN"
ENV_STATE_MACHINE_ARN = "TMS_STATE_MACHINE_ARN"
ENV_STREAM_NAME = "TMS_STREAM_NAME"
ENV_DLQ_URL = "TMS_DLQ_URL"
# New tickets per hour from one customer address / one domain, the one limit on every way in: the trigger
# counts /ticket, API producers and Slack, the inbound mail function counts mail at its own door (cdk.json
# tickets_per_sender_hour / tickets_per_domain_hour); sources the trigger does not count (comma-separated).
ENV_TICKETS_PER_SENDER = "TMS_TICKETS_PER_SENDER_HOUR"
ENV_TICKETS_PER_DOMAIN = "TMS_TICKETS_PER_DOMAIN_HOUR"
ENV_LIMIT_EXEMPT_SOURCES = "TMS_LIMIT_EXEMPT_SOURCES"
LIMIT_KEY_PREFIX = "LIMIT#"  # tickets-table items holding the new-ticket limit counters

# Reply model selection: "bedrock", "openai" (any OpenAI-compatible URL, e.g. Ollama) or "offline".
ENV_LLM_PROVIDER = "TMS_LLM_PROVIDER"
ENV_MODEL_ID = "TMS_MODEL_ID"
ENV_LLM_BASE_URL = "TMS_LLM_BASE_URL"
ENV_LLM_API_KEY = "TMS_LLM_API_KEY"  # local OpenAI-compatible servers only; on AWS Bedrock uses IAM
ENV_LLM_MAX_TOKENS = "TMS_LLM_MAX_TOKENS"
ENV_LLM_TEMPERATURE = "TMS_LLM_TEMPERATURE"

# Embeddings (incidents): "bedrock" (Titan Text Embeddings V2) or "offline" (MiniLM shipped in a wheel).
ENV_EMBEDDING_PROVIDER = "TMS_EMBEDDING_PROVIDER"
# Where the draft step finds the knowledge base: "none" (drafts are not grounded) or "s3" (kb/index.json in
# TMS_BUCKET_NAME, pipeline/adapters/knowledge_store.py; the local stack sets it). Default: contract/defaults.
ENV_KB_PROVIDER = "TMS_KB_PROVIDER"
ENV_KB_REFRESH_SECONDS = (
    "TMS_KB_REFRESH_SECONDS"  # the ETag check interval (contract/defaults.KB_REFRESH_SECONDS)
)
# A knowledge-base document without its own url/canonical link is linked at this https:// base + its file name
# (`tms kb ingest` unless --base-url; the sync function of kb/docs/).
ENV_KB_BASE_URL = "TMS_KB_BASE_URL"
# At most this many changed documents a kb-sync run reads and embeds (contract/defaults.KB_SYNC_MAX_DOCUMENTS).
ENV_KB_SYNC_MAX_DOCUMENTS = "TMS_KB_SYNC_MAX_DOCUMENTS"
ENV_EMBEDDING_MODEL_ID = "TMS_EMBEDDING_MODEL_ID"
ENV_EMBEDDING_DIMENSIONS = "TMS_EMBEDDING_DIMENSIONS"
# Incident detection: cosine-similarity threshold and the window of open tickets compared (hours).
ENV_INCIDENT_THRESHOLD = "TMS_INCIDENT_THRESHOLD"
ENV_INCIDENT_WINDOW_HOURS = "TMS_INCIDENT_WINDOW_HOURS"
ENV_INCIDENT_DECAY = "TMS_INCIDENT_DECAY_PER_HOUR"
ENV_INCIDENT_JUDGE = "TMS_INCIDENT_JUDGE"

# Fault injection into the local adapters, e.g. "llm_throttle:0.3,sentiment_error:0.05".
ENV_FAULTS = "TMS_FAULTS"
ENV_FAULTS_SEED = "TMS_FAULTS_SEED"
# Local runtime only: the ASL's Retry waits, scaled (1 = as declared; tests use less). The ASL is unchanged.
ENV_LOCAL_RETRY_WAIT_SCALE = "TMS_LOCAL_RETRY_WAIT_SCALE"
# Local runtime only: "off" leaves out the moto patches that only make the endpoint faster (local/moto/speed.py).
ENV_LOCAL_SPEED_PATCHES = "TMS_LOCAL_SPEED_PATCHES"
# Local runtime only: seconds between background snapshots of a durable `tms local up` (local/durable.py).
ENV_LOCAL_SNAPSHOT_INTERVAL = "TMS_LOCAL_SNAPSHOT_INTERVAL"
# Local runtime only: append every AWS call made on a principal's behalf to this JSON Lines file (unset: off).
ENV_IAM_RECORD = "TMS_IAM_RECORD"
# Local ETL only: more options for the local Spark driver's JVM, e.g. "-XX:TieredStopAtLevel=1" (tools/analytics/
# spark.py; the test suite sets that one). Unset: the JVM's defaults.
ENV_SPARK_JAVA_OPTIONS = "TMS_SPARK_JAVA_OPTIONS"

# Where `tms local up` writes the running stack's description, so other commands find it.
ENV_STATE_DIR = "TMS_STATE_DIR"

# Slack
ENV_SLACK_SIGNING_SECRET = "SLACK_SIGNING_SECRET"
ENV_SLACK_BOT_TOKEN = "SLACK_BOT_TOKEN"
ENV_SLACK_APP_TOKEN = "SLACK_APP_TOKEN"
# The bot user (U...) and bot (B...) ids: the bot knows its identity without calling auth.test.
ENV_SLACK_BOT_USER_ID = "TMS_SLACK_BOT_USER_ID"
ENV_SLACK_BOT_ID = "TMS_SLACK_BOT_ID"
ENV_SLACK_API_URL = "SLACK_API_URL"
ENV_SLACK_CHANNEL = "TMS_SLACK_CHANNEL"
ENV_SLACK_ALERTS_CHANNEL = "TMS_SLACK_ALERTS_CHANNEL"
ENV_SLACK_OUTBOX = "TMS_SLACK_OUTBOX"
# Seconds between posts per channel (Slack allows about one a second); local tests and chaos lower it.
ENV_SLACK_POST_INTERVAL = "TMS_SLACK_POST_INTERVAL_S"
# On AWS: the Secrets Manager secret holding {"bot_token": ..., "signing_secret": ...}.
ENV_SLACK_SECRET_ARN = "TMS_SLACK_SECRET_ARN"
# Who may act (issue 27.1, bot/logic/roles.py): comma-separated Slack user (U…/W…) and user-group (S…) ids.
ENV_AGENTS = "TMS_AGENTS"  # see and work tickets
ENV_APPROVERS = "TMS_APPROVERS"  # may send anything to a customer
ENV_ADMINS = "TMS_ADMINS"  # channel settings, erase
ENV_FOUR_EYES = "TMS_FOUR_EYES"  # "on" (default): a draft's last editor cannot approve it; "off"
FOUR_EYES_VALUES = ("on", "off")
# The one installation the bot serves: requests of another app or workspace/org are refused.
ENV_SLACK_APP_ID = "TMS_SLACK_APP_ID"  # A…
ENV_SLACK_TEAM_ID = "TMS_SLACK_TEAM_ID"  # T… (workspace install) or E… (org-wide install)

# Customer channels (issue 31): how readily a top-level customer message becomes a ticket
# (bot/logic/ticketing_rule.py; default in contract/defaults.py).
ENV_TICKETING_STRICTNESS = "TMS_TICKETING_STRICTNESS"
TICKETING_STRICTNESS_VALUES = ("lenient", "balanced", "strict")
# Watched customer channels: comma-separated channel ids, each optionally `=Company` (the company of its
# customers); `/ticket watch` adds channels at run time (stored under SLACK_WATCH_KEY). On AWS cdk.json
# `customer_channels`.
ENV_CUSTOMER_CHANNELS = "TMS_CUSTOMER_CHANNELS"
# Hours a DM to the bot joins the sender's latest open DM ticket instead of opening a new one.
ENV_SLACK_DM_WINDOW_HOURS = "TMS_SLACK_DM_WINDOW_HOURS"
# Tickets-table items of Slack-born tickets (not ticket ids: the lifecycle feed skips them):
SLACK_MESSAGE_KEY_PREFIX = "SLACKMSG#"  # + channel#ts: the message a ticket came from (the dedupe claim)
SLACK_DM_KEY_PREFIX = "SLACKDM#"  # + user id: the sender's latest DM ticket
SLACK_WATCH_KEY = "SETTINGS#customer_channels"  # channels watched through /ticket watch

# Customer mail (SES v2). Sender identity and reply-to come from cdk.json (`reply_from`, `reply_to`).
ENV_REPLY_FROM = "TMS_REPLY_FROM"
ENV_REPLY_TO = "TMS_REPLY_TO"
ENV_SES_CONFIGURATION_SET = "TMS_SES_CONFIGURATION_SET"
ENV_REOPEN_WINDOW_DAYS = "TMS_REOPEN_WINDOW_DAYS"
# Domains a drafted reply may link to without a warning in its Slack post (comma-separated; a domain also
# allows its subdomains). CDK sets it from cdk.json `draft_link_domains` plus the domain of `reply_from`.
ENV_DRAFT_LINK_DOMAINS = "TMS_DRAFT_LINK_DOMAINS"
# Local only: every outgoing mail is also written as an .eml file here (the local stack sets it).
ENV_MAIL_OUTBOX_DIR = "TMS_MAIL_OUTBOX_DIR"
# Inbound mail trust (issue 27): From domains trusted without DMARC/SPF/DKIM (comma-separated; cdk.json
# mail_trusted_domains), the key signing reply addresses (local: the value; AWS: the secret's ARN).
ENV_MAIL_TRUSTED_DOMAINS = "TMS_MAIL_TRUSTED_DOMAINS"
ENV_MAIL_REPLY_KEY = "TMS_MAIL_REPLY_KEY"
ENV_MAIL_REPLY_KEY_SECRET_ARN = "TMS_MAIL_REPLY_KEY_SECRET_ARN"
# Deprecated: read as TMS_TICKETS_PER_SENDER_HOUR / TMS_TICKETS_PER_DOMAIN_HOUR when those are unset (with a
# warning); the same limit had a second name for mail.
ENV_MAIL_TICKETS_PER_SENDER = "TMS_MAIL_TICKETS_PER_SENDER_HOUR"
ENV_MAIL_TICKETS_PER_DOMAIN = "TMS_MAIL_TICKETS_PER_DOMAIN_HOUR"
TABLE_TTL_ATTR = (
    "expires_at"  # the tickets table's TTL attribute (epoch seconds): rate-limit counters, tickets
)
INBOUND_HELD_PREFIX = "inbound-mail/held/"  # mail held back (over a limit, unverified): one JSON record each
# SLAs (issue 14): first-response targets per priority as durations ("45s", "8h", "1d"), the share of the
# target at which agents are warned, optional business hours ("09:00-17:00", Monday to Friday) in a time zone.
ENV_SLA_PREFIX = "TMS_SLA_"  # + a priority name: TMS_SLA_HIGH, TMS_SLA_MEDIUM, TMS_SLA_NORMAL
ENV_SLA_WARN_FRACTION = "TMS_SLA_WARN_FRACTION"
ENV_SLA_BUSINESS_HOURS = "TMS_SLA_BUSINESS_HOURS"
ENV_SLA_TIMEZONE = "TMS_SLA_TIMEZONE"
# Where the timers live and what they invoke (set by CDK and by the local stack).
ENV_SLA_SCHEDULE_GROUP = "TMS_SLA_SCHEDULE_GROUP"
ENV_SLA_TARGET_ARN = "TMS_SLA_TARGET_ARN"  # the sla-timer function
ENV_SLA_SCHEDULER_ROLE_ARN = "TMS_SLA_SCHEDULER_ROLE_ARN"  # the role EventBridge Scheduler assumes
ENV_SLA_DLQ_ARN = "TMS_SLA_DLQ_ARN"  # dead-letter queue of the schedules' target
ENV_ESCALATION_TOPIC_ARN = "TMS_ESCALATION_TOPIC_ARN"  # SLA breaches, emailed by priority
ENV_SLA_ONCALL_GROUP = "TMS_SLA_ONCALL_GROUP"  # deprecated: read as TMS_ONCALL (with a warning)
# Routing (issue 32): the on-call agents new tickets are assigned to (Slack user ids, a subset of the agents;
# a user group id there is only mentioned), and the share of the SLA after which an unanswered ticket moves.
ENV_ONCALL = "TMS_ONCALL"
ENV_ROUTING_REASSIGN_FRACTION = "TMS_ROUTING_REASSIGN_FRACTION"
ROUTING_KEY_PREFIX = "routing#"  # items of the tickets table holding one on-call agent's load and away flag
ENV_SLA_FUNCTION = (
    "TMS_SLA_FUNCTION"  # the bot tells the sla-timer function about responses and re-prioritisations
)
# Auto-close and satisfaction (issue 32): the waiting period as a duration ("7d", "60s"; default
# contract.defaults.AUTOCLOSE_AFTER, "off" disables), the rating link's validity, the public base URL of the
# rating page (API Gateway on AWS, the local stack's 127.0.0.1 server), and the key signing rating links
# (local: the value; AWS: the secret's ARN).
ENV_AUTOCLOSE_AFTER = "TMS_AUTOCLOSE_AFTER"
ENV_CSAT_LINK_VALID = "TMS_CSAT_LINK_VALID"
ENV_CSAT_BASE_URL = "TMS_CSAT_BASE_URL"
# Issue 30.2: where an agent opens a resolved ticket (https://...; the ticket id is appended); empty: resolved
# tickets do not become precedents (a source shown to agents must have an HTTPS link).
ENV_PRECEDENT_BASE_URL = "TMS_PRECEDENT_BASE_URL"
ENV_CSAT_KEY = "TMS_CSAT_KEY"
ENV_CSAT_KEY_SECRET_ARN = "TMS_CSAT_KEY_SECRET_ARN"
# PII redaction before the reply model and the warehouse: "on" (default) or "off". On AWS the cdk.json
# field pii_redaction sets it; locally this variable (read when the local stack provisions the workflow).
ENV_PII_REDACTION = "TMS_PII_REDACTION"
# KMS key of the objects holding a customer's unredacted text: originals/ (archive) and inputs/ (trigger).
ENV_ORIGINALS_KEY_ID = "TMS_ORIGINALS_KEY_ID"
PII_REDACTION_VALUES = ("on", "off")
# The workflow's type: EXPRESS (default: billed per request and duration, not per state transition) or
# STANDARD. On AWS the cdk.json field workflow_type sets it; locally this variable (read at provisioning).
ENV_WORKFLOW_TYPE = "TMS_WORKFLOW_TYPE"
WORKFLOW_TYPES = ("EXPRESS", "STANDARD")
DEFAULT_WORKFLOW_TYPE = "EXPRESS"

# Erasure (contract/erasure.py): where the erasure function deletes warehouse rows, through the Redshift
# Data API (exactly one of cluster or workgroup), with the loader's secret; unset: no warehouse on this runtime
# (the local stack's warehouse is erased by `tms customer forget` itself).
ENV_REDSHIFT_CLUSTER = "TMS_REDSHIFT_CLUSTER"
ENV_REDSHIFT_WORKGROUP = "TMS_REDSHIFT_WORKGROUP"
ENV_REDSHIFT_DATABASE = "TMS_REDSHIFT_DATABASE"
ENV_REDSHIFT_SCHEMA = "TMS_REDSHIFT_SCHEMA"
ENV_REDSHIFT_TABLE = "TMS_REDSHIFT_TABLE"
ENV_REDSHIFT_SECRET_ARN = "TMS_REDSHIFT_SECRET_ARN"
# Retention (contract/defaults.py RETENTION_DAYS, cdk.json `retention`): days a ticket item lives after it
# was triaged (its TABLE_TTL_ATTR is set from it); the local sweeper reads the others (TMS_RETENTION_<STORE>).
ENV_RETENTION_PREFIX = "TMS_RETENTION_"

# Warehouse (local): DuckDB file by default, PostgreSQL when a URL is given.
ENV_WAREHOUSE_URL = "TMS_WAREHOUSE_URL"

# Powertools
ENV_POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"

# Set on every deployed function. pydantic scans every installed distribution's entry points for plugins
# the first time it builds a validator (each cold start, at the first settings class); we use no pydantic
# plugin, and turning the scan off saves ~15-45 ms of every cold start on this machine (bench/cold_start.py
# runs its children with the same variables).
LAMBDA_RUNTIME_ENV = {"PYDANTIC_DISABLE_PLUGINS": "__all__"}

# The Python of every deployed function (Lambda's managed python3.13, Amazon Linux 2023). CDK's runtime, the
# dependency layer's wheels, the bytecode in both assets, the local stack's function records and the
# Lambda-side test run (`make test`, .venv-lambda) all read it here. The Glue job is not a Lambda: it runs
# Glue 5.0's Python 3.11.
LAMBDA_PYTHON = "3.13"

# --- Resource names (local stack; CDK derives its own from the project name) -----------------------------
STREAM_NAME = f"{PROJECT}-tickets"
TABLE_NAME = f"{PROJECT}-tickets"
BUCKET_NAME = f"{PROJECT}-tickets-archive"
TOPIC_NAME = f"{PROJECT}-tickets"
ALARMS_TOPIC_NAME = f"{PROJECT}-alarms"
DLQ_NAME = f"{PROJECT}-tickets-dlq"
SLA_SCHEDULE_GROUP = f"{PROJECT}-sla"
SLA_DLQ_NAME = f"{PROJECT}-sla-dlq"
# On-failure destination of the tickets table stream -> ticket-lifecycle mapping (DDBStreamBatchInfo records).
LIFECYCLE_DLQ_NAME = f"{PROJECT}-lifecycle-dlq"
# The kb-sync schedule's dead-letter queue and its runs' on-failure destination (issue 30.1).
KB_SYNC_DLQ_NAME = f"{PROJECT}-kb-sync-dlq"
ESCALATION_TOPIC_NAME = f"{PROJECT}-escalations"
# The tickets table's index of owners (`/ticket mine`).
ASSIGNEE_INDEX = "by-assignee"
ASSIGNEE_ATTR = "assignee"
# Every message tms posted for a ticket (root, thread replies, the SLA breach alert), as "<channel> <ts>"
# strings in a string set: what erasure redacts (bot/logic/erasure.py). Added by one atomic ADD per post.
SLACK_POSTS_ATTR = "slack_posts"
# Incidents: ticket vectors on the items, read per submission day through this index (newest last).
EMBEDDING_INDEX = "embedding-window"
EMBEDDING_ATTR = "embedding"  # float16 bytes
INCIDENT_TEXT_ATTR = "incident_text"  # the redacted text the incident judge reads (beside the vector)
EMBEDDING_DAY_ATTR = "embedding_day"  # GSI partition key: the UTC day the ticket was submitted
EMBEDDED_AT_ATTR = "embedded_at"  # GSI sort key: when the vector was written
STATE_MACHINE_NAME = f"{PROJECT}-ticket-pipeline"
SES_CONFIGURATION_SET = f"{PROJECT}-replies"
LOCAL_REPLY_FROM = "support@tms.example.com"  # the local stack's verified SES identity

# Lambda function names (suffixes; CDK prefixes them) and their handler entry points.
FN_TRIGGER = "trigger"
FN_INTAKE_AUDIT = "intake-audit"
FN_DRAFT_REPLY = "draft-reply"
FN_ARCHIVE = "archive"
FN_LINK_INCIDENT = "link-incident"
FN_NOTIFIER = "notifier"
FN_BOT = "bot"
FN_MAILER = "mailer"
FN_INBOUND_MAIL = "inbound-mail"
FN_SLA_TIMER = "sla-timer"
FN_TICKET_LIFECYCLE = "ticket-lifecycle"  # DynamoDB stream -> lifecycle/ records for the warehouse
FN_ERASURE = "erasure"  # `tms customer forget` against a deployed stack invokes it
FN_CSAT = "csat"  # the rating page behind the link in the satisfaction mail (GET form, POST answer)
FN_KB_SYNC = "kb-sync"  # scheduled: the knowledge base follows kb/docs/ of the stack bucket (issue 30.1)

HANDLERS: dict[str, str] = {
    FN_TRIGGER: "pipeline.handlers.trigger.handler",
    FN_INTAKE_AUDIT: "pipeline.handlers.intake_audit.handler",
    FN_DRAFT_REPLY: "pipeline.handlers.draft_reply.handler",
    FN_ARCHIVE: "pipeline.handlers.archive.handler",
    FN_LINK_INCIDENT: "pipeline.handlers.link_incident.handler",
    FN_NOTIFIER: "bot.handlers.notifier.handler",
    FN_BOT: "bot.handler.handler",
    FN_MAILER: "pipeline.handlers.mailer.handler",
    FN_INBOUND_MAIL: "pipeline.handlers.inbound_mail.handler",
    FN_SLA_TIMER: "pipeline.handlers.sla_timer.handler",
    FN_TICKET_LIFECYCLE: "pipeline.handlers.ticket_lifecycle.handler",
    FN_ERASURE: "bot.handlers.erasure.handler",
    FN_CSAT: "pipeline.handlers.csat.handler",
    FN_KB_SYNC: "pipeline.handlers.kb_sync.handler",
}

# Memory (MB) of the functions whose GB-seconds a ticket records (CDK configures them with these numbers;
# the local runtime's Lambda context carries the same): cost per ticket reads them (pipeline/domain/usage.py).
DEFAULT_FUNCTION_MEMORY_MB = 256
FUNCTION_MEMORY_MB: dict[str, int] = {
    # LangChain's import and the model call dominate: more memory buys CPU for cold starts.
    FN_DRAFT_REPLY: 1024,
    FN_ARCHIVE: 256,
    # The window matrix (10k x 512 float32 = 20 MB) and numpy: memory also buys CPU for the scan.
    FN_LINK_INCIDENT: 1024,
}

# --- ASL placeholders: every ${Name} in the state machine file, substituted by CDK and the local runtime --
ASL_TABLE = "TicketsTable"
ASL_TOPIC = "TicketsTopicArn"
ASL_DRAFT_REPLY_FN = "DraftReplyFunctionArn"
ASL_ARCHIVE_FN = "ArchiveFunctionArn"
ASL_SLA_TIMER_FN = "SlaTimerFunctionArn"
ASL_PII_REDACTION = "PiiRedaction"  # "on" | "off"
ASL_LINK_INCIDENT_FN = "LinkIncidentFunctionArn"
ASL_PLACEHOLDERS = (
    ASL_TABLE,
    ASL_TOPIC,
    ASL_DRAFT_REPLY_FN,
    ASL_ARCHIVE_FN,
    ASL_SLA_TIMER_FN,
    ASL_PII_REDACTION,
    ASL_LINK_INCIDENT_FN,
)

# --- Asset paths -----------------------------------------------------------------------------------------
REPO_ROOT = Path(__file__).resolve().parent.parent
ASL_PATH = REPO_ROOT / "pipeline" / "statemachine" / "ticket_pipeline.asl.json"
GLUE_SCRIPT_PATH = REPO_ROOT / "glue" / "job.py"
SQL_DIR = REPO_ROOT / "sql"

# S3 layout
LIFECYCLE_PREFIX = "lifecycle/"  # one JSON line per ticket item change (contract.models.TicketLifecycle)
ARCHIVE_PREFIX = "tickets/"  # the analytics copy (PII redacted): the warehouse load reads this prefix
ORIGINALS_PREFIX = (
    "originals/"  # the full original record, SSE-KMS; nothing but the archive function touches it
)
# Each ticket's workflow input as the trigger started it (SSE-KMS, expires): what `tms retry` re-runs,
# since Express executions cannot be described. Unredacted customer text: never loaded into the warehouse.
KB_PREFIX = "kb/"  # the knowledge base in the stack bucket: kb/index.json (passages and vectors)
KB_INDEX_KEY = KB_PREFIX + "index.json"
# Help-centre documents put here are ingested, re-ingested when changed and removed when deleted by the kb-sync
# function (issue 30.1); their origin is s3://<bucket>/<key>, their link their own or TMS_KB_BASE_URL + name.
KB_DOCS_PREFIX = KB_PREFIX + "docs/"
# Issue 30.2: a resolved ticket's precedent is the knowledge-base document "precedent-<ticket id>"; its
# origin names no customer (the erasure eraser finds precedents by the customer's ticket ids).
KB_PRECEDENT_ID_PREFIX = "precedent-"
INPUTS_PREFIX = "inputs/"
INPUTS_RETENTION_DAYS = 90  # as long as Step Functions Standard kept an execution's input for `tms retry`
QUARANTINE_PREFIX = "quarantine/"
MANIFEST_PREFIX = "manifests/"  # ETL manifest markers by processing time (contract/manifests.py), expire
ETL_STATE_PREFIX = "etl-state/"  # the Glue job's own bookmarks (contract/manifests.py S3BookmarkStore)
GLUE_TEMP_PREFIX = "glue-temp/"
INBOUND_MAIL_PREFIX = "inbound-mail/"  # SES receipt rule S3 action: raw MIME of customers' answers

# SNS message attributes the tickets topic carries (subscriptions filter on these).
ATTR_EVENT_TYPE = "event_type"
ATTR_PRIORITY = "priority"
ATTR_SENTIMENT = "sentiment"
ATTR_TICKET_ID = "ticket_id"
EVENT_TICKET_TRIAGED = "TicketTriaged"
EVENT_TICKET_FAILED = "TicketFailed"
EVENT_TICKET_UPDATED = "TicketUpdated"
EVENT_REPLY_APPROVED = "ReplyApproved"  # the mailer's subscription filters on it
EVENT_TICKET_MAIL = "TicketMail"
EVENT_SLA_WARNING = "SlaWarning"
EVENT_SLA_BREACHED = "SlaBreached"
EVENT_TICKET_REASSIGNED = "TicketReassigned"  # routing moved an unanswered ticket to the next agent

# Ticket item attributes written by one component and read by another (issue 30.5, measured acceptance):
# the bot's first edit keeps the model's draft, the mailer measures the sent reply against it.
ITEM_DRAFTED_REPLY = "drafted_reply"
ITEM_REPLY_EDIT_DISTANCE = "reply_edit_distance"
ITEM_SENT_UNCHANGED = "sent_unchanged"
