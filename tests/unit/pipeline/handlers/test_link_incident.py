"""The incident step's Lambda handler on moto DynamoDB with the offline embedding model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from contract import clients, names
from contract.models import Customer, Priority, Source, TicketData, TicketSubmitted
from pipeline.adapters import vector_index as vi
from pipeline.adapters.incident_store import DynamoIncidentStore
from pipeline.handlers import link_incident
from pipeline.settings import incident_settings

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


@dataclass
class LambdaContext:
    function_name: str = "tms-link-incident"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:tms-link-incident"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"


def _ticket(
    subject: str, description: str, minutes: int, company: str, product: str = "Amazon S3"
) -> TicketSubmitted:
    return TicketSubmitted.new(
        TicketData(
            subject=subject,
            description=description,
            customer=Customer(
                first_name="Kim",
                last_name=company,
                full_name=f"Kim {company}",
                email="kim@example.com",
                company=company,
            ),
            product=product,
            issue_type="Access Permissions",
        ),
        Source.API,
        now=T0 + timedelta(minutes=minutes),
    )


def _triage(priority: Priority) -> dict:
    return {
        "response_text": "Hello Kim, ...",
        "priority": priority.value,
        "priority_reasoning": "Outage reported by an unhappy customer.",
        "model_id": "offline-policy-v1",
    }


@pytest.fixture
def table(offline_aws: None, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(names.ENV_TABLE_NAME, "tickets")
    for fn in (incident_settings, link_incident._index, link_incident._store):
        fn.cache_clear()
    clients.clear_cache()
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(
        TableName="tickets",
        AttributeDefinitions=[
            {"AttributeName": "ticket_id", "AttributeType": "S"},
            {"AttributeName": vi.EMBEDDING_DAY, "AttributeType": "S"},
            {"AttributeName": vi.EMBEDDED_AT, "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "ticket_id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[vi.embedding_index_definition()],
        BillingMode="PAY_PER_REQUEST",
    )
    yield client
    for fn in (incident_settings, link_incident._index, link_incident._store):
        fn.cache_clear()
    clients.clear_cache()


def _run(client, ticket: TicketSubmitted, priority: Priority) -> dict:
    _run_item(client, ticket, priority)
    event = {"ticket": ticket.model_dump(mode="json"), "triage": _triage(priority)}
    return link_incident.handler(event, LambdaContext())


def _run_item(client, ticket: TicketSubmitted, priority: Priority = Priority.HIGH) -> None:
    # What the workflow's claim and record steps leave on the item.
    client.put_item(
        TableName="tickets",
        Item={
            "ticket_id": {"S": ticket.ticketId},
            "status": {"S": "TRIAGED"},
            "submitted_at": {"S": ticket.submittedAt.isoformat()},
            "subject": {"S": ticket.data.subject},
            "product": {"S": ticket.data.product},
            "customer_full_name": {"S": ticket.data.customer.full_name},
            "company": {"S": ticket.data.customer.company},
            "priority": {"S": priority.value},
        },
    )


def test_a_burst_forms_one_incident_with_ordinals_companies_and_the_highest_priority(table) -> None:
    first = _ticket(
        "S3 uploads fail with 503 Slow Down",
        "Every PutObject to our buckets in eu-west-1 returns 503 SlowDown since 9:00.",
        0,
        "Acme",
    )
    second = _ticket(
        "Cannot write files to S3 anymore",
        "Uploads to S3 are rejected with a SlowDown error in eu-west-1, reads still work.",
        3,
        "Globex",
    )
    third = _ticket(
        "PutObject errors on our buckets",
        "Our service cannot save files to S3, the SDK keeps retrying 503 Slow Down responses.",
        5,
        "Initech",
    )
    other = _ticket(
        "Question about our invoice",
        "The October invoice shows a reserved instance fee we do not recognise.",
        6,
        "Umbrella",
        product="Amazon EC2",
    )

    assert _run(table, first, Priority.NORMAL)["incident_id"] == ""
    opened = _run(table, second, Priority.HIGH)
    joined = _run(table, third, Priority.MEDIUM)
    alone = _run(table, other, Priority.NORMAL)

    incident_id = "INC-" + first.ticketId.removeprefix("TKT-")
    assert opened["incident_id"] == joined["incident_id"] == incident_id
    assert opened["root_ticket_id"] == first.ticketId
    assert opened["report_line"] == f"2nd report: Kim Globex, Globex: {second.data.subject}"
    assert joined["position"] == joined["count"] == 3
    assert joined["report_line"].startswith("3rd report: Kim Initech, Initech:")
    assert joined["companies"] == ["Acme", "Globex", "Initech"]
    assert joined["priority"] == "HIGH"
    assert alone["incident_id"] == ""

    incident = DynamoIncidentStore("tickets", table).incident(incident_id, first.ticketId)
    assert [m.ticket_id for m in incident.members] == [first.ticketId, second.ticketId, third.ticketId]
    assert [i.incident_id for i in DynamoIncidentStore("tickets", table).open_incidents()] == [incident_id]


def test_a_retried_step_does_not_count_the_ticket_twice(table) -> None:
    first = _ticket(
        "S3 uploads fail with 503 Slow Down",
        "Every PutObject to our buckets in eu-west-1 returns 503 SlowDown.",
        0,
        "Acme",
    )
    second = _ticket(
        "Cannot write files to S3 anymore",
        "Uploads to S3 are rejected with SlowDown in eu-west-1.",
        2,
        "Globex",
    )
    _run(table, first, Priority.NORMAL)
    once = _run(table, second, Priority.HIGH)
    event = {"ticket": second.model_dump(mode="json"), "triage": _triage(Priority.HIGH)}
    again = link_incident.handler(event, LambdaContext())
    assert once["incident_id"] and again["incident_id"] == once["incident_id"]
    assert again["position"] == once["position"] == 2 and again["count"] == 2


def test_tms_incidents_lists_open_incidents_with_their_members(table, monkeypatch, capsys) -> None:
    import json
    from types import SimpleNamespace

    from local import stack
    from tools.cli import main

    first = _ticket(
        "S3 uploads fail with 503 Slow Down", "Every PutObject in eu-west-1 returns 503 SlowDown.", 0, "Acme"
    )
    second = _ticket(
        "Cannot write files to S3 anymore",
        "Uploads to S3 are rejected with SlowDown in eu-west-1.",
        2,
        "Globex",
    )
    _run(table, first, Priority.NORMAL)
    _run(table, second, Priority.HIGH)
    info = SimpleNamespace(table_name="tickets", endpoint_url=None, region="us-east-1")
    monkeypatch.setattr(stack, "resolve", lambda *a, **k: info)

    assert main(["incidents", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["incidents"]
    assert len(listed) == 1
    assert listed[0]["reports"] == 2 and listed[0]["priority"] == "HIGH"
    assert [m["ticket_id"] for m in listed[0]["members"]] == [first.ticketId, second.ticketId]
    assert main(["incidents"]) == 0
    text = capsys.readouterr().out
    assert "2 reports" in text and "Acme, Globex" in text


def test_the_root_ticket_run_again_after_its_incident_opened_stays_alone_as_on_its_first_run(table) -> None:
    # `tms retry` and the local stack's restart re-run a ticket's whole workflow: the incident's first
    # report must come out as it did the first time (alone: the root is never announced as a member).
    first = _ticket(
        "S3 uploads fail with 503 Slow Down",
        "Every PutObject to our buckets in eu-west-1 returns 503 SlowDown.",
        0,
        "Acme",
    )
    second = _ticket(
        "Cannot write files to S3 anymore",
        "Uploads to S3 are rejected with SlowDown in eu-west-1.",
        2,
        "Globex",
    )
    assert _run(table, first, Priority.NORMAL)["incident_id"] == ""
    opened = _run(table, second, Priority.HIGH)

    event = {"ticket": first.model_dump(mode="json"), "triage": _triage(Priority.NORMAL)}
    again = link_incident.handler(event, LambdaContext())

    assert again["incident_id"] == "" and again["position"] == 0
    incident = DynamoIncidentStore("tickets", table).incident(opened["incident_id"], first.ticketId)
    assert [m.ticket_id for m in incident.members] == [first.ticketId, second.ticketId]


class _TwoTopics:
    """Deterministic embedder: "upload" and "login" reports are orthogonal; a report naming both is between."""

    model_id = "fake-two-topics"
    dimensions = 3

    def embed(self, texts: list[str]):
        import numpy as np

        rows = []
        for t in texts:
            v = np.asarray([float("upload" in t), float("login" in t), 0.01], dtype=np.float32)
            rows.append(v / np.linalg.norm(v))
        return np.stack(rows)


def test_a_report_that_links_two_incidents_merges_the_younger_into_the_older(table, monkeypatch) -> None:
    from contract import defaults
    from pipeline.domain.incident_signals import FEATURES

    # Given a link model led by the cosine that merges groups at or above 0.5, and two incidents that
    # formed apart (their words never met): Acme + Globex, then Initech + Umbrella
    fake = _TwoTopics()
    monkeypatch.setattr(link_incident, "embedder", lambda: fake)
    monkeypatch.setitem(
        defaults.INCIDENT_LINK_MODELS,
        fake.model_id,
        {
            "weights": {**dict.fromkeys(FEATURES, 0.0), "cosine": 10.0},
            "bias": -6.0,
            "threshold": 0.5,
            "merge_threshold": 0.5,
        },
    )
    a1 = _ticket("upload fails", "every upload errors", 0, "Acme")
    a2 = _ticket("upload broken", "upload returns errors", 2, "Globex")
    b1 = _ticket("login broken", "nobody can login", 4, "Initech")
    b2 = _ticket("login fails", "login errors for all", 5, "Umbrella")
    assert _run(table, a1, Priority.NORMAL)["incident_id"] == ""
    older = _run(table, a2, Priority.NORMAL)["incident_id"]
    assert _run(table, b1, Priority.NORMAL)["incident_id"] == ""
    younger = _run(table, b2, Priority.HIGH)["incident_id"]
    assert older and younger and older != younger

    # When a report naming both symptoms links to both incidents
    both = _ticket("upload and login down", "upload fails and login fails", 6, "Hooli")
    merged = _run(table, both, Priority.MEDIUM)

    # Then it joins the OLDER incident, which now holds all five reports, companies and the highest priority
    assert merged["incident_id"] == older and merged["root_ticket_id"] == a1.ticketId
    assert merged["count"] == 5 and merged["priority"] == "HIGH"
    assert merged["companies"] == ["Acme", "Globex", "Hooli", "Initech", "Umbrella"]
    assert merged["merged_from"] == [b1.ticketId]  # the bot notes the merge in that thread
    store = DynamoIncidentStore("tickets", table)
    incident = store.incident(older, a1.ticketId)
    assert [m.ticket_id for m in incident.members] == [t.ticketId for t in (a1, a2, b1, b2, both)]
    # and the younger incident is gone: one open incident, its old root pointing to where it went
    assert [i.incident_id for i in store.open_incidents()] == [older]
    old_root = table.get_item(TableName="tickets", Key={"ticket_id": {"S": b1.ticketId}})["Item"]
    assert old_root["incident_merged_into"]["S"] == older and "incident_members" not in old_root

    # When the step is retried, nothing is counted twice
    again = link_incident.handler(
        {"ticket": both.model_dump(mode="json"), "triage": _triage(Priority.MEDIUM)}, LambdaContext()
    )
    assert again["incident_id"] == older and again["count"] == 5


class _Angle:
    """Deterministic embedder: an "upload" report and a "timeout" report sit at cosine 0.45."""

    model_id = "fake-angle"
    dimensions = 2

    def embed(self, texts: list[str]):
        import numpy as np

        return np.stack(
            [
                np.asarray([1.0, 0.0] if "upload" in t else [0.45, (1 - 0.45**2) ** 0.5], np.float32)
                for t in texts
            ]
        )


class _Judge:
    model_id = "stub-judge"

    def __init__(self, answer):
        self.answer, self.asked = answer, []

    def same_problem(self, report, candidates):
        from pipeline.domain.incidents import Verdict

        self.asked.append((report, list(candidates)))
        if isinstance(self.answer, Exception):
            raise self.answer
        return Verdict(self.answer, 480, 12)


@pytest.fixture
def judged(table, monkeypatch):
    """The step with TMS_INCIDENT_JUDGE=reply-model, a cosine-led link model whose band holds cosine 0.45."""
    from contract import defaults
    from pipeline.adapters import link_judge
    from pipeline.domain.incident_signals import FEATURES

    monkeypatch.setenv(names.ENV_INCIDENT_JUDGE, "reply-model")
    incident_settings.cache_clear()
    monkeypatch.setattr(link_incident, "embedder", lambda: _Angle())
    monkeypatch.setitem(
        defaults.INCIDENT_LINK_MODELS,
        _Angle.model_id,
        {
            "weights": {**dict.fromkeys(FEATURES, 0.0), "cosine": 10.0},
            "bias": -5.0,
            "threshold": 0.75,
            "judge_lower": 0.3,
        },
    )

    class Use:
        counted: list[str] = []  # the metrics the step emitted, by name

        def __call__(self, judge):
            monkeypatch.setattr(link_judge, "link_judge", lambda: judge)
            return judge

    use = Use()
    monkeypatch.setattr(
        link_incident.metrics, "add_metric", lambda name, unit, value: use.counted.extend([name] * int(value))
    )
    monkeypatch.setattr(link_incident.metrics, "flush_metrics", lambda: None)
    return use


def test_a_borderline_report_the_second_opinion_confirms_opens_an_incident_and_bills_its_tokens(
    table, judged
) -> None:
    judge = judged(_Judge(True))
    # Given a first report whose text holds the customer's address, which Comprehend found
    first = _ticket(
        "S3 upload hangs", "Every upload times out since 09:00; write to ops@acme.example", 0, "Acme"
    )
    text = first.data.pii_text()
    start = text.index("ops@acme.example")
    pii = {"Entities": [{"Type": "EMAIL", "Score": 0.99, "BeginOffset": start, "EndOffset": start + 16}]}
    _run_item(table, first)
    alone = link_incident.handler(
        {"ticket": first.model_dump(mode="json"), "triage": _triage(Priority.HIGH), "pii": pii},
        LambdaContext(),
    )
    assert alone["incident_id"] == "" and judge.asked == []  # nothing to compare with yet
    # Then its redacted text is stored beside its vector, for the judge to read later
    stored = table.get_item(TableName="tickets", Key={"ticket_id": {"S": first.ticketId}})["Item"]
    kept = stored[names.INCIDENT_TEXT_ATTR]["S"]
    assert "upload times out" in kept and "ops@acme.example" not in kept

    # When a report in other words arrives (cosine 0.45: in the band, under the threshold)
    second = _ticket("Timeouts writing objects", "PUTs stall for a minute then fail", 3, "Globex")
    linked = _run(table, second, Priority.HIGH)

    # Then the judge read both texts, said "same problem", and the two are one incident
    report, shown = judge.asked[-1]
    assert "PUTs stall" in report and shown == [kept]
    assert linked["incident_id"] and linked["root_ticket_id"] == first.ticketId and linked["count"] == 2
    # and its tokens are billed as the reply model's, its outcome counted
    assert linked["usage"]["llm_input_tokens"] == 480 and linked["usage"]["llm_output_tokens"] == 12
    assert judged.counted == ["IncidentSecondOpinionSame"]


def test_a_failing_second_opinion_never_fails_the_ticket(table, judged) -> None:
    from contract.errors import LlmUnavailableError

    judge = judged(_Judge(LlmUnavailableError("Bedrock is unavailable (ServiceUnavailableException)")))
    first = _ticket("S3 upload hangs", "Every upload times out", 0, "Acme")
    second = _ticket("Timeouts writing objects", "PUTs stall then fail", 3, "Globex")
    assert _run(table, first, Priority.HIGH)["incident_id"] == ""
    alone = _run(table, second, Priority.HIGH)
    assert judge.asked and alone["incident_id"] == "" and alone["usage"]["llm_input_tokens"] == 0
    assert judged.counted == ["IncidentSecondOpinionFailed"]


def test_with_the_second_opinion_off_it_is_never_built_or_asked(table, monkeypatch) -> None:
    from pipeline.adapters import link_judge

    def refuse():
        raise AssertionError("the judge was built with TMS_INCIDENT_JUDGE=off")

    monkeypatch.setattr(link_judge, "link_judge", refuse)
    first = _ticket("S3 upload hangs", "Every upload times out", 0, "Acme")
    assert _run(table, first, Priority.HIGH)["incident_id"] == ""
    assert _run(table, _ticket("S3 upload hangs too", "upload times out", 1, "Globex"), Priority.HIGH)[
        "incident_id"
    ]
