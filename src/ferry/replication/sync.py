"""Planning a sync: which source repository:tag goes to which destination repository.

Names are matched with Harbor's semantics against the full repository path (``library/app``),
tags with Harbor's matches/excludes, and destination names through Harbor's namespace flattening.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ferry.distribution.client import RegistryClient
from ferry.errors import InvalidInput
from ferry.oci.reference import ImageReference, RegistryLocation
from ferry.replication.engine.copier import CopyItem
from ferry.replication.engine.tasks import bounded_map
from ferry.replication.globs import compile_glob, compile_pattern_list, filter_tags
from ferry.replication.naming import map_repository

LISTING_CONCURRENCY = 16


@dataclass(frozen=True)
class SyncSpec:
    source: RegistryLocation
    destination: RegistryLocation
    names: Sequence[str] = ()
    tags: Sequence[str] = ()
    exclude_tags: Sequence[str] = ()
    flatten: int = 1

    def validate(self) -> None:
        """Fail on unusable filters before any registry is contacted."""
        for pattern in (*self.names, *self.tags, *self.exclude_tags):
            compile_glob(pattern)


@dataclass(frozen=True)
class SyncPlan:
    items: list[CopyItem]
    repositories: list[str]
    notes: list[str] = field(default_factory=list)


async def plan_sync(source: RegistryClient, spec: SyncSpec) -> SyncPlan:
    """List the source, apply the filters and map every kept tag to its destination."""
    repositories = [name async for name in source.list_repositories()]
    in_namespace = [name for name in repositories if _under(name, spec.source.namespace)]
    selected = _select_repositories(in_namespace, spec)
    destinations = {name: _destination_repository(name, spec) for name in selected}

    listings = await bounded_map(source.list_tags, selected, limit=LISTING_CONCURRENCY)
    items: list[CopyItem] = []
    notes: list[str] = []
    for repository, tags in zip(selected, listings, strict=True):
        kept = filter_tags(sorted(tags), matches=list(spec.tags), excludes=list(spec.exclude_tags))
        if tags and not kept:
            notes.append(f"{repository}: none of its {len(tags)} tags pass the tag filters")
        for tag in kept:
            items.append(
                CopyItem(
                    ImageReference(source.registry, repository, tag=tag),
                    ImageReference(spec.destination.registry, destinations[repository], tag=tag),
                )
            )
    return SyncPlan(items=items, repositories=selected, notes=notes)


def _under(repository: str, namespace: str) -> bool:
    return not namespace or repository == namespace or repository.startswith(namespace + "/")


def _select_repositories(candidates: list[str], spec: SyncSpec) -> list[str]:
    if not spec.names:
        return sorted(candidates)
    pattern = compile_pattern_list(",".join(spec.names))
    selected = sorted(name for name in candidates if pattern.matches(name))
    if not selected and candidates:
        raise InvalidInput(
            f"--name {','.join(spec.names)!r} matches none of the {len(candidates)} repositories in "
            f"{spec.source}",
            hint=_suggest_name_pattern(candidates, spec.names),
        )
    return selected


def _suggest_name_pattern(candidates: list[str], names: Sequence[str]) -> str:
    """Harbor matches the whole path (``library/app``): a bare ``app-*`` never matches."""
    for name in names:
        if "/" not in name and not name.startswith("**"):
            wider = compile_pattern_list(f"**/{name}")
            count = sum(1 for candidate in candidates if wider.matches(candidate))
            if count:
                return (
                    f"names are matched against the full repository path such as {candidates[0]!r}; "
                    f"'**/{name}' would match {count} repositor{'y' if count == 1 else 'ies'}"
                )
    return f"names are matched against the full repository path, e.g. {candidates[0]!r}"


def _destination_repository(repository: str, spec: SyncSpec) -> str:
    try:
        return map_repository(repository, namespace=spec.destination.namespace, replace_count=spec.flatten)
    except InvalidInput as exc:
        raise InvalidInput(
            f"cannot map {repository} into {spec.destination}: {exc.message}",
            hint="choose a smaller --flatten (0 keeps the whole path, -1 keeps only the last component)",
        ) from exc
