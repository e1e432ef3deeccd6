"""Health (no sign-in), the provider catalogue, and ferry's API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from ferry.api.context import Context, SignedIn
from ferry.api.errors import ApiError
from ferry.api.schemas import TokenBody
from ferry.api.security import ADMIN, Principal, new_token, token_digest
from ferry.api.views import harbor_time
from ferry.errors import FerryError
from ferry.replication.domain.fields import check_name
from ferry.replication.providers import adapter_infos, adapter_types

router = APIRouter()


@router.get("/health", tags=["health"], summary="Whether ferry and its parts are healthy (no sign-in)")
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


@router.get("/ping", tags=["ping"], summary="Pong (no sign-in)", response_class=PlainTextResponse)
async def ping() -> PlainTextResponse:
    return PlainTextResponse("Pong")


@router.get("/replication/adapters", tags=["replication"], summary="Registry provider types")
async def list_adapters(principal: SignedIn) -> JSONResponse:
    return JSONResponse(adapter_types())


@router.get("/replication/adapterinfos", tags=["replication"], summary="Endpoint and credential patterns")
async def list_adapter_infos(principal: SignedIn) -> JSONResponse:
    return JSONResponse(adapter_infos())


def _admin_only(principal: Principal) -> None:
    if principal.name != ADMIN:
        raise ApiError(403, "only admin manages API tokens; sign in with the admin password")


@router.get("/tokens", tags=["tokens"], summary="List API tokens (ferry)")
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


@router.post("/tokens", tags=["tokens"], status_code=201, summary="Create an API token, shown once (ferry)")
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


@router.delete("/tokens/{id}", tags=["tokens"], summary="Revoke an API token (ferry)")
async def revoke_token(id: int, context: Context, principal: SignedIn) -> Response:
    _admin_only(principal)
    await context.store.accounts.delete_token(id)
    return Response(status_code=200)
