"""The polling watcher: event-based replication for sources that send no events.

Every few seconds (``tick``) the watcher looks for watched policies whose round is due
(``replication.domain.watch``), claims each round in the store (one process wins it), lists the
source through the policy's filters — the catalog, the tags, one HEAD per tag; no blob is read — and
compares each tag's digest with the previous round's. The first round after a policy was created
or changed runs the whole policy once; later rounds start executions scoped to what changed, and
deletions of the tags that are gone when the policy has ``deletion`` on. The new baseline and the
executions are saved together, so a crash in between loses nothing: the next round sees the same
changes again.

A source that cannot be listed (down, refusing, slow) fails that round only: the error is logged
and kept on the policy's watch, and the next round, an interval later, tries again. The registry
client's own retries (429 with ``Retry-After``, 5xx, connection errors) happen within a round.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ferry.distribution.client import RegistryClient
from ferry.distribution.observe import RequestObserver
from ferry.distribution.options import RetryPolicy
from ferry.errors import FerryError
from ferry.jobs.clients import connect
from ferry.jobs.context import Clock, utc_now
from ferry.jobs.service import ReplicationService
from ferry.replication.domain.execution import Execution
from ferry.replication.domain.policy import Policy
from ferry.replication.domain.scope import ExecutionScope
from ferry.replication.domain.watch import (
    TagKey,
    compare,
    current_tags,
    deletion_scopes,
    push_scopes,
    round_due,
    watch_interval,
)
from ferry.replication.engine.tasks import bounded_map
from ferry.replication.listing import LISTING_CONCURRENCY, list_source
from ferry.store.watches import BaselineChange, RoundClaim

log = logging.getLogger("ferry.watcher")


@dataclass(frozen=True)
class WatchRound:
    """A round this process ran: whether it was full, the executions it started, or its error."""

    policy_id: int
    full: bool
    executions: list[Execution] = field(default_factory=list)
    error: str = ""


class Watcher:
    """Watches the sources of the watched policies; ``run`` ticks every ``poll_seconds`` until
    cancelled, with at most ``concurrency`` rounds (policies) listing at once per tick."""

    def __init__(
        self,
        service: ReplicationService,
        *,
        clock: Clock = utc_now,
        poll_seconds: float = 5.0,
        concurrency: int = 4,
        retry: RetryPolicy | None = None,
        observer: RequestObserver | None = None,
    ) -> None:
        self._service = service
        self._store = service.store
        self._clock = clock
        self._poll = poll_seconds
        self._concurrency = concurrency
        self._retry = retry
        self._observer = observer
        self._in_flight: set[int] = set()

    async def run(self) -> None:
        """Tick until cancelled. A tick runs beside the next ones, so one slow source never holds
        up the rounds of the other policies; a policy's round is never run twice at once."""
        ticks: set[asyncio.Task[None]] = set()
        try:
            while True:
                tick = asyncio.create_task(self._tick_logged(), name="ferry-watcher-tick")
                ticks.add(tick)
                tick.add_done_callback(ticks.discard)
                await asyncio.sleep(self._poll)
        finally:
            for tick in ticks:
                tick.cancel()
            await asyncio.gather(*ticks, return_exceptions=True)

    async def _tick_logged(self) -> None:
        try:
            await self.tick(self._clock())
        except Exception:  # a database hiccup must not end the watcher; the next tick retries
            log.exception("watcher tick failed")

    async def tick(self, now: datetime) -> list[WatchRound]:
        """Claim and run every round due at ``now``; the rounds this process ran."""
        watched = [policy for policy in await self._store.policies.list_policies() if watch_interval(policy)]
        if not watched:
            return []
        states = await self._store.watches.states([policy.id for policy in watched])
        due = [
            policy
            for policy in watched
            if policy.id not in self._in_flight and round_due(policy, states.get(policy.id), now=now)
        ]
        self._in_flight.update(policy.id for policy in due)
        try:
            rounds = await bounded_map(lambda policy: self._round(policy, now), due, limit=self._concurrency)
        finally:
            self._in_flight.difference_update(policy.id for policy in due)
        return [item for item in rounds if item is not None]

    async def _round(self, policy: Policy, now: datetime) -> WatchRound | None:
        interval = watch_interval(policy)
        if interval is None:
            return None
        claim = await self._store.watches.claim_round(policy, interval=interval, now=now)
        if claim is None:
            return None  # another process runs it
        try:
            return await self._run_round(policy, claim)
        except FerryError as exc:
            error = str(exc)
            log.warning(
                "rule %r: watching its source failed, the next round in %d s tries again: %s",
                policy.name,
                interval.total_seconds(),
                error,
            )
        except Exception as exc:  # the round's edge: a bug in one round must not end the watcher
            error = f"unexpected error: {exc!r}"
            log.exception("rule %r: watching its source failed", policy.name)
        await self._store.watches.fail_round(policy.id, claim, error)
        return WatchRound(policy.id, claim.full, error=error)

    async def _run_round(self, policy: Policy, claim: RoundClaim) -> WatchRound:
        source = await self._service.dispatcher.registry(policy.src_registry_id)
        async with connect(source, retry=self._retry, observer=self._observer) as connection:
            client = connection.client
            listing = await list_source(client, policy, connection.provider)
            scopes: list[ExecutionScope | None]
            if claim.full:
                current = current_tags(listing.repositories)
                scopes = [None] if current else []
                change = BaselineChange(current, replace_all=True)
                if not current:
                    log.info("rule %r: its source has nothing its filters select (yet)", policy.name)
            else:
                baseline = await self._store.watches.baseline(policy.id)
                comparison = compare(policy, baseline, listing.repositories)
                confirmed = await _confirm_gone(client, comparison.gone) if policy.deletion else []
                scopes = [*push_scopes(comparison), *deletion_scopes(baseline, comparison.current, confirmed)]
                upserts = {
                    (name, tag): comparison.current[name, tag]
                    for name, tags in comparison.pushed.items()
                    for tag in tags
                }
                change = BaselineChange(upserts, [*comparison.gone, *comparison.forgotten])
        executions = await self._store.watches.finish_round(policy, claim, change, scopes, now=self._clock())
        if executions is None:
            log.info("rule %r: a newer round or an edit of the rule overtook this round", policy.name)
            return WatchRound(policy.id, claim.full)
        for execution, scope in zip(executions, scopes, strict=True):
            log.info(
                "rule %r: started execution %d for %s", policy.name, execution.id, _describe(scope, claim)
            )
        if executions:
            self._service.dispatcher.wake()
        return WatchRound(policy.id, claim.full, executions)


async def _confirm_gone(client: RegistryClient, gone: Sequence[TagKey]) -> list[TagKey]:
    """The tags the source really no longer has: a tag can leave a listing while it stays (its
    new digest is outside a label filter), and only a deleted tag is a deletion."""
    found = await bounded_map(
        lambda key: client.head_manifest(key[0], key[1]), gone, limit=LISTING_CONCURRENCY
    )
    return [key for key, info in zip(gone, found, strict=True) if info is None]


def _describe(scope: ExecutionScope | None, claim: RoundClaim) -> str:
    if scope is not None:
        return f"the {scope.describe()} found at the source"
    if claim.full:
        return "a full run: the first look at the source since the rule was created or changed"
    return "a full run: many repositories changed at the source"
