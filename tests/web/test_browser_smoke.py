"""The browser tests' machinery works: Debian's Chromium starts under Playwright and shows pages
of a real ``ferry serve`` that exist today (the API's health document and its explorer), and
screenshots are taken only when asked for."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.ferry_server import FerryServer
from tests.web.browsing import VIEWPORT, save_screenshot


def test_the_browser_shows_ferrys_health_document(page: Page, ferry_server: FerryServer) -> None:
    response = page.goto(f"{ferry_server.api}/health")
    assert response is not None
    assert response.status == 200
    shown = json.loads(page.locator("body").inner_text())  # Chromium shows JSON as plain text
    assert shown["status"] == "healthy"
    assert {component["name"] for component in shown["components"]} >= {"core", "database"}


def test_the_api_explorer_is_titled_ferry(page: Page, ferry_server: FerryServer) -> None:
    response = page.goto(f"{ferry_server.api}/docs")
    assert response is not None
    assert response.status == 200
    expect(page).to_have_title(re.compile("ferry"))


def test_screenshots_are_written_only_when_asked(
    page: Page, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tests.web.browsing.SCREENSHOTS", tmp_path)
    page.set_content("<title>ferry</title><h1>复制管理</h1>")
    monkeypatch.delenv("FERRY_SCREENSHOTS", raising=False)
    assert save_screenshot(page, "not-asked") is None
    monkeypatch.setenv("FERRY_SCREENSHOTS", "1")
    written = save_screenshot(page, "asked")
    assert written == tmp_path / "asked.png"
    assert list(tmp_path.iterdir()) == [written]
    width, height = struct.unpack(">II", written.read_bytes()[16:24])  # the PNG's IHDR
    assert (width, height) == (VIEWPORT["width"], VIEWPORT["height"])
