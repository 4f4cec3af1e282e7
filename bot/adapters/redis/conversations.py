"""Redis :class:`~bot.core.ports.Conversations`: turns, agent, handoffs, the answer lock, forgetting.

Every write is one script over one conversation's keys (:class:`~bot.adapters.redis.keys.ConversationKeys`,
one slot); ``get`` is one read-only script. Every writing script carries a random nonce and
recognises its own earlier success, so a reply lost on the wire and retried by redis-py never turns
"stored" into "already there".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager

from bot.adapters.redis import keys
from bot.adapters.redis.base import RedisBase, agent_set, conversation, ms, text, turn_args
from bot.adapters.redis.lock import locked
from bot.adapters.store_common import PARK_TTL_S, new_token, ts_micros
from bot.core.conversation import (
    Conversation,
    ConversationMeta,
    HandoffRecord,
    ShownAnswer,
    Turn,
    parse_conversation_id,
)
from bot.core.ports import AppendOutcome, HandedOff, HandoffStatus, LockedConversation, Opened

_APPENDED = {
    1: AppendOutcome.STORED,
    0: AppendOutcome.DUPLICATE,
    2: AppendOutcome.PARKED,
    3: AppendOutcome.REFUSED,
}
_HANDED_OFF = {1: HandoffStatus.DONE, 0: HandoffStatus.STALE, -2: HandoffStatus.WRONG_AGENT}


def _meta_fields(meta: ConversationMeta, *, skip: str = "") -> list[str]:
    """The meta as hash fields and JSON values, flat (``skip``: a field the script sets itself)."""
    fields: list[str] = []
    for name, value in meta.model_dump(mode="json").items():
        if name != skip:
            fields += [name, json.dumps(value)]
    return fields


class RedisConversations(RedisBase):
    """The :class:`~bot.core.ports.Conversations` part of the Redis store."""

    def create(self, meta: ConversationMeta) -> bool:
        """Store a new conversation; False (and nothing changes) if the id exists."""
        args: list[str | int] = [ms(self.ttl_s), new_token(), *_meta_fields(meta)]
        return bool(self.run_script("create", "create", self.conversation_keys(meta.id), args))

    def open(
        self, meta: ConversationMeta, turn: Turn, *, refuse_agents: frozenset[str] = frozenset()
    ) -> Opened:
        """Create if absent (adopting parked turns) and store ``turn``: one round trip."""
        fields = _meta_fields(meta)
        args = [*self.write_args(), *turn_args(turn), len(fields) // 2, *fields, agent_set(refuse_agents)]
        args.append(meta.agent)
        found = self.run_script("open", "open", self.conversation_keys(meta.id), args)
        created, agent, stored, status = found
        return Opened(
            created=bool(created),
            agent=json.loads(agent),
            stored=bool(stored),
            refused=status == 1,
            forgotten=status == 2,
        )

    def adopt(
        self, meta: ConversationMeta, turns: Sequence[Turn], handoffs: Sequence[HandoffRecord]
    ) -> Opened:
        """Create the conversation with its history if absent (adopting parked turns): one round trip."""
        fields = _meta_fields(meta, skip="last_answer_id")
        ordered: list[str | int] = []
        for turn in sorted(turns, key=lambda t: ts_micros(t.ts)):
            ordered += turn_args(turn)
        args: list[str | int] = [
            *self.write_args(),
            len(fields) // 2,
            len(turns),
            len(handoffs),
            json.dumps(meta.last_answer_id),
            *fields,
            *ordered,
            *(record.model_dump_json() for record in handoffs),
        ]
        found = self.run_script("adopt", "adopt", self.conversation_keys(meta.id), args)
        if len(found) > 2:  # forgotten on request: the thread is never rebuilt
            return Opened(created=False, agent=meta.agent, stored=False, forgotten=True)
        created, agent = found
        return Opened(created=bool(created), agent=json.loads(agent), stored=bool(created))

    def exists(self, conversation_id: str) -> bool:
        """Whether the conversation exists: one EXISTS on its meta key."""
        key = self.conversation_keys(conversation_id).meta
        return bool(self.call("exists", lambda: self.client.exists(key)))

    def get(self, conversation_id: str) -> Conversation | None:
        """The whole conversation (one round trip), or None if unknown or expired."""
        found = self.run_script("get", "get", self.conversation_keys(conversation_id), [])
        return conversation(*found) if found else None

    def find(self, *, channel_id: str, thread_ts: str) -> list[str]:
        """Ids of the live conversations of a Slack thread, in any team: a SCAN over the prefix's
        conversation keys (a tool's lookup from a thread link, never on the request path)."""
        pattern = keys.thread_meta_pattern(self.prefix, channel_id=channel_id, thread_ts=thread_ts)
        found_keys = self.call("find", lambda: list(self.client.scan_iter(match=pattern, count=1000)))
        found = set()
        for key in found_keys:
            conversation_id = keys.conversation_id_of_meta(self.prefix, text(key))
            address = parse_conversation_id(conversation_id)
            if address is not None and (address.channel_id, address.thread_ts) == (channel_id, thread_ts):
                found.add(conversation_id)
        return sorted(found)

    def append_turn(
        self,
        conversation_id: str,
        turn: Turn,
        *,
        park_if_missing: bool = False,
        refuse_agents: frozenset[str] = frozenset(),
    ) -> AppendOutcome:
        """Store a turn in one round trip (parked when the conversation does not exist yet)."""
        args = [
            *self.write_args(),
            *turn_args(turn),
            "1" if park_if_missing else "0",
            ms(PARK_TTL_S),
            agent_set(refuse_agents),
        ]
        result = self.run_script("append_turn", "append_turn", self.conversation_keys(conversation_id), args)
        return _APPENDED.get(result, AppendOutcome.MISSING)

    def forget(self, conversation_id: str) -> bool:
        """Delete the conversation and leave its tombstone for the conversation TTL: one round trip."""
        conversation_keys = self.conversation_keys(conversation_id)
        return bool(self.run_script("forget", "forget", conversation_keys, [ms(self.ttl_s)]))

    def is_forgotten(self, conversation_id: str) -> bool:
        """True while the tombstone lives (one EXISTS)."""
        key = self.conversation_keys(conversation_id).forgotten
        return bool(self.call("is_forgotten", lambda: self.client.exists(key)))

    def hand_off(
        self,
        conversation_id: str,
        *,
        expected_answer_id: str,
        record: HandoffRecord,
        prompt: Turn,
        model: str | None,
    ) -> HandedOff:
        """Compare-and-set, handoff record, prompt turn and the clicked answer's buttons retired:
        one script."""
        args = [
            *self.write_args(),
            *turn_args(prompt),
            expected_answer_id,
            json.dumps(expected_answer_id),
            record.from_agent,
            json.dumps(record.to_agent),
            json.dumps(model),
            record.model_dump_json(),
        ]
        result, retired = self.run_script(
            "hand_off", "hand_off", self.conversation_keys(conversation_id), args
        )
        return HandedOff(
            _HANDED_OFF.get(result, HandoffStatus.MISSING),
            ShownAnswer.model_validate_json(retired) if retired else None,
        )

    def locked(
        self, conversation_id: str, *, ttl_s: float, wait_s: float
    ) -> AbstractContextManager[LockedConversation]:
        """Take the answer lock and read the conversation in one round trip (polled while busy)."""
        return locked(self, self.conversation_keys(conversation_id), ttl_s=ttl_s, wait_s=wait_s)
