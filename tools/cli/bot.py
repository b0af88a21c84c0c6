"""`tms bot`: run the Slack app locally, against the running local stack unless AWS settings are given.

The composition root of the local bot: it joins the deployed Bolt app (bot/) to the local stack it finds.
"""

from __future__ import annotations

import argparse
import os
import sys

from contract import names


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `tms bot`."""
    p = subparsers.add_parser(
        "bot",
        help="run the Slack bot (Socket Mode with SLACK_APP_TOKEN, else HTTP on 127.0.0.1)",
        description=(
            "Runs the /ticket app. With SLACK_APP_TOKEN it connects over Socket Mode; otherwise it serves "
            "POST /slack/events on 127.0.0.1:PORT. Needs SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN; "
            "SLACK_API_URL points it at another Web API (a fake, a proxy). Without TMS_* settings it uses "
            "the stack started by `tms local up`."
        ),
    )
    p.add_argument("--port", type=int, default=3000, help="HTTP port on 127.0.0.1 (default 3000)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Find the stack, build the app, serve until interrupted."""
    from bot.app import build_app, build_clients
    from bot.config import load_settings
    from bot.errors import BotConfigurationError
    from local.bot_server import make_server, serve_socket_mode, url_of

    if not os.environ.get(names.ENV_STREAM_NAME):
        from local.stack import resolve

        resolve().apply_env()  # raises StackNotRunningError with a hint when nothing is running
    try:
        settings = load_settings()
        app = build_app(settings, build_clients(settings))
    except BotConfigurationError as e:
        print(f"tms bot: {e}", file=sys.stderr)
        return 2
    if settings.app_token is not None and settings.app_token.get_secret_value():
        print("tms bot: connecting to Slack over Socket Mode (Ctrl-C to stop)", flush=True)
        serve_socket_mode(app, settings.secret("app_token"))
        return 0
    from bot.logic.request_guard import RequestGuard

    server = make_server(app, RequestGuard(settings.secret("signing_secret")), port=args.port)
    print(f"tms bot: listening on {url_of(server)} (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
