"""``architect-bot chat [AGENT]``: talk to an agent in the terminal, with the same engine and store.

The answer streams to the terminal, with a line for each tool call the agent makes. A call that
needs approval asks at the prompt (``y`` approves, anything else denies). After each answer, the
agent's handoffs are offered as numbered choices; a ``send: false`` handoff lets you edit its prompt
first. Works against any OpenAI-compatible server via ``OPENAI_BASE_URL``. Type ``/quit`` (or end
input) to leave.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from typing import Any, TextIO

from bot.core.conversation import UserMessage
from bot.core.engine import AnswerResult, AnswerStream, Engine
from bot.core.refs import ApprovalRef, HandoffRef
from bot.core.tool_loop import ApprovalRequest, ToolActivity, ToolNotice
from bot.errors import BotError

NO_CREDENTIALS = (
    "architect-bot chat needs an OpenAI API key.\n"
    "  export OPENAI_API_KEY=sk-...          # your key\n"
    "  export OPENAI_BASE_URL=http://host/v1 # optional: any OpenAI-compatible server\n"
    "Optional: REDIS_URL=redis://127.0.0.1:6379/0 to keep conversations (default: in memory)."
)


def register(subparsers: Any) -> None:
    """Add ``chat``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "chat", help="talk to an agent in the terminal", description=__doc__.split("\n")[0]
    )
    parser.add_argument("agent", nargs="?", help="agent name or verb (default: the routing's default agent)")
    parser.set_defaults(func=_chat)


def _chat(args: argparse.Namespace) -> int:
    from bot.bootstrap import MissingSettingsError, bootstrap

    try:
        services = bootstrap(required=("openai_api_key",), log_level="WARNING", json_logs=False)
    except MissingSettingsError:
        print(NO_CREDENTIALS, file=sys.stderr)
        return 2
    registry = services.registry
    spec = registry.resolve_verb(args.agent) if args.agent else registry.default_agent
    if spec is None:
        from bot.cli.agents import unknown_agent

        if args.agent is None:
            print("architect-bot: no default agent (routing's default_agent): name one.", file=sys.stderr)
            args.agent = ""
        print(f"architect-bot: {unknown_agent(args.agent, registry)}", file=sys.stderr)
        return 2
    return Session(services.engine, spec.name, sys.stdin, sys.stdout).run()


class Session:
    """One terminal conversation: read, answer (streamed), offer handoffs."""

    def __init__(self, engine: Engine, agent: str, stdin: TextIO, stdout: TextIO) -> None:
        self.engine = engine
        self.agent = agent
        self.stdin = stdin
        self.stdout = stdout
        self.conversation_id = f"cli:{uuid.uuid4().hex}"
        self.started = False

    def _say(self, text: str = "", end: str = "\n") -> None:
        self.stdout.write(text + end)
        self.stdout.flush()

    def _ask(self, prompt: str) -> str | None:
        self._say(prompt, end="")
        line = self.stdin.readline()
        return None if line == "" else line.rstrip("\n")

    def run(self) -> int:
        """The read-answer loop; returns the exit code."""
        self._say(f"Talking to {self.agent}. Type /quit to leave.")
        last: AnswerResult | None = None
        while True:
            line = self._ask("\nyou> ")
            if line is None or line.strip() in {"/quit", "/exit"}:
                return 0
            if not line.strip():
                continue
            if last is not None and line.strip().isdigit():
                last = self._hand_off(last, int(line.strip()))
                continue
            try:
                message = UserMessage(text=line, user_id="terminal")
                if self.started:
                    self.engine.reply(conversation_id=self.conversation_id, message=message)
                else:
                    self.engine.start(conversation_id=self.conversation_id, agent=self.agent, message=message)
                    self.started = True
                last = self._answer() or last
            except BotError as error:
                self._say(f"! {error.user_message}")

    def _answer(self) -> AnswerResult | None:
        self._say(f"\n{self.agent}> ", end="")
        stream = self.engine.answer(self.conversation_id, deadline=self.engine.clock.monotonic() + 600)
        try:
            result = self._show(stream)
        except BotError as error:
            self._say(f"\n! {error.user_message}")
            return None
        if result is not None and result.handoffs:
            self._say("\nHandoffs (type the number):")
            for index, handoff in enumerate(result.handoffs, start=1):
                how = "sends at once" if handoff.handoff.send else "edit the prompt first"
                self._say(f"  [{index}] {handoff.handoff.label} -> {handoff.target} ({how})")
        return result

    def _show(self, stream: AnswerStream) -> AnswerResult | None:
        """Print an answer: text, tool lines, and approvals asked at the prompt (then the rest)."""
        while True:
            for event in stream.events():
                if isinstance(event, str):
                    self._say(event, end="")
                elif isinstance(event, ToolActivity):
                    if event.result is not None:
                        self._say(f"\n  {event.line}")
                elif isinstance(event, ToolNotice):
                    self._say(f"\n  {event.line}")
            self._say()
            request = stream.paused
            if request is None:
                return stream.result
            stream = self._decide(request)

    def _decide(self, request: ApprovalRequest) -> AnswerStream:
        self._say(f"\n{request.agent} wants to run {request.tool} and asks first: {request.reason}.")
        self._say("  " + request.arguments.replace("\n", "\n  "))
        answer = self._ask("Approve? [y/N] ")
        approve = answer is not None and answer.strip().lower() in {"y", "yes"}
        ref = ApprovalRef(
            conversation_id=request.conversation_id, approval_id=request.approval_id, approve=approve
        )
        self._say(f"-- {'approved' if approve else 'denied'}\n{request.agent}> ", end="")
        return self.engine.decide(
            ref=ref,
            by_user="terminal",
            approve=approve,
            deadline=self.engine.clock.monotonic() + 600,
        )

    def _hand_off(self, last: AnswerResult, choice: int) -> AnswerResult | None:
        if not 1 <= choice <= len(last.handoffs):
            self._say(f"! No handoff {choice}; choose 1-{len(last.handoffs)} or type a message.")
            return last
        handoff = last.handoffs[choice - 1]
        prompt = handoff.handoff.prompt
        if not handoff.handoff.send:
            self._say(f"Prompt for {handoff.target}:\n  {prompt.strip()}")
            edited = self._ask("Enter to send as is, or type a new prompt: ")
            if edited is None:
                return last
            prompt = edited.strip() or prompt
        try:
            ref = HandoffRef(
                conversation_id=self.conversation_id,
                answer_id=last.turn.id,
                from_agent=last.agent,
                target=handoff.target,
            )
            outcome = self.engine.hand_off(ref=ref, by_user="terminal", prompt=prompt)
        except BotError as error:
            self._say(f"! {error.user_message}")
            return last
        self.agent = outcome.to_agent
        self._say(f"-- handed off from {outcome.from_agent} to {outcome.to_agent} ({outcome.label})")
        return self._answer() or last
