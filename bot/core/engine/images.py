"""The images of a prompt: fetched for a model that sees them, newest first, within a byte cap."""

from __future__ import annotations

from bot.core.conversation import Turn
from bot.core.files import Attachment, ImageInput
from bot.core.notices import Notice
from bot.core.ports import ChatMessage, FileSource
from bot.core.prompt_fit import PromptResult
from bot.core.prompts import turn_message
from bot.logging import get_logger

log = get_logger("bot.engine")

MAX_PROMPT_IMAGE_BYTES = 40_000_000  # OpenAI takes 50 MB per request; the newest images go first


class PromptImages:
    """Puts the images of people's messages into a prompt (from Slack, through ``files``)."""

    def __init__(self, *, files: FileSource | None) -> None:
        self.files = files

    def with_images(
        self, prompt: PromptResult, *, agent: str, vision: bool, pending: tuple[Turn, ...], deadline: float
    ) -> tuple[tuple[ChatMessage, ...], tuple[Notice, ...]]:
        """The prompt's messages with their images fetched (newest first, within the byte cap).

        An image that cannot be fetched (or no longer fits) is left out and said not to be shown to
        the model; the person is told why (one notice naming those that did not fit) when it belongs
        to a message this answer covers.
        """
        messages = list(prompt.messages)
        if not vision:
            return tuple(messages), ()
        notices: list[Notice] = []
        too_large: list[str] = []  # images of messages this answer covers that did not fit
        limit = bytes_left = MAX_PROMPT_IMAGE_BYTES
        for index in range(len(messages) - 1, -1, -1):
            turn = prompt.sources[index] if index < len(prompt.sources) else None
            wanted = [a for a in turn.attachments if a.kind == "image"] if turn is not None else []
            if turn is None or not wanted:
                continue
            fetched: list[tuple[str, ImageInput]] = []
            for attachment in wanted:
                image, notice = self.fetch_image(attachment, deadline)
                if image is None or len(image.data) > bytes_left:
                    if notice is not None and turn in pending:
                        notices.append(notice)
                    if image is not None and turn in pending:
                        too_large.append(attachment.name)
                    log.info("image_left_out", file_id=attachment.id, fetched=image is not None)
                    continue
                bytes_left -= len(image.data)
                fetched.append((attachment.id, image))
            message = turn_message(turn, agent, shown_images=frozenset(i for i, _ in fetched))
            messages[index] = ChatMessage(
                role=message.role, content=message.content, images=tuple(i for _, i in fetched)
            )
        if too_large:
            notices.append(Notice.images_left_out(too_large, limit))
        return tuple(messages), tuple(notices)

    def fetch_image(self, attachment: Attachment, deadline: float) -> tuple[ImageInput | None, Notice | None]:
        """One image (None when it cannot be fetched), and what to tell the person about it."""
        if self.files is None:
            return None, None
        try:
            return self.files.image(attachment, deadline=deadline), None
        except LookupError as error:
            notice = error.args[0] if error.args else None
            return None, notice if isinstance(notice, Notice) else None
