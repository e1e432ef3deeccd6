"""The benchmark's workloads: deterministic image sets with incompressible layers.

Why deterministic: two runs (or two machines) must move exactly the same bytes, so numbers are
comparable and a digest mismatch is a real bug. Why incompressible: layers in the wild are gzip
streams; content a compressor could shrink would flatter any tool or link that compresses.

* ``baseline`` — peers.md's workload: 4 repositories × 5 tags, every image has the same three base
  layers (15 + 10 + 5 MiB) and one unique 3 MiB layer: 90 MiB of layers, ~94.4 MB of unique blobs.
* ``large`` — 52 repositories, 260 tags, a few base images and runtimes shared across many
  repositories, per-repository dependency layers shared between releases, small unique app layers,
  ``latest`` aliases, and multi-arch repositories (an OCI index with amd64 and arm64).
* ``big-layer`` — one image with a 1 GiB layer, copied on plain loopback to measure streaming
  throughput and memory.
"""

from __future__ import annotations

import functools
import hashlib
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from tests.support.blobs import CHUNK, BlobSpec
from tests.support.images import ImageSpec, IndexSpec, build_image, build_index

MiB = 1 << 20
KiB = 1 << 10
NAMESPACE = "bench"


@functools.lru_cache(maxsize=4096)
def _random_digest(size: int, seed: int) -> str:
    hasher = hashlib.sha256()
    for chunk in _random_chunks(size, seed):
        hasher.update(chunk)
    return "sha256:" + hasher.hexdigest()


def _random_chunks(size: int, seed: int) -> Iterator[bytes]:
    # SHAKE-128 in counter mode: random-looking at every scale (unlike the test suite's blobs, which
    # repeat one random MiB) and ~450 MB/s, fast enough to generate 1 GiB twice per run.
    for index, start in enumerate(range(0, size, CHUNK)):
        yield hashlib.shake_128(f"ferry-bench/{seed}/{index}".encode()).digest(min(CHUNK, size - start))


@dataclass(frozen=True)
class RandomBlob(BlobSpec):
    """A :class:`BlobSpec` whose generated content is incompressible throughout."""

    @property
    def digest(self) -> str:
        if self.data is not None:
            return super().digest
        return _random_digest(self.size, self.seed)

    def iter_chunks(self) -> Iterator[bytes]:
        if self.data is not None:
            yield from super().iter_chunks()
        else:
            yield from _random_chunks(self.size, self.seed)

    def read(self) -> bytes:
        if self.data is None and self.is_large:
            raise ValueError(f"refusing to materialise a {self.size}-byte blob; use iter_chunks()")
        return super().read() if self.data is not None else b"".join(self.iter_chunks())


@dataclass(frozen=True)
class TaggedImage:
    """One source tag: ``NAMESPACE/<repository>:<tag>`` → an image or an index."""

    repository: str
    tag: str
    root: ImageSpec | IndexSpec

    @property
    def images(self) -> tuple[ImageSpec, ...]:
        return self.root.images if isinstance(self.root, IndexSpec) else (self.root,)


@dataclass(frozen=True)
class Workload:
    """A named set of tags; ``linked`` workloads cross the emulated link, the others plain loopback."""

    name: str
    description: str
    tags: tuple[TaggedImage, ...]
    linked: bool = True

    @property
    def repositories(self) -> tuple[str, ...]:
        return tuple(sorted({t.repository for t in self.tags}))

    def unique_blobs(self) -> dict[str, BlobSpec]:
        """Every distinct blob (configs and layers) by digest: what must cross the link once."""
        return {blob.digest: blob for t in self.tags for image in t.images for blob in image.blobs}

    def unique_manifests(self) -> dict[str, bytes]:
        """Every distinct manifest (indexes and images) by digest."""
        found: dict[str, bytes] = {}
        for t in self.tags:
            found[t.root.digest] = t.root.manifest_bytes
            for image in t.images:
                found[image.digest] = image.manifest_bytes
        return found

    @property
    def unique_blob_bytes(self) -> int:
        return sum(blob.size for blob in self.unique_blobs().values())

    @property
    def multi_arch_tags(self) -> int:
        return sum(1 for t in self.tags if isinstance(t.root, IndexSpec))


def _labels(repository: str, tag: str, arch: str = "amd64") -> dict[str, str]:
    # Labels make every config, hence every manifest, distinct per repository and tag.
    return {"org.example.repository": repository, "org.example.tag": tag, "org.example.arch": arch}


