"""Every Block Kit payload of the bot, built with slack_sdk.models (which validates them as they serialise).

Listeners and the notifier never write raw block dicts: they call a function here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    EmailInputElement,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.logic.mrkdwn import escape, fence, group_mention, is_group_id, link, slack_date, user_mention
from contract.drafts import DraftFindings, draft_findings
from contract.models import (
    DESCRIPTION_EXCERPT_MAX,
    DESCRIPTION_MAX,
    PRIORITY_FLAG_TEXT,
    SUBJECT_MAX,
    MailEventKind,
    Priority,
    PriorityFlag,
    ProcessedRecord,
    SlackContext,
    TicketMailMessage,
    TicketStatus,
    excerpt,
)
from contract.models.routing import TicketReassignedMessage

# --- ids shared with the listeners ------------------------------------------------------------------------
TICKET_FORM = "ticket_form"
EDIT_REPLY_FORM = "ticket_edit_reply"
CREATE_TICKET_SHORTCUT = "create_ticket"  # the "Create ticket" message shortcut (bot/manifest.yaml)
ACTION_APPROVE = "ticket_approve"
ACTION_EDIT = "ticket_edit"
ACTION_PRIORITY = "ticket_priority"
ACTION_RESOLVE = "ticket_resolve"
ACTION_DESCRIPTION = "ticket_description"
DESCRIPTION_VIEW = "ticket_description_view"
ACTION_RETRY_SEND = "ticket_retry_send"
ACTION_TAKE = "ticket_take"
ACTION_REASSIGN = "ticket_reassign"
INCIDENT_REPORT_EVENT = "tms_incident_report"  # metadata event_type of a later report's post
ACTION_REMOVE_SOURCE = (
    "source_remove"  # "Remove source" under a grounded draft; value = "<ticket id> <source id>"
)
ACTION_SPLIT_INCIDENT = "incident_split"  # "Not the same issue" on a member's post; value = its ticket id
ACTION_RESOLVE_INCIDENT = "incident_resolve"  # "Resolve incident" on the root's post; value = root ticket id
_PRIORITY_RANK = {Priority.NORMAL.value: 0, Priority.MEDIUM.value: 1, Priority.HIGH.value: 2}
OWNER_BLOCK_PREFIX = "owner:"  # + ticket id: the block of Take it / Reassign (a users select has no value)
VALUE = "value"  # action_id of every input element; the block_id names the field
FORM_FIELDS = (
    "subject",
    "description",
    "product",
    "issue_type",
    "customer_name",
    "customer_email",
    "customer_company",
)
REPLY_FIELD = "response_text"

# Slack's limits (https://api.slack.com/reference/block-kit/blocks): section text 3,000, fields 2,000,
# header 150, plain_text_input 3,000 characters.
SECTION_MAX = 3000
FIELD_MAX = 2000
HEADER_MAX = 150
BUTTON_TEXT_MAX = 75  # Block Kit: a button's text
INPUT_MAX = 3000
SELECT_MAX_OPTIONS = 100
VIEW_MAX_BLOCKS = 100
# A modal shows the whole description as plain-text sections of at most 3,000 characters each: 65,535
# bytes are at most 22 of them, well inside a view's 100 blocks. 2,900 leaves room for characters Slack
# counts twice (UTF-16 surrogate pairs).
DESCRIPTION_CHUNK = 2900

PRIORITY_MARKER = {
    Priority.HIGH: ":red_circle:",
    Priority.MEDIUM: ":large_orange_circle:",
    Priority.NORMAL: ":large_green_circle:",
}
STATUS_MARKER = {
    TicketStatus.PROCESSING: ":hourglass_flowing_sand:",
    TicketStatus.TRIAGED: ":inbox_tray:",
    TicketStatus.FAILED: ":x:",
    TicketStatus.APPROVED: ":white_check_mark:",
    TicketStatus.SENDING: ":outbox_tray:",
    TicketStatus.SENT: ":email:",
    TicketStatus.SEND_FAILED: ":warning:",
    TicketStatus.WAITING_CUSTOMER: ":hourglass:",
    TicketStatus.CUSTOMER_REPLIED: ":speech_balloon:",
    TicketStatus.RESOLVED: ":checkered_flag:",
    TicketStatus.CLOSED: ":lock:",
}
# Statuses in which agents still act on the ticket (edit, re-prioritise, resolve).
OPEN_STATUSES = frozenset(
    {
        TicketStatus.TRIAGED,
        TicketStatus.APPROVED,
        TicketStatus.SENT,
        TicketStatus.SEND_FAILED,
        TicketStatus.WAITING_CUSTOMER,
        TicketStatus.CUSTOMER_REPLIED,
    }
)
ALARM_MARKER = {
    "ALARM": ":rotating_light:",
    "OK": ":white_check_mark:",
    "INSUFFICIENT_DATA": ":grey_question:",
}


__all__ = ["escape"]  # re-exported: listeners escape through blocks.escape

# Customer text is posted with link and media previews off: a customer's URL must not unfurl into the
# channel (a preview fetch, a disguised card). chat.update takes the same flags.
NO_UNFURL = {"unfurl_links": False, "unfurl_media": False}


def clip(value: str, limit: int) -> str:
    """Cut text to `limit` characters, marking the cut."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _md(value: str, limit: int = SECTION_MAX) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(value, limit))


def _dump(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in blocks]


