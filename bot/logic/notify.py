"""The notifier's logic: SNS messages in, Slack posts and threads out, each posted at most once.

Dedup: before posting, the notifier adds an event key to the item's `slack_posted` set with a conditional
write; a redelivered SNS message finds its key there and posts nothing. If the post itself fails the key is
released and the error propagates, so SNS retries the delivery.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot import blocks
from bot.adapters.slack import Posted, Poster
from bot.errors import MailEventTooEarlyError, TicketConflictError
from bot.logic import actions, conversations
from bot.logic.actions import TicketStore
from bot.logic.conversations import Conversations
from bot.observability import logger
from contract import names
from contract.models import (
    IncidentRef,
    MailEventKind,
    SlaAlertMessage,
    SlackContext,
    TicketFailedMessage,
    TicketMailMessage,
    TicketStatus,
    TicketTriagedMessage,
    format_utc,
    is_ticket_id,
)
from contract.models.routing import TicketReassignedMessage

ALARM_KEY_PREFIX = "ALARM#"
GLUE_KEY_PREFIX = "GLUE#"
ALERT_KEY_PREFIX = "ALERT#"
GLUE_STATE_CHANGE = "Glue Job State Change"
GLUE_SUCCEEDED = "SUCCEEDED"
REPLY_VIA_THREAD = "slack_thread"  # item reply_via of a ticket answered in the customer's own Slack thread


class SesEventMail(BaseModel):
    """The `mail` object of an SES event: the SES message id and our tags (ticket_id)."""

    model_config = ConfigDict(extra="ignore")

    messageId: str = ""
    destination: list[str] = Field(default_factory=list)
    tags: dict[str, list[str]] = Field(default_factory=dict)


class SesEvent(BaseModel):
    """An SES event published by the configuration set's SNS event destination.
    https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html"""

    model_config = ConfigDict(extra="ignore")

    eventType: str
    mail: SesEventMail
    bounce: dict[str, Any] = Field(default_factory=dict)
    complaint: dict[str, Any] = Field(default_factory=dict)
    delivery: dict[str, Any] = Field(default_factory=dict)


SES_EVENT_KINDS = {
    "Delivery": (MailEventKind.DELIVERED, actions.Action.DELIVERED),
    "Bounce": (MailEventKind.BOUNCED, actions.Action.BOUNCED),
    "Complaint": (MailEventKind.COMPLAINED, actions.Action.COMPLAINED),
}


class AlarmNotification(BaseModel):
    """The CloudWatch alarm notification JSON (only the fields the post shows)."""

    model_config = ConfigDict(extra="ignore")

    AlarmName: str
    NewStateValue: str
    OldStateValue: str = ""
    NewStateReason: str = ""
    StateChangeTime: str = ""


class GlueJobDetail(BaseModel):
    """The `detail` of an EventBridge "Glue Job State Change" event."""

    model_config = ConfigDict(extra="ignore")

    jobName: str = Field(min_length=1)
    state: str = Field(min_length=1)
    jobRunId: str = ""
    message: str = ""


class GlueJobEvent(BaseModel):
    """The raw EventBridge event an EventBridge rule publishes to SNS (no CloudWatch alarm wrapper)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str = ""
    detail_type: str = Field(alias="detail-type")
    time: str = ""
    detail: GlueJobDetail


@dataclass(frozen=True)
class Notification:
    """One SNS message as the notifier needs it."""

    message_id: str
    topic_arn: str
    message: str
    event_type: str = ""
    subject: str = ""


@dataclass(frozen=True)
class Outcome:
    """What happened to one message (for logs and tests)."""

    kind: str
    key: str
    posted: Posted | None


