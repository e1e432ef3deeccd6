"""Manifests that keep their raw bytes, so the digest never changes on the way through ferry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ferry.errors import InvalidInput, Unsupported
from ferry.oci.descriptor import Descriptor
from ferry.oci.digest import Digest
from ferry.oci.mediatypes import INDEXES, SCHEMA1, MediaType, is_foreign_layer


@dataclass(frozen=True)
class Manifest:
    """A manifest as the registry served it: the exact bytes, their media type and digest.

    ``media_type`` is the registry's ``Content-Type``, falling back to the document's own
    ``mediaType`` field. Parsing is lazy and never re-serialises.
    """

    raw: bytes
    media_type: str
    digest: Digest

    @classmethod
    def from_bytes(cls, raw: bytes, *, content_type: str | None, where: str) -> Manifest:
        document = _load(raw, where)
        declared = document.get("mediaType")
        media_type = _clean_content_type(content_type) or (declared if isinstance(declared, str) else "")
        if not media_type or media_type in {"application/json", "application/octet-stream"}:
            media_type = _guess_media_type(document)
        if media_type in SCHEMA1 or document.get("schemaVersion") == 1:
            raise Unsupported(
                f"{where} is a Docker schema 1 manifest, which ferry does not copy",
                hint="schema 1 is deprecated and cannot keep its digest; rebuild or re-push the image "
                "with a current docker/buildah so it is stored as schema 2 or OCI",
            )
        manifest = cls(raw=raw, media_type=media_type, digest=Digest.of(raw))
        manifest._validate(where)
        return manifest

    @cached_property
    def document(self) -> dict[str, Any]:
        return _load(self.raw, str(self.digest))

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEXES

    @cached_property
    def children(self) -> tuple[Descriptor, ...]:
        """The manifests an index points at (empty for image manifests)."""
        if not self.is_index:
            return ()
        return tuple(
            Descriptor.from_json(item, where=f"manifest {self.digest.short}")
            for item in self.document.get("manifests") or ()
        )

    @cached_property
    def config(self) -> Descriptor | None:
        raw = self.document.get("config")
        if self.is_index or raw is None:
            return None
        return Descriptor.from_json(raw, where=f"config of {self.digest.short}")

    @cached_property
    def layers(self) -> tuple[Descriptor, ...]:
        if self.is_index:
            return ()
        return tuple(
            Descriptor.from_json(item, where=f"layers of {self.digest.short}")
            for item in self.document.get("layers") or ()
        )

    @cached_property
    def blobs(self) -> tuple[Descriptor, ...]:
        """Config and layers that must exist in the destination before this manifest is pushed.

        Foreign (non-distributable) layers are left out: registries never hold them.
        """
        found: dict[Digest, Descriptor] = {}
        for descriptor in ((self.config,) if self.config else ()) + self.layers:
            if not is_foreign_layer(descriptor.media_type):
                found.setdefault(descriptor.digest, descriptor)
        return tuple(found.values())

    @cached_property
    def subject(self) -> Descriptor | None:
        raw = self.document.get("subject")
        return None if raw is None else Descriptor.from_json(raw, where=f"subject of {self.digest.short}")

    @property
    def artifact_type(self) -> str | None:
        value = self.document.get("artifactType")
        if isinstance(value, str):
            return value
        return self.config.media_type if self.config else None

    def _validate(self, where: str) -> None:
        if self.is_index:
            _ = self.children
        elif self.media_type in (MediaType.DOCKER_MANIFEST, MediaType.OCI_MANIFEST):
            if self.config is None:
                raise InvalidInput(f"{where}: image manifest without a config descriptor")
            _ = self.layers
        else:
            raise Unsupported(
                f"{where} has media type {self.media_type!r}, which is not a manifest ferry copies"
            )


def _load(raw: bytes, where: str) -> dict[str, Any]:
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{where}: manifest is not valid JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise InvalidInput(f"{where}: manifest is not a JSON object")
    return document


def _clean_content_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip()


def _guess_media_type(document: dict[str, Any]) -> str:
    declared = document.get("mediaType")
    if isinstance(declared, str) and declared:
        return declared
    if "manifests" in document:
        return MediaType.OCI_INDEX
    return MediaType.OCI_MANIFEST