# --- the ticket post --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketView:
    """What a ticket post shows; built from a ProcessedRecord (notifier) or a table item (actions)."""

    ticket_id: str
    subject: str
    customer: str
    company: str
    product: str
    issue_type: str
    priority: str
    priority_reasoning: str
    sentiment: str
    scores: Mapping[str, float]
    response_text: str
    status: str
    submitter: str = ""
    note: str = ""
    description: str = ""  # an excerpt when the description is long
    description_truncated: bool = False
    assignee: str = ""
    sla_due_at: str = ""
    # Incidents (pipeline/adapters/incident_store.py keeps the aggregate on the root's item).
    incident_id: str = ""
    incident_root: bool = False
    incident_reports: int = 0
    incident_companies: tuple[str, ...] = ()
    incident_priority: str = ""
    incident_line: str = ""  # a member's "4th report: <customer>, <company>: <subject>"
    draft_version: int = 0  # carried by Approve: only the draft on screen is sent
    # False: nobody may send to customers, so the post has no Approve and says how to configure approvers.
    approvers_configured: bool = True
    # The reply model's own pick and why the final priority differs (contract PriorityFlag codes).
    model_priority: str = ""
    priority_flags: str = ""
    # Knowledge-base grounding (issue 30): the sources the draft used ({id, title, uri, score}) and the best
    # retrieval score (None: no knowledge base was consulted).
    sources: tuple[Mapping[str, Any], ...] = ()
    retrieval_confidence: float | None = None

    @classmethod
    def from_record(
        cls, record: ProcessedRecord, slack: SlackContext | None = None, *, truncated: bool = False
    ) -> TicketView:
        """The view of a freshly triaged ticket (the SNS message says whether its description is cut)."""
        view = cls.from_item(record.model_dump(mode="json"), submitter=slack.user_id if slack else "")
        return view if not truncated else replace(view, description_truncated=True)

    @classmethod
    def from_item(
        cls, item: Mapping[str, Any], submitter: str = "", *, approvers_configured: bool = True
    ) -> TicketView:
        """The view of a table item (attributes named as ProcessedRecord fields; missing ones shown empty)."""

        def s(name: str) -> str:
            return str(item.get(name) or "")

        def score(name: str) -> float:
            try:
                return float(item.get(f"sentiment_score_{name}") or 0.0)
            except (TypeError, ValueError):
                return 0.0

        who = s("updated_by")
        note = (
            f"Last action: {escape(s('last_action'))} by {user_mention(who)} at {slack_date(s('updated_at'))}"
            if who
            else ""
        )
        return cls(
            ticket_id=s("ticket_id"),
            subject=s("subject"),
            customer=s("customer_full_name"),
            company=s("company"),
            product=s("product"),
            issue_type=s("issue_type"),
            priority=s("priority"),
            priority_reasoning=s("priority_reasoning"),
            sentiment=s("sentiment"),
            scores={k: score(k) for k in ("positive", "negative", "neutral", "mixed")},
            response_text=s("response_text"),
            status=s("status"),
            submitter=submitter or s("slack_user"),
            note=note,
            description=excerpt(s("description"), DESCRIPTION_EXCERPT_MAX),
            description_truncated=len(s("description").encode("utf-8")) > DESCRIPTION_EXCERPT_MAX,
            assignee=s("assignee"),
            sla_due_at=s("sla_due_at"),
            draft_version=_int(item.get("draft_version")),
            approvers_configured=approvers_configured,
            model_priority=s("model_priority"),
            priority_flags=s("priority_flags"),
            sources=_sources(item.get("sources")),
            retrieval_confidence=_float_or_none(item.get("retrieval_confidence")),
            **_incident_fields(item),
        )

    @property
    def priority_marker(self) -> str:
        """An emoji for the priority."""
        return (
            PRIORITY_MARKER.get(Priority(self.priority), "") if self.priority in Priority.__members__ else ""
        )

    @property
    def is_open(self) -> bool:
        """Agents can still act on it."""
        return self.status in OPEN_STATUSES


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _sources(value: Any) -> tuple[Mapping[str, Any], ...]:
    """The stored sources (a JSON array in the item and the record; "" when none)."""
    if not value:
        return ()
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return ()
    return tuple(s for s in parsed if isinstance(s, Mapping)) if isinstance(parsed, list) else ()


def _float_or_none(value: Any) -> float | None:
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


def sources_line(view: TicketView) -> str:
    """The post's knowledge-base line: each source as a link with its score, and the confidence; "" when
    no knowledge base was consulted."""
    if view.retrieval_confidence is None:
        return ""
    if not view.sources:
        return (
            f":books: No knowledge-base article was relevant enough (best score "
            f"{view.retrieval_confidence:.2f}): the draft asks for details."
        )
    links = " · ".join(
        f"{link(str(s.get('uri', '')), str(s.get('title', '')))} ({_float_or_none(s.get('score')) or 0:.2f})"
        for s in view.sources
    )
    return f":books: *Sources* (confidence {view.retrieval_confidence:.2f}): {links}"


def source_actions(view: TicketView) -> list[ActionsBlock]:
    """A "Remove source" button per source (one block each: an action id is unique within a block), so an
    agent takes a wrong source off before approving."""
    return [
        ActionsBlock(
            block_id=f"source:{view.ticket_id}:{n}",
            elements=[
                ButtonElement(
                    # plain_text is not parsed for mentions, but a title is never echoed with live brackets
                    text=clip(
                        f"Remove source {n}: {s.get('title', '')}".replace("<", "\u2039").replace(
                            ">", "\u203a"
                        ),
                        BUTTON_TEXT_MAX,
                    ),
                    action_id=ACTION_REMOVE_SOURCE,
                    value=f"{view.ticket_id} {s.get('id', '')}",
                )
            ],
        )
        for n, s in enumerate(view.sources, start=1)
    ]


def _incident_fields(item: Mapping[str, Any]) -> dict[str, Any]:
    members = item.get("incident_members") or ()
    if not item.get("incident_id"):
        return {}
    if members:  # the root carries the aggregate
        priorities = [str(p) for p in item.get("incident_priorities") or () if str(p) in _PRIORITY_RANK]
        return {
            "incident_id": str(item["incident_id"]),
            "incident_root": True,
            "incident_reports": len(members),
            "incident_companies": tuple(sorted(str(c) for c in item.get("incident_companies") or ())),
            "incident_priority": max(priorities, key=_PRIORITY_RANK.__getitem__, default=""),
        }
    return {"incident_id": str(item["incident_id"]), "incident_line": str(item.get("incident_report") or "")}


