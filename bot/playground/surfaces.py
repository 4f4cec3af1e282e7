"""What Slack's agent features hold in an emulated workspace: streams, loading states, assistant
threads, canvases and pending file uploads.

Plain state, guarded by the workspace's lock; the Web API methods that change it live in
:mod:`bot.playground.agent_api`. A test (or the playground) can also make Slack refuse a method
for good, as a workspace whose plan or settings lack a feature does (:meth:`AgentSurfaces.refuse`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STREAM_IDLE_S = 300.0  # a stream left idle about 5 minutes is no longer in the streaming state
STATUS_TTL_S = 120.0  # a loading status disappears after two minutes without a message
STATUS_LOADING_MESSAGES = 10  # loading_messages: at most 10
SUGGESTED_PROMPTS = 4  # assistant threads show up to four suggested prompts


@dataclass
class Stream:
    """A message being streamed (``chat.startStream`` until ``chat.stopStream``)."""

    channel: str
    ts: str
    thread_ts: str
    recipient_user_id: str | None
    recipient_team_id: str | None
    touched: float  # monotonic time of the latest start/append
    appends: int = 0
    open: bool = True
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)  # task_update chunks: id -> latest


@dataclass
class ThreadStatus:
    """An assistant thread's loading state (``assistant.threads.setStatus``)."""

    status: str
    loading_messages: list[str]
    set_at: float


@dataclass
class Canvas:
    """A canvas: its Markdown, where it is tabbed, and who may read or write it."""

    id: str
    title: str
    markdown: str
    channel_id: str | None
    access: dict[str, str] = field(default_factory=dict)  # channel or user id -> read | write
    edits: int = 0


@dataclass
class Upload:
    """A file announced by ``files.getUploadURLExternal``, its bytes, and whether it was completed."""

    file_id: str
    filename: str
    length: int
    content: bytes | None = None
    completed: bool = False


@dataclass
class AgentSurfaces:
    """The agent-feature state of one workspace."""

    streams: dict[tuple[str, str], Stream] = field(default_factory=dict)  # (channel, ts)
    statuses: dict[tuple[str, str], ThreadStatus] = field(default_factory=dict)  # (channel, thread_ts)
    titles: dict[tuple[str, str], str] = field(default_factory=dict)
    prompts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    canvases: dict[str, Canvas] = field(default_factory=dict)
    uploads: dict[str, Upload] = field(default_factory=dict)
    refusals: dict[str, str] = field(default_factory=dict)  # method -> error, on every call
    markdown_read_back: str = "as_sent"  # "translated": read back as Slack renders it (readback.py)
    experience: str = "agent"  # the app's manifest: "agent" (agent_view) or "assistant" (assistant_view)

    def refuse(self, method: str, error: str) -> None:
        """Answer every call of ``method`` with ``error`` (a feature the workspace does not have)."""
        self.refusals[method] = error

    def allow(self, method: str) -> None:
        """Let ``method`` work again."""
        self.refusals.pop(method, None)

    def clear_status(self, channel: str, thread_ts: str | None) -> None:
        """A message from the app in the thread clears its loading state (as Slack does)."""
        if thread_ts is not None:
            self.statuses.pop((channel, thread_ts), None)

    def status(self, channel: str, thread_ts: str, now: float) -> ThreadStatus | None:
        """The loading state a person sees in the thread now (gone after two minutes)."""
        found = self.statuses.get((channel, thread_ts))
        if found is None or not found.status or now - found.set_at > STATUS_TTL_S:
            return None
        return found
