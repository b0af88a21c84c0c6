"""`tms submit`: one ticket onto the stream, from flags, a JSON file or stdin (the producer contract in a
command: README, "Sending tickets from your own system")."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

_FLAG_FIELDS = {
    "subject": ("data", "subject"),
    "description": ("data", "description"),
    "product": ("data", "product"),
    "issue_type": ("data", "issue_type"),
    "first_name": ("data", "customer", "first_name"),
    "last_name": ("data", "customer", "last_name"),
    "full_name": ("data", "customer", "full_name"),
    "email": ("data", "customer", "email"),
    "company": ("data", "customer", "company"),
    "id": ("ticketId",),
    "source": ("source",),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `submit` to the tms command."""
    submit = subparsers.add_parser(
        "submit",
        help="put one ticket on the stream (flags, a JSON file or stdin); prints its id",
        description="Validate one ticket exactly as the trigger will (older shapes are upcast first) and "
        "put it on the stream. The record comes from --file (a JSON object; - reads stdin) and/or flags "
        "(flags win). eventName, ticketId (tms's format), submittedAt (now) and source (api) may be left "
        "out. Prints the ticket id. Exit 2 with every problem named when the ticket is invalid.",
    )
    submit.add_argument("--file", "-f", metavar="PATH", help="a JSON record; - reads it from stdin")
    submit.add_argument("--subject")
    submit.add_argument("--description", help="the text; @PATH reads it from a file (a pasted log, say)")
    submit.add_argument("--product")
    submit.add_argument("--issue-type", dest="issue_type")
    submit.add_argument("--first-name", dest="first_name")
    submit.add_argument("--last-name", dest="last_name")
    submit.add_argument("--name", dest="full_name", help="full name (first and last are split from it)")
    submit.add_argument("--email")
    submit.add_argument("--company")
    submit.add_argument(
        "--id", help="your ticket id (letters, digits, - _ . :, up to 64); default: a new one"
    )
    submit.add_argument("--source", help="api (default), generator or slack")
    submit.add_argument(
        "--stream", help="stream name (default: the running local stack's or TMS_STREAM_NAME)"
    )
    submit.add_argument("--dry-run", action="store_true", help="validate and print, send nothing")
    submit.add_argument("--json", action="store_true", help="print one JSON object")
    submit.set_defaults(func=_submit)


def _read_document(path: str | None) -> dict[str, Any]:
    from contract.errors import ConfigurationError

    if path is None:
        return {}
    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()  # noqa: SIM115
    except OSError as e:
        raise ConfigurationError(f"cannot read {path}: {e.strerror}") from e
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise ConfigurationError(f"{'stdin' if path == '-' else path}: not JSON ({e})") from e
    if not isinstance(doc, dict):
        raise ConfigurationError(f"{'stdin' if path == '-' else path}: expected one JSON object (one ticket)")
    return doc


def document_from(args: argparse.Namespace) -> dict[str, Any]:
    """The record from --file, then the flags on top of it."""
    from contract.errors import ConfigurationError

    doc = _read_document(args.file)
    values = {name: getattr(args, name) for name in _FLAG_FIELDS if getattr(args, name, None) is not None}
    if isinstance(values.get("description"), str) and values["description"].startswith("@"):
        try:
            values["description"] = open(values["description"][1:], encoding="utf-8").read()  # noqa: SIM115
        except OSError as e:
            raise ConfigurationError(f"cannot read {values['description'][1:]}: {e.strerror}") from e
    if "full_name" in values:
        first, _, last = " ".join(values["full_name"].split()).partition(" ")
        values.setdefault("first_name", first)
        values.setdefault("last_name", last)
    elif "first_name" in values and "last_name" in values:
        values["full_name"] = f"{values['first_name']} {values['last_name']}"
    for name, value in values.items():
        target = doc
        *parents, leaf = _FLAG_FIELDS[name]
        for key in parents:
            target = target.setdefault(key, {})
        target[leaf] = value
    if not doc:
        raise ConfigurationError(
            "nothing to submit: give --file PATH (or - for stdin) or the fields as flags"
        )
    return doc


def _submit(args: argparse.Namespace) -> int:
    from contract.clients import aws_client
    from contract.errors import InvalidTicketError, TmsError
    from tools.ingest import submission, submit_ticket

    try:
        ticket = submission(document_from(args))
    except InvalidTicketError as e:
        if args.json:
            print(json.dumps({"sent": False, "problems": e.problems}))
        else:
            print("tms: error: the ticket is invalid, nothing was sent:", file=sys.stderr)
            for problem in e.problems:
                print(f"  {problem}", file=sys.stderr)
        return 2
    if args.dry_run:
        stream = args.stream or ""
    else:
        from local.stack import resolve

        try:
            info = resolve()
            client, stream = aws_client("kinesis", info, profile="ingest"), args.stream or info.stream_name
        except TmsError:
            if not args.stream:
                raise
            client, stream = aws_client("kinesis", profile="ingest"), args.stream
        submit_ticket(ticket, stream_name=stream, client=client)
    if args.json:
        print(json.dumps({"sent": not args.dry_run, "ticket_id": ticket.ticketId, "stream": stream}))
    else:
        print(ticket.ticketId)
    return 0
