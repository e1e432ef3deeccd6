"""The FastAPI application: routers under ``/api/v2.0``, the error map, the OpenAPI document at
``/api/v2.0/openapi.json`` (and an explorer at ``/api/v2.0/docs``)."""

from __future__ import annotations

from fastapi import FastAPI

from ferry.api.context import ApiContext
from ferry.api.errors import install_error_handlers
from ferry.api.routes import executions, policies, registries, system

API_PREFIX = "/api/v2.0"


def create_app(context: ApiContext) -> FastAPI:
    app = FastAPI(
        title="ferry",
        summary="Container-image replication with Harbor's /api/v2.0 registry and replication endpoints",
        version=context.version,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.ferry = context
    install_error_handlers(app)
    for router in (system.router, registries.router, policies.router, executions.router):
        app.include_router(router, prefix=API_PREFIX)
    return app
