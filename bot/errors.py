"""Typed errors. Each carries the message a person in Slack, or at a terminal, should see.

The message says what happened and what to do; it never contains secrets or message texts. ``kind``
is a short stable identifier used in logs and metrics (``errors by kind``). ``user_message`` speaks
of Slack (threads, ``/architect``, buttons); ``terminal_message`` says the same for
``architect-bot chat`` where the Slack wording would mislead (:attr:`BotError.for_terminal`).
"""

from __future__ import annotations


class BotError(Exception):
    """Base class: an expected failure with a user-facing explanation."""

    kind: str = "internal"
    user_message: str = "Something went wrong on my side. Please try again in a minute."
    terminal_message: str | None = None  # None: user_message reads right in a terminal too

    def __init__(
        self, detail: str = "", *, user_message: str | None = None, terminal_message: str | None = None
    ) -> None:
        super().__init__(detail or self.kind)
        self.detail = detail
        if user_message is not None:
            self.user_message = user_message
            self.terminal_message = terminal_message
        elif terminal_message is not None:
            self.terminal_message = terminal_message

    @property
    def for_terminal(self) -> str:
        """The message for ``architect-bot chat``: no Slack threads, commands or buttons."""
        return self.terminal_message or self.user_message


class ConfigurationError(BotError):
    """A required setting or secret is missing or invalid."""

    kind = "configuration"
    user_message = "The bot is misconfigured. Ask the team that runs it to check its settings."


class AgentNotFoundError(BotError):
    """A verb, agent name or handoff target does not resolve to a loaded agent."""

    kind = "agent_not_found"
    user_message = "That agent does not exist (any more). Try `/architect help` to see the agents."
    terminal_message = "That agent does not exist (any more). `architect-bot agents list` shows the agents."


class ModelError(BotError):
    """The language model failed. Subclasses say how."""

    kind = "model_error"
    user_message = "The AI model returned an error. Please try again in a minute."


class ModelUnavailableError(ModelError):
    """The model's service is down or kept failing after retries."""

    kind = "model_unavailable"
    user_message = (
        "The AI model is not answering right now (the provider reported an outage or kept failing). "
        "Your message is saved: reply in this thread to try again in a few minutes."
    )
    terminal_message = (
        "The AI model is not answering right now (the provider reported an outage or kept failing). Your "
        "message is saved: send another message in a few minutes to try again."
    )


class ModelRateLimitedError(ModelError):
    """The provider kept answering 429 after retries."""

    kind = "model_rate_limited"
    user_message = (
        "The AI model is rate limiting us. Your message is saved: reply in this thread in a minute to retry."
    )
    terminal_message = (
        "The AI model is rate limiting us. Your message is saved: send another message in a minute to retry."
    )


class ModelTimeoutError(ModelError):
    """The model did not start answering before the deadline."""

    kind = "model_timeout"
    user_message = (
        "The AI model is too slow right now and did not answer in time. "
        "Your message is saved: reply in this thread to try again."
    )
    terminal_message = (
        "The AI model is too slow right now and did not answer in time. Your message is saved: send "
        "another message to try again."
    )


class ModelRequestError(ModelError):
    """The provider rejected the request (bad model name, bad key, content policy)."""

    kind = "model_rejected"
    user_message = (
        "The AI provider rejected the request (check the agent's model and the API key). "
        "Ask the bot's operators to look at the logs with the tracking id below."
    )
    terminal_message = (
        "The AI provider rejected the request: check the agent's model, OPENAI_API_KEY and "
        "OPENAI_BASE_URL (run with --verbose to see the provider's answer)."
    )


class ModelNotFoundError(ModelRequestError):
    """Neither the agent's model nor any of its fallbacks exists at the endpoint (or for this key)."""

    kind = "model_rejected"


class ModelCredentialsError(ModelRequestError):
    """The model's endpoint refused the bot's key (401/403, or a gateway's own way of saying it)."""

    kind = "model_credentials"
    user_message = (
        "The AI provider refused the bot's API key (wrong, expired, or the gateway cannot check keys "
        "right now). Ask the bot's operators to check the key (OPENAI_API_KEY or the model route's key); "
        "the tracking id below helps them find it."
    )
    terminal_message = (
        "The AI provider refused the API key: check OPENAI_API_KEY (or the model route's key) and "
        "OPENAI_BASE_URL (run with --verbose to see the provider's answer)."
    )


