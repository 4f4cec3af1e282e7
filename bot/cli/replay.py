"""``architect-bot replay`` and ``architect-bot export``: a stored thread re-run against changed
agent files, each recorded answer beside the new one, before the change is synced.

``export <link or id> [-o FILE]`` writes the stored conversation as JSON. ``replay <link or id>
--agents DIR`` (or ``replay --from FILE --agents DIR``) re-runs its answers in order: for each
recorded answer, the turns before it (the recorded user turns and handoff prompts, and the new
answers given so far) are copied into a private in-memory conversation with the agent that
answered it, and that agent, as defined in ``DIR`` (instructions, tools, model and model routes),
answers what was pending. The prompt is built exactly as the bot builds it. No Slack call is made
and nothing is written to the bot's store. ``--turns N`` stops after N answers; ``--json`` prints
one JSON document instead of Markdown. The tokens used (recorded and new) are printed at the end.
Exit codes: 0 done, 1 an answer failed or DIR has errors, 2 bad usage or the thread not found.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.conversation_file import ReadError, from_file, from_store, to_json
from bot.core.conversation import Conversation, Role, Turn

if TYPE_CHECKING:
    from bot.core.engine import Engine

ANSWER_TIME_S = 300.0
DESCRIPTION = (__doc__ or "").replace("``", "`")  # --help shows plain text


def register(subparsers: Any) -> None:
    """Add ``export`` and ``replay``."""
    export = subparsers.add_parser(
        "export",
        help="write a stored thread's conversation as JSON (for replay --from)",
        description=DESCRIPTION,
    )
    export.add_argument("thread", help="a Slack thread link or a TEAM:CHANNEL:TS conversation id (REDIS_URL)")
    export.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    export.set_defaults(func=_export)

    replay = subparsers.add_parser(
        "replay",
        help="re-run a stored thread against changed agent files; recorded and new answers side by side",
        description=DESCRIPTION,
    )
    replay.add_argument("thread", nargs="?", help="a Slack thread link or a TEAM:CHANNEL:TS id (REDIS_URL)")
    replay.add_argument(
        "--from", dest="from_file", type=Path, help="a JSON file `architect-bot export` wrote"
    )
    replay.add_argument("--agents", type=Path, required=True, metavar="DIR", help="the changed agent files")
    replay.add_argument("--turns", type=int, metavar="N", help="re-run at most N answers")
    replay.add_argument("--json", action="store_true", help="one JSON document instead of Markdown")
    replay.set_defaults(func=_replay)


def _quiet_logs() -> None:
    """Log lines (warnings and worse) on stderr: stdout is the report."""
    from bot.logging import configure_logging

    configure_logging(json=False, level="WARNING", stream=sys.stderr)


def _export(args: argparse.Namespace) -> int:
    _quiet_logs()
    try:
        conversation = from_store(args.thread)
    except ReadError as exc:
        print(f"architect-bot: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(to_json(conversation), ensure_ascii=False, indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        print(
            f"wrote {conversation.meta.id} ({len(conversation.turns)} turns) to {args.output}",
            file=sys.stderr,
        )
    return 0


@dataclass
class TurnResult:
    """One re-run answer beside the recorded one."""

    number: int
    agent: str
    asked: str
    recorded: str
    recorded_model: str | None
    recorded_tokens: tuple[int, int]
    new: str = ""
    new_model: str | None = None
    new_tokens: tuple[int, int] = (0, 0)
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def _replay(args: argparse.Namespace) -> int:
    _quiet_logs()
    if (args.thread is None) == (args.from_file is None):
        print(
            "architect-bot: give a thread link / conversation id, or --from FILE (one of them)",
            file=sys.stderr,
        )
        return 2
    if not args.agents.is_dir():
        print(f"architect-bot: --agents {str(args.agents)!r} is not a folder", file=sys.stderr)
        return 2
    try:
        conversation = from_file(args.from_file) if args.from_file else from_store(args.thread)
    except ReadError as exc:
        print(f"architect-bot: {exc}", file=sys.stderr)
        return 2
    engine, broken = _engine(args.agents)
    results = replay(conversation, engine, limit=args.turns)
    if args.json:
        print(json.dumps(_as_json(conversation, args.agents, results), ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(markdown(conversation, args.agents, results))
    return 1 if broken or any(r.error for r in results) else 0


def _engine(folder: Path) -> tuple[Engine, bool]:
    """An engine over the agents in ``folder``, an in-memory store and no Slack (files, tokens)."""
    from bot.adapters.agent_files import load_registry
    from bot.container import Services
    from bot.settings import Settings

    settings = Settings()
    local = replace(
        settings,
        redis_url=None,
        slack_bot_token=None,
        agents_dir=folder,
        routing_file=None,
        aws_lambda_function_name=None,  # a local run, even where Lambda's variables are set
    )
    registry = load_registry(
        folder, folder / "routing.yaml", settings.default_model, model_routes=settings.model_routes
    )
    errors = [p for p in registry.problems if p.severity == "error"]
    for problem in errors:
        where = f"{problem.file}:{problem.line}" if problem.line else problem.file
        print(f"{where}: error: {problem.message}", file=sys.stderr)
    return Services(local, registry).engine, bool(errors)


def replay(conversation: Conversation, engine: Engine, *, limit: int | None = None) -> list[TurnResult]:
    """Re-run the recorded answers of ``conversation`` in order (see the module doc)."""
    results: list[TurnResult] = []
    new_text: dict[str, str] = {}
    turns = conversation.turns
    for index, turn in enumerate(turns):
        if turn.role is not Role.ASSISTANT:
            continue
        if limit is not None and len(results) >= limit:
            break
        history = tuple(
            t.model_copy(update={"text": new_text[t.id]}) if t.id in new_text else t for t in turns[:index]
        )
        result = _rerun(conversation, history, turn, engine, number=len(results) + 1)
        new_text[turn.id] = result.new or turn.text
        results.append(result)
    return results


def _rerun(
    conversation: Conversation, history: tuple[Turn, ...], recorded: Turn, engine: Engine, *, number: int
) -> TurnResult:
    from bot.errors import BotError

    agent = recorded.agent or conversation.meta.agent
    asked = "\n".join(t.text for t in history if t.role is Role.USER and t.id in recorded.answered)
    usage = recorded.usage
    result = TurnResult(
        number=number,
        agent=agent,
        asked=asked,
        recorded=recorded.text,
        recorded_model=usage.model if usage else None,
        recorded_tokens=(usage.input_tokens, usage.output_tokens) if usage else (0, 0),
    )
    meta = conversation.meta.model_copy(
        update={
            "agent": agent,
            "model": None,
            "last_answer_id": None,
            "pending_approval": None,
            "shown": {},
            "votes": {},
        }
    )
    copy_id = f"replay:{uuid.uuid4().hex}"
    try:
        engine.copy_in(Conversation(meta=meta, turns=history), conversation_id=copy_id)
        stream = engine.answer(copy_id, deadline=engine.clock.monotonic() + ANSWER_TIME_S)
        plan = stream.open()
        if plan is None:
            result.error = "nothing was pending before this answer"
            return result
        result.new_model = plan.model
        result.new = "".join(part for part in stream if isinstance(part, str))
        if stream.paused is not None:
            result.notes.append(
                f"stopped: the answer waits for approval of {stream.paused.tool} (not run here)"
            )
        answer = stream.result
        if answer is not None and answer.turn.usage is not None:
            result.new_tokens = (answer.turn.usage.input_tokens, answer.turn.usage.output_tokens)
            result.new_model = answer.turn.usage.model or result.new_model
    except BotError as error:
        result.error = f"{error.kind}: {error.for_terminal}"
    return result


def _tokens(results: list[TurnResult]) -> dict[str, dict[str, int]]:
    return {
        "recorded": {
            "input": sum(r.recorded_tokens[0] for r in results),
            "output": sum(r.recorded_tokens[1] for r in results),
        },
        "new": {
            "input": sum(r.new_tokens[0] for r in results),
            "output": sum(r.new_tokens[1] for r in results),
        },
    }


def markdown(conversation: Conversation, folder: Path, results: list[TurnResult]) -> str:
    """Each turn: what was asked, then the recorded answer beside (after) the new one; tokens last."""
    out = [f"# Replay of {conversation.meta.id} with the agents in {folder}\n"]
    for r in results:
        out.append(f"## Answer {r.number}: {r.agent}\n")
        if r.asked:
            out.append("> " + r.asked.replace("\n", "\n> ") + "\n")
        out.append(f"### Recorded ({r.recorded_model or 'model unknown'})\n\n{r.recorded.strip()}\n")
        if r.error:
            out.append(f"### New: failed\n\n{r.error}\n")
        else:
            out.append(f"### New ({r.new_model or 'model unknown'})\n\n{r.new.strip()}\n")
        out.extend(f"_{note}_\n" for note in r.notes)
    tokens = _tokens(results)
    out.append(
        f"---\nTokens: recorded {tokens['recorded']['input']} in / {tokens['recorded']['output']} out; "
        f"new {tokens['new']['input']} in / {tokens['new']['output']} out "
        f"({len(results)} answer{'s' if len(results) != 1 else ''} re-run).\n"
    )
    return "\n".join(out)


def _as_json(conversation: Conversation, folder: Path, results: list[TurnResult]) -> dict[str, Any]:
    return {
        "conversation": conversation.meta.id,
        "agents": str(folder),
        "turns": [asdict(r) for r in results],
        "tokens": _tokens(results),
    }
