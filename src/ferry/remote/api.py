"""ferry's REST API as calls: registries, policies, executions, tasks, logs and tokens. Values are
the JSON Harbor's API shows (``dict``), so the command line renders what any client would see.

Registries and policies are addressed by name or id: a name is looked up exactly (``q=name=...``
when the name survives Harbor's query syntax, else by listing), then an all-digit reference that
names nothing is taken as an id.
"""

from __future__ import annotations

from typing import Any

from ferry.errors import InvalidInput, RecordNotFound
from ferry.remote.client import ApiClient
from ferry.replication.domain.registry import LOCAL_REGISTRY_ID, LOCAL_REGISTRY_NAME

Json = dict[str, Any]
FINAL_STATUSES = frozenset({"Succeed", "Failed", "Stopped"})
"""Harbor's words for an execution or task that has ended."""

_Q_SPECIAL = (",", "%", "+", "\\")
"""Characters Harbor's ``q`` parser splits on or decodes a second time: such names are found by
listing everything instead."""


class FerryApi:
    def __init__(self, client: ApiClient) -> None:
        self.client = client

    @property
    def url(self) -> str:
        return self.client.url

    # registries

    def list_registries(self) -> list[Json]:
        return self.client.list_all("/registries")

    def find_registry(self, name: str) -> Json | None:
        return self._find("/registries", name)

    def get_registry(self, reference: str | int) -> Json:
        return self._resolve("/registries", reference, noun="registry", listing="ferry registry list")

    def create_registry(self, body: Json) -> int:
        return self.client.request("POST", "/registries", body=body).created_id()

    def update_registry(self, registry_id: int, body: Json) -> None:
        self.client.request("PUT", f"/registries/{registry_id}", body=body)

    def delete_registry(self, registry_id: int) -> None:
        self.client.request("DELETE", f"/registries/{registry_id}")

    def ping_registry(self, registry_id: int) -> None:
        """Returns when the registry answers and takes its credential; else ``InvalidInput`` with
        the server's ``Failed to ping endpoint: ...`` message."""
        self.client.request("POST", "/registries/ping", body={"id": registry_id})

    def registry_id(self, name: str) -> int:
        """The id of a registry by name; ``Local`` is 0."""
        if name == LOCAL_REGISTRY_NAME:
            return LOCAL_REGISTRY_ID
        return int(self.get_registry(name)["id"])

    # policies

    def list_policies(self) -> list[Json]:
        return self.client.list_all("/replication/policies")

    def find_policy(self, name: str) -> Json | None:
        return self._find("/replication/policies", name)

    def get_policy(self, reference: str | int) -> Json:
        return self._resolve(
            "/replication/policies", reference, noun="replication rule", listing="ferry policy list"
        )

    def create_policy(self, body: Json) -> int:
        return self.client.request("POST", "/replication/policies", body=body).created_id()

    def update_policy(self, policy_id: int, body: Json) -> None:
        self.client.request("PUT", f"/replication/policies/{policy_id}", body=body)

    def delete_policy(self, policy_id: int) -> None:
        self.client.request("DELETE", f"/replication/policies/{policy_id}")

    # executions and tasks

    def start_execution(self, policy_id: int) -> int:
        reply = self.client.request("POST", "/replication/executions", body={"policy_id": policy_id})
        return reply.created_id()

    def get_execution(self, execution_id: int) -> Json:
        found: Json = self.client.get(f"/replication/executions/{execution_id}")
        return found

    def list_executions(self, *, policy_id: int | None = None, limit: int = 100) -> tuple[list[Json], int]:
        """The newest ``limit`` executions (at most 100) and how many there are in all."""
        params: dict[str, str | int] = {"page": 1, "page_size": max(1, min(limit, 100))}
        if policy_id is not None:
            params["policy_id"] = policy_id
        reply = self.client.request("GET", "/replication/executions", params=params)
        items: list[Json] = reply.json() or []
        return items, int(reply.headers.get("x-total-count", len(items)))

    def stop_execution(self, execution_id: int) -> None:
        self.client.request("PUT", f"/replication/executions/{execution_id}", body={})

    def retry_execution(self, execution_id: int) -> int:
        """ferry's extension: a new execution with the failed and stopped tasks."""
        return self.client.request("POST", f"/replication/executions/{execution_id}/retry").created_id()

    def list_tasks(self, execution_id: int) -> list[Json]:
        return self.client.list_all(f"/replication/executions/{execution_id}/tasks")

    def get_task(self, execution_id: int, task_id: int) -> Json:
        found = self.client.get(f"/replication/executions/{execution_id}/tasks", q=f"id={task_id}")
        if not found:
            raise RecordNotFound(
                f"execution {execution_id} has no task {task_id}",
                hint=f"list its tasks with `ferry executions show {execution_id}`",
            )
        task: Json = found[0]
        return task

    def task_log(self, execution_id: int, task_id: int, *, after: int = 0) -> tuple[str, int]:
        """Log text after the cursor ``after``, and the cursor to pass next time."""
        reply = self.client.request(
            "GET",
            f"/replication/executions/{execution_id}/tasks/{task_id}/log",
            params={"after": after} if after else None,
        )
        cursor = reply.headers.get("x-log-cursor", "")
        return reply.text, int(cursor) if cursor.isdigit() else after

    # tokens

    def create_token(self, name: str) -> Json:
        created: Json = self.client.request("POST", "/tokens", body={"name": name}).json()
        return created

    def revoke_token(self, token_id: int) -> None:
        self.client.request("DELETE", f"/tokens/{token_id}")

    # lookup by name or id

    def _find(self, path: str, name: str) -> Json | None:
        if name and not name.startswith(("~", "[", "{", "(")) and not any(c in name for c in _Q_SPECIAL):
            candidates = self.client.list_all(path, q=f"name={name}")
        else:
            candidates = self.client.list_all(path)
        return next((item for item in candidates if item.get("name") == name), None)

    def _resolve(self, path: str, reference: str | int, *, noun: str, listing: str) -> Json:
        text = str(reference).strip()
        if not text:
            raise InvalidInput(f"give the {noun}'s name or id", hint=f"see `{listing}`")
        found = None if isinstance(reference, int) else self._find(path, text)
        if found is not None:
            return found
        if text.isdigit():
            try:
                by_id: Json = self.client.get(f"{path}/{int(text)}")
                return by_id
            except RecordNotFound:
                raise RecordNotFound(
                    f"no {noun} named {text!r} or with id {text}", hint=f"see them with `{listing}`"
                ) from None
        raise RecordNotFound(f"no {noun} named {text!r}", hint=f"see the names with `{listing}`")
