"""``architect-bot playground``: a local Slack in the browser with the real bot in it.

``architect-bot run`` (what ``make run`` calls) runs the real bot when Slack settings are set
(``architect-bot serve``) and the playground when none are. The playground lives in
:mod:`bot.playground`; it is imported only when these commands run.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from dataclasses import replace
from typing import Any

SLACK_SETTINGS = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_BOT_TOKEN_SSM_PARAMETER",
    "SLACK_SIGNING_SECRET_SSM_PARAMETER",
    "SECRETS_MANAGER_SECRET_ID",
)
"""Any of these set means "a Slack app is configured": ``run`` then serves the real bot."""


def register(subparsers: Any) -> None:
    """Add ``playground`` and ``run``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "playground",
        help="a local Slack in the browser with the real bot in it (no Slack app needed)",
        description=__doc__.split("\n")[0].replace("``", ""),
    )
    _options(parser)
    parser.set_defaults(func=_playground)
    run: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="`make run`: the real bot with Slack settings, else the playground",
        description="The real bot (serve) when Slack settings are set, else the playground.",
    )
    _options(run)
    run.set_defaults(func=_run)


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=None, help="the page's port (default PORT or 3000; 0 = any free port)"
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="also print the metrics (CloudWatch EMF JSON lines) and debug logs",
    )


def slack_configured(environ: dict[str, str] | os._Environ[str]) -> bool:
    """True when any Slack setting is in the environment."""
    return any(environ.get(name) for name in SLACK_SETTINGS)


def _run(args: argparse.Namespace) -> int:
    if args.verbose:
        os.environ["METRICS_OUTPUT"] = "stdout"
        os.environ["LOG_LEVEL"] = "DEBUG"
    if slack_configured(os.environ):
        from bot.slack.server import main

        return main()
    return _playground(args)


def _playground(args: argparse.Namespace) -> int:
    from bot.errors import ConfigurationError
    from bot.playground.app import Playground
    from bot.settings import Settings, SettingsError

    try:
        settings = Settings()
        if args.verbose:
            settings = replace(settings, metrics_output="stdout", log_level="DEBUG")
    except SettingsError as error:  # "invalid settings: PORT: should be a whole number (got 'x')"
        print(f"architect-bot: {error}", file=sys.stderr)
        return 2
    port = args.port if args.port is not None else settings.port
    playground = Playground(host=args.host, port=port, settings=settings)
    try:
        playground.start()
    except OSError as error:
        print(f"architect-bot: cannot listen on {args.host}:{port}: {error.strerror}", file=sys.stderr)
        return 2
    except ConfigurationError as error:
        print(f"architect-bot: {error.detail}", file=sys.stderr)
        return 2
    print(f"architect-bot playground: open {playground.url} (Ctrl-C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        playground.stop()
    return 0
