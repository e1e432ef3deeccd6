"""NEW REPLICATION RULE and EDIT: Harbor's rule form with every field, and the cron helper.

The form is validated by the domain (``validate_policy``, through ``PolicyStore``); an error comes
back next to the field it names, with everything as typed. The cron helper shows the next runs
of the cron as typed: the script asks ``/ui/replications/cron-preview`` as the user types; without
it, SHOW NEXT RUNS posts the form with ``action=cron`` and the same form comes back with them.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.datastructures import FormData

from ferry.errors import InvalidInput, RecordConflict
from ferry.replication.domain.policy import Decoration, Direction, FilterType, Policy, ResourceType
from ferry.replication.domain.registry import LOCAL_REGISTRY_ID, LOCAL_REGISTRY_NAME
from ferry.replication.domain.status import TriggerType
from ferry.web.cron_help import preview_cron
from ferry.web.forms import FormErrors, text
from ferry.web.routes.replications import LIST_PATH
from ferry.web.rule_form import FLATTENING, SPEED_UNITS, RuleForm, kept_filters, rule_errors
from ferry.web.sessions import FlashKind
from ferry.web.templating import render_fragment, render_page
from ferry.web.visit import SignedInForm, SignedInVisit, Visit

router = APIRouter()

CRON_PREVIEW_PATH = LIST_PATH + "/cron-preview"


@router.get(LIST_PATH + "/new")
async def new_rule(visit: SignedInVisit) -> Response:
    return await _form_page(visit, await _blank_form(visit), stored=None)


@router.post(LIST_PATH + "/new")
async def post_new_rule(visit: SignedInVisit, form: SignedInForm) -> Response:
    return await _submit(visit, form, stored=None)


@router.get(LIST_PATH + "/{policy_id}/edit")
async def edit_rule(visit: SignedInVisit, policy_id: int) -> Response:
    stored = await visit.services.store.policies.get(policy_id)
    return await _form_page(visit, RuleForm.of(stored), stored=stored)


@router.post(LIST_PATH + "/{policy_id}/edit")
async def post_edit_rule(visit: SignedInVisit, form: SignedInForm, policy_id: int) -> Response:
    stored = await visit.services.store.policies.get(policy_id)
    return await _submit(visit, form, stored=stored)


@router.get(CRON_PREVIEW_PATH)
async def cron_preview(visit: SignedInVisit, cron: str = "", timezone: str = "") -> Response:
    """The next runs of ``cron`` (read in ``timezone``), for the form's script."""
    preview = preview_cron(cron, timezone, now=visit.services.clock())
    return render_fragment(visit, "replications/_cron_preview.html", {"cron_preview": preview})


async def _submit(visit: Visit, form: FormData, *, stored: Policy | None) -> Response:
    entered = RuleForm.parse(form)
    if text(form, "action") == "cron":
        return await _form_page(visit, entered, stored=stored)
    services = visit.services
    assert visit.principal is not None  # a signed-in visit
    try:
        policy = entered.to_policy(
            stored,
            creator=visit.principal.name,
            now=services.clock(),
            has_local=services.local_registry is not None,
        )
        if stored is None:
            saved = await services.store.policies.add(policy)
            message = visit.gettext("Rule %(name)s created.", name=saved.name)
        else:
            saved = await services.store.policies.update(policy)
            message = visit.gettext("Rule %(name)s updated.", name=saved.name)
    except (InvalidInput, RecordConflict) as exc:
        errors = rule_errors(exc, entered)
        return await _form_page(visit, entered, stored=stored, errors=errors, status=400)
    visit.flash(FlashKind.SUCCESS, message)
    return visit.redirect(f"{LIST_PATH}?rule={saved.id}")


async def _blank_form(visit: Visit) -> RuleForm:
    """Harbor's defaults: push-based from Local to the first endpoint, manual, override on."""
    endpoints = await visit.services.store.registries.list_registries()
    first = str(endpoints[0].id) if endpoints else ""
    if visit.services.local_registry is not None:
        return RuleForm(dest_registry=first)
    second = str(endpoints[1].id) if len(endpoints) > 1 else ""
    return RuleForm(mode=Direction.REMOTE.value, src_registry=first, dest_registry=second)


async def _form_page(
    visit: Visit,
    entered: RuleForm,
    *,
    stored: Policy | None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Response:
    services = visit.services
    registries = [
        (str(item.id), item.name, item.url) for item in await services.store.registries.list_registries()
    ]
    if services.local_registry is not None:
        registries.insert(0, (str(LOCAL_REGISTRY_ID), LOCAL_REGISTRY_NAME, ""))
    title = (
        visit.gettext("New Replication Rule") if stored is None else visit.gettext("Edit Replication Rule")
    )
    context = {
        "title": title,
        "nav": "replications",
        "form": entered,
        "stored": stored,
        "action": LIST_PATH + ("/new" if stored is None else f"/{stored.id}/edit"),
        "errors": errors or FormErrors(),
        "registries": registries,
        "has_endpoints": any(value != str(LOCAL_REGISTRY_ID) for value, _, _ in registries),
        "modes": [item.value for item in Direction],
        "decorations": [item.value for item in Decoration],
        "resources": [item.value for item in ResourceType],
        "flattening": FLATTENING,
        "triggers": [item.value for item in TriggerType],
        "speed_units": list(SPEED_UNITS),
        "kept_filters": kept_filters(stored),
        "filter_types": FilterType,
        "cron_preview": preview_cron(entered.cron, entered.timezone, now=services.clock()),
        "cron_preview_url": CRON_PREVIEW_PATH,
    }
    return render_page(visit, "replications/form.html", context, status=status)
