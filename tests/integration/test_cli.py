"""The `ferry` command as users run it: a real process against real registries."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.blobs import BlobSpec
from tests.support.images import build_image, build_index, push_image, push_index
from tests.support.registry import RegistryServer
from tests.support.skopeo import inspect_raw_digest, skopeo_list_tags

FERRY = [sys.executable, "-m", "ferry.cli.main"]
MiB = 1024 * 1024


def ferry(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FERRY, *args], capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})}
    )


def seed_library(registry: RegistryServer) -> dict[str, str]:
    """library/{web,api} × {prod-1,prod-2,v1,dev}, plus other/tool:prod-1 and a multi-arch index."""
    base = [BlobSpec(40_000, seed=1)]
    digests: dict[str, str] = {}
    for n, repository in enumerate(("library/web", "library/api", "other/tool")):
        tags = ("prod-1",) if repository == "other/tool" else ("prod-1", "prod-2", "v1", "dev")
        for m, tag in enumerate(tags):
            image = build_image([*base, BlobSpec(5_000, seed=100 + n * 10 + m)])
            digests[f"{repository}:{tag}"] = push_image(registry, repository, tag, image)
    index = build_index(
        [
            build_image([*base, BlobSpec(3_000, seed=200 + k)], architecture=arch)
            for k, arch in enumerate(("amd64", "arm64"))
        ],
        oci=True,
    )
    digests["library/multi:prod-1"] = push_index(registry, "library/multi", "prod-1", index)
    return digests


def test_sync_with_tag_filter_flattening_and_json(
    registry: RegistryServer, registry_b: RegistryServer
) -> None:
    digests = seed_library(registry)

    result = ferry(
        "sync",
        f"{registry.host}/library",
        f"{registry_b.host}/lgy-images",
        "--tag",
        "prod-*,v*",
        "--exclude-tag",
        "prod-2",
        "--json",
    )

    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    copied = {item["destination"].split("/", 1)[1] for item in summary["images"]}
    assert copied == {
        "lgy-images/web:prod-1",
        "lgy-images/web:v1",
        "lgy-images/api:prod-1",
        "lgy-images/api:v1",
        "lgy-images/multi:prod-1",
    }
    assert summary["counts"]["copied"] == 5
    assert sorted(skopeo_list_tags(registry_b, "lgy-images/web")) == ["prod-1", "v1"]
    for name in ("web", "api"):
        for tag in ("prod-1", "v1"):
            assert (
                inspect_raw_digest(registry_b, f"lgy-images/{name}", tag) == digests[f"library/{name}:{tag}"]
            )
    assert inspect_raw_digest(registry_b, "lgy-images/multi", "prod-1") == digests["library/multi:prod-1"]


def test_resync_is_up_to_date_and_sends_nothing(registry: RegistryServer, registry_b: RegistryServer) -> None:
    seed_library(registry)
    args = ("sync", f"{registry.host}/library", f"{registry_b.host}/mirror", "--json")
    first = ferry(*args)
    assert first.returncode == 0, first.stdout + first.stderr

    again = json.loads(ferry(*args).stdout)

    assert again["counts"]["up_to_date"] == len(again["images"]) == 9
    assert again["bytes_sent"] == 0


def test_flatten_zero_keeps_the_whole_path(registry: RegistryServer, registry_b: RegistryServer) -> None:
    digests = seed_library(registry)

    result = ferry("sync", registry.host, f"{registry_b.host}/all", "--flatten", "0", "--name", "other/**")

    assert result.returncode == 0, result.stderr
    assert inspect_raw_digest(registry_b, "all/other/tool", "prod-1") == digests["other/tool:prod-1"]


def test_name_filter_that_matches_nothing_suggests_the_harbor_pattern(
    registry: RegistryServer, registry_b: RegistryServer
) -> None:
    seed_library(registry)

    result = ferry("sync", registry.host, f"{registry_b.host}/ns", "--name", "we*")

    assert result.returncode == 1
    assert "matches none of the 4 repositories" in result.stderr
    assert "'**/we*' would match 1 repository" in result.stderr


def test_dry_run_lists_the_plan_and_copies_nothing(
    registry: RegistryServer, registry_b: RegistryServer
) -> None:
    seed_library(registry)

    result = ferry("sync", f"{registry.host}/library", f"{registry_b.host}/ns", "--tag", "v1", "--dry-run")

    assert result.returncode == 0, result.stderr
    assert "would copy" in result.stdout
    assert "library/web:v1" in result.stdout
    assert "nothing was copied" in result.stdout
    assert (
        ferry(
            "sync", f"{registry.host}/library", f"{registry_b.host}/ns", "--tag", "v1", "--dry-run", "--json"
        ).returncode
        == 0
    )
    assert httpx.get(f"{registry_b.url}/v2/_catalog").json()["repositories"] == []


def test_no_override_reports_skipped_images(registry: RegistryServer, registry_b: RegistryServer) -> None:
    push_image(registry, "library/app", "v1", build_image([BlobSpec(1_000, seed=7)]))
    push_image(registry_b, "ns/app", "v1", build_image([BlobSpec(1_000, seed=8)]))

    result = ferry("copy", f"{registry.host}/library/app:v1", f"{registry_b.host}/ns/app:v1", "--no-override")

    assert result.returncode == 0, result.stderr
    assert "skipped" in result.stdout
    assert "enable override" in result.stdout


def test_copy_defaults_the_destination_tag_to_the_source_tag(
    registry: RegistryServer, registry_b: RegistryServer
) -> None:
    image = build_image([BlobSpec(2_000, seed=9)])
    push_image(registry, "library/app", "v7", image)

    result = ferry("copy", f"{registry.host}/library/app:v7", f"{registry_b.host}/ns/app")

    assert result.returncode == 0, result.stderr
    assert inspect_raw_digest(registry_b, "ns/app", "v7") == image.digest


def test_failed_image_gives_exit_status_one_and_the_reason(
    registry: RegistryServer, registry_b: RegistryServer
) -> None:
    result = ferry("copy", f"{registry.host}/library/app:missing", f"{registry_b.host}/ns/app")

    assert result.returncode == 1
    assert "source image not found" in result.stdout
    assert "1 image(s) failed" in result.stderr


def test_credentials_from_docker_config(
    registry: RegistryServer, basic_registry: RegistryServer, tmp_path: Path
) -> None:
    image = build_image([BlobSpec(2_000, seed=10)])
    push_image(registry, "library/app", "v1", image)
    auth = base64.b64encode(f"{basic_registry.username}:{basic_registry.password}".encode()).decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {basic_registry.host: {"auth": auth}}}))

    result = ferry(
        "copy",
        f"{registry.host}/library/app:v1",
        f"{basic_registry.host}/ns/app:v1",
        env={"DOCKER_CONFIG": str(tmp_path)},
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert inspect_raw_digest(basic_registry, "ns/app", "v1") == image.digest


def test_wrong_credentials_are_explained_without_echoing_them(
    registry: RegistryServer, basic_registry: RegistryServer
) -> None:
    push_image(registry, "library/app", "v1", build_image([BlobSpec(2_000, seed=11)]))

    result = ferry(
        "copy",
        f"{registry.host}/library/app:v1",
        f"{basic_registry.host}/ns/app:v1",
        "--dest-creds",
        "admin:Sup3rSecret!",
    )

    assert result.returncode == 1
    assert "HTTP 401" in result.stdout
    assert "check the credentials" in result.stdout
    assert "Sup3rSecret" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("copy", "Bad Ref", "127.0.0.1:1/x"), "invalid"),
        (("sync", "127.0.0.1:1/library", "127.0.0.1:2"), "has no namespace"),
        (("sync", "127.0.0.1:1", "127.0.0.1:2/ns", "--tag", "[oops"), "[oops"),
        (("sync", "127.0.0.1:1", "127.0.0.1:2/ns", "--limit-rate", "fast"), "--limit-rate"),
    ],
)
def test_bad_input_gets_a_clear_error(args: tuple[str, ...], message: str) -> None:
    result = ferry(*args)
    assert result.returncode in (1, 2)
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_help_teaches_with_examples() -> None:
    result = ferry("sync", "--help")
    assert result.returncode == 0
    for option in (
        "--name",
        "--tag",
        "--exclude-tag",
        "--flatten",
        "--dry-run",
        "--limit-rate",
        "--src-creds",
    ):
        assert option in result.stdout


@pytest.mark.slow
def _high_water_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def test_large_blob_copies_with_flat_memory(registry: RegistryServer, registry_b: RegistryServer) -> None:
    layer = BlobSpec(256 * MiB, seed=12)
    image = build_image([layer])
    push_image(registry, "library/big", "v1", image)

    process = subprocess.Popen(
        [*FERRY, "copy", f"{registry.host}/library/big:v1", f"{registry_b.host}/ns/big:v1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # ru_maxrss of a child includes the RSS of the (large) pytest process it was forked from, so
    # read ferry's own high-water mark (VmHWM, per address space) until it exits.
    peak_kib = 0
    while process.poll() is None:
        peak_kib = max(peak_kib, _high_water_kib(process.pid))
        time.sleep(0.05)
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    peak_mib = peak_kib / 1024
    assert 0 < peak_mib < 150, f"peak RSS {peak_mib:.0f} MiB for a 256 MiB blob"
    assert inspect_raw_digest(registry_b, "ns/big", "v1") == image.digest
