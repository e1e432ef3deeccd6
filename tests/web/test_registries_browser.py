"""The New Endpoint form in Chromium, where the script matters: only the chosen provider's
settings are shown (the page carries every provider's, for a browser without a script), and an
Alibaba Cloud CR endpoint is saved with its settings. The rest of the screen is tested without a
browser in ``test_pages.py``."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.support.ferry_server import FerryServer
from tests.web.browsing import Browsing, SignedInPage, save_screenshot


def test_only_the_chosen_providers_settings_are_shown_and_saved(
    ferry_server: FerryServer, signed_in_page: SignedInPage, browsing: Browsing
) -> None:
    page = signed_in_page()
    page.goto(ferry_server.url + "/ui/registries/new")
    settings = page.get_by_role("group", name="Provider settings")
    region, create_projects = page.get_by_label("Region"), page.get_by_label("Create missing projects")
    expect(settings).to_be_hidden()  # Docker Registry, the default, has none

    page.get_by_label("Provider").select_option(value="harbor")
    expect(create_projects).to_be_visible()
    expect(region).to_be_hidden()
    page.get_by_label("Provider").select_option(value="ali-acr")
    expect(region).to_be_visible()
    expect(create_projects).to_be_hidden()

    page.get_by_label("Name", exact=True).fill("acr-settings")
    page.get_by_label("Endpoint URL").fill(ferry_server.local_registry_url)
    region.fill("cn-shanghai")
    page.get_by_label("Drop attestation manifests").select_option(value="false")
    page.get_by_label("Create missing namespaces").select_option(label="Yes")
    save_screenshot(page, "en-07-new-endpoint-acr-settings")
    page.get_by_role("button", name="OK").click()
    expect(page.get_by_role("status")).to_contain_text("Endpoint acr-settings created.")

    reply = httpx.get(ferry_server.api + "/registries", auth=ferry_server.auth, timeout=10)
    [stored] = [item for item in reply.json() if item["name"] == "acr-settings"]
    assert stored["provider_settings"] == {
        "openapi_endpoint": None,
        "region": "cn-shanghai",
        "instance_id": None,
        "create_namespace": True,
        "drop_attestations": False,
    }
    assert browsing.page_errors == []
