"""The local rating page (issue 32): the same handler as API Gateway's, on 127.0.0.1, on the port the last
stack used so that links mailed before a restart still open; nothing but /rate is served."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from local import csat_server


def _page(event: dict[str, Any]) -> dict[str, Any]:
    token = (event["queryStringParameters"] or {}).get("t", "")
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "text/plain"},
        "body": f"{event['httpMethod']} {token}",
    }


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 (127.0.0.1)
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""


def test_a_restarted_page_keeps_its_port_and_serves_only_rate(tmp_path: Path) -> None:
    port_file = tmp_path / "csat.port"
    first = csat_server.make_server_on_kept_port(_page, port_file)
    csat_server.serve_in_thread(first)
    base = csat_server.base_url(first)
    try:
        assert _get(f"{base}/rate?t=abc") == (200, "GET abc")
        assert _get(f"{base}/admin")[0] == 404
    finally:
        first.shutdown()
        first.server_close()

    again = csat_server.make_server_on_kept_port(_page, port_file)
    try:
        assert csat_server.base_url(again) == base
    finally:
        again.server_close()
