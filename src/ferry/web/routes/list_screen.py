"""What the list screens of the administration (Registries, Webhooks) share: their pages, each with
the screen's menu entry, and DELETE of one row, which asks first without a script."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from fastapi import Response
from starlette.datastructures import FormData

from ferry.errors import PreconditionFailed
from ferry.web.forms import text
from ferry.web.sessions import FlashKind
from ferry.web.templating import render_page
from ferry.web.visit import Visit


@dataclass(frozen=True)
class ListScreen:
    """A screen that lists things at ``path``, marked ``nav`` in the menu."""

    path: str
    nav: str

    def page(
        self, visit: Visit, template: str, title: str, context: Mapping[str, object], *, status: int = 200
    ) -> Response:
        """A page of the screen, titled ``title`` (translated)."""
        return render_page(visit, template, {"title": title, "nav": self.nav, **context}, status=status)

    async def delete(
        self,
        visit: Visit,
        form: FormData,
        *,
        delete: Callable[[], Awaitable[object]],
        asking: str,
        title: str,
        context: Mapping[str, object],
        deleted: str,
        refused: str | None = None,
    ) -> Response:
        """DELETE: without ``confirm=yes`` (no script to ask), the page ``asking`` (titled ``title``,
        with ``context``) asks first. Else ``delete()``, then back to the list with ``deleted`` as
        the flash; with ``refused``, a deletion the store refuses (``PreconditionFailed``) is said
        after those words instead."""
        if text(form, "confirm") != "yes":
            return self.page(visit, asking, title, context)
        try:
            await delete()
        except PreconditionFailed as exc:
            if refused is None:
                raise
            visit.flash(FlashKind.ERROR, f"{refused} {exc}")
        else:
            visit.flash(FlashKind.SUCCESS, deleted)
        return visit.redirect(self.path)
