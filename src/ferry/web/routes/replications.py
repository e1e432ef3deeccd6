"""Administration → Replications: the rules, and below them the executions (of the rule chosen by
``?rule=<id>``, else of every rule), as Harbor lays them out; REPLICATE, DRY RUN, DELETE per rule
and STOP per running execution. The form to create and edit a rule is ``replication_rules``; an
execution's own page (``/ui/executions/{id}``) and STOP (``/ui/executions/{id}/stop``, which comes
back here through ``next``) are the Executions screen's.

REPLICATE and DELETE ask first: the script with ``confirm()``, without it a page. The
executions table refreshes itself every few seconds while one of its rows runs (the script fetches
``/ui/replications/executions``, the table alone); without the script, reloading shows the same.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Response

from ferry.errors import FerryError, PreconditionFailed
from ferry.replication.domain.execution import Execution
from ferry.replication.domain.policy import Policy
from ferry.replication.domain.registry import LOCAL_REGISTRY_ID, LOCAL_REGISTRY_NAME, Registry
from ferry.replication.domain.schedule import next_fire
from ferry.replication.domain.status import SKIPPED_ACTIVE_TEXT, ExecutionStatus
from ferry.replication.domain.watch import watch_interval
from ferry.services.preview import PolicyPreview, PreviewOutcome, preview_policy
from ferry.store.executions import ExecutionQuery
from ferry.web.forms import text
from ferry.web.sessions import FlashKind
from ferry.web.templating import render_fragment, render_page
from ferry.web.visit import SignedInForm, SignedInVisit, Visit

router = APIRouter()

LIST_PATH = "/ui/replications"
EXECUTIONS_FRAGMENT = LIST_PATH + "/executions"
PAGE_SIZE = 15
PREVIEW_SECONDS = 120.0
"""A dry run lists the source and asks the destination; past this the page gives up."""


@dataclass(frozen=True)
class RuleRow:
    """A rule as the list shows it."""

    policy: Policy
    source: str
    destination: str
    destination_url: str
    next_run: datetime | None
    watch_seconds: int | None
    """How often an event-based rule's source is watched (were the rule enabled); None: it is not."""
    last: Execution | None


@router.get(LIST_PATH)
async def list_rules(visit: SignedInVisit, rule: int | None = None, page: int = 1) -> Response:
    selected = await visit.services.store.policies.get(rule) if rule is not None else None
    context = {
        "title": visit.gettext("Replications"),
        "nav": "replications",
        "rules": await _rule_rows(visit),
        **await _executions(visit, selected, page),
    }
    return render_page(visit, "replications/list.html", context)


@router.get(EXECUTIONS_FRAGMENT)
async def executions_table(visit: SignedInVisit, rule: int | None = None, page: int = 1) -> Response:
    """The executions table alone, for the page's live refresh."""
    selected = await visit.services.store.policies.get(rule) if rule is not None else None
    return render_fragment(visit, "replications/_executions.html", await _executions(visit, selected, page))


@router.post(LIST_PATH + "/{policy_id}/replicate")
async def replicate(visit: SignedInVisit, form: SignedInForm, policy_id: int) -> Response:
    """REPLICATE: a manual execution of the rule (Harbor's POST /replication/executions)."""
    policy = await visit.services.store.policies.get(policy_id)
    if text(form, "confirm") != "yes":
        return _confirm(
            visit,
            title=visit.gettext("Confirm Replication"),
            question=visit.gettext("Do you want to replicate rule %(name)s?", name=policy.name),
            action=f"{LIST_PATH}/{policy.id}/replicate",
            button=visit.gettext("REPLICATE"),
            back=_rule_page(policy.id),
        )
    try:
        execution = await visit.services.service.start_execution(policy)
    except PreconditionFailed as exc:  # a disabled rule (Harbor answers 412)
        intro = visit.gettext("The rule cannot be replicated:")
        visit.flash(FlashKind.ERROR, f"{intro} {exc}")
        return visit.redirect(_rule_page(policy.id))
    if execution.status_text == SKIPPED_ACTIVE_TEXT:
        intro = visit.gettext("Execution %(id)s was skipped:", id=execution.id)
        visit.flash(FlashKind.ERROR, f"{intro} {SKIPPED_ACTIVE_TEXT}")
    else:
        visit.flash(
            FlashKind.SUCCESS,
            visit.gettext("Execution %(id)s of rule %(name)s started.", id=execution.id, name=policy.name),
        )
    return visit.redirect(_rule_page(policy.id))


