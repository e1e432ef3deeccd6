"""What the API answers, described for the OpenAPI document (``/api/v2.0/openapi.json``).

``views`` builds every JSON body; the models here only describe those shapes, field for field, so
that the document tells clients (Harbor's generated ones, schemathesis) exactly what comes back.
They are never used to build or validate a response: routes return ``JSONResponse`` objects,
which FastAPI passes through untouched. Names follow Harbor's swagger definitions
(``Registry``, ``ReplicationPolicy``, ``ReplicationExecution``, ...).

``extra="forbid"`` makes each object schema closed (``additionalProperties: false``), so a field
added to ``views`` but not here shows up as a schema violation in the API tests.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ferry.api.errors import ErrorCode


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- errors ---------------------------------------------------------------------------------------


class Error(Shape):
    code: ErrorCode
    message: str


class Errors(Shape):
    """Harbor's error body: ``{"errors": [{"code": ..., "message": ...}]}``."""

    errors: list[Error]


_ERROR_DESCRIPTIONS = {
    400: "The request is invalid: a parameter or a body field (named in the message) must change",
    401: "No credentials, or wrong ones (WWW-Authenticate names the scheme)",
    403: "Signed in, but not allowed to do this",
    404: "No such resource",
    409: "The name is taken",
    412: "The resource is in use (a rule uses the registry, an execution runs, the rule is disabled)",
    429: "Too many failed sign-ins from this address; Retry-After says when to try again",
    500: "Unexpected error; the server log has the details",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the given error statuses, each with Harbor's ``Errors`` body.
    Every signed-in route can answer 401, 429 and 500, so those are always included."""
    wanted = sorted({*statuses, 401, 429, 500})
    described: dict[int | str, dict[str, Any]] = {}
    for status in wanted:
        entry: dict[str, Any] = {"model": Errors, "description": _ERROR_DESCRIPTIONS[status]}
        if status == 401:
            entry["headers"] = {"WWW-Authenticate": _header("The authentication scheme: Basic")}
        elif status == 429:
            entry["headers"] = {"Retry-After": _header("Seconds to wait before signing in again")}
        described[status] = entry
    return described


PUBLIC_ERRORS: dict[int | str, dict[str, Any]] = {
    500: {"model": Errors, "description": _ERROR_DESCRIPTIONS[500]}
}
"""For the routes that need no sign-in."""


def _header(description: str, *, kind: str = "string") -> dict[str, Any]:
    return {"description": description, "schema": {"type": kind}}


def created(what: str) -> dict[int | str, dict[str, Any]]:
    """A 201 with an empty body and ``Location: /api/v2.0/<path>/<id>``."""
    return {
        201: {
            "description": f"{what} created; Location is its path",
            "headers": {"Location": _header(f"The new {what.lower()}'s path, ending in its id")},
        }
    }


def listed(what: str) -> dict[int | str, dict[str, Any]]:
    """Harbor's list headers on a 200."""
    return {
        200: {
            "description": f"One page of {what}",
            "headers": {
                "X-Total-Count": _header("How many items match, on all pages", kind="integer"),
                "Link": _header('Neighbouring pages: <url>; rel="prev" , <url>; rel="next"'),
            },
        }
    }


def done(what: str) -> dict[int | str, dict[str, Any]]:
    """A 200 with an empty body."""
    return {200: {"description": what}}


# --- registries -----------------------------------------------------------------------------------


class RegistryCredential(Shape):
    type: str = Field(description="basic or oauth")
    access_key: str
    access_secret: str = Field(description='"*****" when a secret is stored, else ""')


class ProviderSettings(Shape):
    openapi_endpoint: str | None = Field(
        description="Alibaba ACR: the OpenAPI base URL (default from the region)"
    )
    region: str | None = Field(description="Alibaba ACR: the region, when the host does not name it")
    instance_id: str | None = Field(description="Alibaba ACR enterprise: the cri-… instance id")
    create_namespace: bool | None = Field(
        description="Create missing destination namespaces (ACR) or projects (Harbor); "
        "null: the provider's default"
    )
    drop_attestations: bool | None = Field(
        description="Drop empty-config attestation manifests from pushed indexes; null: on for ACR"
    )


class Registry(Shape):
    id: int = Field(description="0 is the local registry")
    name: str
    description: str
    type: str = Field(description="The provider type, one of /replication/adapters")
    url: str
    credential: RegistryCredential
    insecure: bool
    ca_certificate: str
    provider_settings: ProviderSettings = Field(description="ferry's provider settings (not Harbor's)")
    status: str = Field(description="healthy, unhealthy or unknown")
    creation_time: datetime | None
    update_time: datetime | None


class FilterStyle(Shape):
    type: str
    style: str
    values: list[str] | None = None


class RegistryInfo(Shape):
    type: str
    description: str
    supported_resource_filters: list[FilterStyle]
    supported_triggers: list[str]
    supported_copy_by_chunk: bool


class RegistryEndpoint(Shape):
    key: str
    value: str


class RegistryProviderEndpointPattern(Shape):
    endpoint_type: str
    endpoints: list[RegistryEndpoint]


class RegistryProviderCredentialPattern(Shape):
    access_key_type: str | None = None
    access_key_data: str | None = None
    access_secret_type: str | None = None
    access_secret_data: str | None = None


class RegistryProviderInfo(Shape):
    endpoint_pattern: RegistryProviderEndpointPattern | None
    credential_pattern: RegistryProviderCredentialPattern | None


# --- policies -------------------------------------------------------------------------------------


class ReplicationFilter(Shape):
    type: str = Field(description="name, tag, label or resource")
    value: str | list[str] = Field(description="A pattern; a list of labels for label filters")
    decoration: str | None = Field(default=None, description="matches or excludes")


class ReplicationTriggerSettings(Shape):
    cron: str
    timezone: str | None = Field(default=None, description="ferry: the cron's IANA time zone (else UTC)")
    poll_interval: int | None = Field(
        default=None,
        description="ferry: seconds between two looks at an event_based rule's source (0: never); "
        "absent is the default, 300 for a remote source",
    )


class ReplicationTrigger(Shape):
    type: str = Field(description="manual, scheduled or event_based")
    trigger_settings: ReplicationTriggerSettings


class ReplicationPolicy(Shape):
    id: int
    name: str
    description: str
    creator: str
    src_registry: Registry | None
    dest_registry: Registry | None
    dest_namespace: str
    dest_namespace_replace_count: int
    trigger: ReplicationTrigger
    filters: list[ReplicationFilter]
    deletion: bool
    replicate_deletion: bool = Field(description="The same setting as deletion")
    override: bool
    enabled: bool
    speed: int = Field(description="Kbit/s; 0 is unlimited")
    copy_by_chunk: bool
    single_active_replication: bool
    creation_time: datetime | None
    update_time: datetime | None
    next_scheduled_time: datetime | None = Field(
        description="ferry: the next run of an enabled scheduled rule (UTC); null for other rules"
    )


# --- executions and tasks -------------------------------------------------------------------------


class ReplicationExecution(Shape):
    id: int
    policy_id: int
    status: str = Field(description="InProgress, Succeed, Failed or Stopped")
    status_text: str
    trigger: str = Field(description="manual, scheduled or event_based")
    total: int
    succeed: int
    failed: int
    in_progress: int
    stopped: int
    start_time: datetime | None
    end_time: datetime | None
    bytes_copied: int = Field(description="ferry: bytes sent to the destination")


class ReplicationTask(Shape):
    id: int
    execution_id: int
    job_id: str
    status: str = Field(description="Pending, InProgress, Succeed, Failed or Stopped")
    status_text: str
    operation: str = Field(description="copy, deletion or tag deletion")
    resource_type: str
    src_resource: str
    dst_resource: str
    start_time: datetime | None
    end_time: datetime | None
    attempts: int = Field(description="ferry: how many times the task ran")
    bytes_copied: int = Field(description="ferry")
    copied: int = Field(description="ferry: references copied")
    up_to_date: int = Field(description="ferry: references the destination already had")
    skipped_exists: int = Field(description="ferry: references skipped because override is off")
    items_failed: int = Field(description="ferry: references that failed")
    deleted: int = Field(description="ferry: references a deletion task deleted at the destination")


# --- system ---------------------------------------------------------------------------------------


class ComponentHealthStatus(Shape):
    name: str
    status: str = Field(description="healthy or unhealthy")


class OverallHealthStatus(Shape):
    status: str = Field(description="healthy when every component is")
    components: list[ComponentHealthStatus]


class Token(Shape):
    id: int
    name: str
    creation_time: datetime | None
    last_used_time: datetime | None


class TokenCreated(Shape):
    id: int
    name: str
    token: str = Field(description="The token itself, shown only in this response")


# --- cron -----------------------------------------------------------------------------------------


class CronPreview(Shape):
    cron: str = Field(description="The expression with single spaces")
    timezone: str | None = Field(description="The IANA time zone it is read in; null is UTC")
    next_runs: list[datetime] = Field(description="The next runs, in UTC")
