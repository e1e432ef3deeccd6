"""The managed local registry's ``config.yml``: what distribution 2.8 reads, and who may read it."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from ferry.errors import InvalidInput
from ferry.jobs.local_registry import LocalRegistrySettings, render_config, write_config

RECEIVER = "http://127.0.0.1:8080/service/notifications/registry"


def _written(settings: LocalRegistrySettings) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(write_config(settings).read_text())
    return loaded


def test_config_points_storage_and_address_at_the_settings(tmp_path: Path) -> None:
    config = _written(LocalRegistrySettings(root=tmp_path, port=5123))

    assert config["version"] == "0.1"
    assert config["log"]["level"] == "info"
    assert config["storage"]["filesystem"]["rootdirectory"] == str(tmp_path / "storage")
    assert config["storage"]["delete"]["enabled"] is True
    assert config["http"]["addr"] == "127.0.0.1:5123"
    assert config["http"]["headers"] == {"X-Content-Type-Options": ["nosniff"]}
    assert config["health"]["storagedriver"]["enabled"] is True


def test_delete_can_be_disabled(tmp_path: Path) -> None:
    config = render_config(LocalRegistrySettings(root=tmp_path, delete_enabled=False), secret="s")

    assert config["storage"]["delete"]["enabled"] is False


def test_notification_endpoint_carries_the_bearer_token(tmp_path: Path) -> None:
    settings = LocalRegistrySettings(root=tmp_path, notify_url=RECEIVER, notify_token="tok-123")

    (endpoint,) = _written(settings)["notifications"]["endpoints"]

    assert endpoint == {
        "name": "ferry",
        "url": RECEIVER,
        "headers": {"Authorization": ["Bearer tok-123"]},
        "timeout": "2s",
        "threshold": 5,
        "backoff": "1s",
        "ignoredmediatypes": ["application/octet-stream"],
    }


def test_no_notifications_without_a_receiver(tmp_path: Path) -> None:
    config = render_config(LocalRegistrySettings(root=tmp_path, notify_token="unused"), secret="s")

    assert "notifications" not in config


def test_config_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    settings = LocalRegistrySettings(root=tmp_path, notify_url=RECEIVER, notify_token="tok-123")
    settings.config_file.write_text("old")
    settings.config_file.chmod(0o644)

    path = write_config(settings)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "tok-123" in path.read_text()


def test_each_write_gets_a_fresh_http_secret(tmp_path: Path) -> None:
    settings = LocalRegistrySettings(root=tmp_path)

    assert _written(settings)["http"]["secret"] != _written(settings)["http"]["secret"]


def test_ipv6_host_is_bracketed(tmp_path: Path) -> None:
    settings = LocalRegistrySettings(root=tmp_path, host="::1", port=5001)

    assert render_config(settings, secret="s")["http"]["addr"] == "[::1]:5001"


def test_relative_root_becomes_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    settings = LocalRegistrySettings(root=Path("data/registry"))

    assert settings.storage_dir == tmp_path / "data" / "registry" / "storage"


def test_token_is_not_in_the_settings_repr(tmp_path: Path) -> None:
    assert "tok-123" not in repr(LocalRegistrySettings(root=tmp_path, notify_token="tok-123"))


@pytest.mark.parametrize("token", ["", "two words", "line\nbreak"])
def test_token_that_cannot_be_a_header_value_is_refused(tmp_path: Path, token: str) -> None:
    with pytest.raises(InvalidInput, match="token"):
        LocalRegistrySettings(root=tmp_path, notify_token=token)


@pytest.mark.parametrize("port", [0, 65536])
def test_port_out_of_range_is_refused(tmp_path: Path, port: int) -> None:
    with pytest.raises(InvalidInput, match=str(port)):
        LocalRegistrySettings(root=tmp_path, port=port)
