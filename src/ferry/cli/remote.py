"""What every command that talks to a running ``ferry serve`` shares: the ``--server``/``--user``/
``--password`` options, credential resolution, and the API client.

ferry.remote (and with it httpx) is imported only when such a command runs, so ``ferry copy``
starts as fast as before.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.core import ParameterSource

if TYPE_CHECKING:
    from rich.console import Console

    from ferry.remote.api import FerryApi

F = TypeVar("F", bound=Callable[..., Any])

SERVER_HELP = """\b
The server and credentials come from --server/--user/--password, else FERRY_SERVER,
FERRY_USER (default admin) and FERRY_PASSWORD (the admin password or an API token), else
the login file `ferry login` wrote."""


def server_options(function: F) -> F:
    options = [
        click.option(
            "--server",
            metavar="URL",
            envvar="FERRY_SERVER",
            show_envvar=True,
            help="The ferry server, e.g. http://127.0.0.1:8080 (default: the one `ferry login` saved).",
        ),
        click.option(
            "--user",
            metavar="NAME",
            envvar="FERRY_USER",
            show_envvar=True,
            help="User to sign in as (default: admin; any name with an API token).",
        ),
        click.option(
            "--password",
            metavar="SECRET",
            envvar="FERRY_PASSWORD",
            show_envvar=True,
            help="The admin password or an API token. Prefer the environment variable: a flag is "
            "visible to other users in the process list.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def login_path() -> Path:
    from ferry.remote.login import login_file_path

    return login_file_path(os.environ, Path.home())


def server_configured(flags: dict[str, Any]) -> bool:
    """Whether a command with both a local and a server mode should talk to a server: yes when
    --server/FERRY_SERVER is given or a login file exists, unless a local data directory or
    database is named explicitly."""
    if flags.get("data_dir") or flags.get("database_url"):
        return False
    return bool(flags.get("server")) or login_path().exists()


@contextmanager
def connect(flags: dict[str, Any]) -> Iterator[FerryApi]:
    """An API client for the server the flags, the environment or the login file name."""
    from ferry.remote.api import FerryApi
    from ferry.remote.client import ApiClient
    from ferry.remote.login import AccessFlags, read_login, resolve_access

    context = click.get_current_context()
    from_environment = frozenset(
        name
        for name in ("server", "user", "password")
        if context.get_parameter_source(name) is ParameterSource.ENVIRONMENT
    )
    given = AccessFlags(flags.get("server"), flags.get("user"), flags.get("password"), from_environment)
    access = resolve_access(given, read_login(login_path()))
    with ApiClient(access) as client:
        yield FerryApi(client)


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """A title line, then a table of rich-markup cells, on stdout."""
    from rich.table import Table

    table = Table()
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console = stdout_console()
    console.print(title)
    console.print(table)


def stdout_console() -> Console:
    from rich.console import Console

    return Console(highlight=False)


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)
