"""Print how many agents of a folder are reachable by the verb `agents list` shows for them.

    .venv/bin/python scripts/check_verbs.py [DIR]     # default: agents/

For every loaded agent, the verb (``Registry.verb_for``) goes through Slack's ``/architect`` parser
and the terminal's lookup (``Registry.resolve_verb``); the figures say how many reach that same
agent. Exit 1 if any does not (prints which), so it can gate a folder of agents too.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.adapters.agent_files import agent_paths, load_registry  # noqa: E402
from bot.core.registry import base_verb  # noqa: E402
from bot.slack.help import parse_command  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dir", nargs="?", type=Path, default=ROOT / "agents")
    args = parser.parse_args()
    registry = load_registry(args.dir, args.dir / "routing.yaml", "gpt-4.1")
    files = len(agent_paths(args.dir))
    verbs = [registry.verb_for(spec.name) or "" for spec in registry]
    unreachable: list[str] = []
    for spec, verb in zip(registry, verbs, strict=True):
        terminal = registry.resolve_verb(verb)
        slack = parse_command(f"{verb} hello", registry)
        slack_ok = slack.agent is not None and slack.agent.name == spec.name
        if not spec.user_invocable:  # Slack refuses agents-only agents by design; the verb is still theirs
            slack_ok = slack.error is not None and terminal is not None and terminal.name == spec.name
        if terminal is None or terminal.name != spec.name or not slack_ok:
            unreachable.append(f"{spec.name!r} ({spec.file}) via {verb!r}")
    numbered = sum(1 for spec, verb in zip(registry, verbs, strict=True) if verb != base_verb(spec))
    duplicates = [verb for verb, count in Counter(verbs).items() if count > 1]
    print(f"folder:                  {args.dir}")
    print(f"agent files:             {files}")
    print(f"agents loaded:           {len(registry)} (others: duplicate names or broken files)")
    print(f"distinct verbs:          {len(set(verbs))} (shared by two agents: {len(duplicates)})")
    print(f"verbs numbered (-N):     {numbered}")
    print(f"reachable by their verb: {len(registry) - len(unreachable)} of {len(registry)}")
    for line in unreachable:
        print(f"  NOT reachable: {line}")
    return 1 if unreachable or duplicates else 0


if __name__ == "__main__":
    sys.exit(main())
