"""Small builders for domain values, so each test states only what it is about."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from ferry.oci.digest import Digest
from ferry.replication.domain.labels import NO_LABELS, ArtifactLabels
from ferry.replication.domain.plan import SourceArtifact, SourceRepository
from ferry.replication.domain.policy import Filter, FilterType, Policy, validate_policy

NOW = datetime(2024, 5, 1, 2, 0, tzinfo=UTC)


def make_policy(**fields: Any) -> Policy:
    """A valid push policy (local → registry 1) with ``fields`` replaced, not validated."""
    values: dict[str, Any] = {
        "id": 1,
        "name": "push-prod",
        "src_registry_id": 0,
        "dest_registry_id": 1,
        "creation_time": NOW,
        "update_time": NOW,
    }
    values.update(fields)
    return Policy(**values)


def valid_policy(*filters: Filter, **fields: Any) -> Policy:
    return validate_policy(make_policy(filters=filters, **fields))


def name(pattern: str) -> Filter:
    return Filter(FilterType.NAME, pattern)


def digest(seed: str) -> Digest:
    return Digest("sha256", hashlib.sha256(seed.encode()).hexdigest())


def artifact(seed: str, *tags: str, labels: ArtifactLabels = NO_LABELS) -> SourceArtifact:
    return SourceArtifact(digest(seed), tags, labels)


def repository(name: str, *artifacts: SourceArtifact) -> SourceRepository:
    return SourceRepository(name, artifacts)
