"""The command line against a running `ferry serve`, as a user runs it: login and logout,
registries, policies, replicate (checked with skopeo), logs, executions, apply and export.

One real server per module (`ferry_server`: a `ferry serve` subprocess with its managed
docker-registry), real docker-registry processes as remote registries, and every command a `ferry`
subprocess with its own HOME, so the login file is the one a user would have.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.blobs import BlobSpec
from tests.support.ferry_server import FerryServer, ferry_command, start_ferry_server
from tests.support.images import build_image, push_image
from tests.support.net import free_port
from tests.support.registry import RegistryServer, start_registry
from tests.support.skopeo import inspect_raw_digest

FERRY = ferry_command()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "aliyun-guide.yaml"


@pytest.fixture(scope="module")
def destination(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    with start_registry(tmp_path_factory.mktemp("destination")) as registry:
        yield registry


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    with start_registry(tmp_path_factory.mktemp("guarded"), auth="htpasswd") as registry:
        yield registry


class Cli:
    """Runs `ferry` as a user would, with a HOME of its own and no FERRY_* from outside."""

    def __init__(self, home: Path, **environment: str) -> None:
        self.home = home
        self.environment = environment

    @property
    def login_file(self) -> Path:
        return self.home / ".config" / "ferry" / "login.json"

    def __call__(
        self, *args: str, stdin: str | None = None, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("FERRY_")}
        env.update(HOME=str(self.home), XDG_CONFIG_HOME=str(self.home / ".config"), COLUMNS="200")
        env.update(self.environment)
        env.update(extra)
        return subprocess.run(
            [*FERRY, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120, check=False
        )


@pytest.fixture
def anonymous(tmp_path: Path) -> Cli:
    """A user who has not logged in and set nothing."""
    return Cli(tmp_path / "home")


@pytest.fixture
def admin(tmp_path: Path, ferry_server: FerryServer) -> Cli:
    """A user with FERRY_SERVER and FERRY_PASSWORD set, the way scripts and CI run ferry."""
    return Cli(tmp_path / "home", FERRY_SERVER=ferry_server.url, FERRY_PASSWORD=ferry_server.password)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (
        f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result


def failed_with_fix(result: subprocess.CompletedProcess[str], message: str) -> None:
    """Exit 1 with one error and a hint, never a traceback."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stderr, result.stderr
    assert "hint:" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def test_login_saves_a_token_and_later_commands_need_no_flags(
    anonymous: Cli, ferry_server: FerryServer
) -> None:
    ok(anonymous("login", ferry_server.url, "--password-stdin", stdin=ferry_server.password + "\n"))

    mode = stat.S_IMODE(anonymous.login_file.stat().st_mode)
    saved = anonymous.login_file.read_text()
    assert mode == 0o600
    assert ferry_server.password not in saved
    assert json.loads(saved)["token"].startswith("fry_")
    listed = ok(anonymous("registry", "list"))
    assert f"on {ferry_server.url}" in listed.stdout


def test_logout_revokes_the_saved_token(anonymous: Cli, ferry_server: FerryServer) -> None:
    ok(anonymous("login", ferry_server.url, "--password-stdin", stdin=ferry_server.password))
    token = json.loads(anonymous.login_file.read_text())["token"]

    logged_out = ok(anonymous("logout"))

    assert "revoked" in logged_out.stderr
    assert "already" not in logged_out.stderr
    assert not anonymous.login_file.exists()
    failed_with_fix(
        anonymous("registry", "list", "--server", ferry_server.url, FERRY_PASSWORD=token),
        "refused the sign-in",
    )


def test_registry_add_list_ping_delete(admin: Cli, destination: RegistryServer) -> None:
    name = unique("plain")

    added = ok(admin("registry", "add", name, "--url", destination.url))
    listed = ok(admin("registry", "list"))
    pinged = ok(admin("registry", "ping", name))
    ok(admin("registry", "delete", name))

    assert "healthy" in added.stderr
    row = next(line for line in listed.stdout.splitlines() if name in line)
    assert destination.url in row
    assert "healthy" in row
    assert pinged.stdout.startswith("ok")
    assert name not in ok(admin("registry", "list")).stdout


