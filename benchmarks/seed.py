"""Push a workload into the source registry, quickly and independently of ferry.

Why not ``tests.support.images.push_image`` per tag: it uploads every shared base layer again in
every repository, which for the ``large`` workload means gigabytes over loopback before the
benchmark even starts. Here each blob is uploaded once, into the first repository that needs it,
and mounted into the others; a few threads work in parallel. Manifests are pushed byte for byte
(children before the index that lists them), and the registry's digest is checked against the
workload's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from tests.support.blobs import BlobSpec
from tests.support.client import RegistryClient
from tests.support.images import IndexSpec, push_blob, push_manifest
from tests.support.registry import RegistryServer

from benchmarks.workloads import NAMESPACE, Workload

T = TypeVar("T")


class _Clients:
    """One HTTP client per worker thread (an ``httpx.Client`` is not meant to be shared)."""

    def __init__(self, registry: RegistryServer) -> None:
        self._registry = registry
        self._local = threading.local()
        self._all: list[RegistryClient] = []
        self._lock = threading.Lock()

    def get(self) -> RegistryClient:
        client: RegistryClient | None = getattr(self._local, "client", None)
        if client is None:
            client = RegistryClient(self._registry, timeout=600)
            self._local.client = client
            with self._lock:
                self._all.append(client)
        return client

    def close(self) -> None:
        for client in self._all:
            client.close()


def _run_all(pool: ThreadPoolExecutor, work: Callable[[T], None], items: Iterable[T]) -> None:
    futures = [pool.submit(work, item) for item in items]
    try:
        for future in futures:
            future.result()  # re-raise the first failure
    except BaseException:
        for future in futures:
            future.cancel()  # on Ctrl-C or a failure, do not start the rest
        raise


def seed_workload(registry: RegistryServer, workload: Workload, *, workers: int = 4) -> None:
    """Make ``registry`` hold every tag of ``workload`` under ``NAMESPACE/``."""
    home: dict[str, str] = {}  # digest -> the repository it is uploaded to
    blobs: dict[str, BlobSpec] = {}
    needed: dict[str, set[str]] = {}  # repository -> digests it references
    for tagged in workload.tags:
        repository = f"{NAMESPACE}/{tagged.repository}"
        for image in tagged.images:
            for blob in image.blobs:
                blobs[blob.digest] = blob
                home.setdefault(blob.digest, repository)
                needed.setdefault(repository, set()).add(blob.digest)
    clients = _Clients(registry)

    def upload(digest: str) -> None:
        push_blob(clients.get(), home[digest], blobs[digest], skip_existing=True)

    def mount(repository: str) -> None:
        client = clients.get()
        for digest in sorted(needed[repository]):
            if home[digest] == repository:
                continue
            path = f"/v2/{repository}/blobs/uploads/?mount={digest}&from={home[digest]}"
            response = client.request("POST", path)
            if response.status_code != 201:
                raise RuntimeError(f"mount of {digest} into {repository}: HTTP {response.status_code}")

    def push_tags(repository: str) -> None:
        client = clients.get()
        for tagged in workload.tags:
            if f"{NAMESPACE}/{tagged.repository}" != repository:
                continue
            root = tagged.root
            if isinstance(root, IndexSpec):
                for image in root.images:
                    _push(client, repository, image.digest, image.manifest_bytes, image.media_type)
            _push(client, repository, tagged.tag, root.manifest_bytes, root.media_type, root.digest)

    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seed") as pool:
            # Largest first, so the big layers do not end up as a single-threaded tail.
            _run_all(pool, upload, sorted(blobs, key=lambda d: -blobs[d].size))
            _run_all(pool, mount, sorted(needed))
            _run_all(pool, push_tags, sorted(needed))
    finally:
        clients.close()


def _push(
    client: RegistryClient,
    repository: str,
    reference: str,
    manifest: bytes,
    media_type: str,
    expected: str | None = None,
) -> None:
    digest = push_manifest(client, repository, reference, manifest, media_type)
    want = expected or reference
    if digest != want:
        raise RuntimeError(f"{repository}:{reference}: registry says {digest}, the workload {want}")
