"""Languages: which one a request gets, and the catalog its scripts receive.

One source of truth: the gettext catalogs in app/translations/ (Flask-Babel). English is
the source language (the msgids); every other language has a catalog. Scripts get the
same compiled catalog as JSON (see js_catalog), never a second copy kept by hand.
"""

import logging

from babel import Locale
from flask import Flask, current_app, g, request
from flask_babel import get_translations
from flask_login import current_user

from app.extensions import babel

# BCP 47 tag (what pages, the API and the database use) -> Babel identifier (its catalog
# folder in app/translations/: Babel reads "zh_CN" as zh_Hans_CN), and the
# name of each language in that language (shown by the switcher).
LOCALES = {"en": "en", "zh-CN": "zh_Hans_CN"}
LOCALE_NAMES = {"en": "English", "zh-CN": "简体中文"}
DEFAULT_LOCALE = "en"
# A person who is not logged in keeps their choice in this cookie for a year.
LOCALE_COOKIE = "natter_locale"
LOCALE_COOKIE_MAX_AGE = 365 * 24 * 3600

# CLDR plural categories in the order Babel numbers gettext's plural forms.
PLURAL_ORDER = ("zero", "one", "two", "few", "many", "other")
log = logging.getLogger(__name__)


def normalise_tag(value: object) -> str | None:
    """ "zh-cn", "zh_CN" -> "zh-CN"; None for anything that is not an offered language."""
    if not isinstance(value, str):
        return None
    wanted = value.strip().replace("_", "-").lower()
    return next((tag for tag in LOCALES if tag.lower() == wanted), None)


def request_locale() -> str:
    """The person's language: their account's choice, their cookie, then Accept-Language."""
    if "natter_locale" in g:
        return g.natter_locale
    chosen = None
    try:
        if current_user and current_user.is_authenticated:
            chosen = normalise_tag(getattr(current_user, "locale", None))
    except Exception:  # noqa: BLE001 - the database is down: still answer in a language
        log.warning("the account's language is unavailable", exc_info=True)
    chosen = chosen or normalise_tag(request.cookies.get(LOCALE_COOKIE))
    chosen = chosen or _from_accept_language()
    g.natter_locale = chosen
    return chosen


def _from_accept_language() -> str:
    """The best offered language; else the first one sharing a primary language with an
    accepted one (zh-TW, zh-HK read Simplified Chinese better than English); else English."""
    exact = request.accept_languages.best_match(list(LOCALES))
    if exact:
        return exact
    primaries = {tag.split("-")[0].lower(): tag for tag in LOCALES}
    for accepted, _quality in request.accept_languages:
        tag = primaries.get(accepted.replace("_", "-").split("-")[0].lower())
        if tag:
            return tag
    return DEFAULT_LOCALE


def _babel_locale() -> str:
    return LOCALES[request_locale()]


def plural_categories(babel_id: str) -> list[str]:
    """CLDR plural categories in gettext index order (the order Babel writes Plural-Forms)."""
    tags = Locale.parse(babel_id).plural_form.tags | {"other"}
    return [tag for tag in PLURAL_ORDER if tag in tags]


def js_catalog() -> dict:
    """The current language's compiled catalog, as the page's scripts read it."""
    tag = request_locale()
    cache = current_app.extensions.setdefault("natter_js_catalogs", {})
    if tag not in cache:
        messages: dict[str, object] = {}
        for key, text in getattr(get_translations(), "_catalog", {}).items():
            if isinstance(key, tuple):
                msgid, index = key
                forms = messages.setdefault(msgid, [])
                forms.extend([""] * (index + 1 - len(forms)))
                forms[index] = text
            elif key:
                messages[key] = text
        cache[tag] = {
            "locale": tag,
            "plural_categories": plural_categories(LOCALES[tag]),
            "messages": messages,
        }
    return cache[tag]


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=_babel_locale, default_locale=DEFAULT_LOCALE)

    @app.context_processor
    def language_context():
        return {
            "html_lang": request_locale(),
            "js_catalog": js_catalog(),
            "locale_names": LOCALE_NAMES,
        }
