"""The web UI's pages without a browser: sign-in and its throttle, sessions, CSRF, the Registries
screen (NEW ENDPOINT, TEST CONNECTION against real registries, EDIT, DELETE), the dashboard, and
the two languages with their catalog. The browser tests (``test_guide_flow.py``) click the same
pages in Chromium."""

# ruff: noqa: F811  (the fixtures imported from tests.web.fixtures are requested by parameter name)

from __future__ import annotations

import html
import io
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from ferry.auth.passwords import hash_password, new_token, token_digest
from ferry.replication.domain.registry import ProviderSettings, Registry, RegistryStatus
from ferry.replication.domain.status import TriggerType
from ferry.web.i18n import LOCALE_DIR
from tests.api.conftest import ADMIN_PASSWORD, API, CLIENT_ADDRESS
from tests.store.conftest import a_policy
from tests.support.registry import RegistryServer
from tests.web.fixtures import (  # noqa: F401  (fixtures)
    Visitor,
    WebFerry,
    anonymous,
    page_text,
    visitor,
    web,
    web_store,
)

REPO = Path(__file__).resolve().parents[2]
CATALOG = LOCALE_DIR / "zh_CN" / "LC_MESSAGES"
UNAUTHORIZED = (
    "Connection test failed: Failed to ping endpoint: unauthorized (check the Access ID and Access Secret"
)


def field_error(response: httpx.Response, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', response.text)
    assert found, f"no error shown next to {field}"
    return html.unescape(found.group(1))


async def new_endpoint(visitor: Visitor, name: str, url: str, **fields: str) -> httpx.Response:
    """NEW ENDPOINT, filled in and posted with OK (or ``action``)."""
    await visitor.get("/ui/registries/new")
    form = {"type": "docker-registry", "name": name, "url": url, "verify_cert": "on", "action": "save"}
    return await visitor.post("/ui/registries/new", {**form, **fields})


async def saved_endpoint(web: WebFerry, visitor: Visitor, name: str, url: str, **fields: str) -> Registry:
    """NEW ENDPOINT → OK; the registry as stored."""
    response = await new_endpoint(visitor, name, url, **fields)
    assert response.status_code == 303, page_text(response)
    stored = await web.store.registries.find_by_name(name)
    assert stored is not None
    return stored


# -- signing in ------------------------------------------------------------------------------------


async def test_every_page_sends_a_visitor_who_has_not_signed_in_to_the_sign_in_page(
    anonymous: Visitor,
) -> None:
    home = await anonymous.get("/")
    assert (home.status_code, home.headers["location"]) == (303, "/ui/login")
    registries = await anonymous.get("/ui/registries/new")
    assert registries.headers["location"] == "/ui/login?next=/ui/registries/new"
    login = await anonymous.get("/ui/login")
    assert login.status_code == 200
    assert 'name="csrf_token"' in login.text


async def test_the_admin_password_signs_in_with_a_12_hour_http_only_cookie_and_sign_out_ends_it(
    anonymous: Visitor,
) -> None:
    await anonymous.get("/ui/login?next=/ui/registries")
    response = await anonymous.post(
        "/ui/login", {"username": "admin", "password": ADMIN_PASSWORD, "next": "/ui/registries"}
    )
    assert (response.status_code, response.headers["location"]) == (303, "/ui/registries")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "max-age=43200" in cookie
    assert "secure" not in cookie  # plain HTTP here; see the HTTPS test
    home = await anonymous.get("/")
    assert home.status_code == 200
    assert "admin" in page_text(home)

    signed_out = await anonymous.post("/ui/logout")
    assert signed_out.headers["location"] == "/ui/login"
    assert (await anonymous.get("/")).status_code == 303


async def test_over_https_the_session_cookie_is_secure(web: WebFerry) -> None:
    async with web.client(base_url="https://ferry") as client:
        response = await Visitor(client).sign_in()
    assert response.status_code == 303
    assert "secure" in response.headers["set-cookie"].lower()


async def test_an_api_token_signs_in_and_revoking_it_ends_the_session(
    web: WebFerry, anonymous: Visitor
) -> None:
    token = new_token()
    stored = await web.store.accounts.add_token("ci", token_digest(token), now=datetime.now(UTC))
    assert (await anonymous.sign_in(token, user="ci")).status_code == 303
    assert "token:ci" in page_text(await anonymous.get("/"))
    await web.store.accounts.delete_token(stored.id)
    assert (await anonymous.get("/")).status_code == 303


async def test_setting_the_admin_password_anew_ends_existing_sessions(
    web: WebFerry, visitor: Visitor
) -> None:
    assert (await visitor.get("/")).status_code == 200
    await web.store.accounts.set_password_hash(
        "admin", hash_password("a-new-password"), now=datetime.now(UTC)
    )
    assert (await visitor.get("/")).status_code == 303


async def test_a_wrong_password_shows_an_error_and_repeated_ones_are_throttled(
    web: WebFerry, anonymous: Visitor
) -> None:
    wrong = await anonymous.sign_in("not-the-password")
    assert wrong.status_code == 200
    assert "Invalid user name, password or token." in page_text(wrong)
    for _ in range(web.throttle.free_attempts - 1):
        await anonymous.sign_in("not-the-password")
    throttled = await anonymous.sign_in(ADMIN_PASSWORD)  # even the right one must wait now
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) >= 1
    assert "Too many failed sign-ins from this address" in page_text(throttled)
    async with web.client() as api:  # the API's throttle is the same one
        answer = await api.get(f"{API}/registries", auth=("admin", ADMIN_PASSWORD))
        assert answer.status_code == 429
    web.monotonic.advance(int(throttled.headers["retry-after"]))
    assert (await anonymous.sign_in(ADMIN_PASSWORD)).status_code == 303


