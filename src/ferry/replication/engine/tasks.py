"""Running sibling coroutines so that the first real failure surfaces as itself."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


async def run_all(coroutines: Iterable[Coroutine[Any, Any, Any]]) -> None:
    """Run all; on the first failure cancel the rest and raise that failure (not an ExceptionGroup).

    A failed blob means its manifest must not be pushed, so there is no point finishing siblings.
    """
    try:
        async with asyncio.TaskGroup() as group:
            for coroutine in coroutines:
                group.create_task(coroutine)
    except BaseExceptionGroup as group_error:
        raise _first_leaf(group_error) from None


def _first_leaf(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


async def bounded_map(function: Callable[[T], Awaitable[R]], items: Sequence[T], *, limit: int) -> list[R]:
    """``[await function(item) for item in items]`` with at most ``limit`` running at once, in order."""
    results: list[R | None] = [None] * len(items)
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < len(items):
            index = next_index
            next_index += 1
            results[index] = await function(items[index])

    await run_all(worker() for _ in range(min(limit, len(items))))
    return results  # type: ignore[return-value]  # every slot was filled
