"""`tms customer forget`: erase a customer (contract/erasure.py lists the stores).

Against a deployed stack the CLI invokes the erasure function (bot/handlers/erasure.py) and prints its
report. Against the local stack it runs the same composition in-process, plus the stores only the local
stack has: the local warehouse (tools/analytics/warehouse.py), the Slack outbox file and the mail outbox.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.logic.erasure import Eraser, WarehouseEraser
from contract import erasure, names
from contract.erasure import ErasureReport, Subject, Target
from contract.errors import TmsError
from local.stack import StackInfo, mail_outbox_dir


class ErasureFailedError(TmsError):
    """The erasure function failed; run the command again (every step is idempotent)."""


@dataclass
class SlackOutboxEraser:
    """Lines of the local Slack outbox that carry the customer's address or name (the redaction line that
    replaced the ticket's post carries neither, and stays)."""

    path: Path
    stores: tuple[str, ...] = (erasure.SLACK_OUTBOX,)

    def erase(self, target: Target) -> dict[str, int]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines(keepends=True)
        except FileNotFoundError:
            return {erasure.SLACK_OUTBOX: 0}
        kept = [line for line in lines if not target.personal_in(line)]
        if len(kept) != len(lines):
            tmp = self.path.with_suffix(".erasing")
            tmp.write_text("".join(kept), encoding="utf-8")
            tmp.replace(self.path)
        return {erasure.SLACK_OUTBOX: len(lines) - len(kept)}


@dataclass
class MailOutboxEraser:
    """The local copies of mails to the customer (`<ticket id>-<n>.eml`, or any that names them)."""

    directory: Path
    stores: tuple[str, ...] = (erasure.MAIL_OUTBOX,)

    def erase(self, target: Target) -> dict[str, int]:
        removed = 0
        for path in sorted(self.directory.glob("*.eml")) if self.directory.is_dir() else []:
            mine = any(path.name.startswith(f"{t}-") for t in target.ticket_ids)
            if mine or target.personal_in(path.read_text(encoding="utf-8", errors="replace")):
                path.unlink()
                removed += 1
        return {erasure.MAIL_OUTBOX: removed}


def local_erasers(info: StackInfo, warehouse: Any) -> list[Eraser]:
    """The local-only stores, and the local warehouse (the erasure function's Redshift stand-in)."""
    return [
        WarehouseEraser(warehouse, stores=(*WarehouseEraser.stores, erasure.WAREHOUSE_QUARANTINE)),
        SlackOutboxEraser(Path(info.slack_outbox or info.env().get(names.ENV_SLACK_OUTBOX, ""))),
        MailOutboxEraser(Path(info.extra.get(names.ENV_MAIL_OUTBOX_DIR) or mail_outbox_dir())),
    ]


def forget_locally(info: StackInfo, subject: Subject, *, warehouse_url: str | None = None) -> ErasureReport:
    """Run the erasure in-process against the local stack (its environment applied first)."""
    from bot.config import load_settings
    from bot.handlers.erasure import ErasureSettings, erasers
    from bot.handlers.notifier import build_poster, build_thread_reader
    from contract.clients import clear_cache
    from tools.analytics.warehouse import open_warehouse

    os.environ.update(info.env())
    clear_cache()
    warehouse = open_warehouse(warehouse_url)
    try:
        settings = load_settings()
        table, composed = erasers(ErasureSettings(), build_poster(settings), None)
        from bot.logic.erasure import forget

        composed += local_erasers(info, warehouse)
        return forget(subject, table, composed, build_thread_reader(settings))
    finally:
        warehouse.close()


def forget_on_aws(info: StackInfo, subject: Subject) -> dict[str, Any]:
    """Invoke the deployed erasure function; its report."""
    from contract.clients import aws_client

    resp = aws_client("lambda", info, profile="invoke").invoke(
        FunctionName=f"{names.PROJECT}-{names.FN_ERASURE}",
        Payload=json.dumps({"email": subject.email, "slack_user": subject.slack_user}).encode(),
    )
    payload = json.loads(resp["Payload"].read() or b"null")
    if resp.get("FunctionError"):
        raise ErasureFailedError(f"the erasure function failed: {payload}")
    return dict(payload)


def forget_customer(info: StackInfo, subject: Subject, *, warehouse_url: str | None = None) -> dict[str, Any]:
    """Erase the customer on the stack `info` describes; the report as JSON."""
    if info.endpoint_url:
        return forget_locally(info, subject, warehouse_url=warehouse_url).as_dict()
    return forget_on_aws(info, subject)


def report_lines(report: dict[str, Any]) -> list[str]:
    """What the command prints: one line per store that changed, or that nothing was found."""
    changed: dict[str, int] = report["changed"]
    if report["nothing_to_erase"]:
        lines = ["nothing to erase: no store holds anything of this customer"]
    else:
        lines = [f"erased {len(report['tickets'])} ticket(s): {', '.join(report['tickets']) or '-'}"]
        lines += [f"  {store:<36} {count}" for store, count in changed.items() if count]
        unchanged = sorted(s for s, c in changed.items() if not c)
        if unchanged:
            lines.append(f"  (nothing in: {', '.join(unchanged)})")
    untracked = report.get("untracked_slack_threads") or []
    if untracked:
        lines.append(
            "Slack thread replies not tracked (posted before tms recorded them) and the thread could not be"
            " read: delete tms's replies by hand, or fix the cause and run again"
        )
        lines += [f"  {u['ticket_id']}: {u['reason']}" for u in untracked]
    lines.append(
        "not reachable (they age out): "
        + "; ".join(f"{u['store']} ({u['window']})" for u in report["unreachable"])
    )
    return lines
