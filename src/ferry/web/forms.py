"""Form fields → domain values, and domain errors → messages next to the fields they are about.

The domain validates (``validate_registry`` raises ``InvalidField`` naming the field); a form only
maps its field names to the domain's and back, so the rules live in one place for the API, the
command line and the UI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from starlette.datastructures import FormData

from ferry.errors import FerryError, RecordConflict
from ferry.replication.domain.fields import InvalidField, enum_member
from ferry.replication.domain.registry import (
    Credential,
    CredentialType,
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


@dataclass(frozen=True)
class FormErrors:
    """Messages by form field, and one for the form as a whole."""

    fields: dict[str, str] = field(default_factory=dict)
    general: str | None = None

    def __bool__(self) -> bool:
        return bool(self.fields) or self.general is not None

    def get(self, name: str) -> str | None:
        return self.fields.get(name)


def form_errors(error: FerryError) -> FormErrors:
    """``error`` next to its field when the domain named one (or a name already taken)."""
    if isinstance(error, InvalidField):
        return FormErrors({_DOMAIN_FIELDS.get(error.field, error.field): str(error)})
    if isinstance(error, RecordConflict):
        return FormErrors({"name": str(error)})
    return FormErrors(general=str(error))


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


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

    @classmethod
    def of(cls, registry: Registry) -> RegistryForm:
        """A stored registry to edit; its secret is never put into the page."""
        return cls(
            type=registry.type.value,
            name=registry.name,
            description=registry.description,
            url=registry.url,
            access_key=registry.credential.access_key if registry.credential else "",
            verify_cert=not registry.insecure,
            ca_certificate=registry.ca_certificate or "",
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
        )

    def to_registry(self, stored: Registry | None, *, now: datetime) -> Registry:
        """The registry to test or save (validated by the service that takes it)."""
        return Registry(
            id=stored.id if stored else 1,
            name=self.name,
            type=stored.type if stored else enum_member("type", RegistryType, self.type),
            url=self.url,
            credential=self._credential(stored),
            insecure=not self.verify_cert,
            ca_certificate=self.ca_certificate or None,
            description=self.description,
            status=stored.status if stored else RegistryStatus.UNKNOWN,
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
