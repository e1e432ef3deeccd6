"""The session cookie: who is signed in, the CSRF token of the forms, and one flash message.

The cookie holds the session itself, signed (itsdangerous, HMAC-SHA256 with a key kept in the data
directory) so it cannot be forged or altered; there is no server-side session table. Because of
that, a session also keeps a fingerprint of what it signed in with (``Authenticator.fingerprint``):
setting the admin password anew or revoking the API token ends every session made with it.

Every visitor has a session, signed in or not, so the sign-in form carries a CSRF token too.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "ferry_session"
SESSION_HOURS = 12


@dataclass(frozen=True)
class WebSettings:
    session_key: bytes
    """Signs the session cookies (``<data dir>/session.key``)."""
    session_hours: int = SESSION_HOURS
    """A sign-in lasts this long, whatever the activity."""

    @property
    def session_seconds(self) -> int:
        return self.session_hours * 3600


class FlashKind(StrEnum):
    SUCCESS = "success"
    ERROR = "error"


@dataclass(frozen=True)
class Flash:
    """A message for the next page (after a redirect), already in the visitor's language."""

    kind: FlashKind
    text: str


@dataclass(frozen=True)
class Session:
    csrf: str
    user: str | None = None
    token_id: int | None = None
    fingerprint: str | None = None
    signed_in_at: int = 0
    """Seconds since the epoch of the sign-in."""
    flash: Flash | None = None

    @classmethod
    def new(cls) -> Session:
        return cls(csrf=secrets.token_urlsafe(32))

    def with_flash(self, flash: Flash | None) -> Session:
        return replace(self, flash=flash)


class SessionCodec:
    """Sessions to signed cookie values and back; a forged, altered or expired value is no session."""

    def __init__(self, settings: WebSettings) -> None:
        self._serializer = URLSafeTimedSerializer(
            settings.session_key, salt="ferry.web.session", signer_kwargs={"digest_method": hashlib.sha256}
        )
        self._max_age = settings.session_seconds

    def dumps(self, session: Session) -> str:
        data: dict[str, Any] = {"c": session.csrf}
        if session.user is not None:
            data |= {
                "u": session.user,
                "t": session.token_id,
                "f": session.fingerprint,
                "s": session.signed_in_at,
            }
        if session.flash is not None:
            data["m"] = [session.flash.kind.value, session.flash.text]
        return self._serializer.dumps(data)

    def loads(self, value: str | None) -> Session | None:
        if not value:
            return None
        try:
            data = self._serializer.loads(value, max_age=self._max_age)
            return _session(data)
        except (BadSignature, KeyError, TypeError, ValueError):
            return None


def _session(data: dict[str, Any]) -> Session:
    flash = None
    if "m" in data:
        kind, text = data["m"]
        flash = Flash(FlashKind(kind), str(text))
    token_id = data.get("t")
    return Session(
        csrf=str(data["c"]),
        user=None if data.get("u") is None else str(data["u"]),
        token_id=None if token_id is None else int(token_id),
        fingerprint=None if data.get("f") is None else str(data["f"]),
        signed_in_at=int(data.get("s", 0)),
        flash=flash,
    )
