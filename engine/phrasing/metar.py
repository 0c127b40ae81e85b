"""An aviation weather report's groups (METAR/TAF: "SW 15G25KT 8000 -SHRA SCT012 BKN020") decoded
into the words a forecaster would say ("mostly cloudy, light rain showers, moderate visibility, a
gusty southwesterly wind"). The forecast reader and the fact checker both read a world's METAR
conditions through :func:`decode`.

Hand-written rather than a METAR library: those parse whole reports (station, time, remarks) and
reject fragments; a world's "conditions" holds only the weather groups, in any order.
"""

from __future__ import annotations

import re

_COMPASS = {"n": "northerly", "ne": "northeasterly", "e": "easterly", "se": "southeasterly", "s": "southerly",
            "sw": "southwesterly", "w": "westerly", "nw": "northwesterly", "nne": "north-northeasterly",
            "ene": "east-northeasterly", "ese": "east-southeasterly", "sse": "south-southeasterly",
            "ssw": "south-southwesterly", "wsw": "west-southwesterly", "wnw": "west-northwesterly",
            "nnw": "north-northwesterly"}
# Hand-written rather than a METAR library: those parse whole reports (station, time, remarks) and
# reject fragments; a world's "conditions" holds only the weather groups, in any order.
_WX_DESC = {"MI": "shallow", "BC": "patchy", "PR": "partial", "DR": "drifting", "BL": "blowing", "SH": "showers",
            "TS": "thunderstorms", "FZ": "freezing"}
_WX = {"DZ": "drizzle", "RA": "rain", "SN": "snow", "SG": "snow grains", "IC": "ice crystals", "PL": "ice pellets",
       "GR": "hail", "GS": "small hail", "UP": "precipitation", "BR": "mist", "FG": "fog", "FU": "smoke",
       "VA": "volcanic ash", "DU": "dust", "SA": "sand", "HZ": "haze", "PY": "spray", "PO": "dust whirls",
       "SQ": "squalls", "FC": "a funnel cloud", "SS": "a sandstorm", "DS": "a duststorm"}
_CLOUD = {"FEW": (1, "a few clouds"), "SCT": (2, "partly cloudy"), "BKN": (3, "mostly cloudy"), "OVC": (4, "overcast"),
          "VV": (4, "overcast"), "NSC": (0, "clear"), "SKC": (0, "clear"), "CLR": (0, "clear"), "NCD": (0, "clear")}
_M_WIND = r"(?:\d{3}|VRB|[NSEW]{1,3})\s?\d{1,3}(?:G\d{2,3})?(?:KT|MPS|KMH)"
_M_WX = r"[-+]?(?:VC)?(?:MI|BC|PR|DR|BL|SH|TS|FZ)?(?:DZ|RA|SN|SG|IC|PL|GR|GS|UP|BR|FG|FU|VA|DU|SA|HZ|PY|PO|SQ|FC|SS|DS)+"
_M_TOKEN = (r"(?:" + _M_WIND + r"|[NSEW]{1,3}|\d{3}V\d{3}|\d{4}(?:NDV)?|\d{1,2}(?:/\d)?SM|CAVOK|" + _M_WX +
            r"|(?:FEW|SCT|BKN|OVC|VV)\d{3}(?:CB|TCU)?|NSC|SKC|CLR|NCD|M?\d{2}/M?\d{2}|[QA]\d{4}|NOSIG|[A-Z]{4}|\d{6}Z)")
_METAR = re.compile(r"(?:" + _M_TOKEN + r")(?![\w/+-])(?:\s+" + _M_TOKEN + r"(?![\w/+-]))+")