def test_registry_add_takes_provider_settings_and_list_shows_them(
    admin: Cli, destination: RegistryServer
) -> None:
    name = unique("settings")

    added = ok(
        admin(
            "registry", "add", name, "--url", destination.url, "--provider-setting", "drop_attestations=true",
            "--provider-setting", "create_namespace=False",
        )
    )  # fmt: skip
    listed = ok(admin("registry", "list"))
    shown = json.loads(ok(admin("registry", "list", "--json")).stdout)
    ok(admin("registry", "delete", name))

    assert "provider settings: create_namespace=false drop_attestations=true" in added.stderr
    header = next(line for line in listed.stdout.splitlines() if "provider settings" in line)
    assert "access key" in header
    row = next(line for line in listed.stdout.splitlines() if name in line)
    assert "create_namespace=false drop_attestations=true" in row
    [registry] = [item for item in shown if item["name"] == name]
    assert registry["provider_settings"]["drop_attestations"] is True
    assert registry["provider_settings"]["create_namespace"] is False


def test_registry_add_refuses_an_unknown_provider_setting_and_lists_the_keys(admin: Cli) -> None:
    unknown = admin(
        "registry", "add", unique("typo"), "--url", "https://r.example", "--provider-setting", "regoin=x"
    )
    flag = admin(
        "registry",
        "add",
        unique("typo"),
        "--url",
        "https://r.example",
        "--provider-setting",
        "drop_attestations=yes",
    )
    invalid = admin(
        "registry", "add", unique("typo"), "--type", "ali-acr", "--url", "https://r.example",
        "--provider-setting", "region=Hangzhou",
    )  # fmt: skip

    failed_with_fix(unknown, "unknown key 'regoin'")
    assert "openapi_endpoint, region, instance_id, create_namespace" in unknown.stderr
    failed_with_fix(flag, "drop_attestations='yes': not true or false")
    assert invalid.returncode == 1  # the server's answer, with its hint in parentheses
    assert "provider_settings.region: 'Hangzhou' is not a region id (e.g. cn-hangzhou" in invalid.stderr


def test_a_wrong_registry_password_fails_the_ping_with_the_guides_message(
    admin: Cli, guarded: RegistryServer
) -> None:
    name, wrong = unique("guarded"), "wrong-" + secrets.token_hex(6)
    assert guarded.username is not None

    added = ok(
        admin(
            "registry", "add", name, "--url", guarded.url, "--access-key", guarded.username,
            "--access-secret-env", "GUARDED_SECRET", GUARDED_SECRET=wrong,
        )
    )  # fmt: skip
    pinged = admin("registry", "ping", name)
    listed = ok(admin("registry", "list", "--json"))

    assert pinged.returncode == 1
    assert "Failed to ping endpoint: unauthorized" in pinged.stderr
    assert "Traceback" not in pinged.stderr
    assert "unhealthy" in added.stderr
    shown = next(item for item in json.loads(listed.stdout) if item["name"] == name)
    assert shown["credential"]["access_secret"] == "*****"
    for output in (added, pinged, listed):
        assert wrong not in output.stdout + output.stderr


def test_policy_create_list_show_delete(admin: Cli, destination: RegistryServer) -> None:
    registry, name = unique("dest"), unique("nightly")
    ok(admin("registry", "add", registry, "--url", destination.url))

    ok(
        admin(
            "policy", "create", name, "--src", "Local", "--dest", registry, "--dest-namespace", "mirror",
            "--name-filter", "library/**", "--tag-filter", "v*", "--tag-exclude", "*-rc*",
            "--cron", "0 0 2 * * *", "--flatten", "1",
        )
    )  # fmt: skip
    listed = ok(admin("policy", "list"))
    shown = ok(admin("policy", "show", name))
    raw = json.loads(ok(admin("policy", "show", name, "--json")).stdout)
    ok(admin("policy", "delete", name))

    row = next(line for line in listed.stdout.splitlines() if name in line)
    assert f"Local → {registry}" in row
    assert "scheduled 0 0 2 * * *" in row
    assert "name=library/** tag=v* !tag=*-rc*" in shown.stdout
    assert raw["dest_namespace_replace_count"] == 1
    assert raw["dest_registry"]["name"] == registry
    assert name not in ok(admin("policy", "list")).stdout


