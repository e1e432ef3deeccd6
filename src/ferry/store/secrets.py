"""Registry secrets encrypted at rest.

Secrets (a registry's ``access_secret``) are sealed with Fernet (AES-128-CBC + HMAC-SHA256, from
``cryptography``) before they reach the database, so the database file, its backups and a
PostgreSQL dump never hold one in plain text. The key lives outside the database:

- in a key file, by default ``<data dir>/secret.key``, generated on first use with mode 0600;
- or given by the operator (``FERRY_SECRET_KEY`` is read by the composition root, never here).

A key file may hold several keys, one per line, newest first: secrets are sealed with the first
and opened with any, which is how a key is rotated (add a new first line, then re-save the
registries). Sealed values carry a ``fernet:`` prefix so that a future scheme can coexist.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ferry.errors import InvalidInput, SecretsError

PREFIX = "fernet:"
KEY_FILE_NAME = "secret.key"


class SecretBox:
    """Seals and opens secrets with one or more Fernet keys (the first one seals)."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise InvalidInput("no secret key given", hint="give at least one Fernet key")
        try:
            self._fernet = MultiFernet([Fernet(key.strip().encode()) for key in keys])
        except ValueError as exc:
            raise InvalidInput(
                "a secret key is not a Fernet key (32 url-safe base64-encoded bytes)",
                hint="generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'",
            ) from exc

    @classmethod
    def from_text(cls, text: str) -> SecretBox:
        """Keys one per line, newest first; blank lines and ``#`` comments are ignored."""
        keys = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
        return cls(keys)

    def seal(self, secret: str) -> str:
        return PREFIX + self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        if not sealed.startswith(PREFIX):
            raise SecretsError(
                "a stored secret is not in a format ferry knows",
                hint="re-enter the registry's access secret",
            )
        try:
            return self._fernet.decrypt(sealed[len(PREFIX) :].encode()).decode()
        except InvalidToken as exc:
            raise SecretsError(
                "a stored secret cannot be decrypted with the configured secret key",
                hint="start ferry with the key file (or FERRY_SECRET_KEY) the secret was saved with, "
                "or re-enter the registry's access secret",
            ) from exc


def load_or_create_key_file(path: Path) -> SecretBox:
    """The keys in ``path``; a new key is generated there (mode 0600) when the file does not exist."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key().decode()
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first; read theirs
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(key + "\n")
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise InvalidInput(
            f"the secret key file {path} is readable by other users (mode {mode:o})",
            hint=f"restrict it: chmod 600 {path}",
        )
    return SecretBox.from_text(path.read_text())
