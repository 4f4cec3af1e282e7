"""``architect-bot chat [AGENT]``: talk to an agent in the terminal, with the same engine as Slack.

Answers stream as Markdown, with a line for each tool call the agent makes; a call that needs
approval asks at the prompt (``y`` approves, anything else denies). After an answer, the agent's
handoffs are offered as numbered choices;
a ``send: false`` handoff puts its prompt in the line editor to change first. Enter sends,
Alt-Enter (or Esc then Enter) starts a new line, pastes of any length are taken whole; Ctrl-C
stops an answer (the part written so far is kept, marked as cut) or, at an empty prompt, leaves;
Ctrl-D or ``/quit`` leaves. ``--redis THREAD`` copies a conversation the bot stored (a Slack thread
link or a ``TEAM:CHANNEL:TS`` id) into a local conversation and continues it there.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

from bot.core.conversation import Conversation, Role, UserMessage
from bot.core.registry import ResolvedHandoff
from bot.errors import BotError

if TYPE_CHECKING:
    from bot.cli.terminal import AnswerView, Terminal
    from bot.container import Services
    from bot.core.engine import AnswerResult, AnswerStream, ApprovalRequest, Engine

NO_CREDENTIALS = (
    "architect-bot chat needs an OpenAI API key.\n"
    "  export OPENAI_API_KEY=sk-...          # your key\n"
    "  export OPENAI_BASE_URL=http://host/v1 # optional: any OpenAI-compatible server\n"
    "Optional: REDIS_URL=redis://127.0.0.1:6379/0 to keep conversations (default: in memory)."
)
NO_TERMINAL_EXTRAS = (
    "architect-bot chat needs the terminal extras (prompt-toolkit, rich):\n"
    "  pip install 'architect-bot[terminal]'   # `make test` / `make run` install them into .venv"
)
ANSWER_TIME_S = 600.0  # an answer in the terminal may take this long (Slack's is bounded by Lambda)
HISTORY_SHOWN = 6  # earlier messages shown when continuing a stored conversation
QUIT = frozenset({"/quit", "/exit", "/q"})
HELP = frozenset({"/help", "/?", "/h"})
_LINK = re.compile(r"/archives/(?P<channel>[A-Z0-9]+)/p(?P<seconds>\d{10})(?P<micros>\d{6})")


def register(subparsers: Any) -> None:
    """Add ``chat``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "chat",
        help="talk to an agent in the terminal",
        description=__doc__.split("\n")[0].replace("``", ""),
        epilog=(
            "Keys: Enter sends, Alt-Enter (or Esc Enter) adds a line, Ctrl-C stops an answer or "
            "leaves an empty prompt, Ctrl-D leaves. History: $XDG_STATE_HOME/architect-bot/chat_history."
        ),
    )
    parser.add_argument("agent", nargs="?", help="agent verb or name (default: the routing's default agent)")
    parser.add_argument(
        "--redis",
        metavar="THREAD",
        help="continue a conversation from the bot's store (REDIS_URL): a Slack thread link or a "
        "TEAM:CHANNEL:TS id; it is copied, nothing is written to the bot's store",
    )
    parser.add_argument("--verbose", action="store_true", help="show log lines (on stderr)")
    parser.add_argument("--no-history", action="store_true", help="do not read or write the input history")
    parser.set_defaults(func=_chat)


