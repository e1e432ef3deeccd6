"""Artifact events from a source registry, as ferry's receivers understand them.

Two senders are understood:

- the CNCF distribution registry's notifications (``application/vnd.docker.distribution.events.v1+json``:
  ``{"events": [{"id", "action", "target": {"mediaType", "digest", "repository", "tag"}, ...}]}``),
  which the managed local registry sends to ferry;
- Harbor's webhooks for ``PUSH_ARTIFACT`` and ``DELETE_ARTIFACT``, in its Default format
  (``{"type", "occur_at", "operator", "event_data": {"resources": [...], "repository": {...}}}``) and
  in its CloudEvents format (``{"specversion", "type": "harbor.artifact.pushed", "time", "data": ...}``).

Each becomes an ``ArtifactEvent``: a push of a tag, a deletion of a manifest (by digest) or of a tag.
What ferry does not act on is dropped here with the reason (pulls, mounts, blob uploads, pushes by
digest only — an index's images are pushed by digest before the tagged index that brings them).

Every event has a ``key`` that stays the same when the sender delivers it again: the registry's
event id, or for Harbor (whose CloudEvents ids are new at each delivery) a hash of the action, the
time, the repository, the digest and the tag — the same in both of Harbor's formats.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ferry.errors import InvalidInput
from ferry.oci.digest import Digest
from ferry.oci.mediatypes import IMAGE_MANIFESTS, INDEXES, SCHEMA1
from ferry.oci.reference import REPOSITORY_PATTERN, TAG_PATTERN

REGISTRY_ENVELOPE = "application/vnd.docker.distribution.events.v1+json"
CLOUDEVENTS = "application/cloudevents+json"
_MANIFEST_TYPES = frozenset(str(kind) for kind in IMAGE_MANIFESTS | INDEXES | SCHEMA1)
_HARBOR_ACTIONS = {
    "PUSH_ARTIFACT": "push",
    "DELETE_ARTIFACT": "delete",
    "harbor.artifact.pushed": "push",
    "harbor.artifact.deleted": "delete",
}


class EventAction(StrEnum):
    PUSH = "push"
    DELETE = "delete"


class EventSender(StrEnum):
    REGISTRY = "registry"
    HARBOR = "harbor"


@dataclass(frozen=True, kw_only=True)
class ArtifactEvent:
    """A tag pushed, or a manifest (``digest``) or a tag deleted, in one repository of a source.

    The source is ``registry_id`` when the sender is known (the local registry's notifications:
    id 0), else ``source_host``, the host the sender names in its URLs (Harbor's ``resource_url``).
    """

    key: str
    sender: EventSender
    action: EventAction
    repository: str
    tag: str | None = None
    digest: Digest | None = None
    registry_id: int | None = None
    source_host: str | None = None

    def __post_init__(self) -> None:
        if self.tag is None and self.digest is None:
            raise ValueError("an artifact event names a tag or a digest")

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}" if self.tag else f"{self.repository}@{self.digest}"


@dataclass(frozen=True)
class ParsedEvents:
    events: list[ArtifactEvent]
    ignored: list[str]
    """Why each event that ferry does not act on was dropped (for the log)."""


def parse_registry_envelope(document: object, *, registry_id: int) -> ParsedEvents:
    """The manifest pushes and deletions of a distribution notification envelope."""
    if not isinstance(document, Mapping) or not isinstance(document.get("events"), list):
        raise InvalidInput(
            "not a registry notification envelope",
            hint='expected {"events": [...]} as the distribution registry sends it',
        )
    events: list[ArtifactEvent] = []
    ignored: list[str] = []
    for index, item in enumerate(document["events"]):
        try:
            event = _registry_event(item, registry_id)
        except InvalidInput as exc:
            ignored.append(f"events[{index}]: {exc.message}")
            continue
        if isinstance(event, str):
            ignored.append(f"events[{index}]: {event}")
        else:
            events.append(event)
    return ParsedEvents(events, ignored)


def _registry_event(item: object, registry_id: int) -> ArtifactEvent | str:
    if not isinstance(item, Mapping):
        raise InvalidInput("not an object")
    action = item.get("action")
    if action not in ("push", "delete"):
        return f"action {action!r} is not acted on"
    target = item.get("target")
    if not isinstance(target, Mapping):
        raise InvalidInput("has no target")
    event_id = item.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise InvalidInput("has no id")
    media_type = str(target.get("mediaType") or "")
    repository = _repository(target.get("repository"))
    tag, digest = _tag(target.get("tag")), _digest(target.get("digest"))
    if media_type and media_type not in _MANIFEST_TYPES:
        return f"{action} of a {media_type} (not a manifest) in {repository}"
    if action == "push" and tag is None:
        return f"push by digest in {repository} (copied with the tag that references it)"
    if action == "delete" and tag is not None:
        digest = None  # a tag deletion names the tag only; a manifest deletion only the digest
    if tag is None and digest is None:
        raise InvalidInput(f"{action} in {repository} names neither a tag nor a digest")
    return ArtifactEvent(
        key=f"registry:{event_id}",
        sender=EventSender.REGISTRY,
        action=EventAction(action),
        repository=repository,
        tag=tag,
        digest=digest,
        registry_id=registry_id,
    )


def parse_harbor_webhook(document: object) -> ParsedEvents:
    """The artifact pushes and deletions of a Harbor webhook, Default or CloudEvents format."""
    if not isinstance(document, Mapping) or not isinstance(document.get("type"), str):
        raise InvalidInput(
            "not a Harbor webhook payload",
            hint='expected {"type": "PUSH_ARTIFACT", "event_data": ...} or a CloudEvents '
            '{"specversion": "1.0", "type": "harbor.artifact.pushed", "data": ...}',
        )
    kind = str(document["type"])
    action = _HARBOR_ACTIONS.get(kind)
    if action is None:
        return ParsedEvents([], [f"Harbor event type {kind!r} is not acted on"])
    if "specversion" in document:
        data, occurred = document.get("data"), _epoch(document.get("time"))
    else:
        data, occurred = document.get("event_data"), document.get("occur_at")
    if not isinstance(data, Mapping):
        raise InvalidInput(f"the {kind} event has no event data")
    repository = _harbor_repository(data.get("repository"))
    resources = data.get("resources")
    if not isinstance(resources, list) or not resources:
        raise InvalidInput(f"the {kind} event for {repository} lists no resources")
    events: list[ArtifactEvent] = []
    ignored: list[str] = []
    for resource in resources:
        if not isinstance(resource, Mapping):
            raise InvalidInput(f"a resource of the {kind} event for {repository} is not an object")
        digest = _digest(resource.get("digest"))
        text = resource.get("tag")
        tag = None if not text or str(text).startswith(("sha256:", "sha512:")) else _tag(text)
        if action == "push" and tag is None:
            ignored.append(f"push by digest in {repository} (copied with the tag that references it)")
            continue
        if action == "delete" and digest is not None:
            tag = None  # Harbor deletes artifacts: the digest, with every tag on it
        if tag is None and digest is None:
            raise InvalidInput(f"a resource of the {kind} event for {repository} has no digest or tag")
        fingerprint = f"{action}|{occurred}|{repository}|{digest or ''}|{tag or ''}"
        events.append(
            ArtifactEvent(
                key="harbor:" + hashlib.sha256(fingerprint.encode()).hexdigest(),
                sender=EventSender.HARBOR,
                action=EventAction(action),
                repository=repository,
                tag=tag,
                digest=digest,
                source_host=resource_host(resource.get("resource_url")),
            )
        )
    return ParsedEvents(events, ignored)


def resource_host(url: object) -> str | None:
    """``harbor.example.com`` from Harbor's ``resource_url`` (``harbor.example.com/library/app:v1``)."""
    if not isinstance(url, str) or not url:
        return None
    host = url.split("://", 1)[-1].split("/", 1)[0]
    return normalize_source_host(host) or None


def normalize_source_host(host: str, *, scheme: str = "") -> str:
    """Lower case, without the scheme's default port, so a registry URL and a sender's URLs compare."""
    host = host.lower()
    for default, port in (("https", ":443"), ("http", ":80")):
        if host.endswith(port) and scheme in ("", default):
            return host[: -len(port)]
    return host


def _repository(value: object) -> str:
    if not isinstance(value, str) or not REPOSITORY_PATTERN.match(value) or len(value) > 255:
        raise InvalidInput(f"invalid repository name {value!r}")
    return value


def _harbor_repository(value: object) -> str:
    if not isinstance(value, Mapping):
        raise InvalidInput("the event names no repository")
    full = value.get("repo_full_name")
    if not full and value.get("namespace") and value.get("name"):
        full = f"{value['namespace']}/{value['name']}"
    return _repository(full)


def _tag(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not TAG_PATTERN.match(value):
        raise InvalidInput(f"invalid tag {value!r}")
    return value


def _digest(value: object) -> Digest | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"invalid digest {value!r}")
    return Digest.parse(value)


def _epoch(value: Any) -> int | None:
    """CloudEvents' RFC 3339 ``time`` as Harbor's ``occur_at`` (whole seconds since the epoch)."""
    if not isinstance(value, str):
        return None
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None
