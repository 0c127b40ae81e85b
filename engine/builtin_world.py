"""The built-in world: 1,500 Places, the same every time.

Generated from a fixed ``random.Random`` seed (no global random state), varied across regions
and biomes, weather, resources, and events of every term and significance tier, so a batch on the
default world exercises every path: template-only places, every LLM tier, every enhancement rule.
"""

from __future__ import annotations

import random
from functools import lru_cache

from .phrasing.grammar import article
from .world import Event, Place, Resource, make_place

WORLD_SEED = 20261124
FULL_WORLD = 1500

# region slug -> (biome, temperature range °C, typical conditions, resources)
REGIONS = {
    "northreach": ("tundra", (-40, 5), ["snow", "blizzard", "overcast", "clear", "freezing fog"],
                   ["caribou", "peat", "ice", "lichen", "whale oil", "furs"]),
    "emberfall": ("volcanic highlands", (10, 45), ["ash haze", "clear", "smoky", "dry heat", "thunderstorms"],
                  ["obsidian", "sulfur", "iron ore", "hot springs", "basalt"]),
    "saltmarsh": ("coastal wetland", (2, 28), ["drizzle", "fog", "overcast", "sea mist", "light rain"],
                  ["salt", "reeds", "eels", "shellfish", "peat", "fresh water"]),
    "greywood": ("temperate forest", (-5, 30), ["light rain", "overcast", "clear", "mist", "thunderstorms"],
                 ["timber", "mushrooms", "game", "honey", "fresh water", "herbs"]),
    "dunmere": ("river valley farmland", (0, 34), ["clear", "partly cloudy", "light rain", "heavy rain", "hail"],
                ["grain", "cattle", "wool", "fresh water", "apples", "clay"]),
    "sunspire": ("desert", (5, 55), ["clear", "sandstorm", "dry heat", "dust haze", "scorching sun"],
                 ["dates", "fresh water", "copper", "glass sand", "spices"]),
    "highcairn": ("alpine mountains", (-30, 20), ["snow", "clear", "high winds", "sleet", "whiteout"],
                  ["silver", "goats", "granite", "fresh water", "edelweiss"]),
    "mirefen": ("swamp", (8, 38), ["humid", "fog", "heavy rain", "thunderstorms", "overcast"],
                ["peat", "medicinal moss", "frogs", "cypress timber", "bog iron"]),
    "corsair": ("island archipelago", (15, 36), ["clear", "tropical squall", "trade winds", "humid", "monsoon rain"],
                ["fish", "coconuts", "pearls", "fresh water", "rum"]),
    "ironholt": ("industrial city", (-8, 32), ["smog", "overcast", "light rain", "clear", "soot-laden fog"],
                 ["coal", "iron ore", "labour", "fresh water", "machine parts", "bread"]),
}

KINDS = ["village", "crossing", "market", "watchtower", "harbor", "mill", "shrine", "quarry", "inn",
         "outpost", "farmstead", "mine", "library", "bridge", "fort", "camp", "spring", "grove", "hall"]
ADJ = ["Old", "Low", "High", "Silent", "Red", "Bright", "Hollow", "Stone", "Amber", "Frost", "Gilded", "Crooked",
       "Black", "Willow", "Iron", "Salt", "Moss", "Cinder", "Hearth", "Raven", "Lantern", "Thistle", "Copper", "Misty"]
NOUN = ["ford", "moor", "gate", "barrow", "hollow", "reach", "haven", "field", "brook", "ridge", "cross", "watch",
        "stead", "wick", "mere", "fell", "crag", "vale", "wold", "holme"]

OPENERS = [
    "{a_kind} of {material} {verb} {where}.",
    "The {kind} {verb} {where}, built of {material}.",
    "Weathered {material} marks this {kind}, which {verb} {where}.",
    "Here {a_kind_lower} {verb} {where}, its walls of {material}.",
]
MATERIALS = ["grey stone", "tarred timber", "sun-bleached brick", "river clay", "black basalt", "whitewashed plaster",
             "mossy fieldstone", "salvaged iron"]
VERBS = ["sits", "huddles", "sprawls", "stands", "clings", "rises"]
WHERES = ["beside a slow river", "at the edge of the {biome}", "on a windswept rise", "in a sheltered hollow",
          "where two old roads meet", "above the {biome}", "among scattered boulders", "along a rutted track"]
