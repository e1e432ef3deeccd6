"""Check that a registry holds a workload exactly: every tag, digest-exact, every blob present.

Why: a fast copy that is wrong is worthless, and ``--preserve-digests`` exists because plain skopeo
rewrites manifests. The tag digests come from ``skopeo inspect --raw`` (an implementation unrelated
to ferry, see ``tests/support/skopeo.py``); child manifests and blobs are checked with plain HEADs.
Checks go straight to the registry, never through the link emulator, so they cost no link time
and do not touch its counters.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from tests.support.client import MANIFEST_ACCEPT, RegistryClient, list_tags
from tests.support.registry import RegistryServer
from tests.support.skopeo import inspect_raw_digest

from benchmarks.workloads import TaggedImage, Workload


def check_registry(
    registry: RegistryServer, namespace: str, workload: Workload, *, workers: int = 4
) -> list[str]:
    """Every difference between ``registry``'s ``namespace/`` and ``workload``; empty when exact."""
    problems: list[str] = []
    for repository in workload.repositories:
        path = f"{namespace}/{repository}"
        expected = {t.tag for t in workload.tags if t.repository == repository}
        found = set(list_tags(registry, path))
        problems += [f"{path}:{tag}: missing" for tag in sorted(expected - found)]
        problems += [f"{path}:{tag}: unexpected tag" for tag in sorted(found - expected)]
    local = threading.local()
    clients: list[RegistryClient] = []
    lock = threading.Lock()

    def client() -> RegistryClient:
        existing: RegistryClient | None = getattr(local, "client", None)
        if existing is None:
            existing = local.client = RegistryClient(registry)
            with lock:
                clients.append(existing)
        return existing

    def check_tag(tagged: TaggedImage) -> list[str]:
        path = f"{namespace}/{tagged.repository}"
        try:
            digest = inspect_raw_digest(registry, path, tagged.tag)
        except RuntimeError as exc:
            return [f"{path}:{tagged.tag}: skopeo inspect failed: {str(exc).strip()[-300:]}"]
        if digest != tagged.root.digest:
            return [f"{path}:{tagged.tag}: DIGEST MISMATCH {digest} != source {tagged.root.digest}"]
        return []

    def check_contents(tagged: TaggedImage) -> list[str]:
        path = f"{namespace}/{tagged.repository}"
        found: list[str] = []
        http = client()
        children = tagged.images if tagged.images[0] is not tagged.root else ()
        for image in children:
            head = http.request(
                "HEAD", f"/v2/{path}/manifests/{image.digest}", headers={"Accept": MANIFEST_ACCEPT}
            )
            if head.status_code != 200:
                found.append(f"{path}@{image.digest}: child manifest HTTP {head.status_code}")
        for image in tagged.images:
            for blob in image.blobs:
                head = http.request("HEAD", f"/v2/{path}/blobs/{blob.digest}")
                if head.status_code != 200 or int(head.headers.get("Content-Length", -1)) != blob.size:
                    found.append(f"{path}: blob {blob.digest} HTTP {head.status_code}")
        return found

    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="verify") as pool:
            checks: list[Callable[[TaggedImage], list[str]]] = [check_tag, check_contents]
            futures = [pool.submit(check, tagged) for tagged in workload.tags for check in checks]
            for future in futures:
                problems += future.result()
    finally:
        for http in clients:
            http.close()
    return sorted(set(problems))
