"""Text in the reader's language: the Chinese or the English of a bilingual pair, with one fallback rule."""

from django.utils.translation import get_language


def reads_chinese() -> bool:
    return (get_language() or "en").lower().startswith("zh")


def bilingual(zh: str, en: str) -> str:
    """The text in the active language; when that one is empty, the other one (never an empty string
    while either exists)."""
    if reads_chinese():
        return zh or en
    return en or zh
