"""What the terminal chat reads and shows: a line editor and a Markdown renderer, or plain text.

Two implementations of :class:`Terminal`:

- :class:`RichTerminal` when stdin and stdout are both terminals: input on prompt-toolkit (pastes of
  any length, multi-line input, history across sessions, the usual editing keys) and answers
  rendered as Markdown with rich *while they stream* (finished blocks are printed for good, only
  the block being written is redrawn, so long answers never smear the screen).
- :class:`PlainTerminal` otherwise (pipes, files, tests): one message per input line, answers
  written as the raw text as it arrives, no escape codes.

Keys at the prompt (RichTerminal): Enter sends; Alt-Enter (or Esc then Enter) starts a new line;
a paste is taken whole, newlines included (bracketed paste); Up/Down walk the lines of a message,
then the history; Ctrl-R searches the history; Ctrl-X Ctrl-E edits the message in ``$EDITOR``;
Ctrl-C clears the line, or leaves on an empty one; Ctrl-D on an empty line leaves.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession
    from rich.console import Console, RenderableType
    from rich.live import Live

HISTORY_FILE = "chat_history"


def history_path() -> Path:
    """Where the chat keeps its input history: ``$XDG_STATE_HOME/architect-bot/chat_history``
    (default ``~/.local/state/architect-bot/chat_history``)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "architect-bot" / HISTORY_FILE


@dataclass(frozen=True, slots=True)
class Choice:
    """A handoff offered under an answer, as the terminal lists it."""

    label: str
    target: str
    send: bool


class AnswerView(Protocol):
    """One answer being shown: text deltas as they arrive, then the end."""

    def feed(self, delta: str) -> None:
        """Show more of the answer."""

    def note(self, line: str) -> None:
        """A line between the answer's words: a tool call the agent made, a notice."""

    def finish(self) -> None:
        """The answer is over (finished, cut or stopped): leave it on screen for good."""


class Terminal(Protocol):
    """Everything the chat session reads from and shows to the person."""

    def read(self, prompt: str, default: str = "") -> str | None:
        """One message (may span lines); None at end of input. Ctrl-C raises KeyboardInterrupt."""

    def banner(self, text: str) -> None:
        """The opening line(s)."""

    def info(self, text: str) -> None:
        """A note from the chat itself (not the agent)."""

    def error(self, text: str) -> None:
        """Something went wrong: what happened and what to do."""

    def answer(self, agent: str, model: str) -> AnswerView:
        """Start showing an answer by ``agent`` (written by ``model``)."""

    def message(self, who: str, text: str, *, agent: bool) -> None:
        """An earlier message of a conversation (continuing a stored one)."""

    def choices(self, choices: Sequence[Choice]) -> None:
        """The handoffs offered under the latest answer."""

    def goodbye(self) -> None:
        """Leaving: end the line so the shell's prompt starts on its own line."""


def make_terminal(stdin: TextIO, stdout: TextIO, *, history: bool = True) -> Terminal:
    """A :class:`RichTerminal` when both ends are terminals, else a :class:`PlainTerminal`."""
    if stdin.isatty() and stdout.isatty():
        return RichTerminal(history_file=history_path() if history else None)
    return PlainTerminal(stdin, stdout)


# --------------------------------------------------------------------------------------- plain


class _PlainAnswer:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def feed(self, delta: str) -> None:
        self.out.write(delta)
        self.out.flush()

    def note(self, line: str) -> None:
        self.out.write(f"\n  {line}\n")
        self.out.flush()

    def finish(self) -> None:
        self.out.write("\n")
        self.out.flush()