class StoreUnavailableError(BotError):
    """The conversation store (Redis) cannot be reached."""

    kind = "store_unavailable"
    user_message = (
        "I can't reach my conversation storage right now, so I can't answer safely. "
        "Please try again in a few minutes; if it persists, tell the team that runs the bot."
    )
    terminal_message = (
        "I can't reach the conversation storage (REDIS_URL), so I can't answer safely. Check that Redis "
        "is running and REDIS_URL is right, then send your message again."
    )


class ConversationBusyError(BotError):
    """Another answer in the same thread held the lock for too long."""

    kind = "conversation_busy"
    user_message = (
        "I'm still answering an earlier message in this thread. Your message is saved; "
        "reply again once the current answer is finished."
    )
    terminal_message = (
        "Another answer in this conversation is still running. Your message is saved; send another "
        "message once it is finished."
    )


class ThreadTooLongError(BotError):
    """Even after trimming, the conversation cannot fit the model's context window."""

    kind = "thread_too_long"
    user_message = (
        "This thread is too long for the agent's model, even after leaving out older messages. "
        "Start a new thread with `/architect` and a summary of where you are."
    )
    terminal_message = (
        "This conversation is too long for the agent's model, even after leaving out older messages. "
        "Start a new one (`architect-bot chat AGENT`) with a summary of where you are."
    )


class StaleHandoffError(BotError):
    """A handoff button from an older answer, or a second click."""

    kind = "stale_handoff"
    user_message = (
        "That button belongs to an earlier answer (or was already used), so nothing was handed off. "
        "Use the buttons under the latest answer in the thread."
    )
    terminal_message = (
        "That handoff belongs to an earlier answer (or was already used), so nothing was handed off. "
        "Choose one of the handoffs listed under the latest answer."
    )


class HandoffNotAllowedError(BotError):
    """A handoff to an agent the answering agent does not list (a forged or outdated button)."""

    kind = "handoff_not_allowed"
    user_message = "That handoff is not offered by this agent, so nothing was handed off."


class ConversationNotFoundError(BotError):
    """The thread has no stored conversation (expired or never started by the bot)."""

    kind = "conversation_not_found"
    user_message = (
        "I no longer remember this thread (conversations expire after a period without activity). "
        "Start a new one with `/architect`."
    )
    terminal_message = (
        "This conversation is no longer stored (conversations expire after a period without activity). "
        "Start a new one with `architect-bot chat AGENT`."
    )


class BudgetExceededError(BotError):
    """A budget or rate limit of the policy stops this answer before the model is called.

    ``kind`` is the limit (``user_daily_tokens``, ``workspace_daily_tokens``, ``user_per_minute``);
    ``user_message`` says the limit, where the person stands and when it resets.
    """

    kind = "budget_exceeded"

    def __init__(self, rejection: object, user_message: str) -> None:
        limit = str(getattr(rejection, "limit", self.kind))
        super().__init__(f"limit {limit} reached", user_message=user_message)
        self.kind = limit
        self.rejection = rejection


class ThreadForgottenError(BotError):
    """The thread was forgotten on request: the bot does not continue or rebuild it."""

    kind = "thread_forgotten"
    user_message = (
        "This thread was forgotten at someone's request, so I don't continue it. "
        "Start a new thread with `/architect` or a mention."
    )


class StaleApprovalError(BotError):
    """An Approve / Deny click for a call that is no longer waiting (decided, expired or moved on)."""

    kind = "stale_approval"
    user_message = (
        "That request is no longer waiting for a decision (it was decided already, or the thread moved on)."
    )


class ApprovalNotAllowedError(BotError):
    """Someone other than the person who asked (and not an admin) clicked Approve / Deny."""

    kind = "approval_not_allowed"
    user_message = "Only the person who asked (or an admin of the bot) can approve or deny this call."


class HoldUnavailableError(BotError):
    """A reply could not be held for later (the held-replies queue refused it or is not set up)."""

    kind = "hold_unavailable"
    user_message = (
        "I can't reach my conversation storage right now, and I could not keep your message for later. "
        "Please send it again in a few minutes; if it persists, tell the team that runs the bot."
    )
