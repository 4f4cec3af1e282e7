"""The access and cost policy (agents/policy.yaml): what the file means, what a mistake in it says,
who may use which agent, and the budget arithmetic people read in refusals and usage reports."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from bot.adapters.policy_file import load_policy
from bot.cli import main
from bot.core.policy import (
    AgentRule,
    Policy,
    Price,
    check_access,
    cost_usd,
    day_window,
    format_reset,
    format_usd,
    minute_window,
    month_window,
    parse_policy,
)
from bot.core.quota import Rejection

ROOT = Path(__file__).resolve().parent.parent
NOON = 1_717_243_200.0  # 2024-06-01 12:00:00 UTC

ISSUE_EXAMPLE = """\
admins: [U0ADMIN1]                 # Slack user ids; they see everyone's usage
agents:
  backend-builder:
    channels: [C0DESIGN]           # channel ids; absent = every channel
    users: [U0ALICE]               # absent = everyone (with usergroups)
    usergroups: [S0ARCHITECTS]     # Slack user groups, resolved with usergroups.users.list, cached
budgets:
  user_daily_tokens: 200000        # input + output tokens per person per UTC day, all agents
  workspace_daily_tokens: 5000000
  prices: {gpt-4.1: {input_per_mtok: 2.0, output_per_mtok: 8.0}}   # for reports in dollars
rate_limits:
  user_per_minute: 6               # requests that call the model
"""


class Groups:
    """A user-group directory that records which groups were asked for."""

    def __init__(self, members: dict[str, set[str]]) -> None:
        self.members_of = members
        self.asked: list[str] = []

    def members(self, group_id: str) -> frozenset[str]:
        self.asked.append(group_id)
        return frozenset(self.members_of.get(group_id, set()))


def parsed(text: str) -> Policy:
    """The policy of ``text``, failing the test on any problem."""
    policy, problems = parse_policy(text, "agents/policy.yaml")
    assert problems == []
    return policy


def problems_of(text: str) -> list[tuple[int | None, str, str]]:
    """(line, severity, message) of each problem in ``text``."""
    return [(p.line, p.severity, p.message) for p in parse_policy(text, "agents/policy.yaml")[1]]


# ------------------------------------------------------------------------------------------- the file


def test_the_issue_example_reads_as_written() -> None:
    """The example from the issue is a valid policy with every value where the comments say."""
    policy = parsed(ISSUE_EXAMPLE)
    assert policy.admins == ("U0ADMIN1",)
    assert policy.agents["backend-builder"] == AgentRule(
        channels=("C0DESIGN",), users=("U0ALICE",), usergroups=("S0ARCHITECTS",)
    )
    assert policy.budgets.user_daily_tokens == 200_000
    assert policy.budgets.workspace_daily_tokens == 5_000_000
    assert policy.budgets.prices["gpt-4.1"] == Price(input_per_mtok=2.0, output_per_mtok=8.0)
    assert policy.rate_limits.user_per_minute == 6
    assert policy.has_limits
    assert not policy.limit_admins


def test_absent_file_empty_file_and_absent_keys_restrict_nothing(tmp_path: Path) -> None:
    """Without a policy (or with only comments) every agent is open and nothing is limited: today's bot."""
    assert load_policy(tmp_path / "policy.yaml") == (Policy(file=str(tmp_path / "policy.yaml")), [])
    for text in ("", "# nothing yet\n", "admins: [U0ADMIN1]\n", "agents:\n  director:\n"):
        policy = parsed(text)
        assert not policy.has_limits
        decision = check_access(policy, agent="director", user_id="U1", channel_id="C1", groups=None)
        assert decision.allowed


def test_the_shipped_policy_restricts_nothing_and_its_template_is_valid(tmp_path: Path) -> None:
    """agents/policy.yaml ships all commented out; uncommented, its example is a valid policy."""
    shipped = (ROOT / "agents" / "policy.yaml").read_text()
    assert not parsed(shipped).has_limits
    assert parsed(shipped).agents == {}
    template = "\n".join(
        line[2:] for line in shipped.splitlines() if re.match(r"^# {0,4}[a-z_-]+:|^#     ", line)
    )
    policy = parsed(template)
    assert policy.admins
    assert policy.has_limits
    assert policy.agents["backend-builder"].usergroups == ("S0ARCHITECTS",)


