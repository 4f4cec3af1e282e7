"""The UsageLedger contract, run against both implementations (in-memory and real Redis).

Each test pins what a person notices about budgets: a request that fits goes through, one that
does not is refused with the limit and its reset time, real usage replaces the estimate, limits
reset at UTC midnight or the next minute, concurrent requests at the edge of a budget never both
get through, and ``/architect usage`` adds up. Windows come from the injected clock, so moving
the ``FixedClock`` past midnight is all a reset needs (no sleeping, even on Redis).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis

from bot.adapters.memory.ledger import MemoryLedger
from bot.adapters.redis import keys
from bot.adapters.redis.ledger import RedisLedger
from bot.core.policy import day_window
from bot.core.ports import FixedClock
from bot.core.quota import Charge, Limits, QuotaRequest, Rejection, Reservation, UsageLedger

NOON = 1_717_243_200.0  # 2024-06-01 12:00:00 UTC


@dataclass
class Q:
    """A store of one implementation and its clock."""

    kind: str
    clock: FixedClock
    store: UsageLedger

    def reserve(
        self,
        tokens: int,
        *,
        user: str = "U1",
        limits: Limits | None = None,
        enforce: bool = True,
        rid: str = "",
    ) -> Reservation | Rejection:
        """Reserve ``tokens`` for ``user`` now."""
        request = QuotaRequest(
            id=rid or uuid.uuid4().hex,
            user_id=user,
            estimate_tokens=tokens,
            limits=limits or Limits(),
            now=self.clock.now(),
            enforce=enforce,
        )
        return self.store.reserve(request)

    def charge(
        self,
        reservation: Reservation | None,
        tokens_in: int,
        tokens_out: int,
        *,
        user: str = "U1",
        agent: str = "director",
        channel: str = "C1",
        usd: int = 0,
        cid: str = "",
    ) -> bool:
        """Charge real usage against ``reservation`` (or without one)."""
        return self.store.charge(
            Charge(
                id=cid or (reservation.id if reservation else uuid.uuid4().hex),
                user_id=user,
                agent=agent,
                channel_id=channel,
                input_tokens=tokens_in,
                output_tokens=tokens_out,
                cost_micro_usd=usd,
                now=self.clock.now(),
                reservation=reservation,
            )
        )


@pytest.fixture(params=["memory", "redis"])
def q(request: pytest.FixtureRequest) -> Iterator[Q]:
    """One store per implementation, its clock at noon UTC."""
    clock = FixedClock(wall=NOON)
    if request.param == "memory":
        yield Q("memory", clock, MemoryLedger(clock=clock))
        return
    client = request.getfixturevalue("redis_client")
    prefix = request.getfixturevalue("redis_prefix")
    yield Q("redis", clock, RedisLedger(client, prefix=prefix))


def accepted(outcome: Reservation | Rejection) -> Reservation:
    """The reservation, failing the test on a refusal."""
    assert isinstance(outcome, Reservation), outcome
    return outcome


def refused(outcome: Reservation | Rejection) -> Rejection:
    """The refusal, failing the test on an acceptance."""
    assert isinstance(outcome, Rejection), outcome
    return outcome


DAILY = Limits(user_daily_tokens=10_000)


def test_a_request_that_fits_goes_through_and_one_that_does_not_is_told_why(q: Q) -> None:
    """Within the daily budget the model answers; past it the person hears the limit and the reset time."""
    accepted(q.reserve(6_000, limits=DAILY))
    rejection = refused(q.reserve(5_000, limits=DAILY))
    assert (rejection.limit, rejection.allowed, rejection.used, rejection.needed) == (
        "user_daily_tokens",
        10_000,
        6_000,
        5_000,
    )
    assert rejection.reset_at == day_window(NOON).reset_at == NOON + 12 * 3600
    assert "00:00 UTC (in 12 h)" in rejection.message(q.clock.now())


def test_a_refused_request_counts_nothing(q: Q) -> None:
    """Being refused does not eat into the budget: a smaller request still fits afterwards."""
    accepted(q.reserve(6_000, limits=DAILY))
    refused(q.reserve(5_000, limits=DAILY))
    refused(q.reserve(5_000, limits=DAILY))
    accepted(q.reserve(4_000, limits=DAILY))
    refused(q.reserve(1, limits=DAILY))


def test_budgets_are_per_person_and_the_workspace_budget_is_shared(q: Q) -> None:
    """One person's use does not touch another's budget, but everyone's counts for the workspace."""
    limits = Limits(user_daily_tokens=10_000, workspace_daily_tokens=15_000)
    accepted(q.reserve(9_000, user="U1", limits=limits))
    accepted(q.reserve(6_000, user="U2", limits=limits))
    rejection = refused(q.reserve(1_000, user="U3", limits=limits))
    assert (rejection.limit, rejection.used) == ("workspace_daily_tokens", 15_000)
    assert "workspace's daily budget" in rejection.message(q.clock.now())


