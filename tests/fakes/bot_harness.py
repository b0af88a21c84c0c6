"""The bot as Slack sees it: the Bolt app behind `local.bot_server` on a loopback port, a fake Slack Web API,
and AWS from moto (in-process) or a running local stack. Requests are signed exactly as Slack signs them."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.adapters.catalog import FileCatalog
from bot.adapters.conversations import DynamoConversations
from bot.adapters.kinesis import KinesisTicketWriter
from bot.adapters.replies import SnsReplyQueue
from bot.adapters.slack import SlackDirectory, SlackPoster, make_web_client
from bot.adapters.ticket_store import DynamoTicketStore
from bot.app import Clients, build_app, build_roles, intake_config
from bot.config import BotSettings
from bot.logic.request_guard import RequestGuard
from contract import names
from local.bot_server import make_server, serve_in_thread, url_of
from tests.fakes.slack_api import TEAM_ID, FakeSlackApi, command_body, event_body, interaction_body, sign

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-fake-token"
TICKET_CHANNEL = "C0TICKETS"
ALERTS_CHANNEL = "C0ALERTS"
APP_ID = "A0TMS"  # what the fake requests carry (tests.fakes.slack_api)
# The test workspace's people: agents who may also approve, one lead who is an admin. Tests about roles
# pass their own (`roles=`); nobody else (e.g. "U0STRANGER", "U0GUEST") holds any role.
AGENTS = "U0AGENT,U0ADA,U0NOMAIL,U0NOBODY"
APPROVERS = "U0ALICE,U0BOB,U0LEAD"
ADMINS = "U0LEAD"
DEFAULT_ROLES = {"agents": AGENTS, "approvers": APPROVERS, "admins": ADMINS}
CATALOG = {
    "products": [
        {"product": "Amazon EC2", "issues": [{"issue_type": "Instance Connectivity"}]},
        {
            "product": "Amazon S3",
            "issues": [{"issue_type": "Access Denied"}, {"issue_type": "Instance Connectivity"}],
        },
    ]
}


@dataclass
class Response:
    """An HTTP answer from the bot."""

    status: int
    body: str

    def json(self) -> dict[str, Any]:
        """The body as JSON ({} when empty)."""
        return json.loads(self.body) if self.body else {}


@dataclass
class BotHarness:
    """A running bot wired to `slack` (fake Web API) and the given boto3 clients."""

    slack: FakeSlackApi
    url: str
    clients: Clients
    kinesis: Any
    dynamodb: Any
    stream_name: str
    table_name: str
    sleeps: list[float] = field(default_factory=list)

    def post(
        self, body: str, *, signed: bool = True, timestamp: int | None = None, secret: str = SIGNING_SECRET
    ) -> Response:
        """POST a form body to /slack/events, signed as Slack signs it (unless told otherwise)."""
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signed:
            headers |= sign(secret, body, int(time.time()) if timestamp is None else timestamp)
        req = urllib.request.Request(self.url, data=body.encode("utf-8"), headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback
                return Response(resp.status, resp.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            return Response(e.code, e.read().decode("utf-8"))

    def event(self, event: dict[str, Any], *, event_id: str, retry: int = 0) -> Response:
        """A signed Events API request (JSON); `retry` > 0 sends it as Slack's redelivery does."""
        body = event_body(event, event_id=event_id)
        headers = {"Content-Type": "application/json"} | sign(SIGNING_SECRET, body, int(time.time()))
        if retry:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        req = urllib.request.Request(self.url, data=body.encode("utf-8"), headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback
                return Response(resp.status, resp.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            return Response(e.code, e.read().decode("utf-8"))

    def command(self, text: str, **kwargs: Any) -> Response:
        """A signed /ticket request."""
        return self.post(command_body(text, **kwargs))

    def interact(self, payload: dict[str, Any]) -> Response:
        """A signed interactivity request."""
        return self.post(interaction_body(payload))

    def records(self) -> list[dict[str, Any]]:
        """Every record on the stream, decoded."""
        shards = self.kinesis.list_shards(StreamName=self.stream_name)["Shards"]
        out = []
        for shard in shards:
            it = self.kinesis.get_shard_iterator(
                StreamName=self.stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            out += [
                json.loads(r["Data"])
                for r in self.kinesis.get_records(ShardIterator=it, Limit=10000)["Records"]
            ]
        return out


def button_value(blocks: list[dict[str, Any]], action_id: str) -> str:
    """The value of the button `action_id` in a post's blocks (what a click on it sends)."""
    for block in blocks:
        for element in block.get("elements") or [block.get("accessory") or {}]:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(element["value"])
    raise AssertionError(f"no {action_id} button in the post")


def write_catalog(tmp: Path) -> Path:
    """A small catalog file in the real format."""
    path = tmp / "catalog.json"
    path.write_text(json.dumps(CATALOG))
    return path


class SerializedClient:
    """A boto3 client whose calls run one at a time. DynamoDB applies each write to an item atomically;
    moto's in-process backend does not (two concurrent UpdateItem calls can lose one), so the bot's
    store goes through this to behave like the service under concurrent clicks."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attr(*args, **kwargs)

        return call


def make_tables(kinesis: Any, dynamodb: Any, stream_name: str, table_name: str) -> None:
    """The stream and table the bot uses (moto in-process)."""
    kinesis.create_stream(StreamName=stream_name, ShardCount=1)
    dynamodb.create_table(
        TableName=table_name,
        KeySchema=[{"AttributeName": "ticket_id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "ticket_id", "AttributeType": "S"},
            {"AttributeName": names.ASSIGNEE_ATTR, "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": names.ASSIGNEE_INDEX,
                "KeySchema": [{"AttributeName": names.ASSIGNEE_ATTR, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


@contextmanager
def running_bot(
    *,
    kinesis: Any,
    dynamodb: Any,
    stream_name: str,
    table_name: str,
    catalog_path: Path,
    now: Callable[[], datetime] | None = None,
    slack_api: FakeSlackApi | None = None,
    sns: Any = None,
    topic_arn: str = "",
    sla: Any = None,
    roles: dict[str, str] | None = None,
    four_eyes: str = "on",
    app_id: str = APP_ID,
    team_id: str = TEAM_ID,
    customer_channels: str = "",
) -> Iterator[BotHarness]:
    """Serve the app on a free loopback port with a fake Slack API; sleeps are recorded, never slept.

    Approved replies are published to `topic_arn` (a topic created here, in moto, when none is given).
    Roles are DEFAULT_ROLES unless given (keys agents/approvers/admins/oncall_group); the installation is
    pinned to the fake app and team unless told otherwise."""
    if sns is None:
        import boto3

        sns = boto3.client("sns")
    topic_arn = topic_arn or sns.create_topic(Name="bot-harness-tickets")["TopicArn"]
    with ExitStack() as stack:
        slack = slack_api or stack.enter_context(FakeSlackApi.running())
        sleeps: list[float] = []
        settings = BotSettings(
            signing_secret=SIGNING_SECRET,
            bot_token=BOT_TOKEN,
            api_url=slack.base_url,
            channel=TICKET_CHANNEL,
            alerts_channel=ALERTS_CHANNEL,
            stream_name=stream_name,
            table_name=table_name,
            topic_arn=topic_arn,
            catalog_path=catalog_path,
            slack_app_id=app_id,
            slack_team_id=team_id,
            four_eyes=four_eyes,
            customer_channels=customer_channels,
            **(DEFAULT_ROLES if roles is None else roles),
        )
        web = make_web_client(BOT_TOKEN, slack.base_url, sleep=sleeps.append)
        clock = [0.0]

        def fake_sleep(seconds: float) -> None:
            sleeps.append(seconds)
            clock[0] += seconds

        extra: dict[str, Any] = {"now": now} if now else {}
        if sla is not None:
            extra["sla"] = sla
        clients = Clients(
            slack=web,
            tickets=KinesisTicketWriter(stream_name, kinesis),
            store=DynamoTicketStore(table_name, SerializedClient(dynamodb)),
            catalog=FileCatalog(catalog_path),
            directory=SlackDirectory(web),
            poster=SlackPoster(web, clock=lambda: clock[0], sleep=fake_sleep),
            replies=SnsReplyQueue(topic_arn, sns),
            roles=build_roles(settings, web),
            conversations=DynamoConversations(table_name, SerializedClient(dynamodb)),
            intake=intake_config(settings),
            **extra,
        )
        server = make_server(build_app(settings, clients), RequestGuard(SIGNING_SECRET), port=0)
        serve_in_thread(server)
        try:
            yield BotHarness(
                slack, url_of(server), clients, kinesis, dynamodb, stream_name, table_name, sleeps
            )
        finally:
            server.shutdown()
            server.server_close()


def clear_process_caches() -> None:
    """The notifier and boto3 clients are built once per process; an e2e test brings its own endpoint."""
    from bot.handlers import notifier
    from contract import clients

    clients.clear_cache()
    notifier.notifier.cache_clear()


@contextmanager
def bot_on_local_stack(
    tmp: Path, *, extra_env: dict[str, str] | None = None, with_sla: bool = False, customer_channels: str = ""
) -> Iterator[tuple[BotHarness, Any, FakeSlackApi]]:
    """The whole product on loopback: a fake Slack API, a local stack whose notifier posts to it, and the
    bot in front of the stack (its SLA port wired to the stack's timer function when `with_sla`).

    Process-wide caches (clients, settings, fault plans) are cleared before and after, as a fresh Lambda
    instance would start."""
    from bot.adapters.sla import LambdaSlaNotifier
    from local.runtime import LocalStack

    with FakeSlackApi.running() as slack:
        env = {
            names.ENV_SLACK_BOT_TOKEN: BOT_TOKEN,
            names.ENV_SLACK_API_URL: slack.base_url,
            names.ENV_SLACK_CHANNEL: TICKET_CHANNEL,
            names.ENV_STATE_DIR: str(tmp / "state"),
            names.ENV_AGENTS: AGENTS,
            names.ENV_APPROVERS: APPROVERS,
            names.ENV_ADMINS: ADMINS,
            **(extra_env or {}),
        }
        clear_process_caches()
        try:
            with LocalStack.start(outbox=tmp / "outbox.jsonl", extra_env=env) as stack:
                sla = (
                    LambdaSlaNotifier(stack.info.extra[names.ENV_SLA_FUNCTION], stack.client("lambda"))
                    if with_sla
                    else None
                )
                with running_bot(
                    kinesis=stack.client("kinesis"),
                    dynamodb=stack.client("dynamodb"),
                    stream_name=stack.info.stream_name,
                    table_name=stack.info.table_name,
                    catalog_path=write_catalog(tmp),
                    slack_api=slack,
                    sns=stack.client("sns"),
                    topic_arn=stack.info.topic_arn,
                    sla=sla,
                    customer_channels=customer_channels,
                ) as bot:
                    yield bot, stack, slack
        finally:
            clear_process_caches()