class Notifier:
    """Posts ticket triage, failures, alarm changes and Glue runs to Slack, threading later events."""

    def __init__(
        self,
        *,
        store: TicketStore,
        poster: Poster,
        channel: str,
        alerts_channel: str,
        alarms_topic_arn: str = "",
        oncall_group: str = "",
        approvers_configured: bool = False,
        conversations: Conversations | None = None,
    ):
        self._conversations = conversations
        self._store = store
        self._poster = poster
        self._channel = channel
        self._alerts_channel = alerts_channel
        self._alarms_topic_arn = alarms_topic_arn
        self._oncall_group = oncall_group
        # Without approvers nothing can be sent: the post has no Approve and says how to configure them.
        self._approvers_configured = approvers_configured

    def handle(self, n: Notification) -> Outcome:
        """Route one SNS message by topic and event type."""
        if self._alarms_topic_arn and n.topic_arn == self._alarms_topic_arn:
            return self.alert(n)
        body = json.loads(n.message)
        if not isinstance(body, dict):
            raise ValueError(f"SNS message is a JSON {type(body).__name__}, not an object")
        if "AlarmName" in body or body.get("detail-type") == GLUE_STATE_CHANGE:
            return self.alert(n)
        if "eventType" in body and "mail" in body:
            return self.ses_event(SesEvent.model_validate(body), n.message_id)
        event_type = body.get("event_type") or n.event_type
        if event_type == names.EVENT_TICKET_MAIL:
            return self.mail(TicketMailMessage.model_validate(body), n.message_id)
        if event_type == names.EVENT_REPLY_APPROVED:
            return Outcome("ignored", n.message_id, None)  # the mailer's; the approval is already threaded
        if event_type == names.EVENT_TICKET_TRIAGED:
            return self.triaged(TicketTriagedMessage.model_validate(body))
        if event_type == names.EVENT_TICKET_FAILED:
            return self.failed(TicketFailedMessage.model_validate(body), n.message_id)
        if event_type in (names.EVENT_SLA_WARNING, names.EVENT_SLA_BREACHED):
            return self.sla(SlaAlertMessage.model_validate(body))
        if event_type == names.EVENT_TICKET_REASSIGNED:
            return self.reassigned(TicketReassignedMessage.model_validate(body))
        logger.warning("ignoring SNS message of unknown type", extra={"event_type": event_type})
        return Outcome("ignored", n.message_id, None)

    def alert(self, n: Notification) -> Outcome:
        """A message of the alarms topic: a CloudWatch alarm, a Glue job state change, or anything else.

        Whatever publishes to the alarms topic is someone asking for attention, so a shape we do not know
        is posted as it is rather than dropped (an operator may add a rule we have never seen).
        """
        try:
            body = json.loads(n.message)
        except ValueError:
            return self.generic(n)
        if isinstance(body, dict) and "AlarmName" in body:
            try:
                return self.alarm(AlarmNotification.model_validate(body), n.message_id)
            except ValidationError:
                return self.generic(n)
        if isinstance(body, dict) and body.get("detail-type") == GLUE_STATE_CHANGE:
            try:
                event = GlueJobEvent.model_validate(body)
            except ValidationError:
                return self.generic(n)
            return self.glue_job(event, n.message_id)
        return self.generic(n)

    def _post_once(
        self,
        key: str,
        event_key: str,
        payload: dict[str, Any],
        fields: Callable[[Posted], dict[str, Any]] | None = None,
    ) -> Posted | None:
        """Post unless already posted. A ticket's post is recorded on its item with `fields(posted)` in one
        update (erasure redacts every recorded post); other keys (alarms, Glue jobs) record nothing here:
        their items live on and would only grow."""
        if not self._store.claim_post(key, event_key):
            logger.info("already posted", extra={"ticket_id": key, "event_key": event_key})
            return None
        try:
            posted = self._poster.post(payload)
        except Exception:
            # Let the redelivery post it: forget the claim, then propagate (SNS retries the Lambda).
            self._store.release_post(key, event_key)
            raise
        if is_ticket_id(key):
            self._store.record_post(key, posted, fields(posted) if fields else {})
        elif fields:
            self._store.set_fields(key, fields(posted))
        return posted

    def triaged(self, msg: TicketTriagedMessage) -> Outcome:
        """One post per ticket (whatever the number of deliveries); its channel and ts go on the item.

        A later report of an incident goes into the root's thread instead, and the root's post is
        re-rendered with the incident's count, companies and priority (read from the root's item).
        """
        record = msg.record
        # The owner (routing assigns before Notify) and the first-response due time are on the item, not in
        # the message: the first post shows them at once instead of waiting for a later re-render.
        stored = self._store.get(record.ticket_id) or {}
        view = replace(
            blocks.TicketView.from_record(record, msg.slack, truncated=msg.description_truncated),
            approvers_configured=self._approvers_configured,
            assignee=str(stored.get(names.ASSIGNEE_ATTR) or ""),
            sla_due_at=str(stored.get("sla_due_at") or ""),
        )
        incident = msg.incident
        if incident is not None and incident.root_ticket_id != record.ticket_id:
            root = self._store.get(incident.root_ticket_id) or {}
            if root.get("slack_ts"):  # the root is not posted yet (a race): post this one on its own
                return self._incident_report(msg, view, root)

        def fields(posted: Posted) -> dict[str, Any]:
            out = {"slack_channel": posted.channel, "slack_ts": posted.ts}
            if msg.slack:
                out |= slack_fields(msg.slack)
            return out

        posted = self._post_once(
            record.ticket_id, "triaged", blocks.ticket_message(self._channel, view), fields
        )
        if posted and msg.slack and msg.slack.answered_in_slack:
            self.take_in_held(record.ticket_id, msg.slack, posted)
        return Outcome("triaged", record.ticket_id, posted)

    def take_in_held(self, ticket_id: str, slack: SlackContext, root: Posted) -> int:
        """Messages that reached a Slack-born ticket while it was in triage (its customer's follow-up, an
        agent's answer), taken in now as the bot takes in later ones; each noted in the new thread."""
        if self._conversations is None:
            return 0
        taken = 0
        for held in self._conversations.held(conversations.held_key(slack)):
            item = self._store.get(ticket_id)
            if item is None:
                break
            at = _parse_utc(held.get("at", "")) or _utcnow()
            ref = f"{held.get('channel', '')} {held.get('ts', '')}"
            user, text = held.get("user", ""), held.get("text", "")
            if held.get("kind") == "agent":
                change: actions.TicketChange | None = conversations.agent_answered(user, at, text, ref)
                note = f":speech_balloon: {blocks.user_mention(user)} answered in the customer's thread:"
            elif user != slack.user_id and (held.get("user_team") or slack.team_id) != (
                slack.user_team_id or slack.team_id
            ):
                continue  # neither the customer nor their organisation (as for later thread replies)
            else:
                change = conversations.customer_wrote(item, user, at, text, ref)
                note = f":speech_balloon: {blocks.user_mention(user)} wrote in Slack (during triage)."
            if change is None:
                continue
            try:
                self._store.apply(ticket_id, change)
            except TicketConflictError:
                continue
            quoted = "\n".join(
                f"> {line}" for line in blocks.escape(conversations.plain_text(text)).split("\n")
            )
            posted = self._poster.post(blocks.thread_message(root.channel, root.ts, f"{note}\n{quoted}"))
            self._store.record_post(ticket_id, posted, {})
            taken += 1
        return taken

    def _incident_report(
        self, msg: TicketTriagedMessage, view: blocks.TicketView, root: dict[str, Any]
    ) -> Outcome:
        record, incident = msg.record, msg.incident
        assert incident is not None  # noqa: S101 - the caller checked
        channel, root_ts = str(root.get("slack_channel") or self._channel), str(root["slack_ts"])
        view = replace(view, incident_id=incident.incident_id, incident_line=incident.report_line)

        def fields(posted: Posted) -> dict[str, Any]:
            # The member's own ts: actions re-render its card in the thread, never the root's post.
            out = {"slack_channel": posted.channel, "slack_ts": posted.ts, "slack_thread_ts": root_ts}
            if msg.slack:
                out |= slack_fields(msg.slack)
            return out

        posted = self._post_once(
            record.ticket_id, "triaged", blocks.incident_member_message(channel, root_ts, view), fields
        )
        if posted:
            self.note_merges(incident, channel, root_ts)
            self.refresh_incident_root(incident.root_ticket_id)
        return Outcome("incident", record.ticket_id, posted)

    def note_merges(self, incident: IncidentRef, channel: str, root_ts: str) -> int:
        """This report's link merged other incidents (or lone tickets) into this one: a note in each merged
        thread pointing here, one here naming them, and their root posts re-rendered (now members). Once per
        merged ticket (a redelivery finds its claim)."""
        noted = 0
        for merged in incident.merged_from:
            item = self._store.get(merged) or {}
            if not item.get("slack_ts"):
                continue  # never posted (a race): the table and `tms incidents` have it all the same
            where = str(item.get("slack_channel") or self._channel)
            what = blocks.escape(str(item.get("subject") or merged))
            here = f"`{blocks.escape(incident.incident_id)}`"
            posted = self._post_once(
                merged,
                f"incident_merged:{incident.incident_id}",
                blocks.thread_message(
                    where,
                    str(item["slack_ts"]),
                    f":twisted_rightwards_arrows: Merged into incident {here}: its reports continue in "
                    f"that incident's thread ({incident.count} reports so far).",
                ),
            )
            if posted is None:
                continue
            self._post_once(
                incident.root_ticket_id,
                f"incident_merged_in:{merged}",
                blocks.thread_message(
                    channel,
                    root_ts,
                    f":twisted_rightwards_arrows: `{blocks.escape(merged)}` ({what}) and its reports are "
                    f"now part of this incident.",
                ),
            )
            self._refresh_post(item, where, str(item["slack_ts"]))
            noted += 1
        return noted

    def refresh_incident_root(self, root_ticket_id: str) -> None:
        """Re-render the root's post from its item (the incident aggregate as it is now)."""
        root = self._store.get(root_ticket_id) or {}
        if root.get("slack_ts"):
            self._refresh_post(root, str(root.get("slack_channel") or self._channel), str(root["slack_ts"]))

    def failed(self, msg: TicketFailedMessage, message_id: str) -> Outcome:
        """In the ticket's thread when it has one; else a new post that becomes the thread."""
        item = self._store.get(msg.ticket_id) or {}
        thread_ts = item.get("slack_ts")
        channel = item.get("slack_channel") or self._channel
        payload = blocks.failure_message(channel, msg.ticket_id, msg.error, msg.cause, thread_ts)
        posted = self._post_once(
            msg.ticket_id, f"failed:{message_id}", payload, None if thread_ts else _thread_coordinates
        )
        return Outcome("failed", msg.ticket_id, posted)

    def mail(self, msg: TicketMailMessage, message_id: str) -> Outcome:
        """A mail event (sent, not sent, customer replied) in the ticket's thread, once per SNS message."""
        item = self._store.get(msg.ticket_id) or {}
        thread_ts = item.get("slack_ts")
        channel = item.get("slack_channel") or self._channel
        if msg.kind == MailEventKind.UNVERIFIED_MAIL:
            # The owner now (the mail may be minutes old), else the on-call group, else the channel.
            who = (
                str(item.get(names.ASSIGNEE_ATTR) or msg.mention) or self._oncall_group or blocks.MENTION_HERE
            )
            msg = msg.model_copy(update={"mention": who})
        where = customer_thread(item)
        if msg.kind == MailEventKind.REPLY_SENT and msg.via == "slack" and where is not None:
            # The approved reply of a Slack-born ticket, in the customer's thread: once per approval (the
            # mailer's send claim publishes one message; its redeliveries find this claim).
            self._post_once(
                msg.ticket_id,
                f"customer_reply:{message_id}",
                blocks.customer_reply_message(where[0], where[1], msg.text),
            )
        payload = blocks.mail_event_message(channel, thread_ts or "", msg)
        if not thread_ts:
            payload.pop("thread_ts", None)
        posted = self._post_once(
            msg.ticket_id, f"mail:{message_id}", payload, None if thread_ts else _thread_coordinates
        )
        if posted and thread_ts:
            self._refresh_post(item, str(channel), str(thread_ts))
        return Outcome("mail", msg.ticket_id, posted)

    def _refresh_post(self, item: dict[str, Any], channel: str, ts: str) -> None:
        """Re-render the ticket's root post from its item, so its status (SENT, WAITING_CUSTOMER, ...) and
        buttons follow the mail events. Best effort: the thread reply already says what happened. The item is
        read again just before the edit, so two events handled at once do not leave the older state shown."""
        view = blocks.TicketView.from_item(
            self._store.get(str(item["ticket_id"])) or item, approvers_configured=self._approvers_configured
        )
        try:
            self._poster.update(**blocks.ticket_update(channel, ts, view))
        except Exception:
            logger.exception("could not refresh the ticket post", extra={"ticket_id": view.ticket_id})

    def ses_event(self, event: SesEvent, message_id: str) -> Outcome:
        """Delivery, bounce or complaint of one of our mails: recorded on the ticket, posted in its thread."""
        kinds = SES_EVENT_KINDS.get(event.eventType)
        ticket_id = (event.mail.tags.get("ticket_id") or [""])[0]
        if kinds is None or not is_ticket_id(ticket_id):
            logger.info("SES event not for a ticket reply", extra={"event_type": event.eventType})
            return Outcome("ignored", message_id, None)
        kind, action = kinds
        address = ", ".join(event.mail.destination)
        detail = _ses_detail(event)
        change = actions.mail_feedback(action, _utcnow(), address, detail, event.mail.messageId)
        try:
            item = self._store.apply(ticket_id, change)
        except TicketConflictError as e:
            if e.current is None:
                return Outcome("ignored", ticket_id, None)
            item = e.current  # e.g. a delivery after the customer already answered: nothing to move
            if item.get("status") == TicketStatus.SENDING:
                # SES can report the delivery before the mailer recorded the send: let SNS/Lambda retry.
                raise MailEventTooEarlyError(ticket_id) from e
            if kind == MailEventKind.DELIVERED:
                return Outcome("ses", ticket_id, None)
        msg = TicketMailMessage(
            kind=kind,
            ticket_id=ticket_id,
            status=TicketStatus(item.get("status", TicketStatus.SENT)),
            at=_utcnow(),
            address=address,
            text=detail,
            ses_message_id=event.mail.messageId,
        )
        return self.mail(msg, message_id)

    def sla(self, msg: SlaAlertMessage) -> Outcome:
        """A warning in the ticket's thread (mentioning its owner or the on-call group), or a breach in the
        alerts channel linking the ticket. Once per ticket, timer and due time, whatever the deliveries."""
        item = self._store.get(msg.ticket_id) or {}
        channel = str(item.get("slack_channel") or self._channel)
        thread_ts = item.get("slack_ts")
        due = format_utc(msg.due_at)
        owner = str(item.get("assignee") or msg.assignee)
        if msg.event_type == names.EVENT_SLA_WARNING:
            kind = "sla_warning"
            payload = blocks.sla_warning_message(
                channel,
                thread_ts,
                ticket_id=msg.ticket_id,
                priority=msg.priority.value,
                due_at=due,
                who=blocks.mention(owner, self._oncall_group),
            )
        else:
            kind = "sla_breached"
            payload = blocks.sla_breach_message(
                self._alerts_channel,
                ticket_id=msg.ticket_id,
                priority=msg.priority.value,
                subject=str(item.get("subject") or msg.subject),
                due_at=due,
                link=blocks.slack_link(channel, str(thread_ts)) if thread_ts else None,
                owner=owner,
            )
        posted = self._post_once(msg.ticket_id, f"{kind}:{due}", payload)
        return Outcome(kind, msg.ticket_id, posted)

    def reassigned(self, msg: TicketReassignedMessage) -> Outcome:
        """Routing moved an unanswered ticket: say so in its thread (mentioning both agents) and show the new
        owner on the post. Once per ticket (a ticket is reassigned at most once)."""
        item = self._store.get(msg.ticket_id) or {}
        channel = str(item.get("slack_channel") or self._channel)
        thread_ts = item.get("slack_ts")
        payload = blocks.reassigned_message(channel, str(thread_ts) if thread_ts else None, msg)
        posted = self._post_once(
            msg.ticket_id, "reassigned", payload, None if thread_ts else _thread_coordinates
        )
        if posted and thread_ts:
            self._refresh_post(item, channel, str(thread_ts))
        return Outcome("reassigned", msg.ticket_id, posted)

    def alarm(self, alarm: AlarmNotification, message_id: str) -> Outcome:
        """A firing alarm opens a thread; its later changes (ALARM → OK) reply in it."""
        key = ALARM_KEY_PREFIX + alarm.AlarmName
        item = self._store.get(key) or {}
        thread_ts = item.get("slack_ts")
        # A new incident (ALARM after the last one went back to OK) gets a new post.
        opens = not thread_ts or (alarm.NewStateValue == "ALARM" and item.get("alarm_state") == "OK")
        channel = self._alerts_channel if opens else item.get("slack_channel", self._alerts_channel)
        payload = blocks.alarm_message(
            channel,
            name=alarm.AlarmName,
            new_state=alarm.NewStateValue,
            old_state=alarm.OldStateValue,
            reason=alarm.NewStateReason,
            changed_at=alarm.StateChangeTime,
            thread_ts=None if opens else thread_ts,
        )
        posted = self._post_once(key, message_id, payload)
        if posted:
            fields: dict[str, Any] = {"alarm_state": alarm.NewStateValue}
            if opens:
                fields |= {"slack_channel": posted.channel, "slack_ts": posted.ts}
            self._store.set_fields(key, fields)
        return Outcome("alarm", key, posted)

    def glue_job(self, event: GlueJobEvent, message_id: str) -> Outcome:
        """A failed run opens the job's alert thread (or replies in the open one); SUCCEEDED closes it."""
        detail = event.detail
        key = GLUE_KEY_PREFIX + detail.jobName
        item = self._store.get(key) or {}
        thread_ts = item.get("slack_ts")
        incident_open = bool(thread_ts) and item.get("alarm_state") not in (None, GLUE_SUCCEEDED)
        succeeded = detail.state == GLUE_SUCCEEDED
        if succeeded and not incident_open:
            # Every scheduled run that works reaches us too; only a recovery is news.
            return Outcome("glue", key, None)
        channel = item.get("slack_channel", self._alerts_channel) if incident_open else self._alerts_channel
        payload = blocks.glue_job_message(
            channel,
            job_name=detail.jobName,
            state=detail.state,
            message=detail.message,
            run_id=detail.jobRunId,
            at=event.time,
            thread_ts=thread_ts if incident_open else None,
        )
        # EventBridge may deliver one event twice (two SNS messages): its id is the better dedup key.
        posted = self._post_once(key, event.id or message_id, payload)
        if posted:
            fields: dict[str, Any] = {"alarm_state": detail.state}
            if not incident_open:
                fields |= {"slack_channel": posted.channel, "slack_ts": posted.ts}
            self._store.set_fields(key, fields)
        return Outcome("glue", key, posted)

    def generic(self, n: Notification) -> Outcome:
        """A message of the alarms topic we cannot read: posted as it is, once per SNS message."""
        logger.warning("unknown alert shape posted as is", extra={"message_id": n.message_id})
        key = ALERT_KEY_PREFIX + n.message_id
        payload = blocks.generic_alert_message(self._alerts_channel, subject=n.subject, message=n.message)
        return Outcome("alert", key, self._post_once(key, n.message_id, payload))


