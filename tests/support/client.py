"""A deliberately simple synchronous registry HTTP client for test set-up and checks.

Why: tests need to seed registries and inspect them without going through the
product (``ferry``), otherwise a bug in the product could hide itself.  This
client handles exactly what the test servers need — Basic auth, the Bearer
token dance driven by ``WWW-Authenticate``, and TLS with a test CA — and
nothing else.  It must never import ``ferry``.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from types import TracebackType

import httpx

from tests.support.net import Endpoint, client_ssl_context

MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "application/vnd.docker.distribution.manifest.v1+json",
    ]
)

_PARAM = re.compile(r'(\w+)="([^"]*)"')
_REPO_PATH = re.compile(r"^/v2/(.+?)/(?:blobs|manifests|tags)/")


def _scope_key(path: str) -> str:
    """Cache key for credentials: the repository a path belongs to, or the path itself."""
    match = _REPO_PATH.match(path)
    return match.group(1) if match else path


class ChallengeAuth(httpx.Auth):
    """Answers 401 challenges: Basic directly, Bearer by fetching a token from the realm.

    Tokens are cached per repository so that large streamed uploads (whose body
    cannot be replayed) are already authorised: uploads always start with a
    body-less POST that takes the challenge.
    """

    def __init__(self, username: str | None, password: str | None) -> None:
        self._basic = httpx.BasicAuth(username, password or "") if username is not None else None
        self._cache: dict[str, str] = {}
        self.token_fetches = 0

    def _basic_header(self) -> str | None:
        if self._basic is None:
            return None
        request = next(self._basic.auth_flow(httpx.Request("GET", "http://x/")))
        return request.headers["Authorization"]

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        key = _scope_key(request.url.path)
        cached = self._cache.get(key) or self._cache.get("<basic>")
        if cached and "Authorization" not in request.headers:
            request.headers["Authorization"] = cached
        response = yield request
        if response.status_code != 401:
            return
        challenge = response.headers.get("WWW-Authenticate", "")
        scheme = challenge.split(" ", 1)[0].lower()
        basic = self._basic_header()
        if scheme == "basic" and basic is not None:
            self._cache["<basic>"] = header = basic
        elif scheme == "bearer":
            params = dict(_PARAM.findall(challenge))
            query = {k: v for k, v in params.items() if k in ("service", "scope")}
            token_request = httpx.Request("GET", params["realm"], params=query)
            if basic is not None:
                token_request.headers["Authorization"] = basic
            token_response = yield token_request
            token_response.read()
            self.token_fetches += 1
            if token_response.status_code != 200:
                raise RuntimeError(
                    f"token request failed: {token_response.status_code} {token_response.text}"
                )
            body = token_response.json()
            self._cache[key] = header = "Bearer " + (body.get("token") or body["access_token"])
        else:
            return
        request.headers["Authorization"] = header
        yield request


class RegistryClient:
    """``httpx.Client`` bound to one registry endpoint (paths are relative to its URL).

    Credentials default to the endpoint's; ``anonymous=True`` sends none.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        username: str | None = None,
        password: str | None = None,
        anonymous: bool = False,
        timeout: float = 120.0,
        follow_redirects: bool = True,
    ) -> None:
        self.endpoint = endpoint
        user = username if username is not None else endpoint.username
        pwd = password if password is not None else endpoint.password
        self.auth = ChallengeAuth(None, None) if anonymous else ChallengeAuth(user, pwd)
        self.http = httpx.Client(
            base_url=endpoint.url,
            auth=self.auth,
            verify=client_ssl_context(endpoint.ca_file) if endpoint.ca_file else True,
            timeout=timeout,
            follow_redirects=follow_redirects,
        )

    def request(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        return self.http.request(method, path, **kwargs)  # type: ignore[arg-type]

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


Target = Endpoint | RegistryClient


@contextmanager
def connect(target: Target) -> Iterator[RegistryClient]:
    """Use an existing client as-is, or open (and close) one for an endpoint."""
    if isinstance(target, RegistryClient):
        yield target
        return
    with RegistryClient(target) as client:
        yield client


def manifest_digest(target: Target, repository: str, reference: str) -> str:
    """``Docker-Content-Digest`` of a HEAD with every manifest type accepted."""
    with connect(target) as client:
        resp = client.request(
            "HEAD", f"/v2/{repository}/manifests/{reference}", headers={"Accept": MANIFEST_ACCEPT}
        )
        resp.raise_for_status()
        return resp.headers["Docker-Content-Digest"]


def get_manifest(target: Target, repository: str, reference: str) -> tuple[bytes, str]:
    """Raw manifest bytes and their ``Content-Type``."""
    with connect(target) as client:
        resp = client.request(
            "GET", f"/v2/{repository}/manifests/{reference}", headers={"Accept": MANIFEST_ACCEPT}
        )
        resp.raise_for_status()
        return resp.content, resp.headers["Content-Type"]


def blob_exists(target: Target, repository: str, digest: str) -> bool:
    with connect(target) as client:
        resp = client.request("HEAD", f"/v2/{repository}/blobs/{digest}")
        if resp.status_code == 404:
            return False
        resp.raise_for_status()
        return True


def get_blob(target: Target, repository: str, digest: str) -> bytes:
    """Whole blob in memory — only for small blobs; stream with ``client.http.stream`` otherwise."""
    with connect(target) as client:
        resp = client.request("GET", f"/v2/{repository}/blobs/{digest}")
        resp.raise_for_status()
        return resp.content


def list_tags(target: Target, repository: str) -> list[str]:
    with connect(target) as client:
        resp = client.request("GET", f"/v2/{repository}/tags/list")
        if resp.status_code == 404:
            return []
        resp.raise_for_status()
        return list(resp.json().get("tags") or [])


def delete_manifest(target: Target, repository: str, digest: str) -> None:
    with connect(target) as client:
        client.request("DELETE", f"/v2/{repository}/manifests/{digest}").raise_for_status()