def test_mistakes_are_reported_with_their_line() -> None:
    """Every wrong id, number and key is named with the line it is on, so it can be fixed at once."""
    text = """\
admins: [alice, U0ADMIN1]
agents:
  backend-builder:
    channels: [C0DESIGN, "#general"]
    user: [U0ALICE]
budgets:
  user_daily_tokens: -5
  workspace_daily_tokens: lots
  prices: {gpt-4.1: {input_per_mtok: -2.0, output_per_mtok: 8}}
rate_limits:
  user_per_minute: true
"""
    assert problems_of(text) == [
        (1, "error", "admins.0: 'alice' is not a Slack user id (like U0123ABCD)"),
        (
            4,
            "error",
            "agents.backend-builder.channels.1: '#general' is not a Slack channel id (like C0123ABCD)",
        ),
        (5, "error", "unknown key 'agents.backend-builder.user' (a typo would silently lift a restriction)"),
        (7, "error", "budgets.user_daily_tokens: Input should be greater than 0 (got -5)"),
        (8, "error", "budgets.workspace_daily_tokens: Input should be a valid integer (got 'lots')"),
        (
            9,
            "error",
            "budgets.prices.gpt-4.1.input_per_mtok: Input should be greater than or equal to 0 (got -2.0)",
        ),
        (11, "error", "rate_limits.user_per_minute: Input should be a valid integer (got True)"),
    ]


def test_an_invalid_policy_is_never_served_half_applied() -> None:
    """A file with any error gives the empty policy plus the errors: the bot refuses to start on it."""
    policy, problems = parse_policy("admins: [U0ADMIN1]\nbudgets: {user_daily_tokens: 0}\n", "p.yaml")
    assert policy == Policy(file="p.yaml")
    assert [p.severity for p in problems] == ["error"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("agents: [\n", (2, "error", "policy file is not valid YAML (did not find expected node content)")),
        ("- U0ADMIN1\n", (1, "error", "policy file must be a mapping (admins, agents, budgets, rate_limits)")),  # noqa: E501
        ("admins: [U0A1]\nadmins: [U0B2]\n", (2, "error", "admins is written twice (lines 1 and 2)")),
        ("file: x\n", (1, "error", "unknown key 'file' (a typo would silently lift a restriction)")),
        ("user_daily_tokens: 5\n", (1, "error", "unknown key 'user_daily_tokens' (a typo would silently lift a restriction)")),  # noqa: E501
        ("agents:\n  director:\n    users: []\n", (3, "warning", "agents.director.users is an empty list: nobody can use 'director'")),  # noqa: E501
        ("agents:\n  director:\n    usergroups: [U0ALICE]\n", (3, "error", "agents.director.usergroups.0: 'U0ALICE' is not a Slack user group id (like S0123ABCD)")),  # noqa: E501
    ],
)  # fmt: skip
def test_each_kind_of_mistake_is_explained(text: str, expected: tuple[int, str, str]) -> None:
    """Broken YAML, a list instead of a mapping, a key written twice, a misplaced key, an empty list."""
    assert problems_of(text) == [expected]


def test_a_price_that_is_not_a_finite_number_is_named() -> None:
    """`.nan` or `.inf` as a price would make every cost report meaningless: each is named on its line."""
    text = "budgets:\n  prices:\n    gpt-4.1: {input_per_mtok: .nan, output_per_mtok: .inf}\n"
    assert problems_of(text) == [
        (3, "error", "budgets.prices.gpt-4.1.input_per_mtok: Input should be a finite number (got nan)"),
        (3, "error", "budgets.prices.gpt-4.1.output_per_mtok: Input should be a finite number (got inf)"),
    ]


def test_a_price_missing_one_of_its_two_figures_is_named() -> None:
    """A model priced for input but not output is told which figure is missing, on the model's line."""
    text = "budgets:\n  prices:\n    gpt-4.1: {input_per_mtok: 2.0}\n"
    assert problems_of(text) == [(3, "error", "budgets.prices.gpt-4.1.output_per_mtok: Field required")]