def slack_fields(slack: SlackContext) -> dict[str, Any]:
    """What a Slack-born ticket's item keeps of its origin: who, and where the customer is answered."""
    out: dict[str, Any] = {"slack_user": slack.user_id}
    if slack.answered_in_slack:
        # A customer's own message (issue 31): the approved reply goes to their thread (or DM), not by mail.
        out |= {
            "reply_via": REPLY_VIA_THREAD,
            "slack_origin": slack.origin,
            "customer_channel": slack.channel_id,
            "customer_thread_ts": slack.thread_ts or "",
            "customer_team": slack.user_team_id or slack.team_id,
        }
    elif slack.requester_is_customer:
        out["reply_via"] = "slack"  # the mailer posts the reply to the agent, no mail
    return out


def customer_thread(item: dict[str, Any]) -> tuple[str, str] | None:
    """The customer's conversation of a Slack-born ticket (channel, thread ts or "" in a DM), or None."""
    if item.get("reply_via") != REPLY_VIA_THREAD or not item.get("customer_channel"):
        return None
    return str(item["customer_channel"]), str(item.get("customer_thread_ts") or "")


def _thread_coordinates(posted: Posted) -> dict[str, Any]:
    """A ticket's first post becomes its thread."""
    return {"slack_channel": posted.channel, "slack_ts": posted.ts}


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _parse_utc(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _ses_detail(event: SesEvent) -> str:
    if event.eventType == "Bounce":
        b = event.bounce
        diag = "; ".join(
            str(r.get("diagnosticCode") or r.get("emailAddress", "")) for r in b.get("bouncedRecipients", [])
        )
        return f"{b.get('bounceType', '?')}/{b.get('bounceSubType', '?')}" + (f": {diag}" if diag else "")
    if event.eventType == "Complaint":
        return str(event.complaint.get("complaintFeedbackType", ""))
    return ""


def parse_or_skip(n: Notification, notifier: Notifier) -> Outcome:
    """Handle one message; a message that breaks the contract is logged and skipped (retrying cannot fix it)."""
    try:
        return notifier.handle(n)
    except (ValidationError, ValueError) as e:
        logger.error(
            "unreadable SNS message skipped", extra={"message_id": n.message_id, "error": str(e)[:500]}
        )
        return Outcome("skipped", n.message_id, None)
