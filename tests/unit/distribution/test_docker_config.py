from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from ferry.distribution.docker_config import auth_files, find_credentials
from ferry.distribution.options import Credentials
from ferry.errors import InvalidInput


def write(path: Path, auths: dict[str, object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"auths": auths}))
    return path


def encoded(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def test_auth_entry_is_decoded(tmp_path: Path) -> None:
    config = write(tmp_path / "config.json", {"harbor.local": {"auth": encoded("admin", "p:ss")}})
    assert find_credentials("harbor.local", [config]) == Credentials("admin", "p:ss")


def test_url_keys_and_username_password_entries(tmp_path: Path) -> None:
    config = write(tmp_path / "config.json", {"https://reg.io:5000/v2/": {"username": "u", "password": "p"}})
    assert find_credentials("reg.io:5000", [config]) == Credentials("u", "p")


def test_docker_hub_uses_the_legacy_index_key(tmp_path: Path) -> None:
    config = write(tmp_path / "config.json", {"https://index.docker.io/v1/": {"auth": encoded("me", "tok")}})
    assert find_credentials("docker.io", [config]) == Credentials("me", "tok")


def test_first_file_with_an_entry_wins_and_missing_files_are_skipped(tmp_path: Path) -> None:
    first = write(tmp_path / "a.json", {"reg.io": {"auth": encoded("first", "1")}})
    second = write(tmp_path / "b.json", {"reg.io": {"auth": encoded("second", "2")}})
    assert find_credentials("reg.io", [tmp_path / "missing.json", first, second]) == Credentials("first", "1")
    assert find_credentials("other.io", [first, second]) is None


def test_broken_file_is_reported_with_its_path(tmp_path: Path) -> None:
    broken = tmp_path / "config.json"
    broken.write_text("{not json")
    with pytest.raises(InvalidInput, match=str(broken)):
        find_credentials("reg.io", [broken])


def test_search_order_honours_environment(tmp_path: Path) -> None:
    files = auth_files(
        {"REGISTRY_AUTH_FILE": "/x/auth.json", "XDG_RUNTIME_DIR": "/run/user/1", "DOCKER_CONFIG": "/d"},
        tmp_path,
    )
    assert files == [Path("/x/auth.json"), Path("/run/user/1/containers/auth.json"), Path("/d/config.json")]
    assert auth_files({}, tmp_path) == [tmp_path / ".docker" / "config.json"]


def test_credentials_never_show_the_password() -> None:
    assert "secret" not in repr(Credentials("user", "secret"))


def test_credentials_flag_must_have_a_colon() -> None:
    with pytest.raises(InvalidInput, match="USER:PASSWORD"):
        Credentials.parse("useronly")
