"""The offline reply model: the reply policy applied by templates, deterministic per ticket id.

It is not an LLM and says so (`model_id = "offline-policy-v1"`). It exists so the whole pipeline runs
without a model endpoint, fast enough for thousands of tickets. It imports no LangChain (cold start).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from contract import defaults
from contract.errors import LlmThrottledError, LlmUnavailableError
from contract.models import Priority, SentimentLabel, SentimentResult, TicketSubmitted
from local.faults import FaultPlan, active_plan
from pipeline.adapters.llm import estimated_usage
from pipeline.domain.knowledge import ScoredSentence, sentences, terms
from pipeline.domain.policy import ESCALATION, check_reply, decide_priority
from pipeline.domain.triage import TriageDraft

if TYPE_CHECKING:
    from pipeline.domain.grounding import Grounding, Quotation

OFFLINE_MODEL_ID = "offline-policy-v1"

# Issue categories: (keyword stems in the issue type, immediate steps, information to ask for).
_CATEGORIES: tuple[tuple[tuple[str, ...], tuple[str, ...], str], ...] = (
    (
        ("connect", "unreachable", "network", "ssh", "timeout", "dns"),
        (
            "Check that the security group and network ACL allow inbound traffic on the port you use.",
            "Confirm in the console that both instance status checks pass.",
            "Verify that the route table of the subnet still points to the internet or NAT gateway.",
            "Try to connect from another network to rule out a local firewall.",
        ),
        "Could you share the resource ID, the region and the time the problem started?",
    ),
    (
        ("latency", "performance", "slow", "cold start", "timeout", "throughput"),
        (
            "Review the duration and throttling metrics in CloudWatch for the affected period.",
            "Compare the current memory or capacity setting with the load you expect.",
            "Enable detailed monitoring so that we can see where the time is spent.",
            "Check whether the slowdown started after a recent deployment or configuration change.",
        ),
        "Could you tell us the region, the resource name and an example request that was slow?",
    ),
    (
        ("permission", "access", "denied", "iam", "auth", "credential", "policy"),
        (
            "Check the IAM policy of the calling role for an explicit deny on the action.",
            "Review the resource policy and any organization service control policy that applies.",
            "Use the IAM policy simulator to test the exact action and resource.",
            "Confirm that the request is signed by the role you expect, for example with sts get-caller-identity.",
        ),
        "Could you send the full error message, the role ARN and the resource you are accessing?",
    ),
    (
        ("fail", "error", "crash", "job", "etl", "pipeline"),
        (
            "Open the run history and note the first error in the logs of the failed run.",
            "Check whether the input data or its schema changed since the last successful run.",
            "Retry the run with the same parameters to see whether the failure repeats.",
            "Confirm that the service role still has access to the source and target locations.",
        ),
        "Could you share the job or run ID, the region and the exact error message?",
    ),
    (
        ("billing", "invoice", "charge", "cost", "pricing", "payment", "refund"),
        (
            "Open Cost Explorer and group the charges by service and usage type.",
            "Check the Bills page for the line items of the period in question.",
            "Review any Savings Plans or Reserved Instances that apply to the account.",
        ),
        "Could you tell us the account ID and the invoice number you are asking about?",
    ),
    (
        ("security", "breach", "unauthori", "compromis", "leak", "vulnerab"),
        (
            "Rotate the access keys and credentials that may be affected.",
            "Review recent API activity in AWS CloudTrail for unexpected calls.",
            "Restrict public access to the affected resources until the review is complete.",
        ),
        "Could you share when you first noticed the activity and which resources are involved?",
    ),
    (
        ("data", "loss", "lost", "corrupt", "deleted", "backup"),
        (
            "Stop further writes to the affected resource so that nothing is overwritten.",
            "Check whether versioning, snapshots or point-in-time recovery are enabled.",
            "List the most recent backups and note their timestamps.",
        ),
        "Could you tell us which data is affected and when it was last known to be correct?",
    ),
)
_GENERIC = (
    (
        "Note the exact time and the steps that lead to the problem.",
        "Check the AWS Health Dashboard for events in your region.",
        "Review the recent changes made to the affected resources.",
    ),
    "Could you share the region, the resource identifiers and any error message you see?",
)

_GREETINGS = ("Hello {name},", "Dear {name},", "Hi {name},")
_ACKNOWLEDGE = {
    SentimentLabel.NEGATIVE: (
        "I am sorry that the {issue} problem with {product} is disrupting your work, and I understand how "
        "frustrating this is.",
        "Thank you for reporting the {issue} problem with {product}. I am sorry for the disruption it is "
        "causing you.",
    ),
    SentimentLabel.MIXED: (
        "Thank you for your message about {issue} on {product}. I understand that part of your experience "
        "has not met your expectations.",
        "Thank you for the detailed report on {issue} with {product}, and for the feedback that came with it.",
    ),
    SentimentLabel.NEUTRAL: (
        "Thank you for contacting us about {issue} on {product}.",
        "Thank you for reaching out regarding {issue} with {product}.",
    ),
    SentimentLabel.POSITIVE: (
        "Thank you for your kind words and for asking about {issue} on {product}.",
        "Thank you for contacting us about {issue} with {product}; we are glad to help.",
    ),
}
_STEPS_INTRO = ("While we look into it, please try these steps:", "Here is what you can do right away:")
_ESCALATE = {
    Priority.HIGH: "Because of the impact on your business, {phrase}.",
    Priority.MEDIUM: "We have assigned your case, and {phrase}.",
    Priority.NORMAL: "We have logged your case, and {phrase}.",
}
_CLOSINGS = (
    "Please keep ticket {ticket_id} in the subject of any reply so that we find your case at once.",
    "Your ticket number is {ticket_id}; please mention it whenever you contact us about this case.",
)
_SIGNATURE = "Kind regards,\nThe Support Team"

# Customer-typed names may carry characters the policy forbids in a reply.
_CONTRACTIONS = (
    (re.compile(r"\b(can)['’]t\b", re.I), r"\1not"),
    (re.compile(r"\bwon['’]t\b", re.I), "will not"),
    (re.compile(r"n['’]t\b", re.I), " not"),
    (re.compile(r"['’]re\b", re.I), " are"),
    (re.compile(r"['’]ve\b", re.I), " have"),
    (re.compile(r"['’]ll\b", re.I), " will"),
    (re.compile(r"['’]m\b", re.I), " am"),
    (re.compile(r"['’]d\b", re.I), " would"),
    (re.compile(r"\b(it|that|there|here|what|who|where|when|why|how|he|she)['’]s\b", re.I), r"\1 is"),
    (re.compile(r"\blet['’]s\b", re.I), "let us"),
)
_TICKET_ID_LIKE = re.compile(r"TKT-\d{8}-[0-9A-Z]{10}", re.I)


def _clean(value: str) -> str:
    value = value.replace("!", "")
    value = _TICKET_ID_LIKE.sub("ticket", value)
    for pattern, replacement in _CONTRACTIONS:
        value = pattern.sub(replacement, value)
    return " ".join(value.split())


def _category(issue_type: str, product: str) -> tuple[tuple[str, ...], str]:
    text = f"{issue_type} {product}".lower()
    for stems, steps, ask in _CATEGORIES:
        if any(stem in issue_type.lower() for stem in stems):
            return steps, ask
    for stems, steps, ask in _CATEGORIES:
        if any(stem in text for stem in stems):
            return steps, ask
    return _GENERIC


# Grounded drafts (issue 30): the steps are sentences of the quoted documents, those that best answer the
# ticket: each scores its cosine to the ticket (stored at ingest), plus its share of the ticket's term weight
# (IDF: an error code counts more than "error") and its document's score, so the best document leads but
# its answer may sit in any of its passages. A sentence that lost contact details or a link to the trust
# rules is not used. Without a relevant passage the reply asks for details rather than inventing steps.
_STEP_MIN_WORDS = 4
_STEP_MAX_WORDS = 45
_STEPS_MAX_WORDS = 110
_REMOVED = "removed]"
_NO_ANSWER_STEPS = (
    "Send us the exact error message and the time it first appeared, with the time zone.",
    "Tell us which account, region and resource are affected, and what changed just before.",
    "Let us know what you have tried so far and whether the problem happens every time.",
)
_NO_ANSWER_NOTE = (
    "Our knowledge base has no article that answers this yet, so a specialist will follow up with you."
)


def grounded_steps(quotations: Sequence[Quotation], ticket_text: str) -> tuple[tuple[str, ...], list[str]]:
    """Two or three steps from the quoted documents' sentences that best answer the ticket (in document
    order), and the ids of the quotations they came from; no steps when fewer than two fit."""
    wanted = terms(ticket_text)
    candidates: list[tuple[float, int, int, str]] = []
    for qi, q in enumerate(quotations):
        pool = q.sentences or tuple(
            ScoredSentence(q.id, text, q.score) for text in sentences(q.text) if _REMOVED not in text
        )
        total = sum(q.terms.idf(t) for t in wanted) if q.terms else float(len(wanted))
        for si, sentence in enumerate(pool):
            if not _STEP_MIN_WORDS <= len(sentence.text.split()) <= _STEP_MAX_WORDS:
                continue
            shared = wanted & terms(sentence.text)
            weight = sum(q.terms.idf(t) for t in shared) if q.terms else float(len(shared))
            score = (
                sentence.score
                + defaults.KB_STEP_LEXICAL_WEIGHT * (weight / total if total else 0.0)
                + defaults.KB_STEP_DOCUMENT_WEIGHT * q.score
            )
            candidates.append((score, qi, si, sentence.text))
    chosen: list[tuple[int, int, str]] = []
    budget = _STEPS_MAX_WORDS
    for _, qi, si, text in sorted(candidates, key=lambda c: (-c[0], c[1], c[2])):
        n = len(text.split())
        if n <= budget:
            chosen.append((qi, si, text))
            budget -= n
        if len(chosen) == 3:
            break
    if len(chosen) < 2:
        return (), []
    chosen.sort()
    used = list(dict.fromkeys(quotations[qi].id for qi, _, _ in chosen))
    return tuple(_clean(text) for _, _, text in chosen), used


class OfflineReplyModel:
    """Writes policy-compliant replies from templates; varied but reproducible (seeded by ticket id)."""

    model_id = OFFLINE_MODEL_ID

    def __init__(self, faults: FaultPlan | None = None):
        self._faults = faults

    def draft(
        self, ticket: TicketSubmitted, sentiment: SentimentResult, grounding: Grounding | None = None
    ) -> TriageDraft:
        """Draft the reply, priority and reasoning for one ticket (from the best quoted passage when given)."""
        faults = self._faults if self._faults is not None else active_plan()
        if faults.should_fail("llm_throttle"):
            raise LlmThrottledError(f"{OFFLINE_MODEL_ID}: injected fault llm_throttle")
        if faults.should_fail("llm_unavailable"):
            raise LlmUnavailableError(f"{OFFLINE_MODEL_ID}: injected fault llm_unavailable")

        data = ticket.data
        priority, reasoning = decide_priority(sentiment, data.product, data.issue_type)
        rng = random.Random(ticket.ticketId)
        name = _clean(data.customer.first_name)
        product, issue = _clean(data.product), _clean(data.issue_type)
        steps, ask = _category(data.issue_type, data.product)
        chosen = template_steps = rng.sample(steps, rng.choice((2, 3)))
        used: list[str] = []
        note: list[str] = []
        if grounding is not None and grounding.answered:
            from_passages, cited = grounded_steps(grounding.quotations, f"{data.subject}\n{data.description}")
            if from_passages:
                chosen, used = list(from_passages), cited
        elif grounding is not None:  # nothing relevant enough: ask, do not invent steps
            chosen, note = list(_NO_ANSWER_STEPS), [_NO_ANSWER_NOTE, ""]
        phrase = ESCALATION[priority]
        ticket_id = ticket.ticketId
        if faults.should_fail("llm_invalid_output"):
            ticket_id = (
                "TKT-19700101-0000000000"  # what a confused model does: cite a ticket that is not this one
            )

        greeting = rng.choice(_GREETINGS)
        acknowledge = rng.choice(_ACKNOWLEDGE[sentiment.Sentiment])
        rng_intro = rng.choice(_STEPS_INTRO)
        lines = [
            greeting.format(name=name),
            "",
            acknowledge.format(issue=issue, product=product),
            "",
            rng_intro,
            *(f"{i}. {step}" for i, step in enumerate(chosen, start=1)),
            "",
            ask,
            "",
            *note,
            _ESCALATE[priority].format(phrase=phrase),
            rng.choice(_CLOSINGS).format(ticket_id=ticket_id),
            "",
            _SIGNATURE,
        ]
        if used and check_reply("\n".join(lines), ticket_id, priority, data.customer.first_name):
            # The passage's sentences broke the reply policy (too long, say): the template steps instead.
            steps_at = lines.index(rng_intro) + 1
            lines[steps_at : steps_at + len(chosen)] = [
                f"{i}. {step}" for i, step in enumerate(template_steps, start=1)
            ]
            used = []
        draft = TriageDraft(
            response_text="\n".join(lines),
            priority=priority,
            priority_reasoning=reasoning,
            used_sources=used,
        )
        # Not an LLM, but the pipeline's cost is modeled on one: report what a model would bill for this
        # prompt and answer (a tokenizer-free estimate, README "Cost per ticket").
        return estimated_usage(ticket, sentiment, draft)


def build_offline_model(settings: Any = None) -> OfflineReplyModel:
    """The offline reply model (the `offline` entry point of `tms.reply_models`)."""
    return OfflineReplyModel()
