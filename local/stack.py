"""How commands find the stack they talk to: the running local stack (`tms local up`) or AWS settings.

`tms local up` writes a small JSON file describing the stack; other commands read it. Nothing here starts
anything.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from contract import names
from contract.clients import LOCAL_CREDENTIALS
from contract.errors import StackNotRunningError

LOCAL_REGION = "us-east-1"
LOCAL_ACCOUNT = "123456789012"


@dataclass(frozen=True)
class StackInfo:
    """Everything a client needs to use a tms stack. `endpoint_url` is None on AWS."""

    endpoint_url: str | None
    region: str
    stream_name: str
    table_name: str
    bucket_name: str
    topic_arn: str
    dlq_url: str
    state_machine_arn: str
    alarms_topic_arn: str = ""
    slack_outbox: str = ""
    pid: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    def public(self) -> dict[str, object]:
        """The JSON line `tms local up` prints."""
        data = asdict(self)
        data.pop("extra")
        return data

    def env(self) -> dict[str, str]:
        """Environment variables that point boto3 and our handlers at this stack."""
        env = {
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            names.ENV_STREAM_NAME: self.stream_name,
            names.ENV_TABLE_NAME: self.table_name,
            names.ENV_BUCKET_NAME: self.bucket_name,
            names.ENV_TOPIC_ARN: self.topic_arn,
            names.ENV_DLQ_URL: self.dlq_url,
            names.ENV_STATE_MACHINE_ARN: self.state_machine_arn,
            names.ENV_ALARMS_TOPIC_ARN: self.alarms_topic_arn,
        }
        if self.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
            # moto accepts any credentials; set them so boto3 never looks for a real profile.
            env["AWS_ACCESS_KEY_ID"] = LOCAL_CREDENTIALS["aws_access_key_id"]
            env["AWS_SECRET_ACCESS_KEY"] = LOCAL_CREDENTIALS["aws_secret_access_key"]
            env["AWS_SESSION_TOKEN"] = LOCAL_CREDENTIALS["aws_session_token"]
        if self.slack_outbox:
            env[names.ENV_SLACK_OUTBOX] = self.slack_outbox
        env.update(self.extra)
        return {k: v for k, v in env.items() if v}

    def apply_env(self) -> None:
        """Export `env()` into this process."""
        os.environ.update(self.env())


def state_dir() -> Path:
    """Where the running local stack is described (TMS_STATE_DIR, else ~/.local/state/tms)."""
    configured = os.environ.get(names.ENV_STATE_DIR)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "tms"


def mail_outbox_dir() -> Path:
    """Where the local stack keeps a copy of every outgoing customer mail (`<ticket id>-<n>.eml`)."""
    return state_dir() / "mail" / "outbox"


def mail_reply_key() -> str:
    """The local key signing reply addresses: made once under the state dir (0600), so replies sent before
    a restart still name their ticket after it."""
    import secrets

    path = state_dir() / "mail" / "reply.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_urlsafe(32))
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_text().strip()


def csat_key() -> str:
    """The local key signing rating links (issue 32): made once under the state dir (0600), so links mailed
    before a restart still verify after it. On AWS the key is a Secrets Manager secret."""
    import secrets

    path = state_dir() / "mail" / "csat.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_urlsafe(32))
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_text().strip()


def csat_port_file() -> Path:
    """Where the local rating page's port is kept: a restarted stack serves the links it mailed before."""
    return state_dir() / "mail" / "csat.port"


def state_file() -> Path:
    """The JSON file `tms local up` writes."""
    return state_dir() / "local-stack.json"


def write_state(info: StackInfo) -> Path:
    """Record a running stack for other commands."""
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(info)))
    tmp.replace(path)
    return path


def clear_state(pid: int) -> None:
    """Forget the recorded stack if it is the one with `pid`."""
    path = state_file()
    try:
        if json.loads(path.read_text()).get("pid") == pid:
            path.unlink()
    except (OSError, ValueError):
        pass


def _reachable(endpoint_url: str) -> bool:
    try:
        # 5 s: a stack busy running workflows (and a Spark ETL beside it) is slow to answer, not gone.
        with urllib.request.urlopen(f"{endpoint_url}/moto-api/", timeout=5):  # noqa: S310 - loopback only
            return True
    except (urllib.error.URLError, OSError):
        return False


def discover_local() -> StackInfo | None:
    """The running local stack, or None when there is none (stale files are ignored)."""
    try:
        data = json.loads(state_file().read_text())
        info = StackInfo(**data)
    except (OSError, ValueError, TypeError):
        return None
    if not info.endpoint_url or not _reachable(info.endpoint_url):
        return None
    return info


def from_environment() -> StackInfo | None:
    """A stack described by TMS_* variables (as on AWS, or set by hand), or None when they are absent."""
    env = os.environ
    if not env.get(names.ENV_STREAM_NAME):
        return None
    return StackInfo(
        endpoint_url=env.get("AWS_ENDPOINT_URL"),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or LOCAL_REGION,
        stream_name=env[names.ENV_STREAM_NAME],
        table_name=env.get(names.ENV_TABLE_NAME, ""),
        bucket_name=env.get(names.ENV_BUCKET_NAME, ""),
        topic_arn=env.get(names.ENV_TOPIC_ARN, ""),
        dlq_url=env.get(names.ENV_DLQ_URL, ""),
        state_machine_arn=env.get(names.ENV_STATE_MACHINE_ARN, ""),
        alarms_topic_arn=env.get(names.ENV_ALARMS_TOPIC_ARN, ""),
        slack_outbox=env.get(names.ENV_SLACK_OUTBOX, ""),
    )


def resolve() -> StackInfo:
    """The stack a command should use: explicit TMS_* settings first, else the running local stack."""
    info = from_environment() or discover_local()
    if info is None:
        raise StackNotRunningError(
            "no stack to talk to: start one with `tms local up` (or set TMS_STREAM_NAME and the other "
            "TMS_* variables for a deployed stack)"
        )
    return info