def _scores_line(view: TicketView) -> str:
    sc = view.scores
    return (
        f"pos {sc.get('positive', 0):.2f} · neg {sc.get('negative', 0):.2f} · "
        f"neu {sc.get('neutral', 0):.2f} · mix {sc.get('mixed', 0):.2f}"
    )


def ticket_fallback_text(view: TicketView) -> str:
    """The notification text (shown where blocks are not); mentions the submitter on HIGH tickets."""
    mention = f"{user_mention(view.submitter)} " if view.priority == Priority.HIGH and view.submitter else ""
    return clip(
        (
            f"{mention}{view.priority_marker} [{escape(view.priority)}] {escape(view.ticket_id)}: "
            f"{escape(view.subject)} (sentiment {escape(view.sentiment)})"
        ).strip(),
        SECTION_MAX,
    )


def ticket_blocks(view: TicketView) -> list[dict[str, Any]]:
    """The ticket post: summary, priority, sentiment, drafted reply, reasoning, and the agent buttons."""
    customer = escape(view.customer) + (f" ({escape(view.company)})" if view.company else "")
    status_marker = (
        STATUS_MARKER.get(TicketStatus(view.status), "") if view.status in TicketStatus.__members__ else ""
    )
    blocks: list[Block] = [
        HeaderBlock(text=clip(escape(f"{view.ticket_id} · {view.subject}"), HEADER_MAX)),
        SectionBlock(
            fields=[
                _md(f"*Customer*\n{customer}", FIELD_MAX),
                _md(f"*Product / issue*\n{escape(view.product)} / {escape(view.issue_type)}", FIELD_MAX),
                _md(f"*Priority*\n{view.priority_marker} {escape(view.priority)}", FIELD_MAX),
                _md(f"*Sentiment*\n{escape(view.sentiment)}\n{_scores_line(view)}", FIELD_MAX),
                _md(f"*Status*\n{status_marker} {escape(view.status)}", FIELD_MAX),
                _md(f"*Ticket*\n`{escape(view.ticket_id)}`", FIELD_MAX),
                _md(f"*Owner*\n{owner_text(view.assignee)}", FIELD_MAX),
                _md(f"*First response due*\n{slack_date(view.sla_due_at)}", FIELD_MAX),
            ]
        ),
    ]
    if view.priority == Priority.HIGH and view.submitter:
        blocks.append(
            SectionBlock(text=_md(f":rotating_light: HIGH priority, {user_mention(view.submitter)}"))
        )
    if view.description:
        blocks.append(description_section(view))
    blocks += [
        DividerBlock(),
        SectionBlock(text=_md(f"*Drafted reply*\n{escape(view.response_text)}")),
        ContextBlock(elements=[_md(f"*Why {escape(view.priority)}:* {escape(view.priority_reasoning)}")]),
    ]
    if line := sources_line(view):
        blocks.append(ContextBlock(elements=[_md(line)]))
    if view.sources and view.is_open:
        blocks += source_actions(view)
    blocks += trust_warnings(view)
    if view.note:
        blocks.append(ContextBlock(elements=[_md(view.note)]))
    if view.is_open and not view.approvers_configured:
        blocks.append(ContextBlock(elements=[_md(NO_APPROVERS)]))
    if view.is_open:
        blocks.append(ticket_actions(view))
        blocks.append(owner_actions(view))
    if view.incident_root:
        blocks[1:1] = [incident_header(view)]
    if view.incident_root and view.is_open:
        blocks.append(
            ActionsBlock(
                block_id=f"incident:{view.ticket_id}",
                elements=[
                    ButtonElement(
                        text="Resolve incident",
                        action_id=ACTION_RESOLVE_INCIDENT,
                        value=view.ticket_id,
                        style="danger",
                        confirm=ConfirmObject(
                            title="Resolve the incident?",
                            text=f"All {view.incident_reports} reports of {view.incident_id} will be resolved.",
                            confirm="Resolve all",
                            deny="Cancel",
                        ),
                    )
                ],
            )
        )
    elif view.incident_id and not view.incident_root:
        blocks[1:1] = [
            ContextBlock(
                elements=[_md(f":link: {escape(view.incident_line)} (`{escape(view.incident_id)}`)")]
            )
        ]
        if view.is_open:
            blocks.append(
                ActionsBlock(
                    block_id=f"incident:{view.ticket_id}",
                    elements=[
                        ButtonElement(
                            text="Not the same issue", action_id=ACTION_SPLIT_INCIDENT, value=view.ticket_id
                        )
                    ],
                )
            )
    return _dump(blocks)


def _defanged(value: str) -> str:
    # Shown so an agent can read it, never as a link Slack would make clickable.
    return escape(value).replace("://", "[://]").replace(".", "[.]").replace("`", "'")


def priority_note(view: TicketView) -> str:
    """ "model suggested HIGH; capped at MEDIUM: ..." when the bound changed or flagged the priority, else ""."""
    flags = [PriorityFlag(f) for f in view.priority_flags.split(",") if f in PriorityFlag._value2member_map_]
    changed = view.model_priority and view.model_priority != view.priority
    if not changed and not flags:
        return ""
    if PriorityFlag.CAPPED in flags or PriorityFlag.RAISED in flags:
        how = "capped at" if PriorityFlag.CAPPED in flags else "raised to"
        why = "; ".join(PRIORITY_FLAG_TEXT[f] for f in sorted(flags))
        return escape(f"model suggested {view.model_priority}; {how} {view.priority}: {why}")
    if flags:  # instruction-like text, and the model's pick stood within the bound
        why = "; ".join(PRIORITY_FLAG_TEXT[f] for f in sorted(flags))
        return escape(
            f"model suggested {view.model_priority or view.priority}; kept at {view.priority}: {why}"
        )
    return escape(f"model suggested {view.model_priority}; now {view.priority} (set by an agent)")


def draft_warning(findings: DraftFindings) -> str:
    """The warning listing the links outside the allow-list and the phone numbers of a draft."""
    lines = [":warning: *Check before approving:* the drafted reply contains"]
    if findings.links:
        lines.append(
            "links outside the allowed domains: " + ", ".join(f"`{_defanged(x)}`" for x in findings.links)
        )
    if findings.phones:
        lines.append("phone numbers: " + ", ".join(f"`{_defanged(x)}`" for x in findings.phones))
    return "\n".join(lines)


