"""The ACR OpenAPI calls ferry makes, for both editions, paced like Harbor (15 calls per second).

Personal edition: API 2016-06-07, path style (``GET /namespace/{ns}``). Enterprise edition: API
2018-12-01, action style (``POST /?InstanceId=…`` with ``x-acs-action: GetNamespace``). The
answers differ in shape and case (``data.namespace`` vs ``NamespaceName``); this module reads both
and raises ferry's errors, with the fix, for the codes users meet: a wrong AccessKey, an account
that never opened ACR (``USER_NOT_EXIST``), a missing namespace.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ferry.distribution.options import Credentials
from ferry.distribution.vendor import ApiAnswer, ApiRequest, VendorApi
from ferry.errors import Denied, FerryError, InvalidInput, RequestContext, Unauthorized, Unavailable
from ferry.providers.acr.hosts import Edition
from ferry.providers.acr.signer import sign_request

PERSONAL_VERSION = "2016-06-07"
ENTERPRISE_VERSION = "2018-12-01"
CALLS_PER_SECOND = 15.0
PAGE_SIZE = 100

_KEY_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "IncompleteSignature", "InvalidAccessKeySecret")
ACCESS_KEY_HINT = (
    "check the AccessKey ID and AccessKey Secret (RAM console → AccessKey), or sign in with the "
    "account name and the fixed password set under Instance → Access Credential (访问凭证) instead"
)
USER_NOT_EXIST_HINT = (
    "this Alibaba Cloud account (or RAM user) has never opened Container Registry: open the ACR "
    "console once and set the registry password under Access Credential (访问凭证)"
)


class CallPacer:
    """At most ``rate`` calls per second across every caller of one provider."""

    def __init__(self, rate: float = CALLS_PER_SECOND) -> None:
        self._interval = 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self._interval
        if delay > 0:
            await asyncio.sleep(delay)


@dataclass(frozen=True)
class TemporaryPassword:
    credentials: Credentials
    expires_at: float
    """``time.time()`` seconds."""


class AcrOpenApi:
    def __init__(
        self,
        api: VendorApi,
        *,
        edition: Edition,
        key_id: str,
        key_secret: str,
        instance_id: str | None = None,
    ) -> None:
        if edition is Edition.ENTERPRISE and not instance_id:
            raise InvalidInput(
                "the ACR enterprise OpenAPI needs the instance id",
                hint="set provider_settings.instance_id to the instance's cri-… id (ACR console → instances)",
            )
        self._api = api
        self._edition = edition
        self._key_id = key_id
        self._key_secret = key_secret
        self._instance_id = instance_id
        api.pace_with(CallPacer().wait)

    async def aclose(self) -> None:
        await self._api.aclose()

    # -- calls ---------------------------------------------------------------------------
    async def authorization_token(self) -> TemporaryPassword:
        """A temporary registry user and password (about an hour) bought with the AccessKey."""
        if self._edition is Edition.PERSONAL:
            data = _data(await self._roa("GET", "/tokens", "GetAuthorizationToken"))
            user, password, expiry = (
                data.get("tempUserName"),
                data.get("authorizationToken"),
                data.get("expireDate"),
            )
        else:
            body = await self._rpc("GetAuthorizationToken")
            user, password, expiry = (
                body.get("TempUsername"),
                body.get("AuthorizationToken"),
                body.get("ExpireTime"),
            )
        if not user or not password:
            raise Unavailable(
                "the ACR OpenAPI answered GetAuthorizationToken without a user or password",
                context=self._context("GetAuthorizationToken"),
            )
        expires = (
            float(expiry) / 1000 if isinstance(expiry, int | float | str) and str(expiry).isdigit() else 0.0
        )
        return TemporaryPassword(Credentials(str(user), str(password)), expires or time.time() + 3000)

    async def namespace_exists(self, namespace: str) -> bool:
        if self._edition is Edition.PERSONAL:
            answer = await self._roa_answer("GET", f"/namespace/{_segment(namespace)}", "GetNamespace")
            if _code(answer) == "NAMESPACE_NOT_EXIST" or answer.status == 404:
                return False
            self._raise_for(answer, "GetNamespace")
            return True
        body = await self._rpc_answer("GetNamespace", {"NamespaceName": namespace})
        if _code(body) == "NAMESPACE_NOT_EXIST":
            return False
        self._raise_for(body, "GetNamespace")
        return True

    async def create_namespace(self, namespace: str) -> None:
        if self._edition is Edition.PERSONAL:
            await self._roa(
                "PUT", "/namespace", "CreateNamespace", body={"Namespace": {"Namespace": namespace}}
            )
            return
        await self._rpc(
            "CreateNamespace",
            {"NamespaceName": namespace, "AutoCreateRepo": "true", "DefaultRepoType": "PRIVATE"},
        )

    async def list_namespaces(self) -> list[str]:
        if self._edition is Edition.PERSONAL:
            data = _data(await self._roa("GET", "/namespace", "GetNamespaceList"))
            return sorted(str(item.get("namespace")) for item in data.get("namespaces") or [])
        names: list[str] = []
        async for item in self._rpc_pages("ListNamespace", "Namespaces", {}):
            names.append(str(item.get("NamespaceName")))
        return sorted(names)

    async def list_repositories(self, namespace: str) -> list[str]:
        """``namespace/repo`` names."""
        if self._edition is Edition.PERSONAL:
            names: list[str] = []
            page = 1
            while True:
                data = _data(
                    await self._roa(
                        "GET",
                        f"/repos/{_segment(namespace)}",
                        "GetRepoListByNamespace",
                        query={"Page": str(page), "PageSize": str(PAGE_SIZE)},
                    )
                )
                repos = data.get("repos") or []
                names.extend(f"{namespace}/{item.get('repoName')}" for item in repos)
                if not repos or len(names) >= int(data.get("total") or 0):
                    return sorted(names)
                page += 1
        found = [
            f"{namespace}/{item.get('RepoName')}"
            async for item in self._rpc_pages(
                "ListRepository", "Repositories", {"RepoNamespaceName": namespace}
            )
        ]
        return sorted(found)

    async def delete_tag(self, repository: str, tag: str) -> None:
        namespace, _, repo = repository.partition("/")
        if self._edition is Edition.PERSONAL:
            path = f"/repos/{_segment(namespace)}/{_segment(repo)}/tags/{_segment(tag)}"
            await self._roa("DELETE", path, "DeleteRepoTag")
            return
        body = await self._rpc("GetRepository", {"RepoNamespaceName": namespace, "RepoName": repo})
        await self._rpc("DeleteRepoTag", {"RepoId": str(body.get("RepoId")), "Tag": tag})

    # -- plumbing --------------------------------------------------------------------------
    def _context(self, action: str) -> RequestContext:
        return RequestContext(self._api.host, operation=f"OpenAPI {action}")

    def _signer(self, action: str, version: str) -> Any:
        def sign(request: ApiRequest) -> dict[str, str]:
            return sign_request(
                method=request.method,
                host=request.host,
                path=request.path,
                query=request.query,
                body=request.body,
                action=action,
                version=version,
                key_id=self._key_id,
                key_secret=self._key_secret,
                content_type=request.content_type,
            )

        return sign

    async def _roa_answer(
        self, method: str, path: str, action: str, *, query: dict[str, str] | None = None, body: Any = None
    ) -> ApiAnswer:
        return await self._api.call(
            method,
            path,
            query=query,
            json_body=body,
            sign=self._signer(action, PERSONAL_VERSION),
            operation=f"OpenAPI {action}",
        )

    async def _roa(
        self, method: str, path: str, action: str, *, query: dict[str, str] | None = None, body: Any = None
    ) -> dict[str, Any]:
        answer = await self._roa_answer(method, path, action, query=query, body=body)
        self._raise_for(answer, action)
        return answer.document if isinstance(answer.document, dict) else {}

    async def _rpc_answer(self, action: str, params: dict[str, str] | None = None) -> ApiAnswer:
        query = {"InstanceId": self._instance_id or "", **(params or {})}
        return await self._api.call(
            "POST",
            "/",
            query=query,
            sign=self._signer(action, ENTERPRISE_VERSION),
            operation=f"OpenAPI {action}",
        )

    async def _rpc(self, action: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        answer = await self._rpc_answer(action, params)
        self._raise_for(answer, action)
        return answer.document if isinstance(answer.document, dict) else {}

    async def _rpc_pages(self, action: str, field: str, params: dict[str, str]) -> Any:
        page = 1
        seen = 0
        while True:
            body = await self._rpc(action, {**params, "PageNo": str(page), "PageSize": str(PAGE_SIZE)})
            items = body.get(field) or []
            for item in items:
                yield item
            seen += len(items)
            if not items or seen >= int(body.get("TotalCount") or 0):
                return
            page += 1

    def _raise_for(self, answer: ApiAnswer, action: str) -> None:
        code = _code(answer)
        failed = not answer.ok or (
            isinstance(answer.document, dict) and answer.document.get("IsSuccess") is False
        )
        if not failed:
            return
        context = self._context(action)
        message = _message(answer)
        if code.startswith(_KEY_CODES) or answer.status in (401,):
            raise Unauthorized(
                f"the ACR OpenAPI refused the AccessKey ({code or answer.status})",
                context=context,
                status=answer.status,
                hint=ACCESS_KEY_HINT,
            )
        if code == "USER_NOT_EXIST":
            raise Unauthorized(
                "USER_NOT_EXIST", context=context, status=answer.status, hint=USER_NOT_EXIST_HINT
            )
        if answer.status == 403 or code.startswith(("Forbidden", "NoPermission")):
            raise Denied(
                f"the ACR OpenAPI refused {action} ({code or answer.status}): {message}",
                context=context,
                status=answer.status,
                hint="grant the RAM user the AliyunContainerRegistryFullAccess policy, or a policy "
                f"allowing cr:{action}",
            )
        raise FerryError(
            f"the ACR OpenAPI call {action} failed ({code or answer.status}): {message}",
            hint="see the ACR OpenAPI error code reference for this code",
        )


def _data(document: dict[str, Any]) -> dict[str, Any]:
    data = document.get("data")
    return data if isinstance(data, dict) else {}


def _code(answer: ApiAnswer) -> str:
    document = answer.document
    if not isinstance(document, dict):
        return ""
    code = document.get("Code") or document.get("code") or ""
    return "" if str(code).lower() == "success" else str(code)


def _message(answer: ApiAnswer) -> str:
    document = answer.document
    if isinstance(document, dict):
        return str(document.get("Message") or document.get("message") or "")
    return answer.text


def _segment(text: str) -> str:
    return quote(text, safe="")
