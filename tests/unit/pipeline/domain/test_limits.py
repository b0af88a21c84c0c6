"""The new-ticket limits every intake path shares (issue 27.5): per customer, per domain, freemail exempt."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from contract.models import Customer, Source, TicketSubmitted
from pipeline.domain.limits import Decision, IntakeGate, Limit
from tests.conftest import make_ticket

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


class CountingLimiter:
    """The port's contract in memory: atomic per (limit, key, window) counters, first refusal marked."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, int], int] = defaultdict(int)
        self.refused: set[tuple[str, str, int]] = set()

    def hit(self, limit: Limit, key: str, now: datetime, ref: str = "") -> Decision:
        slot = (limit.name, key, limit.window_start(now))
        if self.counts[slot] < limit.max_count:
            self.counts[slot] += 1
            return Decision(True, self.counts[slot])
        first = slot not in self.refused
        self.refused.add(slot)
        return Decision(False, self.counts[slot], first_refusal=first)


class Alerts:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def limit_hit(self, subject: str, message: str) -> None:
        self.sent.append(subject)


def ticket_from(email: str, source: Source = Source.API) -> TicketSubmitted:
    t = make_ticket()
    customer = Customer(first_name="A", last_name="B", full_name="A B", email=email, company="Acme")
    return t.model_copy(update={"source": source, "data": t.data.model_copy(update={"customer": customer})})


def gate(clock: list[datetime] | None = None) -> tuple[IntakeGate, Alerts]:
    alerts = Alerts()
    now = clock or [NOW]
    return IntakeGate(limiter=CountingLimiter(), alerts=alerts, clock=lambda: now[0]), alerts


def test_the_sixth_ticket_of_an_hour_from_one_customer_is_refused_and_announced_once() -> None:
    g, alerts = gate()
    outcomes = [g.refusal(ticket_from("ana@acme.example")) for _ in range(7)]
    assert outcomes[:5] == [None] * 5
    assert outcomes[5] and "5 new api tickets per hour from ana@acme.example" in outcomes[5]
    assert outcomes[6] is not None and len(alerts.sent) == 1


def test_the_limit_opens_again_in_the_next_hour() -> None:
    clock = [NOW]
    g, _ = gate(clock)
    for _ in range(6):
        g.refusal(ticket_from("ana@acme.example"))
    clock[0] = NOW + timedelta(hours=1)
    assert g.refusal(ticket_from("ana@acme.example")) is None


def test_one_domain_is_limited_but_freemail_customers_are_not_throttled_by_each_other() -> None:
    g, _ = gate()
    acme = [g.refusal(ticket_from(f"user{i}@acme.example")) for i in range(51)]
    assert acme[:50] == [None] * 50 and acme[50] and "from acme.example" in acme[50]
    assert all(g.refusal(ticket_from(f"user{i}@gmail.com")) is None for i in range(60))


def test_mail_and_the_load_generator_are_not_counted_here_and_sources_count_apart() -> None:
    g, _ = gate()
    for source in (Source.EMAIL, Source.GENERATOR):
        assert all(g.refusal(ticket_from("ana@acme.example", source)) is None for _ in range(10))
    for _ in range(5):
        assert g.refusal(ticket_from("bo@acme.example", Source.API)) is None
    assert g.refusal(ticket_from("bo@acme.example", Source.SLACK)) is None  # /ticket counts on its own
    assert g.refusal(ticket_from("BO@acme.example", Source.API)) is not None  # addresses compare case-blind


def slack_ticket(user: str, team: str) -> TicketSubmitted:
    """A customer's own Slack message without an email in their profile (the `.invalid` placeholder)."""
    from contract.models import SlackContext, slack_placeholder_email

    t = ticket_from(slack_placeholder_email(user), Source.SLACK)
    slack = SlackContext(
        team_id="T0OURS", channel_id="C0ACME", user_id=user, origin="channel", user_team_id=team
    )
    return t.model_copy(update={"slack": slack})


def test_slack_customers_count_per_organisation_not_per_placeholder_domain() -> None:
    g, _ = gate()
    acme = [g.refusal(slack_ticket(f"U0ACME{i:02d}", "T0ACME")) for i in range(51)]
    assert acme[:50] == [None] * 50 and acme[50] and "from slack-team-t0acme" in acme[50]
    # Another organisation's people, also without emails, are not throttled by Acme's.
    assert g.refusal(slack_ticket("U0GLOBEX1", "T0GLOBEX")) is None


def test_one_slack_customer_gets_the_same_hourly_limit_as_a_mail_sender() -> None:
    g, _ = gate()
    outcomes = [g.refusal(slack_ticket("U0GRACE", "T0ACME")) for _ in range(6)]
    assert outcomes[:5] == [None] * 5 and outcomes[5] and "u0grace@users.slack.invalid" in outcomes[5]
