"""The cron tick: starts the executions of scheduled policies when their cron says so.

Each round (``tick``) reads the enabled scheduled policies and their last fires, works out which
fire is due for each (``replication.domain.schedule.due_fire``: the latest cron time at or before
now, later than the last fire and than the policy's last change), claims it in the store, and
starts an execution with trigger ``scheduled`` through ``ReplicationService.start_execution``,
where single_active_replication is honoured (a fire while a run is active is recorded as a Failed
"Execution skipped" execution, as in Harbor).

Several processes (``ferry serve``, ``ferry worker``) may run a scheduler on one database: the
claim is an insert under a unique (policy, fire time) constraint, so exactly one of them starts
the execution. A fire missed while no scheduler ran is due at the next round, and only the most
recent one: a restart after a week runs a daily policy once, not seven times.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from ferry.errors import FerryError
from ferry.jobs.context import Clock, utc_now
from ferry.jobs.service import ReplicationService
from ferry.replication.domain.execution import Execution
from ferry.replication.domain.policy import Policy
from ferry.replication.domain.schedule import due_fire, fires_on_schedule
from ferry.replication.domain.status import TriggerType

Sleep = Callable[[float], Awaitable[None]]

LATE_SECONDS = 60.0
"""A fire run this long after its time is logged as missed (ferry was not running)."""

log = logging.getLogger("ferry.scheduler")


@dataclass(frozen=True)
class Fire:
    """A fire this scheduler claimed, and the execution it started."""

    policy_id: int
    fire_time: datetime
    execution: Execution


class Scheduler:
    """Fires scheduled policies; ``run`` ticks about once a second, on the second, until cancelled."""

    def __init__(
        self,
        service: ReplicationService,
        *,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
        poll_seconds: float = 1.0,
    ) -> None:
        self._service = service
        self._store = service.store
        self._clock = clock
        self._sleep = sleep
        self._poll_seconds = poll_seconds

    async def run(self) -> None:
        """Tick just after every second until cancelled; a failed round is logged and the next
        one retries (a fire that came due meanwhile is still due then)."""
        while True:
            try:
                await self.tick(self._clock())
            except Exception:  # a database hiccup must not end the schedules; the next round retries
                log.exception("scheduler round failed")
            await self._sleep(self._delay(self._clock()))

    def _delay(self, now: datetime) -> float:
        """Until just after the next whole second (fires are whole seconds), at most a poll."""
        return min(self._poll_seconds, 1.0 - now.microsecond / 1_000_000 + 0.005)

    async def tick(self, now: datetime) -> list[Fire]:
        """One round at ``now``: claim and start every due fire; the fires this process won."""
        policies = [
            policy for policy in await self._store.policies.list_policies() if fires_on_schedule(policy)
        ]
        if not policies:
            return []
        last_fires = await self._store.schedules.last_fires([policy.id for policy in policies])
        fired = []
        for policy in policies:
            try:
                fire_time = due_fire(policy, last_fire=last_fires.get(policy.id), now=now)
                if fire_time is not None:
                    fire = await self._fire(policy, fire_time, now)
                    if fire is not None:
                        fired.append(fire)
            except FerryError as exc:  # one policy's problem (disabled meanwhile, deleted) spares the others
                log.warning("scheduled run of policy %r not started: %s", policy.name, exc)
        return fired

    async def _fire(self, policy: Policy, fire_time: datetime, now: datetime) -> Fire | None:
        if not await self._store.schedules.claim_fire(policy.id, fire_time, now=now):
            return None  # another process fired it
        execution = await self._service.start_execution(policy, TriggerType.SCHEDULED)
        await self._store.schedules.record_execution(policy.id, fire_time, execution.id)
        late = (now - fire_time).total_seconds()
        log.info(
            "policy %r: scheduled run for %s started as execution %d%s",
            policy.name,
            fire_time.isoformat(),
            execution.id,
            f" ({late:.0f} s late: missed while ferry was not running)" if late >= LATE_SECONDS else "",
        )
        return Fire(policy.id, fire_time, execution)
