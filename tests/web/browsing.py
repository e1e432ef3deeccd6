"""Debian's Chromium driven by Playwright (sync API), the way the browser tests use it.

Why these choices (the fixtures in ``conftest.py`` use them):

* **Debian's ``/usr/bin/chromium``** (``scripts/bootstrap.sh`` installs it, with ``fonts-noto-cjk``
  so zh-CN pages render as text, not boxes), never ``playwright install``: nothing but the package
  registries is reachable, and one browser from apt is what developers and CI both have.
* **No sandbox** (``chromium_sandbox=False``, which makes Playwright pass ``--no-sandbox``): CI and
  these machines run as root, and Chromium refuses to start sandboxed as root. Debian's build has
  no setuid sandbox helper, so even a non-root run needs unprivileged user namespaces, which some
  hosts forbid. The sandbox guards against hostile web content; these tests only ever load pages
  from the ferry they started on 127.0.0.1, and every other address is blocked (next point).
* **Nothing leaves the machine**: ``--host-resolver-rules`` makes every host but ``127.0.0.1`` and
  ``localhost`` unresolvable, for Chromium's own requests too; each context also aborts requests
  to any host but loopback and records them in :attr:`Browsing.offsite`, so a page that needs the
  internet (a CDN) is caught instead of silently waited for.
* **A laptop screen**: 1440×900 CSS pixels at scale 1, UTC, light colours, reduced motion, so
  screenshots are the same on every machine and in every run.
* **Short timeouts**: pages come from loopback; an element that is not there within seconds is
  not coming, and a failing run should not wait Playwright's default 30 s per step.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path
from typing import Protocol

from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Request,
    Route,
    ViewportSize,
    expect,
)

from tests.support.ferry_server import REPO, FerryServer
from tests.web.words import WORDS, Locale, named

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    # Every host but loopback fails to resolve (the rule applies to IP literals too): no request
    # leaves the machine, whatever Playwright's own switches (no background networking, no
    # component updates, no sync) might miss.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
)
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
VIEWPORT: ViewportSize = {"width": 1440, "height": 900}
ACTION_TIMEOUT_MS = 5_000
NAVIGATION_TIMEOUT_MS = 15_000
LOGIN_PATH = "/ui/login"
SCREENSHOTS = REPO / "docs" / "screenshots"
_SCREENSHOT_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


def launch_chromium(playwright: Playwright) -> Browser:
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `bash scripts/bootstrap.sh` installs Debian's chromium")
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, chromium_sandbox=False, args=list(CHROMIUM_ARGS)
    )


class Browsing:
    """Opens pages for one test, each in a fresh context (no cookies shared), and closes them."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.contexts: list[BrowserContext] = []
        self.offsite: list[str] = []
        """URLs pages asked for beyond loopback; each was aborted."""
        self.page_errors: list[str] = []
        """Uncaught JavaScript exceptions of any page."""

    def new_page(self, locale: Locale = "en-US") -> Page:
        context = self.browser.new_context(
            locale=locale,
            viewport=VIEWPORT,
            device_scale_factor=1,
            timezone_id="UTC",
            color_scheme="light",
            reduced_motion="reduce",
        )
        self.contexts.append(context)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        context.route("**/*", self._keep_on_loopback)
        page = context.new_page()
        page.on("pageerror", lambda error: self.page_errors.append(f"{page.url}: {error}"))
        return page

    def _keep_on_loopback(self, route: Route, request: Request) -> None:
        host = urllib.parse.urlsplit(request.url).hostname
        if request.url.startswith(("data:", "blob:", "about:")) or host in LOOPBACK:
            route.continue_()
        else:
            self.offsite.append(request.url)
            route.abort("blockedbyclient")

    def pages(self) -> list[Page]:
        return [page for context in self.contexts for page in context.pages]

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts.clear()


class SignedInPage(Protocol):
    """The ``signed_in_page`` fixture: a new page in ``locale``, signed in as admin."""

    def __call__(self, locale: Locale = "en-US", *, screenshot: str | None = None) -> Page: ...


def sign_in(page: Page, server: FerryServer, locale: Locale, *, screenshot: str | None = None) -> None:
    """Sign in as admin through ferry's sign-in form, as a person would. ``screenshot`` names a
    screenshot of the filled form (see :func:`save_screenshot`)."""
    words = WORDS[locale]
    response = page.goto(server.url + LOGIN_PATH)
    status = response.status if response is not None else None
    assert status == 200, f"GET {LOGIN_PATH} answered {status}: ferry shows no sign-in page"
    page.get_by_label(named(words.username)).fill(server.username)
    page.get_by_label(named(words.password)).fill(server.password)
    if screenshot is not None:
        save_screenshot(page, screenshot)
    page.get_by_role("button", name=named(words.sign_in)).click()
    expect(page).not_to_have_url(re.compile(re.escape(LOGIN_PATH)))


def screenshots_wanted() -> bool:
    return os.environ.get("FERRY_SCREENSHOTS") == "1"


def save_screenshot(page: Page, name: str) -> Path | None:
    """With ``FERRY_SCREENSHOTS=1``, the whole page (not just the viewport) as
    ``docs/screenshots/<name>.png``; otherwise nothing, so ordinary test runs leave the committed
    pictures alone. Returns the file written, if any."""
    if not _SCREENSHOT_NAME.fullmatch(name):
        raise ValueError(f"screenshot name {name!r}: lower-case letters, digits and dashes")
    if not screenshots_wanted():
        return None
    assert page.viewport_size == VIEWPORT, f"screenshots are taken at {VIEWPORT}, not {page.viewport_size}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=True, animations="disabled", caret="hide", scale="css")
    return path
