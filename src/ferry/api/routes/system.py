"""Health (no sign-in), the provider catalogue, and ferry's API tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from ferry.api.context import Context, SignedIn
from ferry.api.errors import ApiError
from ferry.api.responses import (
    PUBLIC_ERRORS,
    OverallHealthStatus,
    RegistryProviderInfo,
    Token,
    TokenCreated,
    done,
    error_responses,
)
from ferry.api.schemas import IdPath, TokenBody
from ferry.api.views import harbor_time
from ferry.auth.authenticator import ADMIN, Principal
from ferry.auth.passwords import new_token, token_digest
from ferry.errors import FerryError
from ferry.providers.catalogue import adapter_infos, adapter_types
from ferry.replication.domain.fields import check_name

router = APIRouter()

_LOCATION = {"Location": {"description": "The token's path, ending in its id", "schema": {"type": "string"}}}


PUBLIC: dict[str, Any] = {"security": []}
"""``openapi_extra`` of the routes that need no sign-in (the document's default is Basic or Bearer)."""


@router.get(
    "/health",
    tags=["health"],
    summary="Whether ferry and its parts are healthy (no sign-in)",
    response_model=OverallHealthStatus,
    responses=PUBLIC_ERRORS,
    openapi_extra=PUBLIC,
)
async def health(context: Context) -> JSONResponse:
    components = [{"name": "core", "status": "healthy"}]
    try:
        await context.store.executions.unfinished_ids()
        components.append({"name": "database", "status": "healthy"})
    except FerryError:
        components.append({"name": "database", "status": "unhealthy"})
    if context.local_registry is not None:
        outcome = await context.ping(context.local_registry)
        components.append({"name": "registry", "status": outcome.status.value})
    overall = "healthy" if all(item["status"] == "healthy" for item in components) else "unhealthy"
    return JSONResponse({"status": overall, "components": components})


@router.get(
    "/ping",
    tags=["ping"],
    summary="Pong (no sign-in)",
    response_class=PlainTextResponse,
    responses=PUBLIC_ERRORS,
    openapi_extra=PUBLIC,
)
async def ping() -> PlainTextResponse:
    return PlainTextResponse("Pong")


@router.get(
    "/replication/adapters",
    tags=["replication"],
    summary="Registry provider types",
    response_model=list[str],
    responses=error_responses(),
)
async def list_adapters(principal: SignedIn) -> JSONResponse:
    return JSONResponse(adapter_types())


@router.get(
    "/replication/adapterinfos",
    tags=["replication"],
    summary="Endpoint and credential patterns",
    response_model=dict[str, RegistryProviderInfo],
    responses=error_responses(),
)
async def list_adapter_infos(principal: SignedIn) -> JSONResponse:
    return JSONResponse(adapter_infos())


def _admin_only(principal: Principal) -> None:
    if principal.name != ADMIN:
        raise ApiError(403, "only admin manages API tokens; sign in with the admin password")


@router.get(
    "/tokens",
    tags=["tokens"],
    summary="List API tokens (ferry)",
    response_model=list[Token],
    responses=error_responses(403),
)
async def list_tokens(context: Context, principal: SignedIn) -> JSONResponse:
    _admin_only(principal)
    tokens = await context.store.accounts.list_tokens()
    return JSONResponse(
        [
            {
                "id": token.id,
                "name": token.name,
                "creation_time": harbor_time(token.creation_time),
                "last_used_time": harbor_time(token.last_used_time),
            }
            for token in tokens
        ]
    )


@router.post(
    "/tokens",
    tags=["tokens"],
    status_code=201,
    summary="Create an API token, shown once (ferry)",
    response_model=TokenCreated,
    responses={
        201: {"description": "Created; the token is in the body, never again", "headers": _LOCATION},
        **error_responses(400, 403, 409),
    },
)
async def create_token(body: TokenBody, context: Context, principal: SignedIn) -> JSONResponse:
    _admin_only(principal)
    token = new_token()
    stored = await context.store.accounts.add_token(
        check_name("name", body.name, limit=64), token_digest(token), now=context.clock()
    )
    return JSONResponse(
        {"id": stored.id, "name": stored.name, "token": token},
        status_code=201,
        headers={"Location": f"/api/v2.0/tokens/{stored.id}"},
    )


@router.delete(
    "/tokens/{id}",
    tags=["tokens"],
    summary="Revoke an API token (ferry); a token may revoke itself",
    response_class=Response,
    responses={**done("Revoked"), **error_responses(400, 403, 404)},
)
async def revoke_token(id: IdPath, context: Context, principal: SignedIn) -> Response:
    if principal.token_id != id:  # a token may revoke itself: that is how `ferry logout` signs out
        _admin_only(principal)
    await context.store.accounts.delete_token(id)
    return Response(status_code=200)
