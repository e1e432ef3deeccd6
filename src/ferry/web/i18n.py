"""Languages: English (the message ids) and Simplified Chinese, with Harbor's Chinese terms.

The language comes from the ``lang`` cookie (the switch on every page), else from the browser's
``Accept-Language``, else English. Catalogs are Babel's: ``locale/<lang>/LC_MESSAGES/messages.po``
compiled to ``.mo`` (the workflow is in docs/web.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path

from babel.core import negotiate_locale
from babel.dates import format_timedelta
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
LANGUAGE_COOKIE = "lang"


class Language(StrEnum):
    """The UI's languages, as Babel names their catalogs."""

    EN = "en"
    ZH_CN = "zh_CN"

    @property
    def tag(self) -> str:
        """The BCP 47 tag for ``<html lang>`` and the cookie: ``en``, ``zh-CN``."""
        return self.value.replace("_", "-")

    @property
    def label(self) -> str:
        """The language's name in itself, for the switch."""
        return _LABELS[self]


_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")
_LABELS = {Language.EN: "English", Language.ZH_CN: "中文简体"}
DEFAULT_LANGUAGE = Language.EN
_ALIASES = {"zh": "zh_CN", "zh_hans": "zh_CN", "zh_hans_cn": "zh_CN", "zh_sg": "zh_CN", "en": "en"}


def parse_language(tag: str | None) -> Language | None:
    """A language the UI speaks from a tag such as ``zh-CN`` or ``en``; None for any other."""
    if not tag:
        return None
    found = negotiate_locale(
        [tag.strip().replace("-", "_")], [item.value for item in Language], aliases=_ALIASES
    )
    return None if found is None else Language(found)


def accepted_languages(header: str | None) -> list[str]:
    """``Accept-Language`` as tags in order of preference (``q`` descending, ``*`` dropped)."""
    weighted: list[tuple[float, int, str]] = []
    for index, item in enumerate((header or "").split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(weighted)]


def choose_language(cookie: str | None, accept_language: str | None) -> Language:
    chosen = parse_language(cookie)
    if chosen is not None:
        return chosen
    preferred = [tag.replace("-", "_") for tag in accepted_languages(accept_language)]
    found = negotiate_locale(preferred, [item.value for item in Language], aliases=_ALIASES)
    return DEFAULT_LANGUAGE if found is None else Language(found)


@cache
def translations(language: Language) -> NullTranslations:
    if language is Language.EN:
        return NullTranslations()  # the message ids are the English text
    return Translations.load(str(LOCALE_DIR), [language.value], domain=DOMAIN)


@dataclass(frozen=True)
class Translator:
    """Messages and numbers in one language, for Python code; templates use the same catalog."""

    language: Language

    def gettext(self, message: str, **variables: object) -> str:
        text = translations(self.language).gettext(message)
        return text % variables if variables else text

    def ngettext(self, singular: str, plural: str, num: int, **variables: object) -> str:
        text = translations(self.language).ngettext(singular, plural, num)
        return text % {"num": num, **variables}

    def duration(self, seconds: float) -> str:
        return format_timedelta(
            timedelta(seconds=seconds), threshold=2, format="short", locale=self.language.value
        )

    def size(self, count: int) -> str:
        """Bytes in binary units (1.5 GiB), digits grouped as the language groups them."""
        value, unit = float(count), 0
        while value >= 1024 and unit < len(_UNITS) - 1:
            value, unit = value / 1024, unit + 1
        pattern = "#,##0" if unit == 0 else "#,##0.0"
        return f"{format_decimal(value, format=pattern, locale=self.language.value)} {_UNITS[unit]}"


def utc_text(value: datetime | None) -> str:
    """A time as the UI shows it: ``2026-12-02 15:15 UTC`` (the same in every language)."""
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