def test_prices_written_as_whole_numbers_or_quoted_are_dollars() -> None:
    """`2` and `"8.5"` are read as the dollar amounts they look like (as before: no error to chase)."""
    price = parsed('budgets: {prices: {gpt-4.1: {input_per_mtok: 2, output_per_mtok: "8.5"}}}\n').price_for(
        "gpt-4.1"
    )
    assert price == Price(input_per_mtok=2.0, output_per_mtok=8.5)
    assert isinstance(price.input_per_mtok, float)


def test_limits_and_switches_take_only_their_own_kind_of_value() -> None:
    """A limit written `200000.0` or quoted, or `limit_admins: 1`, is refused rather than guessed at:
    the person sees which value is the wrong kind and what it should be."""
    text = 'limit_admins: 1\nbudgets:\n  user_daily_tokens: 200000.0\n  workspace_daily_tokens: "5000000"\n'
    assert problems_of(text) == [
        (1, "error", "limit_admins: Input should be a valid boolean (got 1)"),
        (3, "error", "budgets.user_daily_tokens: Input should be a valid integer (got 200000.0)"),
        (4, "error", "budgets.workspace_daily_tokens: Input should be a valid integer (got '5000000')"),
    ]


def test_a_single_id_where_a_list_goes_is_not_taken_as_a_list() -> None:
    """`users: U0ALICE` (brackets forgotten) is an error naming the value, not a silent one-person list."""
    text = "admins: U0ADMIN1\nagents:\n  director:\n    users: U0ALICE\n"
    assert problems_of(text) == [
        (1, "error", "admins: Input should be a valid tuple (got 'U0ADMIN1')"),
        (4, "error", "agents.director.users: Input should be a valid tuple (got 'U0ALICE')"),
    ]


def test_a_number_as_an_id_and_a_value_as_a_section_are_named() -> None:
    """An id that YAML reads as a number, and a section given a value or a list instead of keys, are
    each reported where they are: sections in the order the file's keys are documented."""
    assert problems_of("admins: [12345, U0ADMIN1]\n") == [
        (1, "error", "admins.0: Input should be a valid string (got 12345)")
    ]
    assert problems_of("budgets: 5\nagents: [director]\nrate_limits:\n") == [
        (2, "error", "agents: Input should be a valid dictionary"),
        (1, "error", "budgets: Input should be a valid dictionary or instance of Budgets (got 5)"),
        (3, "error", "rate_limits: Input should be a valid dictionary or instance of RateLimits"),
    ]


def test_policy_file_that_is_not_text_is_an_error() -> None:
    """A binary file in place of the policy is reported, not read as "no restriction"."""
    assert [p.message for p in parse_policy(b"\xff\xfe\x00", "p.yaml")[1]] == [
        "policy file is not UTF-8 text"
    ]


