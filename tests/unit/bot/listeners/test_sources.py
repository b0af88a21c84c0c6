"""Removing a wrong knowledge-base source from a grounded draft before approving it (issue 30)."""

from __future__ import annotations

import json

from tests.unit.bot.listeners.test_actions import TID, _click, _item, bot  # noqa: F401

SOURCES = [
    {
        "id": "cognito-login#2",
        "title": "Sign-in fails with NotAuthorizedException",
        "uri": "https://help.example.com/articles/cognito-login",
        "score": 0.71,
    },
    {
        "id": "iam-mfa#0",
        "title": "MFA device out of sync",
        "uri": "https://help.example.com/articles/iam-mfa",
        "score": 0.63,
    },
]


def _ground(bot) -> None:  # noqa: F811
    bot.clients.store._client.update_item(
        TableName="tickets",
        Key={"ticket_id": {"S": TID}},
        UpdateExpression="SET sources = :s, retrieval_confidence = :c",
        ExpressionAttributeValues={":s": {"S": json.dumps(SOURCES)}, ":c": {"N": "0.71"}},
    )


def test_an_agent_removes_a_wrong_source_and_the_post_and_history_follow(bot):  # noqa: F811
    _ground(bot)

    assert _click(bot, "source_remove", "U0ADA", value=f"{TID} iam-mfa#0") == 200

    item = _item(bot)
    assert [s["id"] for s in json.loads(item["sources"])] == ["cognito-login#2"]
    assert item["history"][-1] | {"at": "-"} == {
        "action": "remove_source",
        "actor": "U0ADA",
        "at": "-",
        "source": "iam-mfa#0",
    }
    (update,) = bot.slack.calls_to("chat.update")
    post = json.dumps(update.params["blocks"])
    assert "help.example.com/articles/cognito-login" in post and "iam-mfa" not in post
    thread = [c.params["text"] for c in bot.slack.calls_to("chat.postMessage") if c.params.get("thread_ts")]
    assert thread[-1] == "<@U0ADA> removed the source MFA device out of sync."


def test_removing_a_source_that_is_already_gone_changes_nothing_and_says_so(bot):  # noqa: F811
    _ground(bot)
    _click(bot, "source_remove", "U0ADA", value=f"{TID} iam-mfa#0")
    _click(bot, "source_remove", "U0BOB", value=f"{TID} iam-mfa#0")

    assert len(json.loads(_item(bot)["sources"])) == 1
    (eph,) = bot.slack.calls_to("chat.postEphemeral")
    assert eph.params["user"] == "U0BOB" and "no longer on the draft" in eph.params["text"]


def test_removing_the_last_source_leaves_an_ungrounded_draft(bot):  # noqa: F811
    _ground(bot)
    _click(bot, "source_remove", "U0ADA", value=f"{TID} iam-mfa#0")
    _click(bot, "source_remove", "U0ADA", value=f"{TID} cognito-login#2")

    assert _item(bot)["sources"] == ""