def _chat(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except KeyboardInterrupt:  # Ctrl-C anywhere outside an answer: leave quietly
        print(file=sys.stderr)
        return 0
    except BotError as error:
        print(f"architect-bot chat: {error.for_terminal}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - no traceback, ever: say what and how to see more
        if args.verbose:
            import traceback

            traceback.print_exc()
        print(
            f"architect-bot chat: unexpected error ({type(error).__name__}); run with --verbose for details",
            file=sys.stderr,
        )
        return 1


def _run(args: argparse.Namespace) -> int:
    from bot.bootstrap import MissingSettingsError, bootstrap
    from bot.settings import SettingsError

    try:
        from bot.cli.terminal import make_terminal
    except ImportError:
        print(NO_TERMINAL_EXTRAS, file=sys.stderr)
        return 2
    try:
        services = bootstrap(
            required=("openai_api_key",),
            log_level="INFO" if args.verbose else "CRITICAL",  # no log noise unless asked for
            json_logs=False,
            log_stream=sys.stderr,
        )
    except MissingSettingsError:
        print(NO_CREDENTIALS, file=sys.stderr)
        return 2
    except SettingsError as error:  # "invalid settings: MAX_TURNS: should be at least 10 (got '5')"
        print(f"architect-bot chat: {error}", file=sys.stderr)
        return 2
    if args.redis:
        return _continue(args, services, make_terminal(sys.stdin, sys.stdout, history=not args.no_history))
    registry = services.registry
    spec = registry.resolve_verb(args.agent) if args.agent else registry.default_agent
    if spec is None:
        from bot.cli.agents import unknown_agent

        if args.agent is None:
            print("architect-bot: no default agent (routing's default_agent): name one.", file=sys.stderr)
        print(f"architect-bot: {unknown_agent(args.agent or '', registry)}", file=sys.stderr)
        return 2
    terminal = make_terminal(sys.stdin, sys.stdout, history=not args.no_history)
    return Session(services.engine, terminal, agent=spec.name).run()


# ------------------------------------------------------------------------------ --redis THREAD


def thread_of(reference: str) -> tuple[str, str] | None:
    """(channel, thread ts) of a Slack link to a thread or to a message in one; None otherwise.

    ``https://x.slack.com/archives/C123/p1700000000000200?thread_ts=1700000000.000100&cid=C123``
    is a reply in thread ``1700000000.000100``; without ``thread_ts`` the message is the thread.
    """
    match = _LINK.search(reference)
    if match is None:
        return None
    thread_ts = parse_qs(urlparse(reference).query).get("thread_ts", [""])[0]
    if not re.fullmatch(r"\d{10}\.\d{6}", thread_ts):
        thread_ts = f"{match['seconds']}.{match['micros']}"
    return match["channel"], thread_ts


def _find(reference: str, engine: Engine, prefix: str) -> Conversation | str:
    """The stored conversation a reference names, or what to tell the person."""
    reference = reference.strip()
    thread = thread_of(reference)
    if thread is not None:
        channel, thread_ts = thread
        ids = engine.find_thread(channel_id=channel, thread_ts=thread_ts)
        if len(ids) > 1:
            return f"several conversations for that thread (one per team); pass one: {', '.join(ids)}"
        where = f"channel {channel}, thread {thread_ts}"
        conversation_id = ids[0] if ids else None
    else:
        where = repr(reference)
        conversation_id = reference
    conversation = engine.conversation(conversation_id) if conversation_id else None
    if conversation is None:
        return (
            f"no stored conversation for {where} under REDIS_KEY_PREFIX {prefix!r} "
            "(it expired, or the bot never answered there; check REDIS_URL and REDIS_KEY_PREFIX)"
        )
    return conversation


def _continue(args: argparse.Namespace, services: Services, terminal: Terminal) -> int:
    from bot.container import Services

    settings = services.settings
    if settings.redis_url is None:
        print(
            "architect-bot: --redis reads the bot's store: set REDIS_URL (and REDIS_KEY_PREFIX).",
            file=sys.stderr,
        )
        return 2
    found = _find(args.redis, services.engine, settings.redis_key_prefix)
    if isinstance(found, str):
        print(f"architect-bot: {found}", file=sys.stderr)
        return 2
    # A local copy: reproducing a thread must not add turns to the thread's real conversation.
    local = Services(replace(settings, redis_url=None), services.registry, clock=services.clock)
    copy_id = f"cli:{uuid.uuid4().hex}"
    conversation = local.engine.copy_in(found, conversation_id=copy_id)
    session = Session(local.engine, terminal, agent=conversation.agent, conversation_id=copy_id)
    session.show_copied(found.meta.id, conversation)
    return session.run()


# ---------------------------------------------------------------------------------- the session


def person_name() -> str:
    """Who is typing, as the agent sees them: the login name (``you`` when there is none)."""
    import getpass

    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no login name in a bare container
        return "you"
    cleaned = re.sub(r"[^\w.-]", "", name)[:40]
    return cleaned or "you"


@dataclass(frozen=True, slots=True)
class _Offer:
    """The handoffs under the latest answer: which answer, by whom, to whom."""

    answer_id: str
    agent: str
    handoffs: tuple[ResolvedHandoff, ...]


@contextmanager
def _ctrl_c_stops_answer() -> Iterator[None]:
    """While an answer runs, the first Ctrl-C raises StopAnswer (the answer is kept as cut);
    further presses are ignored until the stop has been stored."""
    from bot.core.engine import StopAnswer

    pressed = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal pressed
        if not pressed:
            pressed = True
            raise StopAnswer

    previous = signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class Session:
    """One terminal conversation: read, store, answer (streamed), offer handoffs.

    The engine is the only door to the conversation: :meth:`_send`, :meth:`_answer` and
    :meth:`_hand_off` are the only places that call it.
    """

    def __init__(
        self, engine: Engine, terminal: Terminal, *, agent: str, conversation_id: str | None = None
    ) -> None:
        self.engine = engine
        self.terminal = terminal
        self.agent = agent
        self.started = conversation_id is not None
        self.conversation_id = conversation_id or f"cli:{uuid.uuid4().hex}"
        self.offer: _Offer | None = None
        self.pending = False
        self.person = person_name()

    def _model(self) -> str:
        conversation = self.engine.conversation(self.conversation_id) if self.started else None
        if conversation is not None and conversation.meta.model:
            return conversation.meta.model
        return self.engine.registry.model_for(self.agent).model

    def show_copied(self, source_id: str, conversation: Conversation) -> None:
        """Show the end of a conversation copied from the bot's store, and what is pending."""
        turns = conversation.turns
        self.terminal.info(f"Continuing {source_id} ({len(turns)} messages; a local copy).")
        if len(turns) > HISTORY_SHOWN:
            self.terminal.info(f"... {len(turns) - HISTORY_SHOWN} earlier messages not shown")
        for turn in turns[-HISTORY_SHOWN:]:
            if turn.role is Role.ASSISTANT:
                self.terminal.message(turn.agent or "agent", turn.text, agent=True)
            else:
                self.terminal.message(turn.user_id or "user", turn.text, agent=False)
        last = turns[-1] if turns else None
        if last is not None and last.role is Role.ASSISTANT and last.agent:
            self.offer = _Offer(last.id, last.agent, self.engine.registry.handoffs(last.agent))
        self.pending = bool(conversation.pending_user_turns())

    def run(self) -> int:
        """The read-answer loop; returns the exit code (0: the person left)."""
        plain = type(self.terminal).__name__ == "PlainTerminal"
        keys = (
            "One message per line; /quit or the end of input leaves."
            if plain
            else "Enter sends, Alt-Enter (or Esc Enter) adds a line, Ctrl-C stops an answer, "
            "Ctrl-D or /quit leaves."
        )
        self.terminal.banner(f"Talking to {self.agent} ({self._model()}). {keys}")
        if self.pending:
            self.terminal.info("The last message was not answered yet: answering it now.")
            self._answer()
        elif self.offer is not None and self.offer.handoffs:
            self._offer_choices()
        try:
            while True:
                line = self.terminal.read("\nyou> ")
                if line is None or line.strip() in QUIT:
                    break
                if not line.strip():
                    continue
                choice = line.strip()
                if choice.lower() in HELP:
                    self._help(plain)
                elif choice.isdigit() and self.offer is not None and self.offer.handoffs:
                    self._choose(int(choice))
                elif self._send(line):
                    self._answer()
        except KeyboardInterrupt:
            pass
        self.terminal.goodbye()
        return 0

    def _help(self, plain: bool) -> None:
        """``/help``: the chat's own commands and keys, answered here (never sent to the agent)."""
        lines = [f"You are talking to {self.agent} ({self._model()}). Type a message and press Enter."]
        if not plain:
            lines.append(
                "Alt-Enter (or Esc Enter) adds a line; pastes are taken whole; Up/Down walk the history; "
                "Ctrl-R searches it; Ctrl-X Ctrl-E edits in $EDITOR."
            )
            lines.append(
                "Ctrl-C stops an answer (the part so far is kept) or clears the line; "
                "on an empty line it leaves."
            )
        if self.offer is not None and self.offer.handoffs:
            lines.append(f"A number (1-{len(self.offer.handoffs)}) takes one of the handoffs offered above.")
        lines.append("/help shows this; /quit (or Ctrl-D) leaves.")
        for line in lines:
            self.terminal.info(line)

    # ------------------------------------------------------------------------- engine calls

    def _send(self, text: str) -> bool:
        """Store the person's message (the first one starts the conversation)."""
        message = UserMessage(text=text, user_id=self.person)
        try:
            if self.started:
                self.engine.reply(conversation_id=self.conversation_id, message=message)
            else:
                self.engine.start(conversation_id=self.conversation_id, agent=self.agent, message=message)
                self.started = True
        except BotError as error:
            self.terminal.error(error.for_terminal)
            return False
        return True

    def _answer(self) -> None:
        """Let the agent answer what is pending, streaming; Ctrl-C stops it and keeps the part so far."""
        from bot.core.engine import StopAnswer

        try:
            stream: AnswerStream | None = self.engine.answer(
                self.conversation_id, deadline=self.engine.clock.monotonic() + ANSWER_TIME_S
            )
            result = None
            while stream is not None:  # an answer paused for a tool approval goes on after the decision
                with _ctrl_c_stops_answer():
                    result, paused = self._stream(stream)
                stream = self._decide(paused) if paused is not None else None
        except StopAnswer:  # pressed between two steps: what was stored stays stored
            self.terminal.info("(stopped)")
            return
        if result is not None:
            self.agent = result.agent
            self.offer = _Offer(result.turn.id, result.agent, result.handoffs)
            # a stopped answer ends with the engine's own notice ("Answer stopped..."): not said twice
            if result.handoffs:
                self._offer_choices()

    def _stream(self, stream: AnswerStream) -> tuple[AnswerResult | None, ApprovalRequest | None]:
        """Show one answer stream: text, tool lines; (the stored answer, the approval it waits on)."""
        from bot.core.engine import StopAnswer

        view = None
        try:
            plan = stream.open()
            if plan is None:
                return None, None
            view = self.terminal.answer(plan.agent, plan.model)
            try:
                self._show(stream, view)
            except StopAnswer:  # arrived while a delta was being shown
                for delta in stream.stop():
                    view.feed(delta)
            view.finish()
            view = None
            return stream.result, stream.paused
        except StopAnswer:  # before the model was asked: the message stays pending
            self._close(view)
            self.terminal.info("Stopped before the answer began; your message is kept for the next answer.")
            return None, None
        except BotError as error:
            self._close(view)
            self.terminal.error(error.for_terminal)
            return None, None

    @staticmethod
    def _show(stream: AnswerStream, view: AnswerView) -> None:
        from bot.core.engine import ToolActivity, ToolNotice

        for event in stream.events():
            if isinstance(event, str):
                view.feed(event)
            elif isinstance(event, ToolActivity):
                if event.result is not None:
                    view.note(event.line)
            elif isinstance(event, ToolNotice):
                view.note(event.line)

    def _decide(self, request: ApprovalRequest) -> AnswerStream:
        """Ask at the prompt whether the paused tool call may run; the answer goes on either way."""
        from bot.core.refs import ApprovalRef

        self.terminal.info(f"{request.agent} wants to run {request.tool} and asks first: {request.reason}.")
        self.terminal.info("  " + request.arguments.replace("\n", "\n  "))
        try:
            reply = self.terminal.read("Approve? [y/N] ")
        except KeyboardInterrupt:
            reply = None
        approve = reply is not None and reply.strip().lower() in {"y", "yes"}
        ref = ApprovalRef(
            conversation_id=request.conversation_id, approval_id=request.approval_id, approve=approve
        )
        self.terminal.info(f"-- {'approved' if approve else 'denied'}")
        return self.engine.decide(
            ref=ref,
            by_user=self.person,
            approve=approve,
            deadline=self.engine.clock.monotonic() + ANSWER_TIME_S,
        )

    @staticmethod
    def _close(view: Any) -> None:
        if view is not None:
            view.finish()

    def _choose(self, number: int) -> None:
        assert self.offer is not None
        handoffs = self.offer.handoffs
        if not 1 <= number <= len(handoffs):
            self.terminal.error(f"No handoff {number}: choose 1-{len(handoffs)}, or type a message.")
            return
        handoff = handoffs[number - 1]
        prompt = handoff.handoff.prompt.strip()
        if not handoff.handoff.send:
            self.terminal.info(f"Prompt for {handoff.target} (edit it, Enter sends; Ctrl-C cancels):")
            try:
                edited = self.terminal.read(f"{handoff.target}> ", default=prompt)
            except KeyboardInterrupt:
                self.terminal.info("Handoff cancelled.")
                return
            if edited is None:
                return
            prompt = edited.strip() or prompt
        if self._hand_off(handoff, prompt):
            self._answer()

    def _hand_off(self, handoff: ResolvedHandoff, prompt: str) -> bool:
        from bot.core.refs import HandoffRef

        assert self.offer is not None
        ref = HandoffRef(
            conversation_id=self.conversation_id,
            answer_id=self.offer.answer_id,
            from_agent=self.offer.agent,
            target=handoff.target,
        )
        try:
            outcome = self.engine.hand_off(ref=ref, by_user=self.person, prompt=prompt)
        except BotError as error:
            self.terminal.error(error.for_terminal)
            return False
        self.agent = outcome.to_agent
        self.offer = None
        model = f", model {outcome.model}" if outcome.model else ""
        self.terminal.info(
            f"-- handed off from {outcome.from_agent} to {outcome.to_agent} ({outcome.label}{model})"
        )
        return True

    def _offer_choices(self) -> None:
        from bot.cli.terminal import Choice

        assert self.offer is not None
        self.terminal.choices(
            [Choice(h.handoff.label, h.target, h.handoff.send) for h in self.offer.handoffs]
        )
