"""Request bodies with Harbor's field names. Unknown fields and wrong JSON types are refused (400
naming the field); the values themselves are checked by the domain (``validate_registry``,
``validate_policy``), whose errors name the field too.

Clients often send back what a GET returned (Harbor's generated clients do), so the read-only
fields of a response (``id``, ``status``, times, the full registry objects inside a policy) are
accepted and ignored rather than refused.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ferry.replication.domain.fields import InvalidField, enum_member
from ferry.replication.domain.policy import Decoration, Filter, FilterType, Policy, Trigger
from ferry.replication.domain.registry import (
    LOCAL_REGISTRY_ID,
    SECRET_MASK,
    Credential,
    CredentialType,
    ProviderSettings,
    Registry,
    RegistryType,
)
from ferry.replication.domain.status import TriggerType
from ferry.replication.naming import FLATTEN_ALL

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

Int64 = Annotated[int, Field(ge=INT64_MIN, lt=INT64_MAX + 1)]
"""An id in a body: Harbor's ids are int64, and the database refuses (500) anything wider. The bound
is exclusive because FastAPI writes body bounds into the OpenAPI document as floats, where 2**63 - 1
would round up to 2**63."""


def whole_number(value: object) -> object:
    """Path and query numbers written as digits only: pydantic's lax mode would read "+0.0" as 0."""
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9]+", value):
        raise ValueError("must be a whole number written in digits")
    return value


