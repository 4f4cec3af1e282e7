"""Block Kit and Slack text to HTML, the way Slack shows them, with everything escaped.

Nothing a person or the bot wrote reaches the page as markup: Slack's ``mrkdwn`` is parsed here
into a few fixed tags over escaped text; the ``markdown`` block goes through markdown-it-py with
raw HTML switched off (it escapes any tag in the source and refuses ``javascript:`` links). Links
open only for ``http``, ``https`` and ``mailto``; images are shown as links, never loaded.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from functools import cache
from typing import Any

Json = dict[str, Any]
NameOf = Callable[[str], str]

EMOJI = {
    "warning": "⚠️",
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "x": "❌",
    "tada": "🎉",
    "thumbsup": "👍",
    "+1": "👍",
    "thumbsdown": "👎",
    "-1": "👎",
    "eyes": "👀",
    "robot_face": "🤖",
    "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳",
    "arrow_left": "⬅️",
    "arrow_right": "➡️",
    "bulb": "💡",
    "memo": "📝",
    "rocket": "🚀",
    "mag": "🔍",
    "lock": "🔒",
    "information_source": "ℹ️",
    "page_facing_up": "📄",
    "paperclip": "📎",
    "speech_balloon": "💬",
    "sparkles": "✨",
    "construction": "🚧",
    "no_entry": "⛔",
    "question": "❓",
    "smile": "😄",
    "slightly_smiling_face": "🙂",
}
SAFE_SCHEMES = ("http://", "https://", "mailto:")

_CONTROL = re.compile(r"<([^<>\n]+)>")
_CODE_BLOCK = re.compile(r"```(.*?)```", re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?!\s)([^~\n]+?)(?<!\s)~(?![\w~])")
_EMOJI = re.compile(r":([a-z0-9_+\-]+):")
_PLACEHOLDER = re.compile(r"\x00(\d+)\x00")


def esc(text: object) -> str:
    """HTML-escape anything (quotes too: safe in attributes)."""
    return html.escape(str(text), quote=True)


def emoji(text: str) -> str:
    """``:warning:`` -> ⚠️ for the shortcodes the bot uses (others stay as typed)."""
    return _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)


def safe_url(url: str) -> str | None:
    """The URL when a click on it is harmless (http, https, mailto), else None."""
    cleaned = url.strip()
    return cleaned if cleaned.lower().startswith(SAFE_SCHEMES) else None


def link(url: str, label: str) -> str:
    """An escaped link that opens in a new tab, or the escaped label when the URL is not safe."""
    target = safe_url(url)
    if target is None:
        return esc(label)
    return f'<a href="{esc(target)}" target="_blank" rel="noopener noreferrer">{esc(label)}</a>'


def _control(inner: str, name_of: NameOf) -> str:
    """One ``<...>`` sequence of Slack text: a mention, a channel, a special mention or a link."""
    target, _, label = inner.partition("|")
    label = html.unescape(label)
    if target.startswith("@"):
        return f'<span class="mention">@{esc(label or name_of(target[1:]))}</span>'
    if target.startswith("#"):
        return f'<span class="mention">#{esc(label or target[1:])}</span>'
    if target.startswith("!date^"):
        return f'<time class="date">{esc(slack_date(target, label))}</time>'
    if target.startswith("!"):
        special = target[1:].split("^")[0]
        return f'<span class="mention">@{esc(label or special)}</span>'
    return link(html.unescape(target), label or html.unescape(target))


def slack_date(target: str, fallback: str) -> str:
    """``!date^<unix>^<tokens>``: the date as Slack writes it in the reader's time zone."""
    _, seconds, tokens, *_ = (*target.split("^"), "", "")
    try:
        when = time.localtime(int(seconds))
    except (ValueError, OverflowError, OSError):
        return fallback or seconds
    today = time.localtime()
    days = (
        time.mktime((today.tm_year, today.tm_mon, today.tm_mday, 0, 0, 0, 0, 0, -1))
        - time.mktime((when.tm_year, when.tm_mon, when.tm_mday, 0, 0, 0, 0, 0, -1))
    ) // 86_400
    short = time.strftime("%b %-d, %Y", when)
    long = time.strftime("%B %-d, %Y", when)
    pretty = {0: "Today", 1: "Yesterday", -1: "Tomorrow"}.get(int(days))
    words = {
        "date_num": time.strftime("%Y-%m-%d", when),
        "date": long,
        "date_short": short,
        "date_long": time.strftime("%A, %B %-d, %Y", when),
        "date_pretty": pretty or long,
        "date_short_pretty": pretty or short,
        "date_long_pretty": pretty or time.strftime("%A, %B %-d, %Y", when),
        "time": time.strftime("%-I:%M %p", when),
        "time_secs": time.strftime("%-I:%M:%S %p", when),
    }
    return re.sub(r"\{(\w+)\}", lambda m: words.get(m.group(1), m.group(0)), tokens) or fallback


