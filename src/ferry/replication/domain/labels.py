"""The label filter: which artifacts carry the labels a policy lists.

Harbor's label filter only knows Harbor labels, so it is useless for any other source registry.
ferry reads three kinds of labels from an artifact:

- Harbor labels, by name, when the source is a Harbor;
- the image config's ``Labels`` (``LABEL tier=production`` in a Dockerfile);
- the manifest's ``annotations``.

One filter entry is matched like this (exact, case-sensitive; surrounding spaces are ignored):

- ``production`` matches a Harbor label named ``production``, or any config label or annotation
  whose *key* is ``production``, whatever its value;
- ``tier=production`` matches a config label or annotation with key ``tier`` and value
  ``production`` (split at the first ``=``), or a Harbor label named exactly ``tier=production``.

A filter lists entries and, as in Harbor, an artifact carries the filter only if it carries *all*
of them: ``matches`` keeps those artifacts, ``excludes`` drops only those (an artifact with some of
the entries but not all stays).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ferry.errors import InvalidInput


@dataclass(frozen=True)
class LabelEntry:
    """One entry of a label filter: a key, and a value when it was written ``key=value``."""

    key: str
    value: str | None = None

    @classmethod
    def parse(cls, text: str) -> LabelEntry:
        entry = text.strip()
        key, separator, value = entry.partition("=")
        if not key.strip():
            raise InvalidInput(
                f"label {text!r} has no name",
                hint="write a label as name (e.g. production) or key=value (e.g. tier=production)",
            )
        return cls(key.strip(), value.strip() if separator else None)

    def __str__(self) -> str:
        return self.key if self.value is None else f"{self.key}={self.value}"


@dataclass(frozen=True)
class ArtifactLabels:
    """The labels one artifact carries; ``config`` and ``annotations`` are (key, value) pairs."""

    harbor: frozenset[str] = frozenset()
    config: frozenset[tuple[str, str]] = frozenset()
    annotations: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def of(
        cls,
        *,
        harbor: Iterable[str] = (),
        config: Mapping[str, str] | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> ArtifactLabels:
        return cls(
            harbor=frozenset(harbor),
            config=frozenset((config or {}).items()),
            annotations=frozenset((annotations or {}).items()),
        )

    def carries(self, entry: LabelEntry) -> bool:
        if str(entry) in self.harbor:
            return True
        pairs = self.config | self.annotations
        if entry.value is None:
            return any(key == entry.key for key, _ in pairs)
        return (entry.key, entry.value) in pairs

    def carries_all(self, entries: Iterable[LabelEntry]) -> bool:
        return all(self.carries(entry) for entry in entries)


NO_LABELS = ArtifactLabels()


def keep_by_labels(entries: Iterable[str], labels: ArtifactLabels, *, excludes: bool = False) -> bool:
    """Whether one label filter keeps an artifact: ``matches`` keeps artifacts carrying every entry,
    ``excludes`` drops exactly those. No entries means no filter."""
    parsed = [LabelEntry.parse(entry) for entry in entries]
    if not parsed:
        return True
    return labels.carries_all(parsed) != excludes
