"""The ACR OpenAPI is called at most 15 times per second per endpoint, as Harbor paces it."""

from __future__ import annotations

import asyncio

import pytest

from ferry.providers.acr.openapi import CallPacer


async def test_calls_are_spaced_by_the_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))

    monkeypatch.setattr("ferry.providers.acr.openapi.time.monotonic", lambda: now[0])
    monkeypatch.setattr("ferry.providers.acr.openapi.asyncio.sleep", sleep)
    pacer = CallPacer(rate=15)

    await asyncio.gather(*(pacer.wait() for _ in range(4)))

    assert slept == [round(1 / 15, 6), round(2 / 15, 6), round(3 / 15, 6)]


async def test_a_pause_gives_no_credit_for_a_burst(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("ferry.providers.acr.openapi.time.monotonic", lambda: now[0])
    monkeypatch.setattr("ferry.providers.acr.openapi.asyncio.sleep", sleep)
    pacer = CallPacer(rate=15)
    await pacer.wait()
    now[0] += 60  # a quiet minute
    await pacer.wait()
    await pacer.wait()

    assert len(slept) == 1
    assert slept[0] == pytest.approx(1 / 15)
