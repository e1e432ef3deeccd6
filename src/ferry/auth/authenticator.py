"""Credentials → a ``Principal``: the ``admin`` password, or a named API token.

The API passes its ``Authorization`` header (``authenticate``); the web UI passes what its sign-in
form posted (``sign_in``) and later asks whether a session still stands (``fingerprint``). Both
go through the same throttle, so the form is no side door for guessing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ferry.auth.passwords import (
    TOKEN_PREFIX,
    check_new_password,
    generate_password,
    hash_password,
    token_digest,
    verify_password,
)
from ferry.auth.throttle import SignInThrottle
from ferry.errors import FerryError
from ferry.store.accounts import AccountStore

ADMIN = "admin"
INVALID_CREDENTIALS = "invalid user name, password or token"


class SignInFailed(FerryError):
    """Credentials missing, malformed or wrong."""


@dataclass(frozen=True)
class Principal:
    """Who made a request: ``admin``, or ``token:<name>`` with the token's id."""

    name: str
    token_id: int | None = None


class Authenticator:
    def __init__(
        self,
        accounts: AccountStore,
        *,
        clock: Callable[[], datetime],
        throttle: SignInThrottle | None = None,
    ) -> None:
        self._accounts = accounts
        self._clock = clock
        self.throttle = throttle or SignInThrottle()
        self._verified: dict[str, str] = {}
        """sha256(password) → the stored hash it matched: scrypt runs once per password change,
        not on every request of a polling client."""

    async def authenticate(self, authorization: str | None, client: str) -> Principal:
        """An ``Authorization`` header (Basic with the admin password or a token, or Bearer with a
        token) from ``client``'s address; ``SignInFailed`` or ``TooManySignIns`` otherwise."""
        self.throttle.check(client)
        if not authorization:
            raise SignInFailed("authentication required: use HTTP Basic (admin or an API token)")
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer":
            principal = await self._by_token(value.strip())
        elif scheme.lower() == "basic":
            user, password = _basic_credentials(value.strip())
            principal = await self._by_secret(user, password)
        else:
            raise SignInFailed(f"unsupported authorization scheme {scheme!r}; use Basic")
        return self._settle(principal, client)

    async def sign_in(self, user: str, password: str, client: str) -> Principal:
        """A user name and password (or an API token as the password) typed into a form."""
        self.throttle.check(client)
        return self._settle(await self._by_secret(user.strip(), password), client)

    async def fingerprint(self, principal: Principal) -> str | None:
        """A value that changes when what ``principal`` signed in with changes: the admin
        password set anew, the token revoked (None). A web session keeps it and ends when it no
        longer matches."""
        if principal.token_id is not None:
            tokens = await self._accounts.list_tokens()
            alive = any(token.id == principal.token_id for token in tokens)
            return f"token:{principal.token_id}" if alive else None
        stored = await self._accounts.find_password_hash(principal.name)
        return None if stored is None else hashlib.sha256(stored.encode()).hexdigest()[:32]

    def _settle(self, principal: Principal | None, client: str) -> Principal:
        if principal is None:
            self.throttle.failed(client)
            raise SignInFailed(INVALID_CREDENTIALS)
        self.throttle.succeeded(client)
        return principal

    async def _by_secret(self, user: str, password: str) -> Principal | None:
        if password.startswith(TOKEN_PREFIX):
            return await self._by_token(password)
        return await self._by_password(user, password)

    async def _by_token(self, token: str) -> Principal | None:
        found = await self._accounts.find_token(token_digest(token))
        if found is None:
            return None
        await self._accounts.touch_token(found.id, now=self._clock())
        return Principal(f"token:{found.name}", token_id=found.id)

    async def _by_password(self, user: str, password: str) -> Principal | None:
        if user != ADMIN:
            return None
        stored = await self._accounts.find_password_hash(ADMIN)
        if stored is None:
            return None
        key = token_digest(password)
        if self._verified.get(key) != stored:
            if not verify_password(password, stored):
                return None
            self._verified = {key: stored}
        return Principal(ADMIN)


def _basic_credentials(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise SignInFailed("the Basic credentials are not valid base64 of user:password") from exc
    user, separator, password = decoded.partition(":")
    if not separator:
        raise SignInFailed("the Basic credentials must be user:password")
    return user, password


async def ensure_admin(accounts: AccountStore, *, password: str | None, now: datetime) -> str | None:
    """Set the admin password from ``password`` (FERRY_ADMIN_PASSWORD) when given; else create the
    account with a generated password on the first start. Returns a generated password, once."""
    if password is not None:
        stored = await accounts.find_password_hash(ADMIN)
        if stored is None or not verify_password(password, stored):
            await accounts.set_password_hash(ADMIN, hash_password(check_new_password(password)), now=now)
        return None
    if await accounts.find_password_hash(ADMIN) is not None:
        return None
    generated = generate_password()
    created = await accounts.add_account(ADMIN, hash_password(generated), now=now)
    return generated if created else None