class PlainTerminal:
    """Plain text both ways: for pipes, redirection and scripts."""

    def __init__(self, stdin: TextIO, stdout: TextIO) -> None:
        self.stdin = stdin
        self.out = stdout

    def _say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def read(self, prompt: str, default: str = "") -> str | None:
        del default  # nothing to edit in a pipe: an empty line keeps the default (the caller's rule)
        self.out.write(prompt)
        self.out.flush()
        line = self.stdin.readline()
        return None if line == "" else line.rstrip("\n")

    def banner(self, text: str) -> None:
        self._say(text)

    def info(self, text: str) -> None:
        self._say(text)

    def error(self, text: str) -> None:
        self._say(f"! {text}")

    def answer(self, agent: str, model: str) -> AnswerView:
        self.out.write(f"\n{agent} ({model})> ")
        self.out.flush()
        return _PlainAnswer(self.out)

    def message(self, who: str, text: str, *, agent: bool) -> None:
        self._say(f"\n{who}> {text}")

    def choices(self, choices: Sequence[Choice]) -> None:
        self._say("\nHandoffs (type the number):")
        for index, choice in enumerate(choices, start=1):
            how = "sends at once" if choice.send else "edit the prompt first"
            self._say(f"  [{index}] {choice.label} -> {choice.target} ({how})")

    def goodbye(self) -> None:
        self._say("")


# ---------------------------------------------------------------------------------------- rich


@dataclass
class _Settled:
    """How much of an answer's Markdown is complete blocks (printed for good) and what is still open."""

    upto: int  # characters of the text printed for good
    reopen: str  # a code fence opener to put back before the rest (a long code block was split)


def settle(text: str, done: _Settled, max_lines: int) -> tuple[str, _Settled]:
    """The Markdown to print for good now (complete blocks), and what is settled after it.

    A block is complete at a blank line outside a code fence, or at a fence's closing line. An open
    block longer than ``max_lines`` complete lines is printed up to its last complete line (a code
    block is closed there and reopened for the rest), so the part redrawn live always fits the
    screen. Pure: tested on its own.
    """
    tail = text[done.upto :]
    fence = done.reopen.strip()[:3] if done.reopen else ""
    opener = done.reopen.rstrip("\n")
    boundary = 0
    pos = 0
    open_lines = 0
    for line in tail.split("\n")[:-1]:  # complete lines only
        pos += len(line) + 1
        open_lines += 1
        stripped = line.strip()
        if fence:
            if stripped.startswith(fence) and stripped.strip("`~") == "":
                fence, opener = "", ""
                boundary, open_lines = pos, 0
        elif stripped.startswith(("```", "~~~")):
            fence, opener = stripped[:3], line
        elif not stripped:
            boundary, open_lines = pos, 0
    if open_lines > max_lines:  # a very long paragraph or code block: print its complete lines now
        printed = done.reopen + tail[:pos]
        if fence:
            return printed + fence + "\n", _Settled(done.upto + pos, opener + "\n")
        return printed, _Settled(done.upto + pos, "")
    if boundary:
        return done.reopen + tail[:boundary], _Settled(done.upto + boundary, "")
    return "", done


def _quiet_keys() -> Callable[[], None]:
    """Stop the terminal echoing keys (``^C``, typing ahead) while an answer is drawn; returns the undo.

    An echoed ``^C`` lands after the live region's last line and wraps it, so the redraw misses a
    line and the person sees the answer twice. Nothing to do when stdin is not a terminal.
    """
    try:
        import termios

        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
        quiet = list(saved)
        quiet[3] &= ~(termios.ECHO | termios.ECHOCTL)
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
    except (ImportError, OSError, ValueError, AttributeError):
        return lambda: None

    def restore() -> None:
        with contextlib.suppress(OSError, ValueError):
            termios.tcsetattr(fd, termios.TCSANOW, saved)

    return restore


