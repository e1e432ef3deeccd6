"""The FastAPI application: routers under ``/api/v2.0``, the error map, the OpenAPI document at
``/api/v2.0/openapi.json`` (and an explorer at ``/api/v2.0/docs``)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request

from ferry.api.context import api_context, signed_in
from ferry.api.errors import install_error_handlers
from ferry.api.routes import cron, events, executions, metrics, policies, registries, system, webhooks
from ferry.services import Services

API_PREFIX = "/api/v2.0"

SECURITY_SCHEMES = {
    "basic": {
        "type": "http",
        "scheme": "basic",
        "description": "admin and its password, or any user name and an API token (fry_...) as password",
    },
    "bearer": {"type": "http", "scheme": "bearer", "description": "An API token (fry_...)"},
}


def create_app(context: Services) -> FastAPI:
    app = FastAPI(
        title="ferry",
        summary="Container-image replication with Harbor's /api/v2.0 registry and replication endpoints",
        version=context.version,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.ferry = context
    install_error_handlers(app, authenticate=_sign_in)
    for router in (system.router, registries.router, policies.router, executions.router, cron.router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(webhooks.router, prefix=API_PREFIX)
    app.include_router(metrics.router)  # /metrics, outside Harbor's API
    app.include_router(events.router)  # /service/notifications/..., with their own shared secret
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = harbor_conventions(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to adjust the document
    return app


async def _sign_in(request: Request) -> object:
    """The routes' sign-in, for the error handler that answers before the routes' dependencies run."""
    return await signed_in(request, api_context(request))


def harbor_conventions(document: dict[str, Any]) -> dict[str, Any]:
    """What FastAPI cannot be told per route: invalid input is answered with 400 and Harbor's
    ``Errors`` body (see ``errors``), never FastAPI's 422, so its 422 entries and their schemas go;
    errors are JSON even on text/plain routes; every operation needs HTTP Basic (or a Bearer API
    token) unless it says ``security: []``."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            responses.pop("422", None)
            for status, response in responses.items():
                # FastAPI gives every response of a text/plain route (/ping, task logs) that media
                # type; their errors are JSON like all others.
                if status[0] in "45" and response.get("content"):
                    described: dict[str, Any] = next(iter(response["content"].values()))
                    response["content"] = {"application/json": {"schema": described.get("schema", {})}}
    components = document.setdefault("components", {})
    schemas = components.get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    components["securitySchemes"] = SECURITY_SCHEMES
    document["security"] = [{"basic": []}, {"bearer": []}]
    return document
