"""Content descriptors: what a manifest says about a blob or another manifest."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ferry.errors import InvalidInput
from ferry.oci.digest import Digest


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: Digest
    size: int
    platform: Platform | None = None
    urls: tuple[str, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any, *, where: str) -> Descriptor:
        if not isinstance(data, dict):
            raise InvalidInput(f"malformed descriptor in {where}: expected an object")
        try:
            digest = Digest.parse(str(data["digest"]))
            size = int(data["size"])
        except KeyError as exc:
            raise InvalidInput(f"malformed descriptor in {where}: missing {exc.args[0]!r}") from exc
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"malformed descriptor in {where}: size is not a number") from exc
        if size < 0:
            raise InvalidInput(f"malformed descriptor in {where}: negative size")
        platform = None
        raw_platform = data.get("platform")
        if isinstance(raw_platform, dict):
            platform = Platform(
                os=str(raw_platform.get("os", "")),
                architecture=str(raw_platform.get("architecture", "")),
                variant=raw_platform.get("variant"),
            )
        annotations = data.get("annotations") or {}
        return cls(
            media_type=str(data.get("mediaType", "")),
            digest=digest,
            size=size,
            platform=platform,
            urls=tuple(data.get("urls") or ()),
            annotations={str(k): str(v) for k, v in annotations.items()},
        )
