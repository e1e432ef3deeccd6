"""The one exception tree every ferry layer raises.

::

    FerryError
    ├── InvalidInput        bad references, globs, options: the caller must change something
    ├── Unsupported         content ferry refuses to copy (Docker schema 1)
    ├── IntegrityError      bytes that do not match their digest or size
    ├── Cancelled           a copy stopped on request
    ├── RecordNotFound      a stored registry, policy, execution or task that does not exist
    ├── RecordConflict      a stored name that is already taken
    ├── PreconditionFailed  a change refused because of other state (a registry in use, a running policy)
    ├── SecretsError        an encrypted secret that the configured key cannot open
    └── RegistryError       a registry answered with an error, or could not be reached
        ├── NotFound        manifest, blob, repository or upload missing
        ├── Unauthorized    credentials missing or wrong (401)
        ├── Denied          authenticated but not allowed (403, DENIED)
        ├── Conflict        the registry refused because of existing state
        └── Unavailable     connection errors, timeouts, 5xx and 429 after retries

Every ``RegistryError`` names the registry, repository, reference and HTTP status it is about.
Messages never contain credentials.
"""

from __future__ import annotations

from dataclasses import dataclass


class FerryError(Exception):
    """Root of every error ferry raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class InvalidInput(FerryError):
    """Input that can never work as given; the hint says what to change."""


class Unsupported(FerryError):
    """Content ferry deliberately refuses to copy."""


class IntegrityError(FerryError):
    """Content whose digest or size differs from what its descriptor promised."""


class Cancelled(FerryError):
    """Work stopped because somebody asked for it to stop."""


class RecordNotFound(FerryError):
    """A stored object (registry, policy, execution, task) with that id or name does not exist."""


class RecordConflict(FerryError):
    """A stored object already uses that unique name."""


class PreconditionFailed(FerryError):
    """The change is refused because of other state: a registry still used by a policy, a policy
    with a running execution, a disabled policy."""


class SecretsError(FerryError):
    """A secret stored encrypted cannot be opened with the configured key."""


@dataclass(frozen=True)
class RegistryErrorDetail:
    """One entry of a registry's ``{"errors": [...]}`` body."""

    code: str
    message: str
    detail: str | None = None


@dataclass(frozen=True)
class RequestContext:
    """What a registry request was about, for error messages."""

    registry: str
    repository: str | None = None
    reference: str | None = None
    operation: str | None = None


class RegistryError(FerryError):
    """A registry answered with an error or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        context: RequestContext,
        status: int | None = None,
        details: tuple[RegistryErrorDetail, ...] = (),
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.context = context
        self.status = status
        self.details = details

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(detail.code for detail in self.details)

    def __str__(self) -> str:
        text = self.message
        where = describe_context(self.context)
        if where:
            text += f" ({where})"
        facts = [f"HTTP {self.status}"] if self.status is not None else []
        facts.extend(_format_detail(detail) for detail in self.details)
        if facts:
            text += ": " + ", ".join(facts)
        if self.hint:
            text += f"; {self.hint}"
        return text


class NotFound(RegistryError):
    """The manifest, blob, repository or upload does not exist."""


class Unauthorized(RegistryError):
    """Credentials were missing or rejected."""


class Denied(RegistryError):
    """The credentials are valid but not allowed to do this."""


class Conflict(RegistryError):
    """The registry refused the change because of existing state."""


class Unavailable(RegistryError):
    """The registry could not be reached or kept failing after retries."""


def describe_context(context: RequestContext) -> str:
    where = context.registry
    if context.repository:
        where += f"/{context.repository}"
        if context.reference:
            separator = "@" if context.reference.startswith("sha256:") else ":"
            where += f"{separator}{context.reference}"
    if context.operation:
        where = f"{context.operation} {where}"
    return where


def _format_detail(detail: RegistryErrorDetail) -> str:
    return f"{detail.code}: {detail.message}" if detail.message else detail.code
