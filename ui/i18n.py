"""Translations without `lrelease`: a `QTranslator` backed by a JSON catalog shipped in resources/.

Why JSON and not .qm: PySide6-Essentials ships no `lrelease`, and volunteers' language packs must be
editable by organizers with a text editor. Every user-visible string goes through `tr()` (or
`QCoreApplication.translate`), so swapping the translator re-texts the whole UI. Catalog keys are the
English source strings; the context is ignored (one meaning per English string in this app).

The translator remembers every source string it was asked for and could not translate: a test uses
that to prove the Chinese screens show no English.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QTranslator

from ui.assets import TRANSLATIONS

LANGUAGES = {"en": "English", "zh_CN": "简体中文"}


def tr(text: str) -> str:
    """Translate a user-visible string through the installed translator (context "ui")."""
    return QCoreApplication.translate("ui", text)


def catalog_path(lang: str) -> Path:
    return TRANSLATIONS / f"{lang}.json"


def load_catalog(lang: str) -> dict[str, str]:
    p = catalog_path(lang)
    if not p.exists():
        return {}
    data = json.loads(p.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if isinstance(v, str) and v}


class CatalogTranslator(QTranslator):
    """Looks strings up in a dict; records misses (for the untranslated-strings test)."""

    def __init__(self, lang: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.lang = lang
        self.catalog = load_catalog(lang)
        self.missing: set[str] = set()

    def translate(self, context: str, source: str, disambiguation: str | None = None, n: int = -1) -> str:
        if not source:
            return source
        got = self.catalog.get(source)
        if got is None:
            if context == "ui":  # Qt's own strings (its contexts) are not ours to translate
                self.missing.add(source)
            return ""  # empty: Qt falls back to the source text
        return got

    def isEmpty(self) -> bool:
        return False


class Language:
    """Installs and swaps the catalog translator on an application (passed in, not global)."""

    def __init__(self, app: QCoreApplication) -> None:
        self.app = app
        self.translator: CatalogTranslator | None = None
        self.lang = "en"

    def set(self, lang: str) -> None:
        if self.translator is not None:
            self.app.removeTranslator(self.translator)
            self.translator = None
        self.lang = lang if lang in LANGUAGES else "en"
        if self.lang != "en":
            self.translator = CatalogTranslator(self.lang, self.app)
            self.app.installTranslator(self.translator)
