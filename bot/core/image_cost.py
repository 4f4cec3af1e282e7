"""What an image costs in prompt tokens, per model family, by OpenAI's rules.

Which models see images (:func:`accepts_images`) and the cost (:func:`image_tokens`): 512-px tiles for
GPT-4o / GPT-4.1 / GPT-4.5 / GPT-5 / o1 / o3 (a base plus a price per tile after scaling into
2048 x 2048 and the short side to 768), 32-px patches capped at 1,536 and times a multiplier for
GPT-4.1-mini/nano, GPT-5-mini/nano and o4-mini. Pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

ImageDetail = Literal["low", "high", "auto"]


@dataclass(frozen=True, slots=True)
class _Tiles:
    """GPT-4o-style cost: ``base + per_tile * tiles`` (512-px tiles) at high detail, ``base`` at low."""

    base: int
    per_tile: int


@dataclass(frozen=True, slots=True)
class _Patches:
    """GPT-4.1-mini-style cost: 32-px patches, at most 1,536, times ``multiplier`` (detail is ignored)."""

    multiplier: float


_NO_IMAGES = None
# OpenAI's vision guide, "Calculating costs". Longest prefix wins (as for context windows).
_IMAGE_RULES: dict[str, _Tiles | _Patches | None] = {
    "gpt-5": _Tiles(70, 140),
    "gpt-5-mini": _Patches(1.62),
    "gpt-5-nano": _Patches(2.46),
    "gpt-4.1": _Tiles(85, 170),
    "gpt-4.1-mini": _Patches(1.62),
    "gpt-4.1-nano": _Patches(2.46),
    "gpt-4.5": _Tiles(85, 170),
    "gpt-4o": _Tiles(85, 170),
    "chatgpt-4o": _Tiles(85, 170),
    "gpt-4o-mini": _Tiles(2833, 5667),
    "gpt-4-turbo": _Tiles(85, 170),
    "o1": _Tiles(75, 150),
    "o1-pro": _Tiles(75, 150),
    "o3": _Tiles(75, 150),
    "o4-mini": _Patches(1.72),
    "computer-use-preview": _Tiles(65, 129),
    # text only
    "o1-mini": _NO_IMAGES,
    "o1-preview": _NO_IMAGES,
    "o3-mini": _NO_IMAGES,
    "gpt-4": _NO_IMAGES,
    "gpt-4-0613": _NO_IMAGES,
    "gpt-4-1106": _NO_IMAGES,
    "gpt-4-0125": _NO_IMAGES,
    "gpt-4-turbo-preview": _NO_IMAGES,
    "gpt-3.5-turbo": _NO_IMAGES,
    "gpt-4o-audio": _NO_IMAGES,
    "gpt-4o-search": _NO_IMAGES,
}
_RULES_BY_LENGTH = sorted(_IMAGE_RULES, key=len, reverse=True)
PATCH_CAP = 1536


def _rule(model_id: str) -> _Tiles | _Patches | None:
    model = model_id.strip().lower().removeprefix("openai/")
    if model.startswith("ft:"):
        model = model[3:].split(":", 1)[0]
    for prefix in _RULES_BY_LENGTH:
        if model == prefix or model.startswith((prefix + "-", prefix + ".")):
            return _IMAGE_RULES[prefix]
    return None  # unknown models: assume text only, and say so rather than send what may be refused


def accepts_images(model: str) -> bool:
    """True when ``model`` takes image inputs (GPT-4o, GPT-4.1, GPT-5, o1, o3, o4-mini... families)."""
    return _rule(model) is not None


def _tile_tokens(rule: _Tiles, width: int, height: int, detail: ImageDetail) -> int:
    if detail == "low":
        return rule.base
    w, h = float(width), float(height)
    if max(w, h) > 2048:  # fit into 2048 x 2048
        scale = 2048 / max(w, h)
        w, h = w * scale, h * scale
    if min(w, h) > 768:  # then the shortest side to 768
        scale = 768 / min(w, h)
        w, h = w * scale, h * scale
    tiles = math.ceil(w / 512) * math.ceil(h / 512)
    return rule.base + rule.per_tile * tiles


def patch_count(width: int, height: int) -> int:
    """32-px patches covering the image after OpenAI scales it down to at most 1,536 patches."""
    patches = math.ceil(width / 32) * math.ceil(height / 32)
    if patches <= PATCH_CAP:
        return patches
    ratio = math.sqrt(32 * 32 * PATCH_CAP / (width * height))
    ratio *= min(
        math.floor(width * ratio / 32) / (width * ratio / 32),
        math.floor(height * ratio / 32) / (height * ratio / 32),
    )
    resized_w, resized_h = math.floor(width * ratio), math.floor(height * ratio)
    return min(PATCH_CAP, math.ceil(resized_w / 32) * math.ceil(resized_h / 32))


def image_tokens(model: str, width: int, height: int, detail: ImageDetail = "high") -> int:
    """Prompt tokens one image costs ``model`` (``auto`` is priced as ``high``, the upper bound).

    Raises ``ValueError`` for a model that takes no images (ask :func:`accepts_images` first).
    """
    rule = _rule(model)
    if rule is None:
        raise ValueError(f"{model} takes no image inputs")
    width, height = max(1, width), max(1, height)
    if isinstance(rule, _Tiles):
        return _tile_tokens(rule, width, height, detail)
    return math.ceil(patch_count(width, height) * rule.multiplier)
