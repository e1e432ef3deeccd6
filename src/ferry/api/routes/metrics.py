"""``GET /metrics``: ferry's metrics in the Prometheus text format (see docs/metrics.md).

Served on the API's port, outside ``/api/v2.0`` (it is not part of Harbor's API), and without
sign-in by default, as Prometheus targets usually are: the metrics carry counts, durations and
registry host names, never a secret. ``ferry serve --metrics-auth`` requires the same sign-in as
the API (admin or an API token; Prometheus sends one with ``basic_auth`` or ``authorization``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ferry.api.context import Context, signed_in
from ferry.api.errors import ApiError
from ferry.jobs.metrics import CONTENT_TYPE

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, context: Context) -> Response:
    recorder = context.metrics
    if recorder is None:
        raise ApiError(404, "this ferry serves no metrics; `ferry serve` does")
    if context.metrics_sign_in:
        await signed_in(request, context)
    await recorder.refresh(context.store, context.service.dispatcher.activity())
    return Response(recorder.render(), media_type=CONTENT_TYPE)
