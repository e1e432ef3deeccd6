"""Image references (``host[:port]/repository[:tag][@digest]``) and registry locations."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ferry.errors import InvalidInput
from ferry.oci.digest import Digest

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
REPOSITORY_PATTERN = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
TAG_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?$")


def looks_like_host(component: str) -> bool:
    """Docker's rule: the first path component is a registry host if it has a dot or a port,
    or is ``localhost``."""
    return "." in component or ":" in component or component == "localhost" or component.startswith("[")


def validate_repository(name: str) -> str:
    if not REPOSITORY_PATTERN.match(name) or len(name) > 255:
        raise InvalidInput(
            f"invalid repository name {name!r}",
            hint="use lowercase letters, digits and separators (. _ __ -) in /-separated components",
        )
    return name


def validate_tag(tag: str) -> str:
    if not TAG_PATTERN.match(tag):
        raise InvalidInput(
            f"invalid tag {tag!r}",
            hint="tags are up to 128 of A-Z a-z 0-9 _ . - and do not start with . or -",
        )
    return tag


def normalize_host(host: str) -> str:
    return DOCKER_HUB if host in {"index.docker.io", DOCKER_HUB_API, "docker.io"} else host


@dataclass(frozen=True)
class ImageReference:
    """One image: a registry host, a repository and a tag and/or digest."""

    registry: str
    repository: str
    tag: str | None = None
    digest: Digest | None = None

    @classmethod
    def parse(cls, text: str) -> ImageReference:
        original = text
        text = _strip_scheme(text.strip())
        if not text:
            raise InvalidInput("empty image reference", hint="expected host[:port]/repository[:tag][@digest]")
        digest = None
        if "@" in text:
            text, digest_text = text.split("@", 1)
            digest = Digest.parse(digest_text)
        tag = None
        last_slash = text.rfind("/")
        colon = text.rfind(":")
        if colon > last_slash:
            text, tag = text[:colon], validate_tag(text[colon + 1 :])
        first, _, rest = text.partition("/")
        if rest and looks_like_host(first):
            registry, repository = normalize_host(first), rest
        else:
            registry, repository = DOCKER_HUB, text
        if registry == DOCKER_HUB and "/" not in repository:
            repository = f"library/{repository}"
        try:
            validate_repository(repository)
        except InvalidInput as exc:
            raise InvalidInput(f"invalid image reference {original!r}: {exc.message}", hint=exc.hint) from exc
        if tag is None and digest is None:
            tag = "latest"
        return cls(registry=registry, repository=repository, tag=tag, digest=digest)

    @property
    def reference(self) -> str:
        """What goes after ``/manifests/`` when fetching: the digest if there is one, else the tag."""
        if self.digest is not None:
            return str(self.digest)
        assert self.tag is not None
        return self.tag

    def with_repository(self, repository: str) -> ImageReference:
        return ImageReference(self.registry, repository, self.tag, self.digest)

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


@dataclass(frozen=True)
class RegistryLocation:
    """``host[:port][/namespace]``: where ``ferry sync`` reads from or writes to."""

    registry: str
    namespace: str = ""

    @classmethod
    def parse(cls, text: str, *, require_namespace: bool = False) -> RegistryLocation:
        cleaned = _strip_scheme(text.strip()).strip("/")
        host, _, namespace = cleaned.partition("/")
        if not host or not _HOST.match(host):
            raise InvalidInput(f"invalid registry location {text!r}", hint="expected host[:port][/namespace]")
        if namespace:
            try:
                validate_repository(namespace)
            except InvalidInput as exc:
                raise InvalidInput(f"invalid namespace in {text!r}: {exc.message}", hint=exc.hint) from exc
        elif require_namespace:
            raise InvalidInput(
                f"destination {text!r} has no namespace",
                hint="write it as host[:port]/namespace, e.g. registry.example.com/lgy-images",
            )
        return cls(registry=normalize_host(host), namespace=namespace)

    def __str__(self) -> str:
        return f"{self.registry}/{self.namespace}" if self.namespace else self.registry


def _strip_scheme(text: str) -> str:
    for scheme in ("https://", "http://", "docker://"):
        if text.startswith(scheme):
            return text[len(scheme) :]
    return text