def _inline(text: str, name_of: NameOf) -> str:
    """Slack text outside code: control sequences, then bold/italic/strike/emoji over escaped text."""
    tokens: list[str] = []
    text = text.replace("\x00", "")

    def hold(rendered: str) -> str:
        tokens.append(rendered)
        return f"\x00{len(tokens) - 1}\x00"

    text = _INLINE_CODE.sub(lambda m: hold(f"<code>{esc(html.unescape(m.group(1)))}</code>"), text)
    text = _CONTROL.sub(lambda m: hold(_control(m.group(1), name_of)), text)
    escaped = esc(html.unescape(text))
    escaped = _BOLD.sub(r"<b>\1</b>", escaped)
    escaped = _ITALIC.sub(r"<i>\1</i>", escaped)
    escaped = _STRIKE.sub(r"<s>\1</s>", escaped)
    escaped = emoji(escaped)
    lines = []
    for line in escaped.split("\n"):
        quoted = line.startswith("&gt; ") or line == "&gt;"
        lines.append(f'<span class="quote">{line.removeprefix("&gt;").lstrip()}</span>' if quoted else line)
    joined = "<br>".join(lines)
    return _PLACEHOLDER.sub(lambda m: tokens[int(m.group(1))], joined)


def mrkdwn(text: str, name_of: NameOf = str) -> str:
    """Slack ``mrkdwn`` as HTML: *bold*, _italic_, ~strike~, `code`, ```blocks```, > quotes, links."""
    parts: list[str] = []
    position = 0
    for match in _CODE_BLOCK.finditer(text):
        parts.append(_inline(text[position : match.start()], name_of))
        code = html.unescape(match.group(1)).strip("\n")
        parts.append(f"<pre>{esc(code)}</pre>")
        position = match.end()
    parts.append(_inline(text[position:], name_of))
    return "".join(parts)


