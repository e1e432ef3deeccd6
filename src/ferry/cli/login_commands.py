"""``ferry login`` and ``ferry logout``: remember a server with an API token, never the password."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from typing import TYPE_CHECKING

import click

from ferry.cli.remote import login_path, stderr_console
from ferry.cli.run import cli_errors
from ferry.errors import FerryError, InvalidInput, RecordNotFound

if TYPE_CHECKING:
    from ferry.remote.api import FerryApi


@click.command("login")
@click.argument("url", required=False, metavar="[URL]")
@click.option(
    "-u", "--user", envvar="FERRY_USER", show_envvar=True, help="The user to sign in as (default: admin)."
)
@click.option("--password-stdin", is_flag=True, help="Read the password (or an API token) from stdin.")
def login(url: str | None, user: str | None, password_stdin: bool) -> None:
    """Sign in to the ferry server at URL and remember it for later commands.

    \b
    The password is asked for (hidden) unless --password-stdin or FERRY_PASSWORD gives it. ferry
    then creates an API token on the server and saves only the URL and that token in
    $XDG_CONFIG_HOME/ferry/login.json (~/.config/ferry/login.json, mode 0600): the admin
    password never lands on disk. Given an API token (fry_...) instead of a password, ferry
    saves the token as it is. `ferry logout` revokes the token and deletes the file.

    \b
    Examples:
      ferry login http://127.0.0.1:8080
      printf '%s' "$ADMIN_PASSWORD" | ferry login http://ferry.example.com:8080 --password-stdin
      FERRY_PASSWORD=fry_... ferry login https://ferry.example.com   # a token made by an admin
    """
    from ferry.remote.api import FerryApi
    from ferry.remote.client import ApiClient
    from ferry.remote.login import (
        DEFAULT_USER,
        SavedLogin,
        ServerAccess,
        is_token,
        normalize_server_url,
        read_login,
        token_name,
        write_login,
    )

    with cli_errors():
        path = login_path()
        saved = read_login(path)
        given = url or os.environ.get("FERRY_SERVER") or (saved.url if saved else None)
        if not given:
            raise InvalidInput("which server?", hint="give its URL: ferry login http://127.0.0.1:8080")
        server = normalize_server_url(given)
        user = user or DEFAULT_USER
        password = _password(server, user, from_stdin=password_stdin)
        with ApiClient(ServerAccess(server, user, password, "login")) as client:
            api = FerryApi(client)
            if is_token(password):
                api.list_registries()  # proves the token works before it is saved
                login = SavedLogin(server, user, password, None)
            else:
                created = api.create_token(token_name(user, socket.gethostname()))
                login = SavedLogin(server, str(created["name"]), str(created["token"]), int(created["id"]))
            if saved is not None and saved.url == server and saved.token_id is not None:
                _revoke_quietly(api, saved.token_id)
        write_login(path, login)
        what = f"API token {login.user}" if login.token_id is not None else "the API token you gave"
        stderr_console().print(
            f"logged in to {server}; {what} is saved in {path} (mode 0600). Sign out with `ferry logout`."
        )


@click.command("logout")
def logout() -> None:
    """Revoke the API token `ferry login` saved and delete the login file."""
    from rich.markup import escape

    from ferry.remote.api import FerryApi
    from ferry.remote.client import ApiClient, SignInRefused
    from ferry.remote.login import ServerAccess, read_login, remove_login

    with cli_errors():
        path = login_path()
        console = stderr_console()
        saved = read_login(path)
        if saved is None:
            console.print(f"not logged in (no {path})")
            return
        note = "the token you gave at login stays valid"
        if saved.token_id is not None:
            try:
                with ApiClient(ServerAccess(saved.url, saved.user, saved.token, "login file")) as client:
                    FerryApi(client).revoke_token(saved.token_id)
                note = f"API token {saved.user} revoked"
            except (RecordNotFound, SignInRefused):
                note = f"API token {saved.user} was already revoked"
            except FerryError as exc:
                note = (
                    f"[yellow]could not revoke API token {escape(saved.user)} (id {saved.token_id}): "
                    f"{escape(str(exc))}[/]; "
                    "an admin can revoke it with DELETE /api/v2.0/tokens/ID"
                )
        remove_login(path)
        console.print(f"logged out of {escape(saved.url)}; {note}; {escape(str(path))} deleted")


def _password(server: str, user: str, *, from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = os.environ.get("FERRY_PASSWORD") or click.prompt(
            f"Password for {user} at {server}", hide_input=True, default="", show_default=False
        )
    if not password:
        raise InvalidInput("no password given", hint="type it at the prompt, or pipe it to --password-stdin")
    return str(password)


def _revoke_quietly(api: FerryApi, token_id: int) -> None:
    """A new login replaces the old token: revoke it, but never fail the login over it."""
    with contextlib.suppress(FerryError):
        api.revoke_token(token_id)