def baseline() -> Workload:
    """peers.md's workload, byte for byte the same shape as the published skopeo numbers."""
    base = (RandomBlob(15 * MiB, seed=1001), RandomBlob(10 * MiB, seed=1002), RandomBlob(5 * MiB, seed=1003))
    tags: list[TaggedImage] = []
    for r in range(1, 5):
        repository = f"app{r}"
        for t in range(1, 6):
            tag = f"v{t}"
            unique = RandomBlob(3 * MiB, seed=1100 + 10 * r + t)
            image = build_image([*base, unique], labels=_labels(repository, tag))
            tags.append(TaggedImage(repository, tag, image))
    return Workload(
        "baseline",
        "4 repositories × 5 tags; 3 shared base layers (15+10+5 MiB) and a unique 3 MiB layer per image",
        tuple(tags),
    )


@dataclass(frozen=True)
class _Stack:
    """A base image plus runtime layers, per architecture: what many repositories build on."""

    name: str
    layers: Mapping[str, tuple[RandomBlob, ...]]

    @property
    def multi_arch(self) -> bool:
        return "arm64" in self.layers


class _Seeds:
    """Hands out distinct blob seeds, so every generated layer is different content."""

    def __init__(self, start: int) -> None:
        self._next = start

    def blob(self, size: int) -> RandomBlob:
        self._next += 1
        return RandomBlob(size, seed=self._next)


def _stacks(seeds: _Seeds) -> list[_Stack]:
    debian = {arch: (seeds.blob(16 * MiB if arch == "amd64" else 15 * MiB),) for arch in ("amd64", "arm64")}
    alpine = {arch: (seeds.blob(3 * MiB),) for arch in ("amd64", "arm64")}
    ubuntu = (seeds.blob(18 * MiB), seeds.blob(2 * MiB))
    distroless = (seeds.blob(2 * MiB), seeds.blob(1 * MiB))
    python = {arch: (*debian[arch], seeds.blob(10 * MiB), seeds.blob(2 * MiB)) for arch in debian}
    return [
        _Stack("python", python),
        _Stack("node", {"amd64": (*debian["amd64"], seeds.blob(8 * MiB))}),
        _Stack("jre", {"amd64": (*ubuntu, seeds.blob(12 * MiB))}),
        _Stack("static", {"amd64": distroless}),
        _Stack("alpine", alpine),
    ]


def large() -> Workload:
    """52 repositories × 5 tags (4 releases + ``latest``), realistic sharing, ~240 MB of unique blobs."""
    rng = random.Random(20240601)
    seeds = _Seeds(100_000)
    stacks = _stacks(seeds)
    tags: list[TaggedImage] = []
    for r in range(52):
        stack = stacks[r % len(stacks)]
        repository = f"{stack.name}-svc{r:02d}"
        multi_arch = stack.multi_arch and r % 3 == 0
        archs = ("amd64", "arm64") if multi_arch else ("amd64",)
        # Dependencies change every second release; the app layer changes with every release.
        deps = {arch: [seeds.blob(rng.randint(256, 1024) * KiB) for _ in range(2)] for arch in archs}
        for release in range(4):
            tag = f"1.{release}.0"
            images = [
                build_image(
                    [
                        *stack.layers[arch],
                        deps[arch][release // 2],
                        seeds.blob(rng.randint(32, 384) * KiB),
                    ],
                    oci=multi_arch,
                    architecture=arch,
                    labels=_labels(repository, tag, arch),
                )
                for arch in archs
            ]
            root: ImageSpec | IndexSpec = build_index(images, oci=True) if multi_arch else images[0]
            tags.append(TaggedImage(repository, tag, root))
        tags.append(TaggedImage(repository, "latest", tags[-1].root))
    return Workload(
        "large",
        "52 repositories × 5 tags (4 releases + latest) on 5 shared stacks; 1 repository in 3 of the "
        "python/alpine stacks is multi-arch (OCI index, amd64 + arm64)",
        tuple(tags),
    )


def big_layer() -> Workload:
    """One image with a 1 GiB layer: streaming throughput and memory, on plain loopback."""
    image = build_image([RandomBlob(1024 * MiB, seed=900_001)], labels=_labels("big", "1g"))
    return Workload(
        "big-layer", "one image with a 1 GiB layer, plain loopback", (TaggedImage("big", "1g", image),), False
    )


WORKLOADS = {"baseline": baseline, "large": large, "big-layer": big_layer}
