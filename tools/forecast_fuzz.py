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
sentences, and the fact checker keeping the conditions, temperature and wind.

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

    for pool in (NWS, BOM, MET_EIREANN, EC, MOUNTAIN, PLAIN, SHIPPING_WX):
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
    marks = problems(ws, conditions, tb, wb, NAME)
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
