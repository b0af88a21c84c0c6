"""Every default of tms, defined once: the runtime settings, the CDK config and the tools read them here.

A value written here is what a deployment gets when cdk.json (or the environment, locally) does not say
otherwise. A second literal copy elsewhere is a trap (editing one changes nothing that deploys), so
tests/contract/test_defaults_once.py fails when one appears.
"""

from __future__ import annotations

from typing import Final

# --- Reply model ---------------------------------------------------------------------------------------
# Amazon Nova Lite through the US cross-region inference profile: forced tool use (structured output),
# and its tokens cost a tenth of Claude 3.5 Haiku's (docs/cost.md: the model is most of a ticket's cost).
BEDROCK_MODEL_ID: Final = "us.amazon.nova-lite-v1:0"

# --- Drafted replies ------------------------------------------------------------------------------------
# Domains a draft may link to unflagged (besides the domain of the reply-from address, which is always
# allowed): AWS's documentation, where the steps of a support reply point. Anything else, and any phone
# number, is listed in a warning on the ticket's Slack post before an agent can approve (contract/drafts.py).
DRAFT_LINK_DOMAINS: Final = ("docs.aws.amazon.com",)

# --- Embeddings (incidents) -----------------------------------------------------------------------------
BEDROCK_EMBEDDING_MODEL_ID: Final = "amazon.titan-embed-text-v2:0"
# Titan V2 accepts 256, 512 or 1024 dimensions; 512 keeps ~99% of the 1024-d retrieval quality (AWS's
# own figure) at half the stored bytes.
BEDROCK_EMBEDDING_DIMENSIONS: Final = 512
OFFLINE_EMBEDDING_MODEL_ID: Final = "offline:all-MiniLM-L6-v2"
OFFLINE_EMBEDDING_DIMENSIONS: Final = 384

# --- Incident linking (docs/incidents.md, docs/decisions/0019-embedder.md) ------------------------------
# The link score is a logistic model over a few features of a (new ticket, candidate incident or lone ticket)
# pair (pipeline/domain/incident_signals.py FEATURES). Weights and thresholds are PER EMBEDDING MODEL: the
# models' cosines are on different scales. The offline model's were fitted by bench/incidents.py on the
# calibration half of the hand-written set (bench/data/incidents, never on its test half).
# The link model's weights fitted on the hand-written calibration half with the offline embedder
# (bench/incidents.py; Titan's entry borrows them until it is calibrated).
_OFFLINE_LINK_WEIGHTS: Final = {
    "cosine": 2.077,
    "cosine_top3": 2.003,
    "same_product": 0.923,
    "same_issue_type": 0.367,
    "log_minutes": -0.436,
    "within_hour": 0.572,
    "burst_cosine": 2.348,
    "burst_top3": 2.27,
    "shared_codes": 0.063,
    "shared_status": 1.318,
    "shared_region": 2.392,
    "region_conflict": -1.653,
    "shared_symptom": 0.345,
    "symptom_conflict": -0.324,
    "log_reporters": 0.399,
}
# The second opinion's band (INCIDENT_JUDGE below) starts here: a best candidate scored in [this, threshold) is
# judged. bench/incident_judge.py on both calibration batches: 262 calls per 1,000 tickets, and with an ideal
# judge recall 0.68 -> 0.95 at precision 0.98 on the first (docs/measurements/2026-12-07f-incident-second-opinion.md).
INCIDENT_JUDGE_LOWER: Final = 0.3
INCIDENT_LINK_MODELS: Final = {
    # Fitted with bench/incidents.py: weights on the whole calibration half, thresholds (join an incident,
    # open one with a lone ticket, merge a second group: None = never) by 5-fold cross-validation inside it.
    # Merging is built (pipeline/domain/incidents.py decide_link, the incident store) but off: on the
    # calibration half it only ever merged strangers (docs/measurements/2026-12-07b-incident-grouping.md).
    OFFLINE_EMBEDDING_MODEL_ID: {
        "weights": _OFFLINE_LINK_WEIGHTS,
        "bias": -8.135,
        "threshold": 0.75,
        "open_threshold": 0.6,
        "merge_threshold": None,
        "judge_lower": INCIDENT_JUDGE_LOWER,
    },
    # Titan V2: not fitted (no labelled Titan vectors offline). Conservative: the offline weights with higher
    # thresholds, so it links less rather than merging strangers. Calibrate on your own labelled tickets
    # with `tms eval --incidents` (docs/incidents.md "Calibrating on AWS") and replace this entry.
    BEDROCK_EMBEDDING_MODEL_ID: {
        "weights": _OFFLINE_LINK_WEIGHTS,
        "bias": -8.135,
        "threshold": 0.9,
        "open_threshold": 0.9,
        "merge_threshold": None,
        "judge_lower": INCIDENT_JUDGE_LOWER,
    },
}
# The second opinion on a borderline link (issue 29.2; docs/incidents.md "Second opinion"): "reply-model"
# asks the reply model whether the new report and the best candidate's reports are one problem, when the
# link score falls in the model's [judge_lower, threshold); "off" never asks. Off here (the local default
# reply model is offline and cannot judge); CDK turns it on (cdk.json `incident_second_opinion`).
INCIDENT_JUDGE: Final = "off"
INCIDENT_JUDGE_MEMBERS: Final = 3  # the candidate's reports shown to the judge (its nearest ones)
# The redacted text stored beside a ticket's vector for the judge to read: product, issue type, subject and
# the opening of the description (the judge needs the problem, not a pasted log).
INCIDENT_TEXT_MAX_CHARS: Final = 1200
# `tms demo` and `tms chaos` reconcile the grouping they observe with the generator's truth and flag
# pairwise precision or recall below these (a quality figure: it never fails their loss checks). A tripwire
# for regressions, under what was measured: replays of chaos's load (500 tickets, 5 bursts in 40 minutes)
# gave precision 0.65-0.75 and recall 0.88-1.00 over seeds 7-9 (0.64-0.67 / 0.90-1.00 with the group scoring); live 60-ticket chaos runs 1.00 / 0.33 and 1.00 / 0.92
# (reports of a burst processed at the same instant do not see each other).
INCIDENT_RECONCILE_TOLERANCE: Final = {"precision": 0.6, "recall": 0.3}
INCIDENT_CANDIDATES: Final = 24  # nearest open tickets (by time-decayed cosine) scored per new ticket
# Candidate search: cosine lost per hour between two reports (the link score weighs minutes on its own).
INCIDENT_DECAY_PER_HOUR: Final = 0.05
INCIDENT_WINDOW_HOURS: Final = 48  # open tickets compared

