"""Which ferry server to talk to, and with which credentials.

``ferry login`` trades the admin password for an API token and keeps only the server URL, the
token's name and id and the token itself in ``$XDG_CONFIG_HOME/ferry/login.json`` (mode 0600), so
the password never lands on disk. Every server command resolves its credentials in this order:
flags (``--server``, ``--user``, ``--password``), then the environment (``FERRY_SERVER``,
``FERRY_USER``, ``FERRY_PASSWORD``, which may hold an API token), then the login file.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ferry.errors import InvalidInput

API_PREFIX = "/api/v2.0"
TOKEN_PREFIX = "fry_"
DEFAULT_USER = "admin"
LOGIN_FILE = "login.json"
_NOT_CONFIGURED_HINT = (
    "run `ferry login URL` once, or set FERRY_SERVER and FERRY_PASSWORD (an API token or the admin password)"
)


@dataclass(frozen=True)
class ServerAccess:
    """Where the server is and how to sign in: a user and a password or an API token."""

    url: str
    user: str
    password: str = field(repr=False)
    source: str = "flags"
    """Where the credentials came from (``flags``, ``environment``, ``login file``, ``login``), for
    the hint of a refused sign-in."""


@dataclass(frozen=True)
class SavedLogin:
    """What the login file holds: never a password, only an API token and how to revoke it."""

    url: str
    user: str
    token: str = field(repr=False)
    token_id: int | None = None
    """None when the token was given by the user rather than created by ``ferry login``."""


@dataclass(frozen=True)
class AccessFlags:
    """What the command line and the environment say, before the login file is consulted."""

    server: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    from_environment: frozenset[str] = frozenset()
    """Which of server/user/password came from FERRY_* variables rather than flags."""


def login_file_path(environ: Mapping[str, str], home: Path) -> Path:
    base = environ.get("XDG_CONFIG_HOME") or str(home / ".config")
    return Path(base) / "ferry" / LOGIN_FILE


def normalize_server_url(text: str) -> str:
    """``http(s)://host[:port]`` from what a user typed: the scheme defaults to http on loopback
    (``ferry serve`` speaks plain HTTP) and https elsewhere; ``/api/v2.0`` and slashes are dropped."""
    url = text.strip()
    if not url:
        raise InvalidInput("the server URL is empty", hint="give it as http://host:port")
    if "://" not in url:
        host = urlsplit("//" + url).hostname or ""
        loopback = host in {"localhost", "::1"} or host.startswith("127.")
        url = ("http://" if loopback else "https://") + url
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise InvalidInput(
            "the server URL must not carry a user name or password",
            hint="remove user:password@ from it; use `ferry login` or FERRY_PASSWORD",
        )
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidInput(f"{text!r} is not a server URL", hint="give it as http://host:port")
    path = parts.path.rstrip("/")
    if path.endswith(API_PREFIX):
        path = path[: -len(API_PREFIX)]
    return f"{scheme}://{parts.netloc}{path}"


def read_login(path: Path) -> SavedLogin | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InvalidInput(
            f"the login file {path} can be read by other users",
            hint=f"run `chmod 600 {path}`, or `ferry logout` and log in again",
        )
    try:
        document = json.loads(path.read_text())
        token_id = document.get("token_id")
        return SavedLogin(
            url=str(document["url"]),
            user=str(document["user"]),
            token=str(document["token"]),
            token_id=int(token_id) if token_id is not None else None,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidInput(
            f"the login file {path} is unreadable or damaged", hint="delete it and run `ferry login` again"
        ) from exc


def write_login(path: Path, login: SavedLogin) -> None:
    """Write the file with mode 0600 from the first byte, replacing any older one atomically."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    document = {"url": login.url, "user": login.user, "token_id": login.token_id, "token": login.token}
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def remove_login(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def token_name(user: str, hostname: str) -> str:
    """``cli-<user>@<host>-<random>``: says where a token was made, unique per login."""
    return f"cli-{user}@{hostname}-{secrets.token_hex(3)}"[:64]


def is_token(password: str) -> bool:
    return password.startswith(TOKEN_PREFIX)


def resolve_access(flags: AccessFlags, saved: SavedLogin | None) -> ServerAccess:
    """The server and credentials for a command: flags > environment > login file."""
    if flags.server:
        url = normalize_server_url(flags.server)
    elif saved is not None:
        url = saved.url
    else:
        raise InvalidInput("no ferry server is configured", hint=_NOT_CONFIGURED_HINT)
    if flags.password:
        source = "environment" if "password" in flags.from_environment else "flags"
        return ServerAccess(url, flags.user or DEFAULT_USER, flags.password, source)
    if saved is not None and saved.url == url:
        return ServerAccess(url, flags.user or saved.user, saved.token, "login file")
    raise InvalidInput(
        f"no credentials for ferry at {url}",
        hint=f"run `ferry login {url}`, or set FERRY_PASSWORD (an API token or the admin password)",
    )
