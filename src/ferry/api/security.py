"""Who is calling: HTTP Basic for ``admin``, named API tokens, and a brake on guessing.

- The admin password is kept as a salted scrypt hash (memory-hard, in the standard library).
  There is no default password: ``FERRY_ADMIN_PASSWORD`` sets it, or one is generated on the first
  start and printed once.
- API tokens (``fry_`` + 256 random bits) are for scripts and CI; they are usable as the Basic
  password (any user name, by convention the token's name) or as ``Authorization: Bearer``. Only
  their SHA-256 is stored: with that much entropy a slow hash would add nothing.
- After a few failed sign-ins from one address, further attempts get 429 with ``Retry-After``
  for a growing pause, so a password cannot be guessed at network speed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ferry.api.errors import ApiError
from ferry.errors import InvalidInput
from ferry.store.accounts import AccountStore

ADMIN = "admin"
TOKEN_PREFIX = "fry_"
MIN_PASSWORD_LENGTH = 8
REALM = 'Basic realm="ferry"'

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
    return "$".join(["scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, binascii.Error):
        return False
    return scheme == "scrypt" and hmac.compare_digest(actual, expected)


def check_new_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"the admin password has {len(password)} characters; at least {MIN_PASSWORD_LENGTH} are needed",
            hint="set FERRY_ADMIN_PASSWORD to a longer password, or unset it to have one generated",
        )
    return password


def generate_password() -> str:
    return secrets.token_urlsafe(18)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass(frozen=True)
class Principal:
    """Who made a request: ``admin``, or ``token:<name>`` with the token's id."""

    name: str
    token_id: int | None = None


@dataclass
class _Failures:
    count: int = 0
    blocked_until: float = 0.0
    last: float = 0.0


@dataclass
class SignInThrottle:
    """Per client address: ``free_attempts`` failures pass, then each one doubles the pause."""

    free_attempts: int = 5
    max_pause: float = 300.0
    forget_after: float = 900.0
    monotonic: Callable[[], float] = time.monotonic
    _clients: dict[str, _Failures] = field(default_factory=dict)

    def check(self, client: str) -> None:
        failures = self._clients.get(client)
        if failures is None:
            return
        now = self.monotonic()
        if now - failures.last > self.forget_after:
            del self._clients[client]
        elif failures.blocked_until > now:
            wait = math.ceil(failures.blocked_until - now)
            raise ApiError(
                429,
                f"too many failed sign-ins from this address; try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )

    def failed(self, client: str) -> None:
        now = self.monotonic()
        failures = self._clients.setdefault(client, _Failures())
        failures.count += 1
        failures.last = now
        over = failures.count - self.free_attempts
        if over >= 0:
            failures.blocked_until = now + min(self.max_pause, 2.0**over)
        if len(self._clients) > 10_000:  # a spray from many addresses must not grow memory for ever
            self._clients.pop(next(iter(self._clients)))

    def succeeded(self, client: str) -> None:
        self._clients.pop(client, None)


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
        self.throttle.check(client)
        if not authorization:
            raise _unauthorized("authentication required: use HTTP Basic (admin or an API token)")
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer":
            principal = await self._by_token(value.strip())
        elif scheme.lower() == "basic":
            user, password = _basic_credentials(value.strip())
            if password.startswith(TOKEN_PREFIX):
                principal = await self._by_token(password)
            else:
                principal = await self._by_password(user, password)
        else:
            raise _unauthorized(f"unsupported authorization scheme {scheme!r}; use Basic")
        if principal is None:
            self.throttle.failed(client)
            raise _unauthorized("invalid user name, password or token")
        self.throttle.succeeded(client)
        return principal

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
        raise _unauthorized("the Basic credentials are not valid base64 of user:password") from exc
    user, separator, password = decoded.partition(":")
    if not separator:
        raise _unauthorized("the Basic credentials must be user:password")
    return user, password


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": REALM})


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
