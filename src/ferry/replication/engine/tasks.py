"""Running sibling coroutines so that the first real failure surfaces as itself."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from typing import Any


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