# --- Knowledge base (docs/knowledge-base.md, issue 30) ----------------------------------------------------
# A passage is at most this many characters (headings and paragraphs are kept whole below it): MiniLM reads
# 256 tokens (~1,000 characters), and a short passage keeps one question's answer from being diluted.
KB_PASSAGE_MAX_CHARS: Final = 700
# Where the draft step finds the knowledge base (TMS_KB_PROVIDER): "s3" (kb/index.json in the stack bucket; an
# absent index grounds nothing) or "none". The local stack sets "s3"; CDK sets it from the `knowledge_base`
# switch (infra/config.py, on by default: docs/decisions/0020-knowledge-base-store.md).
KB_PROVIDER: Final = "none"
# A warm draft function checks the index's ETag (one S3 HEAD) at most this often and re-reads the index only
# when it changed: an ingest reaches drafts within this many seconds, and a busy function makes at most one
# HEAD a minute instead of one per ticket.
KB_REFRESH_SECONDS: Final = 60
KB_TOP_K: Final = 3  # documents retrieved per ticket and quoted to the reply model
# A precedent (issue 30.2) quotes at most this many characters of the customer's (redacted) description, so
# that the question and the start of the agent's reply share the precedent's first passage.
KB_PRECEDENT_QUESTION_CHARS: Final = 300
# kb/index.json is one object that several writers change (the lifecycle function's precedents, `tms kb
# ingest/remove`, erasure): each write is conditional on the ETag it read (S3 If-Match, If-None-Match='*' for a
# first index). On 412 the writer re-reads and re-applies its own change, at most this many times in all; a
# writer that still loses raises KnowledgeBaseConflictError (the stream retries the record).
KB_WRITE_ATTEMPTS: Final = 5
# The kb-sync function (issue 30.1) looks at kb/docs/ of the stack bucket this often (an EventBridge Scheduler
# rate on AWS, the local runtime's timer locally): a document put, changed or deleted there reaches drafts
# within this interval + KB_REFRESH_SECONDS. Each run is one LIST request per 1,000 objects and a HEAD of the
# index; GETs and embeddings only for what changed.
KB_SYNC_INTERVAL_MINUTES: Final = 5
# At most this many new or changed documents a run reads and embeds; the rest wait for the next run, so a first
# sync of a large folder never nears the function's timeout (Titan embeds one text a call: ~20 calls for a
# document of 4 passages with their sentences, ~2-4 s; 15 documents stay well inside KB_SYNC_TIMEOUT_SECONDS).
# The demo's 70 articles take 5 runs (25 minutes) to arrive the first time.
KB_SYNC_MAX_DOCUMENTS: Final = 15
# The function's timeout: under the interval, so one run ends before the next one starts.
KB_SYNC_TIMEOUT_SECONDS: Final = 120
# A file under kb/docs/ larger than this is skipped with its reason, never read: a help-centre article is a few
# KB (the demo's largest is 6 KB), and a stray export or dump must not fill the function's memory on every run.
KB_DOCUMENT_MAX_BYTES: Final = 1_000_000
# The relevance gate: whether the best retrieved document answers the ticket, so that the draft uses sources.
# A linear rule per embedding model id (a change of embedder is a change of this table): the draft is
# grounded when bias + the sum of weight x feature >= 0 (pipeline/domain/grounding.relevance). Features:
#   top_score      cosine of the best document's best passage
#   best_sentence  the best cosine of one of that document's sentences
#   coverage       share of the query terms' IDF that the document contains (0-1)
#   rare_terms     log(1 + query terms in the best passage found in at most KB_RARE_TERM_SHARE of passages)
# Offline: the top cosine at 0.60 (the lowest that kept >= 90 % of the calibration half's unanswerable tickets
# without sources). A fitted rule on the other features (`bench/kb.py --split calibration --fit`: bias -4.3,
# best_sentence 5.17, coverage 2.03, rare_terms 2.12) grounded 73 % of the test half's answerable tickets
# instead of 50 %, but left only 65 % of its unanswerable ones without sources (target 90 %), so it is not
# the default (docs/measurements/2026-12-07b-kb.md). Titan: the cosine at 0.45, a conservative placeholder
# until `tms eval --kb-truth` calibrates it on your tickets (docs/knowledge-base.md).
KB_RELEVANCE_GATES: Final[dict[str, dict[str, float]]] = {
    OFFLINE_EMBEDDING_MODEL_ID: {"bias": -0.60, "top_score": 1.0},
    BEDROCK_EMBEDDING_MODEL_ID: {"bias": -0.45, "top_score": 1.0},
}
# A term in at most this share of the passages (at least one) is rare: 2 % of the demo's 272 passages is 5.
KB_RARE_TERM_SHARE: Final = 0.02
# Which sentences a grounded offline draft uses as steps (local/offline_reply.py): each sentence of the quoted
# documents scores its cosine to the ticket + these weights x its share of the ticket's term IDF and x its
# document's score (so the best document's sentences lead). Chosen on the calibration half.
KB_STEP_LEXICAL_WEIGHT: Final = 2.0
KB_STEP_DOCUMENT_WEIGHT: Final = 1.0

