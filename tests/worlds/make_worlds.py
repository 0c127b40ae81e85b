"""Writes the test worlds in this folder (deterministic): ``python tests/worlds/make_worlds.py``.

Each world uses words the built-in world never does: weather as real forecasts word it, other
goods (animals, people, food, materials), other news in other tenses, and every significance tier.
``holdout-*`` is kept for a blind review: its texts are not read while the templates are tuned.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).parent

WORLDS = {
    "dev-fenmarch": dict(
        seed=7101, region="fenmarch",
        kinds=["almshouse", "orchard", "ferry landing", "tannery", "priory", "toll house", "ropewalk", "dovecote",
               "granary", "fulling mill", "abbey", "eel weir", "smithy", "brewhouse", "ox barn"],
        first=["Brack", "Cran", "Ash", "Ember", "Thorn", "Wyn", "Hazel", "Marsh", "Rook", "Fen", "Cold", "Nether"],
        second=["ford", "den", "garth", "minster", "ley", "wick", "combe", "hithe", "stow", "bury"],
        openers=["{A} of {mat} leans into the wind {where}.", "The {kind} stands {where}, roofed with {roof}.",
                 "{A} built of {mat} keeps watch {where}.", "Behind a wall of {mat}, the {kind} sits {where}."],
        mats=["flint and lime", "old oak beams", "grey cob", "knapped flint", "weathered red brick", "reed and daub"],
        roofs=["mossy thatch", "slate", "sagging tiles", "lead sheeting"],
        wheres=["above the drowned fields", "on a causeway through the reeds", "beside the tidal creek",
                "in a fold of low hills", "at the end of a sunken lane", "by the old sluice gates"],
        flavours=["Travellers speak of it with a mixture of fondness and dread.", "Its bells can be heard for miles on a still night.",
                  "The locals swear the well water cures a fever.", "Nobody remembers who laid the first stone.",
                  "Herons stand in the ditches like sentries.", "Its keeper counts every coin twice.",
                  "Lamps burn in its windows long after dark.", "A crooked signpost points three ways at once."],
        conditions=["light snow showers", "scattered thunderstorms", "freezing fog", "mist", "heavy rain", "drizzle",
                    "mostly cloudy", "partly sunny", "sleet", "frost", "clear skies", "patchy fog", "hail",
                    "overcast", "gusty winds", "rain showers", "freezing drizzle", "snow flurries", "muggy",
                    "fair", "ground frost", "heavy snow"],
        temps=(-25, 31),
        resources=["horses", "cattle", "eels", "wool", "honey", "salt", "oxen", "masons", "labourers", "barley",
                   "ale", "geese", "peat", "reeds", "cheese", "tallow candles", "farmhands", "apples", "flax"],
        events=[("plague", "A sweating sickness has spread through the almshouse wards."),
                ("flood", "Floodwater still stands knee-deep in the lower lanes."),
                ("envoy", "A royal envoy is lodging at the priory this week."),
                ("eclipse", "The sun went dark at noon yesterday."),
                ("fair", "The hiring fair will open on the green tomorrow."),
                ("theft", "Someone stole the abbot's silver plate three nights ago."),
                ("wedding", "The miller's daughter married a ferryman on Sunday."),
                ("well", "The dry well filled overnight."),
                ("collapse", "Part of the causeway collapsed into the creek last week."),
                ("sermon", "A travelling friar preaches on the green every evening."),
                ("fever", "Marsh fever has killed four families since the thaw."),
                ("bridge", "The old footbridge remains closed after the spring floods."),
                ("shipment", "Barges are unloading Flemish cloth at the staithe."),
                ("murder", "The toll keeper was found dead in the reeds.")],
    ),
    "dev-saltglass": dict(
        seed=7202, region="saltglass",
        kinds=["caravanserai", "salt pan", "lighthouse", "date grove", "customs house", "cistern", "souk",
               "pearl bank", "observatory", "kasbah", "boatyard", "oasis", "glassworks", "watch post"],
        first=["Qasr", "Amber", "Sable", "Dune", "Coral", "Saffron", "Mirage", "Opal", "Tamar", "Zephyr", "Cobalt"],
        second=[" Well", " Reach", " Gate", " Bay", " Spur", " Deep", " Crossing", " Point", " Haven"],
        openers=["{A} of {mat} rises {where}.", "The {kind} crouches {where}, its walls of {mat}.",
                 "{A} walled in {mat} looks out {where}.", "Sun-cracked {mat} shelters the {kind} {where}."],
        mats=["sandstone", "white coral rag", "mud brick", "blue-glazed tile", "palm timber", "dressed limestone"],
        roofs=["palm fronds"],
        wheres=["over the salt flats", "at the mouth of a dry wadi", "above a turquoise lagoon",
                "on a spit of shingle", "in the lee of red dunes", "where the caravan road meets the sea"],
        flavours=["Camel bells announce every arrival long before dawn.", "The cistern beneath it has never run dry.",
                  "Its keepers still bargain in three languages.", "Sailors leave offerings of salt on its steps.",
                  "Smugglers are said to use its cellars.", "At dusk the walls glow the colour of embers.",
                  "A blind storyteller sits by the gate most mornings.", "Its courtyard smells of cardamom and tar."],
        conditions=["sandstorm", "dust storm", "haze", "blowing sand", "monsoon rain", "thunderstorms", "humid",
                    "mostly sunny", "hot and humid", "heat haze", "scorching sun", "sunny intervals", "squalls",
                    "tropical storm", "clear", "sea fog", "partly cloudy", "isolated thunderstorms", "dry heat",
                    "smoke", "light rain showers", "cloudy with showers"],
        temps=(8, 50),
        resources=["camels", "pearls", "dates", "salt", "fresh water", "sailors", "incense", "indigo dye",
                   "goats", "coffee", "glassblowers", "figs", "rope", "pack mules", "lamp oil", "dried fish",
                   "scribes", "copper wire"],
        events=[("sandstorm", "A sandstorm buried the western road two days ago."),
                ("caravan", "A caravan of two hundred camels is camped outside the walls."),
                ("plague", "A fever is spreading through the harbour quarter."),
                ("pirates", "Pirates seized a pearl boat off the point last night."),
                ("festival", "Lanterns line every street for the festival of the new moon."),
                ("drought", "The lower cistern has stood empty since spring."),
                ("embassy", "An embassy from the southern kingdoms will arrive within the week."),
                ("discovery", "Divers found a sunken temple beneath the lagoon."),
                ("strike", "The pearl divers refuse to go out until their pay is raised."),
                ("wreck", "A grain ship ran aground on the shoals yesterday."),
                ("birth", "The governor's wife has given birth to twins."),
                ("quarantine", "The port is closed to foreign ships until the fever passes."),
                ("auction", "Horse traders are auctioning desert mares in the square."),
                ("collapse", "The old minaret still leans after the tremor.")],
    ),
    "holdout-ridgeholm": dict(
        seed=7303, region="ridgeholm",
        kinds=["hut", "cable station", "sawmill", "hospice", "cheese dairy", "quarry town", "fire lookout",
               "trading post", "chapel", "weather station", "hot spring bath", "mine head", "ski hostel", "hermitage"],
        first=["Eagle", "Larch", "Scree", "Glacier", "Pine", "Chamois", "Iron", "Snowcap", "Bramble", "Wolf"],
        second=["horn", "tal", "alp", "joch", "fell", "stead", "hope", "cleugh"],
        openers=["{A} of {mat} clings {where}.", "The {kind} perches {where}, timbered in {mat}.",
                 "{A} of {mat} shelters {where}.", "Under a roof of {roof}, the {kind} hunkers {where}."],
        mats=["larch logs", "dry-stone walling", "corrugated iron", "split shingles", "granite blocks", "tarred planks"],
        roofs=["heavy stone slabs", "turf", "rusting tin", "cedar shakes"],
        wheres=["below the glacier snout", "on a ledge above the gorge", "where the mule track switches back",
                "in a hanging valley", "beside a milky meltwater stream", "at the foot of the scree slope"],
        flavours=["Climbers carve their names into its doorframe.", "The hut warden plays the accordion badly.",
                  "Avalanche dogs sleep by its stove.", "Its soup is famous three valleys over.",
                  "A cracked bell is rung for anyone lost on the mountain.", "Chamois come to lick the salt by its door.",
                  "Few stay after the first snows close the pass.", "Its shutters are painted with faded edelweiss."],
        conditions=["blizzard", "whiteout", "blowing snow", "ice storm", "snow showers", "hard frost", "rime",
                    "valley fog", "low cloud", "mostly clear", "bright sunshine", "graupel", "wintry mix",
                    "freezing rain", "breezy", "thundershowers", "drifting snow", "sunny spells", "overcast",
                    "ash fall", "volcanic ash", "diamond dust", "dry lightning", "calm"],
        temps=(-45, 28),
        resources=["mules", "chamois", "firewood", "cheese", "rope", "porters", "mountain guides", "rye bread",
                   "dynamite", "lamp paraffin", "yaks", "goat milk", "miners", "felt", "sledges", "potatoes",
                   "iron nails", "rescue dogs"],
        events=[("avalanche", "An avalanche has cut the valley road."),
                ("rescue", "Guides are searching for two climbers missing on the north face."),
                ("eruption", "The old crater has been venting ash since Tuesday."),
                ("festival", "The village is driving the cattle down from the high pastures today."),
                ("accident", "A cable car cable snapped during the night."),
                ("election", "The valley council will choose a new headman at midsummer."),
                ("strike", "Miners walked out of the lower gallery after a roof fall."),
                ("visit", "A bishop is touring the high chapels this month."),
                ("closure", "The pass still lies closed under ten feet of snow."),
                ("find", "Shepherds found a bronze sword in the melting ice."),
                ("wolves", "Wolves took six sheep from the upper fold."),
                ("race", "Skiers from every valley are gathering for the great downhill race."),
                ("sickness", "Snow blindness has laid up half the porters."),
                ("market", "Cheesemakers bring their wheels to market each Saturday.")],
    ),
}


def _article(word: str) -> str:
    import inflect

    return inflect.engine().a(word)


_COLD = ("snow", "sleet", "frost", "freezing", "ice", "rime", "blizzard", "whiteout", "flurries", "graupel", "wintry",
         "diamond")
_HOT = ("scorching", "heat", "sandstorm", "dust", "humid", "muggy", "monsoon", "tropical", "sand")


_WINDY = ("storm", "squall", "gale", "blizzard", "whiteout", "blowing", "drifting", "gusty", "high winds", "breezy")
_STILL = ("fog", "mist", "haze", "frost", "rime", "dew", "calm", "muggy", "humid", "diamond")


def _plausible(conditions: str, lo: float, hi: float) -> tuple[float, float]:
    """A temperature range that fits the conditions (no frost at 30 °C)."""
    if any(w in conditions for w in _COLD):
        return lo, min(hi, 1.0) if lo < 1 else lo + 1
    if any(w in conditions for w in _HOT):
        return max(lo, 22.0), max(hi, 23.0)
    if "thunder" in conditions or "squall" in conditions:
        return max(lo, 14.0), max(hi, 15.0)
    return max(lo, -8.0), min(hi, 38.0)


def make(name: str, spec: dict, n: int = 40) -> list[dict]:
    rng = random.Random(spec["seed"])
    out, names = [], set()
    for i in range(n):
        kind = rng.choice(spec["kinds"])
        while True:
            place_name = f"{rng.choice(spec['first'])}{rng.choice(spec['second'])} {kind.title()}"
            if place_name not in names:
                names.add(place_name)
                break
        a = _article(kind)
        opener = rng.choice(spec["openers"]).format(A=a[:1].upper() + a[1:], kind=kind, mat=rng.choice(spec["mats"]),
                                                     roof=rng.choice(spec["roofs"]), where=rng.choice(spec["wheres"]))
        base = opener + " " + rng.choice(spec["flavours"])
        lo, hi = spec["temps"]
        conditions = rng.choice(spec["conditions"])
        lo, hi = _plausible(conditions, lo, hi)
        temperature = round(rng.uniform(lo, hi), 1)
        bands = [(0, 3), (3, 12), (12, 25), (25, 45), (45, 90)]
        if any(w in conditions for w in _WINDY):
            bands = bands[2:]
        elif any(w in conditions for w in _STILL):
            bands = bands[:3]
        wind = round(rng.uniform(*rng.choice(bands)), 1)
        res = [{"type": t, "abundance": round(rng.choice([rng.uniform(0, 0.29), rng.uniform(0.3, 0.7),
                                                            rng.uniform(0.71, 1.0)]), 2)}
               for t in rng.sample(spec["resources"], rng.choice([0, 1, 1, 2, 2, 3, 4]))]
        events = []
        for _ in range(rng.choices([0, 1, 2, 3], weights=[35, 35, 20, 10])[0]):
            etype, summary = rng.choice(spec["events"])
            band = rng.choice([(0.05, 0.29), (0.3, 0.59), (0.6, 0.79), (0.8, 0.99)])
            events.append({"type": etype, "significance": round(rng.uniform(*band), 2),
                           "term": rng.choice(["immediate", "short", "medium", "long", "permanent"]), "summary": summary})
        slug = place_name.lower().replace(" ", "-")
        out.append({"urn": f"urn:flux:place:{spec['region']}:{slug}-{i:02d}", "name": place_name,
                    "description": {"base": base},
                    "weather": {"temperature": temperature, "conditions": conditions, "windSpeed": wind},
                    "resources": res, "events": events})
    return out


if __name__ == "__main__":
    for name, spec in WORLDS.items():
        rows = make(name, spec)
        (HERE / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        print(f"wrote {len(rows)} places to {HERE / (name + '.jsonl')}")
