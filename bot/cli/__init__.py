"""The ``architect-bot`` command line.

Each command group is a module with ``register(subparsers)``; it adds its sub-parser(s) and sets
``func`` (``func(args) -> int`` exit code) on them. Add a group by appending its module to
:data:`_COMMANDS`. Nothing here may import Slack, OpenAI or Redis at module level: the CLI must work
without them (``agents validate`` runs in CI).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from bot import __version__
from bot.cli import agents, chat, playground, replay, serve
from bot.settings import SettingsError

_COMMANDS: list[ModuleType] = [agents, chat, serve, playground, replay]
"""Command-group modules, in help order. Each has ``register(subparsers) -> None``."""


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every registered command group."""
    parser = argparse.ArgumentParser(
        prog="architect-bot", description="Slack bot that serves a team's AI agents (Copilot agent files)."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _COMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 problems found, 2 bad usage)."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return func(args)
    except SettingsError as error:  # a wrong environment variable: named with the reason, no traceback
        print(f"architect-bot: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `architect-bot agents validate --json | head`: the reader left early
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout at exit
        return 1
