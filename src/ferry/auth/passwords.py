"""Password hashes and API tokens.

- The admin password is kept as a salted scrypt hash (memory-hard, in the standard library).
- API tokens (``fry_`` + 256 random bits) are stored as their SHA-256 only: with that much entropy
  a slow hash would add nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from ferry.errors import InvalidInput

TOKEN_PREFIX = "fry_"
MIN_PASSWORD_LENGTH = 8

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
