"""Fixtures for the integration tests that need a running ``ferry serve``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.ferry_server import FerryServer, start_ferry_server


@pytest.fixture(scope="module")
def ferry_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FerryServer]:
    """A real ``ferry serve`` (subprocess, managed local registry, random admin password), one per
    test module; stopped at teardown, which fails if ferry did not exit cleanly or left its
    registry running."""
    with start_ferry_server(tmp_path_factory.mktemp("ferry_server")) as server:
        yield server
