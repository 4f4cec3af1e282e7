"""``architect-bot serve``: the bot locally (Socket Mode with SLACK_APP_TOKEN, else HTTP on PORT).

The server lives in :mod:`bot.slack.server`; it is imported only when this command runs.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``serve``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="run the Slack bot locally (Socket Mode or HTTP :3000)",
        description=__doc__.split("\n")[0].replace("``", ""),
    )
    parser.set_defaults(func=_serve)


def _serve(_args: argparse.Namespace) -> int:
    from bot.slack.server import main

    return main()
