"""Which server and credentials a command uses, and the login file's safety."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ferry.errors import InvalidInput
from ferry.remote.login import (
    AccessFlags,
    SavedLogin,
    login_file_path,
    normalize_server_url,
    read_login,
    resolve_access,
    token_name,
    write_login,
)

SAVED = SavedLogin("http://127.0.0.1:8080", "cli-admin@host-abc123", "fry_saved", 7)


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("localhost:8080/", "http://localhost:8080"),
        ("ferry.example.com", "https://ferry.example.com"),
        ("http://ferry.example.com:8080/api/v2.0/", "http://ferry.example.com:8080"),
        ("HTTPS://ferry.example.com", "https://ferry.example.com"),
        ("https://example.com/ferry", "https://example.com/ferry"),
    ],
)
def test_server_urls_are_normalised(given: str, url: str) -> None:
    assert normalize_server_url(given) == url


@pytest.mark.parametrize("given", ["", "ftp://ferry.example.com", "http://"])
def test_what_is_not_a_server_url_is_refused(given: str) -> None:
    with pytest.raises(InvalidInput, match="URL"):
        normalize_server_url(given)


def test_a_password_in_the_server_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_server_url("http://admin:hunter2-secret@ferry:8080")

    assert "hunter2-secret" not in str(caught.value)


def test_the_login_file_lives_under_xdg_config_home(tmp_path: Path) -> None:
    assert login_file_path({"XDG_CONFIG_HOME": "/cfg"}, tmp_path) == Path("/cfg/ferry/login.json")
    assert login_file_path({}, tmp_path) == tmp_path / ".config" / "ferry" / "login.json"


def test_flags_come_before_the_login_file() -> None:
    access = resolve_access(AccessFlags("http://other:8080", None, "fry_flag"), SAVED)

    assert (access.url, access.user, access.password, access.source) == (
        "http://other:8080", "admin", "fry_flag", "flags",
    )  # fmt: skip


def test_a_password_from_the_environment_is_named_as_such_for_hints() -> None:
    flags = AccessFlags(None, None, "pw", from_environment=frozenset({"password"}))

    assert resolve_access(flags, SAVED).source == "environment"


def test_the_login_file_gives_server_and_token_when_nothing_else_does() -> None:
    access = resolve_access(AccessFlags(), SAVED)

    assert (access.url, access.user, access.password, access.source) == (
        SAVED.url, SAVED.user, "fry_saved", "login file",
    )  # fmt: skip


def test_the_saved_token_serves_the_same_server_named_by_flag() -> None:
    assert resolve_access(AccessFlags("127.0.0.1:8080"), SAVED).password == "fry_saved"


def test_the_saved_token_is_never_sent_to_another_server() -> None:
    with pytest.raises(InvalidInput, match="no credentials for ferry at http://other:8080") as caught:
        resolve_access(AccessFlags("http://other:8080"), SAVED)

    assert "ferry login http://other:8080" in str(caught.value.hint)


def test_nothing_configured_says_how_to_configure() -> None:
    with pytest.raises(InvalidInput, match="no ferry server is configured") as caught:
        resolve_access(AccessFlags(), None)

    assert "ferry login" in str(caught.value.hint)
    assert "FERRY_SERVER" in str(caught.value.hint)


def test_the_login_file_is_written_0600_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "ferry" / "login.json"

    write_login(path, SAVED)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert read_login(path) == SAVED
    assert list(path.parent.iterdir()) == [path]


def test_a_login_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "login.json"
    write_login(path, SAVED)
    path.chmod(0o644)

    with pytest.raises(InvalidInput, match="can be read by other users") as caught:
        read_login(path)

    assert "chmod 600" in str(caught.value.hint)


def test_a_damaged_login_file_says_to_log_in_again(tmp_path: Path) -> None:
    path = tmp_path / "login.json"
    path.write_text("{not json")
    path.chmod(0o600)

    with pytest.raises(InvalidInput, match="damaged"):
        read_login(path)
    assert read_login(tmp_path / "missing.json") is None


def test_token_names_say_who_and_where_and_differ() -> None:
    first, second = token_name("admin", "build-host"), token_name("admin", "build-host")

    assert first.startswith("cli-admin@build-host-")
    assert first != second
    assert len(token_name("admin", "h" * 100)) == 64