def _metar(m: re.Match) -> str:
    """"SW 15G25KT 8000 -SHRA SCT012 BKN020" -> "mostly cloudy, light rain showers, moderate
    visibility, a gusty southwesterly wind"."""
    toks = m.group(0).split()
    if not any(re.fullmatch(_M_WIND + "|" + _M_WX + r"|(?:FEW|SCT|BKN|OVC|VV)\d{3}(?:CB|TCU)?|CAVOK|\d{4}", t) for t in toks):
        return m.group(0)
    sky, wx, vis, wind, cb = (-1, ""), [], "", "", False
    for i, t in enumerate(toks):
        if t == "CAVOK":
            sky, vis = (0, "clear"), "good visibility"
        elif re.fullmatch(r"(?:FEW|SCT|BKN|OVC|VV)\d{3}(?:CB|TCU)?|NSC|SKC|CLR|NCD", t):
            c = _CLOUD[re.match(r"[A-Z]+?(?=\d|$)", t).group(0)]
            sky = max(sky, c)
            cb = cb or t.endswith(("CB", "TCU"))
        elif re.fullmatch(r"\d{4}(?:NDV)?", t):
            v = int(t[:4])
            vis = ("very poor" if v < 1000 else "poor" if v < 4000 else "moderate" if v < 9999 else "good") + " visibility"
        elif re.fullmatch(_M_WIND, t) or (re.fullmatch(r"[NSEW]{1,3}", t) and i + 1 < len(toks)
                                          and re.fullmatch(r"\d{1,3}(?:G\d{2,3})?(?:KT|MPS|KMH)", toks[i + 1])):
            d = re.match(r"\d{3}|VRB|[NSEW]{1,3}", t).group(0)
            if d == "VRB":
                name = "variable"
            elif d.isdigit():
                name = ("northerly", "northeasterly", "easterly", "southeasterly", "southerly", "southwesterly",
                        "westerly", "northwesterly")[round(int(d) / 45) % 8]
            else:
                name = _COMPASS[d.lower()]
            gust = "G" in t or (i + 1 < len(toks) and "G" in toks[i + 1])
            wind = ("a gusty " if gust else "a ") + name + " wind"
        elif re.fullmatch(_M_WX, t) and t not in ("SS", "DS") or t in ("+SS", "+DS", "SS", "DS"):
            w = t
            inten = "light " if w.startswith("-") else "heavy " if w.startswith("+") else ""
            w = w.lstrip("-+")
            near = w.startswith("VC")
            w = w[2:] if near else w
            desc = ""
            if w[:2] in _WX_DESC and len(w) > 2:
                desc, w = _WX_DESC[w[:2]], w[2:]
            names = [_WX[w[j:j + 2]] for j in range(0, len(w), 2) if w[j:j + 2] in _WX]
            if desc == "showers":
                phrase = inten + " and ".join(names) + " showers" if names else inten + "showers"
            elif desc == "thunderstorms":
                phrase = "thunderstorms" + (" with " + inten + " and ".join(names) if names else "")
            else:
                phrase = inten + (desc + " " if desc else "") + " and ".join(names)
            wx.append(phrase.strip() + (" nearby" if near else ""))
    out = ([sky[1]] if sky[0] >= 0 and not (sky[0] == 0 and wx) else []) + wx + \
        (["towering cloud"] if cb and not any("thunder" in x for x in wx) else []) + ([vis] if vis else []) + ([wind] if wind else [])
    return ", ".join(out) if out else m.group(0)


_TAF_HEAD = re.compile(r"TAF(?:\s+(?:AMD|COR))?\s+[A-Z]{4}(?:\s+\d{6}Z)?(?:\s+\d{4}/\d{4})?\s+")
_TAF_CHANGE = re.compile(r"\s+(TEMPO|BECMG|FM\d{4,6}|PROB\d{2}(?:\s+TEMPO)?)\s+")


def decode(text: str) -> str:
    """``text`` decoded when it is made only of METAR groups (at least two), or is a terminal
    forecast (TAF) of them: "TAF AYMD 130012KT 9999 SCT020 TEMPO 4000 SHRA BKN012 FM0800 33008KT
    9999 FEW025" -> its weather, then what comes at times ("TEMPO") and later ("FM0800",
    "BECMG"); otherwise as it is."""
    t = text.strip()
    head = _TAF_HEAD.match(t)
    if head:
        parts = _TAF_CHANGE.split(t[head.end():])
        said = [decode(parts[0])]
        for change, groups in zip(parts[1::2], parts[2::2]):
            if change.startswith(("TEMPO", "PROB")):  # its weather at times; a later period ("FM0800") is the next forecast's
                said += [w + " at times" for w in decode(groups).split(", ")
                         if not w.endswith(("visibility", "wind")) and w not in {c for _, c in _CLOUD.values()}]
        return text if any(re.search(r"\b[A-Z]{2,}\d|\d{4}", s) for s in said) else ", ".join(said)
    return _METAR.sub(_metar, t) if t and _METAR.fullmatch(t) else text
