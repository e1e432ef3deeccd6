"""``/registries``: endpoints ferry replicates from and to, with test connection (ping)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ferry.api.context import Context, SignedIn
from ferry.api.errors import error_response
from ferry.api.listing import Page, PageSize, QText, SortText, list_query, page_response
from ferry.api.query import FieldKind
from ferry.api.responses import Registry as RegistryShape
from ferry.api.responses import RegistryInfo, created, done, error_responses, listed
from ferry.api.schemas import IdPath, RegistryBody, RegistryPingBody, RegistryUpdateBody
from ferry.api.views import registry_json
from ferry.jobs.health import PingOutcome
from ferry.providers.catalogue import registry_info
from ferry.replication.domain.registry import LOCAL_REGISTRY_ID, Registry
from ferry.services import registries as endpoints

router = APIRouter(tags=["registry"])

FIELDS = {
    "id": FieldKind.INTEGER,
    "name": FieldKind.STRING,
    "type": FieldKind.STRING,
    "url": FieldKind.STRING,
    "description": FieldKind.STRING,
    "status": FieldKind.STRING,
    "insecure": FieldKind.BOOLEAN,
    "creation_time": FieldKind.TIME,
    "update_time": FieldKind.TIME,
}


@router.get(
    "/registries",
    summary="List registries",
    response_model=list[RegistryShape],
    responses={**listed("registries"), **error_responses(400)},
)
async def list_registries(
    request: Request,
    context: Context,
    principal: SignedIn,
    q: QText = None,
    sort: SortText = None,
    page: Page = None,
    page_size: PageSize = None,
    name: str | None = None,
) -> JSONResponse:
    query = list_query(q, sort, page, page_size, FIELDS)
    registries = await context.store.registries.list_registries()
    items = [registry_json(item) for item in registries if name is None or name in item.name]
    return page_response(request, items, query)


@router.post(
    "/registries",
    status_code=201,
    summary="Create a registry",
    response_class=Response,
    responses={**created("Registry"), **error_responses(400, 409)},
)
async def create_registry(body: RegistryBody, context: Context, principal: SignedIn) -> Response:
    created = await endpoints.create_registry(context, body.to_registry(now=context.clock()))
    return Response(status_code=201, headers={"Location": f"/api/v2.0/registries/{created.id}"})


@router.post(
    "/registries/ping",
    summary="Test the connection to a registry",
    description="400 with `Failed to ping endpoint: <reason>` when the registry does not answer or "
    "refuses the credential.",
    response_class=Response,
    responses={**done("The registry answers and accepts the credential"), **error_responses(400, 404)},
)
async def ping_registry(body: RegistryPingBody, context: Context, principal: SignedIn) -> Response:
    stored = await context.store.registries.get(body.id) if body.id else None
    outcome = await endpoints.check_connection(context, body.to_registry(stored, now=context.clock()), stored)
    return _ping_response(outcome)


def _ping_response(outcome: PingOutcome) -> Response:
    if outcome.healthy:
        return Response(status_code=200)
    return error_response(400, outcome.message)


@router.get(
    "/registries/{id}",
    summary="Get a registry",
    response_model=RegistryShape,
    responses=error_responses(400, 404),
)
async def get_registry(id: IdPath, context: Context, principal: SignedIn) -> JSONResponse:
    return JSONResponse(registry_json(await context.store.registries.get(id)))


@router.put(
    "/registries/{id}",
    summary="Update a registry",
    response_class=Response,
    responses={**done("Updated"), **error_responses(400, 404, 409)},
)
async def update_registry(
    id: IdPath, body: RegistryUpdateBody, context: Context, principal: SignedIn
) -> Response:
    stored = await context.store.registries.get(id)
    await endpoints.update_registry(context, body.apply_to(stored, now=context.clock()))
    return Response(status_code=200)


@router.delete(
    "/registries/{id}",
    summary="Delete a registry no rule uses",
    response_class=Response,
    responses={**done("Deleted"), **error_responses(400, 404, 412)},
)
async def delete_registry(id: IdPath, context: Context, principal: SignedIn) -> Response:
    await context.store.registries.delete(id)
    return Response(status_code=200)


@router.get(
    "/registries/{id}/info",
    summary="What a registry supports as a replication source",
    response_model=RegistryInfo,
    responses=error_responses(400, 404),
)
async def get_registry_info(id: IdPath, context: Context, principal: SignedIn) -> JSONResponse:
    registry = await _registry(context, id)
    return JSONResponse(registry_info(registry.type))


async def _registry(context: Context, registry_id: int) -> Registry:
    if registry_id == LOCAL_REGISTRY_ID and context.local_registry is not None:
        return context.local_registry
    return await context.store.registries.get(registry_id)
