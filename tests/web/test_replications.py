"""The Replications screen without a browser: the rule list with its executions, NEW REPLICATION
RULE and EDIT (every field, errors next to their fields), REPLICATE against real registries,
DELETE, the dry run and the cron helper, in English and in Harbor's Chinese.

The app has a local registry (the ``registry`` fixture, "Local") and no dispatcher of its own: a
test that wants an execution to run calls ``run_until_finished``, so an execution a test starts
stays unfinished ("running") until then."""

# ruff: noqa: F811  (the fixtures imported from tests.web.fixtures are requested by parameter name)

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from ferry.replication.domain.policy import Decoration, Filter, FilterType, Policy, Trigger
from ferry.replication.domain.registry import Registry, RegistryType, local_registry
from ferry.replication.domain.status import ExecutionStatus, TriggerType
from ferry.store import Store
from tests.api.conftest import FAST_DISPATCH
from tests.support.blobs import BlobSpec
from tests.support.client import list_tags
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.web.fixtures import (  # noqa: F401  (fixtures)
    Visitor,
    WebFerry,
    compose_web,
    page_text,
    signed_in,
    visitor,
    web,
    web_store,
)

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
async def local_web(web_store: Store, registry: RegistryServer) -> WebFerry:
    """The app ``ferry serve`` composes, with ``registry`` as its local registry ("Local")."""
    local = local_registry(type=RegistryType.DOCKER_REGISTRY, url=registry.url, now=datetime.now(UTC))
    return await compose_web(web_store, local=local, dispatch=FAST_DISPATCH)


@pytest.fixture
async def admin(local_web: WebFerry) -> AsyncIterator[Visitor]:
    async with signed_in(local_web) as admin:
        yield admin


@pytest.fixture
async def destination(local_web: WebFerry, registry_b: RegistryServer) -> Registry:
    """An endpoint for the plain registry ``registry_b``, named as in the guide."""
    return await endpoint(local_web.store, "aliyun-acr", registry_b.url)


async def endpoint(store: Store, name: str, url: str) -> Registry:
    return await store.registries.add(
        Registry(
            id=0, name=name, type=RegistryType.DOCKER_REGISTRY, url=url, creation_time=NOW, update_time=NOW
        )
    )


def rule(name: str, destination: Registry, **changes: object) -> Policy:
    fields: dict[str, object] = {
        "id": 0,
        "name": name,
        "src_registry_id": 0,
        "dest_registry_id": destination.id,
        "dest_namespace": "lgy-images",
        "filters": (Filter(FilterType.NAME, "library/**"),),
        "creation_time": NOW,
        "update_time": NOW,
    }
    return Policy(**{**fields, **changes})  # type: ignore[arg-type]


def rule_form(destination: Registry, **fields: str) -> dict[str, str]:
    """The NEW REPLICATION RULE form as the page posts it, Harbor's defaults, ``fields`` changed."""
    form = {
        "name": "sync-to-aliyun",
        "description": "",
        "mode": "push",
        "src_registry": "0",
        "dest_registry": str(destination.id),
        "name_filter": "",
        "tag_filter": "",
        "tag_decoration": "matches",
        "label_filter": "",
        "label_decoration": "matches",
        "resource_filter": "",
        "dest_namespace": "",
        "replace_count": "-1",
        "trigger_type": "manual",
        "cron": "",
        "timezone": "",
        "poll_interval": "",
        "speed": "-1",
        "speed_unit": "kbps",
        "override": "on",
        "enabled": "on",
        "action": "save",
    }
    return {**form, **fields}


async def post_new_rule(visitor: Visitor, destination: Registry, **fields: str) -> httpx.Response:
    """NEW REPLICATION RULE as a browser does it: the page opened, then its form posted with
    ``fields`` changed (see ``rule_form``)."""
    await visitor.get("/ui/replications/new")
    return await visitor.post("/ui/replications/new", rule_form(destination, **fields))


