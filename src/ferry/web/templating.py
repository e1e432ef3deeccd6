"""Jinja2 rendering: one environment per language, each with its catalog installed through
Jinja's i18n extension (``{% trans %}``, ``_()``, ``ngettext``) and its own number and time
filters. Autoescaping is on for every template."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ferry.providers.catalogue import provider_name
from ferry.web.i18n import Language, Translator, translations, utc_text
from ferry.web.visit import CSRF_FIELD, Visit

STATIC_PATH = "/ui/static"


@cache
def environment(language: Language) -> Environment:
    env = Environment(
        loader=PackageLoader("ferry.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    translator = Translator(language)
    env.filters.update(
        utc=utc_text, size=translator.size, duration=translator.duration, provider=provider_name
    )
    env.globals.update(
        language=language, languages=list(Language), csrf_field=CSRF_FIELD, static_path=STATIC_PATH
    )
    return env


def render_text(visit: Visit, template: str, context: Mapping[str, object]) -> str:
    return environment(visit.language).get_template(template).render(visit=visit, **context)


def render_page(
    visit: Visit, template: str, context: Mapping[str, object] | None = None, *, status: int = 200
) -> HTMLResponse:
    """A whole page: the layout shows (and so consumes) the flash message."""
    page = dict(context or {})
    page.setdefault("flash", visit.take_flash())
    response = HTMLResponse(render_text(visit, template, page), status_code=status)
    visit.finish(response)
    return response


def render_fragment(
    visit: Visit, template: str, context: Mapping[str, object] | None = None, *, status: int = 200
) -> HTMLResponse:
    """A piece of a page for the live updates and the script's requests; the flash stays."""
    response = HTMLResponse(render_text(visit, template, context or {}), status_code=status)
    visit.finish(response)
    return response