def test_validate_reports_the_policy_like_the_agent_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`architect-bot agents validate` checks policy.yaml beside the agents: unknown agents, bad ids, exit 1."""  # noqa: E501
    folder = tmp_path / "agents"
    shutil.copytree(ROOT / "agents", folder)
    (folder / "policy.yaml").write_text(
        "agents:\n  Backend-Builder: {users: [U0ALICE]}\n  ghost-writer: {users: [U0ALICE]}\n"
        "rate_limits: {user_per_minute: 0}\n"
    )
    code = main(["agents", "validate", str(folder)])
    out = capsys.readouterr().out
    assert code == 1
    assert (
        f"{folder / 'policy.yaml'}:4: error: rate_limits.user_per_minute: Input should be greater than 0"
        in out
    )
    (folder / "policy.yaml").write_text(
        "agents:\n  Backend-Builder: {users: [U0ALICE]}\n  ghost-writer: {users: [U0ALICE]}\n"
    )
    code = main(["agents", "validate", str(folder)])
    out = capsys.readouterr().out
    assert code == 1
    assert out.splitlines() == [
        f"{folder / 'policy.yaml'}:3: error: policy names agent 'ghost-writer', which is not loaded: "
        "its rule guards nothing",
        "FAILED: 4 agents loaded; 1 error, 0 warnings",
    ]
    other = tmp_path / "elsewhere.yaml"
    other.write_text("admins: [U0ADMIN1]\n")
    assert main(["agents", "validate", str(folder), "--policy", str(other)]) == 0


def test_agent_names_match_the_loaded_agents_case_insensitively(tmp_path: Path) -> None:
    """`Backend-Builder:` in the policy guards the agent `backend-builder`."""
    path = tmp_path / "policy.yaml"
    path.write_text("agents:\n  Backend-Builder: {users: [U0ALICE]}\n")
    policy, problems = load_policy(
        path, lambda name: "backend-builder" if name.casefold() == "backend-builder" else None
    )
    assert problems == []
    assert list(policy.agents) == ["backend-builder"]
    assert not check_access(
        policy, agent="backend-builder", user_id="U0BOB", channel_id="C1", groups=None
    ).allowed


# --------------------------------------------------------------------------------------------- access


POLICY = Policy(
    admins=("U0ADMIN1", "U0ADMIN2"),
    agents={
        "backend-builder": AgentRule(
            channels=("C0DESIGN", "C0ARCH"), users=("U0ALICE",), usergroups=("S0ARCH",)
        ),
        "director": AgentRule(channels=("C0DESIGN",)),
        "tokenomics-builder": AgentRule(users=("U0ALICE",)),
    },
)


def test_allowed_by_user_id_without_asking_slack_for_groups() -> None:
    """A listed person is let in at once; the user-group lookup is not needed."""
    groups = Groups({"S0ARCH": set()})
    decision = check_access(
        POLICY, agent="backend-builder", user_id="U0ALICE", channel_id="C0DESIGN", groups=groups
    )
    assert decision.allowed
    assert groups.asked == []


def test_allowed_as_a_member_of_a_user_group() -> None:
    """A member of a listed user group may use the agent."""
    groups = Groups({"S0ARCH": {"U0BOB"}})
    assert check_access(
        POLICY, agent="backend-builder", user_id="U0BOB", channel_id="C0ARCH", groups=groups
    ).allowed
    assert groups.asked == ["S0ARCH"]


def test_denied_person_is_told_what_and_whom_to_ask() -> None:
    """Someone not listed hears which agent they can't use and which admins to ask."""
    decision = check_access(
        POLICY, agent="backend-builder", user_id="U0EVE", channel_id="C0DESIGN", groups=Groups({})
    )
    assert (decision.allowed, decision.reason) == (False, "person")
    assert decision.message == (
        "You can't use *backend-builder*: it is available only to selected people and user groups. "
        "To get access, ask an admin of the bot: <@U0ADMIN1>, <@U0ADMIN2>."
    )


def test_denied_channel_names_the_channels_where_it_works() -> None:
    """In the wrong channel, even a listed person is told where the agent can be used."""
    decision = check_access(POLICY, agent="Director", user_id="U0ALICE", channel_id="C0RANDOM", groups=None)
    assert (decision.allowed, decision.reason) == (False, "channel")
    assert decision.message.startswith(
        "You can't use *Director* in this channel. It is available in <#C0DESIGN>."
    )


def test_handoff_refusal_is_worded_as_a_handoff() -> None:
    """A handoff into an agent the person may not use says so in those words."""
    decision = check_access(
        POLICY,
        agent="tokenomics-builder",
        user_id="U0BOB",
        channel_id="C1",
        groups=None,
        doing="hand this thread to",
    )
    assert decision.message.startswith("You can't hand this thread to *tokenomics-builder*:")


def test_without_admins_the_message_points_at_the_team_running_the_bot() -> None:
    """With no admins in the policy the refusal still says whom to ask."""
    policy = Policy(agents={"director": AgentRule(users=())})
    decision = check_access(policy, agent="director", user_id="U1", channel_id="C1", groups=None)
    assert decision.message.endswith("To get access, ask the team that runs the bot.")


def test_admins_follow_the_access_rules_but_are_not_blocked_by_limits_by_default() -> None:
    """Admins manage the policy rather than bypass it; budgets count their use without blocking them."""
    assert not check_access(
        POLICY, agent="tokenomics-builder", user_id="U0ADMIN1", channel_id="C1", groups=None
    ).allowed
    assert POLICY.is_admin("U0ADMIN1")
    assert not POLICY.limits_apply_to("U0ADMIN1")
    assert POLICY.limits_apply_to("U0ALICE")
    assert replace(POLICY, limit_admins=True).limits_apply_to("U0ADMIN1")


