"""Validate manifest.yml against Slack's published app manifest JSON schemas.

Slack publishes the schemas in the slackapi/manifest-schema repository on GitHub (MIT). They are
not copied into this project: point this script at a checkout of that repository (or set
SLACK_MANIFEST_SCHEMAS), and it validates the manifest against each versioned schema
(``schemas/manifest.schema.1.0.0.json``, ``schemas/manifest.schema.2.0.0.json``) and against the
top-level ``manifest.schema.json`` (which picks a version by ``_metadata.major_version``), its
references to the versioned files resolved from the checkout: nothing is fetched.

    git clone https://github.com/slackapi/manifest-schema /tmp/manifest-schema
    .venv/bin/python scripts/check_manifest.py /tmp/manifest-schema

Prints one line per schema, and every problem with its place in the manifest; exit status 1 if
any schema refuses the manifest, 2 if the schemas are not there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parents[1]
VERSIONED = ("schemas/manifest.schema.1.0.0.json", "schemas/manifest.schema.2.0.0.json")
TOP = "manifest.schema.json"


def _load(path: Path) -> dict[str, Any]:
    loaded = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise ValueError(f"{path} is not a JSON schema object")
    return loaded


def _registry(schemas: Path) -> Registry:
    """The versioned schemas under every URL the top-level schema may name them by."""
    registry: Registry = Registry()
    for name in VERSIONED:
        resource = Resource.from_contents(_load(schemas / name))
        file_name = name.rsplit("/", 1)[-1]
        top = _load(schemas / TOP)
        for ref in _refs(top):
            if ref.endswith("/" + file_name):
                registry = registry.with_resource(ref, resource)
    return registry


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [str(node["$ref"])] if "$ref" in node else []
        for value in node.values():
            found += _refs(value)
        return found
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def problems(manifest: dict[str, Any], schemas: Path) -> dict[str, list[str]]:
    """Schema file -> what it refuses in ``manifest`` (empty lists: valid against all of them)."""
    found: dict[str, list[str]] = {}
    for name in VERSIONED:
        validator = Draft7Validator(_load(schemas / name))
        found[name] = [_line(error) for error in validator.iter_errors(manifest)]
    top = Draft7Validator(_load(schemas / TOP), registry=_registry(schemas))
    found[TOP] = [_line(error) for error in top.iter_errors(manifest)]
    return found


def _line(error: Any) -> str:
    """Where and what; for a ``oneOf`` (the top-level schema) the closest branch's own problem."""
    if error.context:  # the branches that do not ask for _metadata say what is wrong
        about = [e for e in error.context if "_metadata" not in e.message]
        error = best_match(about or error.context)
    where = "/".join(str(part) for part in error.absolute_path) or "(top)"
    message = (
        error.message if len(error.message) <= 200 else error.message[:100] + " … " + error.message[-80:]
    )
    return f"{where}: {message}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "schemas",
        nargs="?",
        default=os.environ.get("SLACK_MANIFEST_SCHEMAS"),
        help="a checkout of slackapi/manifest-schema (default: $SLACK_MANIFEST_SCHEMAS)",
    )
    parser.add_argument("--manifest", default=str(ROOT / "manifest.yml"))
    args = parser.parse_args(argv)
    if not args.schemas or not all((Path(args.schemas) / n).is_file() for n in (*VERSIONED, TOP)):
        print("no schemas: give a checkout of slackapi/manifest-schema (or set SLACK_MANIFEST_SCHEMAS)")
        return 2
    manifest = yaml.safe_load(Path(args.manifest).read_text(encoding="utf-8"))
    failed = False
    for name, found in problems(manifest, Path(args.schemas)).items():
        print(f"{name}: {'valid' if not found else f'{len(found)} problem(s)'}")
        for line in found:
            print(f"  {line}")
        failed = failed or bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