def test_budget_resets_at_utc_midnight(q: Q) -> None:
    """A person out of budget at 23:59 UTC can ask again at 00:00 UTC."""
    accepted(q.reserve(10_000, limits=DAILY))
    q.clock.advance(12 * 3600 - 60)
    refused(q.reserve(1, limits=DAILY))
    q.clock.advance(60)
    accepted(q.reserve(10_000, limits=DAILY))


def test_rate_limit_counts_requests_per_minute_and_resets_with_the_next_minute(q: Q) -> None:
    """The seventh request in one minute waits for the next minute; tokens do not matter for it."""
    limits = Limits(user_per_minute=6)
    for _ in range(6):
        accepted(q.reserve(1, limits=limits))
    rejection = refused(q.reserve(1, limits=limits))
    assert (rejection.limit, rejection.allowed, rejection.used) == ("user_per_minute", 6, 6)
    assert rejection.reset_at == NOON + 60
    assert "6 requests per minute" in rejection.message(q.clock.now())
    accepted(q.reserve(1, user="U2", limits=limits))
    q.clock.advance(60)
    accepted(q.reserve(1, limits=limits))


def test_not_enforced_counts_but_never_refuses(q: Q) -> None:
    """An admin's use is counted in the workspace budget, yet the admin is never blocked."""
    limits = Limits(user_daily_tokens=1_000, workspace_daily_tokens=1_000, user_per_minute=1)
    accepted(q.reserve(5_000, user="UADMIN", limits=limits, enforce=False))
    accepted(q.reserve(5_000, user="UADMIN", limits=limits, enforce=False))
    rejection = refused(q.reserve(1, user="U2", limits=limits))
    assert (rejection.limit, rejection.used) == ("workspace_daily_tokens", 10_000)


def test_a_retried_reservation_counts_once(q: Q) -> None:
    """A reservation retried after a lost reply is the same reservation, not a second one."""
    first = accepted(q.reserve(6_000, limits=DAILY, rid="r1"))
    again = accepted(q.reserve(6_000, limits=DAILY, rid="r1"))
    assert first == again
    accepted(q.reserve(4_000, limits=DAILY))


def test_charge_replaces_the_estimate_by_the_real_tokens(q: Q) -> None:
    """An answer that used fewer tokens than estimated gives the difference back to the budget."""
    reservation = accepted(q.reserve(8_000, limits=DAILY))
    refused(q.reserve(3_000, limits=DAILY))
    assert q.charge(reservation, 1_500, 500) is True
    accepted(q.reserve(8_000, limits=DAILY))
    refused(q.reserve(1, limits=DAILY))


def test_charge_that_uses_more_than_estimated_counts_the_real_tokens(q: Q) -> None:
    """A longer answer than estimated is still counted in full."""
    reservation = accepted(q.reserve(1_000, limits=DAILY))
    q.charge(reservation, 6_000, 3_000)
    rejection = refused(q.reserve(2_000, limits=DAILY))
    assert rejection.used == 9_000


def test_charging_twice_changes_nothing(q: Q) -> None:
    """A retried charge (Lambda re-delivery) does not count the answer twice."""
    reservation = accepted(q.reserve(1_000, limits=DAILY))
    assert q.charge(reservation, 2_000, 1_000, usd=5) is True
    assert q.charge(reservation, 2_000, 1_000, usd=5) is False
    assert refused(q.reserve(8_000, limits=DAILY)).used == 3_000
    report = q.store.usage("U1", now=q.clock.now())
    assert report.day.total.tokens == 3_000
    assert report.day.total.requests == 1


def test_charge_without_a_reservation_counts_in_todays_budget(q: Q) -> None:
    """Usage recorded while no limit was set still counts once a limit is set the same day."""
    assert q.charge(None, 7_000, 1_000) is True
    assert refused(q.reserve(3_000, limits=DAILY)).used == 8_000


def test_zero_usage_releases_the_reservation_and_records_no_request(q: Q) -> None:
    """A model call that failed before answering costs nothing and does not show in usage."""
    reservation = accepted(q.reserve(9_000, limits=DAILY))
    q.charge(reservation, 0, 0)
    accepted(q.reserve(10_000, limits=DAILY))
    assert q.store.usage("U1", now=q.clock.now()).day.total.requests == 0


