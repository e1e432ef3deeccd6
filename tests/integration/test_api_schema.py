"""ferry's OpenAPI document against the live server, with schemathesis (a client and fuzzer we did
not write): no 5xx, every status and body as documented, invalid input answered with 400.

The server is seeded first (a real destination registry, a rule, a finished execution with a task
and a log), so that lists and lookups return real objects rather than only empty arrays and 404s.
``test_seeded_objects_match_the_document`` checks those objects' responses one by one;
``test_api_conforms_to_its_document`` then lets schemathesis generate valid and invalid requests
for every operation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.blobs import BlobSpec
from tests.support.ferry_server import FerryServer
from tests.support.images import build_image, push_image
from tests.support.net import wait_until
from tests.support.registry import RegistryServer, start_registry

API = "/api/v2.0"
LOG = "/replication/executions/{id}/tasks/{task_id}/log"
RESPONSE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Deliberately not run: ``ignored_auth`` sends wrong credentials to every operation, and after five
# failures ferry answers 429 to that address for a while (auth.throttle.SignInThrottle), which would
# turn the rest of the run into 429s; test_api_clients covers 401 and 429 instead.

MAX_EXAMPLES = 20
"""Per operation and generation mode: about 1,000 requests in all."""
SCHEMATHESIS_CONFIG: dict[str, Any] = {
    # Invalid input must be answered with 400 (Harbor's BAD_REQUEST), never 422 or 5xx.
    "checks": {"negative_data_rejection": {"expected-statuses": [400]}},
    # Sign in as admin on every request; never generate (wrong) Authorization headers, which
    # the sign-in throttle would count against this address.
    "generation": {"with-security-parameters": False},
}


@dataclass(frozen=True)
class Seeded:
    registry_id: int
    policy_id: int
    execution_id: int
    task_id: int


def _created_id(reply: httpx.Response) -> int:
    assert reply.status_code == 201, reply.text
    return int(reply.headers["Location"].rsplit("/", 1)[1])


@pytest.fixture(scope="module")
def destination(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    with start_registry(tmp_path_factory.mktemp("schema_destination")) as server:
        yield server


@pytest.fixture(scope="module")
def seeded(ferry_server: FerryServer, destination: RegistryServer) -> Seeded:
    push_image(ferry_server.local_registry, "library/seed", "v1", build_image([BlobSpec(3_000, seed=5)]))
    with ferry_server.client() as api:
        registry_id = _created_id(
            api.post("/registries", json={"name": "seed", "type": "docker-registry", "url": destination.url})
        )
        policy_id = _created_id(
            api.post(
                "/replication/policies",
                json={
                    "name": "seed",
                    "src_registry": {"id": 0},
                    "dest_registry": {"id": registry_id},
                    "dest_namespace": "mirror",
                    "filters": [
                        {"type": "name", "value": "library/**"},
                        {"type": "tag", "value": "v*", "decoration": "matches"},
                        {"type": "label", "value": ["team=a"], "decoration": "excludes"},
                    ],
                    "trigger": {"type": "manual"},
                },
            )
        )
        execution_id = _created_id(api.post("/replication/executions", json={"policy_id": policy_id}))

        def finished() -> bool | None:
            status = api.get(f"/replication/executions/{execution_id}").json()["status"]
            return None if status == "InProgress" else status == "Succeed"

        assert wait_until(finished, timeout=120, interval=0.2, what="the seed execution"), (
            ferry_server.log_tail()
        )
        tasks = api.get(f"/replication/executions/{execution_id}/tasks").json()
        _created_id(api.post("/tokens", json={"name": "seed"}))  # so that GET /tokens lists one
    return Seeded(registry_id, policy_id, execution_id, tasks[0]["id"])


def _load(server: FerryServer, **config: Any) -> schemathesis.schemas.BaseSchema:
    return schemathesis.openapi.from_url(
        f"{server.api}/openapi.json",
        config=schemathesis.Config.from_dict({"base-url": server.url, **config}),
        timeout=30,
    )


def test_seeded_objects_match_the_document(ferry_server: FerryServer, seeded: Seeded) -> None:
    schema = _load(ferry_server)
    admin = httpx.Client(base_url=ferry_server.url + API, auth=ferry_server.auth, timeout=30)
    anonymous = httpx.Client(base_url=ferry_server.url + API, timeout=30)
    execution, task = seeded.execution_id, seeded.task_id
    taken_name = {"name": "seed", "dest_registry": {"id": seeded.registry_id}}
    # (method, documented path, path parameters, expected status, how to send it)
    requests: list[tuple[str, str, dict[str, int], int, Callable[[str], httpx.Response]]] = [
        ("GET", "/health", {}, 200, anonymous.get),
        ("GET", "/ping", {}, 200, anonymous.get),
        ("GET", "/replication/adapters", {}, 200, admin.get),
        ("GET", "/replication/adapterinfos", {}, 200, admin.get),
        ("GET", "/tokens", {}, 200, admin.get),
        ("GET", "/registries", {}, 200, admin.get),
        ("GET", "/registries", {}, 401, anonymous.get),
        ("GET", "/registries", {}, 400, lambda url: admin.get(url, params={"sort": "nope"})),
        ("GET", "/registries/{id}", {"id": seeded.registry_id}, 200, admin.get),
        ("GET", "/registries/{id}", {"id": 987654}, 404, admin.get),
        ("GET", "/registries/{id}/info", {"id": 0}, 200, admin.get),
        ("DELETE", "/registries/{id}", {"id": seeded.registry_id}, 412, admin.delete),
        ("GET", "/replication/policies", {}, 200, admin.get),
        ("GET", "/replication/policies/{id}", {"id": seeded.policy_id}, 200, admin.get),
        ("POST", "/replication/policies", {}, 409, lambda url: admin.post(url, json=taken_name)),
        ("GET", "/replication/executions", {}, 200, admin.get),
        ("GET", "/replication/executions/{id}", {"id": execution}, 200, admin.get),
        ("GET", "/replication/executions/{id}/tasks", {"id": execution}, 200, admin.get),
        ("PUT", "/replication/executions/{id}", {"id": execution}, 200, lambda url: admin.put(url, json={})),
        ("GET", LOG, {"id": execution, "task_id": task}, 200, admin.get),
        ("GET", LOG, {"id": execution, "task_id": 987654}, 404, admin.get),
    ]
    with admin, anonymous:
        for method, path, parameters, expected, send in requests:
            reply = send(path.format(**parameters))
            assert reply.status_code == expected, (method, path, reply.status_code, reply.text)
            case = schema[API + path][method].Case(path_parameters=parameters)
            case.validate_response(reply, checks=RESPONSE_CHECKS)
            if reply.status_code == 200 and reply.headers.get("content-type", "").startswith(
                "application/json"
            ):
                assert reply.json(), f"{method} {path} answered an empty document; the seed did not work"


def test_api_conforms_to_its_document(ferry_server: FerryServer, seeded: Seeded) -> None:
    """Every operation of the live document, with valid (positive) and invalid (negative) requests.

    schemathesis 4.32's pytest integration for schemas that come from a fixture
    (``schemathesis.pytest.from_fixture``) reads ``Function._nodeid``, which pytest 9.2 no longer
    has; so each operation runs here as a Hypothesis test over ``APIOperation.as_strategy`` (the
    documented way to use schemathesis outside its own test runner), and every failing operation
    is reported at the end rather than only the first.
    """
    admin = {"basic": {"username": ferry_server.username, "password": ferry_server.password}}
    schema = _load(ferry_server, auth=admin, **SCHEMATHESIS_CONFIG)
    failures: dict[str, str] = {}
    operations = []
    for index, result in enumerate(schema.get_all_operations()):
        if isinstance(result, Ok):
            operations.append(result.ok())
        else:
            failures[f"operation {index} cannot be read"] = str(result.err())
    assert len(operations) >= 25, [operation.label for operation in operations]
    for operation in operations:
        for mode in GenerationMode:
            if mode is GenerationMode.NEGATIVE and not _has_inputs(operation):
                continue  # nothing to make invalid

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def conforms(case: schemathesis.Case[Any]) -> None:
                case.call_and_validate(checks=[*RESPONSE_CHECKS, negative_data_rejection])

            try:
                conforms()
            except (Exception, BaseExceptionGroup) as exc:  # schemathesis reports failures in a group
                failures[f"{operation.label} ({mode.value})"] = _describe(exc)[:4000]
    assert not failures, "\n\n".join(f"=== {label}\n{text}" for label, text in failures.items())


def _describe(exc: BaseException) -> str:
    """The failures schemathesis found and Hypothesis's notes (the falsifying example, the seed)."""
    parts = [str(exc)]  # a FailureGroup's text is schemathesis's full report, with a curl command
    if isinstance(exc, BaseExceptionGroup) and not isinstance(exc, FailureGroup):
        parts = [_describe(inner) for inner in exc.exceptions]  # Hypothesis: one per distinct failure
    return "\n".join([*parts, *getattr(exc, "__notes__", [])])


def _has_inputs(operation: APIOperation[Any, Any, Any, Any]) -> bool:
    parameters = [item for item in operation.iter_parameters() if item.name != "Authorization"]
    return bool(parameters) or bool(operation.body)


def test_fuzzing_did_not_lock_the_admin_out(ferry_server: FerryServer) -> None:
    """Had schemathesis sent wrong credentials, the sign-in throttle would now refuse everyone here."""
    with ferry_server.client() as admin:
        assert admin.get("/registries").status_code == 200
