"""The new-ticket limits are one setting (issue 27.5): mail reads the names the trigger reads, and the old
mail-only names still work, with a warning, until they are removed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contract import names
from pipeline.settings import mail_settings, trigger_settings

MAIL_ENV = {
    names.ENV_TABLE_NAME: "tickets",
    names.ENV_TOPIC_ARN: "arn:aws:sns:us-east-1:123456789012:tickets",
    names.ENV_REPLY_FROM: "support@example.com",
}
TRIGGER_ENV = {
    names.ENV_STATE_MACHINE_ARN: "arn:aws:states:us-east-1:123456789012:stateMachine:tms",
    names.ENV_DLQ_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/tms-dlq",
    names.ENV_BUCKET_NAME: "tms-archive",
}
LIMIT_NAMES = (
    names.ENV_TICKETS_PER_SENDER,
    names.ENV_TICKETS_PER_DOMAIN,
    names.ENV_MAIL_TICKETS_PER_SENDER,
    names.ENV_MAIL_TICKETS_PER_DOMAIN,
)


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The suite raises the general limits for every test (tests/conftest.py): these tests set their own.
    for name in LIMIT_NAMES:
        monkeypatch.delenv(name, raising=False)
    for key, value in {**MAIL_ENV, **TRIGGER_ENV}.items():
        monkeypatch.setenv(key, value)
    mail_settings.cache_clear()
    trigger_settings.cache_clear()
    yield
    mail_settings.cache_clear()
    trigger_settings.cache_clear()


def test_mail_and_the_trigger_read_the_same_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(names.ENV_TICKETS_PER_SENDER, "7")
    monkeypatch.setenv(names.ENV_TICKETS_PER_DOMAIN, "240000")  # over the old mail-only ceiling of 100,000

    mail, trigger = mail_settings(), trigger_settings()

    assert (mail.tickets_per_sender, mail.tickets_per_domain) == (7, 240_000)
    assert (trigger.tickets_per_sender, trigger.tickets_per_domain) == (7, 240_000)


def test_the_old_mail_only_name_is_still_read_with_a_one_line_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(names.ENV_MAIL_TICKETS_PER_SENDER, "3")

    with caplog.at_level("WARNING"):
        mail = mail_settings()

    assert mail.tickets_per_sender == 3
    assert mail.tickets_per_domain == 50  # the default: nothing set it
    assert "TMS_MAIL_TICKETS_PER_SENDER_HOUR is deprecated: set TMS_TICKETS_PER_SENDER_HOUR" in caplog.text
    assert "TMS_MAIL_TICKETS_PER_DOMAIN_HOUR" not in caplog.text


def test_the_general_name_wins_over_the_old_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(names.ENV_TICKETS_PER_DOMAIN, "80")
    monkeypatch.setenv(names.ENV_MAIL_TICKETS_PER_DOMAIN, "12")

    assert mail_settings().tickets_per_domain == 80


def test_a_limit_of_zero_is_refused_at_cold_start_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(names.ENV_TICKETS_PER_SENDER, "0")

    with pytest.raises(ValueError, match="TMS_TICKETS_PER_SENDER_HOUR"):
        mail_settings()