def test_replicate_copies_digest_exact_and_logs_show_the_task(
    admin: Cli, ferry_server: FerryServer, destination: RegistryServer
) -> None:
    repository, registry, name = unique("library/app"), unique("dest"), unique("push")
    digest = push_image(
        ferry_server.local_registry, repository, "v1", build_image([BlobSpec(5_000, seed=41)])
    )
    ok(admin("registry", "add", registry, "--url", destination.url))
    ok(admin("policy", "create", name, "--src", "Local", "--dest", registry, "--dest-namespace", "mirror",
             "--name-filter", repository))  # fmt: skip

    replicated = ok(admin("replicate", name))

    copied = f"mirror/{repository.rsplit('/', 1)[1]}"
    assert inspect_raw_digest(destination, copied, "v1") == digest
    assert "Succeed" in replicated.stdout
    executions = json.loads(ok(admin("executions", "list", "--json")).stdout)
    policy_id = json.loads(ok(admin("policy", "show", name, "--json")).stdout)["id"]
    execution = next(item for item in executions if item["policy_id"] == policy_id)
    assert execution["status"] == "Succeed"
    assert f"on ferry at {ferry_server.url}" in ok(admin("executions", "list")).stdout
    shown = json.loads(ok(admin("executions", "show", str(execution["id"]), "--json")).stdout)
    [task] = shown["tasks"]
    log = ok(admin("logs", str(execution["id"]), str(task["id"]))).stdout
    assert copied in log
    every = ok(admin("logs", str(execution["id"]))).stdout
    assert every.startswith(f"==> task {task['id']}: {repository}")
    assert log in every


def _rules(
    path: Path,
    registry_url: str,
    names: dict[str, str],
    namespace: str = "mirror",
    settings: str = "{drop_attestations: true}",
) -> Path:
    path.write_text(
        f"""
registries:
  - name: {names["registry"]}
    url: {registry_url}
    credential: {{access_key: robot, access_secret_env: RULES_SECRET}}
    provider_settings: {settings}
policies:
  - name: {names["first"]}
    src_registry: Local
    dest_registry: {names["registry"]}
    dest_namespace: {namespace}
    filters: [{{type: name, value: "library/**"}}, {{type: tag, value: "prod-*, v*"}}]
  - name: {names["second"]}
    src_registry: Local
    dest_registry: {names["registry"]}
    trigger: {{type: scheduled, cron: "0 30 1 * * *"}}
"""
    )
    return path


def _change(output: str, name: str) -> str:
    return next(line for line in output.splitlines() if re.search(rf"\b{re.escape(name)}\b", line))


