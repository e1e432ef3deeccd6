"""When a scheduled policy fires: pure rules over a policy, its last fire and the current time.

A fire is a whole-second UTC time at which the policy's cron matches (read in the policy's time
zone). The fire due at ``now`` is the latest cron time at or before ``now`` that is later than the
policy's last fire and later than its last change (``update_time``): a new, edited or re-enabled
policy never fires for a time before it was saved, and after a pause (ferry down, a busy database)
only the most recent missed fire is due, once, however many were missed.
"""

from __future__ import annotations

from datetime import datetime

from ferry.replication.domain.cron import latest_run, next_runs
from ferry.replication.domain.policy import Policy
from ferry.replication.domain.status import TriggerType


def fires_on_schedule(policy: Policy) -> bool:
    """Whether the scheduler runs ``policy``: enabled, with a scheduled trigger and its cron."""
    return policy.enabled and policy.trigger.type is TriggerType.SCHEDULED and bool(policy.trigger.cron)


def due_fire(policy: Policy, *, last_fire: datetime | None, now: datetime) -> datetime | None:
    """The fire to run at ``now``, or None when nothing is due (see the module's docstring)."""
    if not fires_on_schedule(policy) or policy.trigger.cron is None:
        return None
    candidate = latest_run(policy.trigger.cron, at=now, timezone=policy.trigger.timezone)
    if candidate <= policy.update_time:
        return None
    if last_fire is not None and candidate <= last_fire:
        return None
    return candidate


def next_fire(policy: Policy, *, after: datetime) -> datetime | None:
    """The first fire strictly after ``after`` (in UTC), or None for a policy that never fires on
    its own (manual, event-based or disabled)."""
    if not fires_on_schedule(policy) or policy.trigger.cron is None:
        return None
    return next_runs(
        policy.trigger.cron, after=max(after, policy.update_time), timezone=policy.trigger.timezone
    )[0]
