"""User-group membership for the access policy: asked of Slack (usergroups.users.list), cached."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.adapters.slack_usergroups import SlackUserGroups
from bot.core.ports import FixedClock
from tests.fakes.slack_server import FakeSlack
from tests.harness import BOT_TOKEN


def test_members_come_from_slack_and_are_cached_for_the_ttl() -> None:
    """A warm bot asks Slack once per group per TTL; after it, membership changes are seen."""
    clock = FixedClock()
    with FakeSlack() as slack:
        slack.workspace.add_usergroup("S0ARCH", {"U0ALICE", "U0BOB"})
        groups = SlackUserGroups(WebClient(token=BOT_TOKEN, base_url=slack.api_url), clock=clock, ttl_s=300)
        assert groups.members("S0ARCH") == {"U0ALICE", "U0BOB"}
        slack.workspace.add_usergroup("S0ARCH", {"U0ALICE"})
        clock.advance(299)
        assert groups.members("S0ARCH") == {"U0ALICE", "U0BOB"}
        assert len(slack.calls_of("usergroups.users.list")) == 1
        clock.advance(2)
        assert groups.members("S0ARCH") == {"U0ALICE"}
        assert [c.params["usergroup"] for c in slack.calls_of("usergroups.users.list")] == [
            "S0ARCH",
            "S0ARCH",
        ]


def test_a_group_slack_cannot_read_has_no_members_and_is_asked_again_soon() -> None:
    """An unknown group (or a missing scope) lets nobody in by mistake, and is retried after a short while."""
    clock = FixedClock()
    with FakeSlack() as slack:
        groups = SlackUserGroups(
            WebClient(token=BOT_TOKEN, base_url=slack.api_url), clock=clock, ttl_s=300, failure_ttl_s=30
        )
        assert groups.members("S0GONE") == frozenset()
        slack.fail("usergroups.users.list", error="missing_scope")
        slack.workspace.add_usergroup("S0NEW", {"U0ALICE"})
        assert groups.members("S0NEW") == frozenset()
        assert groups.members("S0GONE") == frozenset()
        assert len(slack.calls_of("usergroups.users.list")) == 2
        clock.advance(31)
        assert groups.members("S0NEW") == {"U0ALICE"}
