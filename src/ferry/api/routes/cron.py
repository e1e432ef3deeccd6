"""``/cron/preview`` (ferry): the next runs of a cron expression, so a form can show what a
schedule means before the rule is saved. The expression is checked with Harbor's rules."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ferry.api.context import Context, SignedIn
from ferry.api.responses import CronPreview, error_responses
from ferry.api.schemas import CronPreviewBody
from ferry.api.views import harbor_time
from ferry.replication.domain.cron import check_cron, next_runs, zone

router = APIRouter(tags=["replication"])


@router.post(
    "/cron/preview",
    summary="The next runs of a cron expression (ferry)",
    response_model=CronPreview,
    responses=error_responses(400),
)
async def preview_cron(body: CronPreviewBody, context: Context, principal: SignedIn) -> JSONResponse:
    cron = check_cron(body.cron, field="cron")
    timezone = body.timezone or None
    zone(timezone, field="timezone")
    runs = next_runs(cron, after=context.clock(), timezone=timezone, count=body.count)
    return JSONResponse({"cron": cron, "timezone": timezone, "next_runs": [harbor_time(run) for run in runs]})
