"""Listing a policy's source: the repositories its name filters keep, their tags that its tag
filters keep, each tag's digest, and (only when the policy has a label filter) each artifact's
labels from its image config and annotations.

Filters are applied while listing so that no request is spent on what the plan would drop: tags of
unselected repositories are never listed and manifests of dropped tags never fetched.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from ferry.distribution.client import RegistryClient
from ferry.errors import IntegrityError, NotFound
from ferry.oci.descriptor import Descriptor
from ferry.oci.digest import Digest
from ferry.oci.manifest import Manifest
from ferry.providers import ListedArtifact, RegistryProvider
from ferry.replication.domain.labels import ArtifactLabels
from ferry.replication.domain.plan import (
    SourceArtifact,
    SourceRepository,
    may_keep_tag,
    name_filter_namespaces,
    needs_labels,
    selects_repository,
)
from ferry.replication.domain.policy import Policy
from ferry.replication.engine.tasks import bounded_map

LISTING_CONCURRENCY = 16
CONFIG_LIMIT = 4 * 1024 * 1024
"""Image configs are small JSON documents; a larger "config" is not read for labels."""


@dataclass(frozen=True)
class SourceListing:
    repositories: list[SourceRepository]
    all_names: list[str]
    """Every repository the source has, for explaining a name filter that matches none."""


async def list_source(
    source: RegistryClient, policy: Policy, provider: RegistryProvider | None = None
) -> SourceListing:
    """``provider`` lists where the catalog cannot (Docker Hub, ACR) or says too little (Harbor's
    untagged artifacts and labels); without one, the catalog and tag lists are read."""
    if provider is None:
        names = sorted({name async for name in source.list_repositories()})
    else:
        names = await provider.list_repositories(source, name_filter_namespaces(policy))
    selected = [name for name in names if selects_repository(policy, name)]
    repositories = await bounded_map(
        lambda name: _list_repository(source, policy, name, provider=provider),
        selected,
        limit=LISTING_CONCURRENCY,
    )
    return SourceListing([repository for repository in repositories if repository.artifacts], names)


async def list_tags_of(
    source: RegistryClient, policy: Policy, repository: str, tags: Sequence[str]
) -> SourceListing:
    """The listing of an event-based execution: only ``tags`` of ``repository``, still filtered by
    the policy (which may have changed since the event); a tag deleted since is left out."""
    if not selects_repository(policy, repository):
        return SourceListing([], [repository])
    listed = await _list_repository(source, policy, repository, only=tags)
    return SourceListing([listed] if listed.artifacts else [], [repository])


async def _list_repository(
    source: RegistryClient,
    policy: Policy,
    name: str,
    *,
    only: Sequence[str] | None = None,
    provider: RegistryProvider | None = None,
) -> SourceRepository:
    if only is None and provider is not None:
        listed = await provider.list_artifacts(source, name)
        if listed is not None:
            return await _from_provider(source, policy, name, listed)
    candidates = await source.list_tags(name) if only is None else only
    tags = [tag for tag in sorted(set(candidates)) if may_keep_tag(policy, tag)]
    infos = await bounded_map(lambda tag: source.head_manifest(name, tag), tags, limit=LISTING_CONCURRENCY)
    by_digest: dict[Digest, list[str]] = {}
    for tag, info in zip(tags, infos, strict=True):
        if info is not None:  # deleted since the tag list was read
            by_digest.setdefault(info.digest, []).append(tag)
    digests = list(by_digest)
    if needs_labels(policy):
        labels = await bounded_map(
            lambda digest: read_labels(source, name, digest), digests, limit=LISTING_CONCURRENCY
        )
    else:
        labels = [ArtifactLabels()] * len(digests)
    return SourceRepository(
        name,
        tuple(
            SourceArtifact(digest, tuple(by_digest[digest]), artifact_labels)
            for digest, artifact_labels in zip(digests, labels, strict=True)
        ),
    )


async def _from_provider(
    source: RegistryClient, policy: Policy, name: str, listed: Sequence[ListedArtifact]
) -> SourceRepository:
    """A repository as the provider's API lists it: untagged artifacts included, a tagged one
    only while some of its tags pass the tag filters, labels from the API (and from the image
    when the policy filters by labels)."""
    kept = []
    for artifact in listed:
        tags = tuple(tag for tag in artifact.tags if may_keep_tag(policy, tag))
        if artifact.tags and not tags:
            continue
        kept.append((artifact, tags))
    if needs_labels(policy):
        read = await bounded_map(
            lambda item: read_labels(source, name, item[0].digest), kept, limit=LISTING_CONCURRENCY
        )
    else:
        read = [ArtifactLabels()] * len(kept)
    return SourceRepository(
        name,
        tuple(
            SourceArtifact(
                artifact.digest,
                tags,
                ArtifactLabels(
                    harbor=frozenset(artifact.labels), config=labels.config, annotations=labels.annotations
                ),
            )
            for (artifact, tags), labels in zip(kept, read, strict=True)
        ),
    )


async def read_labels(source: RegistryClient, repository: str, digest: Digest) -> ArtifactLabels:
    """An artifact's annotations and image-config labels. For an index: its own annotations and
    those of every image it lists (an index carries a label when any of its images does)."""
    manifest = await source.get_manifest(repository, str(digest))
    annotations = dict(_annotations(manifest))
    config_labels: dict[str, str] = {}
    images: Sequence[Manifest] = [manifest]
    if manifest.is_index:
        children = [
            child
            for child in manifest.children
            if child.media_type.endswith(("manifest.v2+json", "manifest.v1+json"))
        ]
        images = await bounded_map(
            lambda child: source.get_manifest(repository, str(child.digest)),
            children,
            limit=LISTING_CONCURRENCY,
        )
    for image in images:
        annotations.update(_annotations(image))
        if image.config is not None:
            config_labels.update(await _config_labels(source, repository, image.config))
    return ArtifactLabels.of(config=config_labels, annotations=annotations)


def _annotations(manifest: Manifest) -> dict[str, str]:
    found = manifest.document.get("annotations") or {}
    return {str(key): str(value) for key, value in found.items()} if isinstance(found, dict) else {}


async def _config_labels(source: RegistryClient, repository: str, config: Descriptor) -> dict[str, str]:
    if not config.media_type.endswith(("container.image.v1+json", "image.config.v1+json")):
        return {}
    if config.size > CONFIG_LIMIT:
        return {}
    body = bytearray()
    try:
        async with source.open_blob(repository, config.digest) as reader:
            async for chunk in reader.chunks():
                body.extend(chunk)
                if len(body) > CONFIG_LIMIT:
                    return {}
    except NotFound:
        return {}
    if Digest.of(bytes(body)) != config.digest:
        raise IntegrityError(f"the image config {config.digest} of {repository} does not match its digest")
    try:
        document = json.loads(body)
    except ValueError:
        return {}
    labels = (document.get("config") or {}).get("Labels") or {} if isinstance(document, dict) else {}
    return {str(key): str(value) for key, value in labels.items()} if isinstance(labels, dict) else {}