# ------------------------------------------------------------------------------------- budget arithmetic


def test_windows_are_utc_days_months_and_clock_minutes() -> None:
    """Budgets reset at 00:00 UTC, monthly reports on the 1st, rate limits on the minute."""
    assert day_window(NOON).key == "2024-06-01"
    assert day_window(NOON).reset_at == NOON + 12 * 3600
    assert day_window(NOON + 12 * 3600).key == "2024-06-02"
    assert month_window(NOON).key == "2024-06"
    assert month_window(NOON).reset_at == 1_719_792_000.0  # 2024-07-01
    assert month_window(1_709_164_800.0).key == "2024-02"  # 2024-02-29, a leap day
    assert month_window(1_709_164_800.0).reset_at == 1_709_251_200.0  # 2024-03-01
    assert (minute_window(NOON + 59.9).start, minute_window(NOON + 59.9).reset_at) == (NOON, NOON + 60)
    assert day_window(NOON).ttl_s(NOON + 43_200) == 0.001


def test_reset_times_read_naturally() -> None:
    """People read when a limit resets as a UTC time and a span from now."""
    midnight = NOON + 12 * 3600
    assert format_reset(midnight, NOON) == "00:00 UTC (in 12 h)"
    assert format_reset(midnight, NOON + 5 * 3600 + 1) == "00:00 UTC (in 6 h 60 min)"
    assert format_reset(midnight, midnight - 90) == "00:00 UTC (in 2 min)"
    assert format_reset(NOON + 60, NOON + 37) == "12:01 UTC (in 23 s)"


def test_cost_uses_the_policy_prices_and_dated_model_names() -> None:
    """Dollars come from the policy's prices; a dated snapshot name uses its model's price."""
    policy = parsed("budgets: {prices: {gpt-4.1: {input_per_mtok: 2.0, output_per_mtok: 8.0}}}\n")
    price = policy.price_for("gpt-4.1-2025-04-14")
    assert price == policy.price_for("GPT-4.1") == Price(input_per_mtok=2.0, output_per_mtok=8.0)
    assert policy.price_for("gpt-4.1-mini") is None
    assert cost_usd(price, 120_000, 4_000) == pytest.approx(0.272)
    assert cost_usd(None, 120_000, 4_000) is None
    assert (format_usd(272_000), format_usd(12_345_678)) == ("$0.2720", "$12.35")


def test_refusals_say_the_limit_where_the_person_stands_and_when_it_resets() -> None:
    """Over budget, the message gives the limit, the use so far, the need, the reset and the admins."""
    over = Rejection("user_daily_tokens", allowed=200_000, used=197_000, needed=8_000, reset_at=NOON + 43_200)
    assert over.message(NOON, admins=("U0ADMIN1",)) == (
        "Your daily budget is 200,000 tokens; 197,000 are used today and this answer needs about 8,000 "
        "(3,000 left). It resets at 00:00 UTC (in 12 h); your message is saved, reply then and I'll answer it. "  # noqa: E501
        "To raise the budget, ask an admin of the bot: <@U0ADMIN1>."
    )
    huge = Rejection("user_daily_tokens", allowed=100_000, used=0, needed=130_000, reset_at=NOON + 43_200)
    assert "this thread alone needs about 130,000 tokens" in huge.message(NOON)
    rate = Rejection("user_per_minute", allowed=6, used=6, needed=1, reset_at=NOON + 60)
    assert rate.message(NOON + 15) == (
        "You have reached the limit of 6 requests per minute to the agents. "
        "Your message is saved; reply again after 12:01 UTC (in 45 s) and I'll answer it."
    )


def test_a_policy_that_refers_to_itself_is_an_error_not_a_crash() -> None:
    """A YAML anchor used inside itself is reported as a broken file (the bot refuses to start on it),
    instead of crashing the parser that promises never to raise."""
    policy, problems = parse_policy("admins: &x [U0ADMIN1, *x]\n", "p.yaml")
    assert policy == Policy(file="p.yaml")
    assert [(p.severity, p.message) for p in problems] == [
        ("error", "policy file is not valid YAML (an anchor is used inside itself)")
    ]
