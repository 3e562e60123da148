"""Language (语言): Chinese (zh-CN) by default, English on request; a text is written once as
``t("中文", "English")``."""

from __future__ import annotations

from fastapi import Request

__all__ = ["LANGS", "LANG_COOKIE", "lang_of", "translator"]

LANG_COOKIE = "ygt_lang"
LANGS = ("zh", "en")


def lang_of(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, "zh")
    return lang if lang in LANGS else "zh"


def translator(lang: str):  # type: ignore[no-untyped-def]
    """``t(zh, en)`` for templates and messages."""

    def t(zh: str, en: str) -> str:
        return en if lang == "en" else zh

    return t
