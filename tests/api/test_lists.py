"""Harbor's list conventions on a real list: ``X-Total-Count``, ``Link``, ``q``, ``sort``, ``page``,
``page_size``."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import API, BOTH_DATABASES, create_registry, error_message
from tests.support.registry import RegistryServer

NAMES = [f"foo-{index:02}" for index in range(13)] + [f"bar-{index:02}" for index in range(12)]


@pytest.fixture
async def registries(api: httpx.AsyncClient, registry: RegistryServer) -> list[str]:
    """25 registries, all pointing at one real registry (the local one: any registry will do)."""
    for name in NAMES:
        await create_registry(api, name, registry.url)
    return NAMES


def names(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()]


@BOTH_DATABASES
async def test_three_pages_with_total_count_and_links(api: httpx.AsyncClient, registries: list[str]) -> None:
    path = f"{API}/registries"
    first = await api.get(path, params={"page_size": 10})
    assert names(first) == registries[:10]
    assert first.headers["x-total-count"] == "25"
    assert first.headers["link"] == f'<{path}?page=2&page_size=10>; rel="next"'

    second = await api.get(path, params={"page": 2, "page_size": 10})
    assert names(second) == registries[10:20]
    assert second.headers["x-total-count"] == "25"
    assert second.headers["link"] == (
        f'<{path}?page=1&page_size=10>; rel="prev" , <{path}?page=3&page_size=10>; rel="next"'
    )

    third = await api.get(path, params={"page": 3, "page_size": 10})
    assert names(third) == registries[20:]
    assert third.headers["x-total-count"] == "25"
    assert third.headers["link"] == f'<{path}?page=2&page_size=10>; rel="prev"'

    beyond = await api.get(path, params={"page": 4, "page_size": 10})
    assert names(beyond) == []
    assert beyond.headers["x-total-count"] == "25"
    assert "link" not in beyond.headers


async def test_default_page_is_10_and_links_keep_the_other_parameters(
    api: httpx.AsyncClient, registries: list[str]
) -> None:
    response = await api.get(f"{API}/registries", params={"sort": "name"})
    assert names(response) == sorted(registries)[:10]
    assert response.headers["link"] == f'<{API}/registries?page=2&page_size=10&sort=name>; rel="next"'
    everything = await api.get(f"{API}/registries", params={"page_size": 100})
    assert names(everything) == registries
    assert "link" not in everything.headers


async def test_q_fuzzy_match_and_sort_descending(api: httpx.AsyncClient, registries: list[str]) -> None:
    response = await api.get(f"{API}/registries", params={"q": "name=~foo", "sort": "-name", "page_size": 5})
    foos = sorted((name for name in registries if name.startswith("foo")), reverse=True)
    assert names(response) == foos[:5]
    assert response.headers["x-total-count"] == "13"
    assert response.headers["link"] == (
        f'<{API}/registries?page=2&page_size=5&q=name=~foo&sort=-name>; rel="next"'
    )
    exact = await api.get(f"{API}/registries", params={"q": "name=bar-03"})
    assert names(exact) == ["bar-03"]
    assert exact.headers["x-total-count"] == "1"
    any_of = await api.get(f"{API}/registries", params={"q": "name={bar-01 foo-02}", "sort": "name"})
    assert names(any_of) == ["bar-01", "foo-02"]
    by_status = await api.get(f"{API}/registries", params={"q": "status=healthy", "page_size": 1})
    assert by_status.headers["x-total-count"] == "25"


@pytest.mark.parametrize(
    ("params", "start"),
    [
        ({"page_size": "101"}, "page_size: 101 is more than 100"),
        ({"page_size": "0"}, "page_size"),
        ({"page": "0"}, "page"),
        ({"page": "two"}, "page"),
        ({"q": "colour=blue"}, "q: unknown field 'colour'"),
        ({"q": "name"}, "q: "),
        ({"sort": "colour"}, "sort: unknown field 'colour'"),
        ({"q": "id=~1"}, "q: "),
    ],
)
async def test_bad_list_parameters_are_400_naming_the_parameter(
    api: httpx.AsyncClient, params: dict[str, str], start: str
) -> None:
    for path in ("/registries", "/replication/policies", "/replication/executions"):
        response = await api.get(f"{API}{path}", params=params)
        assert error_message(response, 400, "BAD_REQUEST").startswith(start), path
