"""The policy file's content checked against its schema, in plain Python. Pure.

:func:`check` takes the mapping read from ``agents/policy.yaml`` and gives back its content as plain
values (tuples, dicts, ints, floats) or every mistake in it. :func:`bot.core.policy.parse_policy`
words the mistakes and builds the :class:`bot.core.policy.Policy`. This module imports nothing of
ours (no import circle) and no pydantic: a Lambda cold start reads the policy before its first
answer, and importing pydantic and building its models cost that answer about 80 ms of CPU.

The checks and their words are those of the pydantic models this replaced, so that a policy file
says the same as before, mistake for mistake and in the same order (fields in the order below, then
the keys the file added): its messages ("Input should be a valid integer", "Input should be a valid
dictionary or instance of AgentRule"), pydantic's lax conversions (an id list may be a list or a
set, a price may be an int or a numeric string; token limits take integers only, ``limit_admins``
booleans only) and its quirks with keys that are not strings. The schema::

    admins: tuple of user ids = ()                      limit_admins: bool (strict) = False
    agents: dict[str, AgentRule] = {}                   budgets: Budgets = Budgets()
    rate_limits: RateLimits = RateLimits()
    AgentRule: channels, users, usergroups: tuple of channel / user / user-group ids | None = None
    Budgets: user_daily_tokens, workspace_daily_tokens: int (strict) > 0 | None = None;
             prices: dict[str, Price] = {}
    Price: input_per_mtok, output_per_mtok: float >= 0, finite, required
    RateLimits: user_per_minute: int (strict) > 0 | None = None

Every mapping refuses keys it does not know (``extra_forbidden``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, TypedDict

Loc = tuple[int | str, ...]


class Error(TypedDict):
    """One mistake: where (``loc``: keys and list positions), its kind, its message, the value found."""

    loc: Loc
    type: str
    msg: str
    input: Any


Check = Callable[[Any, Loc, list[Error]], Any]
"""Checks a value at ``loc``: returns it converted, or appends to the errors (then returns anything)."""

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")

_UNICODE = "Input should be a valid string, unable to parse raw data as a unicode string"
_I64 = range(-(2**63), 2**63)

# A price written as text: Rust's float syntax (pydantic's parser), after trimming Unicode white
# space (Rust's, not Python's: no \x1c-\x1f) or, untrimmed, without the underscores between digits.
_NUMBER = re.compile(
    r"[+-]?(?:inf|infinity|nan|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?)", re.IGNORECASE | re.ASCII
)
_WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(
    map(chr, range(0x2000, 0x200B))
)


def _error(loc: Loc, kind: str, msg: str, value: Any) -> Error:
    return {"loc": loc, "type": kind, "msg": msg, "input": value}


def _has_surrogate(text: str) -> bool:
    """True for text with a lone surrogate (``"\\ud800"``: only the pure-Python YAML loader makes one)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _key_loc(key: Any) -> int | str:
    """A mapping key as a place in ``loc``: text, an integer (booleans are 0 and 1), else its repr."""
    if isinstance(key, str):
        return key.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if isinstance(key, int) and key in _I64:
        return int(key)
    return repr(key)


