"""Who may call the API: the ``admin`` account's password hash and the named API tokens.

The store keeps only what the API layer hands it: a salted slow hash of the password and the
SHA-256 of each token. Neither a password nor a token is ever written here in the clear.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from ferry.errors import RecordConflict, RecordNotFound
from ferry.store.database import Database
from ferry.store.schema import AccountRow, ApiTokenRow


@dataclass(frozen=True)
class ApiToken:
    id: int
    name: str
    creation_time: datetime
    last_used_time: datetime | None


class AccountStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def find_password_hash(self, name: str) -> str | None:
        async with self._db.session() as session:
            row = await session.get(AccountRow, name)
            return None if row is None else row.password_hash

    async def add_account(self, name: str, password_hash: str, *, now: datetime) -> bool:
        """Create the account unless it exists; False when another process created it first."""
        async with self._db.session() as session:
            session.add(
                AccountRow(name=name, password_hash=password_hash, creation_time=now, update_time=now)
            )
            try:
                await session.commit()
            except SqlIntegrityError:
                return False
            return True

    async def set_password_hash(self, name: str, password_hash: str, *, now: datetime) -> None:
        async with self._db.session() as session:
            row = await session.get(AccountRow, name)
            if row is None:
                session.add(
                    AccountRow(name=name, password_hash=password_hash, creation_time=now, update_time=now)
                )
            else:
                row.password_hash = password_hash
                row.update_time = now
            await session.commit()

    async def add_token(self, name: str, token_sha256: str, *, now: datetime) -> ApiToken:
        row = ApiTokenRow(name=name, token_sha256=token_sha256, creation_time=now, last_used_time=None)
        async with self._db.session() as session:
            session.add(row)
            try:
                await session.commit()
            except SqlIntegrityError as exc:
                raise RecordConflict(
                    f"an API token named {name!r} already exists",
                    hint="choose another name, or revoke the old token first",
                ) from exc
            return _to_token(row)

    async def find_token(self, token_sha256: str) -> ApiToken | None:
        async with self._db.session() as session:
            row = await session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_sha256 == token_sha256))
            return None if row is None else _to_token(row)

    async def touch_token(self, token_id: int, *, now: datetime) -> None:
        async with self._db.session() as session:
            await session.execute(
                update(ApiTokenRow).where(ApiTokenRow.id == token_id).values(last_used_time=now)
            )
            await session.commit()

    async def list_tokens(self) -> list[ApiToken]:
        async with self._db.session() as session:
            rows = await session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.id))
            return [_to_token(row) for row in rows]

    async def delete_token(self, token_id: int) -> ApiToken:
        async with self._db.session() as session:
            row = await session.get(ApiTokenRow, token_id)
            if row is None:
                raise RecordNotFound(
                    f"API token {token_id} not found", hint="list the tokens to see their ids"
                )
            token = _to_token(row)
            await session.delete(row)
            await session.commit()
            return token


def _to_token(row: ApiTokenRow) -> ApiToken:
    return ApiToken(
        id=row.id, name=row.name, creation_time=row.creation_time, last_used_time=row.last_used_time
    )
