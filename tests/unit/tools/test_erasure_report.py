"""What `tms customer forget` prints: each ticket whose Slack replies stay unknown, with Slack's reason."""

from __future__ import annotations

from contract.erasure import ErasureReport
from tools.erasure import report_lines


def test_an_untracked_thread_is_printed_with_the_reason_and_what_to_do() -> None:
    report = ErasureReport(
        changed={"dynamodb:tickets": 1, "slack:posts": 1},
        tickets=["TKT-20251103-QW4RT7YU2P"],
        untracked_threads={
            "TKT-20251103-QW4RT7YU2P": "not_in_channel: the bot is not a member of the channel: invite it "
            "(/invite @tms) and run again"
        },
    )

    lines = report_lines(report.as_dict())

    assert any("could not be read" in line for line in lines)
    assert "  TKT-20251103-QW4RT7YU2P: not_in_channel: the bot is not a member" in "\n".join(lines)


def test_nothing_is_said_about_threads_when_every_one_was_read() -> None:
    report = ErasureReport(changed={"slack:posts": 3}, tickets=["TKT-20251103-QW4RT7YU2P"])

    assert not [line for line in report_lines(report.as_dict()) if "could not be read" in line]
