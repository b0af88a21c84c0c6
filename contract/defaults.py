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

# --- Incident linking (docs/incidents.md) ---------------------------------------------------------------
# Calibrated with bench/incidents.py on the offline model (pairwise F1 0.93 at 0.76).
INCIDENT_THRESHOLD: Final = 0.76
# Similarity lost per hour between two reports: at 0.05/h a report still links to one up to ~5 h older.
INCIDENT_DECAY_PER_HOUR: Final = 0.05
INCIDENT_WINDOW_HOURS: Final = 48  # open tickets compared

# --- Knowledge base (docs/knowledge-base.md, issue 30) ----------------------------------------------------
# A passage is at most this many characters (headings and paragraphs are kept whole below it): MiniLM reads
# 256 tokens (~1,000 characters), and a short passage keeps one question's answer from being diluted.
KB_PASSAGE_MAX_CHARS: Final = 700
# Where the draft step finds the knowledge base (TMS_KB_PROVIDER): none until the AWS side of issue 30 lands;
# the local stack sets "s3".
KB_PROVIDER: Final = "none"
KB_TOP_K: Final = 3  # documents retrieved per ticket and quoted to the reply model
# The minimum cosine score of the best document for a draft to use sources, per embedding model id: a change
# of embedder is a change of this table. Offline: calibrated with bench/kb.py on the calibration half only.
# Titan: a conservative default until `tms eval` calibrates it on the team's own tickets (docs/knowledge-base.md).
KB_THRESHOLDS: Final = {
    OFFLINE_EMBEDDING_MODEL_ID: 0.60,
    BEDROCK_EMBEDDING_MODEL_ID: 0.45,
}

# --- SLAs (docs/sla.md) ---------------------------------------------------------------------------------
# First-response targets per priority, as the durations people write ("45s", "30m", "8h", "1d").
SLA_TARGETS: Final = {"HIGH": "1h", "MEDIUM": "8h", "NORMAL": "24h"}
SLA_WARN_FRACTION: Final = 0.8  # agents are warned at this share of the target

# --- Retention (docs/customer-data.md "Erasure and retention"; cdk.json `retention` overrides each) -----------
# Days each store keeps a ticket's data: `tickets` the DynamoDB item after triage (its TTL attribute), `archive`
# the S3 records (tickets/, originals/, lifecycle/), `inbound_mail` customers' raw mail and held mail,
# `warehouse` the warehouse rows (by processing / change time). Two years: a support history long enough for
# a reopened case and a year-on-year report, short enough to be a limit.
RETENTION_DAYS: Final = {"tickets": 730, "archive": 730, "inbound_mail": 90, "warehouse": 730}

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