# --- Measured acceptance (issue 30.5; docs/knowledge-base.md "Measured acceptance") ----------------------
# A sent reply whose word-level edit distance from the draft (0 = sent as drafted, 1 = nothing kept) is
# above 0 and below this counts as "lightly edited"; at or above it, "rewritten".
ACCEPTANCE_LIGHT_EDIT_MAX: Final = 0.40

# --- SLAs (docs/sla.md) ---------------------------------------------------------------------------------
# First-response targets per priority, as the durations people write ("45s", "30m", "8h", "1d").
SLA_TARGETS: Final = {"HIGH": "1h", "MEDIUM": "8h", "NORMAL": "24h"}
SLA_WARN_FRACTION: Final = 0.8  # agents are warned at this share of the target
# Routing (issue 32): an auto-assigned ticket without a first response by this share of its SLA target goes,
# once, to the next on-call agent.
ROUTING_REASSIGN_FRACTION: Final = 0.5

# --- Retention (docs/customer-data.md "Erasure and retention"; cdk.json `retention` overrides each) -----------
# Days each store keeps a ticket's data: `tickets` the DynamoDB item after triage (its TTL attribute), `archive`
# the S3 records (tickets/, originals/, lifecycle/), `inbound_mail` customers' raw mail and held mail,
# `warehouse` the warehouse rows (by processing / change time). Two years: a support history long enough for
# a reopened case and a year-on-year report, short enough to be a limit.
RETENTION_DAYS: Final = {"tickets": 730, "archive": 730, "inbound_mail": 90, "warehouse": 730}
# When Redshift deletes the warehouse rows past `warehouse` (an EventBridge Scheduler expression, UTC): once a
# day at a quiet hour; rows are a day late at most, against a retention counted in years.
WAREHOUSE_RETENTION_SCHEDULE: Final = "cron(30 3 * * ? *)"

