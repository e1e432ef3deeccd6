"""The dashboard at ``/``: the last executions (refreshed live), the last day's failures and bytes
moved, and how the registry endpoints are."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Response

from ferry.replication.domain.registry import RegistryStatus
from ferry.store.executions import ExecutionQuery
from ferry.web.templating import render_fragment, render_page
from ferry.web.visit import SignedInVisit, Visit

router = APIRouter()

RECENT = 10
PERIOD = timedelta(hours=24)


@router.get("/")
async def dashboard(visit: SignedInVisit) -> Response:
    store = visit.services.store
    activity = await store.executions.activity_since(visit.services.clock() - PERIOD)
    health = Counter(registry.status for registry in await store.registries.list_registries())
    context = {
        "title": visit.gettext("Dashboard"),
        "nav": "dashboard",
        "activity": activity,
        "health": {status.value: health[status] for status in RegistryStatus},
        **await _recent(visit),
    }
    return render_page(visit, "dashboard.html", context)


@router.get("/ui/dashboard/executions")
async def recent_executions(visit: SignedInVisit) -> Response:
    """The recent executions table alone, for the page's live refresh."""
    return render_fragment(visit, "_recent_executions.html", await _recent(visit))


async def _recent(visit: Visit) -> dict[str, Any]:
    store = visit.services.store
    executions, _ = await store.executions.list_executions(ExecutionQuery(limit=RECENT))
    policies = {policy.id: policy.name for policy in await store.policies.list_policies()}
    return {"executions": executions, "policy_names": policies, "now": visit.services.clock()}
