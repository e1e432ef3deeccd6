"""What every route needs: the ``Services`` bundle built once by the composition root, reached
through FastAPI dependencies (never a module-level singleton), and who is calling."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ferry.api.errors import ApiError
from ferry.auth.authenticator import Principal, SignInFailed
from ferry.auth.throttle import TooManySignIns
from ferry.services import Services

REALM = 'Basic realm="ferry"'


def api_context(request: Request) -> Services:
    context: Services = request.app.state.ferry
    return context


Context = Annotated[Services, Depends(api_context)]


async def signed_in(request: Request, context: Context) -> Principal:
    """HTTP Basic (admin or an API token) or Bearer; 401 with a Basic challenge, or 429 with
    ``Retry-After`` while this address is throttled."""
    client = request.client.host if request.client else "unknown"
    try:
        return await context.authenticator.authenticate(request.headers.get("authorization"), client)
    except TooManySignIns as exc:
        raise ApiError(429, exc.message, headers={"Retry-After": str(exc.retry_after)}) from exc
    except SignInFailed as exc:
        raise ApiError(401, exc.message, headers={"WWW-Authenticate": REALM}) from exc


SignedIn = Annotated[Principal, Depends(signed_in)]