def field_error(response: httpx.Response, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', response.text)
    assert found, f"no error shown next to {field}"
    return html.unescape(found.group(1))


def field_value(response: httpx.Response, field: str) -> str:
    found = re.search(rf'<input id="{field}" name="{field}" type="text"[^>]*? value="([^"]*)"', response.text)
    assert found, f"no text field {field}"
    return html.unescape(found.group(1))


def seed(target: RegistryServer, repository: str, tag: str, *, seed: int) -> None:
    push_image(target, repository, tag, build_image([BlobSpec(2_000, seed=seed)]))


async def stored_rule(web: WebFerry, name: str) -> Policy:
    found = await web.store.policies.find_by_name(name)
    assert found is not None, f"rule {name} was not stored"
    return found


# -- the list ---------------------------------------------------------------------------------------


async def test_the_list_shows_each_rule_with_its_mode_destination_trigger_and_last_run(
    local_web: WebFerry, admin: Visitor, destination: Registry
) -> None:
    manual = await local_web.store.policies.add(rule("sync-to-aliyun", destination))
    await local_web.store.policies.add(
        rule(
            "nightly",
            destination,
            trigger=Trigger(TriggerType.SCHEDULED, "0 0 2 * * *"),
            dest_namespace="",
            enabled=False,
        )
    )
    started = await local_web.services.service.start_execution(manual)
    finished = await local_web.services.service.run_until_finished(started.id)
    assert finished.api_status is ExecutionStatus.SUCCEED  # nothing matches library/**: no tasks

    response = await admin.get("/ui/replications")
    assert response.status_code == 200
    text = page_text(response)
    assert "sync-to-aliyun Enabled Push-based Local aliyun-acr lgy-images · Flatten All Levels Manual" in text
    assert (
        "nightly Disabled Push-based Local aliyun-acr same path as the source Scheduled 0 0 2 * * *" in text
    )
    assert "Never run" in text
    assert f'href="/ui/executions/{finished.id}"' in response.text
    assert "Succeed" in text
    # the executions of every rule are below the rules, each id a link to its page
    executions = response.text[response.text.index('id="rule-executions"') :]
    assert f'<a href="/ui/executions/{finished.id}">{finished.id}</a>' in executions
    assert "no resources need to be replicated" in page_text(response)


async def test_a_scheduled_rule_shows_its_next_run(
    local_web: WebFerry, admin: Visitor, destination: Registry
) -> None:
    await local_web.store.policies.add(
        rule("nightly", destination, trigger=Trigger(TriggerType.SCHEDULED, "0 0 2 * * *", "Asia/Shanghai"))
    )
    text = page_text(await admin.get("/ui/replications"))
    assert re.search(r"0 0 2 \* \* \* \(Asia/Shanghai\) Next run: \d{4}-\d\d-\d\d 18:00 UTC", text), text


async def test_choosing_a_rule_shows_only_its_executions(
    local_web: WebFerry, admin: Visitor, destination: Registry
) -> None:
    first = await local_web.store.policies.add(rule("first", destination))
    second = await local_web.store.policies.add(rule("second", destination))
    one = await local_web.services.service.start_execution(first)
    two = await local_web.services.service.start_execution(second)

    chosen = await admin.get(f"/ui/replications?rule={second.id}")
    executions = chosen.text[chosen.text.index('id="rule-executions"') :]
    assert f">{two.id}</a>" in executions
    assert f">{one.id}</a>" not in executions
    assert "Executions of second" in page_text(chosen)
    # the table alone, which the page's script fetches while a row runs
    fragment = await admin.get(f"/ui/replications/executions?rule={second.id}")
    assert fragment.text.lstrip().startswith("<table")
    assert f">{two.id}</a>" in fragment.text
    assert "<html" not in fragment.text
    # a running execution has STOP, posted to the Executions screen, which comes back here
    assert f'action="/ui/executions/{two.id}/stop"' in fragment.text
    assert f'name="next" value="/ui/replications?rule={second.id}&amp;page=1"' in fragment.text
    assert "data-running" in fragment.text


# -- NEW REPLICATION RULE and EDIT ------------------------------------------------------------------------


async def test_the_form_has_every_field_with_harbors_labels(admin: Visitor, destination: Registry) -> None:
    response = await admin.get("/ui/replications/new")
    text = page_text(response)
    for label in (
        "Name",
        "Description",
        "Replication mode",
        "Push-based",
        "Pull-based",
        "Source registry",
        "Source resource filter",
        "Tag",
        "Label",
        "Resource",
        "Destination registry",
        "Destination namespace",
        "Flattening",
        "Trigger Mode",
        "Bandwidth",
        "Override",
        "Delete remote resources when locally deleted",
        "Copy by chunk",
        "Single active replication",
        "Enable rule",
        "SAVE",
    ):
        assert label in text, label
    assert '<option value="0" selected>Local</option>' in response.text
    assert (
        f'<option value="{destination.id}" selected>aliyun-acr ({destination.url})</option>' in response.text
    )
    for count, label in ((-1, "Flatten All Levels"), (0, "No Flattening"), (1, "Flatten 1 Level")):
        assert f'<option value="{count}"' in response.text
        assert label in text
    assert '<input id="override" name="override" type="checkbox" value="on" checked' in response.text
    assert re.search(
        r'<legend>Source resource filter</legend>\s*<div class="field">\s*<label for="name_filter">',
        response.text,
    )


async def test_a_push_rule_made_with_the_form_is_stored_with_its_filters_namespace_and_flattening(
    local_web: WebFerry, admin: Visitor, destination: Registry
) -> None:
    saved = await post_new_rule(
        admin,
        destination,
        description="同步镜像到阿里云",
        name_filter="**/nms4cloud-*",
        tag_filter="prod-*, v*",
        label_filter="production, team=web",
        label_decoration="excludes",
        dest_namespace="lgy-images",
        replace_count="1",
        speed="2",
        speed_unit="mbps",
        copy_by_chunk="on",
    )
    policy = await stored_rule(local_web, "sync-to-aliyun")
    assert (saved.status_code, saved.headers["location"]) == (303, f"/ui/replications?rule={policy.id}")
    assert "Rule sync-to-aliyun created." in page_text(await admin.get(saved.headers["location"]))

    assert policy.filters == (
        Filter(FilterType.NAME, "**/nms4cloud-*"),
        Filter(FilterType.TAG, "prod-*, v*", Decoration.MATCHES),
        Filter(FilterType.LABEL, ("production", "team=web"), Decoration.EXCLUDES),
    )
    assert (policy.src_registry_id, policy.dest_registry_id) == (0, destination.id)
    assert (policy.dest_namespace, policy.dest_namespace_replace_count) == ("lgy-images", 1)
    assert policy.trigger == Trigger(TriggerType.MANUAL)
    assert (policy.speed, policy.copy_by_chunk, policy.override, policy.enabled) == (2000, True, True, True)
    assert (policy.deletion, policy.single_active_replication) == (False, False)
    assert (policy.description, policy.creator) == ("同步镜像到阿里云", "admin")


async def test_editing_a_rule_shows_it_and_saves_every_change(
    local_web: WebFerry, admin: Visitor, destination: Registry
) -> None:
    stored = await local_web.store.policies.add(
        rule(
            "sync-to-aliyun",
            destination,
            speed=512,
            filters=(Filter(FilterType.TAG, "v*", Decoration.EXCLUDES),),
        )
    )
    page = await admin.get(f"/ui/replications/{stored.id}/edit")
    assert field_value(page, "tag_filter") == "v*"
    assert '<option value="excludes" selected>excluding</option>' in page.text
    assert field_value(page, "speed") == "512"

    form = rule_form(
        destination,
        name="nightly-to-aliyun",
        tag_filter="v*",
        trigger_type="scheduled",
        cron="0 30 2 * * *",
        timezone="Asia/Shanghai",
        deletion="on",
        single_active="on",
        enabled="",
        override="",
    )
    saved = await admin.post(f"/ui/replications/{stored.id}/edit", form)
    assert saved.status_code == 303, page_text(saved)
    policy = await local_web.store.policies.get(stored.id)
    assert policy.name == "nightly-to-aliyun"
    assert policy.trigger == Trigger(TriggerType.SCHEDULED, "0 30 2 * * *", "Asia/Shanghai")
    assert policy.filters == (Filter(FilterType.TAG, "v*", Decoration.MATCHES),)
    assert (policy.deletion, policy.single_active_replication, policy.enabled, policy.override) == (
        True,
        True,
        False,
        False,
    )
    assert (policy.speed, policy.creation_time) == (0, stored.creation_time)


async def test_a_pull_rule_copies_into_local_and_may_watch_its_source(
    local_web: WebFerry, admin: Visitor, destination: Registry
) -> None:
    saved = await post_new_rule(
        admin,
        destination,
        mode="pull",
        src_registry=str(destination.id),
        dest_registry="0",
        trigger_type="event_based",
        poll_interval="120",
        cron="0 0 2 * * *",  # typed under Scheduled, then Event Based chosen: not sent
    )
    assert saved.status_code == 303
    policy = await stored_rule(local_web, "sync-to-aliyun")
    assert (policy.src_registry_id, policy.dest_registry_id) == (destination.id, 0)
    assert policy.trigger == Trigger(TriggerType.EVENT_BASED, poll_interval=120)
    text = page_text(await admin.get("/ui/replications"))
    assert "Pull-based aliyun-acr Local" in text
    assert "watches the source every 120 s" in text


@pytest.mark.parametrize(
    ("fields", "field", "error_start", "kept"),
    [
        pytest.param(  # a mode that does not fit the registries is said next to the registry
            {"mode": "pull"},
            "dest_registry",
            "dest_registry_id: a pull-based rule copies into Local",
            None,
            id="mode",
        ),
        pytest.param(  # the tag is the second filter
            {"name_filter": "library/**", "tag_filter": "v[1-"},
            "tag_filter",
            "filters[1].value: ",
            "v[1-",
            id="tag-pattern",
        ),
        pytest.param(
            {"name": "other", "dest_namespace": "Lgy Images"},
            "dest_namespace",
            "dest_namespace: 'Lgy Images' is not a repository path",
            None,
            id="namespace",
        ),
    ],
)
async def test_a_bad_field_is_shown_next_to_it(
    admin: Visitor,
    destination: Registry,
    fields: dict[str, str],
    field: str,
    error_start: str,
    kept: str | None,
) -> None:
    response = await post_new_rule(admin, destination, **fields)
    assert response.status_code == 400
    assert field_error(response, field).startswith(error_start)
    if kept is not None:
        assert field_value(response, field) == kept


async def test_a_bad_cron_is_shown_next_to_the_cron_and_nothing_typed_is_lost(
    local_web: WebFerry, admin: Visitor, destination: Registry
) -> None:
    response = await post_new_rule(
        admin,
        destination,
        name_filter="**/nms4cloud-*",
        tag_filter="prod-*, v*",
        trigger_type="scheduled",
        cron="0 2 * * *",
    )
    assert response.status_code == 400
    assert field_error(response, "cron") == (
        "trigger.cron: '0 2 * * *' has 5 fields, not 6 (put the seconds first: \"0 0 2 * * *\" "
        '("0 0 2 * * *" runs every day at 02:00))'
    )
    assert 'aria-describedby="cron-hint cron-preview cron-error" aria-invalid="true"' in response.text
    assert (field_value(response, "name"), field_value(response, "cron")) == ("sync-to-aliyun", "0 2 * * *")
    assert (field_value(response, "name_filter"), field_value(response, "tag_filter")) == (
        "**/nms4cloud-*",
        "prod-*, v*",
    )
    assert '<option value="scheduled" selected>' in response.text
    assert await local_web.store.policies.find_by_name("sync-to-aliyun") is None


async def test_a_taken_name_is_shown_next_to_the_name(
    local_web: WebFerry, admin: Visitor, destination: Registry
) -> None:
    await local_web.store.policies.add(rule("sync-to-aliyun", destination))
    taken = await post_new_rule(admin, destination)
    assert taken.status_code == 400
    assert "already exists" in field_error(taken, "name")


async def test_a_ferry_without_a_local_registry_offers_remote_to_remote_only(
    web: WebFerry, visitor: Visitor, registry: RegistryServer, registry_b: RegistryServer
) -> None:
    source = await endpoint(web.store, "docker-hub-mirror", registry.url)
    target = await endpoint(web.store, "aliyun-acr", registry_b.url)
    page = await visitor.get("/ui/replications/new")
    assert ">Local</option>" not in page.text  # no "Local" to choose
    assert 'id="mode-remote" name="mode" value="remote" data-rule-mode checked' in page.text
    pushed = await visitor.post("/ui/replications/new", rule_form(target, src_registry="0"))
    assert field_error(pushed, "src_registry").startswith(
        "src_registry_id: is Local, but this ferry runs without a local registry"
    )
    saved = await visitor.post(
        "/ui/replications/new", rule_form(target, mode="remote", src_registry=str(source.id))
    )
    assert saved.status_code == 303, page_text(saved)
    policy = await web.store.policies.find_by_name("sync-to-aliyun")
    assert policy is not None
    assert (policy.src_registry_id, policy.dest_registry_id) == (source.id, target.id)
    assert "Remote to remote docker-hub-mirror aliyun-acr" in page_text(await visitor.get("/ui/replications"))


async def test_filters_set_through_the_api_beyond_the_forms_fields_are_kept_on_edit(
    local_web: WebFerry, admin: Visitor, destination: Registry
) -> None:
    both = (Filter(FilterType.NAME, "library/**"), Filter(FilterType.NAME, "**/nms4cloud-*"))
    stored = await local_web.store.policies.add(rule("sync-to-aliyun", destination, filters=both))
    page = await admin.get(f"/ui/replications/{stored.id}/edit")
    assert field_value(page, "name_filter") == "library/**"
    assert "Further filters set through the API are kept: name: **/nms4cloud-*" in page_text(page)
    saved = await admin.post(
        f"/ui/replications/{stored.id}/edit", rule_form(destination, name_filter="library/nms4cloud-*")
    )
    assert saved.status_code == 303
    assert (await local_web.store.policies.get(stored.id)).filters == (
        Filter(FilterType.NAME, "library/nms4cloud-*"),
        Filter(FilterType.NAME, "**/nms4cloud-*"),
    )


# -- REPLICATE, DELETE -------------------------------------------------------------------------------


async def test_replicate_starts_an_execution_that_copies_the_filtered_tags(
    local_web: WebFerry,
    admin: Visitor,
    destination: Registry,
    registry: RegistryServer,
    registry_b: RegistryServer,
) -> None:
    seed(registry, "library/nms4cloud-gateway", "prod-1.0", seed=1)
    seed(registry, "library/nms4cloud-gateway", "test-1", seed=2)
    policy = await local_web.store.policies.add(
        rule("sync-to-aliyun", destination, filters=(Filter(FilterType.TAG, "prod-*, v*"),))
    )
    page = await admin.get("/ui/replications")
    assert f'action="/ui/replications/{policy.id}/replicate"' in page.text
    assert 'data-confirm="Do you want to replicate rule sync-to-aliyun?"' in page.text

    asked = await admin.post(f"/ui/replications/{policy.id}/replicate")  # no script: a page asks first
    assert "Do you want to replicate rule sync-to-aliyun?" in page_text(asked)
    assert await local_web.store.executions.find_unfinished(policy.id) is None

    started = await admin.post(f"/ui/replications/{policy.id}/replicate", {"confirm": "yes"})
    assert started.headers["location"] == f"/ui/replications?rule={policy.id}"
    execution = await local_web.store.executions.find_unfinished(policy.id)
    assert execution is not None
    assert f"Execution {execution.id} of rule sync-to-aliyun started." in page_text(
        await admin.get(started.headers["location"])
    )

    finished = await local_web.services.service.run_until_finished(execution.id)
    assert (finished.api_status, finished.counts.total, finished.counts.succeed) == (
        ExecutionStatus.SUCCEED,
        1,
        1,
    )
    assert list_tags(registry_b, "lgy-images/nms4cloud-gateway") == ["prod-1.0"]
    row = re.search(
        rf'<tr data-execution="{execution.id}">\s*<td><a href="/ui/executions/{execution.id}">.*?</tr>',
        (await admin.get("/ui/replications")).text,
        re.S,
    )
    assert row is not None
    assert "Succeed" in row.group(0)
    assert "Manual" in row.group(0)
    assert "/stop" not in row.group(0)


async def test_replicating_a_disabled_rule_says_it_is_disabled(
    local_web: WebFerry, admin: Visitor, destination: Registry
) -> None:
    policy = await local_web.store.policies.add(rule("paused", destination, enabled=False))
    await admin.get("/ui/replications")
    response = await admin.post(f"/ui/replications/{policy.id}/replicate", {"confirm": "yes"})
    text = page_text(await admin.get(response.headers["location"]))
    assert (
        "The rule cannot be replicated: replication rule 'paused' is disabled (enable the rule to run it)"
        in text
    )
    assert (await local_web.store.executions.list_executions())[1] == 0


async def test_a_second_run_of_a_single_active_rule_is_shown_as_skipped(
    local_web: WebFerry, admin: Visitor, destination: Registry
) -> None:
    policy = await local_web.store.policies.add(
        rule("one-at-a-time", destination, single_active_replication=True)
    )
    running = await local_web.services.service.start_execution(policy)
    await admin.get("/ui/replications")
    response = await admin.post(f"/ui/replications/{policy.id}/replicate", {"confirm": "yes"})
    text = page_text(await admin.get(response.headers["location"]))
    assert (
        f"Execution {running.id + 1} was skipped: Execution skipped: active replication still in progress."
        in text
    )


async def test_a_rule_is_not_deleted_while_it_runs_and_is_deleted_after(
    local_web: WebFerry, admin: Visitor, destination: Registry
) -> None:
    policy = await local_web.store.policies.add(rule("sync-to-aliyun", destination))
    execution = await local_web.services.service.start_execution(policy)
    await admin.get("/ui/replications")
    asked = await admin.post(f"/ui/replications/{policy.id}/delete")
    assert "Do you want to delete rule sync-to-aliyun?" in page_text(asked)

    refused = await admin.post(f"/ui/replications/{policy.id}/delete", {"confirm": "yes"})
    text = page_text(await admin.get(refused.headers["location"]))
    assert (
        "The rule cannot be deleted while it runs: replication rule 'sync-to-aliyun' has a running execution "
        f"({execution.id}) (stop execution {execution.id} and wait for it to end, then delete the rule)"
    ) in text
    assert await local_web.store.policies.find_by_name("sync-to-aliyun") is not None

    await local_web.services.service.stop_execution(execution.id)
    await local_web.services.service.run_until_finished(execution.id)
    deleted = await admin.post(f"/ui/replications/{policy.id}/delete", {"confirm": "yes"})
    assert deleted.headers["location"] == "/ui/replications"
    assert "Rule sync-to-aliyun deleted." in page_text(await admin.get("/ui/replications"))
    assert await local_web.store.policies.find_by_name("sync-to-aliyun") is None


# -- DRY RUN ------------------------------------------------------------------------------------------


async def test_the_dry_run_lists_each_tag_with_its_destination_and_what_a_run_would_do(
    local_web: WebFerry,
    admin: Visitor,
    destination: Registry,
    registry: RegistryServer,
    registry_b: RegistryServer,
) -> None:
    seed(registry, "library/nms4cloud-gateway", "prod-1.0", seed=1)
    seed(registry, "library/nms4cloud-gateway", "v1.0", seed=2)
    seed(registry, "library/nms4cloud-gateway", "test-1", seed=3)
    seed(registry, "library/nms4cloud-portal", "v1.0", seed=4)
    seed(registry_b, "lgy-images/nms4cloud-gateway", "v1.0", seed=2)  # the same image: up to date
    seed(registry_b, "lgy-images/nms4cloud-portal", "v1.0", seed=9)  # other content, override off
    policy = await local_web.store.policies.add(
        rule("sync-to-aliyun", destination, override=False, filters=(Filter(FilterType.TAG, "prod-*, v*"),))
    )
    page = await admin.get(f"/ui/replications/{policy.id}/preview")
    assert page.status_code == 200
    text = page_text(page)
    host = registry_b.host
    assert (
        f"library/nms4cloud-gateway prod-1.0 {host}/lgy-images/nms4cloud-gateway:prod-1.0 would be copied"
        in text
    )
    assert f"library/nms4cloud-gateway v1.0 {host}/lgy-images/nms4cloud-gateway:v1.0 up to date" in text
    assert (
        f"library/nms4cloud-portal v1.0 {host}/lgy-images/nms4cloud-portal:v1.0 skipped: exists "
        "image already exists: lgy-images/nms4cloud-portal:v1.0 (enable override to replace it)"
    ) in text
    assert "test-1" not in text
    assert "A dry run copies nothing." in text
    assert list_tags(registry_b, "lgy-images/nms4cloud-gateway") == ["v1.0"]  # nothing was copied
    assert (await local_web.store.executions.list_executions())[1] == 0


async def test_the_dry_run_of_a_name_filter_that_matches_nothing_suggests_one_that_does(
    local_web: WebFerry, admin: Visitor, destination: Registry, registry: RegistryServer
) -> None:
    seed(registry, "library/nms4cloud-gateway", "v1.0", seed=1)
    policy = await local_web.store.policies.add(
        rule("sync-to-aliyun", destination, filters=(Filter(FilterType.NAME, "nms4cloud-*"),))
    )
    text = page_text(await admin.get(f"/ui/replications/{policy.id}/preview"))
    assert "Nothing would be copied" in text
    assert "Note: name filter 'nms4cloud-*' matches none of the 1 repositories" in text
    assert "'**/nms4cloud-*' would match 1 repository" in text


async def test_the_dry_run_says_why_it_cannot_plan(
    local_web: WebFerry, admin: Visitor, registry: RegistryServer
) -> None:
    unreachable = await endpoint(local_web.store, "gone", "http://127.0.0.1:9")
    seed(registry, "library/app", "v1", seed=1)
    policy = await local_web.store.policies.add(
        rule("to-nowhere", unreachable, dest_namespace="a/b", dest_namespace_replace_count=3)
    )
    text = page_text(await admin.get(f"/ui/replications/{policy.id}/preview"))
    assert "The dry run failed: dest_namespace_replace_count:" in text


# -- the cron helper -----------------------------------------------------------------------------------


async def test_the_cron_helper_shows_the_next_five_runs_in_utc_and_in_the_time_zone(admin: Visitor) -> None:
    fragment = await admin.get("/ui/replications/cron-preview?cron=0+0+2+*+*+*&timezone=Asia/Shanghai")
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    runs = re.findall(
        r"<li><time [^>]*>(\d{4}-\d\d-\d\d 18:00 UTC)</time> · (\d{4}-\d\d-\d\d 02:00) Asia/Shanghai</li>",
        fragment.text,
    )
    assert len(runs) == 5
    wrong = await admin.get("/ui/replications/cron-preview?cron=*+0+2+*+*+*")
    assert "the seconds field is '*'; replication needs 0" in page_text(wrong)


async def test_without_a_script_show_next_runs_returns_the_form_with_them(
    admin: Visitor, destination: Registry
) -> None:
    response = await post_new_rule(
        admin, destination, trigger_type="scheduled", cron="0 0 */6 * * *", action="cron"
    )
    assert response.status_code == 200
    assert len(re.findall(r"<li><time ", response.text)) == 5
    assert re.search(r"\d\d:00 UTC", page_text(response))
    assert field_value(response, "cron") == "0 0 */6 * * *"


# -- Chinese -------------------------------------------------------------------------------------------


async def test_the_screen_speaks_harbors_chinese(
    local_web: WebFerry, admin: Visitor, destination: Registry
) -> None:
    await local_web.store.policies.add(rule("sync-to-aliyun", destination))
    admin.client.headers["Accept-Language"] = "zh-CN"
    listed = page_text(await admin.get("/ui/replications"))
    for word in ("复制管理", "新建规则", "复制 sync-to-aliyun", "基于推送", "手动", "启用", "预览"):
        assert word in listed, word
    form = await admin.get("/ui/replications/new")
    text = page_text(form)
    for word in (
        "名称",
        "复制模式",
        "源Registry",
        "源资源过滤器",
        "目的Registry",
        "目的Namespace",
        "仓库扁平化",
        "触发模式",
        "带宽",
        "覆盖",
        "保存",
    ):
        assert word in text, word
    assert re.search(r'<label for="name">名称</label>', form.text)
    assert re.search(r'<label for="name_filter">名称</label>', form.text)
