"""The one list of stores (contract/erasure.py): every S3 prefix of contract/names.py has a rule, and every
store has an eraser on each runtime; a new prefix or store without one fails here."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.adapters.outbox import OutboxPoster
from bot.handlers.erasure import ErasureSettings, erasers
from contract import erasure, names
from contract.erasure import Runtime, Subject, Target
from local.stack import StackInfo
from tools.erasure import local_erasers


class _NoWarehouse:
    def erase_customer(self, address: str, ticket_ids: frozenset[str]) -> dict[str, int]:
        return {}


def _aws_stores(tmp_path: Path) -> set[str]:
    settings = ErasureSettings(table_name="t", bucket_name="b", schedule_group="g")
    _table, composed = erasers(settings, OutboxPoster(tmp_path / "o.jsonl"), _NoWarehouse())
    return {s for e in composed for s in e.stores}


@pytest.fixture(autouse=True)
def _region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def test_every_s3_prefix_in_the_names_has_an_erasure_rule() -> None:
    assert erasure.s3_prefixes_in_names() == {r.prefix for r in erasure.S3_PREFIXES}
    assert all(r.reason for r in erasure.S3_PREFIXES if r.match == "none")


def test_a_new_prefix_without_a_rule_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(names, "REPORTS_PREFIX", "reports/", raising=False)

    assert erasure.s3_prefixes_in_names() - {r.prefix for r in erasure.S3_PREFIXES} == {"reports/"}


def test_the_erasure_function_covers_every_store_both_runtimes_have(tmp_path: Path) -> None:
    both = {s.name for s in erasure.STORES if s.runtime is Runtime.BOTH}

    assert _aws_stores(tmp_path) == both


def test_the_local_command_covers_every_store(tmp_path: Path) -> None:
    info = StackInfo(
        "http://127.0.0.1:1", "us-east-1", "s", "t", "b", "", "", "", slack_outbox=str(tmp_path / "o")
    )
    local = {s for e in local_erasers(info, _NoWarehouse()) for s in e.stores}

    assert _aws_stores(tmp_path) | local == set(erasure.STORE_NAMES)


def test_the_most_specific_prefix_decides_how_a_key_is_erased() -> None:
    held = erasure.rule_for(names.INBOUND_HELD_PREFIX + "2026-12-01/x.json")
    raw = erasure.rule_for(names.INBOUND_MAIL_PREFIX + "abc")

    assert held is not None and held.prefix == names.INBOUND_HELD_PREFIX
    assert raw is not None and raw.prefix == names.INBOUND_MAIL_PREFIX


def test_a_key_names_a_ticket_by_a_whole_segment_only() -> None:
    ids = frozenset({"TKT-20260101-AAAAAAAAAA"})

    assert erasure.key_names_ticket("tickets/submitted_date=2026-01-01/TKT-20260101-AAAAAAAAAA.json", ids)
    assert erasure.key_names_ticket("lifecycle/TKT-20260101-AAAAAAAAAA/0000000001.1.json", ids)
    assert not erasure.key_names_ticket(
        "tickets/submitted_date=2026-01-01/TKT-20260101-AAAAAAAAAAB.json", ids
    )


def test_a_customer_is_matched_by_address_in_any_case_by_contact_and_by_slack_user() -> None:
    subject = Subject("Ada@Example.com", slack_user="U0ADA")

    assert subject.owns({"customer_email": "ada@example.COM"})
    assert subject.owns({"customer_email": "x@y.z", "contacts": ["ADA@example.com"]})
    assert subject.owns({"customer_email": "x@y.z", "slack_user": "U0ADA"})
    assert not subject.owns({"customer_email": "ana@example.com", "slack_user": "U0ANA"})
    assert Target(subject, frozenset({"T1"}), frozenset({"Ada Lovelace"})).personal_in("dear ADA LOVELACE")
