"""``WWW-Authenticate`` challenges and token scopes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PARAM = re.compile(r'([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


@dataclass(frozen=True)
class Challenge:
    scheme: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")

    @property
    def service(self) -> str | None:
        return self.params.get("service")

    @property
    def scopes(self) -> tuple[str, ...]:
        scope = self.params.get("scope")
        return tuple(scope.split()) if scope else ()


def parse_challenge(header: str | None) -> Challenge | None:
    """Parse the first challenge of a ``WWW-Authenticate`` header (registries send one)."""
    if not header:
        return None
    header = header.strip()
    scheme, _, rest = header.partition(" ")
    params: dict[str, str] = {}
    for match in _PARAM.finditer(rest):
        key, quoted, bare = match.groups()
        value = quoted if quoted is not None else bare
        params[key.lower()] = re.sub(r"\\(.)", r"\1", value)
    return Challenge(scheme=scheme.lower(), params=params)


def repository_scope(repository: str, *actions: str) -> str:
    return f"repository:{repository}:{','.join(actions)}"


CATALOG_SCOPE = "registry:catalog:*"


def merge_scopes(*groups: tuple[str, ...]) -> tuple[str, ...]:
    """Union of scopes, merging actions for the same resource (``pull`` + ``push`` → ``pull,push``)."""
    actions: dict[str, list[str]] = {}
    for group in groups:
        for scope in group:
            resource, _, acts = scope.rpartition(":")
            if not resource:
                continue
            merged = actions.setdefault(resource, [])
            for action in acts.split(","):
                if action and action not in merged:
                    merged.append(action)
    return tuple(f"{resource}:{','.join(sorted(acts))}" for resource, acts in sorted(actions.items()))


def covers(granted: tuple[str, ...], needed: tuple[str, ...]) -> bool:
    """True when every action in ``needed`` is among the ``granted`` scopes."""
    have: dict[str, set[str]] = {}
    for scope in granted:
        resource, _, acts = scope.rpartition(":")
        have.setdefault(resource, set()).update(acts.split(","))
    for scope in needed:
        resource, _, acts = scope.rpartition(":")
        present = have.get(resource, set())
        if "*" in present:
            continue
        if not set(acts.split(",")) <= present:
            return False
    return True