# --- Tickets from customer channels (issue 31, docs/ticketing-rule.md) ----------------------------------
# How readily a top-level customer message becomes a ticket: "lenient", "balanced" or "strict"
# (bot/logic/ticketing_rule.py holds the threshold of each). Balanced is the setting tuned for precision
# >= 0.95 at recall >= 0.9 (bench/ticketing_rule.py).
TICKETING_STRICTNESS: Final = "balanced"
# A DM to the bot within this many hours of the sender's last DM joins their open DM ticket (a follow-up, a
# "thanks"); later, or once that ticket is resolved, it opens a new one (docs/slack-intake.md).
SLACK_DM_WINDOW_HOURS: Final = 24

# --- Customer answers (docs/customer-mail.md, docs/slack-intake.md) ----------------------------------------------
# An answer to a RESOLVED ticket within this many days reopens it; later, it opens a new linked ticket.
REOPEN_WINDOW_DAYS: Final = 14

# --- The local stack (docs/local-runtime.md "What survives a restart") ----------------------------------------
# Background snapshots of a durable `tms local up`, at most this often while something changes; every
# data-store write between two snapshots is in the journal, so the interval bounds the replay at restart.
LOCAL_SNAPSHOT_INTERVAL_S: Final = 2.0

# --- The product catalog --------------------------------------------------------------------------------
# Products and issue types of the /ticket form and the generator: data, read by contract/catalog.py only.
CATALOG_RESOURCE: Final = "data/catalog.json"  # inside the contract package

# --- Limits on new tickets (issue 27.5): every intake path ------------------------------------------------
# New tickets per hour from one customer address and from one domain; freemail domains are exempt from the
# domain limit (one Gmail user must not throttle every Gmail customer).
TICKETS_PER_SENDER_HOUR: Final = 5
TICKETS_PER_DOMAIN_HOUR: Final = 50
FREEMAIL_DOMAINS: Final = frozenset(
    {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
        "yahoo.com", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com",
        "proton.me", "protonmail.com", "pm.me", "gmx.com", "gmx.net", "gmx.de", "gmx.at", "gmx.ch",
        "web.de", "mail.com", "zoho.com", "yandex.com", "yandex.ru", "fastmail.com",
    }
)  # fmt: skip
# Sources the trigger does not count: mail is counted at its own door (the inbound-mail function, which
# joins or holds what is over), and `generator` is tms's own load tool (demo, chaos, bench).
LIMIT_EXEMPT_SOURCES: Final = ("email", "generator")

# --- Auto-close and customer satisfaction (issue 32; docs/autoclose-csat.md) ------------------------------
# A ticket whose reply was sent and that waits on the customer is nudged (one polite mail) after half of
# this and closed after all of it. Thena nudges at 15 days and closes at 30; a week suits mail support.
AUTOCLOSE_AFTER: Final = "7d"
# How long the rating link in the satisfaction mail stays valid (one answer per ticket, whatever its age).
CSAT_LINK_VALID: Final = "14d"
# The share of satisfied answers (4-5 of 5, or thumbs up) `tms report` draws as a line: Zendesk's published
# benchmark for email and web support.
CSAT_BENCHMARK: Final = 0.85
# The rating page's throttles (API Gateway stage: requests per second and burst, for everyone together; WAF:
# requests per client IP per 5 minutes). A customer needs two requests; an office behind one NAT a few dozen.
CSAT_API_RATE_PER_SECOND: Final = 10
CSAT_API_BURST: Final = 20
CSAT_REQUESTS_PER_IP_5MIN: Final = 100