def _text(value: Any, loc: Loc, errors: list[Error]) -> str | None:
    """A string; bytes (``!!binary``) count when they are UTF-8."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            errors.append(_error(loc, "string_unicode", _UNICODE, value))
            return None
    errors.append(_error(loc, "string_type", "Input should be a valid string", value))
    return None


def _ids(pattern: re.Pattern[str], what: str, example: str, *, optional: bool) -> Check:
    """A list (or set) of Slack ids of one kind, as a tuple; ``None`` too when ``optional``."""

    def check(value: Any, loc: Loc, errors: list[Error]) -> tuple[str, ...] | None:
        if value is None and optional:
            return None
        if not isinstance(value, list | tuple | set | frozenset):
            errors.append(_error(loc, "tuple_type", "Input should be a valid tuple", value))
            return None
        ids: list[str] = []
        for index, item in enumerate(value):
            text = _text(item, (*loc, index), errors)
            if text is not None and not pattern.match(text):
                message = f"Value error, {text!r} is not a Slack {what} id (like {example})"
                errors.append(_error((*loc, index), "value_error", message, item))
            ids.append(text or "")
        return tuple(ids)

    return check


def _token_limit(value: Any, loc: Loc, errors: list[Error]) -> int | None:
    """A whole number above 0, or ``None``: no booleans, floats or numbers written as text."""
    if value is None:
        return None
    if type(value) is not int:
        errors.append(_error(loc, "int_type", "Input should be a valid integer", value))
        return None
    if value <= 0:
        errors.append(_error(loc, "greater_than", "Input should be greater than 0", value))
    return int(value)


def _strict_bool(value: Any, loc: Loc, errors: list[Error]) -> bool:
    if type(value) is not bool:
        errors.append(_error(loc, "bool_type", "Input should be a valid boolean", value))
        return False
    return bool(value)


def _as_number(value: Any) -> float | str:
    """``value`` as a float, or the kind of error: ints, booleans and numbers as text count."""
    if isinstance(value, float | bool):
        return float(value)
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            return "float_type"
    if isinstance(value, str | bytes):
        return _text_as_number(value)
    return "float_type"


def _text_as_number(value: str | bytes) -> float | str:
    """A number written as text (white space around it, or ``_`` between digits, allowed)."""
    if isinstance(value, bytes):
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            return "float_parsing"
    elif _has_surrogate(value):
        return "string_unicode"
    else:
        text = value
    trimmed = text.strip(_WHITE_SPACE)
    if _NUMBER.fullmatch(trimmed):
        return float(trimmed)
    if "_" in text and not text.startswith("_") and not text.endswith("_") and "__" not in text:
        joined = text.replace("_", "")
        if _NUMBER.fullmatch(joined):
            return float(joined)
    return "float_parsing"


_NUMBER_ERRORS = {
    "float_type": "Input should be a valid number",
    "float_parsing": "Input should be a valid number, unable to parse string as a number",
    "string_unicode": _UNICODE,
}


def _dollars(value: Any, loc: Loc, errors: list[Error]) -> float:
    """A finite number, at least 0, as a float."""
    number = _as_number(value)
    if isinstance(number, str):
        errors.append(_error(loc, number, _NUMBER_ERRORS[number], value))
        return 0.0
    if not math.isfinite(number):
        errors.append(_error(loc, "finite_number", "Input should be a finite number", value))
    elif number < 0:
        errors.append(_error(loc, "greater_than_equal", "Input should be greater than or equal to 0", value))
    return number


def _mapping_of(check_value: Check) -> Check:
    """A mapping of text keys to values that ``check_value`` checks."""

    def check(value: Any, loc: Loc, errors: list[Error]) -> dict[str, Any]:
        if not isinstance(value, dict):
            errors.append(_error(loc, "dict_type", "Input should be a valid dictionary", value))
            return {}
        content: dict[str, Any] = {}
        for key, item in value.items():
            where = (*loc, _key_loc(key))
            name = _text(key, (*where, "[key]"), errors)
            checked = check_value(item, where, errors)
            if name is not None:
                content[name] = checked
        return content

    return check


def _required() -> Any:
    """The default of a field that must be written ("Field required" when it is not)."""
    raise AssertionError("a required field has no default")


def _model(name: str, fields: dict[str, tuple[Check, Callable[[], Any]]]) -> Check:
    """A mapping with the keys of ``fields`` (each checked, else its default or "Field required") only."""

    def check(value: Any, loc: Loc, errors: list[Error]) -> dict[str, Any]:
        if not isinstance(value, dict):
            message = f"Input should be a valid dictionary or instance of {name}"
            errors.append(_error(loc, "model_type", message, value))
            return {}
        first = len(errors)
        content: dict[str, Any] = {}
        for field, (check_field, default) in fields.items():
            if field in value:
                content[field] = check_field(value[field], (*loc, field), errors)
            elif default is _required:
                errors.append(_error((*loc, field), "missing", "Field required", value))
            else:
                content[field] = default()
        for key, item in value.items():
            if not isinstance(key, str):
                errors.append(_error((*loc, _key_loc(key)), "invalid_key", "Keys should be strings", key))
            elif _has_surrogate(key):  # pydantic gives up on the whole mapping, with this one error
                del errors[first:]
                errors.append(_error(loc, "string_unicode", _UNICODE, key))
                return {}
            elif key not in fields:
                message = "Extra inputs are not permitted"
                errors.append(_error((*loc, key), "extra_forbidden", message, item))
        return content

    return check


_agent_rule = _model(
    "AgentRule",
    {
        "channels": (_ids(_CHANNEL_ID, "channel", "C0123ABCD", optional=True), lambda: None),
        "users": (_ids(_USER_ID, "user", "U0123ABCD", optional=True), lambda: None),
        "usergroups": (_ids(_GROUP_ID, "user group", "S0123ABCD", optional=True), lambda: None),
    },
)
_price = _model("Price", {"input_per_mtok": (_dollars, _required), "output_per_mtok": (_dollars, _required)})
_budgets = _model(
    "Budgets",
    {
        "user_daily_tokens": (_token_limit, lambda: None),
        "workspace_daily_tokens": (_token_limit, lambda: None),
        "prices": (_mapping_of(_price), dict),
    },
)
_rate_limits = _model("RateLimits", {"user_per_minute": (_token_limit, lambda: None)})
_policy = _model(
    "Policy",
    {
        "admins": (_ids(_USER_ID, "user", "U0123ABCD", optional=False), tuple),
        "limit_admins": (_strict_bool, lambda: False),
        "agents": (_mapping_of(_agent_rule), dict),
        "budgets": (_budgets, lambda: _budgets({}, (), [])),
        "rate_limits": (_rate_limits, lambda: _rate_limits({}, (), [])),
    },
)


def check(data: dict[Any, Any]) -> tuple[dict[str, Any] | None, list[Error]]:
    """The file's mapping as plain values (tuples, dicts, ints, floats), or None and its mistakes.

    ``data`` is the file as read (``agents``' entries already named by text, ``None`` read as ``{}``).
    The content has every key, defaults filled in: ``admins``, ``limit_admins``, ``agents`` (each
    rule's ``channels``, ``users``, ``usergroups``), ``budgets`` (with ``prices``, each price's
    ``input_per_mtok`` and ``output_per_mtok``) and ``rate_limits``.
    """
    errors: list[Error] = []
    content = _policy(data, (), errors)
    return (None, errors) if errors else (content, [])