def trust_warnings(view: TicketView) -> list[Block]:
    """The warnings a ticket post shows before anyone approves: the model's priority suggestion when the
    rule-based bound changed it, and links or phone numbers in the draft (issue 27)."""
    blocks: list[Block] = []
    if note := priority_note(view):
        blocks.append(ContextBlock(elements=[_md(f":scales: {note}")]))
    if findings := draft_findings(view.response_text):
        blocks.append(
            SectionBlock(block_id=f"draft_warning:{view.ticket_id}", text=_md(draft_warning(findings)))
        )
    return blocks


def incident_header(view: TicketView) -> SectionBlock:
    """The root post's incident line: reports, affected companies, the incident's (highest) priority."""
    companies = ", ".join(escape(c) for c in view.incident_companies) or "-"
    marker = PRIORITY_MARKER.get(Priority(view.incident_priority), "") if view.incident_priority else ""
    return SectionBlock(
        text=_md(
            f":link: *Incident* `{escape(view.incident_id)}` · *{view.incident_reports} reports* · "
            f"companies: {companies} · incident priority {marker} {escape(view.incident_priority)}"
        )
    )


def incident_member_message(channel: str, thread_ts: str, view: TicketView) -> dict[str, Any]:
    """A later report of an incident, posted in the root's thread (its own sentiment and priority)."""
    return {
        "channel": channel,
        "thread_ts": thread_ts,
        "text": clip(
            f"{escape(view.incident_line)} [{escape(view.priority)}] {escape(view.ticket_id)}", SECTION_MAX
        ),
        "blocks": ticket_blocks(view),
        **NO_UNFURL,
        # Slack message metadata: tools reading the channel (the local outbox counters) know this thread
        # reply is the ticket's own post.
        "metadata": {
            "event_type": INCIDENT_REPORT_EVENT,
            "event_payload": {"ticket_id": view.ticket_id, "incident_id": view.incident_id},
        },
    }


def ticket_update(channel: str, ts: str, view: TicketView) -> dict[str, Any]:
    """The chat.update payload re-rendering a ticket post from its item (after an action, a mail event or a
    new report of its incident)."""
    return {
        "channel": channel,
        "ts": ts,
        "text": ticket_fallback_text(view),
        "blocks": ticket_blocks(view),
        **NO_UNFURL,
    }


ERASED_TEXT = "Ticket {ticket_id}: the customer's data was erased on request (GDPR art. 17)."


def erased_ticket(ticket_id: str) -> dict[str, Any]:
    """The chat.update arguments (text, blocks) replacing a ticket post whose customer was erased: the id
    only, no buttons, nothing of the customer."""
    text = ERASED_TEXT.format(ticket_id=ticket_id)
    return {"text": text, "blocks": [SectionBlock(text=_md(f":wastebasket: {escape(text)}")).to_dict()]}


def description_section(view: TicketView) -> SectionBlock:
    """The description (its head and tail when long), with a button opening the whole text."""
    more = (
        ButtonElement(text="Show full description", action_id=ACTION_DESCRIPTION, value=view.ticket_id)
        if view.description_truncated
        else None
    )
    return SectionBlock(
        block_id=f"description:{view.ticket_id}",
        text=_md(f"*Description*\n{escape(view.description)}"),
        accessory=more,
    )


