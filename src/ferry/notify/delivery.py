"""Sending: one attempt to one target (``send``), and the loop that claims due deliveries, sends
them a few at a time and records every attempt with its retry (``Sender``).

An attempt succeeds on any 2xx. No answer, a 5xx, 408 or 429 is retried with a doubling delay;
another status (a 401 for a wrong auth header, a 404 for a wrong address) or an untrusted TLS
certificate fails the delivery at once: sending the same request again cannot cure it. The target's
auth header never reaches a log line or a stored error, even when a receiver echoes it back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from ferry.distribution.webhooks import is_certificate_failure, post_json
from ferry.errors import RecordNotFound, SecretsError, Unavailable
from ferry.notify.payloads import content_type
from ferry.replication.domain.registry import SECRET_MASK
from ferry.replication.domain.webhooks import AttemptResult, Delivery, TargetType, WebhookTarget
from ferry.store import Store

log = logging.getLogger("ferry.notify")

RETRYABLE_STATUS = frozenset({408, 429})
_EXCERPT = 200


@dataclass(frozen=True)
class RetrySchedule:
    """``attempts`` in all; the n-th retry waits ``first_delay * 2**(n-1)``, at most ``max_delay``."""

    attempts: int = 5
    first_delay: float = 10.0
    max_delay: float = 300.0

    def delay(self, attempts_made: int) -> float | None:
        """Seconds until the next attempt, or None when none is left."""
        if attempts_made >= self.attempts:
            return None
        return min(self.max_delay, self.first_delay * 2.0 ** (attempts_made - 1))


async def send(
    target: WebhookTarget, body: str, *, timeout_seconds: float, user_agent: str = "ferry"
) -> AttemptResult:
    """POST ``body`` to ``target`` once; never raises for the receiver's failures."""
    headers = {"Content-Type": content_type(target)}
    if target.type is TargetType.HTTP and target.auth_header:
        headers["Authorization"] = target.auth_header
    try:
        reply = await post_json(
            target.address,
            body.encode(),
            headers=headers,
            verify_tls=not target.skip_cert_verify,
            timeout_seconds=timeout_seconds,
            user_agent=user_agent,
        )
    except Unavailable as exc:
        if is_certificate_failure(exc):
            host = urlsplit(target.address).netloc
            error = (
                f"the TLS certificate of {host} could not be verified (give the receiver a certificate "
                "from a trusted CA, or set skip_cert_verify on this target if you trust the network)"
            )
            return AttemptResult(False, None, error, retryable=False)
        return AttemptResult(False, None, _scrub(str(exc), target))
    if reply.ok:
        return AttemptResult(True, reply.status)
    excerpt = " ".join(reply.body[:_EXCERPT].decode(errors="replace").split())
    error = f"the receiver answered HTTP {reply.status}" + (f": {excerpt}" if excerpt else "")
    if reply.status in (401, 403):
        error += " (check the target's auth_header)"
    retryable = reply.status >= 500 or reply.status in RETRYABLE_STATUS
    return AttemptResult(False, reply.status, _scrub(error, target), retryable=retryable)


def _scrub(text: str, target: WebhookTarget) -> str:
    return text.replace(target.auth_header, SECRET_MASK) if target.auth_header else text


def describe_target(address: str) -> str:
    """Where a delivery went, for logs: the host only, since a path can be a secret (Slack's)."""
    return urlsplit(address).netloc or "the receiver"


@dataclass(frozen=True)
class SenderSettings:
    concurrency: int = 4
    """Deliveries sent at once by this process."""
    timeout: float = 10.0
    lease_seconds: float = 60.0
    retry: RetrySchedule = RetrySchedule()


class Sender:
    """Claims due deliveries and sends them, recording each attempt."""

    def __init__(
        self, store: Store, settings: SenderSettings, *, owner: str, clock: Callable[[], datetime]
    ) -> None:
        self._store = store
        self._settings = settings
        self._owner = owner
        self._clock = clock

    async def send_due(self) -> int:
        """One round: claim up to ``concurrency`` due deliveries and send them; how many."""
        now = self._clock()
        claimed = await self._store.deliveries.claim(
            self._owner,
            now=now,
            lease_until=now + timedelta(seconds=self._settings.lease_seconds),
            limit=self._settings.concurrency,
        )
        await asyncio.gather(*(self._deliver(delivery) for delivery in claimed))
        return len(claimed)

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            await self._attempt(delivery)
        except Exception:  # the per-delivery edge: its lease lapses and a later round retries it
            log.exception("webhook delivery %s failed unexpectedly", delivery.id)

    async def _attempt(self, delivery: Delivery) -> None:
        try:
            target = await self._target(delivery)
            missing = "the target was removed from the webhook policy"
        except SecretsError as exc:
            target = None
            missing = f"the target's auth header cannot be opened: {exc}"
        if target is None:
            result = AttemptResult(False, None, missing, retryable=False)
        else:
            result = await send(target, delivery.payload, timeout_seconds=self._settings.timeout)
        now = self._clock()
        delay = self._settings.retry.delay(delivery.attempts) if result.retryable else None
        next_try = None if result.delivered or delay is None else now + timedelta(seconds=delay)
        await self._store.deliveries.record_attempt(
            delivery.id, self._owner, result, now=now, next_try=next_try
        )
        where = describe_target(delivery.address)
        if result.delivered:
            log.info("webhook delivery %s (%s) to %s delivered", delivery.id, delivery.event_type, where)
        elif next_try is not None:
            log.info(
                "webhook delivery %s to %s: attempt %s failed: %s; retrying in %.0f s",
                delivery.id,
                where,
                delivery.attempts,
                result.error,
                delay,
            )
        else:
            log.warning(
                "webhook delivery %s to %s failed after %s attempt(s): %s",
                delivery.id,
                where,
                delivery.attempts,
                result.error,
            )

    async def _target(self, delivery: Delivery) -> WebhookTarget | None:
        """The policy's target as it is now (its auth header may have changed since the event)."""
        try:
            policy = await self._store.webhooks.get(delivery.policy_id)
        except RecordNotFound:
            return None
        targets = list(policy.targets)
        if (
            delivery.target_index < len(targets)
            and targets[delivery.target_index].address == delivery.address
        ):
            return targets[delivery.target_index]
        return next((target for target in targets if target.address == delivery.address), None)
