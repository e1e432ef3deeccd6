"""Outgoing webhooks as both front ends use them: the test event, sent by the running notifier
(or, where none runs, by one made for the occasion)."""

from __future__ import annotations

from ferry.notify.notifier import Notifier, TargetCheck
from ferry.replication.domain.webhooks import WebhookPolicy
from ferry.services import Services


async def send_test_event(services: Services, webhook_id: int) -> tuple[WebhookPolicy, list[TargetCheck]]:
    """Send a test event to every target of the stored policy now (not queued, not retried, not in
    the delivery log); the policy and each target's result. ``RecordNotFound`` when it is gone."""
    webhook = await services.store.webhooks.get(webhook_id)
    return webhook, await notifier(services).send_test_event(webhook)


def notifier(services: Services) -> Notifier:
    if services.notifier is not None:
        return services.notifier
    return Notifier(services.store, local_registry=services.local_registry, hostname="ferry")
