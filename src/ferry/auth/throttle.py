"""A brake on guessing: after a few failed sign-ins from one address, further attempts are
refused for a pause that doubles, so a password cannot be guessed at network speed."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ferry.errors import FerryError


class TooManySignIns(FerryError):
    """Sign-ins from this address are paused; ``retry_after`` is the wait in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins from this address; try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass
class _Failures:
    count: int = 0
    blocked_until: float = 0.0
    last: float = 0.0


@dataclass
class SignInThrottle:
    """Per client address: ``free_attempts`` failures pass, then each one doubles the pause."""

    free_attempts: int = 5
    max_pause: float = 300.0
    forget_after: float = 900.0
    monotonic: Callable[[], float] = time.monotonic
    _clients: dict[str, _Failures] = field(default_factory=dict)

    def check(self, client: str) -> None:
        """Raise ``TooManySignIns`` while ``client`` must wait."""
        failures = self._clients.get(client)
        if failures is None:
            return
        now = self.monotonic()
        if now - failures.last > self.forget_after:
            del self._clients[client]
        elif failures.blocked_until > now:
            raise TooManySignIns(math.ceil(failures.blocked_until - now))

    def failed(self, client: str) -> None:
        now = self.monotonic()
        failures = self._clients.setdefault(client, _Failures())
        failures.count += 1
        failures.last = now
        over = failures.count - self.free_attempts
        if over >= 0:
            failures.blocked_until = now + min(self.max_pause, 2.0**over)
        if len(self._clients) > 10_000:  # a spray from many addresses must not grow memory for ever
            self._clients.pop(next(iter(self._clients)))

    def succeeded(self, client: str) -> None:
        self._clients.pop(client, None)
