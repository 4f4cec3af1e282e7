"""Local development entry point: ``python -m handlers.local`` (same as ``architect-bot serve``)."""

from __future__ import annotations

import sys

from bot.slack.server import main

if __name__ == "__main__":
    sys.exit(main())
