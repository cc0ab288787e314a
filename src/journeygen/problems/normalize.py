"""Question text in one canonical form, so copies that differ only in case, spacing,
punctuation or number formatting (`1,000` / `1000` / `1000.0`) compare equal."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalized_text", "normalized_words"]

# A number with thousands commas, a plain number, or a run of letters; everything else
# (spaces, punctuation, LaTeX backslashes and braces, `$`) only separates tokens.
_TOKEN = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|[^\W\d_]+")


def normalized_words(text: str) -> list[str]:
    """The words of `text`: NFKC, lower case, punctuation dropped, numbers in one spelling."""
    words = _TOKEN.findall(unicodedata.normalize("NFKC", text).lower())
    return [_number(word) if word[0].isdigit() else word for word in words]


def normalized_text(text: str) -> str:
    """`normalized_words` joined by single spaces: the form fuzzy ratios are taken on."""
    return " ".join(normalized_words(text))


def _number(token: str) -> str:
    """`1,000.50` → `1000.5`, `007` → `7`, `3.0` → `3`: one spelling per value."""
    whole, _, fraction = token.replace(",", "").partition(".")
    whole = whole.lstrip("0") or "0"
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole
