"""Block Kit validation with Slack's documented limits, reporting problems as Slack does.

Each problem is one line in Slack's own style, ``"<what> [json-pointer:/blocks/0/text/text]"``,
so a rejected payload says which field broke which rule. :func:`message_problems` checks a message
(``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``, response_url bodies);
:func:`view_problems` checks a modal or a Home tab. What passes these rules is then rebuilt with
slack_sdk's own models and validators (:mod:`bot.playground.sdk_models`), which must accept it too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.playground import sdk_models

MESSAGE_TEXT_LIMIT = 40_000
MESSAGE_BLOCKS_LIMIT = 50
VIEW_BLOCKS_LIMIT = 100
MARKDOWN_BLOCK_LIMIT = 12_000
MESSAGE_MARKDOWN_LIMIT = 12_000  # text across ALL the blocks of one message (msg_blocks_too_long)
SECTION_TEXT_LIMIT = 3_000
SECTION_FIELDS_LIMIT = 10
FIELD_TEXT_LIMIT = 2_000
HEADER_TEXT_LIMIT = 150
CONTEXT_ELEMENTS_LIMIT = 10
ACTIONS_ELEMENTS_LIMIT = 25
CONTEXT_ACTIONS_ELEMENTS_LIMIT = 5
ID_LIMIT = 255  # action_id, block_id, callback_id
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2_000
URL_LIMIT = 3_000
LABEL_LIMIT = 2_000
PLACEHOLDER_LIMIT = 150
INPUT_MAX_LENGTH = 3_000
ALT_TEXT_LIMIT = 2_000
OPTION_TEXT_LIMIT = 75
OPTION_VALUE_LIMIT = 150
OPTIONS_LIMIT = 100
VIEW_TITLE_LIMIT = 24
PRIVATE_METADATA_LIMIT = 3_000

Problems = list[str]
Json = dict[str, Any]


def _at(pointer: str, what: str) -> str:
    return f"{what} [json-pointer:{pointer}]"


def _text_object(
    value: Any, pointer: str, problems: Problems, *, limit: int, plain_only: bool = False
) -> None:
    if not isinstance(value, dict):
        problems.append(_at(pointer, "must be a text object"))
        return
    kind = value.get("type")
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if kind not in allowed:
        problems.append(_at(f"{pointer}/type", f"must be one of {', '.join(allowed)}"))
    text = value.get("text")
    if not isinstance(text, str) or not text:
        problems.append(_at(f"{pointer}/text", "must be more than 0 characters"))
    elif len(text) > limit:
        problems.append(_at(f"{pointer}/text", f"must be less than {limit + 1} characters"))


def _string(value: Any, pointer: str, problems: Problems, *, limit: int, required: bool = False) -> None:
    if value is None:
        if required:
            problems.append(_at(pointer, "missing required field"))
        return
    if not isinstance(value, str):
        problems.append(_at(pointer, "must be a string"))
    elif len(value) > limit:
        problems.append(_at(pointer, f"must be less than {limit + 1} characters"))
    elif required and not value:
        problems.append(_at(pointer, "must be more than 0 characters"))


def _action_id(element: Json, pointer: str, problems: Problems) -> None:
    _string(element.get("action_id"), f"{pointer}/action_id", problems, limit=ID_LIMIT)


def _button(element: Json, pointer: str, problems: Problems) -> None:
    _text_object(element.get("text"), f"{pointer}/text", problems, limit=BUTTON_TEXT_LIMIT, plain_only=True)
    _action_id(element, pointer, problems)
    _string(element.get("value"), f"{pointer}/value", problems, limit=BUTTON_VALUE_LIMIT)
    _string(element.get("url"), f"{pointer}/url", problems, limit=URL_LIMIT)
    style = element.get("style")
    if style is not None and style not in ("primary", "danger"):
        problems.append(_at(f"{pointer}/style", "must be one of primary, danger"))


def _options(element: Json, pointer: str, problems: Problems) -> None:
    options = element.get("options")
    if options is None:
        return
    if not isinstance(options, list) or not options:
        problems.append(_at(f"{pointer}/options", "must be a non-empty array"))
        return
    if len(options) > OPTIONS_LIMIT:
        problems.append(_at(f"{pointer}/options", f"must provide no more than {OPTIONS_LIMIT} items"))
    for index, option in enumerate(options):
        at = f"{pointer}/options/{index}"
        if not isinstance(option, dict):
            problems.append(_at(at, "must be an option object"))
            continue
        _text_object(option.get("text"), f"{at}/text", problems, limit=OPTION_TEXT_LIMIT)
        _string(option.get("value"), f"{at}/value", problems, limit=OPTION_VALUE_LIMIT, required=True)


def _plain_text_input(element: Json, pointer: str, problems: Problems) -> None:
    _action_id(element, pointer, problems)
    max_length = element.get("max_length")
    if max_length is not None and (
        not isinstance(max_length, int) or not 1 <= max_length <= INPUT_MAX_LENGTH
    ):
        problems.append(_at(f"{pointer}/max_length", f"must be between 1 and {INPUT_MAX_LENGTH}"))
    limit = max_length if isinstance(max_length, int) and max_length > 0 else INPUT_MAX_LENGTH
    _string(element.get("initial_value"), f"{pointer}/initial_value", problems, limit=limit)
    if element.get("placeholder") is not None:
        _text_object(
            element["placeholder"],
            f"{pointer}/placeholder",
            problems,
            limit=PLACEHOLDER_LIMIT,
            plain_only=True,
        )


def _feedback_buttons(element: Json, pointer: str, problems: Problems) -> None:
    _action_id(element, pointer, problems)
    for side in ("positive_button", "negative_button"):
        button = element.get(side)
        at = f"{pointer}/{side}"
        if not isinstance(button, dict):
            problems.append(_at(at, "missing required field"))
            continue
        _text_object(button.get("text"), f"{at}/text", problems, limit=BUTTON_TEXT_LIMIT, plain_only=True)
        _string(button.get("value"), f"{at}/value", problems, limit=BUTTON_VALUE_LIMIT, required=True)


def _simple_interactive(element: Json, pointer: str, problems: Problems) -> None:
    _action_id(element, pointer, problems)
    _options(element, pointer, problems)


def _image_element(element: Json, pointer: str, problems: Problems) -> None:
    if not (element.get("image_url") or element.get("slack_file")):
        problems.append(_at(f"{pointer}/image_url", "missing required field"))
    _string(element.get("alt_text"), f"{pointer}/alt_text", problems, limit=ALT_TEXT_LIMIT, required=True)


ELEMENTS: dict[str, Callable[[Json, str, Problems], None]] = {
    "button": _button,
    "plain_text_input": _plain_text_input,
    "feedback_buttons": _feedback_buttons,
    "icon_button": _simple_interactive,
    "static_select": _simple_interactive,
    "external_select": _simple_interactive,
    "multi_static_select": _simple_interactive,
    "users_select": _simple_interactive,
    "conversations_select": _simple_interactive,
    "channels_select": _simple_interactive,
    "overflow": _simple_interactive,
    "checkboxes": _simple_interactive,
    "radio_buttons": _simple_interactive,
    "datepicker": _simple_interactive,
    "timepicker": _simple_interactive,
    "image": _image_element,
}
"""Element type -> its checks. Add an element by adding its function here."""


def _element(element: Any, pointer: str, problems: Problems, allowed: set[str] | None = None) -> None:
    if not isinstance(element, dict):
        problems.append(_at(pointer, "must be an element object"))
        return
    kind = element.get("type")
    check = ELEMENTS.get(str(kind))
    if check is None or (allowed is not None and kind not in allowed):
        problems.append(_at(f"{pointer}/type", f"unsupported element type {kind!r}"))
        return
    check(element, pointer, problems)


def _elements(
    block: Json, pointer: str, problems: Problems, *, limit: int, check: Callable[[Any, str], None]
) -> None:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        problems.append(_at(f"{pointer}/elements", "must provide at least 1 item"))
        return
    if len(elements) > limit:
        problems.append(_at(f"{pointer}/elements", f"must provide no more than {limit} items"))
    seen: set[str] = set()
    for index, element in enumerate(elements):
        check(element, f"{pointer}/elements/{index}")
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if isinstance(action_id, str):
            if action_id in seen:
                problems.append(_at(f"{pointer}/elements/{index}/action_id", "must be unique in the block"))
            seen.add(action_id)


def _markdown(block: Json, pointer: str, problems: Problems) -> None:
    _string(block.get("text"), f"{pointer}/text", problems, limit=MARKDOWN_BLOCK_LIMIT, required=True)


def _section(block: Json, pointer: str, problems: Problems) -> None:
    text, fields = block.get("text"), block.get("fields")
    if text is None and fields is None:
        problems.append(_at(pointer, "must provide text or fields"))
    if text is not None:
        _text_object(text, f"{pointer}/text", problems, limit=SECTION_TEXT_LIMIT)
    if fields is not None:
        if not isinstance(fields, list) or len(fields) > SECTION_FIELDS_LIMIT:
            problems.append(_at(f"{pointer}/fields", f"must provide 1 to {SECTION_FIELDS_LIMIT} items"))
        else:
            for index, item in enumerate(fields):
                _text_object(item, f"{pointer}/fields/{index}", problems, limit=FIELD_TEXT_LIMIT)
    if block.get("accessory") is not None:
        _element(block["accessory"], f"{pointer}/accessory", problems)


def _context(block: Json, pointer: str, problems: Problems) -> None:
    def check(element: Any, at: str) -> None:
        if isinstance(element, dict) and element.get("type") == "image":
            _image_element(element, at, problems)
        else:
            _text_object(element, at, problems, limit=SECTION_TEXT_LIMIT)

    _elements(block, pointer, problems, limit=CONTEXT_ELEMENTS_LIMIT, check=check)


def _actions(block: Json, pointer: str, problems: Problems) -> None:
    _elements(
        block,
        pointer,
        problems,
        limit=ACTIONS_ELEMENTS_LIMIT,
        check=lambda element, at: _element(element, at, problems),
    )


def _context_actions(block: Json, pointer: str, problems: Problems) -> None:
    _elements(
        block,
        pointer,
        problems,
        limit=CONTEXT_ACTIONS_ELEMENTS_LIMIT,
        check=lambda element, at: _element(element, at, problems, {"feedback_buttons", "icon_button"}),
    )


def _header(block: Json, pointer: str, problems: Problems) -> None:
    _text_object(block.get("text"), f"{pointer}/text", problems, limit=HEADER_TEXT_LIMIT, plain_only=True)


def _input(block: Json, pointer: str, problems: Problems) -> None:
    _text_object(block.get("label"), f"{pointer}/label", problems, limit=LABEL_LIMIT, plain_only=True)
    if block.get("element") is None:
        problems.append(_at(f"{pointer}/element", "missing required field"))
    else:
        _element(block["element"], f"{pointer}/element", problems)
    if block.get("hint") is not None:
        _text_object(block["hint"], f"{pointer}/hint", problems, limit=LABEL_LIMIT, plain_only=True)


def _image_block(block: Json, pointer: str, problems: Problems) -> None:
    _image_element(block, pointer, problems)


def _anything(block: Json, pointer: str, problems: Problems) -> None:
    return


BLOCKS: dict[str, Callable[[Json, str, Problems], None]] = {
    "markdown": _markdown,
    "section": _section,
    "context": _context,
    "actions": _actions,
    "context_actions": _context_actions,
    "header": _header,
    "divider": _anything,
    "input": _input,
    "image": _image_block,
    "rich_text": _anything,
    "file": _anything,
    "video": _anything,
}
"""Block type -> its checks. Add a block type by adding its function here."""


def blocks_problems(blocks: Any, *, limit: int, pointer: str = "/blocks") -> Problems:
    """What is wrong with a list of blocks (empty when Slack would accept it)."""
    problems: Problems = []
    if not isinstance(blocks, list):
        return [_at(pointer, "must be an array")]
    if len(blocks) > limit:
        problems.append(_at(pointer, f"must provide no more than {limit} items"))
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        at = f"{pointer}/{index}"
        if not isinstance(block, dict):
            problems.append(_at(at, "must be a block object"))
            continue
        check = BLOCKS.get(str(block.get("type")))
        if check is None:
            problems.append(_at(f"{at}/type", f"unsupported block type {block.get('type')!r}"))
            continue
        block_id = block.get("block_id")
        _string(block_id, f"{at}/block_id", problems, limit=ID_LIMIT)
        if isinstance(block_id, str):
            if block_id in block_ids:
                problems.append(_at(f"{at}/block_id", "must be unique"))
            block_ids.add(block_id)
        check(block, at, problems)
    return problems or sdk_models.block_problems(blocks, pointer=pointer)


_NOT_TEXT = frozenset({"type", "style", "action_id", "block_id"})


def text_length(blocks: Any) -> int:
    """Characters of text across a message's blocks, as Slack's budget for one message (about 12,000)
    counts them: erring high, every string but types, styles and ids (texts, button values, URLs)."""
    if isinstance(blocks, str):
        return len(blocks)
    if isinstance(blocks, dict):
        return sum(text_length(value) for key, value in blocks.items() if key not in _NOT_TEXT)
    if isinstance(blocks, list):
        return sum(text_length(item) for item in blocks)
    return 0


def view_problems(view: Any) -> Problems:
    """What is wrong with a modal or Home tab view (empty when Slack would accept it)."""
    if not isinstance(view, dict):
        return [_at("/view", "must be a view object")]
    problems: Problems = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        problems.append(_at("/view/type", "must be one of modal, home"))
    if kind == "modal":
        _text_object(view.get("title"), "/view/title", problems, limit=VIEW_TITLE_LIMIT, plain_only=True)
        for key in ("submit", "close"):
            if view.get(key) is not None:
                _text_object(view[key], f"/view/{key}", problems, limit=VIEW_TITLE_LIMIT, plain_only=True)
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
        if has_input and view.get("submit") is None:
            problems.append(_at("/view/submit", "is required when the view has input blocks"))
    _string(view.get("callback_id"), "/view/callback_id", problems, limit=ID_LIMIT)
    _string(view.get("external_id"), "/view/external_id", problems, limit=ID_LIMIT)
    _string(view.get("private_metadata"), "/view/private_metadata", problems, limit=PRIVATE_METADATA_LIMIT)
    problems += blocks_problems(view.get("blocks"), limit=VIEW_BLOCKS_LIMIT, pointer="/view/blocks")
    return problems or sdk_models.view_problems(view)
