"""The language of names in Open311 answers: Chinese or English."""

from __future__ import annotations

from typing import Literal

from api.errors import Open311RequestError

Language = Literal["zh", "en"]
# Without a choice, the city's own language.
DEFAULT_LANGUAGE: Language = "zh"


def chosen_language(lang: str | None, accept_language: str | None) -> Language:
    """The ``lang`` query (``zh`` or ``en``), else the preferred of those two in an
    ``Accept-Language`` header, else Chinese."""
    if lang:
        code = lang.strip().lower()[:2]
        if code not in ("zh", "en"):
            raise Open311RequestError(f"lang {lang!r} is not offered: use zh or en")
        return "zh" if code == "zh" else "en"
    return _preferred(accept_language or "")


def _preferred(header: str) -> Language:
    best: tuple[float, Language] | None = None
    for order, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        code = tag.strip().lower()[:2]
        if code not in ("zh", "en"):
            continue
        weight = _weight(params)
        # the highest weight wins, the first listed among equals
        if weight > 0 and (best is None or weight > best[0]):
            best = (weight - order * 1e-6, "zh" if code == "zh" else "en")
    return DEFAULT_LANGUAGE if best is None else best[1]


def _weight(params: str) -> float:
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0
