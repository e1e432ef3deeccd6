"""Registry authentication: anonymous, HTTP Basic and Bearer tokens cached per scope.

The flow follows docker's token spec: a request answered 401 carries a challenge naming the realm,
service and scope; ferry fetches a token for that scope (with Basic credentials when it has them),
caches it until shortly before it expires, and replays the request.
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass
from enum import StrEnum

from yarl import URL

from ferry.distribution.challenge import Challenge, covers, merge_scopes, parse_challenge
from ferry.distribution.options import Credentials, CredentialSource
from ferry.distribution.transport import Transport, TransportFailure
from ferry.errors import RequestContext, Unauthorized, Unavailable


class AuthScheme(StrEnum):
    UNKNOWN = "unknown"
    ANONYMOUS = "anonymous"
    BASIC = "basic"
    BEARER = "bearer"


@dataclass(frozen=True)
class Token:
    value: str
    scopes: tuple[str, ...]
    expires_at: float

    def usable_for(self, scopes: tuple[str, ...], now: float) -> bool:
        return now < self.expires_at and covers(self.scopes, scopes)


class Authenticator:
    """Knows how one registry wants to be authenticated and holds its tokens."""

    def __init__(
        self,
        registry: str,
        credentials: Credentials | None,
        http: Transport,
        source: CredentialSource | None = None,
    ) -> None:
        self.registry = registry
        self.credentials = credentials
        self._source = source
        self.scheme = AuthScheme.UNKNOWN
        self.token_requests = 0
        self._http = http
        self._challenge: Challenge | None = None
        self._tokens: list[Token] = []
        self._lock = asyncio.Lock()

    def headers_for(self, scopes: tuple[str, ...]) -> dict[str, str]:
        """The Authorization header to send now, from what is already known (no I/O)."""
        if self.scheme is AuthScheme.BASIC and self.credentials:
            return {"Authorization": _basic(self.credentials)}
        if self.scheme is AuthScheme.BEARER:
            token = self._cached(scopes)
            if token:
                return {"Authorization": f"Bearer {token.value}"}
        return {}

    async def prepare(self, scopes: tuple[str, ...]) -> None:
        """Fetch a token ahead of a request whose body cannot be replayed after a 401."""
        if self.scheme is AuthScheme.BEARER and self._challenge and not self._cached(scopes):
            await self._fetch(self._challenge, scopes)

    async def handle_challenge(self, header: str | None, scopes: tuple[str, ...], *, sent: bool) -> bool:
        """Learn from a 401; True when replaying the request may now succeed."""
        challenge = parse_challenge(header)
        if challenge is None:
            return False
        if challenge.scheme == "basic":
            # Replay when this request went without the credentials. Not "unless Basic is known
            # already": requests sent at once before the first challenge all went without them,
            # and every one of them must be replayed, not only the first to get its 401.
            self.scheme = AuthScheme.BASIC
            return self.credentials is not None and not sent
        if challenge.scheme != "bearer" or not challenge.realm:
            return False
        self.scheme = AuthScheme.BEARER
        self._challenge = challenge
        wanted = merge_scopes(scopes, challenge.scopes)
        if sent and self._cached(wanted) is not None and challenge.params.get("error") is None:
            self._forget(wanted)
        await self._fetch(challenge, wanted)
        return True

    def _cached(self, scopes: tuple[str, ...]) -> Token | None:
        now = time.monotonic()
        for token in self._tokens:
            if token.usable_for(scopes, now):
                return token
        return None

    def _forget(self, scopes: tuple[str, ...]) -> None:
        self._tokens = [token for token in self._tokens if not covers(token.scopes, scopes)]

    async def _fetch(self, challenge: Challenge, scopes: tuple[str, ...]) -> Token:
        async with self._lock:
            cached = self._cached(scopes)
            if cached is not None:
                return cached
            token = await self._request_token(challenge, scopes)
            now = time.monotonic()
            self._tokens = [t for t in self._tokens if t.expires_at > now]
            self._tokens.append(token)
            return token

    @property
    def challenge(self) -> Challenge | None:
        """The registry's last Bearer challenge (realm and service say who runs it)."""
        return self._challenge

    async def _request_token(self, challenge: Challenge, scopes: tuple[str, ...]) -> Token:
        if self._source is None:
            return await self._request_token_once(challenge, scopes)
        self.credentials = await self._source.credentials()
        try:
            return await self._request_token_once(challenge, scopes)
        except Unauthorized:
            # a temporary password may have lapsed between two tokens: buy a new one, once
            self.credentials = await self._source.credentials(renew=True)
            return await self._request_token_once(challenge, scopes)

    async def _request_token_once(self, challenge: Challenge, scopes: tuple[str, ...]) -> Token:
        assert challenge.realm is not None
        params: list[tuple[str, str]] = []
        if challenge.service:
            params.append(("service", challenge.service))
        params.extend(("scope", scope) for scope in scopes)
        headers = {"Authorization": _basic(self.credentials)} if self.credentials else {}
        context = RequestContext(self.registry, operation="token request")
        self.token_requests += 1
        started = time.monotonic()
        url = str(URL(challenge.realm).extend_query(params))
        try:
            response = await self._http.request("GET", url, headers=headers)
        except TransportFailure as exc:
            raise Unavailable(
                f"cannot reach the token service {_realm_host(challenge.realm)}: {exc.reason}",
                context=context,
            ) from exc
        if response.status_code in (401, 403):
            raise Unauthorized(
                "the registry's token service rejected the credentials"
                if self.credentials
                else "the registry requires credentials",
                context=context,
                status=response.status_code,
                hint="check the user name and password (or access key) for this registry",
            )
        if response.status_code != 200:
            raise Unavailable(
                f"token service {_realm_host(challenge.realm)} failed",
                context=context,
                status=response.status_code,
            )
        try:
            body = response.json()
            value = body.get("token") or body.get("access_token")
            lifetime = float(body.get("expires_in") or 60)
        except (ValueError, AttributeError, TypeError) as exc:
            raise Unavailable("token service answered with malformed JSON", context=context) from exc
        if not isinstance(value, str) or not value:
            raise Unavailable("token service answered without a token", context=context)
        margin = min(10.0, lifetime / 4)
        return Token(value=value, scopes=scopes, expires_at=started + lifetime - margin)


def _basic(credentials: Credentials) -> str:
    raw = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def _realm_host(realm: str) -> str:
    return URL(realm).host or realm
