"""Running a deletion task (operation ``deletion`` or ``tag deletion``): each unsettled reference
is deleted at the destination in turn — manifests by digest first, then tags, so the tags a
registry reports along with a deleted manifest find their work done — under the rules of
``replication.deletion``. A failure ends that reference as failed with its error, which the runner
retries when a later attempt can cure it (the destination was unavailable)."""

from __future__ import annotations

from collections.abc import Sequence

from ferry.errors import FerryError
from ferry.jobs.context import ExecutionContext, TaskProgress
from ferry.replication.deletion import delete_reference
from ferry.replication.engine.copier import CopyItem, CopyResult
from ferry.replication.engine.progress import ImageOutcome


async def delete_items(
    context: ExecutionContext, progress: TaskProgress, items: Sequence[CopyItem]
) -> list[CopyResult]:
    results = []
    for item in items:
        reference = progress.references[str(item.destination)]
        try:
            deletion = await delete_reference(
                context.destination,
                context.policy,
                item.destination.repository,
                reference,
                delete_tag=context.delete_tag,
            )
        except FerryError as exc:
            progress.log(f"{item.destination}: deletion failed: {exc}", level="ERROR")
            results.append(CopyResult(item, ImageOutcome.FAILED, message=str(exc), error=exc))
            continue
        progress.log(deletion.message)
        results.append(
            CopyResult(item, deletion.outcome, digest=item.destination.digest, message=deletion.message)
        )
    return results
