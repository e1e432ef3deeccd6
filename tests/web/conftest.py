"""Fixtures for the browser tests: Debian's Chromium under Playwright's sync API, against a real
``ferry serve`` (the ``ferry_server`` fixture of ``tests/conftest.py``, one per module).

The tests are plain (non-async) functions. Playwright's sync API marks its own event loop as the
thread's running loop between calls for as long as it is started, which would break every
pytest-asyncio test that runs after it; so Playwright and its browser live for one module, not the
session, and are gone before the next module's tests run (verified: with a session-scoped browser,
an async test after it fails with "Cannot run the event loop while another loop is running"). Keep
async tests out of the modules that use ``browser``. Starting both takes about half a second.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.ferry_server import FerryServer
from tests.web.browsing import Browsing, SignedInPage, launch_chromium, sign_in
from tests.web.words import Locale

_CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[_CALL_FAILED] = True
    return report


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium (see ``browsing.py`` for its flags and why), one per module."""
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def locale() -> Locale:
    """The language of ``page``; a test changes it with ``@pytest.mark.parametrize("locale", ...)``."""
    return "en-US"


@pytest.fixture
def browsing(
    browser: Browser, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browsing]:
    """This test's pages. When the test fails, each open page is saved as a screenshot (and its
    URL printed) in the test's temporary directory."""
    browsing = Browsing(browser)
    try:
        yield browsing
    finally:
        if request.node.stash.get(_CALL_FAILED, False):
            directory = tmp_path_factory.mktemp("failed-pages")
            for number, page in enumerate(browsing.pages()):
                path = directory / f"page-{number}.png"
                page.screenshot(path=path, full_page=True)
                print(f"--- page {number}: {page.url} -> {path}")
        browsing.close()


@pytest.fixture
def page(browsing: Browsing, locale: Locale) -> Page:
    """A fresh page (its own context: no cookies) in ``locale``, 1440×900."""
    return browsing.new_page(locale)


@pytest.fixture
def signed_in_page(browsing: Browsing, ferry_server: FerryServer) -> SignedInPage:
    """Opens a new page and signs in through ferry's sign-in form (``/ui/login``) in the given
    language; ``screenshot`` names a screenshot of the filled-in form."""

    def open_signed_in(locale: Locale = "en-US", *, screenshot: str | None = None) -> Page:
        page = browsing.new_page(locale)
        sign_in(page, ferry_server, locale, screenshot=screenshot)
        return page

    return open_signed_in