async def test_a_failed_sign_in_from_one_address_does_not_hold_back_another(web: WebFerry) -> None:
    async with web.client(address="198.51.100.1") as guessing_client:
        guessing = Visitor(guessing_client)
        for _ in range(web.throttle.free_attempts + 1):
            await guessing.sign_in("wrong")
    async with web.client(address=CLIENT_ADDRESS) as other_client:
        assert (await Visitor(other_client).sign_in()).status_code == 303


async def test_sign_in_goes_back_only_to_a_page_of_this_site(anonymous: Visitor) -> None:
    await anonymous.get("/ui/login")
    response = await anonymous.post(
        "/ui/login", {"username": "admin", "password": ADMIN_PASSWORD, "next": "//evil.example/x"}
    )
    assert response.headers["location"] == "/"


async def test_a_forged_session_cookie_is_no_session(web: WebFerry, visitor: Visitor) -> None:
    cookie = visitor.client.cookies["ferry_session"]
    visitor.client.cookies.set("ferry_session", cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"))
    assert (await visitor.get("/")).status_code == 303


# -- CSRF --------------------------------------------------------------------------------------------


async def test_a_form_without_the_csrf_token_is_refused_with_a_403_page(visitor: Visitor) -> None:
    response = await visitor.post("/ui/registries/new", {"name": "x", "url": "http://h"}, csrf=False)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "This form is out of date or was sent from another site." in page_text(response)


async def test_a_form_with_another_sessions_token_is_refused(web: WebFerry, visitor: Visitor) -> None:
    async with web.client() as other_client:
        other = Visitor(other_client)
        await other.sign_in()
        visitor.csrf = other.csrf
    response = await visitor.post("/ui/logout")
    assert response.status_code == 403


async def test_a_form_posted_from_another_site_is_refused_even_with_the_token(visitor: Visitor) -> None:
    cross_site = await visitor.post("/ui/logout", headers={"Origin": "https://evil.example"})
    assert cross_site.status_code == 403
    same_site = await visitor.post("/ui/logout", headers={"Origin": "http://ferry"})
    assert same_site.status_code == 303


async def test_the_sign_in_form_needs_the_token_too(anonymous: Visitor) -> None:
    response = await anonymous.post(
        "/ui/login", {"username": "admin", "password": ADMIN_PASSWORD}, csrf=False
    )
    assert response.status_code == 403


# -- registries --------------------------------------------------------------------------------------


async def test_new_endpoint_is_saved_with_its_health_and_listed(
    web: WebFerry, visitor: Visitor, registry: RegistryServer
) -> None:
    saved = await new_endpoint(visitor, "local-mirror", registry.url, description="the mirror")
    assert (saved.status_code, saved.headers["location"]) == (303, "/ui/registries")
    listed = await visitor.get("/ui/registries")
    text = page_text(listed)
    assert "Endpoint local-mirror created." in text
    assert f"local-mirror Healthy {registry.url} Docker Registry Yes" in text
    stored = await web.store.registries.find_by_name("local-mirror")
    assert stored is not None
    assert (stored.status, stored.description, stored.insecure) == (
        RegistryStatus.HEALTHY,
        "the mirror",
        False,
    )
    assert "created" not in page_text(await visitor.get("/ui/registries"))  # the flash shows once


async def test_test_connection_says_it_works_and_saves_nothing(
    web: WebFerry, visitor: Visitor, registry: RegistryServer
) -> None:
    response = await new_endpoint(visitor, "probe", registry.url, action="test")
    assert response.status_code == 200
    assert "Connection tested successfully." in page_text(response)
    assert 'value="probe"' in response.text  # the form comes back as it was typed
    assert await web.store.registries.list_registries() == []


async def test_test_connection_with_a_wrong_password_says_unauthorized_and_how_to_fix_it(
    visitor: Visitor, basic_registry: RegistryServer
) -> None:
    fields = {
        "access_key": basic_registry.username or "",
        "access_secret": "wrong-password",
        "action": "test",
    }
    page = await new_endpoint(visitor, "aliyun-acr", basic_registry.url, **fields)
    assert UNAUTHORIZED in page_text(page)
    assert 'value="wrong-password"' in page.text  # kept for the next try (the page is not cached)
    assert page.headers["cache-control"] == "no-store"

    fragment = await visitor.post(
        "/ui/registries/new",
        {"type": "docker-registry", "name": "aliyun-acr", "url": basic_registry.url, **fields},
        headers={"X-Ferry-Fragment": "1"},
    )
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert UNAUTHORIZED in page_text(fragment)

    right = {**fields, "access_secret": basic_registry.password or ""}
    assert "Connection tested successfully." in page_text(
        await new_endpoint(visitor, "aliyun-acr", basic_registry.url, **right)
    )


async def test_invalid_fields_are_shown_next_to_the_field_and_nothing_is_saved(
    web: WebFerry, visitor: Visitor, registry: RegistryServer
) -> None:
    response = await new_endpoint(visitor, "bad", "ftp://registry.example.com")
    assert response.status_code == 400
    assert "does not start with http:// or https://" in field_error(response, "url")
    assert re.search(r'<input id="url"[^>]*aria-invalid="true"', response.text)

    unknown = await new_endpoint(visitor, "bad", registry.url, type="no-such-provider")
    assert "'no-such-provider' is not a registry type" in field_error(unknown, "type")

    secret_only = await new_endpoint(visitor, "bad", registry.url, access_secret="s3cret")
    assert "is empty but a secret is set" in field_error(secret_only, "access_key")

    await new_endpoint(visitor, "taken", registry.url)
    taken = await new_endpoint(visitor, "taken", registry.url)
    assert "a registry named 'taken' already exists" in field_error(taken, "name")
    assert [item.name for item in await web.store.registries.list_registries()] == ["taken"]


async def test_edit_keeps_the_stored_secret_when_the_field_is_left_empty(
    web: WebFerry, visitor: Visitor, basic_registry: RegistryServer
) -> None:
    user, password = basic_registry.username or "", basic_registry.password or ""
    stored = await saved_endpoint(
        web, visitor, "basic", basic_registry.url, access_key=user, access_secret=password
    )
    edit = await visitor.get(f"/ui/registries/{stored.id}/edit")
    assert password not in edit.text  # the stored secret never reaches the page
    assert 'placeholder="unchanged"' in edit.text

    tested = await visitor.post(
        f"/ui/registries/{stored.id}/edit",
        {
            "name": "basic",
            "url": basic_registry.url,
            "access_key": user,
            "verify_cert": "on",
            "action": "test",
        },
    )
    assert "Connection tested successfully." in page_text(tested)
    saved = await visitor.post(
        f"/ui/registries/{stored.id}/edit",
        {"name": "basic-renamed", "url": basic_registry.url, "access_key": user, "action": "save"},
    )
    assert saved.status_code == 303
    assert "Endpoint basic-renamed updated." in page_text(await visitor.get("/ui/registries"))
    updated = await web.store.registries.get(stored.id)
    assert updated.credential is not None
    assert (updated.name, updated.credential.access_secret, updated.insecure) == (
        "basic-renamed",
        password,
        True,
    )
    assert updated.status is RegistryStatus.HEALTHY


async def test_delete_asks_first_without_a_script_then_deletes(
    web: WebFerry, visitor: Visitor, registry: RegistryServer
) -> None:
    stored = await saved_endpoint(web, visitor, "old", registry.url)
    await visitor.get("/ui/registries")
    asked = await visitor.post(f"/ui/registries/{stored.id}/delete")
    assert asked.status_code == 200
    assert "Do you want to delete endpoint old?" in page_text(asked)
    deleted = await visitor.post(f"/ui/registries/{stored.id}/delete", {"confirm": "yes"})
    assert deleted.headers["location"] == "/ui/registries"
    assert "Endpoint old deleted." in page_text(await visitor.get("/ui/registries"))
    assert await web.store.registries.list_registries() == []


async def test_delete_is_refused_while_a_rule_uses_the_endpoint_and_says_which(
    web: WebFerry, visitor: Visitor, registry: RegistryServer
) -> None:
    stored = await saved_endpoint(web, visitor, "aliyun-acr", registry.url)
    await web.store.policies.add(a_policy("sync-to-aliyun", dest=stored.id))
    await visitor.get("/ui/registries")
    refused = await visitor.post(f"/ui/registries/{stored.id}/delete", {"confirm": "yes"})
    assert refused.headers["location"] == "/ui/registries"
    text = page_text(await visitor.get("/ui/registries"))
    assert (
        "The endpoint cannot be deleted while replication rules use it: registry 'aliyun-acr' is used by "
        "the replication rule(s) sync-to-aliyun" in text
    )
    assert await web.store.registries.find_by_name("aliyun-acr") is not None


async def test_test_connection_from_the_list_records_the_status(
    web: WebFerry, visitor: Visitor, basic_registry: RegistryServer
) -> None:
    stored = await saved_endpoint(
        web, visitor, "basic", basic_registry.url, access_key="nobody", access_secret="wrong"
    )
    assert stored.status is RegistryStatus.UNHEALTHY
    await visitor.get("/ui/registries")
    await visitor.post(f"/ui/registries/{stored.id}/test")
    text = page_text(await visitor.get("/ui/registries"))
    assert "basic: Connection test failed: Failed to ping endpoint: unauthorized" in text
    assert "basic Unhealthy" in text


async def test_an_unknown_endpoint_is_a_404_page(visitor: Visitor) -> None:
    response = await visitor.get("/ui/registries/999/edit")
    assert response.status_code == 404
    assert "registry 999 not found" in page_text(response)
    assert (await visitor.get("/ui/no-such-page")).status_code == 404
    not_a_number = await visitor.get("/ui/registries/abc/edit")
    assert (not_a_number.status_code, not_a_number.headers["content-type"][:9]) == (404, "text/html")


async def test_the_new_endpoint_form_offers_acr_regional_endpoints_and_the_personal_pattern(
    visitor: Visitor,
) -> None:
    form = await visitor.get("/ui/registries/new")
    assert '<option value="ali-acr"' in form.text
    assert "Alibaba Cloud CR" in form.text
    assert '<datalist id="endpoints-ali-acr">' in form.text
    assert 'value="https://registry.cn-hangzhou.aliyuncs.com"' in form.text
    assert "https://crpi-&lt;id&gt;.&lt;region&gt;.personal.cr.aliyuncs.com" in form.text
    for field in ("type", "name", "url", "access_key", "access_secret", "verify_cert", "ca_certificate"):
        assert f'<label for="{field}">' in form.text
    assert re.search(r'id="verify_cert"[^>]*checked', form.text)


def selected(response: httpx.Response, field: str) -> str:
    """The value of the option selected in the select ``field``."""
    select = re.search(rf'<select id="{field}"[^>]*>(.*?)</select>', response.text, re.DOTALL)
    assert select, f"no select {field}"
    found = re.search(r'<option value="([^"]*)" selected', select.group(1))
    assert found, f"nothing selected in {field}"
    return found.group(1)


ACR_SETTINGS = {
    "openapi_endpoint": "https://cr-vpc.cn-shanghai.aliyuncs.com",
    "region": "cn-shanghai",
    "instance_id": "cri-abc123def456",
    "create_namespace": "true",
    "drop_attestations": "false",
}


async def test_the_new_endpoint_form_offers_every_providers_settings_without_a_script(
    visitor: Visitor,
) -> None:
    form = await visitor.get("/ui/registries/new")
    assert re.search(
        r"<fieldset[^>]*data-provider-settings[^>]*>\s*<legend>Provider settings</legend>", form.text
    )
    sections = re.findall(r'data-provider-section="([^"]+)"([^>]*)>', form.text)
    assert sections == [("ali-acr", ""), ("harbor", "")]  # not hidden: the script hides the others
    for field in (
        "openapi_endpoint",
        "region",
        "instance_id",
        "create_namespace",
        "drop_attestations",
        "create_project",
    ):
        assert f'<label for="{field}">' in form.text
    assert [selected(form, name) for name in ("create_namespace", "drop_attestations", "create_project")] == [
        "",
        "",
        "",
    ]
    text = page_text(form)
    assert "Create missing namespaces Provider default (off) Yes No" in text
    assert "Drop attestation manifests Provider default (on) Yes No" in text
    assert "Create missing projects Provider default (on) Yes No" in text


async def test_acr_provider_settings_are_saved_shown_on_edit_and_changed(
    web: WebFerry, visitor: Visitor, registry: RegistryServer
) -> None:
    typed_for_harbor = {"create_project": "false"}  # another provider's field, sent hidden: ignored
    stored = await saved_endpoint(
        web, visitor, "acr", registry.url, type="ali-acr", **ACR_SETTINGS, **typed_for_harbor
    )
    assert stored.settings == ProviderSettings(
        openapi_endpoint="https://cr-vpc.cn-shanghai.aliyuncs.com",
        region="cn-shanghai",
        instance_id="cri-abc123def456",
        create_namespace=True,
        drop_attestations=False,
    )

    edit = await visitor.get(f"/ui/registries/{stored.id}/edit")
    for field in ("openapi_endpoint", "region", "instance_id"):
        assert re.search(
            rf'<input id="{field}" name="{field}" type="\w+" value="{ACR_SETTINGS[field]}"', edit.text
        )
    assert (selected(edit, "create_namespace"), selected(edit, "drop_attestations")) == ("true", "false")
    assert 'data-provider-section="harbor"' not in edit.text  # the provider is fixed

    changed = {**ACR_SETTINGS, "openapi_endpoint": "", "instance_id": "", "create_namespace": ""}
    saved = await visitor.post(
        f"/ui/registries/{stored.id}/edit", {"name": "acr", "url": registry.url, "action": "save", **changed}
    )
    assert saved.status_code == 303, page_text(saved)
    updated = await web.store.registries.get(stored.id)
    assert updated.settings == ProviderSettings(region="cn-shanghai", drop_attestations=False)
    api = await visitor.client.get(f"{API}/registries/{stored.id}", auth=("admin", ADMIN_PASSWORD))
    assert api.json()["provider_settings"] == {
        "openapi_endpoint": None,
        "region": "cn-shanghai",
        "instance_id": None,
        "create_namespace": None,
        "drop_attestations": False,
    }


async def test_harbor_offers_create_missing_projects_and_keeps_settings_set_elsewhere(
    web: WebFerry, visitor: Visitor, registry: RegistryServer
) -> None:
    stored = await saved_endpoint(
        web, visitor, "harbor-b", registry.url, type="harbor", create_project="false", **ACR_SETTINGS
    )
    assert stored.settings == ProviderSettings(create_namespace=False)  # ACR's fields are not Harbor's
    await web.store.registries.update(
        replace(stored, settings=replace(stored.settings, drop_attestations=True))
    )

    edit = await visitor.get(f"/ui/registries/{stored.id}/edit")
    assert selected(edit, "create_project") == "false"
    assert 'data-provider-section="ali-acr"' not in edit.text
    assert "Set through the API or a rule file, and kept as they are: drop_attestations=true" in page_text(
        edit
    )
    saved = await visitor.post(
        f"/ui/registries/{stored.id}/edit",
        {"name": "harbor-b", "url": registry.url, "create_project": "", "action": "save"},
    )
    assert saved.status_code == 303, page_text(saved)
    updated = await web.store.registries.get(stored.id)
    assert updated.settings == ProviderSettings(drop_attestations=True)


async def test_a_docker_registry_has_no_provider_settings_to_edit(
    web: WebFerry, visitor: Visitor, registry: RegistryServer
) -> None:
    stored = await saved_endpoint(web, visitor, "plain", registry.url, **ACR_SETTINGS)
    assert stored.settings == ProviderSettings()
    edit = await visitor.get(f"/ui/registries/{stored.id}/edit")
    assert "data-provider-settings" not in edit.text


async def test_an_invalid_provider_setting_is_shown_next_to_its_field_and_nothing_is_saved(
    web: WebFerry, visitor: Visitor, registry: RegistryServer
) -> None:
    region = await new_endpoint(visitor, "acr", registry.url, type="ali-acr", region="Hangzhou")
    assert region.status_code == 400
    assert "provider_settings.region: 'Hangzhou' is not a region id" in field_error(region, "region")
    assert re.search(r'<input id="region"[^>]*aria-describedby="region-hint region-error"', region.text)
    assert re.search(r'<input id="region"[^>]*aria-invalid="true"', region.text)
    assert 'value="Hangzhou"' in region.text  # the form comes back as it was typed

    endpoint = await new_endpoint(
        visitor, "acr", registry.url, type="ali-acr", openapi_endpoint="cr.cn-hangzhou.aliyuncs.com"
    )
    assert "does not start with http:// or https://" in field_error(endpoint, "openapi_endpoint")
    instance = await new_endpoint(
        visitor, "acr", registry.url, type="ali-acr", instance_id="i-123", action="test"
    )
    assert "is not an ACR instance id" in field_error(instance, "instance_id")
    choice = await new_endpoint(visitor, "harbor", registry.url, type="harbor", create_project="maybe")
    assert "'maybe' is not a choice" in field_error(choice, "create_project")
    assert await web.store.registries.list_registries() == []


async def test_the_provider_settings_speak_acrs_chinese_console_terms(visitor: Visitor) -> None:
    form = page_text(await visitor.get("/ui/registries/new", headers={"Accept-Language": "zh-CN"}))
    for term in (
        "提供者设置",
        "OpenAPI 接入地址",
        "地域",
        "实例 ID",
        "自动创建命名空间",
        "删除证明清单",
        "自动创建项目",
    ):
        assert term in form


# -- the dashboard -----------------------------------------------------------------------------------


async def test_the_dashboard_shows_recent_executions_failures_and_endpoint_health(
    web: WebFerry, visitor: Visitor, registry: RegistryServer
) -> None:
    stored = await saved_endpoint(web, visitor, "mirror", registry.url)
    policy = await web.store.policies.add(a_policy("to-mirror", dest=stored.id, single_active=True))
    now = datetime.now(UTC)
    running = await web.store.executions.start(policy, TriggerType.MANUAL, now=now)
    skipped = await web.store.executions.start(
        policy, TriggerType.SCHEDULED, now=now
    )  # Failed: one at a time

    text = page_text(await visitor.get("/"))
    assert "Executions (24 h) 2 Failures (24 h) 1 Bytes moved (24 h) 0 B" in text
    assert "Healthy 1 Unhealthy 0 Unknown 0" in text
    assert f"{skipped.id} to-mirror Failed Scheduled 0 / 0 0" in text
    assert f"{running.id} to-mirror In Progress Manual" in text
    fragment = await visitor.get("/ui/dashboard/executions")
    assert "<html" not in fragment.text
    assert f'href="/ui/executions/{running.id}"' in fragment.text


async def test_the_live_fragment_answers_401_instead_of_a_redirect(anonymous: Visitor) -> None:
    response = await anonymous.get("/ui/dashboard/executions", headers={"X-Ferry-Fragment": "1"})
    assert response.status_code == 401


# -- languages ---------------------------------------------------------------------------------------


async def test_the_browsers_language_chooses_simplified_chinese_with_harbors_terms(
    web: WebFerry, visitor: Visitor
) -> None:
    chinese = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
    listed = await visitor.get("/ui/registries", headers=chinese)
    assert '<html lang="zh-CN">' in listed.text
    for term in ("仓库管理", "复制管理", "系统管理", "新建目标", "测试连接", "目标URL", "提供者"):
        assert term in listed.text or term in (await visitor.get("/ui/registries/new", headers=chinese)).text
    form = page_text(await visitor.get("/ui/registries/new", headers=chinese))
    for label in ("目标名", "目标URL", "访问ID", "访问密码", "验证远程证书", "测试连接", "确定", "取消"):
        assert label in form
    english = await visitor.get("/ui/registries", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in english.text
    assert "Registries" in english.text


async def test_the_language_switch_sets_a_cookie_that_wins_over_the_browser(visitor: Visitor) -> None:
    await visitor.get("/ui/registries")
    switched = await visitor.post("/ui/language", {"lang": "zh-CN", "next": "/ui/registries"})
    assert switched.headers["location"] == "/ui/registries"
    assert "lang=zh-CN" in switched.headers["set-cookie"]
    page = await visitor.get("/ui/registries", headers={"Accept-Language": "en"})
    assert "仓库管理" in page.text
    assert "测试连接" in (await visitor.get("/ui/registries/new")).text
    await visitor.post("/ui/language", {"lang": "en", "next": "/"})
    assert "Registries" in (await visitor.get("/ui/registries", headers={"Accept-Language": "zh-CN"})).text


async def test_python_messages_are_translated_too(web: WebFerry, anonymous: Visitor) -> None:
    anonymous.client.headers["Accept-Language"] = "zh-CN"
    wrong = await anonymous.sign_in("not-the-password")
    assert "用户名、密码或令牌错误。" in page_text(wrong)


def test_the_compiled_catalog_matches_its_po_file() -> None:
    with (CATALOG / "messages.po").open("rb") as po_file:
        po = read_po(po_file)
    with (CATALOG / "messages.mo").open("rb") as mo_file:
        mo = read_mo(io.BytesIO(mo_file.read()))
    translated = {message.id: message.string for message in po if message.id and not message.fuzzy}
    compiled = {message.id: message.string for message in mo if message.id}
    assert compiled == translated, "run: pybabel compile -d src/ferry/web/locale (docs/web.md)"


def test_every_message_of_the_ui_has_a_chinese_translation() -> None:
    with (REPO / "babel.cfg").open() as config:
        method_map, options = parse_mapping_cfg(config)  # type: ignore[no-untyped-call]  # Babel is untyped
    extracted = {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(
            str(REPO / "src" / "ferry" / "web"), method_map, options_map=options
        )
    }
    with (CATALOG / "messages.po").open("rb") as po_file:
        po = read_po(po_file)
    translated = {message.id for message in po if message.id and message.string and not message.fuzzy}
    assert sorted(extracted - translated) == [], "run pybabel extract/update and translate (docs/web.md)"


async def test_a_newline_in_an_api_path_parameter_reaches_the_api(anonymous: httpx.AsyncClient) -> None:
    # schemathesis found this: a newline in a path parameter escaped the API's mount (a UI 404)
    response = await anonymous.get("/api/v2.0/registries/a%0Ab/info")
    assert response.status_code == 401  # the API's answer: sign in first
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
