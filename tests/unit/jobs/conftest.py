"""The store's fixtures (``tests/store/conftest.py``): a fresh, migrated store per test, on SQLite and
on PostgreSQL, for the jobs that work on the database (the scheduler)."""

from tests.store.conftest import database_url, secrets, store

__all__ = ["database_url", "secrets", "store"]
