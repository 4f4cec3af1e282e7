"""What an OpenAI-compatible endpoint's error answer means, whoever wrote the endpoint.

OpenAI says "no such model" as ``404`` / ``model_not_found`` and "wrong key" as ``401``. Gateways in
front of other vendors say the same things differently; LiteLLM's proxy, for one, answers an unknown
model with ``400 invalid_request_error "Invalid model name passed in model=..."`` and a wrong key
(when it cannot check keys against its database) with ``400`` type ``no_db_connection``
"Authentication Error, ...". :func:`classify` reads the status, the error's ``type`` and ``code``
and its message, so that an agent's fallback models are tried and a person hears "the key was
refused" however the endpoint put it. Pure: the OpenAI adapter hands over the parts.
"""

from __future__ import annotations

import re
from typing import Literal

Meaning = Literal["missing_model", "credentials"]

_MISSING_CODES = frozenset({"model_not_found", "notfounderror", "model_not_available", "unknown_model"})
_MISSING_MESSAGE = re.compile(
    r"invalid model name|model[ =:'\"\w./-]{0,80}?(?:not found|does not exist|is not supported|not available"
    r"|unknown)|no such model|unknown model|no deployments? (?:available|found) for|model_not_found",
    re.IGNORECASE,
)
_CREDENTIAL_CODES = frozenset(
    {
        "invalid_api_key",
        "auth_error",
        "authentication_error",
        "authenticationerror",
        "no_db_connection",
        "permission_denied",
        "permission_error",
        "invalid_key",
        "expired_key",
        "unauthorized",
    }
)
_CREDENTIAL_MESSAGE = re.compile(
    r"authentication error|incorrect api key|invalid (?:api|proxy|virtual)?[ _-]?(?:key|token)"
    r"|api key (?:is )?(?:invalid|expired|not valid|missing)|no api key|unauthori[sz]ed|key (?:has )?expired",
    re.IGNORECASE,
)


def classify(status: int, *, type_: str | None, code: str | None, message: str | None) -> Meaning | None:
    """``missing_model``, ``credentials``, or None (any other rejection, or not a client error)."""
    if status == 429 or status >= 500:
        return None
    words = {str(part).strip().casefold() for part in (type_, code) if part}
    text = message or ""
    if (
        status in (401, 403)
        or words & _CREDENTIAL_CODES
        or (status == 400 and _CREDENTIAL_MESSAGE.search(text))
    ):
        return "credentials"
    if status == 404 or words & _MISSING_CODES or (status == 400 and _MISSING_MESSAGE.search(text)):
        return "missing_model"
    return None


def error_parts(body: object) -> tuple[str | None, str | None, str | None]:
    """``(type, code, message)`` of an error body: OpenAI's ``{"error": {...}}`` or the inner object."""
    inner = body.get("error", body) if isinstance(body, dict) else None
    if not isinstance(inner, dict):
        return None, None, body if isinstance(body, str) else None
    found = (inner.get("type"), inner.get("code"), inner.get("message"))
    return tuple(str(part) if part is not None else None for part in found)  # type: ignore[return-value]
