"""Sign-in, sign-out and the language switch.

The sign-in form takes the admin password or an API token (as the password, any user name), goes
through the same ``Authenticator`` and throttle as the API, and starts a new session (a new CSRF
token) on success.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from ferry.auth.authenticator import SignInFailed
from ferry.auth.throttle import TooManySignIns
from ferry.web.forms import text
from ferry.web.i18n import parse_language
from ferry.web.sessions import FlashKind
from ferry.web.templating import render_page
from ferry.web.visit import AnyForm, AnyVisit, Visit, safe_next

router = APIRouter()

LOGIN_PATH = "/ui/login"


@router.get(LOGIN_PATH)
async def login_page(visit: AnyVisit, next: str = "/") -> Response:
    if visit.principal is not None:
        return visit.redirect(safe_next(next))
    return _login(visit, next=safe_next(next))


@router.post(LOGIN_PATH)
async def login(visit: AnyVisit, form: AnyForm) -> Response:
    target = safe_next(text(form, "next"))
    user = text(form, "username")
    client = visit.request.client.host if visit.request.client else "unknown"
    authenticator = visit.services.authenticator
    try:
        principal = await authenticator.sign_in(user, text(form, "password"), client)
    except TooManySignIns as exc:
        error = visit.gettext(
            "Too many failed sign-ins from this address; try again in %(seconds)s s.", seconds=exc.retry_after
        )
        response = _login(visit, next=target, user=user, error=error, status=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except SignInFailed:
        error = visit.gettext("Invalid user name, password or token.")
        return _login(visit, next=target, user=user, error=error)
    visit.sign_in(principal, await authenticator.fingerprint(principal))
    return visit.redirect(target)


@router.post("/ui/logout")
async def logout(visit: AnyVisit, form: AnyForm) -> Response:
    visit.sign_out()
    visit.flash(FlashKind.SUCCESS, visit.gettext("You have signed out."))
    return visit.redirect(LOGIN_PATH)


@router.post("/ui/language")
async def choose_language(visit: AnyVisit, form: AnyForm) -> Response:
    language = parse_language(text(form, "lang"))
    if language is not None:
        visit.choose_language(language)
    return visit.redirect(safe_next(text(form, "next")))


def _login(
    visit: Visit, *, next: str, user: str = "", error: str | None = None, status: int = 200
) -> Response:
    context = {"next": next, "user": user, "error": error, "title": visit.gettext("Sign in")}
    return render_page(visit, "login.html", context, status=status)
