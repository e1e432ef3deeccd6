"""``create_web_app``: the UI's routes (``/`` and ``/ui/...``), its static files, and its error
pages. Errors are pages here, never the API's JSON: a visitor who is not signed in is sent to the
sign-in page, a rejected form gets 403, a missing endpoint 404."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from ferry.errors import RecordNotFound
from ferry.services import Services
from ferry.web.routes import (
    account,
    dashboard,
    executions,
    registries,
    replication_rules,
    replications,
    task_logs,
    webhooks,
)
from ferry.web.sessions import SessionCodec, WebSettings
from ferry.web.templating import STATIC_PATH, render_page
from ferry.web.visit import AnyVisit, FormRejected, SignInRequired, Visit, WebState, current_visit

log = logging.getLogger("ferry.web")


def create_web_app(services: Services, settings: WebSettings) -> FastAPI:
    app = FastAPI(title="ferry web UI", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.web = WebState(services, settings, SessionCodec(settings))
    for router in (
        account.router,
        dashboard.router,
        registries.router,
        replications.router,
        replication_rules.router,
        webhooks.router,
        executions.router,
        task_logs.router,
    ):
        app.include_router(router)
    app.mount(STATIC_PATH, StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.add_api_route("/ui", _home, methods=["GET"], include_in_schema=False)
    app.add_api_route("/ui/{path:path}", _not_found, methods=["GET"], include_in_schema=False)
    _install_error_pages(app)
    return app


async def _home() -> Response:
    return RedirectResponse("/", status_code=303)


async def _not_found(visit: AnyVisit, path: str) -> Response:
    return _not_found_page(visit)


def _not_found_page(visit: Visit) -> Response:
    return _error_page(visit, 404, visit.gettext("Page not found"), visit.gettext("There is no such page."))


def _error_page(visit: Visit, status: int, title: str, message: str) -> Response:
    return render_page(visit, "error.html", {"title": title, "message": message}, status=status)


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def on_sign_in_required(request: Request, exc: SignInRequired) -> Response:
        if request.headers.get("x-ferry-fragment"):
            return exc.visit.finish(PlainTextResponse("sign-in required", status_code=401))
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        login = "/ui/login" if target == "/" else f"/ui/login?next={quote(target, safe='/')}"
        return exc.visit.redirect(login)

    @app.exception_handler(FormRejected)
    async def on_form_rejected(request: Request, exc: FormRejected) -> Response:
        log.warning("refused a form posted to %s: %s", request.url.path, exc)
        visit = exc.visit
        return _error_page(
            visit,
            403,
            visit.gettext("Forbidden"),
            visit.gettext(
                "This form is out of date or was sent from another site. Go back, reload the page "
                "and try again."
            ),
        )

    @app.exception_handler(RecordNotFound)
    async def on_not_found(request: Request, exc: RecordNotFound) -> Response:
        visit = _visit_of(request)
        if visit is None:
            return PlainTextResponse(str(exc), status_code=404)
        return _error_page(visit, 404, visit.gettext("Not found"), str(exc))

    @app.exception_handler(RequestValidationError)
    async def on_invalid_path(request: Request, exc: RequestValidationError) -> Response:
        visit = _visit_of(request)
        if visit is None:  # a path parameter that is not a number: no visit was made yet
            visit = await current_visit(request)
        return _not_found_page(visit)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        visit = _visit_of(request)
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if visit is None:
            return PlainTextResponse(message, status_code=exc.status_code)
        return _error_page(visit, exc.status_code, message, message)


def _visit_of(request: Request) -> Visit | None:
    visit = getattr(request.state, "visit", None)
    return visit if isinstance(visit, Visit) else None