DETAILS = [
    "Smoke curls from a few chimneys and dogs bark at strangers.",
    "Travellers rest here before the long road onward.",
    "Its people are known for their stubborn hospitality.",
    "A faded banner hangs over the main door.",
    "Carts come and go at all hours.",
    "Few visitors stay longer than a night.",
    "The air smells of woodsmoke and wet earth.",
    "Children play among the stacked crates.",
]

EVENTS = [
    # (type, summary template) — summaries are what the world server reports.
    ("festival", "the harvest festival fills the square with music"),
    ("raid", "bandits raided the outlying farms two nights ago"),
    ("flood", "the river burst its banks and flooded the lower streets"),
    ("plague", "a coughing sickness has spread through the households"),
    ("trade_caravan", "a trade caravan arrived with goods from the south"),
    ("fire", "a fire gutted the granary"),
    ("earthquake", "a tremor cracked the old walls"),
    ("coronation", "a new lord has been crowned and swears to rebuild"),
    ("migration", "great herds are passing through on their seasonal migration"),
    ("drought", "the wells are running low after months without rain"),
    ("discovery", "miners uncovered an ancient vault beneath the hill"),
    ("market_day", "traders set up stalls for market day"),
    ("storm_damage", "last night's storm tore roofs from several houses"),
    ("pilgrimage", "pilgrims gather to visit the shrine"),
    ("strike", "the workers have laid down their tools in protest"),
    ("wedding", "two families celebrate a wedding with a feast"),
]
TERMS = ["immediate", "short", "medium", "long", "permanent"]


def _place(rng: random.Random, i: int) -> Place:
    region = list(REGIONS)[i % len(REGIONS)]
    biome, (tlo, thi), conds, res = REGIONS[region]
    kind = rng.choice(KINDS)
    name = f"{rng.choice(ADJ)}{rng.choice(NOUN)} {kind.title()}"
    slug = f"{name.lower().replace(' ', '-')}-{i:04d}"
    a_kind = article(kind)  # "an inn", "an outpost"
    opener = rng.choice(OPENERS).format(
        kind=kind, a_kind=a_kind[:1].upper() + a_kind[1:], a_kind_lower=a_kind, material=rng.choice(MATERIALS), verb=rng.choice(VERBS),
        where=rng.choice(WHERES).format(biome=biome),
    )
    base = f"{opener} {rng.choice(DETAILS)}"
    temperature = round(rng.uniform(tlo, thi), 1)
    if rng.random() < 0.3:
        temperature = float(round(temperature))
    conditions = rng.choice(conds)
    wind = round(rng.choice([rng.uniform(0, 8), rng.uniform(5, 25), rng.uniform(20, 60), rng.uniform(50, 90)]), 1)
    resources = [
        Resource(t, round(rng.choice([rng.uniform(0.0, 0.29), rng.uniform(0.3, 0.7), rng.uniform(0.71, 1.0)]), 2))
        for t in rng.sample(res, rng.randint(0, min(4, len(res))))
    ]
    # Event mix: most places have no event of note (template tier), the rest spread over
    # every significance tier and every term so every enhancement rule is exercised.
    events = []
    n_events = rng.choices([0, 1, 2, 3], weights=[45, 35, 15, 5])[0]
    for _ in range(n_events):
        etype, summary = rng.choice(EVENTS)
        band = rng.choices([(0.0, 0.29), (0.3, 0.59), (0.6, 0.79), (0.8, 1.0)], weights=[55, 22, 13, 10])[0]
        sig = round(rng.uniform(*band), 2)
        term = rng.choices(TERMS, weights=[15, 20, 30, 20, 15])[0]
        events.append(Event(etype, sig, term, summary[0].upper() + summary[1:] + "."))
    urn = f"urn:flux:place:{region}:{slug}"
    return make_place(urn, name, base, temperature, conditions, wind, resources, events)


@lru_cache(maxsize=4)
def _builtin(n: int) -> tuple[Place, ...]:
    rng = random.Random(WORLD_SEED)
    return tuple(_place(rng, i) for i in range(n))


def builtin_world(n: int = FULL_WORLD) -> list[Place]:
    """The built-in world (deterministic; the first ``n`` places of the 1,500)."""
    if n <= FULL_WORLD:
        return list(_builtin(FULL_WORLD)[:n])
    return list(_builtin(n))
