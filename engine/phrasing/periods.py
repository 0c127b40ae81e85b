"""A forecast's periods: what it says of today, apart from the days after.

A designer's place holds its weather now. A forecast pasted in often ends with another day
("... Outlook: Tomorrow - fair", "Thursday wintry: snowline 900 m"): the template says today's
weather, and the fact checker holds the text to the same part, so neither reads tomorrow's snow
as today's."""

from __future__ import annotations

import re

DAYS = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"


def today(t: str) -> str:
    """A later day's forecast beside today's is not today's weather: "... Outlook: Tomorrow – fair",
    "Tomorrow cloudy, rain", "Thursday wintry: snowline 900 m" go when something comes before them;
    a forecast that is only an outlook is said with its time ("isolated showers ... tomorrow")."""
    day = r"(?:outlook\s*(?:for\s+)?(?:(?:tomorrow|" + DAYS + r")(?: night| morning| afternoon| evening)?)?\s*:?|" \
          r"tomorrow(?: night| morning| afternoon| evening)?|" + DAYS + r"(?: night| morning| afternoon| evening)?|the day after)"
    m = re.search(r"(?i)(?:(?<=[.;]\s)|^)(" + day + r")\b\s*[,:–—-]?\s*", t)
    if not m:
        return t
    lead = t[: m.start()].strip(" .;,")
    if lead and re.search(r"[A-Za-z]", lead):
        return lead + "."
    when = "tomorrow" if re.search(r"(?i)tomorrow", m.group(1)) or re.fullmatch(r"(?i)outlook\s*:?", m.group(1)) else ""
    rest = t[m.end():].strip(" .;,")
    if not rest:
        return t
    rest = re.sub(r"(?i)^(?:tomorrow|" + DAYS + r")\b\s*[,:–—-]?\s*", "", rest)  # "Outlook: Tomorrow, ..."
    return rest + (" " + when if when and not re.search(r"(?i)\btomorrow\b", rest) else "") + "."