@router.post(LIST_PATH + "/{policy_id}/delete")
async def delete_rule(visit: SignedInVisit, form: SignedInForm, policy_id: int) -> Response:
    store = visit.services.store
    policy = await store.policies.get(policy_id)
    if text(form, "confirm") != "yes":
        return _confirm(
            visit,
            title=visit.gettext("Confirm Rule Deletion"),
            question=visit.gettext("Do you want to delete rule %(name)s?", name=policy.name),
            action=f"{LIST_PATH}/{policy.id}/delete",
            button=visit.gettext("DELETE"),
            back=LIST_PATH,
            danger=True,
        )
    try:
        await store.policies.delete(policy_id)
    except PreconditionFailed as exc:  # an execution of it is still running
        intro = visit.gettext("The rule cannot be deleted while it runs:")
        visit.flash(FlashKind.ERROR, f"{intro} {exc}")
        return visit.redirect(_rule_page(policy.id))
    visit.flash(FlashKind.SUCCESS, visit.gettext("Rule %(name)s deleted.", name=policy.name))
    return visit.redirect(LIST_PATH)


@router.get(LIST_PATH + "/{policy_id}/preview")
async def dry_run(visit: SignedInVisit, policy_id: int) -> Response:
    """DRY RUN: what a run would copy now, and what it would leave; nothing is written."""
    policy = await visit.services.store.policies.get(policy_id)
    preview: PolicyPreview | None = None
    error = ""
    try:
        async with asyncio.timeout(PREVIEW_SECONDS):
            preview = await preview_policy(visit.services, policy)
    except FerryError as exc:
        error = str(exc)
    except TimeoutError:
        error = visit.gettext("The dry run took longer than %(seconds)s s.", seconds=int(PREVIEW_SECONDS))
    context = {
        "title": visit.gettext("Dry run of %(name)s", name=policy.name),
        "nav": "replications",
        "policy": policy,
        "preview": preview,
        "error": error,
        "outcomes": PreviewOutcome,
    }
    return render_page(visit, "replications/preview.html", context)


def _rule_page(policy_id: int) -> str:
    return f"{LIST_PATH}?rule={policy_id}"


def _confirm(
    visit: Visit, *, title: str, question: str, action: str, button: str, back: str, danger: bool = False
) -> Response:
    context = {
        "title": title,
        "nav": "replications",
        "question": question,
        "action": action,
        "button": button,
        "back": back,
        "danger": danger,
    }
    return render_page(visit, "replications/confirm.html", context)


async def _rule_rows(visit: Visit) -> list[RuleRow]:
    store, now = visit.services.store, visit.services.clock()
    registries: dict[int, Registry] = {item.id: item for item in await store.registries.list_registries()}
    local = visit.services.local_registry
    if local is not None:
        registries[LOCAL_REGISTRY_ID] = local
    rows = []
    for policy in await store.policies.list_policies():
        last, _ = await store.executions.list_executions(ExecutionQuery(policy_id=policy.id, limit=1))
        destination = registries.get(policy.dest_registry_id)
        rows.append(
            RuleRow(
                policy,
                _registry_name(registries, policy.src_registry_id),
                _registry_name(registries, policy.dest_registry_id),
                destination.url if destination is not None else "",
                next_fire(policy, after=now),
                _watch_seconds(policy),
                last[0] if last else None,
            )
        )
    return rows


def _watch_seconds(policy: Policy) -> int | None:
    interval = watch_interval(replace(policy, enabled=True))
    return None if interval is None else int(interval.total_seconds())


def _registry_name(registries: dict[int, Registry], registry_id: int) -> str:
    if registry_id == LOCAL_REGISTRY_ID:
        return LOCAL_REGISTRY_NAME
    found = registries.get(registry_id)
    return found.name if found is not None else f"#{registry_id}"


async def _executions(visit: Visit, selected: Policy | None, page: int) -> dict[str, Any]:
    store = visit.services.store
    page = max(page, 1)
    query = ExecutionQuery(
        policy_id=selected.id if selected else None, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    executions, total = await store.executions.list_executions(query)
    names = {policy.id: policy.name for policy in await store.policies.list_policies()}
    here = {"rule": selected.id} if selected else {}
    return {
        "selected": selected,
        "executions": executions,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "policy_names": names,
        "now": visit.services.clock(),
        "running": any(item.api_status is ExecutionStatus.IN_PROGRESS for item in executions),
        "refresh_url": f"{EXECUTIONS_FRAGMENT}?{urlencode({**here, 'page': page})}",
        "page_url": f"{LIST_PATH}?{urlencode(here)}{'&' if here else ''}page=",
        "here": f"{LIST_PATH}?{urlencode({**here, 'page': page})}",
    }