class _RichAnswer:
    def __init__(self, console: Console, live: Live) -> None:
        self.console = console
        self.live = live
        self.text = ""
        self.done = _Settled(0, "")
        self._restore_keys = _quiet_keys()

    def _markdown(self, text: str) -> RenderableType:
        from rich.markdown import Markdown

        return Markdown(text)

    def feed(self, delta: str) -> None:
        from rich.text import Text

        self.text += delta
        printed, self.done = settle(self.text, self.done, max(5, self.console.height - 6))
        if printed.strip():
            self.live.console.print(self._markdown(printed))
        rest = self.done.reopen + self.text[self.done.upto :]
        self.live.update(self._markdown(rest) if rest.strip() else Text(""), refresh=True)

    def note(self, line: str) -> None:
        from rich.text import Text

        rest = self.done.reopen + self.text[self.done.upto :]
        if rest.strip():  # the words before the call stay before its line
            self.live.console.print(self._markdown(rest))
        self.done = _Settled(len(self.text), "")
        self.live.console.print(Text(f"  {line}", style="dim"))
        self.live.update(Text(""), refresh=True)

    def finish(self) -> None:
        from rich.text import Text

        self.live.update(Text(""), refresh=True)
        self.live.stop()
        self._restore_keys()
        rest = self.done.reopen + self.text[self.done.upto :]
        if rest.strip():
            self.console.print(self._markdown(rest))
        self.done = _Settled(len(self.text), "")


class RichTerminal:
    """prompt-toolkit for input, rich for output (see the module doc for the keys)."""

    def __init__(self, *, history_file: Path | None) -> None:
        from rich.console import Console

        self.console = Console(highlight=False)
        self.session = self._session(history_file)

    @staticmethod
    def _session(history_file: Path | None) -> PromptSession[str]:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory, History, InMemoryHistory
        from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

        bindings = KeyBindings()

        @bindings.add("enter")
        def _send(event: KeyPressEvent) -> None:
            event.current_buffer.validate_and_handle()

        @bindings.add("escape", "enter")  # Alt-Enter sends Esc then Enter
        def _newline(event: KeyPressEvent) -> None:
            event.current_buffer.insert_text("\n")

        @bindings.add("c-c")
        def _clear_or_leave(event: KeyPressEvent) -> None:
            if event.current_buffer.text:
                event.current_buffer.reset()
            else:
                event.app.exit(exception=KeyboardInterrupt())

        history: History = InMemoryHistory()
        if history_file is not None:
            try:
                history_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                history_file.touch(mode=0o600, exist_ok=True)
                history = FileHistory(str(history_file))
            except OSError:
                history = InMemoryHistory()  # a read-only home: history for this session only
        return PromptSession(
            history=history,
            multiline=True,
            key_bindings=bindings,
            prompt_continuation=lambda width, line, wrap: "." * (width - 1) + " ",
            enable_open_in_editor=True,
        )

    def read(self, prompt: str, default: str = "") -> str | None:
        from prompt_toolkit.formatted_text import HTML

        try:
            return self.session.prompt(HTML(f"<b>{_escape(prompt)}</b>"), default=default)
        except EOFError:
            return None

    def banner(self, text: str) -> None:
        self.console.print(text, style="bold", markup=False)

    def info(self, text: str) -> None:
        self.console.print(text, style="dim", markup=False)

    def error(self, text: str) -> None:
        self.console.print(f"! {text}", style="bold red", markup=False)

    def answer(self, agent: str, model: str) -> AnswerView:
        from rich.live import Live
        from rich.spinner import Spinner
        from rich.text import Text

        header = Text()
        header.append(agent, style="bold cyan")
        header.append(f"  {model}", style="dim")
        self.console.print()
        self.console.print(header)
        waiting = Spinner("dots", text=Text(f"{agent} is thinking (Ctrl-C stops)", style="dim"))
        live = Live(waiting, console=self.console, refresh_per_second=10, transient=True)
        live.start()
        return _RichAnswer(self.console, live)

    def message(self, who: str, text: str, *, agent: bool) -> None:
        from rich.markdown import Markdown

        self.console.print()
        self.console.print(who, style="bold cyan" if agent else "bold", markup=False)
        self.console.print(Markdown(text) if agent else text, markup=False)

    def choices(self, choices: Sequence[Choice]) -> None:
        self.console.print()
        self.console.print("Handoffs (type the number):", style="bold")
        for index, choice in enumerate(choices, start=1):
            how = "sends at once" if choice.send else "edit the prompt first"
            self.console.print(f"  [{index}] {choice.label} -> {choice.target} ({how})", markup=False)

    def goodbye(self) -> None:
        self.console.print()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
