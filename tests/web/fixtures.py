"""Server-side fixtures of the page tests (``test_pages.py``): the app ``ferry serve`` composes
(the web UI with the API behind it) over a real SQLite store, the real ``Authenticator`` with a
throttle on a clock the test moves, and the real registry ping; requests go through
``httpx.ASGITransport``. No browser: a :class:`Visitor` is a browser without JavaScript.

A plain module that ``test_pages.py`` imports its fixtures from: ``tests/web/conftest.py`` belongs
to the browser tests.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI

from ferry import __version__
from ferry.auth.authenticator import ADMIN, Authenticator
from ferry.auth.throttle import SignInThrottle
from ferry.jobs.dispatcher import DispatcherSettings
from ferry.jobs.health import ping_registry
from ferry.jobs.service import ReplicationService
from ferry.replication.domain.registry import Registry
from ferry.server import create_service_app
from ferry.services import Services
from ferry.store import Store
from ferry.store.secrets import SecretBox
from ferry.web.sessions import WebSettings
from tests.api.conftest import ADMIN_PASSWORD, BASE_URL, CLIENT_ADDRESS, FakeMonotonic, admin_password_hash

SESSION_KEY = b"a session key for the page tests, 32+ bytes long"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TAG = re.compile(r"<[^>]+>")


class Visitor:
    """Keeps cookies like a browser; each form is posted with the CSRF token of the last page that
    carried one, as a browser posts the form of the page it shows."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.csrf = ""

    async def get(self, path: str, *, headers: dict[str, str] | None = None) -> httpx.Response:
        response = await self.client.get(path, headers=headers)
        self._remember(response)
        return response

    async def post(
        self,
        path: str,
        data: dict[str, str] | None = None,
        *,
        headers: dict[str, str] | None = None,
        csrf: bool = True,
    ) -> httpx.Response:
        """Post a form; ``csrf=False`` leaves the token out."""
        if not self.csrf and csrf:
            await self.get("/ui/login")
        form = {"csrf_token": self.csrf} if csrf else {}
        response = await self.client.post(path, data={**form, **(data or {})}, headers=headers)
        self._remember(response)
        return response

    async def sign_in(self, password: str = ADMIN_PASSWORD, *, user: str = ADMIN) -> httpx.Response:
        await self.get("/ui/login")
        return await self.post("/ui/login", {"username": user, "password": password, "next": "/"})

    def _remember(self, response: httpx.Response) -> None:
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)


def page_text(response: httpx.Response) -> str:
    """What a person reads: the page without tags, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(_TAG.sub(" ", response.text)).split())


@dataclass
class WebFerry:
    app: FastAPI
    services: Services
    store: Store
    throttle: SignInThrottle
    monotonic: FakeMonotonic

    def client(self, *, address: str = CLIENT_ADDRESS, base_url: str = BASE_URL) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(address, 40_000))
        return httpx.AsyncClient(transport=transport, base_url=base_url)


@pytest.fixture
async def web_store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(
        f"sqlite:///{tmp_path / 'ferry.db'}", SecretBox([Fernet.generate_key().decode()])
    )
    try:
        yield store
    finally:
        await store.close()


async def compose_web(
    store: Store, *, local: Registry | None = None, dispatch: DispatcherSettings | None = None
) -> WebFerry:
    """The app ``ferry serve`` composes over ``store`` (the admin's password set first), with
    ``local`` as its local registry and ``dispatch`` as its dispatcher's settings. Nothing runs
    the dispatcher."""
    await store.accounts.set_password_hash(ADMIN, admin_password_hash(), now=datetime.now(UTC))
    monotonic = FakeMonotonic()
    throttle = SignInThrottle(monotonic=monotonic)
    services = Services(
        store=store,
        service=ReplicationService(store, local_registry=local, settings=dispatch),
        authenticator=Authenticator(store.accounts, clock=lambda: datetime.now(UTC), throttle=throttle),
        local_registry=local,
        clock=lambda: datetime.now(UTC),
        ping=ping_registry,
        version=__version__,
    )
    app = create_service_app(services, web=WebSettings(session_key=SESSION_KEY))
    return WebFerry(app, services, store, throttle, monotonic)


@asynccontextmanager
async def signed_in(web: WebFerry) -> AsyncIterator[Visitor]:
    """A visitor signed in as admin through the sign-in form."""
    async with web.client() as client:
        visitor = Visitor(client)
        response = await visitor.sign_in()
        assert response.status_code == 303, page_text(response)
        yield visitor


@pytest.fixture
async def web(web_store: Store) -> WebFerry:
    return await compose_web(web_store)


@pytest.fixture
async def anonymous(web: WebFerry) -> AsyncIterator[Visitor]:
    async with web.client() as client:
        yield Visitor(client)


@pytest.fixture
async def visitor(web: WebFerry) -> AsyncIterator[Visitor]:
    """Signed in as admin through the sign-in form."""
    async with signed_in(web) as visitor:
        yield visitor
