"""A fresh, migrated store per test, on SQLite and on PostgreSQL (both real)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from ferry.replication.domain.policy import Filter, FilterType, Policy
from ferry.replication.domain.registry import Credential, Registry, RegistryType
from ferry.store import Store
from ferry.store.secrets import SecretBox

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ferry.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def secrets() -> SecretBox:
    return SecretBox([Fernet.generate_key().decode()])


@pytest.fixture
async def store(database_url: str, secrets: SecretBox) -> AsyncIterator[Store]:
    opened = await Store.open(database_url, secrets, retention=5)
    try:
        yield opened
    finally:
        await opened.close()


def a_registry(name: str = "acr", *, secret: str = "s3cret-PASSWORD") -> Registry:
    return Registry(
        id=0,
        name=name,
        type=RegistryType.DOCKER_REGISTRY,
        url="https://registry.example.com",
        credential=Credential(access_key="robot", access_secret=secret),
        creation_time=NOW,
        update_time=NOW,
    )


def a_policy(name: str = "to-acr", *, dest: int, single_active: bool = False) -> Policy:
    return Policy(
        id=0,
        name=name,
        src_registry_id=0,
        dest_registry_id=dest,
        dest_namespace="team",
        dest_namespace_replace_count=1,
        filters=(Filter(FilterType.NAME, "library/**"), Filter(FilterType.TAG, "prod-*, v*")),
        single_active_replication=single_active,
        creation_time=NOW,
        update_time=NOW,
    )
