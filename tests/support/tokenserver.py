"""A tiny Bearer-token server implementing the Docker registry token flow.

Why: the product must handle ``WWW-Authenticate: Bearer realm=...`` challenges,
per-scope token caching and renewal.  Real token servers (Harbor, Docker Hub)
are unavailable offline, so this one issues JWTs that a real
``docker-registry`` (distribution 2.8) accepts: signed with ES256 by a key whose
self-signed certificate is the registry's ``rootcertbundle`` and which is sent
in the JWT header's ``x5c`` chain.  It records every request so tests can prove
that the client caches tokens per scope and renews them when they expire.

Test-only code: never import it from ``ferry``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from tests.support.net import BackgroundServer

TokenField = Literal["token", "access_token", "both"]


@dataclass(frozen=True)
class TokenRequest:
    """One request the server answered; ``granted`` is what went into the JWT."""

    scopes: tuple[str, ...]
    service: str | None
    account: str | None
    status: int
    granted: tuple[str, ...]


def _normalise_scope(scope: str) -> tuple[str, frozenset[str]]:
    resource, _, actions = scope.rpartition(":")
    return resource, frozenset(actions.split(","))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _self_signed(key: ec.EllipticCurvePrivateKey, common_name: str) -> x509.Certificate:
    # No extended key usage on purpose: Go's x509 verification defaults to
    # ServerAuth and a cert without EKU passes that check.
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


class TokenServer(BackgroundServer):
    """Threaded token endpoint at ``realm`` (``http://127.0.0.1:PORT/token``).

    Credentials are checked with HTTP Basic against ``users``.  Valid users get
    every action they ask for; anonymous callers get ``pull`` only when
    ``anonymous_pull`` is set and a 401 otherwise; a wrong password is a 401.
    ``expires_in`` is what the response advertises, ``jwt_lifetime`` (default:
    the same) is what the JWT's ``exp`` says; distribution allows 60 s of clock
    leeway, so a token is only rejected by the registry once
    ``exp + 60 s`` has passed — use a negative ``jwt_lifetime`` (< -60) to get
    tokens the registry refuses immediately.
    """

    thread_name = "token-server"

    def __init__(
        self,
        workdir: Path,
        *,
        service: str = "ferry-test-registry",
        issuer: str = "ferry-test-token-issuer",
        users: dict[str, str] | None = None,
        anonymous_pull: bool = False,
        expires_in: int = 300,
        jwt_lifetime: int | None = None,
        field: TokenField = "both",
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.service = service
        self.issuer = issuer
        self.users = dict(users) if users is not None else {"tokenuser": secrets.token_hex(8)}
        self.anonymous_pull = anonymous_pull
        self.expires_in = expires_in
        self.jwt_lifetime = jwt_lifetime
        self.field: TokenField = field
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._cert = _self_signed(self._key, "ferry test token signer")
        self.rootcertbundle = workdir / "token-root.pem"
        self.rootcertbundle.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self._lock = threading.Lock()
        self._requests: list[TokenRequest] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self.port: int = self._httpd.server_address[1]
        self.realm = f"http://127.0.0.1:{self.port}/token"

    # -- credentials / counters -------------------------------------------
    @property
    def username(self) -> str:
        """The first configured user (what fixtures hand to the client under test)."""
        return next(iter(self.users))

    @property
    def password(self) -> str:
        return self.users[self.username]

    @property
    def requests(self) -> list[TokenRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    def count_for_scope(self, scope: str) -> int:
        """How many requests asked for this scope (among others), ignoring action order.

        distribution writes a challenge's actions in random order ("pull,push" or
        "push,pull"), so exact string comparison would be flaky.
        """
        wanted = _normalise_scope(scope)
        with self._lock:
            return sum(wanted in {_normalise_scope(s) for s in r.scopes} for r in self._requests)

    def reset_counters(self) -> None:
        with self._lock:
            self._requests.clear()

    # -- tokens --------------------------------------------------------------
    def issue(self, subject: str, granted: list[tuple[str, str, list[str]]]) -> str:
        """Return a signed JWT granting ``(type, name, actions)`` entries to ``subject``."""
        now = int(time.time())
        lifetime = self.expires_in if self.jwt_lifetime is None else self.jwt_lifetime
        header = {
            "typ": "JWT",
            "alg": "ES256",
            "x5c": [base64.b64encode(self._cert.public_bytes(serialization.Encoding.DER)).decode("ascii")],
        }
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,  # distribution 2.8 only accepts a string audience
            "exp": now + lifetime,
            "nbf": now - 1,
            "iat": now,
            "jti": secrets.token_hex(12),
            "access": [{"type": t, "name": n, "actions": a} for t, n, a in granted],
        }
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        der = self._key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")  # JWS wants raw r||s
        return f"{signing_input}.{_b64url(signature)}"

    def _grant(self, scopes: list[str], account: str | None) -> list[tuple[str, str, list[str]]]:
        granted: list[tuple[str, str, list[str]]] = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions_text = rest.rpartition(":")
            actions = [a for a in actions_text.split(",") if a]
            if account is None:
                actions = [a for a in actions if a == "pull"]
            if kind and name and actions:
                granted.append((kind, name, actions))
        return granted

    def _authenticate(self, header: str | None) -> tuple[bool, str | None]:
        """(ok, account): anonymous is ``(anonymous_pull, None)``; bad credentials are ``(False, user)``."""
        if not header:
            return self.anonymous_pull, None
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False, None
        try:
            user, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
        except ValueError:
            return False, None
        ok = user in self.users and secrets.compare_digest(self.users[user], password)
        return ok, user

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        url = urllib.parse.urlsplit(handler.path)
        query = urllib.parse.parse_qs(url.query)
        scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
        service = query.get("service", [None])[0]
        ok, account = self._authenticate(handler.headers.get("Authorization"))
        status = 200 if url.path == "/token" and ok else (404 if url.path != "/token" else 401)
        granted = self._grant(scopes, account) if status == 200 else []
        with self._lock:
            self._requests.append(
                TokenRequest(
                    scopes=tuple(scopes),
                    service=service,
                    account=account,
                    status=status,
                    granted=tuple(f"{t}:{n}:{','.join(a)}" for t, n, a in granted),
                )
            )
        if status != 200:
            body = json.dumps({"details": "access denied" if status == 401 else "not found"}).encode()
            handler.send_response(status)
            if status == 401:
                handler.send_header("WWW-Authenticate", 'Basic realm="ferry-test-token-server"')
        else:
            token = self.issue(account or "anonymous", granted)
            payload: dict[str, object] = {
                "expires_in": self.expires_in,
                "issued_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
            }
            if self.field in ("token", "both"):
                payload["token"] = token
            if self.field in ("access_token", "both"):
                payload["access_token"] = token
            body = json.dumps(payload).encode()
            handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server._handle(self)

            def do_POST(self) -> None:
                # The OAuth2 POST variant is not implemented; Docker clients fall back to GET on 404.
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep pytest output clean; the request list is the log

        return Handler
