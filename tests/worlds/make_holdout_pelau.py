"""A second held-out world, written apart from the template work: a tropical archipelago and
its highland mines, in words the other worlds do not use."""
import json, random
rng = random.Random(20261207)
bases = [
 ("Pelau Landing", "A stilt town of teak and palm thatch crowds the mouth of the Pelau estuary. Children fish from the walkways at dawn."),
 ("Coral Steps Customs House", "The customs house is a squat block of coral rag, whitewashed every spring. Clerks nap under its arcade through the hottest hours."),
 ("Oyster Hook", "A hamlet of driftwood shacks clings to a hooked sandbar. Its pearl divers are said to hold their breath for the length of a hymn."),
 ("Saltpan Caravanserai", "An adobe caravanserai squats beside the white salt pans, its courtyard ringed with stables. Camel bells announce every arrival long before it comes into view."),
 ("Greenvein Adit", "A copper adit is cut into the green-streaked cliff, shored with ironwood beams. Miners leave a cup of rum at the entrance for luck."),
 ("Tumbledown Ferry", "A rope ferry of lashed bamboo crosses the brown river below the gorge. The ferryman charges a song for passage after dark."),
 ("Mangrove Chapel", "A chapel of grey stone stands on pilings among the mangroves. Its bell rope is green with moss."),
 ("Spice Quay", "Warehouses of brick and corrugated iron line the spice quay. The air smells of pepper and tar for a mile inland."),
 ("Highcairn Assay Office", "The assay office is a narrow stone house with iron shutters, perched above the mine road. Its scales are older than the town."),
 ("Windward Light", "A lighthouse of black basalt stands on the windward reef. The keeper's log goes back two hundred years."),
 ("Indigo Yards", "Dye vats of fired clay stand in rows behind a bamboo fence. The dyers' hands are blue to the elbow."),
 ("Monkey Bridge Market", "A market of canvas awnings spreads across an old stone bridge. Haggling here is considered a sport."),
 ("Fort Tamarind", "A star fort of coral stone guards the northern channel. Its cannon have not been fired in a generation."),
 ("Cinder Terraces", "Rice terraces climb the flank of the smoking volcano, held up by walls of dark lava stone. Farmers here read the mountain's moods like the weather."),
 ("Tidewater Infirmary", "A long infirmary of timber and lime plaster sits behind the sea wall. Its nurses are mostly nuns from the mainland."),
 ("Goatstair Village", "A village of dry-stone huts climbs a slope so steep the lanes are stairs. Goats outnumber people three to one."),
 ("Lamplighter's Row", "A row of narrow tenements in sooty brick leans over the canal. Someone here is always playing a fiddle."),
 ("Brinewell Shrine", "A shrine of carved sandstone shelters a spring of brackish water. Pilgrims tie ribbons to the fig tree beside it."),
 ("Shipwright's Cove", "Slipways of tarred timber fill a sheltered cove under the cliffs. A half-built schooner has sat on the middle slip for a year."),
 ("Ashfall Observatory", "A domed observatory of pale granite crowns the ridge above the crater. The astronomers quarrel with the priests about comets."),
 ("Pepperwood Plantation", "A plantation house of whitewashed timber looks over rows of pepper vines. Its veranda is the coolest place for miles."),
 ("Cistern Gate", "A gatehouse of sandstone straddles the road into the old city, over a vaulted cistern. Its guards are known for taking small bribes politely."),
 ("Reedmat Weavers' Hall", "A long hall of woven reed mats on a bamboo frame houses the weavers' guild. Its floor is swept twice a day."),
 ("Kestrel Pass Inn", "An inn of rough granite shelters below the saddle of Kestrel Pass. Mule drivers swap rumours around its single hearth."),
 ("Sunken Baths", "Bathhouses of green-glazed tile step down into a warm spring. Gossip flows as freely as the water."),
 ("Tinker's Wharf", "A ramshackle wharf of salvaged planks juts into the harbour. Tinkers mend pots there for a copper coin."),
 ("Cloudforest Mission", "A mission of mud brick and cedar shingles sits in the cloud forest above the coffee slopes. Its garden grows orchids no one can name."),
 ("Lower Sluice", "A sluice house of cut stone controls the flow into the paddy canals. The sluice keeper sleeps with the keys around his neck."),
 ("Smuggler's Grotto Tavern", "A tavern hides in a sea cave, its bar made from a ship's keel. No one asks where the brandy comes from."),
 ("Starfruit Orchard", "An orchard of starfruit and mango trees surrounds a tin-roofed packing shed. Parrots take their share before the pickers do."),
 ("Basalt Quarry", "A quarry bites into a hill of columnar basalt. The blasting horn sounds at noon and at four."),
 ("Drum Hill Barracks", "Barracks of whitewashed brick stand around a dusty parade ground on Drum Hill. Recruits drill to a drum that never seems to stop."),
]
weather = ["patchy light drizzle", "moderate or heavy rain with thunder", "blowing snow", "freezing drizzle", "smoke", "volcanic ash", "light rain and snow", "ice pellets", "fair", "breezy", "gusty showers", "tropical storm", "dense fog", "low cloud", "sunny intervals", "hazy sunshine", "sleet showers", "heat haze", "dry and bright", "rain clearing later", "isolated showers", "torrential downpours", "squally showers", "mostly clear", "cloudy with sunny spells", "steady rain", "light snow", "humid and cloudy", "dust haze", "frost", "clear", "drizzle"]
temps = {"blowing snow": -6, "freezing drizzle": -1, "light rain and snow": 1, "ice pellets": -2, "light snow": -3, "frost": -1, "sleet showers": 2}
res = ["goats", "mules", "indigo", "pepper", "copper ore", "sailcloth", "pearls", "apprentices", "guards", "dates", "olive oil", "tar", "tin", "wool", "firewood", "medicine", "rice", "lamp oil", "clerks", "camels", "coffee", "ponies", "saltfish", "nurses", "rope", "coconuts", "gunpowder", "limes", "cloth", "labourers"]
events = [
 ("ban", "The harbour master has banned night fishing."),
 ("caravan", "A caravan from the salt flats arrives tomorrow."),
 ("raid", "Pirates burned two warehouses on the quay last week."),
 ("visit", "The governor is touring the mines this month."),
 ("outbreak", "Cholera has broken out in the lower town."),
 ("omen", "A comet hangs over the mountains each night."),
 ("election", "The guild elections were held on Sunday."),
 ("rumour", "Smugglers are said to be using the old tunnels."),
 ("toll", "The bridge toll will double at midsummer."),
 ("stranding", "A whale washed up on the beach this morning."),
 ("drought", "The monsoon failed for the second year running."),
 ("strike", "The dockers have stopped work over unpaid wages."),
 ("wedding", "The headman's daughter marries a pearl merchant on Saturday."),
 ("eruption", "The volcano has been rumbling since the new moon."),
 ("wreck", "A mail steamer ran aground on the outer reef."),
 ("fair", "The spice fair opens at the end of the week."),
 ("theft", "Someone stole the chapel's silver candlesticks."),
 ("landslide", "A landslide has blocked the mine road."),
 ("feud", "Two fishing families are feuding over a net."),
 ("arrival", "A surveyor from the capital is measuring the fields."),
]
terms = ["immediate", "short", "medium", "long", "permanent"]
out = []
for i, (name, base) in enumerate(bases):
    w = weather[i % len(weather)]
    t = temps.get(w, round(rng.uniform(14, 36), 1))
    wind = round(rng.choice([rng.uniform(0, 3), rng.uniform(4, 12), rng.uniform(13, 25), rng.uniform(26, 45), rng.uniform(46, 70)]), 1)
    if w in ("tropical storm",): wind = 58.0
    if w in ("dense fog", "heat haze", "low cloud"): wind = round(rng.uniform(0, 5), 1)
    rs = [{"type": r, "abundance": round(rng.choice([rng.uniform(0.02, 0.28), rng.uniform(0.75, 0.99), rng.uniform(0.35, 0.65)]), 2)} for r in rng.sample(res, rng.randint(0, 3))]
    evs = [{"type": t_, "significance": round(rng.uniform(0.05, 0.99), 2), "term": rng.choice(terms), "summary": s} for t_, s in rng.sample(events, rng.randint(0, 2))]
    slug = name.lower().replace("'", "").replace(" ", "-")
    out.append({"urn": f"urn:flux:place:pelau:{slug}-{i:02d}", "name": name, "description": {"base": base}, "weather": {"temperature": t, "conditions": w, "windSpeed": wind}, "resources": rs, "events": evs})
with open(__file__.rsplit("/", 1)[0] + "/holdout-pelau.jsonl", "w") as f:
    for p in out: f.write(json.dumps(p) + "\n")
print(len(out))
