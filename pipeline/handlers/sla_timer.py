"""SLA timer Lambda: arms a triaged ticket's timers and routes it to an on-call agent (workflow), fires them
(EventBridge Scheduler), and stops or moves them (the bot on a first response or a new priority). Issue 32
adds the follow-ups on the same timers: the nudge and auto-close of a ticket waiting on its customer (armed
by the mailer), and the rating question when a ticket ends (the close, or the bot on a resolve). One event
shape per kind (contract.models)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field, TypeAdapter

from contract.errors import RoutingError
from contract.models import (
    AutoCloseFire,
    AwaitCustomer,
    CsatAsk,
    SlaArm,
    SlaFire,
    SlaFirstResponse,
    SlaReprioritised,
)
from contract.models.routing import ReassignDue
from pipeline.adapters.csat import ComprehendPii, csat_key
from pipeline.adapters.routing import DynamoRoutingStore, SnsReassignPublisher
from pipeline.adapters.sla import DynamoSlaStore, SchedulerTimers, SnsAlertPublisher
from pipeline.domain.autoclose import AutoClosePolicy, AutoCloseService
from pipeline.domain.csat import CsatService, link_validity
from pipeline.domain.routing import Router
from pipeline.domain.sla import SlaService
from pipeline.handlers.mailer import mail_deps
from pipeline.observability import logger, metrics
from pipeline.settings import csat_settings, routing_policy, sla_policy, sla_settings

_commands: TypeAdapter[Any] = TypeAdapter(
    Annotated[
        SlaArm
        | SlaFire
        | SlaFirstResponse
        | SlaReprioritised
        | AwaitCustomer
        | AutoCloseFire
        | CsatAsk
        | ReassignDue,
        Field(discriminator="kind"),
    ]
)


@cache
def _timers() -> SchedulerTimers:
    s = sla_settings()
    return SchedulerTimers(
        group=s.schedule_group, target_arn=s.target_arn, role_arn=s.scheduler_role_arn, dlq_arn=s.dlq_arn
    )


@cache
def _service() -> SlaService:
    s = sla_settings()
    return SlaService(
        policy=sla_policy(),
        store=DynamoSlaStore(s.table_name),
        timers=_timers(),
        publisher=SnsAlertPublisher(topic_arn=s.topic_arn, escalation_topic_arn=s.escalation_topic_arn),
    )


@cache
def _router() -> Router:
    s = sla_settings()
    return Router(
        policy=routing_policy(),
        store=DynamoRoutingStore(s.table_name),
        timers=_timers(),
        publisher=SnsReassignPublisher(topic_arn=s.topic_arn),
        sla=sla_policy(),
    )


@cache
def csat_service() -> CsatService | None:
    """The rating question and answer (None when no rating page or key is configured)."""
    c = csat_settings()
    if not c.enabled:
        return None
    store, sender, events, config = mail_deps()
    return CsatService(
        store=store,
        sender=sender,
        events=events,
        config=config,
        key=csat_key(c.key_secret_arn, c.key),
        base_url=c.base_url,
        valid=link_validity(os.environ),
        pii=ComprehendPii(),
    )


@cache
def _autoclose() -> AutoCloseService:
    store, sender, events, config = mail_deps()
    return AutoCloseService(
        policy=AutoClosePolicy.from_env(os.environ),
        store=store,
        timers=_timers(),
        sender=sender,
        events=events,
        config=config,
        rating=csat_service(),
    )


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point."""
    command = _commands.validate_python(event)
    logger.append_keys(ticket_id=command.ticket_id, kind=command.kind)
    service = _service()
    metrics.add_metric(name=f"SlaCommand{command.kind.title().replace('_', '')}", unit="Count", value=1)
    if isinstance(command, SlaArm):
        armed = service.arm(command)
        try:
            assignee = _router().route(command, datetime.now(UTC))
        except RoutingError:
            # Routing is a convenience: the ticket goes on unassigned (Take it, on-call mentions) rather
            # than failing the workflow.
            logger.exception("could not route the ticket")
            metrics.add_metric(name="RoutingFailed", unit="Count", value=1)
            assignee = ""
        return {"armed": armed, "assignee": assignee or None}
    if isinstance(command, ReassignDue):
        moved = _router().reassign(command, datetime.now(UTC))
        metrics.add_metric(
            name="TicketsReassigned" if moved else "ReassignTimersIgnored", unit="Count", value=1
        )
        return {"reassigned_to": moved.assignee if moved else None}
    if isinstance(command, SlaFire):
        message = service.fire(command, datetime.now(UTC))
        metrics.add_metric(name="SlaAlerts" if message else "SlaTimersIgnored", unit="Count", value=1)
        return {"alerted": message.event_type if message else None}
    if isinstance(command, SlaFirstResponse):
        item = service.record_first_response(command.ticket_id, command.at, command.by)
        return {"first_response_at": (item or {}).get("first_response_at")}
    if isinstance(command, AwaitCustomer):
        return {"armed": _autoclose().arm(command)}
    if isinstance(command, AutoCloseFire):
        outcome = _autoclose().fire(command, datetime.now(UTC))
        metrics.add_metric(name=f"AutoClose{outcome.title().replace('_', '')}", unit="Count", value=1)
        return {"autoclose": outcome}
    if isinstance(command, CsatAsk):
        rating = csat_service()
        return {"csat": rating.ask(command.ticket_id, command.at) if rating else "off"}
    if not isinstance(command, SlaReprioritised):  # pragma: no cover - the union is closed
        raise TypeError(f"unknown SLA command {command.kind}")
    moved_sla = service.reprioritise(command.ticket_id, command.priority)
    return {"rearmed": moved_sla.model_dump(mode="json") if moved_sla else None}
