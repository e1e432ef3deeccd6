"""Administration → Registries: the endpoints with their health; NEW ENDPOINT, EDIT, DELETE and
TEST CONNECTION, as in Harbor.

TEST CONNECTION works without JavaScript (the form is posted with ``action=test`` and comes back
with the result) and with it (the script posts the same form with ``X-Ferry-Fragment`` and shows
the returned result in a live region). The result is the ping's own message, after a translated
first sentence.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.datastructures import FormData

from ferry.errors import InvalidInput, RecordConflict
from ferry.jobs.health import PingOutcome
from ferry.providers.catalogue import endpoint_choices, endpoint_is_fixed, provider_name
from ferry.replication.domain.registry import Registry, RegistryType
from ferry.services import registries as endpoints
from ferry.web.forms import FormErrors, RegistryForm, form_errors, kept_settings, text
from ferry.web.routes.list_screen import ListScreen
from ferry.web.sessions import FlashKind
from ferry.web.templating import render_fragment
from ferry.web.visit import SignedInForm, SignedInVisit, Visit

router = APIRouter()

LIST_PATH = "/ui/registries"
SCREEN = ListScreen(LIST_PATH, nav="registries")
FRAGMENT_HEADER = "x-ferry-fragment"


@router.get(LIST_PATH)
async def list_registries(visit: SignedInVisit) -> Response:
    registries = await visit.services.store.registries.list_registries()
    return SCREEN.page(visit, "registries/list.html", visit.gettext("Registries"), {"registries": registries})


@router.get(LIST_PATH + "/new")
async def new_registry(visit: SignedInVisit) -> Response:
    return _form_page(visit, RegistryForm(), stored=None)


@router.post(LIST_PATH + "/new")
async def post_new_registry(visit: SignedInVisit, form: SignedInForm) -> Response:
    return await _submit(visit, form, stored=None)


@router.get(LIST_PATH + "/{registry_id}/edit")
async def edit_registry(visit: SignedInVisit, registry_id: int) -> Response:
    stored = await visit.services.store.registries.get(registry_id)
    return _form_page(visit, RegistryForm.of(stored), stored=stored)


@router.post(LIST_PATH + "/{registry_id}/edit")
async def post_edit_registry(visit: SignedInVisit, form: SignedInForm, registry_id: int) -> Response:
    stored = await visit.services.store.registries.get(registry_id)
    return await _submit(visit, form, stored=stored)


@router.post(LIST_PATH + "/{registry_id}/delete")
async def delete_registry(visit: SignedInVisit, form: SignedInForm, registry_id: int) -> Response:
    """Without ``confirm=yes`` (no script to ask), a page that asks first."""
    registries = visit.services.store.registries
    registry = await registries.get(registry_id)
    return await SCREEN.delete(
        visit,
        form,
        delete=lambda: registries.delete(registry_id),
        asking="registries/delete.html",
        title=visit.gettext("Confirm Endpoint Deletion"),
        context={"registry": registry},
        deleted=visit.gettext("Endpoint %(name)s deleted.", name=registry.name),
        refused=visit.gettext("The endpoint cannot be deleted while replication rules use it:"),
    )


@router.post(LIST_PATH + "/{registry_id}/test")
async def test_stored_registry(visit: SignedInVisit, form: SignedInForm, registry_id: int) -> Response:
    """TEST CONNECTION from the list: the stored endpoint as it is; its status is recorded."""
    stored = await visit.services.store.registries.get(registry_id)
    outcome = await endpoints.check_connection(visit.services, stored, stored)
    kind = FlashKind.SUCCESS if outcome.healthy else FlashKind.ERROR
    visit.flash(kind, f"{stored.name}: {_ping_text(visit, outcome)}")
    return visit.redirect(LIST_PATH)


async def _submit(visit: Visit, form: FormData, *, stored: Registry | None) -> Response:
    entered = RegistryForm.parse(form, stored=stored)
    if text(form, "action") == "test":
        return await _test(visit, entered, stored=stored)
    try:
        registry = entered.to_registry(stored, now=visit.services.clock())
        if stored is None:
            saved = await endpoints.create_registry(visit.services, registry)
            message = visit.gettext("Endpoint %(name)s created.", name=saved.name)
        else:
            saved = await endpoints.update_registry(visit.services, registry)
            message = visit.gettext("Endpoint %(name)s updated.", name=saved.name)
    except (InvalidInput, RecordConflict) as exc:
        errors = form_errors(exc, provider=entered.type)
        return _form_page(visit, entered, stored=stored, errors=errors, status=400)
    visit.flash(FlashKind.SUCCESS, message)
    return visit.redirect(LIST_PATH)


async def _test(visit: Visit, entered: RegistryForm, *, stored: Registry | None) -> Response:
    errors = FormErrors()
    outcome: PingOutcome | None = None
    try:
        registry = entered.to_registry(stored, now=visit.services.clock())
        outcome = await endpoints.check_connection(visit.services, registry, stored)
    except InvalidInput as exc:
        errors = form_errors(exc, provider=entered.type)
    status = 400 if errors else 200
    if visit.request.headers.get(FRAGMENT_HEADER):
        context = {"ping": outcome, "ping_text": _ping_text(visit, outcome), "fragment_errors": errors}
        return render_fragment(visit, "registries/_ping_result.html", context, status=status)
    return _form_page(visit, entered, stored=stored, errors=errors, ping=outcome, status=status)


def _ping_text(visit: Visit, outcome: PingOutcome | None) -> str:
    """A translated first sentence, then the ping's exact message (``Failed to ping endpoint: ...``)."""
    if outcome is None:
        return ""
    if outcome.healthy:
        return visit.gettext("Connection tested successfully.")
    intro = visit.gettext("Connection test failed:")
    return f"{intro} {outcome.message}"


def _form_page(
    visit: Visit,
    entered: RegistryForm,
    *,
    stored: Registry | None,
    errors: FormErrors | None = None,
    ping: PingOutcome | None = None,
    status: int = 200,
) -> Response:
    title = visit.gettext("New Endpoint") if stored is None else visit.gettext("Edit Endpoint")
    action = LIST_PATH + ("/new" if stored is None else f"/{stored.id}/edit")
    context = {
        "form": entered,
        "stored": stored,
        "action": action,
        "errors": errors or FormErrors(),
        "ping": ping,
        "ping_text": _ping_text(visit, ping),
        "providers": [_provider(kind) for kind in RegistryType],
        "kept_settings": kept_settings(stored),
    }
    return SCREEN.page(visit, "registries/form.html", title, context, status=status)


def _provider(kind: RegistryType) -> dict[str, object]:
    return {
        "value": kind.value,
        "name": provider_name(kind),
        "endpoints": endpoint_choices(kind),
        "fixed": endpoint_is_fixed(kind),
    }
