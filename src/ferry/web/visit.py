"""One request as the pages see it: the session, the language, who is signed in; and the two
checks in front of the pages, sign-in and CSRF, as FastAPI dependencies.

CSRF: every form carries the session's token in a hidden ``csrf_token`` field, compared in
constant time on every POST; a POST whose ``Origin`` (or, without one, ``Referer``) names another
host is refused before that. The session cookie is ``SameSite=Lax`` besides.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, replace
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from ferry.auth.authenticator import Principal
from ferry.services import Services
from ferry.web.i18n import LANGUAGE_COOKIE, Language, Translator, choose_language
from ferry.web.sessions import SESSION_COOKIE, Flash, FlashKind, Session, SessionCodec, WebSettings

CSRF_FIELD = "csrf_token"
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600


@dataclass(frozen=True)
class WebState:
    """What the web app keeps in ``app.state.web``."""

    services: Services
    settings: WebSettings
    codec: SessionCodec


class SignInRequired(Exception):
    """The page needs a signed-in visitor; answered with a redirect to the sign-in page."""

    def __init__(self, visit: Visit) -> None:
        super().__init__("sign-in required")
        self.visit = visit


class FormRejected(Exception):
    """A POST without this session's CSRF token, or from another site; answered with 403."""

    def __init__(self, visit: Visit, reason: str) -> None:
        super().__init__(reason)
        self.visit = visit


@dataclass
class Visit:
    request: Request
    services: Services
    language: Language
    session: Session
    principal: Principal | None
    codec: SessionCodec
    settings: WebSettings
    session_changed: bool = False
    language_changed: bool = False

    @property
    def translator(self) -> Translator:
        return Translator(self.language)

    def gettext(self, message: str, **variables: object) -> str:
        return self.translator.gettext(message, **variables)

    @property
    def secure(self) -> bool:
        return self.request.url.scheme == "https"

    def flash(self, kind: FlashKind, text: str) -> None:
        self._change(self.session.with_flash(Flash(kind, text)))

    def take_flash(self) -> Flash | None:
        flash = self.session.flash
        if flash is not None:
            self._change(self.session.with_flash(None))
        return flash

    def sign_in(self, principal: Principal, fingerprint: str | None) -> None:
        """A new session (a new CSRF token: nothing from before the sign-in carries over)."""
        now = int(self.services.clock().timestamp())
        self._change(
            replace(
                Session.new(),
                user=principal.name,
                token_id=principal.token_id,
                fingerprint=fingerprint,
                signed_in_at=now,
            )
        )
        self.principal = principal

    def sign_out(self) -> None:
        self._change(Session.new())
        self.principal = None

    def choose_language(self, language: Language) -> None:
        self.language = language
        self.language_changed = True

    def finish(self, response: Response) -> Response:
        """Write the cookies this visit changed onto ``response``."""
        if self.session_changed:
            response.set_cookie(
                SESSION_COOKIE,
                self.codec.dumps(self.session),
                max_age=self.settings.session_seconds,
                path="/",
                secure=self.secure,
                httponly=True,
                samesite="lax",
            )
        if self.language_changed:
            response.set_cookie(
                LANGUAGE_COOKIE,
                self.language.tag,
                max_age=LANGUAGE_COOKIE_SECONDS,
                path="/",
                secure=self.secure,
                httponly=True,
                samesite="lax",
            )
        response.headers["Cache-Control"] = "no-store"
        return response

    def redirect(self, url: str) -> Response:
        """303 to ``url`` (after a POST the browser GETs it)."""
        return self.finish(RedirectResponse(url, status_code=303))

    def _change(self, session: Session) -> None:
        self.session = session
        self.session_changed = True


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


async def current_visit(request: Request) -> Visit:
    """The visit, with a fresh anonymous session when the cookie is missing, forged or expired."""
    state = web_state(request)
    loaded = state.codec.loads(request.cookies.get(SESSION_COOKIE))
    session = loaded or Session.new()
    language = choose_language(request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language"))
    visit = Visit(request, state.services, language, session, None, state.codec, state.settings)
    visit.session_changed = loaded is None
    if session.user is not None:
        visit.principal = await _still_signed_in(visit, session)
        if visit.principal is None:
            visit.sign_out()
    request.state.visit = visit
    return visit


async def _still_signed_in(visit: Visit, session: Session) -> Principal | None:
    assert session.user is not None
    age = visit.services.clock().timestamp() - session.signed_in_at
    if not 0 <= age < visit.settings.session_seconds:
        return None
    principal = Principal(session.user, token_id=session.token_id)
    fingerprint = await visit.services.authenticator.fingerprint(principal)
    if fingerprint is None or fingerprint != session.fingerprint:
        return None
    return principal


AnyVisit = Annotated[Visit, Depends(current_visit)]


async def signed_in_visit(visit: AnyVisit) -> Visit:
    if visit.principal is None:
        raise SignInRequired(visit)
    return visit


SignedInVisit = Annotated[Visit, Depends(signed_in_visit)]


async def checked_form(visit: Visit) -> FormData:
    """The posted form, once its origin and CSRF token are checked."""
    request = visit.request
    if not _same_origin(request):
        raise FormRejected(visit, "the form was posted from another site")
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not isinstance(token, str) or not hmac.compare_digest(token.encode(), visit.session.csrf.encode()):
        raise FormRejected(visit, "the form's CSRF token is missing or out of date")
    return form


def _same_origin(request: Request) -> bool:
    host = request.headers.get("host", "")
    origin = request.headers.get("origin")
    if origin is not None:
        return origin != "null" and urlsplit(origin).netloc == host
    referer = request.headers.get("referer")
    if referer:
        return urlsplit(referer).netloc == host
    return True  # neither header (some privacy settings drop both): the token alone decides


async def anonymous_form(visit: AnyVisit) -> FormData:
    return await checked_form(visit)


async def signed_in_form(visit: SignedInVisit) -> FormData:
    return await checked_form(visit)


AnyForm = Annotated[FormData, Depends(anonymous_form)]
SignedInForm = Annotated[FormData, Depends(signed_in_form)]


def safe_next(target: str | None, default: str = "/") -> str:
    """``target`` when it is a path on this site, else ``default``: no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
