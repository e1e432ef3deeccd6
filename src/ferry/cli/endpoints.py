"""Turning command-line options into registry clients, one per host, reused for the whole run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ferry.distribution.client import RegistryClient
from ferry.distribution.docker_config import auth_files, find_credentials
from ferry.distribution.options import Credentials, RegistryOptions
from ferry.errors import InvalidInput


@dataclass(frozen=True)
class EndpointFlags:
    """What the user said about one side (source or destination) of a copy."""

    creds: str | None = None
    insecure: bool = False
    ca_file: Path | None = None
    plain_http: bool = False


def registry_options(registry: str, flags: EndpointFlags, *, max_connections: int) -> RegistryOptions:
    credentials = Credentials.parse(flags.creds) if flags.creds else None
    if credentials is None:
        credentials = find_credentials(registry, auth_files(dict(os.environ), Path.home()))
    if flags.ca_file is not None and not flags.ca_file.is_file():
        raise InvalidInput(f"CA file {flags.ca_file} does not exist", hint="pass the path of a PEM file")
    return RegistryOptions(
        credentials=credentials,
        insecure=flags.insecure,
        ca_file=flags.ca_file,
        plain_http=True if flags.plain_http else None,
        max_connections=max_connections,
    )


class ClientPool:
    """One ``RegistryClient`` per registry host; the source's flags apply to the source host."""

    def __init__(self) -> None:
        self._clients: dict[str, RegistryClient] = {}

    def add(self, registry: str, options: RegistryOptions) -> RegistryClient:
        if registry not in self._clients:
            self._clients[registry] = RegistryClient(registry, options)
        return self._clients[registry]

    def __call__(self, registry: str) -> RegistryClient:
        try:
            return self._clients[registry]
        except KeyError:
            raise InvalidInput(f"no client configured for {registry}") from None

    def clients(self) -> list[RegistryClient]:
        return list(self._clients.values())

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
