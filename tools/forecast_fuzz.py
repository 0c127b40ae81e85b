"""``python -m tools.forecast_fuzz``: forecasts as real services word them, through the real
templates, with what a reader would mark counted automatically.

The strings are built (seeded, deterministic) from the vocabulary of real forecasts: Met Office
shipping, inshore-waters and mountain forecasts ("southwest 5 to 7, occasionally gale 8 later",
"moderate or good, occasionally poor", "severe gales on summits"), US NWS zone forecasts ("mostly
cloudy with a chance of showers", "patchy fog before 9am", "south wind 5 to 10 mph"), the Bureau
of Meteorology ("partly cloudy, slight chance of a shower", "light winds becoming southeasterly
15 to 20 km/h"), Met Éireann ("dry with sunny spells", "showery outbreaks of rain") and
Environment Canada ("periods of snow", "flurries ending this morning", "wind chill minus 30").

Each string is rendered at every temperature and wind band through
:func:`engine.templates.render_template` and checked for: a raw label ("conditions", "the weather
is"), a digit, a word said twice, an article inflect would not choose, a temperature or wind word
that doubles or contradicts the forecast's own (:func:`engine.phrasing.forecast.problems`), 2-3
sentences, the fact checker keeping the conditions, temperature and wind, and what a reader marks in a
forecasters' format (:func:`format_marks`: compass letters, a measurement noun without its number,
a name of the forecast lower-cased, a sea state said as something else).

The UK shipping and inshore forecasts (:data:`SHIPPING_UK`) and the Alpine ones (:data:`ALPINE`)
are written by hand from those services' vocabulary.

Usage: ``python -m tools.forecast_fuzz [--n 600] [--seed 7] [--show 20]``; exit status 1 when
anything was marked.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections import Counter

# --- vocabulary ----------------------------------------------------------------------------------

DIRS = ("north", "northeast", "east", "southeast", "south", "southwest", "west", "northwest", "northerly",
        "southerly", "easterly", "westerly", "southwesterly", "northwesterly", "cyclonic", "variable")
BEAUFORT = ("3 or 4", "4 or 5", "5 to 7", "6 to gale 8", "7 to severe gale 9", "3 to 5", "4", "5 or 6", "force 6",
            "gale 8", "severe gale 9", "storm 10", "4, occasionally 6")
SHIPPING_WIND = ("{d} {b}", "{d} {b}, veering {d2} later", "{d} {b}, backing {d2}", "{d} {b}, increasing gale 8 later",
                 "{d} {b}, occasionally gale 8", "{d} {b}, becoming cyclonic later", "{d} {b}, decreasing 4 later",
                 "variable 3, becoming {d} 4 or 5", "{d} gale 8 to storm 10")
SHIPPING_WX = ("rain", "showers", "rain then showers", "fair", "squally showers", "thundery showers", "fog patches",
               "rain or drizzle", "occasional rain", "wintry showers", "rain later", "showers, fog later", "drizzle",
               "fog banks", "snow showers", "heavy rain", "sleet", "mainly fair")
VISIBILITY = ("good", "moderate or good", "good, occasionally poor", "moderate or poor", "poor",
              "very poor", "moderate, occasionally very poor", "good, becoming moderate")
NWS = ("mostly cloudy with a chance of showers", "patchy fog before 9am", "areas of frost", "partly sunny",
       "mostly clear", "chance of thunderstorms after 2pm", "slight chance of rain", "isolated showers",
       "widespread haze", "areas of smoke", "patchy blowing dust", "scattered snow showers", "freezing fog",
       "sunny and hot", "mostly sunny, breezy", "partly cloudy, becoming sunny", "rain likely", "snow likely",
       "cloudy, with a high near 45", "breezy, with a south wind 15 to 20 mph", "windy, with gusts as high as 40 mph",
       "hot, with a high near 102", "clear, with a low around 20", "blustery, with a west wind 20 to 25 mph",
       "showers and thunderstorms likely", "periods of rain", "heavy snow", "blowing snow", "patchy drizzle",
       "light and variable wind", "calm wind", "sleet likely", "freezing drizzle", "haze", "fog", "dense fog")
BOM = ("partly cloudy", "sunny", "mostly sunny", "cloudy", "showers", "shower or two", "possible shower",
       "slight chance of a shower", "late shower or two", "showers easing", "rain developing", "possible storm",
       "clearing shower", "morning fog then sunny", "hazy", "dust", "windy", "fine", "light winds",
       "light winds becoming southeasterly 15 to 20 km/h", "southerly 20 to 30 km/h", "frost",
       "cloud clearing", "chance of thunderstorms")
MET_EIREANN = ("dry with sunny spells", "showery outbreaks of rain", "mist and fog patches", "bright and breezy",
               "cloudy with outbreaks of rain", "a mix of sunshine and showers", "blustery showers",
               "heavy falls of rain", "largely dry", "damp and misty", "clear spells", "ground frost",
               "sharp frost", "icy stretches", "mild and humid", "rather cloudy", "cool and fresh",
               "scattered showers, some heavy and prolonged", "spot flooding", "sunny intervals")
EC = ("periods of snow", "flurries ending this morning", "wind chill minus 30", "risk of freezing drizzle",
      "clearing late this afternoon", "fog patches dissipating this morning", "a mix of sun and cloud",
      "snow at times heavy", "blowing snow", "local blowing snow", "increasing cloudiness", "cloudy periods",
      "snow mixed with rain", "ice pellets", "wet flurries", "wind north 30 km/h gusting to 50",
      "high minus 5", "low minus 22", "frost overnight", "sunny with cloudy periods", "extreme cold", "wind chill -40")
MOUNTAIN = ("severe gales on summits", "hill fog", "cloud on the tops", "wind chill severe", "whiteout on summits",
            "freezing level above the summits", "blizzard conditions on high ground", "snow above 600m",
            "gusts 70 mph on higher tops", "clear, frost in glens", "extensive hill fog", "buffeting winds",
            "summits in cloud", "ice on paths", "strong winds, making walking difficult")
PLAIN = ("cold night", "frost in hollows", "clouding over", "rain by evening", "drizzle, heavier to follow",
         "bright but bitter", "starlit and still", "hot and humid", "mild", "calm", "still", "gale",
         "fog/mist", "v. poor vis", "vis poor", "blowing dust", "smoky haze (from the wood fires)", "warm and sunny",
         "muggy", "sultry", "raw", "chilly", "freezing", "bitter", "hot", "cool", "balmy", "breezy", "gusty",
         "storm-force winds", "torrential rain", "thunder", "hail", "sleet", "sunny spells", "low cloud")
# UK shipping and inshore-waters forecasts as the Met Office words them: "WIND. SEA STATE. WEATHER.
# VISIBILITY." (the sea state is the inshore forecast's), compass points abbreviated, Beaufort forces
SHIPPING_UK = (
    "N 5 to 7. Rough. Snow showers. Good, occasionally poor.",
    "NE 3 or 4. Slight. Fair. Good.",
    "E 4 or 5, occasionally 6 later. Moderate. Rain later. Moderate or good.",
    "SE 6 to gale 8. Rough or very rough. Rain. Poor.",
    "S 5 to 7, increasing gale 8 for a time. Rough, becoming very rough. Rain then showers. Moderate or poor.",
    "SW 7 to severe gale 9, decreasing 5 or 6 later. Very rough or high. Squally showers. Good, occasionally poor.",
    "W 4 or 5, backing SW 6 later. Moderate, becoming rough later. Showers. Good.",
    "NW 3 or 4, veering N later. Smooth or slight. Fair. Good.",
    "Variable 2 or 3, becoming SE 4 later. Slight. Fog patches. Moderate, occasionally very poor.",
    "Cyclonic 6 to gale 8. Very rough. Thundery showers. Poor.",
    "SW 5 or 6. Fog patches. Moderate or very poor.",
    "N or NW 4 or 5. Wintry showers. Good.",
    "SE or S 5 to 7. Rain. Moderate or poor.",
    "E or NE 3 or 4, occasionally 5. Fair. Good.",
    "W gale 8 to storm 10, veering NW later. Phenomenal at times. Squally showers. Poor.",
    "S 4, veering SW 5 later. Drizzle. Moderate.",
    "NE 6 to gale 8, decreasing 4 for a time. Rough. Sleet. Poor, occasionally very poor.",
    "SW 6 to gale 8, occasionally severe gale 9 later. High. Rain. Poor.",
    "NW 5, backing W later. Slight or moderate. Showers. Good.",
    "S or SE 3 or 4. Smooth. Mist. Poor.",
    "E 5 to 7. Rough or very rough, occasionally high. Rain or sleet. Moderate.",
    "Light and variable. Smooth. Fair. Good.",
    "Light and variable, becoming W 3 later. Smooth or slight. Fog patches later. Good, becoming very poor later.",
    "N 7 to severe gale 9. Very high. Snow showers. Moderate, occasionally very poor.",
    "SE 4 or 5, increasing 6 at times. Moderate. Occasional rain. Moderate or good.",
    "W or SW 5 to 7. Rough. Showers, wintry at times. Good.",
    "NE 4. Slight. Mainly fair. Good.",
    "S 6 to gale 8, veering SW later. Very rough. Rain then squally showers. Poor, becoming good.",
    "NW gale 8 to storm 10. Very high or phenomenal. Squally wintry showers. Poor.",
    "SW 3 or 4, becoming variable later. Slight. Fair. Good, occasionally moderate.",
    "N 6, decreasing 4 later. Moderate or rough. Showers. Good.",
    "E 3, increasing 5 later. Smooth or slight, becoming moderate. Rain later. Good, becoming moderate.",
    "W 6 to gale 8, occasionally severe gale 9 at first. High, becoming very rough. Showers. Good.",
    "SE 5 to 7, backing E later. Moderate or rough. Rain at times. Moderate, occasionally poor.",
    "NW 4 or 5, occasionally 6 at first. Slight or moderate. Mainly fair. Good.",
    "S 5 or 6, veering W 6 or 7 later. Rough. Rain, showers later. Moderate or poor, becoming good.",
    "N 3 or 4. Smooth. Fog banks. Very poor.",
    "NE 5 to 7, occasionally gale 8 in north. Very rough. Snow. Poor.",
    "SW 4 or 5. Moderate. Showers. Good.",
    "W 5 to 7, backing S later. Rough. Rain later. Good, becoming poor.",
    "Wind: SW 4 or 5, occasionally 6 later. Sea state: Slight or moderate. Weather: Showers. Visibility: Good.",
    "Wind: N or NE 5 to 7. Sea state: Rough. Weather: Wintry showers. Visibility: Good, occasionally poor.",
    "Wind: E 3 or 4. Sea state: Smooth. Weather: Fog patches. Visibility: Moderate or very poor.",
    "Wind: W 6 to gale 8. Sea state: Very rough or high. Weather: Squally showers. Visibility: Moderate.",
    "Wind: variable 3, becoming S 4 later. Sea state: Slight. Weather: Fair. Visibility: Good.",
    "SE 4 or 5, occasionally 6",
    "N 5 to 7, decreasing 3 or 4 later",
    "SE gale 8 to storm 10, high. Rain then squally showers. Poor.",
    "W 4 or 5, occasionally 6, moderate. Showers. Good.",
    "NE 3, rough at first. Fair. Good.",
    "S or SW 6 to gale 8. Rain then showers. Moderate or good.",
    "E 7 to severe gale 9, backing NE later",
    "NW 4, veering N 5 for a time",
    "SSW 5 or 6. Rain. Moderate.",
    "WNW 4 or 5, veering NNW later. Showers. Good.",
    "ESE 3 or 4. Slight. Fog patches. Very poor.",
    "Variable 3. Smooth. Mist and fog patches. Poor or very poor.",
    "Cyclonic 4 or 5, becoming NW 6 later. Moderate. Rain then showers. Moderate or good.",
    "NE 6 to gale 8, increasing severe gale 9 later. High or very high. Snow. Very poor.",
    "S 3 or 4, increasing 5 or 6 later. Smooth or slight. Fair, rain later. Good, becoming moderate.",
    "W 5 to 7, occasionally gale 8. Rough or very rough. Showers, hail at times. Good, occasionally poor.",
    "N 4 or 5. Slight or moderate. Mainly fair, wintry showers later. Good.",
    "SE 5 to 7, veering SW 6 to gale 8 later. Very rough. Rain, heavy at times. Poor.",
    "sw 4 or 5. showers. good.",
    "nw 6 to gale 8. rough. squally showers. moderate.",
    "N 2 or 3. Smooth. Fair. Good.",
    "SW 6. Rough. Rain. Moderate, occasionally poor.",
    "E 5 or 6, decreasing 3 later. Moderate, becoming slight. Fair. Good.",
    "W 8 to storm 10. Phenomenal. Squally showers. Poor.",
    "S 5, backing SE later. Slight or moderate. Drizzle, fog later. Moderate, becoming very poor.",
    "NW 4 or 5, occasionally 6 in Fair Isle. Moderate. Showers. Good.",
    "SW 5 to 7 around Shetland, increasing gale 8 later. Rough. Rain. Moderate.",
    "N 6 to gale 8 near Orkney. Very rough. Snow showers. Poor.",
)
# Alpine forecasts in the manner of MeteoSwiss, DWD, ZAMG and Météo-France montagne (in English):
# heights and distances, the zero-degree line, the snowfall limit, named winds and valleys
ALPINE = (
    "mostly sunny, in the afternoon some cumulus over the mountains",
    "overcast, snowfall limit falling to 800 m",
    "sunny, zero-degree line around 2500 m",
    "high fog over the Plateau, top around 900 m, breaking up in the afternoon",
    "Föhn in the Alpine valleys, gusts up to 100 km/h",
    "Bise on the Plateau, gusts up to 60 km/h",
    "Südstau, heavy snow in the south",
    "Südstau, snow, visibility below 50 m",
    "Nordstau, snow showers, snowfall limit around 600 m",
    "Sahara dust, hazy sun",
    "cloudy, rain, snowfall limit around 1500 m",
    "snow above 1200 m, rain below",
    "rain and snow mixed, snow above 900 m",
    "fresh snow 10 to 20 cm above 800 m",
    "zero-degree line 3200 m, sunny and mild",
    "zero-degree line falling to 1400 m",
    "freezing level 2000 m, clear",
    "freezing level around 600 m, snow showers",
    "high fog, top 1200 m, mostly breaking up by midday",
    "fog in the valleys, top 800 m, sunny above",
    "hill fog, visibility 200 m",
    "visibility below 100 m in cloud",
    "clear, inversion, cold in the valleys",
    "inversion, mild on the slopes",
    "cold and clear, freezing fog patches in the Inn valley",
    "Föhn, gusty in the Rhine Valley",
    "Föhn collapse in the evening, then rain",
    "strong southwesterly wind at altitude, Föhn in the Reuss valley",
    "stormy northwesterly wind on the ridges, gusts up to 120 km/h",
    "light and variable, mostly sunny",
    "mostly sunny, cloud thickening from the southwest by evening",
    "partly sunny, isolated thunderstorms over the Alps in the afternoon",
    "thunderstorms over the Jura in the evening",
    "showers, snowfall limit 1000 m, rising to 1600 m",
    "risk of black ice on the roads above 600 m",
    "freezing rain in the Black Forest",
    "heavy snow in the Allgäu, 30 to 50 cm of fresh snow",
    "avalanche danger considerable above 2000 m",
    "snow showers on the northern slopes of the Alps, snowfall limit 500 m",
    "mostly cloudy in the Tyrol, dry in Carinthia",
    "foehn in the Wipp valley, gusts 90 km/h",
    "fog over the Danube, lifting in the afternoon",
    "sunny in the Engadine, clouds over the Bernina",
    "sunny, iso 0°C at 2200 m",
    "rain-snow limit around 1400 m",
    "strong northwesterly wind at altitude, visibility reduced in cloud above 1800 m",
    "sunny spells, snowfall limit rising to 2000 m",
    "overcast, drizzle, snow line 1100 m",
    "snow down to 700 m",
    "snow down to the valley floors",
    "zero degree line near 1800 m, then falling",
    "clear, hard frost in the Upper Engadine",
    "frosty, clear; inversion, fog patches over the Lake of Zurich",
    "milky sun, Sahara dust",
    "high fog, top 1300 m, clearing by afternoon",
    "visibility 800 m in snow",
    "cloud base 1500 m, dry",
    "sunny, light Bise",
    "Bise, cool, grey",
    "north Föhn, sunny in Ticino",
    "Südstau with heavy snow in the Valposchiavo",
    "gusts up to 80 km/h on the Säntis",
    "snow showers dying out, becoming sunny",
    "snowfall limit about 1700 m, rain below",
    "partly sunny, freezing level 1500 m, northwesterly wind",
    "snow showers, zero-degree line 800 m, strong northerly wind",
    "mostly sunny, zero-degree line above 3500 m",
    "rain, snowfall limit 2200 m, falling to 1300 m overnight",
    "grey, high fog over the Plateau, top 700 m",
    "fresh snow 5 cm, sunny later",
    "thick fog on the Flüela pass",
    "freezing drizzle in the Lower Engadine",
    "sleet, snow above 1000 m, gusty",
    "bright, cold, Föhn gusts in Glarus",
    "low cloud on the Jungfrau, snow above 2500 m",
    "snow mixed with rain down to 600 m",
    "hazy, milky sun, Sahara dust on the glaciers",
    "light winds, sunny, fog in the Rhine Valley in the morning",
    "sunny, zero-degree line 2900 m, Föhn in the Haslital",
    "snow flurries, snowfall limit 400 m, Bise",
    "mainly cloudy, snow line 1600 m, improving in Valais",
)
TEMPS_C = ("-3C", "minus thirty", "5 degrees", "highs near 30", "around 12", "-12")


def _pick(r: random.Random, xs):
    return xs[r.randrange(len(xs))]


def forecasts(n: int = 600, seed: int = 7) -> list[str]:
    """``n`` distinct forecast strings (deterministic for a seed)."""
    r = random.Random(seed)
    out: list[str] = []
    seen = set()

    def add(s: str) -> None:
        s = " ".join(s.split())
        if s and s not in seen:
            seen.add(s)
            out.append(s)

    for pool in (NWS, BOM, MET_EIREANN, EC, MOUNTAIN, PLAIN, SHIPPING_WX, SHIPPING_UK, ALPINE):
        for s in pool:
            add(s)
    shapes = (
        lambda: _pick(r, SHIPPING_WIND).format(d=_pick(r, DIRS), d2=_pick(r, DIRS), b=_pick(r, BEAUFORT)) + ". "
        + _pick(r, SHIPPING_WX) + ". " + _pick(r, VISIBILITY),
        lambda: _pick(r, SHIPPING_WIND).format(d=_pick(r, DIRS), d2=_pick(r, DIRS), b=_pick(r, BEAUFORT)) + ", "
        + _pick(r, SHIPPING_WX),
        lambda: "wind: " + _pick(r, DIRS) + " " + _pick(r, BEAUFORT) + ". weather: " + _pick(r, SHIPPING_WX)
        + ". visibility: " + _pick(r, VISIBILITY),
        lambda: _pick(r, SHIPPING_WX) + ". visibility " + _pick(r, VISIBILITY),
        lambda: _pick(r, NWS) + ". " + _pick(r, NWS),
        lambda: _pick(r, BOM) + ". " + _pick(r, BOM),
        lambda: _pick(r, MET_EIREANN) + ", " + _pick(r, PLAIN),
        lambda: _pick(r, EC) + ". " + _pick(r, EC),
        lambda: _pick(r, MOUNTAIN) + "; " + _pick(r, MOUNTAIN),
        lambda: _pick(r, PLAIN) + ", " + _pick(r, PLAIN),
        lambda: _pick(r, PLAIN) + ", " + _pick(r, TEMPS_C),
        lambda: _pick(r, PLAIN) + " - " + _pick(r, SHIPPING_WX),
        lambda: _pick(r, MET_EIREANN) + " then " + _pick(r, SHIPPING_WX) + " later",
    )
    while len(out) < n:
        add(_pick(r, shapes)())
    return out[:n]


# --- checks --------------------------------------------------------------------------------------

TEMPS = (-40.0, -8.0, 4.0, 14.0, 22.0, 30.0, 44.0)  # one per band
WINDS = (0.5, 8.0, 18.0, 35.0, 70.0)
NAME = "Harrow Point"


_COMPASS = r"(?:n|ne|e|se|s|sw|w|nw|nne|ene|ese|sse|ssw|wsw|wnw|nnw)"
_SEA_WORDS = frozenset("smooth slight moderate rough very high phenomenal or occasionally becoming at times first "
                       "later for a time".split())
_SEA_ONLY = frozenset("smooth slight rough high phenomenal".split())
_MEASURES = r"(?:visibility|vis|snowfall limit|snow limit|snow line|snowline|zero-degree line|zero degree line|" \
            r"freezing level|rain-snow limit|iso|top|tops|base|cloud base|limit|line|level|height)"
_NAME_LEADS = frozenset("the in on over along across near around above below at from to of into off by through".split())


def _sea_slots(conditions: str) -> list[str]:
    """The sea states the forecast gives (the inshore forecast's slot: "Rough or very rough.")."""
    text = re.sub(r"(?i)\b(?:wind|sea state|weather|visibility)\s*:\s*", "", conditions)
    slots = [x.strip() for x in re.split(r"\.\s+|\.$", text) if x.strip()]
    out = []
    for i, slot in enumerate(slots):
        for bit in ([slot] if i else slot.split(",")[1:]):  # "SW gale 8 to storm 10, very high"
            ws = bit.lower().replace(",", " ").split()
            if ws and all(w in _SEA_WORDS for w in ws) and (set(ws) & _SEA_ONLY or (i == 1 and len(slots) >= 4)):
                if not (i == len(slots) - 1 and not set(ws) & {"rough", "smooth", "slight", "phenomenal", "high"}):
                    out.append(bit.strip())
    return out


def _names(conditions: str) -> list[str]:
    """Words the forecast capitalises as names, mid-forecast after "the", "in", "on" ... (never in a
    forecast written in capitals or title case)."""
    words = re.findall(r"[^\W\d_][\w'-]*", conditions)
    if not words or sum(w[0].isupper() for w in words) * 2 > len(words):
        return []
    out, prev = [], ""
    for m in re.finditer(r"[^\W\d_][\w'-]*|[.:;!?]", conditions):
        w = m.group(0)
        if w[0].isupper() and w[1:].islower() and prev.lower() in _NAME_LEADS:
            out.append(w)
        prev = w if w[0].isalpha() else ""
    return out


def format_marks(conditions: str, ws: str) -> list[str]:
    """What a reader marks in a forecasters' format: a compass point left as letters ("brings sw"),
    a measurement noun left without its number ("with snowfall limit", "It is top"), a name of
    the forecast lower-cased ("the inn flats"), a sea state said as something else."""
    body = ws.replace(NAME, " ")
    out = []
    if re.search(r"(?i)(?<![\w'’.-])" + _COMPASS + r"(?![\w'’-])(?!\.\w)", body):
        out.append("compass")
    if re.search(r"(?i)(?:\bwith|\bbrings|,|\band|\bit is) (?:the )?" + _MEASURES + r"(?= and|,|\.|$| at )", body):
        out.append("measure")
    for n in _names(conditions):
        if re.search(r"(?<![\w'-])" + re.escape(n.lower()) + r"(?![\w'-])", body) and n not in body:
            out.append("case:" + n)
    for sea in _sea_slots(conditions):
        states = [w for w in sea.lower().replace(",", " ").split() if w in _SEA_ONLY or w == "moderate"]
        if not re.search(r"\b(?:" + "|".join(states) + r")\b[\w ]*\bseas?\b|\bseas?\b[\w ]*\b(?:" + "|".join(states) + r")\b", body.lower()):
            out.append("sea:" + sea)
    return out


def check(conditions: str, temperature: float, wind: float, seed: int = 0) -> tuple[str, list[str]]:
    """(the weather sentence, what a reader would mark in it)."""
    from engine.factcheck import check_facts
    from engine.phrasing.forecast import normalise, problems
    from engine.phrasing.weather import TEMP_BOUNDS, WIND_BOUNDS
    from engine.templates import render_template, template_sentences
    from engine.world import make_place
    from bisect import bisect_right

    p = make_place(f"urn:flux:place:fuzz:p{seed}", NAME, "A lighthouse stands on the point. Gulls wheel over it.",
                   temperature, conditions, wind, [], [])
    text = render_template(p)
    sents = template_sentences(p)
    ws = sents[1] if len(sents) > 1 else text
    tb = min(bisect_right(TEMP_BOUNDS, temperature), len(TEMP_BOUNDS) - 1)
    wb = min(bisect_right(WIND_BOUNDS, wind), len(WIND_BOUNDS) - 1)
    marks = problems(ws, conditions, tb, wb, NAME) + format_marks(conditions, ws)
    n = len(re.findall(r"[.!?…][\"'’”)]*(?=\s|$)", text))
    if not 2 <= n <= 3:
        marks.append("sentences:%d" % n)
    r = check_facts(p, text)
    for kind in ("conditions", "temperature", "wind"):
        items = r.by_kind(kind)
        if items and items[0].status != "kept" and not (kind == "conditions" and not re.search(r"[a-z]", normalise(conditions))):
            marks.append(kind + "-" + items[0].status)  # (a reading only, "high minus 5", has no weather to keep)
    norm = normalise(conditions)
    if all(w in ws.lower() for w in re.findall(r"[a-z]+", norm)):
        # every word the forecast says is said; the fact checker's conditions words that are left
        # are a reading's ("high minus 5", "highs near 30"), which is never read out
        marks = [m for m in marks if not m.startswith("conditions-")]
    return ws, sorted(set(marks))


def run(n: int = 600, seed: int = 7) -> tuple[int, Counter, list[tuple[str, str, list[str]]]]:
    """(sentences checked, marks by kind, the marked sentences)."""
    marks: Counter = Counter()
    bad = []
    total = 0
    for i, f in enumerate(forecasts(n, seed)):
        for t in TEMPS:
            for w in WINDS:
                ws, m = check(f, t, w, seed=i)
                total += 1
                if m:
                    bad.append((f, ws, m))
                    for x in m:
                        marks[x.split(":")[0]] += 1
    return total, marks, bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--show", type=int, default=20)
    a = ap.parse_args(argv)
    total, marks, bad = run(a.n, a.seed)
    print(f"forecasts: {a.n}  sentences: {total}  marked: {len(bad)} ({100 * len(bad) / max(total, 1):.2f}%)")
    for k, v in marks.most_common():
        print(f"  {k}: {v}")
    r = random.Random(a.seed)
    for f, ws, m in r.sample(bad, min(a.show, len(bad))):
        print(f"- {f!r}\n  {ws}\n  {m}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
