"""The OpenAPI document at its stable path lists every operation of Harbor's replication API
(harbor-replication.md §5) that ferry serves."""

from __future__ import annotations

import httpx

from tests.api.conftest import API

HARBOR_OPERATIONS = {
    "/registries": {"get", "post"},
    "/registries/{id}": {"get", "put", "delete"},
    "/registries/ping": {"post"},
    "/registries/{id}/info": {"get"},
    "/replication/adapters": {"get"},
    "/replication/adapterinfos": {"get"},
    "/replication/policies": {"get", "post"},
    "/replication/policies/{id}": {"get", "put", "delete"},
    "/replication/executions": {"get", "post"},
    "/replication/executions/{id}": {"get", "put"},
    "/replication/executions/{id}/tasks": {"get"},
    "/replication/executions/{id}/tasks/{task_id}/log": {"get"},
}


async def test_the_openapi_document_lists_every_harbor_operation(api: httpx.AsyncClient) -> None:
    response = await api.get(f"{API}/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for path, methods in HARBOR_OPERATIONS.items():
        assert f"{API}{path}" in paths, path
        assert methods <= set(paths[f"{API}{path}"]), path
    # ferry's own additions are documented too
    assert {"get", "post"} <= set(paths[f"{API}/tokens"])
    assert "delete" in paths[f"{API}/tokens/{{id}}"]
    assert "post" in paths[f"{API}/replication/executions/{{id}}/retry"]
    assert "get" in paths[f"{API}/health"]


async def test_the_documented_parameters_are_harbors(api: httpx.AsyncClient) -> None:
    paths = (await api.get(f"{API}/openapi.json")).json()["paths"]

    def parameters(path: str) -> set[str]:
        return {item["name"] for item in paths[f"{API}{path}"]["get"].get("parameters", [])}

    assert {"q", "sort", "page", "page_size"} <= parameters("/registries")
    assert {"q", "sort", "page", "page_size"} <= parameters("/replication/policies")
    assert {"policy_id", "status", "trigger", "page", "page_size"} <= parameters("/replication/executions")
    assert {"status", "resource_type", "page", "page_size"} <= parameters(
        "/replication/executions/{id}/tasks"
    )
