"""Planning a policy run from a listing of the source, without touching a registry.

The caller lists the source (repositories, their artifacts with tags and labels); ``plan_policy``
applies the policy's filters and namespace mapping and returns one ``PlannedTask`` per source
repository, as Harbor makes one task per repository. The same plan serves a real run and a dry
run (Harbor #18638).

Filters follow Harbor and are ANDed: name filters match the full repository path
(``library/nginx``); tag filters keep the matching tags (``matches``) or the other tags
(``excludes``), an untagged artifact counting as the tag ``""``; label filters keep or drop whole
artifacts (see ``labels``); resource filters are not applied. A repository with nothing left
gets no task.

Destination names follow Harbor's ``replaceNamespace``: an empty ``dest_namespace`` keeps the source
path whatever the replace count; otherwise ``naming.map_repository`` flattens. A plan that cannot
work fails before anything is copied, naming the setting that fixes it: flattening deeper than a
path, a path depth the destination kind refuses, or two repositories flattened onto one
destination tag with different content.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ferry.errors import InvalidInput
from ferry.oci.digest import Digest
from ferry.replication.domain.fields import InvalidField
from ferry.replication.domain.labels import NO_LABELS, ArtifactLabels, keep_by_labels
from ferry.replication.domain.policy import Decoration, Filter, FilterType, Policy
from ferry.replication.domain.registry import RegistryType, path_depth
from ferry.replication.domain.status import Operation
from ferry.replication.globs import Glob, compile_pattern_list, split_pattern_list
from ferry.replication.naming import check_depth, map_repository

REPLACE_COUNT = "dest_namespace_replace_count"


@dataclass(frozen=True)
class SourceArtifact:
    digest: Digest
    tags: tuple[str, ...] = ()
    labels: ArtifactLabels = NO_LABELS


@dataclass(frozen=True)
class SourceRepository:
    name: str
    artifacts: tuple[SourceArtifact, ...] = ()


@dataclass(frozen=True)
class PlannedArtifact:
    """An artifact to copy with the tags that passed the filters; no tags: copy it by digest.

    The digest is None only in a tag deletion, where it is read at the destination when the task
    runs (a registry reports a deleted tag without its digest)."""

    digest: Digest | None
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.digest is None and not self.tags:
            raise ValueError("a planned artifact has a digest or tags")

    @property
    def references(self) -> tuple[str, ...]:
        return self.tags or (str(self.digest),)


@dataclass(frozen=True)
class PlannedTask:
    """One task: a source repository, its destination, and what to do there."""

    operation: Operation
    source: str
    destination: str
    artifacts: tuple[PlannedArtifact, ...]

    @property
    def references(self) -> tuple[str, ...]:
        """Tags, or digests for untagged artifacts: the items Harbor counts in ``[N item(s) in total]``."""
        return tuple(reference for artifact in self.artifacts for reference in artifact.references)


def plan_policy(
    policy: Policy,
    repositories: Iterable[SourceRepository],
    *,
    destination_type: RegistryType | None = None,
) -> list[PlannedTask]:
    """The copy tasks a run of ``policy`` performs, sorted by source repository.

    ``destination_type`` enables the path-depth rule of that registry kind (Docker Hub, ACR, Harbor).
    """
    names = _name_globs(policy)
    tasks = []
    for repository in sorted(repositories, key=lambda item: item.name):
        if not all(glob.matches(repository.name) for glob in names):
            continue
        artifacts = tuple(_filter_artifacts(policy, repository.artifacts))
        if artifacts:
            destination = destination_repository(policy, repository.name, destination_type=destination_type)
            tasks.append(PlannedTask(Operation.COPY, repository.name, destination, artifacts))
    _check_collisions(tasks)
    return tasks


def destination_repository(
    policy: Policy, source: str, *, destination_type: RegistryType | None = None
) -> str:
    """Where ``source`` lands under ``policy``; ``InvalidField`` naming the replace count if nowhere."""
    namespace, count = policy.dest_namespace, policy.dest_namespace_replace_count
    if not namespace:
        destination = source
    else:
        try:
            destination = map_repository(source, namespace=namespace, replace_count=count)
        except InvalidInput as exc:
            most = len(source.split("/")) - 1
            raise InvalidField(
                REPLACE_COUNT,
                f"policy {policy.name!r}: {exc.message}",
                hint=f"set {REPLACE_COUNT} to at most {most} for this repository, "
                "or to -1 to keep only its last component",
            ) from exc
    depth = path_depth(destination_type) if destination_type else None
    if depth is not None:
        try:
            check_depth(
                destination, exact=depth.exact, minimum=depth.minimum, registry_kind=str(destination_type)
            )
        except InvalidInput as exc:
            wanted = f"exactly {depth.exact}" if depth.exact else f"at least {depth.minimum}"
            raise InvalidField(
                REPLACE_COUNT,
                f"policy {policy.name!r}: {exc.message}",
                hint=f"choose dest_namespace and {REPLACE_COUNT} so destinations have {wanted} "
                f"components; e.g. a one-component dest_namespace with {REPLACE_COUNT} -1 gives "
                "<namespace>/<image>",
            ) from exc
    return destination


def selects_repository(policy: Policy, repository: str) -> bool:
    """Whether the name filters keep ``repository`` (lets a lister skip the others' tags)."""
    return all(glob.matches(repository) for glob in _name_globs(policy))


def may_keep_tag(policy: Policy, tag: str) -> bool:
    """Whether the tag filters keep ``tag`` (lets a lister skip the others' manifests)."""
    for item in policy.filters_of(FilterType.TAG):
        if not _is_empty(item) and _compiled(item).matches(tag) == (item.decoration is Decoration.EXCLUDES):
            return False
    return True


def filter_artifact(policy: Policy, artifact: SourceArtifact) -> PlannedArtifact | None:
    """The artifact with the tags the policy's tag and label filters keep; None when they drop it."""
    return next(iter(_filter_artifacts(policy, [artifact])), None)


def needs_labels(policy: Policy) -> bool:
    """Whether planning needs each artifact's labels (the policy has a label filter)."""
    return bool(policy.filters_of(FilterType.LABEL))


_GLOB_CHARACTERS = frozenset("*?[]{}\\")


def name_filter_namespaces(policy: Policy) -> list[str]:
    """The namespaces (first path components) the name filters confine the source to, when every
    pattern names its namespace literally: ``library/**, myorg/app-*`` → library, myorg. Empty when
    any pattern leaves it open (``**/web``) or there is no name filter. Registries without a
    catalog (Docker Hub, ACR) are listed per namespace."""
    filters = [item for item in policy.filters_of(FilterType.NAME) if not _is_empty(item)]
    if not filters:
        return []
    found: set[str] = set()
    for item in filters:
        for pattern in split_pattern_list(str(item.value)):
            head, separator, _ = pattern.partition("/")
            if not separator or _GLOB_CHARACTERS & set(head):
                return []
            found.add(head)
    return sorted(found)


def _name_globs(policy: Policy) -> list[Glob]:
    """The policy's name filters, compiled; an empty pattern is no filter."""
    return [_compiled(item) for item in policy.filters_of(FilterType.NAME) if not _is_empty(item)]


def _filter_artifacts(policy: Policy, artifacts: Sequence[SourceArtifact]) -> Iterable[PlannedArtifact]:
    tag_filters = [item for item in policy.filters_of(FilterType.TAG) if not _is_empty(item)]
    label_filters = policy.filters_of(FilterType.LABEL)
    for artifact in artifacts:
        if not all(_keeps_labels(item, artifact.labels) for item in label_filters):
            continue
        tags = artifact.tags or ("",)
        for item in tag_filters:
            glob, excludes = _compiled(item), item.decoration is Decoration.EXCLUDES
            tags = tuple(tag for tag in tags if glob.matches(tag) != excludes)
        if tags:
            yield PlannedArtifact(artifact.digest, tuple(tag for tag in tags if tag))


def _keeps_labels(item: Filter, labels: ArtifactLabels) -> bool:
    entries = (item.value,) if isinstance(item.value, str) else item.value
    return keep_by_labels(entries, labels, excludes=item.decoration is Decoration.EXCLUDES)


def _compiled(item: Filter) -> Glob:
    assert isinstance(item.value, str), "validate_policy guarantees string patterns"
    return compile_pattern_list(item.value)


def _is_empty(item: Filter) -> bool:
    """Harbor treats an empty pattern as no filter; ``excludes ""`` must not drop everything."""
    return isinstance(item.value, str) and not split_pattern_list(item.value)


def _check_collisions(tasks: Sequence[PlannedTask]) -> None:
    """Refuse flattening that sends one destination tag different content from two repositories."""
    claimed: dict[tuple[str, str], tuple[str, Digest | None]] = {}
    for task in tasks:
        for artifact in task.artifacts:
            for tag in artifact.tags:
                source, digest = claimed.setdefault((task.destination, tag), (task.source, artifact.digest))
                if source != task.source and digest != artifact.digest:
                    raise InvalidField(
                        REPLACE_COUNT,
                        f"{source}:{tag} and {task.source}:{tag} would both be replicated to "
                        f"{task.destination}:{tag} with different content",
                        hint=f"lower {REPLACE_COUNT} so their paths stay apart, or narrow the name filter",
                    )


def explain_empty_name_filter(policy: Policy, repositories: Iterable[str]) -> str | None:
    """Why the name filters select none of ``repositories``, and which pattern would; None if they
    select some (or there is nothing to select).

    The usual cause is Harbor's rule that names are matched against the full path: the guide's
    ``nms4cloud-*`` never matches ``library/nms4cloud-gateway``, ``**/nms4cloud-*`` does, and so
    does ``library/nms4cloud-*`` when every match shares that prefix.
    """
    names = sorted(set(repositories))
    filters = [item for item in policy.filters_of(FilterType.NAME) if not _is_empty(item)]
    globs = [_compiled(item) for item in filters]
    if not names or not filters or any(all(glob.matches(name) for glob in globs) for name in names):
        return None
    failing = next(
        (item for item in filters if not any(_compiled(item).matches(name) for name in names)), None
    )
    if failing is None:
        values = ", ".join(repr(item.value) for item in filters)
        return (
            f"each name filter ({values}) matches some of the {len(names)} repositories, but no "
            "repository matches all of them: name filters are combined, every one must match"
        )
    others = [glob for item, glob in zip(filters, globs, strict=True) if item is not failing]
    suggestions = [
        (pattern, matched)
        for pattern in _candidate_patterns(str(failing.value), names, others)
        if (matched := _matching(pattern, names, others))
    ]
    example = suggestions[0][1][0] if suggestions else names[0]
    text = (
        f"name filter {failing.value!r} matches none of the {len(names)} repositories: names are "
        f"matched against the full repository path, such as {example!r}"
    )
    if str(failing.value) != str(failing.value).lower():
        text += ", and repository names are lower case"
    if suggestions:
        text += "; " + ", ".join(
            f"{pattern!r} would match {_repositories(len(matched))}" for pattern, matched in suggestions
        )
    return text


def _candidate_patterns(value: str, names: Sequence[str], others: Sequence[Glob]) -> list[str]:
    """``**/`` before each item, then ``<common prefix>/`` instead when every match shares one;
    the same in lower case when the pattern has capitals (repository names never do)."""
    candidates: list[str] = []
    for items in _spellings(split_pattern_list(value)):
        widened = ", ".join(item if item.startswith("**") else f"**/{item}" for item in items)
        matched = _matching(widened, names, others)
        prefix = _common_directory(matched)
        narrowed = ", ".join(item if item.startswith("**") else f"{prefix}/{item}" for item in items)
        for pattern in (", ".join(items), widened, narrowed if prefix else ""):
            if pattern and pattern != value and pattern not in candidates:
                candidates.append(pattern)
    return candidates


def _spellings(items: list[str]) -> list[list[str]]:
    lowered = [item.lower() for item in items]
    return [items, lowered] if lowered != items else [items]


def _matching(pattern: str, names: Sequence[str], others: Sequence[Glob]) -> list[str]:
    glob = compile_pattern_list(pattern)
    return [name for name in names if glob.matches(name) and all(other.matches(name) for other in others)]


def _common_directory(names: Sequence[str]) -> str:
    """The longest run of leading path components every name shares before its last component."""
    if not names:
        return ""
    directories = [name.split("/")[:-1] for name in names]
    common: list[str] = []
    for components in zip(*directories, strict=False):
        if len(set(components)) != 1:
            break
        common.append(components[0])
    return "/".join(common)


def _repositories(count: int) -> str:
    return f"{count} repositor{'y' if count == 1 else 'ies'}"