def test_apply_creates_then_changes_nothing_then_updates_exactly_what_changed(
    admin: Cli, destination: RegistryServer, tmp_path: Path
) -> None:
    names = {"registry": unique("acr"), "first": unique("prod"), "second": unique("nightly")}
    rules = _rules(tmp_path / "ferry.yaml", destination.url, names)

    first = ok(admin("apply", "-f", str(rules), RULES_SECRET="s3cret-one"))
    second = ok(admin("apply", "-f", str(rules), RULES_SECRET="s3cret-one"))
    _rules(rules, destination.url, names, namespace="mirror2")
    dry = ok(admin("apply", "-f", str(rules), "--dry-run", RULES_SECRET="s3cret-one"))
    third = ok(admin("apply", "-f", str(rules), RULES_SECRET="s3cret-one"))
    _rules(rules, destination.url, names, namespace="mirror2", settings="{region: cn-hangzhou}")
    fourth = ok(admin("apply", "-f", str(rules), RULES_SECRET="s3cret-one"))
    fifth = ok(admin("apply", "-f", str(rules), RULES_SECRET="s3cret-one"))

    assert all("+ create" in _change(first.stdout, name) for name in names.values())
    assert all("= unchanged" in _change(second.stdout, name) for name in names.values())
    assert "~ update" in _change(dry.stdout, names["first"])
    assert "dest_namespace" in _change(dry.stdout, names["first"])
    assert "= unchanged" in _change(dry.stdout, names["second"])
    assert "= unchanged" in _change(dry.stdout, names["registry"])
    assert _change(third.stdout, names["first"]) == _change(dry.stdout, names["first"])
    shown = json.loads(ok(admin("policy", "show", names["first"], "--json")).stdout)
    assert shown["dest_namespace"] == "mirror2"
    changed = _change(fourth.stdout, names["registry"])
    assert "~ update" in changed
    assert "provider_settings.region" in changed
    assert "provider_settings.drop_attestations" in changed
    assert "= unchanged" in _change(fifth.stdout, names["registry"])
    [registry] = [
        item
        for item in json.loads(ok(admin("registry", "list", "--json")).stdout)
        if item["name"] == names["registry"]
    ]
    assert registry["provider_settings"]["region"] == "cn-hangzhou"
    assert registry["provider_settings"]["drop_attestations"] is None


def test_export_applied_to_an_empty_server_exports_the_same_file(
    admin: Cli, destination: RegistryServer, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    names = {"registry": unique("acr"), "first": unique("prod"), "second": unique("nightly")}
    ok(
        admin(
            "apply",
            "-f",
            str(_rules(tmp_path / "ferry.yaml", destination.url, names)),
            RULES_SECRET="s3cret-two",
        )
    )
    exported = ok(admin("export")).stdout
    assert "provider_settings:\n    drop_attestations: true\n" in exported
    variables = dict.fromkeys(re.findall(r"^#\s+export (FERRY_SECRET_\w+)=", exported, re.MULTILINE), "x")
    assert f"FERRY_SECRET_{names['registry'].upper().replace('-', '_')}" in variables
    assert "s3cret" not in exported
    (tmp_path / "exported.yaml").write_text(exported)

    empty = start_ferry_server(tmp_path_factory.mktemp("ferry-empty"))
    try:
        other = Cli(admin.home, FERRY_SERVER=empty.url, FERRY_PASSWORD=empty.password, **variables)
        ok(other("apply", "-f", str(tmp_path / "exported.yaml")))
        again = ok(other("export", "-o", str(tmp_path / "again.yaml")))
    finally:
        empty.stop()

    assert (tmp_path / "again.yaml").read_text() == exported
    assert "wrote" in again.stderr


def test_the_aliyun_guide_example_applies_in_a_dry_run(admin: Cli) -> None:
    planned = ok(admin("apply", "-f", str(EXAMPLE), "--dry-run", ACR_PASSWORD="acr-fixed-password"))

    for name in ("aliyun-acr", "prod-to-aliyun", "test-to-aliyun"):
        assert "+ create" in _change(planned.stdout, name)
    assert "nothing was changed" in planned.stderr
    assert "acr-fixed-password" not in planned.stdout + planned.stderr


def test_executions_without_a_server_read_the_local_data_directory(anonymous: Cli, tmp_path: Path) -> None:
    listed = ok(anonymous("executions", "list", FERRY_DATA_DIR=str(tmp_path / "data")))

    assert f"in the data directory {tmp_path / 'data'}" in listed.stdout


def test_errors_say_how_to_fix_them(anonymous: Cli, admin: Cli, ferry_server: FerryServer) -> None:
    down = f"http://127.0.0.1:{free_port()}"

    failed_with_fix(anonymous("registry", "list", "--server", down, "--password", "x"), "cannot reach ferry")
    failed_with_fix(anonymous("policy", "list"), "no ferry server is configured")
    failed_with_fix(
        anonymous("policy", "list", "--server", ferry_server.url, FERRY_PASSWORD="not-the-password"),
        "refused the sign-in",
    )
    failed_with_fix(admin("replicate", "no-such-policy"), "no replication rule named 'no-such-policy'")