Digits = BeforeValidator(whole_number)
IdPath = Annotated[int, Digits, Path(ge=INT64_MIN, le=INT64_MAX, description="The resource's id")]
TaskIdPath = Annotated[int, Digits, Path(ge=INT64_MIN, le=INT64_MAX, description="The task's id")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ProviderSettingsBody(Body):
    """ferry's ``provider_settings`` of a registry endpoint (none of them is Harbor's)."""

    openapi_endpoint: str | None = None
    region: str | None = None
    instance_id: str | None = None
    create_namespace: bool | None = None
    drop_attestations: bool | None = None

    def to_settings(self) -> ProviderSettings:
        return ProviderSettings(
            openapi_endpoint=self.openapi_endpoint,
            region=self.region,
            instance_id=self.instance_id,
            create_namespace=self.create_namespace,
            drop_attestations=self.drop_attestations,
        )


class CredentialBody(Body):
    type: str = CredentialType.BASIC.value
    access_key: str = ""
    access_secret: str = ""


class RegistryBody(Body):
    """``POST /registries``."""

    name: str
    type: str
    url: str
    description: str = ""
    credential: CredentialBody | None = None
    insecure: bool = False
    ca_certificate: str | None = None
    provider_settings: ProviderSettingsBody | None = None
    id: Int64 | None = None
    status: str | None = None
    creation_time: str | None = None
    update_time: str | None = None

    def to_registry(self, *, now: datetime) -> Registry:
        credential = None
        if self.credential is not None:
            credential = Credential(
                enum_member("credential.type", CredentialType, self.credential.type),
                self.credential.access_key,
                self.credential.access_secret,
            )
        return Registry(
            id=1,
            name=self.name,
            type=enum_member("type", RegistryType, self.type),
            url=self.url,
            credential=credential,
            insecure=self.insecure,
            ca_certificate=self.ca_certificate,
            description=self.description,
            settings=self.provider_settings.to_settings() if self.provider_settings else ProviderSettings(),
            creation_time=now,
            update_time=now,
        )


class EndpointFieldsBody(Body):
    """The fields of Harbor's flat registry bodies (``PUT /registries/{id}``, ``POST
    /registries/ping``) that say how to reach an endpoint; all optional. An ``access_secret`` of
    ``*****`` (what a GET shows) keeps the stored secret; ``provider_settings``, when given,
    replaces the stored settings as a whole."""

    url: str | None = None
    credential_type: str | None = None
    access_key: str | None = None
    access_secret: str | None = None
    insecure: bool | None = None
    ca_certificate: str | None = None
    provider_settings: ProviderSettingsBody | None = None

    def settings_for(self, stored: Registry) -> ProviderSettings:
        return stored.settings if self.provider_settings is None else self.provider_settings.to_settings()


class RegistryUpdateBody(EndpointFieldsBody):
    """``PUT /registries/{id}``: Harbor's flat body, every field optional."""

    name: str | None = None
    description: str | None = None

    def apply_to(self, stored: Registry, *, now: datetime) -> Registry:
        old = stored.credential or Credential()
        credential = Credential(
            enum_member("credential_type", CredentialType, self.credential_type or old.type.value),
            old.access_key if self.access_key is None else self.access_key,
            _secret(self.access_secret, old.access_secret),
        )
        return Registry(
            id=stored.id,
            name=stored.name if self.name is None else self.name,
            type=stored.type,
            url=stored.url if self.url is None else self.url,
            credential=credential,
            insecure=stored.insecure if self.insecure is None else self.insecure,
            ca_certificate=stored.ca_certificate if self.ca_certificate is None else self.ca_certificate,
            description=stored.description if self.description is None else self.description,
            status=stored.status,
            settings=self.settings_for(stored),
            creation_time=stored.creation_time,
            update_time=now,
        )


class RegistryPingBody(EndpointFieldsBody):
    """``POST /registries/ping``: an endpoint to test, or a stored one (``id``) with overrides."""

    id: Int64 | None = None
    type: str | None = None
    name: str | None = None

    def to_registry(self, stored: Registry | None, *, now: datetime) -> Registry:
        if stored is None:
            if self.url is None:
                raise InvalidField(
                    "url", "field required", hint="give the endpoint URL, or the id of a registry"
                )
            body = RegistryBody(
                name=self.name or "ping",
                type=self.type or RegistryType.DOCKER_REGISTRY.value,
                url=self.url,
                credential=CredentialBody(
                    type=self.credential_type or CredentialType.BASIC.value,
                    access_key=self.access_key or "",
                    access_secret=self.access_secret or "",
                ),
                insecure=bool(self.insecure),
                ca_certificate=self.ca_certificate,
                provider_settings=self.provider_settings,
            )
            return body.to_registry(now=now)
        fields = self.model_dump(exclude={"id", "type", "name"}, exclude_unset=True)
        if self.provider_settings is not None:
            fields["provider_settings"] = self.provider_settings
        return RegistryUpdateBody(**fields).apply_to(stored, now=now)


def _secret(given: str | None, stored: str) -> str:
    return stored if given is None or given == SECRET_MASK else given


class RegistryRefBody(Body):
    """A registry inside a policy body: only ``id`` counts; the rest is what a GET returned."""

    id: Int64 | None = None
    name: str | None = None
    description: str | None = None
    type: str | None = None
    url: str | None = None
    credential: dict[str, Any] | None = None
    insecure: bool | None = None
    ca_certificate: str | None = None
    provider_settings: dict[str, Any] | None = None
    status: str | None = None
    creation_time: str | None = None
    update_time: str | None = None


class FilterBody(Body):
    type: str
    value: str | list[str] = ""
    decoration: str | None = None


class TriggerSettingsBody(Body):
    cron: str = ""
    timezone: str | None = None
    """ferry's addition: an IANA zone for the cron (Harbor evaluates it in UTC)."""
    poll_interval: int | None = None
    """ferry's addition: seconds between two looks at an event-based policy's source; 0 is never."""


class TriggerBody(Body):
    type: str = TriggerType.MANUAL.value
    trigger_settings: TriggerSettingsBody | None = None


class PolicyBody(Body):
    """``POST``/``PUT /replication/policies``. A missing or ``id: 0`` registry is the local one."""

    name: str
    description: str = ""
    creator: str | None = None
    src_registry: RegistryRefBody | None = None
    dest_registry: RegistryRefBody | None = None
    dest_namespace: str = ""
    dest_namespace_replace_count: int = FLATTEN_ALL
    trigger: TriggerBody | None = None
    filters: list[FilterBody] | None = None
    deletion: bool | None = None
    replicate_deletion: bool | None = None
    override: bool = True
    enabled: bool = True
    speed: int = 0
    copy_by_chunk: bool = False
    single_active_replication: bool = False
    id: Int64 | None = None
    creation_time: str | None = None
    update_time: str | None = None
    next_scheduled_time: str | None = None

    def to_policy(self, *, creator: str, now: datetime) -> Policy:
        deletion = self.deletion
        if deletion is None:
            deletion = bool(self.replicate_deletion)
        elif self.replicate_deletion is not None and self.replicate_deletion != deletion:
            raise InvalidField(
                "replicate_deletion",
                "contradicts deletion",
                hint="give one of deletion and replicate_deletion (they are the same setting)",
            )
        return Policy(
            id=0,
            name=self.name,
            description=self.description,
            creator=self.creator or creator,
            src_registry_id=_registry_id("src_registry", self.src_registry),
            dest_registry_id=_registry_id("dest_registry", self.dest_registry),
            dest_namespace=self.dest_namespace,
            dest_namespace_replace_count=self.dest_namespace_replace_count,
            filters=tuple(
                _filter(f"filters[{index}]", item) for index, item in enumerate(self.filters or [])
            ),
            trigger=_trigger(self.trigger),
            deletion=deletion,
            override=self.override,
            enabled=self.enabled,
            speed=self.speed,
            copy_by_chunk=self.copy_by_chunk,
            single_active_replication=self.single_active_replication,
            creation_time=now,
            update_time=now,
        )


def _registry_id(field: str, ref: RegistryRefBody | None) -> int:
    if ref is None:
        return LOCAL_REGISTRY_ID
    if ref.id is None:
        raise InvalidField(
            f"{field}.id", "field required", hint="give the registry's id (0 is the local one)"
        )
    return ref.id


def _filter(where: str, item: FilterBody) -> Filter:
    kind = enum_member(f"{where}.type", FilterType, item.type)
    # a label filter's value is a list, as in Harbor ("the type of label filter value must be
    # string slice"); a string is left for validate_policy to refuse with the field's name
    value: str | tuple[str, ...] = tuple(item.value) if isinstance(item.value, list) else item.value
    decoration = enum_member(f"{where}.decoration", Decoration, item.decoration) if item.decoration else None
    return Filter(kind, value, decoration)


def _trigger(body: TriggerBody | None) -> Trigger:
    if body is None:
        return Trigger()
    settings = body.trigger_settings or TriggerSettingsBody()
    return Trigger(
        enum_member("trigger.type", TriggerType, body.type),
        settings.cron or None,
        settings.timezone or None,
        settings.poll_interval,
    )


class StartExecutionBody(Body):
    policy_id: Int64


class StopExecutionBody(BaseModel):
    """Harbor's ``PUT /replication/executions/{id}`` stops the execution; its body is not needed."""

    model_config = ConfigDict(extra="allow")

    status: str | None = Field(default=None, description="ignored; any PUT stops the execution")


class TokenBody(Body):
    name: str


class CronPreviewBody(Body):
    """``POST /cron/preview`` (ferry): a trigger's cron and time zone, as in ``trigger_settings``."""

    cron: str
    timezone: str | None = None
    count: int = Field(default=5, ge=1, le=50, description="How many runs to show")
