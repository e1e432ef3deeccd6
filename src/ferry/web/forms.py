"""Form fields → domain values, and domain errors → messages next to the fields they are about.

The domain validates (``validate_registry`` raises ``InvalidField`` naming the field); a form only
maps its field names to the domain's and back, so the rules live in one place for the API, the
command line and the UI.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from starlette.datastructures import FormData

from ferry.errors import FerryError, RecordConflict
from ferry.replication.domain.fields import InvalidField, enum_member
from ferry.replication.domain.registry import (
    Credential,
    CredentialType,
    ProviderSettings,
    Registry,
    RegistryStatus,
    RegistryType,
)

_DOMAIN_FIELDS = {
    "credential.access_key": "access_key",
    "credential.access_secret": "access_secret",
    "credential.type": "access_key",
    "insecure": "verify_cert",
}
_SETTINGS_PREFIX = "provider_settings."

SETTINGS_FIELDS: dict[RegistryType, tuple[str, ...]] = {
    RegistryType.ALI_ACR: (
        "openapi_endpoint",
        "region",
        "instance_id",
        "create_namespace",
        "drop_attestations",
    ),
    RegistryType.HARBOR: ("create_project",),
}
"""The provider settings the form edits, by provider: form field names. Harbor's
``create_project`` is the setting ``create_namespace`` (Harbor calls namespaces projects)."""


@dataclass(frozen=True)
class FormErrors:
    """Messages by form field, and one for the form as a whole."""

    fields: dict[str, str] = field(default_factory=dict)
    general: str | None = None

    def __bool__(self) -> bool:
        return bool(self.fields) or self.general is not None

    def get(self, name: str) -> str | None:
        return self.fields.get(name)


def form_errors(error: FerryError, *, provider: str = "") -> FormErrors:
    """``error`` next to its field when the domain named one (or a name already taken)."""
    if isinstance(error, InvalidField):
        name = _DOMAIN_FIELDS.get(error.field, error.field).removeprefix(_SETTINGS_PREFIX)
        if name == "create_namespace" and provider == RegistryType.HARBOR.value:
            name = "create_project"
        return FormErrors({name: str(error)})
    if isinstance(error, RecordConflict):
        return FormErrors({"name": str(error)})
    return FormErrors(general=str(error))


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def choice(value: bool | None) -> str:
    """A tri-state setting as its select's value: ``""`` (the provider's default), true, false."""
    return "" if value is None else str(value).lower()


def chosen(name: str, value: str) -> bool | None:
    if value in {"", "true", "false"}:
        return None if not value else value == "true"
    raise InvalidField(name, f"{value!r} is not a choice", hint="choose the default, yes or no")


@dataclass(frozen=True)
class RegistryForm:
    """The New Endpoint / Edit form, as typed. An empty Access Secret on edit keeps the stored one."""

    type: str = RegistryType.DOCKER_REGISTRY.value
    name: str = ""
    description: str = ""
    url: str = ""
    access_key: str = ""
    access_secret: str = field(default="", repr=False)
    verify_cert: bool = True
    ca_certificate: str = ""
    openapi_endpoint: str = ""
    region: str = ""
    instance_id: str = ""
    create_namespace: str = ""
    create_project: str = ""
    drop_attestations: str = ""

    @classmethod
    def of(cls, registry: Registry) -> RegistryForm:
        """A stored registry to edit; its secret is never put into the page."""
        settings = registry.settings
        return cls(
            type=registry.type.value,
            name=registry.name,
            description=registry.description,
            url=registry.url,
            access_key=registry.credential.access_key if registry.credential else "",
            verify_cert=not registry.insecure,
            ca_certificate=registry.ca_certificate or "",
            openapi_endpoint=settings.openapi_endpoint or "",
            region=settings.region or "",
            instance_id=settings.instance_id or "",
            create_namespace=choice(settings.create_namespace),
            create_project=choice(settings.create_namespace),
            drop_attestations=choice(settings.drop_attestations),
        )

    @classmethod
    def parse(cls, form: FormData, *, stored: Registry | None = None) -> RegistryForm:
        return cls(
            type=stored.type.value if stored else text(form, "type"),
            name=text(form, "name"),
            description=text(form, "description"),
            url=text(form, "url").strip(),
            access_key=text(form, "access_key").strip(),
            access_secret=text(form, "access_secret"),
            verify_cert=bool(text(form, "verify_cert")),
            ca_certificate=text(form, "ca_certificate"),
            openapi_endpoint=text(form, "openapi_endpoint").strip(),
            region=text(form, "region").strip(),
            instance_id=text(form, "instance_id").strip(),
            create_namespace=text(form, "create_namespace"),
            create_project=text(form, "create_project"),
            drop_attestations=text(form, "drop_attestations"),
        )

    def to_registry(self, stored: Registry | None, *, now: datetime) -> Registry:
        """The registry to test or save (validated by the service that takes it)."""
        kind = stored.type if stored else enum_member("type", RegistryType, self.type)
        return Registry(
            id=stored.id if stored else 1,
            name=self.name,
            type=kind,
            url=self.url,
            credential=self._credential(stored),
            insecure=not self.verify_cert,
            ca_certificate=self.ca_certificate or None,
            description=self.description,
            status=stored.status if stored else RegistryStatus.UNKNOWN,
            settings=self._settings(kind, stored),
            creation_time=stored.creation_time if stored else now,
            update_time=now,
        )

    def _credential(self, stored: Registry | None) -> Credential | None:
        old = stored.credential if stored else None
        secret = self.access_secret
        if not secret and old is not None and self.access_key:
            secret = old.access_secret  # left empty on edit: unchanged
        if not self.access_key and not secret:
            return None
        kind = old.type if old is not None else CredentialType.BASIC
        return Credential(kind, self.access_key, secret)

    def _settings(self, kind: RegistryType, stored: Registry | None) -> ProviderSettings:
        """The settings the form shows for ``kind`` as typed; any other setting as stored (one set
        through the API or a rule file is kept, and a new endpoint starts without)."""
        settings = stored.settings if stored else ProviderSettings()
        if kind is RegistryType.ALI_ACR:
            return replace(
                settings,
                openapi_endpoint=self.openapi_endpoint or None,
                region=self.region or None,
                instance_id=self.instance_id or None,
                create_namespace=chosen("create_namespace", self.create_namespace),
                drop_attestations=chosen("drop_attestations", self.drop_attestations),
            )
        if kind is RegistryType.HARBOR:
            return replace(settings, create_namespace=chosen("create_project", self.create_project))
        return settings


def kept_settings(registry: Registry | None) -> dict[str, object]:
    """The stored settings the form does not edit for the registry's provider (set through the
    API or a rule file): shown as they are, and kept on save."""
    if registry is None:
        return {}
    edited = {
        "create_namespace" if name == "create_project" else name
        for name in SETTINGS_FIELDS.get(registry.type, ())
    }
    return {name: value for name, value in registry.settings.to_dict().items() if name not in edited}
