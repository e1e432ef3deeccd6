"""The README's first command: two local registries, demo images, one `ferry sync` between them.

Demo tooling, not product code: it starts Debian's docker-registry twice under .work/demo, pushes
a few synthetic images (shared base layers, several tags, one multi-arch index) with ferry's own
client, runs the sync, runs it again to show the digest-first no-op, and checks one digest with skopeo.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

from ferry.distribution.client import RegistryClient, UploadSession
from ferry.oci.digest import Digest
from ferry.oci.manifest import Manifest

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".work" / "demo"
LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
CONFIG = "application/vnd.docker.container.image.v1+json"
MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX = "application/vnd.docker.distribution.manifest.list.v2+json"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_registry(name: str) -> tuple[str, subprocess.Popen[bytes]]:
    binary = shutil.which("docker-registry")
    if binary is None:
        sys.exit("docker-registry is missing: run `bash scripts/bootstrap.sh` (it installs docker-registry)")
    port = free_port()
    directory = WORK / name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    config = directory / "config.yml"
    config.write_text(
        "version: 0.1\nlog: {level: error}\n"
        f"storage: {{filesystem: {{rootdirectory: {directory / 'data'}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
    )
    log = (directory / "registry.log").open("wb")
    process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return f"127.0.0.1:{port}", process
        except OSError:
            time.sleep(0.05)
    process.kill()
    sys.exit(f"{name} registry did not start; see {directory / 'registry.log'}")


def pseudo_random(size: int, seed: str) -> bytes:
    chunks: list[bytes] = []
    for counter in range(size // 4096 + 1):
        chunks.append(hashlib.sha512(f"{seed}/{counter}".encode()).digest() * 64)
    return b"".join(chunks)[:size]


async def push_blob(
    client: RegistryClient, repository: str, data: bytes, media_type: str
) -> dict[str, object]:
    digest = Digest.of(data)
    if await client.head_blob(repository, digest) is None:
        upload = await client.start_upload(repository)
        assert isinstance(upload, UploadSession)

        async def body() -> AsyncIterator[bytes]:
            yield data

        await client.put_upload(upload, digest, len(data), body())
    return {"mediaType": media_type, "digest": str(digest), "size": len(data)}


async def push_image(
    client: RegistryClient, repository: str, tag: str, arch: str, base: list[bytes]
) -> Manifest:
    layers = [await push_blob(client, repository, layer, LAYER) for layer in base]
    layers.append(
        await push_blob(client, repository, pseudo_random(300_000, f"{repository}:{tag}:{arch}"), LAYER)
    )
    config = json.dumps({"architecture": arch, "os": "linux", "config": {"Labels": {"demo": tag}}}).encode()
    document = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": await push_blob(client, repository, config, CONFIG),
        "layers": layers,
    }
    raw = json.dumps(document, indent=3).encode()
    manifest = Manifest.from_bytes(raw, content_type=MANIFEST, where=f"{repository}:{tag}")
    await client.put_manifest(repository, tag, manifest)
    return manifest


async def seed(registry: str) -> int:
    base = [pseudo_random(2_000_000, "base-os"), pseudo_random(1_000_000, "base-runtime")]
    count = 0
    async with RegistryClient(registry) as client:
        for service in ("nms4cloud-gateway", "nms4cloud-order", "nms4cloud-pay"):
            for tag in ("prod-1.0", "prod-1.1", "v2.0", "dev-3"):
                await push_image(client, f"library/{service}", tag, "amd64", base)
                count += 1
        children = [
            await push_image(client, "library/multiarch", f"{arch}-only", arch, base)
            for arch in ("amd64", "arm64")
        ]
        index = {
            "schemaVersion": 2,
            "mediaType": INDEX,
            "manifests": [
                {
                    "mediaType": MANIFEST,
                    "digest": str(child.digest),
                    "size": len(child.raw),
                    "platform": {"os": "linux", "architecture": arch},
                }
                for child, arch in zip(children, ("amd64", "arm64"), strict=True)
            ],
        }
        raw = json.dumps(index).encode()
        await client.put_manifest(
            "library/multiarch", "prod-1.0", Manifest.from_bytes(raw, content_type=INDEX, where="index")
        )
        count += 3
    return count


def ferry(*args: str) -> int:
    command = [str(ROOT / ".venv" / "bin" / "ferry"), *args]
    print(f"\n$ ferry {' '.join(args)}", flush=True)
    return subprocess.call(command)


def skopeo_digest(reference: str) -> str:
    """The digest skopeo (a tool ferry did not write) computes from the exact manifest bytes."""
    raw = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{reference}"],
        capture_output=True,
        check=True,
    ).stdout
    return f"sha256:{hashlib.sha256(raw).hexdigest()}"


def main() -> int:
    keep = "--keep" in sys.argv
    source, source_process = start_registry("source")
    destination, destination_process = start_registry("destination")
    try:
        images = asyncio.run(seed(source))
        print(f"demo: source {source} holds {images} images in library/*, destination {destination} empty")
        status = ferry(
            "sync", f"{source}/library", f"{destination}/lgy-images", "--tag", "prod-*,v*", "--dry-run"
        )
        status = status or ferry(
            "sync", f"{source}/library", f"{destination}/lgy-images", "--tag", "prod-*,v*"
        )
        status = status or ferry(
            "sync", f"{source}/library", f"{destination}/lgy-images", "--tag", "prod-*,v*"
        )
        copied = skopeo_digest(f"{destination}/lgy-images/multiarch:prod-1.0")
        original = skopeo_digest(f"{source}/library/multiarch:prod-1.0")
        verdict = "equal" if copied == original else "DIFFERENT"
        print(f"\nskopeo: source {original}, destination {copied}: {verdict}")
        status = status or int(copied != original)
        if keep:
            print(
                f"\nregistries keep running (source {source}, destination {destination}); Ctrl-C stops them"
            )
            while True:
                time.sleep(3600)
        return status
    except KeyboardInterrupt:
        return 0
    finally:
        for process in (source_process, destination_process):
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