def test_usage_per_person_per_agent_today_and_this_month(q: Q) -> None:
    """`/architect usage` shows my tokens and cost per agent, today and for the month so far."""
    q.charge(None, 1_000, 200, agent="director", usd=3_600)
    q.charge(None, 5_000, 1_000, agent="backend-builder", usd=18_000)
    q.charge(None, 9_000, 9_000, user="U2", agent="backend-builder", channel="C2")
    q.clock.advance(86_400)  # the next day, same month
    q.charge(None, 100, 50, agent="director", usd=600)
    report = q.store.usage("U1", now=q.clock.now())
    assert [
        (a.name, a.input_tokens, a.output_tokens, a.cost_micro_usd, a.requests) for a in report.day.agents
    ] == [("director", 100, 50, 600, 1)]
    assert [(a.name, a.tokens, a.cost_micro_usd, a.requests) for a in report.month.agents] == [
        ("backend-builder", 6_000, 18_000, 1),
        ("director", 1_350, 4_200, 2),
    ]
    assert (report.month.total.tokens, report.month.total.cost_micro_usd) == (7_350, 22_200)
    assert report.workspace_day is None


def test_usage_for_admins_ranks_people_agents_and_channels(q: Q) -> None:
    """An admin sees who, which agents and which channels used the most today and this month."""
    q.charge(None, 1_000, 0, user="U1", agent="director", channel="C1")
    q.charge(None, 5_000, 0, user="U2", agent="backend-builder", channel="C2")
    q.charge(None, 3_000, 0, user="U3", agent="backend-builder", channel="C1")
    report = q.store.usage("UADMIN", now=q.clock.now(), workspace=True, top=2)
    assert report.workspace_day is not None
    assert report.workspace_month is not None
    assert [(u.name, u.tokens) for u in report.workspace_day.users] == [("U2", 5_000), ("U3", 3_000)]
    assert [(a.name, a.tokens) for a in report.workspace_day.agents] == [
        ("backend-builder", 8_000),
        ("director", 1_000),
    ]
    assert [(c.name, c.tokens) for c in report.workspace_month.channels] == [("C2", 5_000), ("C1", 4_000)]
    assert (report.workspace_day.total.tokens, report.workspace_day.total.requests) == (9_000, 3)
    assert report.day.total.tokens == 0


def test_agent_names_with_separators_are_kept_whole(q: Q) -> None:
    """An agent called `SE: Security` shows under its own name in usage."""
    q.charge(None, 10, 5, agent="SE: Security:v2")
    report = q.store.usage("U1", now=q.clock.now(), workspace=True)
    assert [a.name for a in report.day.agents] == ["SE: Security:v2"]
    assert report.workspace_day is not None
    assert [a.name for a in report.workspace_day.agents] == ["SE: Security:v2"]


def test_concurrent_requests_at_the_edge_of_a_budget_never_all_get_through(q: Q) -> None:
    """Eight people's requests racing for room for two: exactly two go through, never more."""
    limits = Limits(workspace_daily_tokens=10_000)
    accepted(q.reserve(6_000, user="U0", limits=limits))
    outcomes: list[Reservation | Rejection] = []
    barrier = threading.Barrier(8)
    lock = threading.Lock()

    def race(i: int) -> None:
        barrier.wait()
        outcome = q.reserve(2_000, user=f"U{i + 1}", limits=limits)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(isinstance(o, Reservation) for o in outcomes) == 2
    assert refused(q.reserve(1, user="U9", limits=limits)).used == 10_000


def test_redis_counters_expire_at_midnight_and_at_the_end_of_the_minute(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    """Redis forgets a day's counters at the next UTC midnight and a minute's at its end (no leftovers)."""
    clock = FixedClock(wall=NOON + 15)
    store = RedisLedger(redis_client, prefix=redis_prefix)
    request = QuotaRequest(id="r1", user_id="U1", estimate_tokens=5, limits=Limits(), now=clock.now())
    accepted(store.reserve(request))
    day = day_window(clock.now()).key
    user_ttl = redis_client.pttl(keys.quota_used_by_user(redis_prefix, "U1", day))
    ws_ttl = redis_client.pttl(keys.quota_used_by_workspace(redis_prefix, day))
    rate_ttl = redis_client.pttl(keys.quota_rate(redis_prefix, "U1", str(int((NOON + 15) // 60))))
    assert 12 * 3600_000 - 15_000 - 5_000 < user_ttl <= 12 * 3600_000 - 15_000
    assert 12 * 3600_000 - 15_000 - 5_000 < ws_ttl <= 12 * 3600_000 - 15_000
    assert 40_000 < rate_ttl <= 45_000
    store.charge(
        Charge(
            id="r1", user_id="U1", agent="director", channel_id="C1", input_tokens=3, output_tokens=1,
            cost_micro_usd=0, now=clock.now(), reservation=Reservation("r1", "U1", day, 5),
        )
    )  # fmt: skip
    for key in redis_client.scan_iter(match=f"{redis_prefix}:*"):
        assert redis_client.pttl(key) > 0, key
