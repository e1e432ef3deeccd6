from __future__ import annotations

import os
import sqlite3
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from ferry.errors import InvalidInput, PreconditionFailed, RecordConflict, RecordNotFound, SecretsError
from ferry.replication.domain.policy import Decoration, Filter, FilterType, Trigger
from ferry.replication.domain.registry import RegistryStatus
from ferry.replication.domain.status import TriggerType
from ferry.store import Store
from ferry.store.secrets import SecretBox, load_or_create_key_file
from tests.store.conftest import NOW, a_policy, a_registry


async def test_a_registry_reads_back_with_its_secret(store: Store) -> None:
    added = await store.registries.add(a_registry())
    assert added.id > 0
    again = await store.registries.get(added.id)
    assert again.credential is not None
    assert again.credential.access_secret == "s3cret-PASSWORD"
    assert again == added


async def test_the_database_never_holds_the_secret_in_plain_text(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the file check reads the SQLite file")
    await store.registries.add(a_registry(secret="PLAIN-TEXT-MARKER"))
    await store.close()
    raw = b"".join(path.read_bytes() for path in tmp_path.glob("ferry.db*"))  # noqa: ASYNC240
    assert b"PLAIN-TEXT-MARKER" not in raw
    rows = (
        sqlite3.connect(tmp_path / "ferry.db")
        .execute("select access_secret_sealed from registries")
        .fetchall()
    )
    assert rows[0][0].startswith("fernet:")


async def test_a_second_registry_with_the_same_name_is_a_conflict(store: Store) -> None:
    await store.registries.add(a_registry("same"))
    with pytest.raises(RecordConflict, match="'same' already exists"):
        await store.registries.add(a_registry("same"))


async def test_a_registry_used_by_a_policy_cannot_be_deleted(store: Store) -> None:
    registry = await store.registries.add(a_registry())
    await store.policies.add(a_policy("guide-rule", dest=registry.id))
    with pytest.raises(PreconditionFailed, match="guide-rule") as caught:
        await store.registries.delete(registry.id)
    assert "delete those rules" in str(caught.value)
    assert await store.registries.get(registry.id) == registry


async def test_an_unused_registry_is_deleted(store: Store) -> None:
    registry = await store.registries.add(a_registry())
    await store.registries.delete(registry.id)
    with pytest.raises(RecordNotFound):
        await store.registries.get(registry.id)


async def test_registry_status_and_update_are_stored(store: Store) -> None:
    registry = await store.registries.add(a_registry())
    await store.registries.set_status(registry.id, RegistryStatus.UNHEALTHY)
    assert (await store.registries.get(registry.id)).status is RegistryStatus.UNHEALTHY
    updated = await store.registries.update(
        replace(registry, url="https://other.example.com", credential=None)
    )
    assert updated.url == "https://other.example.com"
    assert (await store.registries.get(registry.id)).credential is None


async def test_a_policy_reads_back_with_every_field(store: Store) -> None:
    registry = await store.registries.add(a_registry())
    policy = replace(
        a_policy(dest=registry.id),
        description="nightly",
        filters=(
            Filter(FilterType.NAME, "library/**"),
            Filter(FilterType.TAG, "prod-*, v*", Decoration.MATCHES),
            Filter(FilterType.LABEL, ("production", "tier=web"), Decoration.EXCLUDES),
        ),
        trigger=Trigger(TriggerType.SCHEDULED, "0 0 2 * * *", "Asia/Shanghai"),
        override=False,
        deletion=True,
        speed=2048,
        copy_by_chunk=True,
    )
    added = await store.policies.add(policy)
    assert await store.policies.get(added.id) == replace(policy, id=added.id)
    assert await store.policies.find_by_name(policy.name) == added


async def test_a_policy_naming_a_missing_registry_is_refused(store: Store) -> None:
    with pytest.raises(InvalidInput, match="dest_registry: registry 99 does not exist"):
        await store.policies.add(a_policy(dest=99))


async def test_a_policy_with_a_running_execution_cannot_be_deleted(store: Store) -> None:
    registry = await store.registries.add(a_registry())
    policy = await store.policies.add(a_policy(dest=registry.id))
    execution = await store.executions.start(policy, TriggerType.MANUAL, now=NOW)
    with pytest.raises(PreconditionFailed, match=f"running execution \\({execution.id}\\)"):
        await store.policies.delete(policy.id)


async def test_a_disabled_policy_does_not_start(store: Store) -> None:
    registry = await store.registries.add(a_registry())
    policy = await store.policies.add(replace(a_policy(dest=registry.id), enabled=False))
    with pytest.raises(PreconditionFailed, match="disabled"):
        await store.executions.start(policy, TriggerType.MANUAL, now=NOW)


def test_the_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret.key"
    box = load_or_create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    sealed = box.seal("hunter2")
    assert load_or_create_key_file(path).open(sealed) == "hunter2"


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    load_or_create_key_file(path)
    os.chmod(path, 0o644)
    with pytest.raises(InvalidInput, match="chmod 600"):
        load_or_create_key_file(path)


def test_a_secret_sealed_with_another_key_names_the_fix() -> None:
    sealed = SecretBox([Fernet.generate_key().decode()]).seal("x")
    with pytest.raises(SecretsError, match="cannot be decrypted") as caught:
        SecretBox([Fernet.generate_key().decode()]).open(sealed)
    assert "FERRY_SECRET_KEY" in str(caught.value)


def test_rotation_opens_old_secrets_and_seals_with_the_new_key() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed_old = SecretBox([old]).seal("x")
    rotated = SecretBox.from_text(f"{new}\n{old}\n")
    assert rotated.open(sealed_old) == "x"
    assert SecretBox([new]).open(rotated.seal("y")) == "y"