def chunks(value: str, size: int = DESCRIPTION_CHUNK) -> list[str]:
    """`value` in pieces of at most `size` characters, cut at a line break when one is near the end."""
    out: list[str] = []
    rest = value
    while len(rest) > size:
        cut = rest.rfind("\n", size // 2, size)
        cut = cut + 1 if cut > 0 else size
        out.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        out.append(rest)
    return out


def description_view(ticket_id: str, subject: str, description: str) -> dict[str, Any]:
    """A modal with the whole description as plain text (Slack modals cap a section at 3,000 characters)."""
    pieces = chunks(description) or ["(no description)"]
    # Plain text is not parsed for mentions, but it is escaped all the same: one rule for every customer
    # string (Slack decodes the three entities in every text object). The chunks are cut before escaping,
    # so an entity is never split; escaping adds at most 4 characters per `<`, `>` or `&`.
    body: list[Block] = [
        SectionBlock(text=PlainTextObject(text=clip(escape(p), SECTION_MAX), emoji=False)) for p in pieces
    ]
    header: list[Block] = [
        ContextBlock(elements=[_md(f"`{escape(ticket_id)}` · {escape(clip(subject, 200))}")]),
    ]
    room = VIEW_MAX_BLOCKS - len(header) - 1
    if len(body) > room:  # not reachable within DESCRIPTION_MAX; kept so the view never breaks Slack's cap
        body = [*body[: room - 1], ContextBlock(elements=[_md("_The rest is in the archive._")])]
    return View(
        type="modal",
        callback_id=DESCRIPTION_VIEW,
        title="Ticket description",
        close="Close",
        blocks=[*header, DividerBlock(), *body],
    ).to_dict()


def owner_text(assignee: str) -> str:
    """Who owns the ticket, as the post shows it."""
    return user_mention(assignee) if assignee else "nobody yet"


def owner_actions(view: TicketView) -> ActionsBlock:
    """Take it (when nobody owns it) and Reassign (a users select)."""
    elements: list[Any] = []
    if not view.assignee:
        elements.append(ButtonElement(text="Take it", action_id=ACTION_TAKE, value=view.ticket_id))
    elements.append(UserSelectElement(placeholder="Reassign", action_id=ACTION_REASSIGN))
    return ActionsBlock(block_id=f"{OWNER_BLOCK_PREFIX}{view.ticket_id}", elements=elements)


def ticket_actions(view: TicketView) -> ActionsBlock:
    """Approve reply, Edit reply, Change priority, Resolve. Each carries the ticket id as its value."""
    tid = view.ticket_id
    elements: list[Any] = []
    if view.status == TicketStatus.TRIAGED and view.approvers_configured:
        elements.append(
            ButtonElement(
                text="Approve reply",
                action_id=ACTION_APPROVE,
                value=approve_value(tid, view.draft_version),
                style="primary",
            )
        )
    if view.status == TicketStatus.SEND_FAILED and view.approvers_configured:
        elements.append(retry_send_button(tid))
    elements += [
        ButtonElement(text="Edit reply", action_id=ACTION_EDIT, value=tid),
        StaticSelectElement(
            placeholder="Change priority",
            action_id=ACTION_PRIORITY,
            options=[Option(text=f"{PRIORITY_MARKER[p]} {p}", value=f"{tid}|{p}") for p in Priority],
        ),
        ButtonElement(
            text="Resolve",
            action_id=ACTION_RESOLVE,
            value=tid,
            style="danger",
            confirm=ConfirmObject(
                title="Resolve this ticket?", text=f"{tid} will be closed.", confirm="Resolve", deny="Cancel"
            ),
        ),
    ]
    return ActionsBlock(block_id=f"actions:{tid}", elements=elements)


def approve_value(ticket_id: str, draft_version: int) -> str:
    """The Approve button's value: the ticket and the draft version on screen (`<ticket id>|<version>`)."""
    return f"{ticket_id}|{draft_version}"


def parse_approve_value(value: str) -> tuple[str, int | None]:
    """The ticket id and draft version of an Approve click; None for the version of a value without one
    (a post rendered before versions existed, or a forged value): such a click is treated as stale."""
    ticket_id, sep, version = value.partition("|")
    return ticket_id, int(version) if sep and version.isdigit() else None


NO_APPROVERS = (
    ":no_entry: *No approvers are configured*, so nothing can be sent to the customer. An admin adds Slack "
    "user or user-group ids to `TMS_APPROVERS` (`approvers` in cdk.json on AWS)."
)


def retry_send_button(ticket_id: str) -> ButtonElement:
    """Sends the approved reply again after a rejected send."""
    return ButtonElement(text="Retry send", action_id=ACTION_RETRY_SEND, value=ticket_id, style="primary")


MAIL_HEADLINE = {
    MailEventKind.REPLY_SENT: ":email: Reply sent",
    MailEventKind.REPLY_SEND_FAILED: ":warning: The reply was not sent",
    MailEventKind.CUSTOMER_REPLIED: ":speech_balloon: The customer replied",
    MailEventKind.DELIVERED: ":inbox_tray: Reply delivered",
    MailEventKind.BOUNCED: ":no_entry: The reply bounced",
    MailEventKind.COMPLAINED: ":rotating_light: The customer marked the reply as spam",
    MailEventKind.UNVERIFIED_MAIL: ":warning: *Unverified* mail about this ticket (not shown as the customer's)",
    MailEventKind.NUDGE_SENT: ":bell: Reminder sent to the customer",
    MailEventKind.AUTO_CLOSED: ":lock: Closed automatically",
    MailEventKind.CSAT_ASKED: ":bar_chart: Rating question sent",
    MailEventKind.CSAT_RECEIVED: ":star: The customer rated the ticket",
}
# How a rating reads in Slack (issue 32): the value is one of pipeline.domain.csat.RATINGS; anything else is
# shown escaped, as it came.
RATING_TEXT = {"up": ":+1:", "down": ":-1:", **{str(n): f"{n}/5" for n in range(1, 6)}}


def mail_event_text(msg: TicketMailMessage) -> str:
    """The one-line notification text of a mail event (status included)."""
    head = MAIL_HEADLINE[msg.kind]
    if msg.kind == MailEventKind.REPLY_SENT and msg.via == "slack":
        return (
            f"{head} to {user_mention(msg.mention)} in Slack (approved by {user_mention(msg.actor)})."
            f" Status: {msg.status}"
        )
    if msg.kind == MailEventKind.REPLY_SENT:
        return (
            f"{head} to {escape(msg.address)} (approved by {user_mention(msg.actor)}). Status: {msg.status}"
        )
    if msg.kind == MailEventKind.CUSTOMER_REPLIED:
        reopened = " and reopened the ticket" if msg.reopened else ""
        return f"{head}{reopened} ({escape(msg.address)}). Status: {msg.status}"
    if msg.kind == MailEventKind.UNVERIFIED_MAIL:
        paused = ". Auto-close is paused: the owner decides" if msg.autoclose_paused else ""
        return f"{head} from {escape(msg.address)}. Status unchanged: {msg.status}{paused}"
    if msg.kind == MailEventKind.CSAT_RECEIVED:
        return f"{head}: {RATING_TEXT.get(msg.rating) or escape(msg.rating)}. Status: {msg.status}"
    if msg.kind == MailEventKind.AUTO_CLOSED:
        return f"{head}: {escape(msg.text)}. Status: {msg.status}"
    if msg.kind == MailEventKind.REPLY_SEND_FAILED:
        return f"{head} to {escape(msg.address)}: {escape(msg.text)}. Status: {msg.status}"
    return (
        f"{head} ({escape(msg.address)}){': ' + escape(msg.text) if msg.text else ''}. Status: {msg.status}"
    )


def mail_event_message(channel: str, thread_ts: str, msg: TicketMailMessage) -> dict[str, Any]:
    """A mail event in the ticket's thread: the customer's text quoted, a Retry send button on failure."""
    text = mail_event_text(msg)
    blocks: list[Block] = [SectionBlock(text=_md(text))]
    if (
        msg.kind in (MailEventKind.CUSTOMER_REPLIED, MailEventKind.UNVERIFIED_MAIL)
        or (msg.kind == MailEventKind.CSAT_RECEIVED and msg.text)
        or (msg.via == "slack" and msg.text)
    ):
        quoted = "\n".join(f"> {line}" for line in escape(clip(msg.text, SECTION_MAX - 200)).split("\n"))
        # A user id, a user-group id or MENTION_HERE (unverified mail nobody owns): mentions are only ever built
        # from real ids, anything else renders as escaped text.
        if msg.mention == MENTION_HERE:
            lead = "<!here> "
        elif is_group_id(msg.mention):
            lead = group_mention(msg.mention) + " "
        else:
            lead = f"{user_mention(msg.mention)} " if msg.mention else ""
        blocks.append(SectionBlock(text=_md(lead + quoted)))
    if msg.flag:
        blocks.append(ContextBlock(elements=[_md(f":warning: {escape(msg.flag)}")]))
    if msg.kind == MailEventKind.REPLY_SEND_FAILED:
        blocks.append(
            ActionsBlock(block_id=f"retry:{msg.ticket_id}", elements=[retry_send_button(msg.ticket_id)])
        )
    if msg.mail_message_id:
        blocks.append(ContextBlock(elements=[_md(f"Message-ID `{escape(msg.mail_message_id)}`")]))
    return _post(channel, text, blocks, thread_ts)


def ticket_message(channel: str, view: TicketView) -> dict[str, Any]:
    """The chat.postMessage payload of a ticket post."""
    return {
        "channel": channel,
        "text": ticket_fallback_text(view),
        "blocks": ticket_blocks(view),
        **NO_UNFURL,
    }


def thread_message(channel: str, thread_ts: str, text: str) -> dict[str, Any]:
    """A reply in a ticket or alarm thread. `text` is mrkdwn the caller built: customer parts escaped,
    mentions through bot.logic.mrkdwn."""
    return {
        "channel": channel,
        "thread_ts": thread_ts,
        "text": clip(text, SECTION_MAX),
        "blocks": _dump([SectionBlock(text=_md(text))]),
        **NO_UNFURL,
    }


def customer_reply_message(channel: str, thread_ts: str, reply: str) -> dict[str, Any]:
    """The approved reply in the customer's own thread (or DM: no thread_ts). The draft is model output an
    agent approved: escaped like any text a customer can influence, so it cannot mention or link."""
    text = clip(escape(reply), SECTION_MAX)
    payload = {
        "channel": channel,
        "text": text,
        "blocks": _dump([SectionBlock(text=_md(text))]),
        **NO_UNFURL,
    }
    if thread_ts:
        payload["thread_ts"] = thread_ts
    return payload


def closing_message(channel: str, thread_ts: str, ticket_id: str) -> dict[str, Any]:
    """The short line a resolved Slack-born ticket leaves in the customer's thread."""
    text = (
        f":white_check_mark: We have resolved ticket `{escape(ticket_id)}`. "
        "If anything is still wrong, just reply here and it reopens."
    )
    payload = {"channel": channel, "text": text, "blocks": _dump([SectionBlock(text=_md(text))]), **NO_UNFURL}
    if thread_ts:
        payload["thread_ts"] = thread_ts
    return payload


def failure_text(ticket_id: str, error: str, cause: str) -> str:
    """What a failed ticket says (the cause is clipped: it may be a long stack or JSON)."""
    detail = f"\n```{fence(clip(cause, 1500))}```" if cause else ""
    return f":x: Ticket `{escape(ticket_id)}` failed: *{escape(error)}*{detail}"


def failure_message(
    channel: str, ticket_id: str, error: str, cause: str, thread_ts: str | None
) -> dict[str, Any]:
    """A failure notice: in the ticket's thread when it has one, else a new post."""
    text = failure_text(ticket_id, error, cause)
    return _post(
        channel,
        text,
        [
            SectionBlock(text=_md(text)),
            # What to do about it: the ticket keeps its input, so a retry needs no resubmission.
            ContextBlock(elements=[_md(f"Once the cause is fixed: `tms retry {escape(ticket_id)}`")]),
        ],
        thread_ts,
    )


def _post(channel: str, headline: str, blocks: list[Block], thread_ts: str | None = None) -> dict[str, Any]:
    """A chat.postMessage payload: the headline as notification text, in a thread when one is given."""
    payload: dict[str, Any] = {
        "channel": channel,
        "text": clip(headline, SECTION_MAX),
        "blocks": _dump(blocks),
        **NO_UNFURL,
    }
    if thread_ts:
        payload["thread_ts"] = thread_ts
    return payload


# --- alarms -----------------------------------------------------------------------------------------------


def alarm_message(
    channel: str,
    *,
    name: str,
    new_state: str,
    old_state: str,
    reason: str,
    changed_at: str,
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """A CloudWatch alarm state change: a new post when it fires, a thread reply for later changes."""
    marker = ALARM_MARKER.get(new_state, ":bell:")
    headline = f"{marker} *{escape(name)}* is {escape(new_state)}" + (
        f" (was {escape(old_state)})" if old_state else ""
    )
    blocks: list[Block] = [SectionBlock(text=_md(headline))]
    if reason:
        blocks.append(SectionBlock(text=_md(escape(reason))))
    if changed_at:
        blocks.append(ContextBlock(elements=[_md(f"State changed at {slack_date(changed_at)}")]))
    return _post(channel, headline, blocks, thread_ts)


GLUE_MARKER = {
    "SUCCEEDED": ":white_check_mark:",
    "FAILED": ":rotating_light:",
    "TIMEOUT": ":hourglass:",
    "STOPPED": ":octagonal_sign:",
}
GENERIC_ALERT_BODY_MAX = 2500  # leaves room for the fences inside one section (3,000)


def glue_job_message(
    channel: str,
    *,
    job_name: str,
    state: str,
    message: str,
    run_id: str,
    at: str,
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """A Glue job state change: a failure opens the job's thread, later runs reply in it."""
    marker = GLUE_MARKER.get(state, ":bell:")
    if state == "SUCCEEDED":
        headline = f"{marker} Glue job *{escape(job_name)}* recovered: the last run SUCCEEDED"
    else:
        headline = f"{marker} Glue job *{escape(job_name)}* {escape(state)}"
    blocks: list[Block] = [SectionBlock(text=_md(headline))]
    if message:
        blocks.append(SectionBlock(text=_md(escape(message))))
    context = " · ".join(part for part in (f"run `{escape(run_id)}`" if run_id else "", escape(at)) if part)
    if context:
        blocks.append(ContextBlock(elements=[_md(context)]))
    return _post(channel, headline, blocks, thread_ts)


def generic_alert_message(channel: str, *, subject: str, message: str) -> dict[str, Any]:
    """An alarms-topic message of a shape we do not know, shown as it came (clipped)."""
    headline = ":bell: *Alert*" + (f": {escape(subject)}" if subject else " (unrecognised message)")
    # A fence inside the message would end the code block early: break it with a zero-width space.
    body = clip(fence(message), GENERIC_ALERT_BODY_MAX)
    blocks: list[Block] = [SectionBlock(text=_md(headline))]
    if body.strip():
        blocks.append(SectionBlock(text=_md(f"```{body}```")))
    return _post(channel, headline, blocks)


# --- SLAs ------------------------------------------------------------------------------------------------


def slack_link(channel: str, ts: str) -> str:
    """A link to a message (Slack resolves archives links in the workspace that opens them)."""
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"


MENTION_HERE = (
    "here"  # a mail event's `mention` for the channel (no owner, no on-call group): not a Slack token
)


def mention(assignee: str, oncall_group: str) -> str:
    """Who an SLA warning is for: the owner, else the on-call user group, else the channel."""
    if assignee:
        return user_mention(assignee)
    if oncall_group:
        return group_mention(oncall_group)
    return "<!here>"


def sla_warning_message(
    channel: str, thread_ts: str | None, *, ticket_id: str, priority: str, due_at: str, who: str
) -> dict[str, Any]:
    """The pre-breach warning, in the ticket's thread."""
    headline = (
        f":hourglass_flowing_sand: {who} `{escape(ticket_id)}` ({escape(priority)}) has had no first response; "
        f"its SLA is due at {slack_date(due_at)}."
    )
    hint = "Approve or send the reply, or resolve the ticket, to stop the clock."
    return _post(
        channel, headline, [SectionBlock(text=_md(headline)), ContextBlock(elements=[_md(hint)])], thread_ts
    )


def reassigned_message(channel: str, thread_ts: str | None, msg: TicketReassignedMessage) -> dict[str, Any]:
    """Routing moved the ticket to the next on-call agent (in the ticket's thread)."""
    headline = (
        f":arrows_counterclockwise: {user_mention(msg.assignee)} now owns `{escape(msg.ticket_id)}`: "
        f"{user_mention(msg.previous)} had not given the first response by {slack_date(msg.at)}."
    )
    hint = f"Its first response is due {slack_date(msg.due_at)}. The ticket is reassigned once; after that, use *Reassign*."
    return _post(
        channel, headline, [SectionBlock(text=_md(headline)), ContextBlock(elements=[_md(hint)])], thread_ts
    )


def sla_breach_message(
    channel: str,
    *,
    ticket_id: str,
    priority: str,
    subject: str,
    due_at: str,
    link: str | None,
    owner: str,
) -> dict[str, Any]:
    """The breach, in the alerts channel, linking the ticket."""
    where = f"<{escape(link)}|{escape(ticket_id)}>" if link else f"`{escape(ticket_id)}`"
    headline = (
        f":rotating_light: SLA breached: {where} ({escape(priority)}) had no first response by "
        f"{slack_date(due_at)}"
    )
    owned = f"Owner: {user_mention(owner)}" if owner else "Nobody has taken it."
    blocks: list[Block] = [
        SectionBlock(text=_md(headline)),
        SectionBlock(text=_md(f"*{escape(subject)}*")) if subject else DividerBlock(),
        ContextBlock(elements=[_md(owned)]),
    ]
    return _post(channel, headline, blocks)


# --- ephemeral answers to /ticket -------------------------------------------------------------------------


def confirmation(ticket_id: str, notes: Sequence[str] = ()) -> dict[str, Any]:
    """The ephemeral confirmation: the ticket is on its way (with what was filled in for you, if anything)."""
    text = f":white_check_mark: Ticket `{escape(ticket_id)}` created. The triage will be posted in the ticket channel."
    if notes:
        text += "\n" + "\n".join(f"• {n}" for n in notes)
    return {"text": text, "blocks": _dump([SectionBlock(text=_md(text))])}


def error_message(title: str, lines: Sequence[str] = ()) -> dict[str, Any]:
    """An ephemeral error with one bullet per problem."""
    body = "\n".join(f"• {escape(line)}" for line in lines)
    text = f":warning: {title}" + (f"\n{body}" if body else "")
    return {"text": clip(text, SECTION_MAX), "blocks": _dump([SectionBlock(text=_md(text))])}


def info_message(text: str) -> dict[str, Any]:
    """An ephemeral answer; `text` is mrkdwn the caller built (customer parts escaped)."""
    return {"text": clip(text, SECTION_MAX), "blocks": _dump([SectionBlock(text=_md(text))])}


def refusal(what: str, setting: str) -> dict[str, Any]:
    """The ephemeral answer to someone without the role an action needs."""
    text = f":no_entry: You're not allowed to {what} (ask an admin to add you to `{setting}`)."
    return {"text": text, "blocks": _dump([SectionBlock(text=_md(text))])}


def help_message() -> dict[str, Any]:
    """`/ticket help`."""
    text = (
        "*tms: support tickets from Slack*\n"
        "• `/ticket`: open the ticket form (subject, description, product, issue type, customer).\n"
        "• `/ticket <subject> | <description>`: create a ticket for yourself as the customer "
        "(product and issue type: Unspecified).\n"
        "• `/ticket status <ticket id>`: status, priority, sentiment and a link to the ticket's thread.\n"
        "• `/ticket mine`: the open tickets you own, with their first-response due times.\n"
        "• `/ticket watch [company]` / `/ticket unwatch` (admins, in a customer channel): customers' "
        "requests there become tickets, answered in their thread.\n"
        "• :ticket: on any message, or the *Create ticket* message shortcut: a ticket from that message.\n"
        "• `/ticket away` / `/ticket back`: stop or resume getting new tickets while you are on call.\n"
        "• `/ticket help`: this message.\n"
        "Each ticket is triaged (sentiment, priority, a drafted reply) and posted in the ticket channel, "
        "where *Approve reply*, *Edit reply*, *Change priority* and *Resolve* act on it."
    )
    return {"text": text, "blocks": _dump([SectionBlock(text=_md(text))])}


def away_message(away: bool, *, on_call: bool) -> dict[str, Any]:
    """`/ticket away` and `/ticket back` (only the agent sees it)."""
    if away:
        text = ":palm_tree: You are away: new tickets go to the other on-call agents until `/ticket back`."
    else:
        text = ":wave: Welcome back: new tickets come to you again while you are on call."
    if not on_call:
        text += " (You are not on call now, so routing does not send you tickets anyway.)"
    return {"text": text, "blocks": _dump([SectionBlock(text=_md(text))])}


def status_message(item: Mapping[str, Any], permalink: str | None) -> dict[str, Any]:
    """`/ticket status <id>`."""
    view = TicketView.from_item(item)
    link = f"<{escape(permalink)}|Open the thread>" if permalink else "No Slack thread yet."
    text = f"*{escape(view.ticket_id)}* · {escape(view.subject)}"
    fields = [
        _md(f"*Status*\n{escape(view.status)}", FIELD_MAX),
        _md(f"*Priority*\n{view.priority_marker} {escape(view.priority) or '(not triaged yet)'}", FIELD_MAX),
        _md(
            f"*Sentiment*\n{escape(view.sentiment) or '(not detected yet)'}\n{_scores_line(view)}", FIELD_MAX
        ),
        _md(f"*Thread*\n{link}", FIELD_MAX),
    ]
    return {"text": text, "blocks": _dump([SectionBlock(text=_md(text), fields=fields)])}


def mine_message(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """`/ticket mine`: the agent's open tickets, soonest due first."""
    if not items:
        text = "You own no open tickets. *Take it* on a ticket post makes it yours."
        return {"text": text, "blocks": _dump([SectionBlock(text=_md(text))])}
    lines = []
    for item in items[:40]:
        view = TicketView.from_item(item)
        breached = " :rotating_light: breached" if item.get("sla_breached") else ""
        lines.append(
            f"• `{escape(view.ticket_id)}` {view.priority_marker} {escape(view.priority)} · "
            f"{escape(clip(view.subject, 80))} · "
            f"due {slack_date(view.sla_due_at)}{breached}"
        )
    text = f"*Your open tickets ({len(items)})*\n" + "\n".join(lines)
    return {"text": clip(text, SECTION_MAX), "blocks": _dump([SectionBlock(text=_md(text))])}


# --- modals -----------------------------------------------------------------------------------------------


def _text_input(
    block_id: str,
    label: str,
    *,
    max_length: int,
    multiline: bool = False,
    optional: bool = False,
    initial: str = "",
):
    return InputBlock(
        block_id=block_id,
        label=label,
        optional=optional,
        element=PlainTextInputElement(
            action_id=VALUE,
            multiline=multiline,
            max_length=max_length,
            initial_value=clip(initial, max_length) or None,
        ),
    )


def _select(block_id: str, label: str, choices: Sequence[str]) -> InputBlock:
    options = [Option(text=clip(c, 75), value=c) for c in choices[:SELECT_MAX_OPTIONS]]
    return InputBlock(
        block_id=block_id,
        label=label,
        element=StaticSelectElement(
            action_id=VALUE, placeholder=f"Choose a {label.lower()}", options=options
        ),
    )


def ticket_form(
    products: Sequence[str],
    issue_types: Sequence[str],
    channel_id: str,
    prefill: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The /ticket modal; private_metadata keeps the channel for the confirmation. `prefill` (the "Create
    ticket" message shortcut) gives initial values: subject, description, customer_name, customer_email,
    customer_company (plain text inputs show them as text, nothing is parsed as markup)."""
    values = dict(prefill or {})
    email = values.get("customer_email", "")
    return View(
        type="modal",
        callback_id=TICKET_FORM,
        title="New ticket",
        submit="Create",
        close="Cancel",
        private_metadata=json.dumps({"channel_id": channel_id}),
        blocks=[
            _text_input("subject", "Subject", max_length=SUBJECT_MAX, initial=values.get("subject", "")),
            _text_input(
                "description",
                "Description",
                max_length=min(DESCRIPTION_MAX, INPUT_MAX),
                multiline=True,
                initial=values.get("description", ""),
            ),
            _select("product", "Product", products),
            _select("issue_type", "Issue type", issue_types),
            _text_input(
                "customer_name",
                "Customer name (first and last)",
                max_length=200,
                initial=values.get("customer_name", ""),
            ),
            InputBlock(
                block_id="customer_email",
                label="Customer email",
                element=EmailInputElement(action_id=VALUE, initial_value=email or None),
            ),
            _text_input(
                "customer_company",
                "Company",
                max_length=200,
                optional=True,
                initial=values.get("customer_company", ""),
            ),
        ],
    ).to_dict()


def edit_reply_form(
    ticket_id: str, response_text: str, version: int, channel: str, ts: str
) -> dict[str, Any]:
    """The Edit reply modal, prefilled; private_metadata keeps the version the agent started from."""
    return View(
        type="modal",
        callback_id=EDIT_REPLY_FORM,
        title="Edit reply",
        submit="Save",
        close="Cancel",
        private_metadata=json.dumps(
            {"ticket_id": ticket_id, "version": version, "channel": channel, "ts": ts}
        ),
        blocks=[
            ContextBlock(elements=[_md(f"Ticket `{escape(ticket_id)}`")]),
            InputBlock(
                block_id=REPLY_FIELD,
                label="Reply to the customer",
                element=PlainTextInputElement(
                    action_id=VALUE,
                    multiline=True,
                    max_length=INPUT_MAX,
                    initial_value=clip(response_text, INPUT_MAX) or None,
                ),
            ),
        ],
    ).to_dict()
