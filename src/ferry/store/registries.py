"""Registry endpoints in the database; the access secret is sealed before it is written."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from ferry.errors import PreconditionFailed, RecordConflict, RecordNotFound
from ferry.replication.domain.registry import (
    LOCAL_REGISTRY_ID,
    Credential,
    CredentialType,
    ProviderSettings,
    Registry,
    RegistryStatus,
    RegistryType,
    validate_registry,
)
from ferry.store.database import Database
from ferry.store.schema import PolicyRow, RegistryRow
from ferry.store.secrets import SecretBox


class RegistryStore:
    def __init__(self, database: Database, secrets: SecretBox) -> None:
        self._db = database
        self._secrets = secrets

    async def add(self, registry: Registry) -> Registry:
        """Store a new registry (its ``id`` is ignored) and return it with the id given."""
        registry = validate_registry(replace(registry, id=1))
        row = RegistryRow()
        self._fill(row, registry)
        async with self._db.session() as session:
            session.add(row)
            try:
                await session.commit()
            except SqlIntegrityError as exc:
                raise _name_taken(registry.name) from exc
        return self._to_registry(row)

    async def get(self, registry_id: int) -> Registry:
        async with self._db.session() as session:
            row = await session.get(RegistryRow, registry_id)
            if row is None:
                raise _missing(registry_id)
            return self._to_registry(row)

    async def find_by_name(self, name: str) -> Registry | None:
        async with self._db.session() as session:
            row = await session.scalar(select(RegistryRow).where(RegistryRow.name == name))
            return None if row is None else self._to_registry(row)

    async def list_registries(self) -> list[Registry]:
        async with self._db.session() as session:
            rows = await session.scalars(select(RegistryRow).order_by(RegistryRow.id))
            return [self._to_registry(row) for row in rows]

    async def update(self, registry: Registry) -> Registry:
        """Replace every field of the stored registry ``registry.id``."""
        registry = validate_registry(registry)
        async with self._db.session() as session:
            row = await session.get(RegistryRow, registry.id)
            if row is None:
                raise _missing(registry.id)
            self._fill(row, registry)
            try:
                await session.commit()
            except SqlIntegrityError as exc:
                raise _name_taken(registry.name) from exc
            return self._to_registry(row)

    async def set_status(self, registry_id: int, status: RegistryStatus) -> None:
        async with self._db.session() as session:
            row = await session.get(RegistryRow, registry_id)
            if row is not None:
                row.status = status.value
                await session.commit()

    async def delete(self, registry_id: int) -> None:
        """Delete a registry no policy uses; ``PreconditionFailed`` names the policies that do."""
        async with self._db.session() as session:
            row = await session.get(RegistryRow, registry_id)
            if row is None:
                raise _missing(registry_id)
            users = list(
                await session.scalars(
                    select(PolicyRow.name)
                    .where(
                        (PolicyRow.src_registry_id == registry_id)
                        | (PolicyRow.dest_registry_id == registry_id)
                    )
                    .order_by(PolicyRow.name)
                )
            )
            if users:
                raise _in_use(row.name, users)
            await session.delete(row)
            try:
                await session.commit()
            except SqlIntegrityError as exc:  # a policy started using it meanwhile
                raise _in_use(row.name, ["another policy"]) from exc

    def _fill(self, row: RegistryRow, registry: Registry) -> None:
        credential = registry.credential
        row.name = registry.name
        row.type = registry.type.value
        row.url = registry.url
        row.credential_type = credential.type.value if credential else None
        row.access_key = credential.access_key if credential else ""
        secret = credential.access_secret if credential else ""
        row.access_secret_sealed = self._secrets.seal(secret) if secret else None
        row.insecure = registry.insecure
        row.ca_certificate = registry.ca_certificate
        row.description = registry.description
        row.status = registry.status.value
        row.provider_settings = registry.settings.to_dict() or None
        row.creation_time = registry.creation_time
        row.update_time = registry.update_time

    def _to_registry(self, row: RegistryRow) -> Registry:
        credential = None
        if row.credential_type is not None:
            secret = self._secrets.open(row.access_secret_sealed) if row.access_secret_sealed else ""
            credential = Credential(CredentialType(row.credential_type), row.access_key, secret)
        return Registry(
            id=row.id,
            name=row.name,
            type=RegistryType(row.type),
            url=row.url,
            credential=credential,
            insecure=row.insecure,
            ca_certificate=row.ca_certificate,
            description=row.description,
            status=RegistryStatus(row.status),
            settings=ProviderSettings.from_dict(row.provider_settings),
            creation_time=row.creation_time,
            update_time=row.update_time,
        )


def registry_reference(registry_id: int) -> int | None:
    """The stored foreign key for a registry id: NULL stands for the local registry."""
    return None if registry_id == LOCAL_REGISTRY_ID else registry_id


def _missing(registry_id: int) -> RecordNotFound:
    return RecordNotFound(f"registry {registry_id} not found", hint="list the registries to see their ids")


def _name_taken(name: str) -> RecordConflict:
    return RecordConflict(f"a registry named {name!r} already exists", hint="choose another name")


def _in_use(name: str, policies: list[str]) -> PreconditionFailed:
    return PreconditionFailed(
        f"registry {name!r} is used by the replication rule(s) {', '.join(policies)}",
        hint="delete those rules or point them at another registry first",
    )
