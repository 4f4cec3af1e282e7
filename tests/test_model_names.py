"""resolve_model: model names as agent files write them -> the OpenAI model the bot calls."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.core.agents import parse_agent
from bot.core.model_names import ModelChoice, normalize, resolve_model

DEFAULT = "gpt-4.1"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "awesome-copilot"


@pytest.mark.parametrize(
    ("written", "model"),
    [
        ("gpt-4.1", "gpt-4.1"),
        ("GPT-4.1", "gpt-4.1"),
        ("'GPT-4.1'", "gpt-4.1"),
        ("GPT-4.1 (copilot)", "gpt-4.1"),
        ("GPT-5 (Preview)", "gpt-5"),
        ("GPT-5-Codex (Preview) (copilot)", "gpt-5-codex"),
        ("gpt-4o", "gpt-4o"),
        ("gpt4o", "gpt-4o"),
        ("GPT 4.1", "gpt-4.1"),
        ("o3-mini", "o3-mini"),
        ("o1", "o1"),
        ("GPT-5.4", "gpt-5.4"),
    ],
)
def test_openai_names_are_normalized(written: str, model: str) -> None:
    """Every way files spell an OpenAI model maps to its API id, with no fallbacks."""
    choice = resolve_model([written], DEFAULT)
    assert choice == ModelChoice(model=model, fallbacks=(), how=choice.how)
    assert repr(written.strip("'")) in choice.how
    assert model in choice.how


def test_how_says_normalized_only_when_the_name_changed() -> None:
    """The explanation shows what was written, what is used, and whether the name was rewritten."""
    assert resolve_model(["GPT-4.1 (copilot)"], DEFAULT).how == "'GPT-4.1 (copilot)' -> gpt-4.1 (normalized)"
    assert resolve_model(["gpt-4o"], DEFAULT).how == "'gpt-4o' -> gpt-4o"


@pytest.mark.parametrize(
    "written",
    [
        "Claude Sonnet 4",
        "claude-sonnet-4-5-20250929",
        "Claude Opus 4.7",
        "Gemini 2.5 Pro",
        "Grok Code Fast 1",
    ],
)
def test_other_vendors_get_the_default_and_say_so(written: str) -> None:
    """Claude, Gemini, Grok... are not OpenAI models: the default is used and the explanation says why."""
    choice = resolve_model([written], DEFAULT)
    assert (choice.model, choice.fallbacks) == (DEFAULT, ())
    assert choice.how == f"{written!r} is not an OpenAI model -> default {DEFAULT}"


@pytest.mark.parametrize("names", [[], [""], ["inherit"], ["  "], ["Inherit"]])
def test_no_preference_gets_the_default(names: list[str]) -> None:
    """No model, an empty one or `inherit` means the configured default."""
    choice = resolve_model(names, "gpt-4o-mini")
    assert (choice.model, choice.fallbacks) == ("gpt-4o-mini", ())
    assert "default gpt-4o-mini" in choice.how


def test_unknown_word_gets_the_default() -> None:
    """A name that is no model at all gets the default, explained as unknown."""
    choice = resolve_model(["my-favourite"], DEFAULT)
    assert choice.model == DEFAULT
    assert "not a model name" in choice.how


def test_alternatives_in_one_string() -> None:
    """`GPT-4.1 | 'gpt-5' | 'Claude Sonnet 4.5'`: first OpenAI name wins, next ones are fallbacks."""
    choice = resolve_model(["GPT-4.1 | 'gpt-5' | 'Claude Sonnet 4.5'"], DEFAULT)
    assert (choice.model, choice.fallbacks) == ("gpt-4.1", ("gpt-5",))
    assert "'Claude Sonnet 4.5' is not an OpenAI model" in choice.how


def test_list_first_mappable_wins_rest_are_fallbacks_without_duplicates() -> None:
    """A list is tried in order: other vendors are skipped; duplicates collapse."""
    choice = resolve_model(["Claude Sonnet 4", "GPT-5 (copilot)", "gpt-5", "o3-mini"], DEFAULT)
    assert (choice.model, choice.fallbacks) == ("gpt-5", ("o3-mini",))


def test_bare_string_is_one_name() -> None:
    """Passing a str instead of a list is read as one name, not as characters."""
    assert resolve_model("GPT-4.1", DEFAULT).model == "gpt-4.1"  # type: ignore[arg-type]


def test_choice_is_frozen() -> None:
    """A ModelChoice cannot be changed after it is made (it is shared by every answer)."""
    choice = resolve_model(["gpt-4o"], DEFAULT)
    with pytest.raises(AttributeError):
        choice.model = "x"  # type: ignore[misc]


def test_normalize() -> None:
    """normalize strips quotes and (qualifiers), lower-cases, and joins words with '-'."""
    assert normalize(' "GPT-5 (Preview)" ') == "gpt-5"
    assert normalize("Claude Sonnet 4.6 (copilot)") == "claude-sonnet-4.6"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not next to this checkout")
def test_every_model_value_in_the_corpus_maps_sensibly() -> None:
    """Each `model:` of the 317 real files maps to an OpenAI id if it names GPT/o-series, else the default."""
    seen = 0
    for path in sorted(CORPUS.rglob("*.md")):
        spec, _ = parse_agent(path.read_bytes(), str(path))
        if spec is None or not spec.models:
            continue
        seen += 1
        choice = resolve_model(spec.models, DEFAULT)
        names = " ".join(spec.models).lower()
        assert re.fullmatch(r"(gpt-[0-9][a-z0-9.\-]*|o[0-9][a-z0-9\-]*)", choice.model), (spec.models, choice)
        if re.search(r"gpt|\bo[134]\b", names):
            assert choice.model != DEFAULT or "4.1" in names, (spec.models, choice)
        else:
            assert choice.model == DEFAULT, (spec.models, choice)
        assert choice.how
    assert seen > 100