@cache
def _markdown_renderer() -> Any:
    from markdown_it import MarkdownIt

    renderer = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    renderer.enable(["table", "strikethrough"])

    def link_open(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("target", "_blank")
        tokens[idx].attrSet("rel", "noopener noreferrer")
        return str(self.renderToken(tokens, idx, options, env))

    def image(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        alt = token.content or "image"
        return link(str(token.attrGet("src") or ""), f"🖼 {alt}")

    renderer.add_render_rule("link_open", link_open)
    renderer.add_render_rule("image", image)
    return renderer


def markdown(text: str) -> str:
    """Standard Markdown (the ``markdown`` block) as HTML; raw HTML in it is shown as text."""
    return str(_markdown_renderer().render(text))


def plain(text_object: Any, name_of: NameOf = str) -> str:
    """A text object (``plain_text`` or ``mrkdwn``) as HTML."""
    if not isinstance(text_object, dict):
        return ""
    text = str(text_object.get("text") or "")
    if text_object.get("type") == "mrkdwn":
        return mrkdwn(text, name_of)
    return emoji(esc(text)) if text_object.get("emoji", True) else esc(text)


# ----------------------------------------------------------------------------------- blocks


def _button(element: Json, index: str, name_of: NameOf) -> str:
    label = plain(element.get("text"), name_of)
    style = element.get("style")
    classes = "bk-button" + (f" bk-{style}" if style in ("primary", "danger") else "")
    url = safe_url(str(element.get("url") or ""))
    if url is not None:
        return (
            f'<a class="{classes}" href="{esc(url)}" target="_blank" rel="noopener noreferrer" '
            f'data-element="{index}">{label}</a>'
        )
    return f'<button type="button" class="{classes}" data-element="{index}">{label}</button>'


def _feedback(element: Json, index: str) -> str:
    buttons = []
    for side, icon in (("positive_button", "👍"), ("negative_button", "👎")):
        button = element.get(side) or {}
        label = esc((button.get("text") or {}).get("text") or side)
        buttons.append(
            f'<button type="button" class="bk-icon bk-feedback" title="{label}" aria-label="{label}" '
            f'data-element="{index}" data-side="{side}" aria-pressed="false">{icon}</button>'
        )
    return "".join(buttons)


def _option_label(option: Any) -> str:
    return str(((option or {}).get("text") or {}).get("text") or (option or {}).get("value") or "")


def _options(element: Json) -> list[Json]:
    found = [o for o in element.get("options") or [] if isinstance(o, dict)]
    for group in element.get("option_groups") or []:
        found += [o for o in (group or {}).get("options") or [] if isinstance(o, dict)]
    return found


def _select(element: Json, index: str, name: str = "") -> str:
    """A static menu as a ``<select>``; an external one as a search box the app fills with options."""
    placeholder = esc((element.get("placeholder") or {}).get("text") or "Select an item")
    initial = element.get("initial_option") or {}
    named = f' name="{esc(name)}"' if name else ""
    if element.get("type") == "external_select":
        chosen = esc(initial.get("value") or "")
        return (
            f'<span class="bk-external" data-element="{index}">'
            f'<input type="search" class="bk-search" placeholder="{placeholder}" aria-label="{placeholder}" '
            f'value="{esc(_option_label(initial))}" autocomplete="off">'
            f'<input type="hidden" class="bk-chosen"{named} value="{chosen}">'
            '<span class="bk-options" role="listbox" hidden></span></span>'
        )
    options = "".join(
        f'<option value="{esc(o.get("value") or "")}"'
        f"{' selected' if initial and o.get('value') == initial.get('value') else ''}>"
        f"{esc(_option_label(o))}</option>"
        for o in _options(element)
    )
    chosen_attr = "" if initial else " selected"
    return (
        f'<select class="bk-select" data-element="{index}"{named} aria-label="{placeholder}">'
        f'<option value="" disabled{chosen_attr}>{placeholder}</option>{options}</select>'
    )


def options_html(options: list[Json]) -> str:
    """An external menu's options, as the app answered them (clicked to choose one)."""
    if not options:
        return '<span class="bk-option-none">No matches</span>'
    return "".join(
        f'<button type="button" class="bk-option" role="option" data-value="{esc(o.get("value") or "")}">'
        f"{esc(_option_label(o))}</button>"
        for o in options
    )


def _overflow(element: Json, index: str) -> str:
    """An overflow menu: ⋯, then its options."""
    items = "".join(
        f'<button type="button" class="bk-overflow-item" data-element="{index}" '
        f'data-value="{esc(o.get("value") or "")}">{esc(_option_label(o))}</button>'
        for o in _options(element)
    )
    return (
        '<details class="bk-overflow"><summary aria-label="More options">⋯</summary>'
        f'<div class="bk-overflow-menu">{items}</div></details>'
    )


def _element(element: Any, index: str, name_of: NameOf) -> str:  # noqa: PLR0911 - one branch per element
    if not isinstance(element, dict):
        return ""
    kind = element.get("type")
    if kind == "button":
        return _button(element, index, name_of)
    if kind in ("static_select", "external_select"):
        return _select(element, index)
    if kind == "overflow":
        return _overflow(element, index)
    if kind == "feedback_buttons":
        return _feedback(element, index)
    if kind == "icon_button":
        label = plain(element.get("text"), name_of) or esc(element.get("icon") or "icon")
        return f'<button type="button" class="bk-icon" data-element="{index}">{label}</button>'
    if kind == "image":
        return link(str(element.get("image_url") or ""), f"🖼 {element.get('alt_text') or 'image'}")
    return f'<span class="bk-unsupported">[{esc(kind)}]</span>'


def _rich_text(block: Json, name_of: NameOf) -> str:
    out: list[str] = []
    for section in block.get("elements") or []:
        pieces: list[str] = []
        for item in (section or {}).get("elements") or []:
            kind = (item or {}).get("type")
            if kind == "text":
                pieces.append(esc(item.get("text") or "").replace("\n", "<br>"))
            elif kind == "link":
                pieces.append(
                    link(str(item.get("url") or ""), str(item.get("text") or item.get("url") or ""))
                )
            elif kind == "user":
                pieces.append(f'<span class="mention">@{esc(name_of(str(item.get("user_id"))))}</span>')
            elif kind == "emoji":
                pieces.append(emoji(f":{esc(item.get('name') or '')}:"))
        tag = "pre" if (section or {}).get("type") == "rich_text_preformatted" else "div"
        out.append(f"<{tag}>{''.join(pieces)}</{tag}>")
    return "".join(out)


def _input(block: Json, index: int, errors: dict[str, str]) -> str:
    element = block.get("element") or {}
    block_id = str(block.get("block_id") or f"b{index}")
    action_id = str(element.get("action_id") or f"a{index}")
    name = esc(f"{block_id}\x1f{action_id}")
    label = plain(block.get("label"))
    limit = element.get("max_length")
    maxlength = f' maxlength="{int(limit)}"' if isinstance(limit, int) else ""
    placeholder = esc((element.get("placeholder") or {}).get("text") or "")
    value = esc(element.get("initial_value") or "")
    if element.get("type") in ("static_select", "external_select"):
        field = _select(element, "e", f"{block_id}\x1f{action_id}")
    elif element.get("type") != "plain_text_input":
        field = f'<span class="bk-unsupported">[{esc(element.get("type"))}]</span>'
    elif element.get("multiline"):
        field = f'<textarea name="{name}" rows="8"{maxlength} placeholder="{placeholder}">{value}</textarea>'
    else:
        field = f'<input type="text" name="{name}"{maxlength} placeholder="{placeholder}" value="{value}">'
    error = errors.get(block_id)
    shown_error = f'<div class="bk-error" role="alert">{esc(error)}</div>' if error else ""
    hint = f'<div class="bk-hint">{plain(block.get("hint"))}</div>' if block.get("hint") else ""
    return f'<label class="bk-input"><span class="bk-label">{label}</span>{field}{hint}{shown_error}</label>'


def block_html(block: Any, index: int, name_of: NameOf = str, errors: dict[str, str] | None = None) -> str:  # noqa: PLR0911 - one branch per block type
    """One block as HTML (``data-block`` carries its index for clicks)."""
    if not isinstance(block, dict):
        return ""
    kind = block.get("type")
    attrs = f'data-block="{index}"'
    if kind == "markdown":
        return f'<div class="bk-markdown" {attrs}>{markdown(str(block.get("text") or ""))}</div>'
    if kind == "section":
        text = f'<div class="bk-text">{plain(block.get("text"), name_of)}</div>' if block.get("text") else ""
        fields = "".join(f"<div>{plain(f, name_of)}</div>" for f in block.get("fields") or [])
        fields_html = f'<div class="bk-fields">{fields}</div>' if fields else ""
        accessory = block.get("accessory")
        side = f'<div class="bk-accessory">{_element(accessory, "a", name_of)}</div>' if accessory else ""
        return f'<div class="bk-section" {attrs}>{text}{fields_html}{side}</div>'
    if kind == "context":
        items = "".join(
            f"<span>{plain(e, name_of) if e.get('type') != 'image' else _element(e, str(i), name_of)}</span>"
            for i, e in enumerate(block.get("elements") or [])
            if isinstance(e, dict)
        )
        return f'<div class="bk-context" {attrs}>{items}</div>'
    if kind in ("actions", "context_actions"):
        items = "".join(_element(e, str(i), name_of) for i, e in enumerate(block.get("elements") or []))
        return f'<div class="bk-{kind.replace("_", "-")}" {attrs}>{items}</div>'
    if kind == "header":
        return f'<h3 class="bk-header" {attrs}>{plain(block.get("text"), name_of)}</h3>'
    if kind == "divider":
        return f'<hr class="bk-divider" {attrs}>'
    if kind == "image":
        return f'<div class="bk-image" {attrs}>{_element(block, "0", name_of)}</div>'
    if kind == "rich_text":
        return f'<div class="bk-rich" {attrs}>{_rich_text(block, name_of)}</div>'
    if kind == "input":
        return f'<div class="bk-input-block" {attrs}>{_input(block, index, errors or {})}</div>'
    return f'<div class="bk-unsupported" {attrs}>[{esc(kind)} block]</div>'


def blocks_html(blocks: list[Any], name_of: NameOf = str, errors: dict[str, str] | None = None) -> str:
    """A list of blocks as HTML."""
    return "".join(block_html(block, i, name_of, errors) for i, block in enumerate(blocks))


INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
"""Image types the page shows inline (raster only: an SVG could carry script)."""


def files_html(files: list[Json]) -> str:
    """File cards: name, type and size, a preview for images (served by the page, ``/ui/file/<id>``)."""
    cards = []
    for shared in files:
        if not isinstance(shared, dict):
            continue
        size = int(shared.get("size") or 0)
        shown = f"{size / 1024:.1f} KB" if size >= 1024 else f"{size} B"
        name = esc(shared.get("name") or shared.get("title") or "file")
        href = f"/ui/file/{esc(shared.get('id') or '')}"
        preview = ""
        if shared.get("mimetype") in INLINE_IMAGES:
            preview = f'<img class="file-image" src="{href}" alt="{name}">'
        cards.append(
            f'<div class="file">{preview}<span class="file-icon">📄</span>'
            f'<a class="file-name" href="{href}" target="_blank" rel="noopener">{name}</a>'
            f'<span class="file-meta">{esc(shared.get("filetype") or shared.get("mimetype") or "")}'
            f" · {esc(shown)}</span></div>"
        )
    return f'<div class="files">{"".join(cards)}</div>' if cards else ""


def clock_time(ts: str) -> str:
    """``HH:MM`` of a Slack ts, in the machine's time zone."""
    try:
        return time.strftime("%H:%M", time.localtime(float(ts)))
    except ValueError:
        return ""
