"""Registry endpoints: where a policy reads from or writes to, as Harbor's "registries" describe them.

A ``Registry`` is a validated value. The store gives it an id; id 0 is reserved for the local
registry, the one ferry is attached to (configured at start-up, never stored), which Harbor also
calls "Local" with id 0. Secrets live in ``Credential.access_secret``, which ``repr`` never shows
and ``masked`` replaces with Harbor's ``*****`` for API responses.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from ferry.providers.kinds import PathDepth, RegistryType, path_depth
from ferry.providers.settings import ProviderSettings
from ferry.replication.domain.fields import InvalidField, check_name, enum_member, utc_time

__all__ = [
    "LOCAL_REGISTRY_ID",
    "LOCAL_REGISTRY_NAME",
    "Credential",
    "CredentialType",
    "PathDepth",
    "ProviderSettings",
    "Registry",
    "RegistryStatus",
    "RegistryType",
    "local_registry",
    "normalize_url",
    "path_depth",
    "validate_registry",
]

LOCAL_REGISTRY_ID = 0
LOCAL_REGISTRY_NAME = "Local"
NAME_LIMIT = 64
SECRET_MASK = "*****"
"""What Harbor's GET responses show instead of a non-empty ``access_secret``."""


class CredentialType(StrEnum):
    BASIC = "basic"
    """A user name (or access key) and a password (or access secret)."""
    OAUTH = "oauth"
    """A token in ``access_secret``; ``access_key`` may be empty."""


class RegistryStatus(StrEnum):
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    UNKNOWN = "unknown"
    """Not checked yet: a registry is neither healthy nor unhealthy until its first health check."""


@dataclass(frozen=True)
class Credential:
    type: CredentialType = CredentialType.BASIC
    access_key: str = ""
    access_secret: str = field(default="", repr=False)

    def masked(self) -> Credential:
        """The credential as Harbor's API shows it: the key, and ``*****`` for a non-empty secret."""
        return replace(self, access_secret=SECRET_MASK if self.access_secret else "")


@dataclass(frozen=True, kw_only=True)
class Registry:
    id: int
    name: str
    type: RegistryType
    url: str
    credential: Credential | None = None
    insecure: bool = False
    ca_certificate: str | None = None
    description: str = ""
    status: RegistryStatus = RegistryStatus.UNKNOWN
    settings: ProviderSettings = field(default_factory=ProviderSettings)
    creation_time: datetime
    update_time: datetime

    @property
    def is_local(self) -> bool:
        return self.id == LOCAL_REGISTRY_ID

    def masked(self) -> Registry:
        credential = self.credential.masked() if self.credential else None
        return replace(self, credential=credential)


def validate_registry(registry: Registry) -> Registry:
    """The registry with normalised fields, or ``InvalidField`` naming the first bad field."""
    if registry.id < 0:
        raise InvalidField("id", f"{registry.id} is negative", hint="registry ids are 0 (local) or positive")
    name = check_name("name", registry.name, limit=NAME_LIMIT)
    if (name == LOCAL_REGISTRY_NAME) != registry.is_local:
        if registry.is_local:
            raise InvalidField("id", "0 is reserved for the local registry", hint="leave the id to the store")
        raise InvalidField(
            "name", f"{LOCAL_REGISTRY_NAME!r} is reserved for the local registry", hint="choose another name"
        )
    return replace(
        registry,
        name=name,
        type=enum_member("type", RegistryType, registry.type),
        url=normalize_url(registry.url),
        credential=_check_credential(registry.credential),
        ca_certificate=check_ca_certificate(registry.ca_certificate),
        description=registry.description.strip(),
        status=enum_member("status", RegistryStatus, registry.status),
        settings=check_settings(registry.settings),
        creation_time=utc_time("creation_time", registry.creation_time),
        update_time=utc_time("update_time", registry.update_time),
    )


def local_registry(
    *,
    type: RegistryType,
    url: str,
    now: datetime,
    credential: Credential | None = None,
    insecure: bool = False,
    ca_certificate: str | None = None,
) -> Registry:
    """The registry ferry is attached to: id 0, "Local", from the start-up configuration."""
    registry = Registry(
        id=LOCAL_REGISTRY_ID,
        name=LOCAL_REGISTRY_NAME,
        type=type,
        url=url,
        credential=credential,
        insecure=insecure,
        ca_certificate=ca_certificate,
        description="the registry ferry is attached to",
        creation_time=now,
        update_time=now,
    )
    return validate_registry(registry)


_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_USERINFO = re.compile(r"^((?:[A-Za-z][A-Za-z0-9+.-]*:)?//)?[^/@]*@")
_URL_HINT = "write the registry's base URL as http(s)://host[:port], e.g. https://harbor.example.com"


