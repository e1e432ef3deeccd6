"""``AcrProvider``: Alibaba Cloud Container Registry as a destination and as a source.

Two ways to sign in, told apart by the Access ID: an AccessKey ID (``LTAI…``, ``STS.…``) buys a
temporary registry password from the OpenAPI (``GetAuthorizationToken``, renewed before it lapses)
and unlocks the OpenAPI features; anything else is the account name with the fixed password set
under 访问凭证 (the guide's way), which Harbor's own ACR provider refuses.

Before the first push into a namespace, ferry checks it exists — with the OpenAPI when it has an
AccessKey (``GetNamespace``, and ``CreateNamespace`` when ``create_namespace`` is on), otherwise by
opening and cancelling an upload, whose ``DENIED`` it translates — and fails early with the
guide's ``namespace not found: <ns>`` instead of a DENIED on some blob. ACR rejects manifests whose
config is ``application/vnd.oci.empty.v1+json``: such attestations are dropped from indexes
(``drop_attestations``, on by default here) or refused with a message that says how to exclude them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import replace

from ferry.distribution.client import RegistryClient
from ferry.distribution.options import Credentials, RegistryOptions
from ferry.distribution.vendor import VendorApi
from ferry.errors import Denied, InvalidInput, RequestContext, Unauthorized
from ferry.providers.acr.hosts import (
    ACR_DISPLAY_NAME,
    AcrInstance,
    Edition,
    is_access_key_id,
    openapi_url,
    read_service,
    recognise_host,
)
from ferry.providers.acr.openapi import ACCESS_KEY_HINT, AcrOpenApi, TemporaryPassword
from ferry.providers.base import ClientSettings, RegistryProvider
from ferry.providers.content import ContentRules
from ferry.providers.endpoint import Endpoint
from ferry.providers.kinds import RegistryType

PASSWORD_HINT = (
    "check the Access ID and Access Secret: for Alibaba Cloud ACR use the account name and the fixed "
    "password set under Instance → Access Credential (访问凭证), not the console password"
)
CREATE_NAMESPACE_STEPS = "ACR console → Namespaces → Create Namespace (命名空间 → 创建命名空间)"
RENEW_MARGIN_SECONDS = 300.0


class AcrProvider(RegistryProvider):
    kind = RegistryType.ALI_ACR
    display_name = ACR_DISPLAY_NAME

    def __init__(self, endpoint: Endpoint, client_settings: ClientSettings | None = None) -> None:
        super().__init__(endpoint, client_settings)
        settings = endpoint.settings
        configured = AcrInstance(
            Edition.ENTERPRISE if settings.instance_id else None, settings.region, settings.instance_id
        )
        self._instance = configured.merged(recognise_host(endpoint.host))
        self._learned = False
        self._learn_lock = asyncio.Lock()
        self._openapi: AcrOpenApi | None = None
        self._password: TemporaryPassword | None = None
        self._password_lock = asyncio.Lock()
        self._prepared: dict[str, asyncio.Future[str]] = {}

    @property
    def uses_access_key(self) -> bool:
        credentials = self.endpoint.credentials
        return credentials is not None and is_access_key_id(credentials.username)

    def options(self) -> RegistryOptions:
        options = super().options()
        if self.uses_access_key:
            return replace(options, credentials=None, credential_source=self)
        return options

    async def aclose(self) -> None:
        if self._openapi is not None:
            await self._openapi.aclose()
            self._openapi = None

    # -- credentials ------------------------------------------------------------------------
    async def credentials(self, *, renew: bool = False) -> Credentials:
        """The temporary registry password the AccessKey buys (``CredentialSource``)."""
        async with self._password_lock:
            password = self._password
            if renew or password is None or password.expires_at - RENEW_MARGIN_SECONDS < time.time():
                api = await self.openapi()
                self._password = password = await api.authorization_token()
            return password.credentials

    async def instance(self) -> AcrInstance:
        """Edition, region and instance: from settings and host name, else from the challenge."""
        if (self._instance.edition is not None and self._instance.region is not None) or self._learned:
            return self._instance
        async with self._learn_lock:
            if not self._learned:
                anonymous = replace(super().options(), credentials=None, max_connections=2)
                async with RegistryClient(self.registry_host, anonymous) as client:
                    with contextlib.suppress(Unauthorized):  # the challenge is what we came for
                        await client.ping()
                    if client.challenge is not None:
                        self._instance = self._instance.merged(read_service(client.challenge.service))
                self._learned = True
        return self._instance

    async def openapi(self) -> AcrOpenApi:
        if self._openapi is None:
            credentials = self.endpoint.credentials
            if credentials is None or not self.uses_access_key:
                raise InvalidInput(
                    f"{self.endpoint.label}: this needs the ACR OpenAPI, which needs an AccessKey",
                    hint="give the endpoint an AccessKey ID (LTAI…) and Secret as Access ID / Access Secret",
                )
            instance = await self.instance()
            url = self.endpoint.settings.openapi_endpoint
            if url is None:
                if instance.region is None:
                    raise InvalidInput(
                        f"cannot tell the region of the ACR endpoint {self.endpoint.host}",
                        hint="set provider_settings.region (e.g. cn-hangzhou) or "
                        "provider_settings.openapi_endpoint",
                    )
                url = openapi_url(instance.region, vpc=instance.vpc)
            edition = instance.edition or Edition.PERSONAL
            api = VendorApi(url, RegistryOptions(retry=self.client_settings.retry), name="ACR OpenAPI")
            self._openapi = AcrOpenApi(
                api,
                edition=edition,
                key_id=credentials.username,
                key_secret=credentials.password,
                instance_id=instance.instance_id,
            )
        return self._openapi

    # -- destination ------------------------------------------------------------------------
    @property
    def content_rules(self) -> ContentRules:
        drop = self.endpoint.settings.drop_attestations
        return ContentRules(
            refuse_empty_config=True,
            drop_attestations=True if drop is None else drop,
            registry_kind=self.display_name,
        )

    async def prepare_repository(self, client: RegistryClient, repository: str) -> str:
        namespace = repository.split("/", 1)[0]
        pending = self._prepared.get(namespace)
        if pending is None:
            pending = asyncio.ensure_future(self._prepare_namespace(client, namespace, repository))
            self._prepared[namespace] = pending
        try:
            return await asyncio.shield(pending)
        except Exception:
            if self._prepared.get(namespace) is pending and pending.done():
                del self._prepared[namespace]  # a later task may try again (an outage may end)
            raise

    async def _prepare_namespace(self, client: RegistryClient, namespace: str, repository: str) -> str:
        create = bool(self.endpoint.settings.create_namespace)
        if self.uses_access_key:
            api = await self.openapi()
            if await api.namespace_exists(namespace):
                return f"namespace {namespace} exists (OpenAPI GetNamespace)"
            if create:
                await api.create_namespace(namespace)
                return f"namespace {namespace} was missing and has been created (OpenAPI CreateNamespace)"
            raise self._namespace_not_found(
                namespace, repository, "the OpenAPI says it does not exist", can_create=True
            )
        try:
            await client.probe_push(repository)
        except Denied as exc:
            raise self._namespace_not_found(
                namespace, repository, "ACR answered DENIED to a push there", can_create=False
            ) from exc
        return f"namespace {namespace} accepts pushes"

    def _namespace_not_found(self, namespace: str, repository: str, why: str, *, can_create: bool) -> Denied:
        create = (
            "or set provider_settings.create_namespace so ferry creates it"
            if can_create
            else "or give the endpoint an AccessKey and set provider_settings.create_namespace so ferry "
            "creates it"
        )
        return Denied(
            f"namespace not found: {namespace}",
            context=RequestContext(self.registry_host, repository, operation="check namespace"),
            status=403,
            hint=f"{why}; the namespace is missing or this account does not own it. Create it in the "
            f"{CREATE_NAMESPACE_STEPS} with Automatically Create Repository (自动创建仓库) on, {create}",
        )

    async def delete_tag(self, client: RegistryClient, repository: str, tag: str) -> bool:
        if not self.uses_access_key:
            return False
        api = await self.openapi()
        await api.delete_tag(repository, tag)
        return True

    # -- source -----------------------------------------------------------------------------
    async def list_repositories(self, client: RegistryClient, namespaces: Sequence[str]) -> list[str]:
        if not self.uses_access_key:
            raise InvalidInput(
                f"{self.endpoint.label}: Alibaba Cloud CR has no /v2/_catalog, so listing its "
                "repositories needs the OpenAPI",
                hint="give the endpoint an AccessKey ID and Secret (ferry then signs in to the registry "
                "with a temporary password), or replicate single images",
            )
        api = await self.openapi()
        wanted = list(namespaces) or await api.list_namespaces()
        found: list[str] = []
        for namespace in wanted:
            if await api.namespace_exists(namespace):
                found.extend(await api.list_repositories(namespace))
        return sorted(set(found))

    # -- health -----------------------------------------------------------------------------
    @property
    def unauthorized_hint(self) -> str:
        return ACCESS_KEY_HINT if self.uses_access_key else PASSWORD_HINT
