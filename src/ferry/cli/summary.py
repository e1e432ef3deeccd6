"""Run totals and the JSON summary: no rich here, so ``--json`` runs never import it."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from ferry.replication.engine.copier import CopyResult
from ferry.replication.engine.progress import BlobDone, BytesMoved, Event, ImageOutcome


@dataclass
class Totals:
    """An engine event sink that keeps the numbers the summary reports."""

    bytes_sent: int = 0
    blobs: Counter[str] = field(default_factory=Counter)

    def __call__(self, event: Event) -> None:
        if isinstance(event, BytesMoved):
            self.bytes_sent += event.amount
        elif isinstance(event, BlobDone):
            self.blobs[event.outcome.value] += 1


def summary_json(results: list[CopyResult], totals: Totals, seconds: float, *, dry_run: bool) -> str:
    counts = Counter(result.outcome.value for result in results)
    document = {
        "dry_run": dry_run,
        "images": [
            {
                "source": str(result.item.source),
                "destination": str(result.item.destination),
                "outcome": result.outcome.value,
                "digest": str(result.digest) if result.digest else None,
                "message": result.message,
            }
            for result in results
        ],
        "counts": {outcome.value: counts[outcome.value] for outcome in ImageOutcome},
        "bytes_sent": totals.bytes_sent,
        "blobs": dict(totals.blobs),
        "seconds": round(seconds, 3),
    }
    return json.dumps(document, indent=2)
