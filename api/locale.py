"""Server messages in the caller's language: English as written, or Chinese when asked.

Messages are written in English where they arise. A caller whose ``Accept-Language``
prefers Chinese gets them through the catalogue of ``data/codes/messages.json``: each entry
is a pattern matching a whole English message and its Chinese text with the pattern's named
groups filled in (a group named ``error`` is itself a message, translated in turn). An
error no entry matches keeps its English text behind a Chinese phrase for its status.
The viewer reads the same catalogue (``GET /api/codes/messages``) for what the server
stored in English, such as a job's progress.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from starlette.requests import Request

from cim.data import DataFileError, read_json

MESSAGES_FILE = "codes/messages.json"
CHINESE = "zh-CN"
ENGLISH = "en"
FULL_COLON = "\uff1a"  # the colon of Chinese text
_WEIGHT = re.compile(r"^\s*q\s*=\s*([0-9.]+)\s*$")
# The catalogue is written with JavaScript's named groups, (?<name>...), for the viewer.
_JS_GROUP = re.compile(r"\(\?<(?=[A-Za-z_])")
# How deep ``error`` groups are translated (an error inside an error inside...).
MAX_DEPTH = 3


@dataclass(frozen=True)
class Entry:
    """One message of the catalogue: its English pattern and its Chinese text."""

    code: str
    pattern: re.Pattern[str]
    zh: str


def language_of(accept_language: str | None) -> str:
    """``"zh-CN"`` when ``accept_language`` prefers any Chinese to English, else ``"en"``.

    Ranges are taken by weight (``q``), then in the order given; ``*`` and other languages
    do not choose Chinese.
    """
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        if not tag.startswith(("zh", "en")):
            continue
        weight = _WEIGHT.match(params)
        try:
            q = float(weight.group(1)) if weight else 1.0
        except ValueError:
            q = 0.0
        if q > 0 and (best is None or (-q, position) < (-best[0], best[1])):
            best = (q, position, tag)
    return CHINESE if best is not None and best[2].startswith("zh") else ENGLISH


@cache
def catalogue() -> tuple[tuple[Entry, ...], dict[int, str]]:
    """The messages of the catalogue in order, and the Chinese phrase for each HTTP status."""
    document = read_json(MESSAGES_FILE)
    try:
        entries = tuple(
            Entry(item["code"], re.compile(_JS_GROUP.sub("(?P<", item["en"])), item["zh"])
            for item in document["messages"]
        )
        statuses = {int(code): text for code, text in document["statuses"].items()}
    except (KeyError, TypeError, ValueError, re.error) as error:
        raise DataFileError(f"{MESSAGES_FILE}: malformed ({error!r})") from error
    return entries, statuses


def translate(text: str, depth: int = 0) -> str | None:
    """The Chinese of English message ``text``, or None when no entry matches it."""
    entries, _ = catalogue()
    for entry in entries:
        match = entry.pattern.fullmatch(text)
        if match is None:
            continue
        values = match.groupdict()
        if values.get("error") and depth < MAX_DEPTH:
            values["error"] = translate(values["error"], depth + 1) or values["error"]
        return _fill(entry.zh, values)
    return None


def _fill(template: str, values: dict[str, str | None]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1)) or m.group(0), template)


def localise(text: str, language: str) -> str:
    """``text`` in ``language``: translated when Chinese and known, else as it is."""
    if language != CHINESE:
        return text
    return translate(text) or text


def localise_error(text: str, status: int, language: str) -> str:
    """An error's message in ``language``; in Chinese, one the catalogue does not know keeps
    its English behind the Chinese phrase for its ``status`` (``未找到`` and the English)."""
    if language != CHINESE:
        return text
    translated = translate(text)
    if translated is not None:
        return translated
    _, statuses = catalogue()
    phrase = statuses.get(status) or statuses.get(status // 100 * 100)
    return f"{phrase}{FULL_COLON}{text}" if phrase else text


def error_detail(request: Request, error: Exception, status: int) -> str:
    """The ``detail`` of an error answer, in the language ``request`` asks for."""
    language = language_of(request.headers.get("accept-language"))
    return localise_error(str(error), status, language)