def normalize_url(url: str) -> str:
    """``scheme://host[:port]`` in lower case: the base URL ferry adds ``/v2/`` to.

    A path is refused rather than dropped, because ``https://host/v2`` or a web-console address
    pasted by mistake would otherwise silently point somewhere else. A URL with a password in it
    is refused without echoing the password.
    """
    text = url.strip()
    if _USERINFO.match(text):
        shown = _USERINFO.sub(r"\1", text)
        raise InvalidField(
            "url",
            f"{shown!r} carries a user name or password",
            hint="remove user:password@ from the URL and put them in the credential",
        )
    if not text:
        raise InvalidField("url", "must not be empty", hint=_URL_HINT)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"} or not parts.netloc:
        hint = _URL_HINT if "://" in text else f"write https://{text}"
        raise InvalidField("url", f"{text!r} does not start with http:// or https://", hint=hint)
    if not _valid_host(parts.hostname or ""):
        raise InvalidField("url", f"{text!r} has no valid host name", hint=_URL_HINT)
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0 or parts.netloc.endswith(":"):
        raise InvalidField("url", f"{text!r} has an invalid port", hint="use a port from 1 to 65535")
    if parts.path not in {"", "/"} or parts.query or parts.fragment:
        raise InvalidField(
            "url",
            f"{text!r} has a path, query or fragment",
            hint=f"use the base URL only, {scheme}://{parts.netloc.lower()}; ferry adds /v2/ itself",
        )
    return f"{scheme}://{parts.netloc.lower()}"


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.split(".")
        return len(host) <= 253 and all(_LABEL.match(label) for label in labels)
    return True


_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)
_PEM_HINT = "paste the CA certificate in PEM form: -----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----"


def check_ca_certificate(text: str | None) -> str | None:
    """Trimmed PEM text holding one or more certificates (a bundle), or None when empty.

    Only the armour and base64 are checked here; whether the certificate verifies the registry
    is learnt from the health check. A private key is refused without echoing it.
    """
    if text is None or not text.strip():
        return None
    pem = text.strip()
    blocks = _PEM_BLOCK.findall(pem)
    if any("PRIVATE KEY" in label for label, _ in blocks) or "PRIVATE KEY-----" in pem:
        raise InvalidField(
            "ca_certificate", "contains a private key", hint="paste only the CA certificate, never a key"
        )
    certificates = [body for label, body in blocks if label == "CERTIFICATE"]
    if not certificates:
        raise InvalidField("ca_certificate", "holds no PEM certificate", hint=_PEM_HINT)
    if pem.count("-----BEGIN ") != len(blocks):
        raise InvalidField("ca_certificate", "has a PEM block without its END line", hint=_PEM_HINT)
    for index, body in enumerate(certificates, start=1):
        try:
            der = base64.b64decode("".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            der = b""
        if not der.startswith(b"\x30"):
            raise InvalidField(
                "ca_certificate", f"certificate {index} is not valid base64 DER", hint=_PEM_HINT
            )
    return pem + "\n"


SETTINGS_FIELD = "provider_settings"
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z0-9]+)+$")
_INSTANCE = re.compile(r"^cri-[a-z0-9]{6,32}$")


def check_settings(settings: ProviderSettings) -> ProviderSettings:
    """Provider settings with a normalised OpenAPI URL, or ``InvalidField`` naming the bad one."""
    endpoint = settings.openapi_endpoint
    if endpoint is not None and endpoint.strip():
        try:
            endpoint = normalize_url(endpoint)
        except InvalidField as exc:
            raise InvalidField(
                f"{SETTINGS_FIELD}.openapi_endpoint",
                exc.message.removeprefix("url: "),
                hint="write the OpenAPI base URL, e.g. https://cr.cn-hangzhou.aliyuncs.com",
            ) from None
    region = (settings.region or "").strip() or None
    if region is not None and not _REGION.match(region):
        raise InvalidField(
            f"{SETTINGS_FIELD}.region",
            f"{region!r} is not a region id",
            hint="e.g. cn-hangzhou or ap-southeast-1",
        )
    instance = (settings.instance_id or "").strip() or None
    if instance is not None and not _INSTANCE.match(instance):
        raise InvalidField(
            f"{SETTINGS_FIELD}.instance_id",
            f"{instance!r} is not an ACR instance id",
            hint="copy it from the ACR console's instance list: cri- followed by letters and digits",
        )
    return replace(
        settings, openapi_endpoint=(endpoint or "").strip() or None, region=region, instance_id=instance
    )


def _check_credential(credential: Credential | None) -> Credential | None:
    """No credential means anonymous access; an all-empty credential is the same thing."""
    if credential is None:
        return None
    kind = enum_member("credential.type", CredentialType, credential.type)
    key = credential.access_key.strip()
    if not key and not credential.access_secret:
        return None
    if kind is CredentialType.BASIC and not key:
        raise InvalidField(
            "credential.access_key",
            "is empty but a secret is set",
            hint="give the user name (or access key) that goes with the password",
        )
    if kind is CredentialType.OAUTH and not credential.access_secret:
        raise InvalidField(
            "credential.access_secret",
            "is empty",
            hint="an oauth credential needs its token in access_secret",
        )
    return Credential(type=kind, access_key=key, access_secret=credential.access_secret)
