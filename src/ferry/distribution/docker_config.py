"""Credentials from ``~/.docker/config.json`` (and ``$DOCKER_CONFIG``, ``$REGISTRY_AUTH_FILE``)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from pathlib import Path

from ferry.distribution.options import Credentials
from ferry.errors import InvalidInput

_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")


def auth_files(environ: Mapping[str, str], home: Path) -> list[Path]:
    """Where docker, podman and skopeo keep logins, in the order they are consulted."""
    files: list[Path] = []
    if environ.get("REGISTRY_AUTH_FILE"):
        files.append(Path(environ["REGISTRY_AUTH_FILE"]))
    if environ.get("XDG_RUNTIME_DIR"):
        files.append(Path(environ["XDG_RUNTIME_DIR"]) / "containers" / "auth.json")
    docker_dir = Path(environ["DOCKER_CONFIG"]) if environ.get("DOCKER_CONFIG") else home / ".docker"
    files.append(docker_dir / "config.json")
    return files


def find_credentials(registry: str, files: list[Path]) -> Credentials | None:
    """The first ``auths`` entry for ``registry`` in ``files``, or None."""
    for path in files:
        if not path.is_file():
            continue
        try:
            document = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"cannot read {path}: {exc}", hint="fix or remove the file") from exc
        auths = document.get("auths") if isinstance(document, dict) else None
        if not isinstance(auths, dict):
            continue
        entry = _entry_for(registry, auths)
        if entry is not None:
            return _decode(entry, path, registry)
    return None


def _entry_for(registry: str, auths: dict[str, object]) -> dict[str, object] | None:
    keys = _HUB_KEYS if registry == "docker.io" else (registry,)
    for key, value in auths.items():
        host = key.removeprefix("https://").removeprefix("http://").split("/", 1)[0]
        if (key in keys or host in keys) and isinstance(value, dict):
            return value
    return None


def _decode(entry: dict[str, object], path: Path, registry: str) -> Credentials | None:
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            user, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidInput(
                f"the auths entry for {registry} in {path} is not valid base64", hint="run docker login again"
            ) from exc
        return Credentials(user, secret)
    username, password = entry.get("username"), entry.get("password")
    if isinstance(username, str) and isinstance(password, str):
        return Credentials(username, password)
    return None
