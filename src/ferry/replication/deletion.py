"""Replicating a deletion at the destination, and never more than the policy owns.

The destination repository is the one the policy's naming rules give for the source repository,
so nothing outside the policy's namespace is ever addressed. What is deleted there:

- **a manifest deleted at the source (by digest)**: the destination's manifest with that digest,
  with every tag that points at it there, but only if the policy owns the artifact: each of those
  tags passes the policy's tag filters (an untagged artifact counts as the tag ``""``), and its
  labels pass the label filters. Otherwise it is kept and the log says which tag or label kept it.
- **a tag deleted at the source**: the tag's manifest, by digest, when that tag is the only one
  pointing at it at the destination (and the labels pass). When other tags share the manifest only
  the tag goes, through the OCI 1.1 tag deletion (``DELETE /v2/<name>/manifests/<tag>``); a registry
  that refuses it (the distribution registry and Harbor accept deletion by digest only) keeps the tag
  and the log says so: deleting the digest would take the other tags with it.

A manifest that an index at the destination lists (one platform of a multi-platform image) is
never deleted by digest: that would break the index. A reference that is already gone at the
destination is nothing to do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from ferry.distribution.client import ManifestInfo, RegistryClient
from ferry.errors import Denied, NotFound, RegistryError, Unauthorized, Unavailable
from ferry.oci.digest import Digest
from ferry.oci.mediatypes import INDEXES
from ferry.replication.domain.labels import NO_LABELS
from ferry.replication.domain.plan import SourceArtifact, filter_artifact, needs_labels
from ferry.replication.domain.policy import Policy
from ferry.replication.engine.progress import ImageOutcome
from ferry.replication.engine.tasks import bounded_map
from ferry.replication.listing import LISTING_CONCURRENCY, read_labels


@dataclass(frozen=True)
class Deletion:
    """What happened to one reference: ``DELETED``, or ``UP_TO_DATE`` (gone already, or kept)."""

    outcome: ImageOutcome
    message: str


TagDeleter = Callable[[str, str], Awaitable[bool]]
"""Deletes one tag through a vendor API (Alibaba ACR's OpenAPI); False when it cannot."""


async def delete_reference(
    client: RegistryClient,
    policy: Policy,
    repository: str,
    reference: str,
    *,
    delete_tag: TagDeleter | None = None,
) -> Deletion:
    """Delete ``reference`` (a digest or a tag) from ``repository`` at the destination, as the
    module's rules allow. ``delete_tag`` removes single tags where the registry API cannot."""
    where = f"{repository}@{reference}" if _is_digest(reference) else f"{repository}:{reference}"
    info = await client.head_manifest(repository, reference)
    if info is None:
        return Deletion(ImageOutcome.UP_TO_DATE, f"{where} is not at the destination: nothing to delete")
    digest = info.digest
    listed = await list_destination(client, repository)
    tags = listed.tags_of(digest)
    parents = await listed.indexes_listing(client, repository, digest)
    labels = await read_labels(client, repository, digest) if needs_labels(policy) else NO_LABELS
    if _is_digest(reference):
        outside = _outside(policy, SourceArtifact(digest, tuple(tags), labels), tags)
        if outside:
            return Deletion(ImageOutcome.UP_TO_DATE, f"kept {where}: {outside}")
        if parents:
            return Deletion(ImageOutcome.UP_TO_DATE, f"kept {where}: {_in_index(parents)}")
        if tags and delete_tag is not None and all([await delete_tag(repository, tag) for tag in tags]):
            return Deletion(
                ImageOutcome.DELETED,
                f"deleted the tags {', '.join(tags)} of {where} through the registry's API "
                "(the untagged manifest stays until the registry's own cleanup)",
            )
        return await _delete_digest(client, repository, digest, f"deleted {where}" + _tagged(tags))
    if filter_artifact(policy, SourceArtifact(digest, (reference,), labels)) is None:
        return Deletion(
            ImageOutcome.UP_TO_DATE, f"kept {where}: its tag or labels are outside the rule's filters"
        )
    if delete_tag is not None and await delete_tag(repository, reference):
        return Deletion(ImageOutcome.DELETED, f"deleted tag {where} through the registry's API")
    others = [tag for tag in tags if tag != reference]
    if not others and not parents:
        text = f"deleted {where}: it was the only tag of {digest.short}, so the manifest was deleted"
        return await _delete_digest(client, repository, digest, text)
    try:
        await client.delete_manifest(repository, reference)
    except NotFound:
        return Deletion(ImageOutcome.UP_TO_DATE, f"{where} is not at the destination: nothing to delete")
    except (Unavailable, Unauthorized, Denied):
        raise
    except RegistryError as exc:
        kept_by = f"{digest.short} is also tagged {', '.join(others)} there" if others else _in_index(parents)
        return Deletion(
            ImageOutcome.UP_TO_DATE,
            f"kept {where}: the registry cannot delete a tag alone ({_refusal(exc)}), and {kept_by}",
        )
    return Deletion(ImageOutcome.DELETED, f"deleted tag {where} (the manifest {digest.short} stays)")


@dataclass(frozen=True)
class DestinationTags:
    """A destination repository's tags and what each points at."""

    infos: dict[str, ManifestInfo]

    def tags_of(self, digest: Digest) -> list[str]:
        return sorted(tag for tag, info in self.infos.items() if info.digest == digest)

    async def indexes_listing(self, client: RegistryClient, repository: str, digest: Digest) -> list[str]:
        """The tags of the indexes that list ``digest`` among their manifests."""
        indexes = sorted({info.digest for info in self.infos.values() if info.media_type in INDEXES})
        manifests = await bounded_map(
            lambda index: client.get_manifest(repository, str(index)), indexes, limit=LISTING_CONCURRENCY
        )
        parents = {
            manifest.digest for manifest in manifests if digest in {c.digest for c in manifest.children}
        }
        return sorted(tag for tag, info in self.infos.items() if info.digest in parents)


async def list_destination(client: RegistryClient, repository: str) -> DestinationTags:
    """Every tag of ``repository`` at the destination with its manifest's digest and type."""
    try:
        tags = sorted(await client.list_tags(repository))
    except NotFound:
        return DestinationTags({})
    infos = await bounded_map(
        lambda tag: client.head_manifest(repository, tag), tags, limit=LISTING_CONCURRENCY
    )
    return DestinationTags({tag: info for tag, info in zip(tags, infos, strict=True) if info is not None})


def _in_index(parents: Sequence[str]) -> str:
    return f"it is an image of the index tagged {', '.join(parents)} there"


def _outside(policy: Policy, artifact: SourceArtifact, tags: Sequence[str]) -> str:
    """Why the policy does not own the destination's artifact; empty when it does."""
    kept = filter_artifact(policy, artifact)
    if kept is None:
        if not tags:
            return "untagged artifacts are outside the rule's tag filters"
        return "its tags or labels are outside the rule's filters"
    foreign = sorted(set(tags) - set(kept.tags))
    if foreign:
        return f"it is also tagged {', '.join(foreign)} there, outside the rule's tag filters"
    return ""


async def _delete_digest(client: RegistryClient, repository: str, digest: Digest, text: str) -> Deletion:
    try:
        await client.delete_manifest(repository, str(digest))
    except NotFound:
        return Deletion(ImageOutcome.UP_TO_DATE, f"{repository}@{digest.short} is already gone")
    return Deletion(ImageOutcome.DELETED, text)


def _refusal(error: RegistryError) -> str:
    return ", ".join([f"HTTP {error.status}" if error.status else error.message, *error.codes])


def _tagged(tags: Sequence[str]) -> str:
    return f" (tags {', '.join(tags)})" if tags else ""


def _is_digest(reference: str) -> bool:
    return ":" in reference
