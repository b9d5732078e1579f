"""English phrase bank: made-up towns, people and products, and eight kinds of page.

Every sentence here was written for curate's sample data. Places, people, brands and events are
invented; facts in the explainers and guides are ordinary general knowledge, phrased anew.
"""

from __future__ import annotations

import random

from .engine import Genre, Section, names

CODE = "en"
JOIN = " "

_TOWN_HEAD = names(
    "Brack Ash Mill Thorn Wick Fern Hollow Marl Ock Sedge Wren Bram Cole Dun Elder Fox Gill Hart Kes "
    "Lang Mere Nether Pen Rook Sal Tarn Ulls Wold Yarrow Birch Cran Drum Ever Glen Heron Ivel Lark "
    "Moss Nettle Otter Pike Quen Rush Swale Teal Umber Vell Whin"
)
_TOWN_TAIL = names("ford combe bury ley wick ham stead well thorpe mouth bridge field den holt minster haven")
_RIVER = names(
    "Wenlow Aske Tarrow Lisk Corran Ebble Mardle Skell Fenn Brede Otterby Coldwater Sallow Inchet "
    "Dawley Rennet Calder Mossop Winnow Harle"
)
_FIRST = names(
    "Anna Ben Clara Daniel Edith Frank Grace Harry Isla Jacob Kate Leo Maya Noah Olive Peter Rosa "
    "Sam Tessa Victor Wendy Alan Beth Colin Dora Ethan Fiona George Hannah Ivan Julia Karl Lucy Martin "
    "Nina Oscar Priya Rahul Sofia Tom"
)
_LAST = names(
    "Abbott Barker Carter Dawson Ellis Fletcher Gale Hughes Irving Jarvis Keane Lowe Marsh Norris "
    "Oakley Pryce Quinn Rowe Sutton Turner Upton Vance Walsh Yates Brook Chandler Doyle Fenwick "
    "Granger Holt Kemp Lister Mercer Nash Porter Reeve Slater Thorne Webb"
)
_SIGHTS = (
    "the old watermill",
    "the clock tower",
    "the covered market",
    "St. Aldric's Church",
    "the stone bridge",
    "the tithe barn",
    "the ropewalk",
    "the little lock-keeper's cottage",
    "the ruined priory",
    "the town museum",
    "the walled garden",
    "the old grammar school",
    "the harbour wall",
    "the corn exchange",
    "the signal box",
    "the almshouses",
    "the windmill on the ridge",
    "the brewery yard",
)
_TRADES = (
    "wool",
    "salt",
    "leather",
    "clay pipes",
    "rope",
    "barley",
    "timber",
    "cider",
    "pottery",
    "lace",
    "slate",
    "cheese",
)
_DISHES = (
    "smoked trout pie",
    "leek and barley soup",
    "apple and walnut cake",
    "lamb stew with dumplings",
    "cheese and onion pasties",
    "baked river fish with herbs",
    "oat biscuits with honey",
    "plum crumble",
    "mushroom and chestnut pie",
    "potato cakes with chives",
    "pear and ginger tart",
    "beef and ale stew",
)
_MONTHS = names("January February March April May June July August September October November December")
_SITE_KINDS = ("Gazette", "Courier", "Chronicle", "Herald", "Post", "Messenger", "Observer")


def town(rng: random.Random) -> str:
    return rng.choice(_TOWN_HEAD) + rng.choice(_TOWN_TAIL)


def person(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"


def context(rng: random.Random) -> dict[str, str]:
    """Page-level values: one town, its river, people, dates and dishes stay the same on a page."""
    sights = rng.sample(_SIGHTS, 3)
    dishes = rng.sample(_DISHES, 2)
    return {
        "town": town(rng),
        "town2": town(rng),
        "river": "the " + rng.choice(_RIVER),
        "hills": f"the {rng.choice(_TOWN_HEAD)} Hills",
        "person": person(rng),
        "person2": person(rng),
        "person3": person(rng),
        "founded": str(rng.randint(1080, 1690)),
        "year": str(year := rng.randint(1780, 1899)),
        "year_rail": str(min(year + rng.randint(8, 40), 1899)),  # after the disaster of {year}
        "year2": str(rng.randint(1900, 1975)),
        "year3": str(rng.randint(1976, 2019)),
        "sight": sights[0],
        "sight2": sights[1],
        "sight3": sights[2],
        "trade": rng.choice(_TRADES),
        "dish": dishes[0],
        "dish2": dishes[1],
        "month": rng.choice(_MONTHS),
        "paper": rng.choice(_SITE_KINDS),
        "mins": str(rng.randint(10, 45)),
        "price": str(rng.randint(4, 19)),
    }


POOLS: dict[str, tuple[str, ...]] = {
    "nice": ("pleasant", "charming", "quiet", "lively", "friendly", "relaxed", "welcoming", "peaceful"),
    "time_of_day": ("early in the morning", "around noon", "late in the afternoon", "in the evening"),
    "weather": (
        "a light drizzle",
        "bright sunshine",
        "a cold wind from the hills",
        "low grey clouds",
        "a warm breeze",
        "patchy fog",
    ),
    "transport": ("the regional train", "the hourly bus", "a shared taxi", "my old bicycle", "the coach"),
    "food": ("fresh bread", "local cheese", "smoked fish", "honey", "apple juice", "pickled onions"),
    "shop": ("a bakery", "a bookshop", "a hardware store", "a tea room", "a butcher", "a flower stall"),
    "feeling": ("glad", "surprised", "delighted", "relieved", "pleased"),
    "count": ("two", "three", "four", "five", "six"),
    "weekday": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "group": (
        "the parish council",
        "the town council",
        "a group of volunteers",
        "the local history society",
        "the residents' association",
    ),
    "veg": ("beans", "courgettes", "potatoes", "onions", "pumpkins", "tomatoes", "peas"),
    "building": (
        "the library",
        "the swimming pool",
        "the community hall",
        "the primary school",
        "the sports ground",
    ),
}

# --- travel notes ---------------------------------------------------------------------------------
_TRAVEL = Genre(
    name="travel",
    titles=(
        "[Two|Three|A few] days in {town}",
        "A [weekend|short break|slow weekend] in {town}",
        "Travel notes: {town} and {river}",
        "What to see in {town}, [and where to eat|with a few tips]",
        "{town} on foot: [notes from|a diary of] a [short|rainy|sunny] trip",
    ),
    intro=Section(
        (
            "I [had wanted to|had been meaning to] visit {town} for [years|a long time|ages], and this {month} I finally [went|made the trip].",
            "{town} is a [small|modest|compact] market town on {river}, about {mins} minutes from {town2} by [train|bus|car].",
            "[Most people|Many visitors|Plenty of travellers] only pass through {town} on the way to {hills}, which is a [pity|shame|mistake].",
            "We arrived {time_of_day} in {weather}, [tired|hungry|a little lost] but [curious|in good spirits|happy to be there].",
            "[This is|What follows is] a [short|practical|personal] account of [our|my] [visit|stay|trip], with [a few|some] [tips|notes] for anyone [planning|thinking about] the same.",
            "The town [grew up|developed] around a [crossing|ford|bridge] on {river}, and the old centre is still [easy|pleasant] to explore on foot.",
        ),
        pick=(2, 3),
    ),
    middle=(
        Section(
            (
                "[Getting there is easy|Reaching the town is simple]: {transport} [stops|calls] near the [square|market place|station] [every hour|twice an hour|several times a day].",
                "The [station|bus stop] is [a short walk|ten minutes on foot] from the centre, [down a lane lined with|past a row of] [brick cottages|old warehouses|small gardens].",
                "If you come by car, [leave it|park] [at the edge of town|near the river|behind the church], because the [lanes|streets] in the [centre|old quarter] are [narrow|steep|busy].",
                "[We took|I took] {transport} from {town2}, which [cost|came to] about {price} pounds and [gave|offered] [lovely|good|wide] views of {hills}.",
            ),
            pick=(1, 3),
        ),
        Section(
            (
                "The [first|main|best] sight is {sight}, which [dates from|was built in] the [fourteenth|sixteenth|eighteenth] century.",
                "[Do not miss|Make time for|Be sure to see] {sight2}; the [volunteers|guides|staff] there [explain|tell] its story [with real enthusiasm|in great detail|with a lot of humour].",
                "A [footpath|towpath|riverside path] [runs|leads] from {sight} [along|beside] {river} to {sight3}, a walk of [about|roughly] {count} kilometres.",
                "[Entry|Admission] to {sight2} [is free|costs a few pounds], and [it is|the place is] [closed on|quiet on] {weekday}s.",
                "From the top of {sight}, you can see [the whole town|the river bends|the roofs of the old quarter] and, on a clear day, {hills}.",
                "[In the side streets|Behind the square|Near the bridge] you will find {shop}, {shop} and [several|a few] [old|half-timbered|stone] houses [worth a photograph|with carved doorways].",
            ),
            pick=(2, 4),
        ),
        Section(
            (
                "For [lunch|dinner|supper], [try|order] the {dish}, a [local|regional|traditional] [favourite|speciality] that [most|many] [cafes|pubs|inns] serve.",
                "[We ate|I ate] at a [small|family-run|busy] inn near the [river|square], where the {dish2} was [excellent|generous|very good] and the staff were [kind|patient|cheerful].",
                "The [Saturday|weekly|morning] market sells {food}, {food} and [fruit from the valley|vegetables from nearby farms|flowers].",
                "[Prices are fair|Food is not expensive|Meals are reasonably priced]: a [main course|hot meal] costs [around|about] {price} pounds.",
                "[Ask for|Look out for] {food} from the [farm shop|market stalls|deli] if you want to [take something home|bring back a present].",
            ),
            pick=(2, 3),
        ),
        Section(
            (
                "[We stayed|I stayed] in a [guest house|small hotel|rented room] [above|next to|behind] {shop}, [run by|kept by] {person}, who [knew everything about|could talk for hours about] the town.",
                "[Rooms|Beds] are [limited|scarce] in {month}, so [book early|reserve well ahead|do not leave it late].",
                "The [room|guest house] was [simple but clean|small but warm|plain and comfortable], and breakfast included [eggs from the farm|homemade jam|thick porridge].",
                "[Camping|A campsite] is [also possible|available] [by the river|at the edge of town], [though|but] the ground [can be wet|gets muddy] after rain.",
            ),
            pick=(1, 3),
        ),
        Section(
            (
                "[A small tip|One piece of advice|A word of warning]: [many shops|several cafes|the museum] [close early|shut at lunchtime] on {weekday}.",
                "[Bring|Pack] [good shoes|a rain jacket|a map], because the [paths|lanes|hills] around {town} are [uneven|slippery|steep] in places.",
                "[The tourist office|The library|The visitor centre] [lends|hands out] [free maps|walking guides|leaflets] and [can help|will help] with [bus times|opening hours].",
                "[If you have|With] an extra day, [walk up|cycle out] to {hills} and [come back|return] along {river}.",
                "Mobile [signal|reception] is [weak|patchy] in the valley, so [download|print] your [tickets|maps] before you [set off|leave].",
            ),
            pick=(1, 3),
        ),
    ),
    outro=Section(
        (
            "[All in all|In the end|Looking back], {town} was [a pleasant surprise|well worth the trip|more interesting than I expected].",
            "I [would|will] [gladly|happily] go back, [perhaps|maybe] in [spring|autumn|winter] when the [crowds|visitors] are fewer.",
            "[If you have visited|If you know] {town}, [tell me|let me know] [what I missed|which places you liked] in the comments.",
            "It is [not a place for|not somewhere for] [big crowds|nightlife|shopping], but for a [slow|quiet|restful] weekend it is [hard to beat|ideal|just right].",
        ),
        pick=(1, 2),
    ),
)

# --- local history -----------------------------------------------------------------------------------
_HISTORY = Genre(
    name="history",
    titles=(
        "A short history of {town}",
        "How {town} [grew|became a town|came to be]",
        "{town} [through the centuries|from {founded} to today|and its past]",
        "The [story|history] of {town} and {river}",
    ),
    intro=Section(
        (
            "{town} [first appears|is first mentioned] in [a charter|the records|a land survey] of {founded}, when it was [little more than|only] a [hamlet|cluster of farms|handful of houses] beside {river}.",
            "[Few towns|Not many places] [of its size|in the region] have [such a|so] [varied|eventful|long] [history|past] as {town}.",
            "The name {town} [probably|most likely] comes from [an old word for|a term meaning] a [crossing|clearing|meadow] [by the water|near the river].",
            "[Historians|Local writers] [agree|believe] that the [first|earliest] [settlers|farmers] came to {river} [well before|long before] {founded}.",
        ),
        pick=(2, 3),
    ),
    middle=(
        Section(
            (
                "In the [Middle Ages|medieval period], the town [lived from|depended on] {trade}, which [was carried|travelled] [down|along] {river} to [larger markets|the coast|the cities].",
                "A [weekly|yearly] market was [granted|allowed] in [the same century|the following century], and {sight} was [built|raised] [soon after|not long after].",
                "[Merchants|Traders] from {town2} [settled|built houses] near the [bridge|square], and [some of|several of] their [houses|cellars] [survive|can still be seen] today.",
                "The [church|priory] [owned|controlled] [much of|most of] the land, and [monks|lay brothers] [ran|managed] the [mills|fish ponds|orchards].",
            ),
            pick=(2, 3),
        ),
        Section(
            (
                "[Disaster|Misfortune] [struck|came] in {year}, when a [great fire|flood|storm] [destroyed|damaged] [dozens of|many] [houses|homes] [near|along] {river}.",
                "[Rebuilding|Recovery] took [years|decades], and [many|most] of the [timber|wooden] houses were [replaced by|rebuilt in] [brick|stone].",
                "[Records|Letters] from the time describe [families|people] [sleeping|living] in {sight} [until|while] their homes were [repaired|rebuilt].",
                "[After|Following] the [fire|flood], the council [widened|straightened] the main street and [built|added] a [new|second] bridge.",
            ),
            pick=(1, 3),
        ),
        Section(
            (
                "The railway [reached|arrived in] {town} in {year_rail}, and [within a generation|in a few decades] the [population|number of residents] [doubled|almost doubled].",
                "[New|Small] [factories|workshops] [making|producing] {trade} [opened|appeared] [beside|near] the [station|goods yard], [bringing|providing] [work|jobs] for [hundreds|many families].",
                "[Rows of|Terraces of] [brick|red-brick] houses were built [for the workers|on the fields south of the river], and [a school|a chapel|a reading room] followed.",
                "[Not everyone|Some residents] [welcomed|liked] the changes: [letters|articles] in the local paper [complained about|grumbled about] [smoke|noise|strangers].",
            ),
            pick=(2, 3),
        ),
        Section(
            (
                "[In|By] {year2}, [most of|many of] the [old|traditional] [trades|workshops] had [closed|gone], and {town} [turned to|relied more on] [farming|services|visitors].",
                "{sight2} was [saved from|rescued from] [demolition|ruin] in {year2} by {group}, [led by|with the help of] {person}.",
                "The [branch line|railway] [closed|was closed] in {year2}, [although|but] {transport} still [links|connects] the town with {town2}.",
                "[During|After] the war, {sight3} [served as|was used as] a [school|store|hospital] for [several|a few] years.",
            ),
            pick=(1, 3),
        ),
    ),
    outro=Section(
        (
            "Today {town} has [about|around|roughly] {count} thousand [inhabitants|residents], and [its past|its history] is [still visible|easy to read] in [its streets|the old centre].",
            "{group} [publishes|keeps] [a small archive|old photographs|a yearly journal] for anyone who wants to [learn more|dig deeper].",
            "[Much remains unknown|Many questions remain], and [new finds|discoveries] in [gardens|cellars] [still|regularly] [add|bring] [details|surprises] to the story.",
            "[Walking|A walk] from {sight} to {sight2} [is|makes] the [best|easiest] way to [see|trace] [these|the] centuries [in a single afternoon|in an hour or two].",
        ),
        pick=(1, 2),
    ),
    ordered_middle=True,  # history runs forward in time
)

# --- local news --------------------------------------------------------------------------------------
_NEWS = Genre(
    name="news",
    titles=(
        "{town}: [council approves|plans for|work begins on] {project}",
        "[Residents|Families] in {town} [welcome|debate|question] {project}",
        "{town} {event} [draws|attracts] [record|large|big] crowds",
        "[Update|News]: {project} in {town} [delayed|on schedule|finished early]",
    ),
    intro=Section(
        (
            "{group} in {town} [voted|decided] on {weekday} to [go ahead with|approve|fund] {project}.",
            "[Work|Building work] on {project} [will start|is due to start|began] in {month}, [according to|said] {person}, who [chairs|leads] the [planning committee|project group].",
            "[More than|Over|Nearly] {count} hundred [people|residents|visitors] [came to|attended|joined] the {event} [on|last] {weekday}.",
            "[Plans|Proposals] for {project} [have divided|have split|have been welcomed by] [residents|neighbours|shop owners] [in|across] {town}.",
        ),
        pick=(2, 3),
    ),
    middle=(
        Section(
            (
                "The [project|scheme|work] [will cost|is expected to cost] [about|around] [two|three|four|six|nine] hundred thousand pounds, [paid for|funded] [partly|mostly] by [a regional grant|local taxes|donations].",
                "{person} [said|told the meeting] that [the town|{town}] had [waited|asked] for [this|such a change] [for years|for a long time].",
                "[Critics|Some residents] [worry|fear] that [traffic|noise|parking] [near|around] {building} [will get worse|could become a problem].",
                "[A public meeting|An open evening] [will be held|takes place] at {building} on {weekday}, and [everyone|all residents] [is|are] [welcome|invited].",
                "[Drawings|Plans] of {project} [can be seen|are on display] in the [window of|entrance hall of] {building} [until|through] the end of {month}.",
            ),
            pick=(2, 3),
        ),
        Section(
            (
                "[Organisers|Volunteers] [said|reported] that [the weather|{weather}] [helped|did not spoil] the day, and [stalls|stands] [sold out|ran out of food] [by|before] [the afternoon|four o'clock].",
                "[Children|Families] [enjoyed|crowded around] [a puppet show|a brass band|pony rides|a treasure hunt] [near|beside] {sight}.",
                "{person2}, who [has run|organised] the {event} [for|since] {count} years, [thanked|praised] the [volunteers|helpers|sponsors].",
                "[Money raised|The takings] [will go to|will support] {building} and [a local charity|the youth club|the food bank].",
            ),
            pick=(1, 3),
        ),
        Section(
            (
                "[Road|Street] [closures|diversions] [will be in place|are planned] [near|around] {sight} [during|for] the [first|next] {count} weeks.",
                "[Drivers|Motorists] are [asked|advised] to [use|follow] the [signed|marked] diversion via {town2}.",
                "[Buses|The hourly bus] will [stop|call] at a [temporary|new] stop [near|opposite] {building} [until|while] the work [is finished|continues].",
                "{person3} of {group} [said|added] that [the timetable|the schedule] [was|is] [tight|realistic] but [that the team|that workers] [were|are] [confident|hopeful].",
            ),
            pick=(1, 2),
        ),
    ),
    outro=Section(
        (
            "[The next|A further] [meeting|update] [is expected|is planned] in {month}.",
            "[Readers|Residents] [with questions|who want to comment] can [write to|contact] {group} [through|via] the town website.",
            "We will [report|keep reporting] on [the project|{project}] as it [progresses|develops].",
        ),
        pick=(1, 2),
    ),
    context=lambda rng: {
        "project": rng.choice(
            (
                "a footbridge over the river",
                "the new cycle path",
                "a skate park",
                "the library extension",
                "a community orchard",
                "the repair of the market hall roof",
                "a new car park",
                "solar panels on the school",
            )
        ),
        "event": rng.choice(
            ("spring fair", "harvest festival", "duck race", "book fair", "summer fete", "cheese market")
        ),
    },
)

# --- product review ----------------------------------------------------------------------------------
_PRODUCTS = {
    "kettle": (
        "[the lid opens|you can open the lid] with one finger",
        "the water gauge is [easy|simple] to read",
        "it [boils|heats] a full litre in [about|just over] three minutes",
        "the base [stays cool|does not get hot]",
    ),
    "backpack": (
        "the straps are [well padded|soft and wide]",
        "there is a [separate|padded] pocket for a laptop",
        "the fabric [kept out|survived] [a long shower|heavy rain]",
        "the zips [run smoothly|never jammed]",
    ),
    "desk lamp": (
        "the arm [stays where you put it|holds its position]",
        "the light is [warm|even] and does not flicker",
        "you can [dim|adjust] it in [five|several] steps",
        "it takes up [very little|hardly any] space on the desk",
    ),
    "pair of headphones": (
        "the battery [lasts|lasted] [a whole week|several days] of commuting",
        "the ear cushions [are soft|feel comfortable] even after [hours|a long flight]",
        "the sound is [clear|balanced] at low volume",
        "they fold [flat|neatly] into a [small|slim] case",
    ),
    "bike light": (
        "it [charges|recharges] [through a cable|in two hours]",
        "the beam [lights up|reaches] [the whole lane|far ahead]",
        "the [clip|mount] fits [most|all our] handlebars",
        "it survived [a muddy winter|months of rain]",
    ),
    "rain jacket": (
        "the hood [stays up|does not blow back] in the wind",
        "the seams [are taped|did not leak]",
        "it packs into its own pocket",
        "the cuffs [close tightly|can be adjusted]",
    ),
    "blender": (
        "it [crushes|handles] ice [without trouble|easily]",
        "the jug is [easy|quick] to clean",
        "the motor is [quieter|less noisy] than [expected|our old one]",
        "the buttons are [simple|clearly labelled]",
    ),
    "e-reader": (
        "the screen is [easy on the eyes|sharp] even in sunlight",
        "the battery [lasts|lasted] for weeks",
        "it is light enough to hold in one hand",
        "the page turns are [quick|fast]",
    ),
}
_BRANDS = names("Norvane Kelto Brisa Altair Huxley Mondo Pelleas Tamsin Orbel Quillon Vardo Sorrel")


def _review_context(rng: random.Random) -> dict[str, str]:
    category = rng.choice(sorted(_PRODUCTS))
    feats = rng.sample(_PRODUCTS[category], 3)
    return {
        "category": category,
        "product": f"{rng.choice(_BRANDS)} {rng.choice(('One', 'Lite', 'Pro', 'S', 'Trail', 'Home', 'Go'))} {rng.randint(2, 9)}",
        "feat1": feats[0],
        "feat2": feats[1],
        "feat3": feats[2],
        "cost": str(rng.randint(19, 149)),
        "stars": rng.choice(("three", "four", "four", "five")),
        "weeks": rng.choice(("two weeks", "a month", "six weeks", "three months", "half a year")),
    }


_REVIEW = Genre(
    name="review",
    titles=(
        "Review: the {product} {category}",
        "{product} review: [a good|a solid|a decent] {category} [for the price|with one flaw]",
        "[I used|Living with] the {product} for {weeks}",
        "Is the {product} [worth it|worth the money]? [A long-term review|An honest review]",
    ),
    intro=Section(
        (
            "I [bought|ordered] the {product} {weeks} ago, after my old {category} [finally broke|gave up].",
            "The {product} is a {category} [that costs|priced at] [about|around] {cost} pounds, [which puts it|placing it] in the [middle|upper middle] of the market.",
            "[There are|You can find] [plenty of|many] [cheap|similar] models, so I [wanted to know|was curious] whether this one [is worth|justifies] the [extra|higher] price.",
            "[This review covers|These notes cover] {weeks} of [daily|regular|everyday] use, [not|rather than] a [quick|first] impression.",
        ),
        pick=(2, 3),
    ),
    middle=(
        Section(
            (
                "[The first thing I noticed|What I liked first] [is|was] that {feat1}.",
                "[I also like|Another plus is|On top of that,] {feat2}.",
                "[In daily use|After a few weeks], {feat3}, which [matters more than|counts for more than] [it sounds|you might think].",
                "[The build quality|The finish] [feels|seems] [solid|sturdy|well thought out], and [nothing|no part] has [broken|come loose] so far.",
                "[The box|The package] [contained|included] [a short manual|a cable|a spare part], [but|and] [no|not much] [plastic|waste packaging].",
            ),
            pick=(2, 4),
        ),
        Section(
            (
                "[It is not perfect|There are downsides], [though|however].",
                "The [colour|finish] [shows|picks up] [fingerprints|scratches] [quickly|easily], [so|which means] [it needs|you need to give it] a wipe [now and then|every few days].",
                "The [manual|instructions] [is|are] [thin|vague] and [does not explain|skip] [some of the settings|the warranty].",
                "[At|For] {cost} pounds I [would have expected|hoped for] [a longer warranty|a carrying case|a second colour].",
                "[Customer service|Support] [answered|replied to] my [question|email] [within a day|after three days], which was [fine|acceptable].",
            ),
            pick=(1, 3),
        ),
        Section(
            (
                "[Compared with|Next to] my old {category}, the {product} is [lighter|quieter|better made] and [simpler|nicer] to use.",
                "[A friend|My neighbour] [owns|uses] a [cheaper|similar] model, and [side by side|in a direct test] the {product} [was|felt] [clearly|noticeably] better.",
                "[If you only need|For] [the basics|occasional use], a cheaper {category} will [do|be enough].",
            ),
            pick=(1, 2),
        ),
    ),
    outro=Section(
        (
            "[Overall|All in all|In short], I [give|would give] the {product} {stars} [stars out of five|out of five stars].",
            "[I would recommend it|It is easy to recommend] to [anyone|people] who [uses|needs] a {category} [every day|often].",
            "[If the price drops|On sale], it [would be|becomes] [a bargain|an easy choice].",
        ),
        pick=(1, 2),
    ),
    context=_review_context,
)


def _steps(templates: tuple, rng: random.Random) -> Section:
    """Steps of a recipe or guide: all of them, in order, as prose or as a numbered list."""
    n = len(templates)
    return Section(templates, pick=(n, n), ordered=True, numbered=rng.random() < 0.4)


# --- recipes -----------------------------------------------------------------------------------------
_RECIPE_KINDS = {
    "soup": (
        ("leeks", "barley", "carrots", "celery", "potatoes", "parsnips", "peas", "white beans"),
        (
            (
                "[Wash|Rinse] the vegetables and [cut|chop] them into [small|even] pieces.",
                "[Start by preparing|First prepare] the vegetables: [peel|scrub] them and [dice|chop] them [finely|into cubes of about {1-2} centimetres].",
            ),
            (
                "[Melt|Heat] a [knob of butter|spoon of oil] in a [large|heavy] pot and [soften|sweat] the {ing1} for [five|eight] minutes.",
                "[Warm|Heat] [some|a little] [oil|butter] in a [wide|deep] [pan|saucepan], [add|tip in] the {ing1} and [cook|stir] [gently|over low heat] for {5-10} minutes [until soft|without browning].",
            ),
            (
                "[Add|Stir in] the {ing2} and the {ing3}, then [pour in|add] [a litre|one and a half litres] of [stock|water].",
                "[Next|Then], [add|put in] the {ing2} and the {ing3} and [cover everything|top up] with [about|around] {1-2} litres of [hot stock|water].",
            ),
            (
                "[Bring|Let] the pot [to the boil|come to the boil], [then|and then] [lower the heat|turn the heat down] and [simmer|cook gently] for [twenty|thirty|forty] minutes.",
                "[Once it boils|When it bubbles], [reduce|turn down] the heat [and let the soup|so the soup can] [simmer|tick over] for {20-45} minutes [with the lid on|partly covered].",
            ),
            (
                "[Season|Taste and season] with salt and pepper, and [blend half of it|leave it chunky] [if you like|as you prefer].",
                "[Taste it|Check the seasoning], [add|adjust] salt and pepper, and [blend|mash] [some of the soup|part of it] [for a thicker texture|if you like it thick].",
            ),
            (
                "[Serve|Ladle it into bowls] with [fresh bread|a spoon of cream|chopped parsley].",
                "[It is best served|Serve it] [hot|piping hot] [with|alongside] [crusty bread|buttered toast|a sprinkle of herbs].",
            ),
        ),
    ),
    "cake": (
        ("apples", "walnuts", "pears", "plums", "hazelnuts", "raisins", "ginger", "lemon zest"),
        (
            (
                "[Heat|Preheat] the oven to [160|170|180|190] degrees and [grease|line] a [round|square] tin.",
                "[Turn on|Switch on] the oven [at|to] [160|170|180] degrees [and|, then] [butter|line] a [cake tin|baking tin] of [about|roughly] [20|22|24] centimetres.",
            ),
            (
                "[Beat|Whisk] [150|200] grams of butter with the same weight of sugar until [pale|light and fluffy].",
                "[Cream|Mix] [soft|softened] butter and sugar, [150 grams of each|equal weights of each], [until|till] the mixture [is pale|turns pale].",
            ),
            (
                "[Add|Beat in] three eggs, one at a time, then [fold in|stir in] [200|250] grams of flour and a [teaspoon|spoon] of baking powder.",
                "[Add|Work in] the eggs [one by one|one after another], [then|and then] [sift in|add] the flour [together with|and] [the|a little] baking powder.",
            ),
            (
                "[Stir|Fold] the {ing1} and the {ing2} into the batter [gently|with a spatula].",
                "[Gently|Carefully] [fold|mix] [in|through] the {ing1} and the {ing2}, [without beating|taking care not to beat] [too much|the air out].",
            ),
            (
                "[Spread|Pour] the batter into the tin and bake for [forty|forty-five|fifty] minutes, until a skewer comes out clean.",
                "[Scrape|Spoon] the mixture into the tin, [level|smooth] the top and bake for [35|40|45|50] minutes, [checking|testing] with a [skewer|toothpick].",
            ),
            (
                "Let the cake cool [in the tin|on a rack] before [cutting|slicing] it.",
                "[Leave|Allow] the cake [to cool|to rest] for [at least|about] {15-30} minutes [before you|before trying to] [turn it out|slice it].",
            ),
        ),
    ),
    "stew": (
        ("mushrooms", "onions", "carrots", "turnips", "chestnuts", "parsnips", "shallots", "swede"),
        (
            (
                "[Cut|Dice] the beef into [large|bite-sized] pieces and [dust|toss] them with a little flour.",
                "[Chop|Cut] the beef into [chunks|pieces] the size of a walnut and [coat|dust] them [lightly|thinly] in flour.",
            ),
            (
                "[Brown|Fry] the meat in [batches|small batches] in a hot pan, then [set it aside|move it to a plate].",
                "[Sear|Brown] [the beef|the pieces] [a few at a time|in batches] [in|over] a [very hot|hot] [pan|casserole] [and|, then] [lift them out|put them aside].",
            ),
            (
                "[Soften|Fry] the {ing1} in the same pan, [scraping up|lifting] the brown bits from the bottom.",
                "[In the same pan|Without washing the pan], [cook|soften] the {ing1} [gently|for a while] [while scraping|and scrape] [up|loose] the [sticky|browned] bits.",
            ),
            (
                "[Return|Put back] the meat, add the {ing2} and [enough stock|a bottle of dark ale] to cover.",
                "[Tip|Put] [everything|the browned beef] back [in|into the pan], [add|put in] the {ing2} and [pour in|add] [stock|ale] [to cover|until just covered].",
            ),
            (
                "[Cover|Put a lid on] the pot and [cook|simmer] it [slowly|gently] for [two|two and a half] hours.",
                "[With the lid on|Covered], [let the stew|leave the pot to] [cook|bubble] [very gently|slowly] for [two|three] hours, [stirring|checking] [now and then|occasionally].",
            ),
            (
                "[Check|Taste] the seasoning and serve with [mashed potatoes|bread|dumplings].",
                "[When the meat is tender|Once everything is soft], [season|taste and season] [it|the stew] and [serve|bring it to the table] with [potatoes|bread|dumplings].",
            ),
        ),
    ),
    "salad": (
        ("beetroot", "apples", "walnuts", "goat cheese", "lentils", "cucumber", "radishes", "fresh herbs"),
        (
            (
                "[Cook|Prepare] the {ing1} [until tender|as needed], then let [them|everything] cool.",
                "[First|To start], [get|make] the {ing1} ready [and leave|leaving] [it|them] to cool [completely|for {10-20} minutes].",
            ),
            (
                "[Slice|Cut] the {ing2} [thinly|into small pieces] and [toss|mix] them with a little lemon juice.",
                "[Cut|Slice] the {ing2} [finely|into thin slices] [and|, then] [sprinkle|squeeze] [some|a little] lemon juice over [them|the slices].",
            ),
            (
                "[Whisk|Mix] [three|four] spoons of oil with one spoon of vinegar, a pinch of salt and a little mustard.",
                "[For the dressing|To make the dressing], [shake|whisk] {3-4} spoons of oil, [a spoon|one spoon] of vinegar, [salt|a pinch of salt] and [mustard|half a spoon of mustard] [in a jar|together].",
            ),
            (
                "[Combine|Mix] everything in a [wide|large] bowl and [scatter|sprinkle] the {ing3} on top.",
                "[Put|Arrange] [it all|everything] in a [serving|large] bowl, [pour|spoon] [over|on] the dressing and [finish|top it] with the {ing3}.",
            ),
            (
                "Let the salad [rest|stand] for ten minutes so the flavours [come together|blend].",
                "[Wait|Give it] {5-15} minutes [before serving|at room temperature] so the [dressing|flavours] can [soak in|settle].",
            ),
        ),
    ),
    "bread": (
        (
            "oats",
            "sunflower seeds",
            "rye flour",
            "honey",
            "walnuts",
            "caraway",
            "spelt flour",
            "pumpkin seeds",
        ),
        (
            (
                "[Mix|Combine] [500|450] grams of flour with [a sachet|seven grams] of dried yeast and [a teaspoon|two teaspoons] of salt.",
                "[In a big bowl|In a large bowl], [stir together|mix] [about|around] [400|450|500] grams of flour, the yeast and [some|a little] salt.",
            ),
            (
                "[Add|Pour in] [about|around] [300|320|350] millilitres of [warm|lukewarm] water and [stir|mix] [until|till] [it forms|you have] a [rough|shaggy] dough.",
                "[Slowly|Gradually] [add|pour in] [warm|lukewarm] water, [stirring|mixing] [all the time|as you go], until [a soft dough forms|the flour comes together].",
            ),
            (
                "[Knead|Work] the dough for [ten|{8-12}] minutes on a [floured|lightly floured] [table|surface] until it is smooth.",
                "[Turn the dough out|Tip the dough out] and [knead|stretch and fold] it for {8-12} minutes, [until|by which time] it [feels|should feel] [smooth|elastic] [and springy|].",
            ),
            (
                "[Work in|Knead in] the {ing1} and the {ing2}, then [cover|leave] the bowl [and let it rise|to rise] for [an hour|{1-2} hours].",
                "[Fold|Press] the {ing1} and {ing2} into the dough, [cover it|put a cloth over it] and [wait|let it rise] [until|till] it has [doubled|grown by half].",
            ),
            (
                "[Shape|Form] a loaf, [let it rest|leave it] [another|for a further] {30-45} minutes and [slash|cut] the top with a sharp knife.",
                "[Knock back|Press down] the dough, [shape|form] it into a [round|long] loaf and [leave|let] it [rise again|prove] for {30-45} minutes.",
            ),
            (
                "Bake at [210|220|230] degrees for [about|around] [30|35|40] minutes, until the loaf sounds hollow [when tapped|underneath].",
                "[Bake|Cook] the loaf in a hot oven [for|of] [30|35|40] minutes; it is [done|ready] when [the base|the bottom] sounds hollow [when you knock on it|if tapped].",
            ),
        ),
    ),
}


def _recipe_context(rng: random.Random) -> dict[str, str]:
    kind = rng.choice(sorted(_RECIPE_KINDS))
    ings = rng.sample(_RECIPE_KINDS[kind][0], 4)
    name = (
        f"beef stew with {ings[0]} and {ings[1]}"
        if kind == "stew"
        else f"{kind} with {ings[0]} and {ings[1]}"
    )
    return {
        "kind": kind,
        "rname": name,
        "ing1": ings[0],
        "ing2": ings[1],
        "ing3": ings[2],
        "ing4": ings[3],
        "serves": rng.choice(("four", "six", "four to six", "eight")),
    }


def _recipe_genre() -> Genre:
    # The steps depend on the kind of dish, so the step section is chosen inside the context; the
    # genre itself carries every kind's steps as separate ordered sections, filtered at build time.
    return Genre(
        name="recipe",
        titles=(
            "{rname} [from {town}|the way my grandmother made it|for a cold evening]",
            "Recipe: {rname}",
            "[Simple|Easy|Homemade] {rname}",
        ),
        intro=Section(
            (
                "This {rname} is [a recipe|a dish] I [learned|picked up] from {person} in {town}, [years ago|a long time ago|last winter].",
                "[It is|This dish is] [simple|cheap|forgiving] to make and [feeds|serves] {serves} people.",
                "[In|Around] {town}, [every family|most families] [has|have] [its own|their own] version of {rname}, and [this one|mine] [uses|relies on] {ing1} and {ing2}.",
                "You [need|will need] [no special equipment|only a good pot|just a bowl and a tin], and [most of|all of] the ingredients [are easy to find|keep well in the cupboard].",
            ),
            pick=(2, 3),
        ),
        middle=(
            Section(
                (
                    "For {serves} people you will need {ing1}, {ing2}, {ing3} and {ing4}, plus [salt|the usual basics] and [pepper|a little oil].",
                    "[Buy|Choose] {ing1} that [look|feel] [fresh|firm], [because|since] they carry [most of|much of] the flavour.",
                    "[If you cannot find|Without] {ing3}, [use|try] [whatever is in season|a similar ingredient] [instead|in its place].",
                ),
                pick=(1, 2),
            ),
        ),
        outro=Section(
            (
                "[Leftovers|What is left] [keep|will keep] for [two|three] days in the fridge and [taste|are] even better [the next day|reheated].",
                "[Let me know|Tell me] [how it turned out|if you try it], and [what you changed|which version you prefer].",
                "[Enjoy|Good luck], and do not [worry|fret] if it [looks|turns out] [a little different|rustic] the first time.",
            ),
            pick=(1, 2),
        ),
        middle_pick=(1, 1),
        context=_recipe_context,
        topic=lambda ctx, rng: _steps(_RECIPE_KINDS[ctx["kind"]][1], rng),
    )


# --- how-to guides -----------------------------------------------------------------------------------
# Each step is a tuple of paraphrases, so that two guides to the same task read differently.
_HOWTO_TASKS = {
    "fix a slipping bicycle chain": (
        (
            "[Shift|Move] the chain onto the [smallest|middle] sprocket so that it [sits|runs] [straight|in line].",
            "Start by [changing gear|shifting] until the chain runs [in a straight line|as straight as possible] between the front and rear sprockets.",
        ),
        (
            "[Turn|Lift] the bike upside down or [hang it|put it] on a stand [so the wheels can turn|to work comfortably].",
            "[A repair stand helps|It helps to use a stand], but [an upturned bike|a bike resting on its saddle] works [just as well|fine] for this job.",
        ),
        (
            "[Check|Look at] the chain for [stiff links|rust|dirt] by [turning|spinning] the pedals [slowly|backwards] [a few|{3-6}] times.",
            "[Spin|Turn] the cranks backwards and [watch|follow] each link [as it passes|go past] the [derailleur|rear gear], [looking|checking] for [stiff|tight] spots.",
        ),
        (
            "[Clean|Wipe] the chain with a [rag|cloth] and a little [degreaser|soapy water], then let it dry for [about|roughly] {10-30} minutes.",
            "[Dirt|Old grease] [makes|causes] [slipping|skipping] [worse|more likely], so [scrub|brush] the links [clean|thoroughly] and [dry|wipe] them [well|off].",
        ),
        (
            "[Apply|Put] one drop of oil on each [roller|link] and wipe off the [extra|excess] after a minute.",
            "[Oil|Lubricate] the chain [sparingly|lightly]: one [small|single] drop per [roller|link] is [enough|plenty], and [extra oil|any excess] only [collects|attracts] dirt.",
        ),
        (
            "[If the chain still slips|If it keeps slipping], [measure|check] it with a chain gauge, [because|since] a worn chain [needs replacing|must be replaced].",
            "[Chains stretch|A chain wears] [with use|over time]; [after|beyond] [about|roughly] {2-5} thousand kilometres it [may|will often] need [replacing|to be replaced] [together with|along with] the [cassette|rear sprockets].",
        ),
    ),
    "repot a house plant": (
        (
            "[Water|Soak] the plant [a day|a few hours] before you [start|repot it] so the roots [slide out|come out] easily.",
            "[Give the plant a good drink|Water the plant well] [the day before|{2-6} hours before], [which|as this] [loosens|softens] the [root ball|soil].",
        ),
        (
            "[Choose|Pick] a pot [only|just] [one size|{2-4} centimetres] larger than the old one, with a drainage hole.",
            "[A new pot|The new container] should be [only slightly|a little] wider than the old one and [must|should] [have|let water out through] a hole in the bottom.",
        ),
        (
            "[Tip|Turn] the plant on its side and [ease|slide] it out, [holding|supporting] the base of the stem.",
            "[Hold|Support] the [stem|base of the plant] between your fingers, [turn|tip] the pot over and [tap|knock] the rim [gently|lightly] until the plant [comes free|slides out].",
        ),
        (
            "[Loosen|Tease apart] the outer roots with your fingers and [trim|cut off] any that are [dark|soft|dead].",
            "[Roots that circle|Roots wound] [round|around] the [pot|edge] should be [teased out|loosened], and [brown|mushy] ones [cut away|removed] with clean scissors.",
        ),
        (
            "[Put|Place] fresh compost in the new pot, set the plant [at the same depth|at its old depth] and fill the gaps.",
            "[Add|Spread] a [layer|few centimetres] of [fresh|new] compost, [stand|sit] the plant [on it|in the middle] and [press|firm] more compost [around the sides|into the gaps].",
        ),
        (
            "[Water|Give it a drink] [well|thoroughly] and keep it out of [strong|direct] sun for [a week|{5-10} days].",
            "[Finish|End] with a [thorough|generous] watering and [let the plant rest|keep the plant] in [light shade|a bright spot without direct sun] [while it settles|for the first week].",
        ),
    ),
    "descale a kettle": (
        (
            "[Fill|Half fill] the kettle with equal parts water and [white vinegar|lemon juice].",
            "[Mix|Pour in] [about|roughly] {2-5} hundred millilitres of [vinegar|citric acid solution] [with|and] the same amount of water.",
        ),
        (
            "[Bring|Boil] the mixture [to the boil|once] and [leave it|let it stand] for [an hour|{20-50} minutes].",
            "[Switch the kettle on|Heat the mixture], [then|and once it has boiled] [let it sit|leave it alone] [for a while|so the acid can work].",
        ),
        (
            "[Pour|Tip] the liquid away and [scrub|wipe] any [loose|remaining] scale with a soft brush.",
            "[Empty the kettle|Pour the solution out]; [most of|nearly all of] the [chalk|white scale] [should now|will] [come away|wipe off] [easily|with a cloth].",
        ),
        (
            "[Rinse|Fill and empty] the kettle [two or three times|several times] with clean water.",
            "[Rinse it out|Flush the kettle] with fresh water [{2-4} times|a few times] to [remove|wash out] the [vinegar|acid].",
        ),
        (
            "[Boil|Run] a [full|last] kettle of water and throw it away to [remove|get rid of] any taste.",
            "[A final boil|One more boil] of [plain|clean] water, [poured away|thrown away] [afterwards|at the end], [removes|takes away] [any|the last] [smell|taste].",
        ),
    ),
    "sharpen a kitchen knife": (
        (
            "[Soak|Wet] the whetstone in water for [ten|fifteen] minutes [if it is|when it is] a water stone.",
            "[Water stones|Most whetstones] need [a soak|soaking] [of about|for roughly] {5-15} minutes [until|so that] [no more bubbles rise|they stop bubbling].",
        ),
        (
            "[Place|Put] the stone on a damp cloth so that it does not [slide|move] [on the table|while you work].",
            "[Set|Rest] the stone on a [folded|wet] [towel|cloth] [to stop it|so that it will not] [slipping|move about].",
        ),
        (
            "[Hold|Tilt] the blade at an angle of [about|roughly] fifteen to twenty degrees against the stone.",
            "[The angle matters most|Keeping the angle steady is the hard part]: [aim for|try to hold] [about|roughly] {15-20} degrees [between blade and stone|for a kitchen knife].",
        ),
        (
            "[Draw|Push] the blade across the stone from heel to tip, [using|with] [light|even] pressure, [ten|a dozen] times.",
            "[Sweep|Slide] the edge [along|over] the stone [in one smooth stroke|in long strokes] from the heel to the tip, [about|around] {8-15} times.",
        ),
        (
            "[Turn|Flip] the knife over and [repeat|do the same] on the other side.",
            "[Then|Next], [turn the blade over|switch sides] and [give|do] the other side the same number of strokes.",
        ),
        (
            "[Finish|Complete the job] with a few [light|gentle] strokes on the fine side, then rinse and dry the blade.",
            "[A few|Some] [final|last] [light|gentle] passes on the fine grit [polish|smooth] the edge; [rinse|wash] and dry the knife [before|when] you [put it away|store it].",
        ),
    ),
    "start a compost heap": (
        (
            "[Pick|Choose] a [level|shady] spot [on bare soil|directly on the ground] so that worms can get in.",
            "[Compost heaps|A heap] [work best|does best] on [bare earth|soil] in [partial shade|a sheltered corner], where [worms|soil creatures] can [reach|move into] it.",
        ),
        (
            "[Start|Begin] with a layer of [twigs|straw] to let air [reach|flow under] the heap.",
            "[A base of|A first layer of] [coarse|woody] [stems|prunings] about {10-20} centimetres deep [keeps|lets] air [moving|in] [underneath|at the bottom].",
        ),
        (
            "[Add|Mix] green waste such as [vegetable peelings|grass cuttings] with brown waste such as [dry leaves|cardboard].",
            "[Kitchen scraps|Fruit and vegetable scraps] and [fresh|soft] [clippings|weeds] [count as|are] green; [dry leaves|shredded paper|straw] [count as|are] brown.",
        ),
        (
            "[Keep|Aim for] roughly equal amounts of green and brown material, [because|since] too much of either [slows things down|causes smells].",
            "[A heap with|Too much] [only green waste|wet green material] [turns slimy|starts to smell], while [only brown|too much dry] material [hardly rots|rots very slowly].",
        ),
        (
            "[Turn|Fork over] the heap [every few weeks|once a month] and [water|wet] it if it [looks|feels] dry.",
            "[Mixing|Turning] the heap with a fork every {2-5} weeks [adds air|lets air in], and [a can of water|a little water] [helps|is useful] in dry weather.",
        ),
        (
            "[After|In] [six months to a year|{6-12} months], the bottom [will be|turns into] dark, crumbly compost [ready for|for] the garden.",
            "[Compost is ready|The compost is finished] when it [smells|looks] [like forest soil|earthy] and [crumbles|falls apart] in your hand, usually after {6-12} months.",
        ),
    ),
    "bleed a radiator": (
        (
            "[Turn|Switch] the heating off and wait until the radiators are cool.",
            "[Switch off|Turn off] the [boiler|heating] [first|before you start] and [give|allow] the radiators [about|at least] {20-40} minutes to cool.",
        ),
        (
            "[Find|Locate] the small valve at the top corner of the radiator and [hold|place] a cloth under it.",
            "[The bleed valve|A small square valve] [sits|is found] at [one of the top corners|the top] of the radiator; [hold|keep] a [cloth|rag] and a [cup|small bowl] [ready|below it].",
        ),
        (
            "[Turn|Open] the valve [a quarter turn|slowly] with a radiator key until you hear air [hiss|escaping].",
            "[Fit|Put] the radiator key on the valve and [turn|open] it [anticlockwise|a little], [no more than|about] half a turn, [until|so that] air [starts to hiss|escapes].",
        ),
        (
            "[Close|Tighten] the valve [as soon as|when] water [starts to drip|appears].",
            "[When|Once] the hissing [stops|ends] and [a steady trickle|the first drops] of water [appear|come out], [close|shut] the valve [again|firmly].",
        ),
        (
            "[Check|Look at] the pressure gauge on the boiler and [top it up|add water] if it has [dropped|fallen].",
            "[Bleeding|Letting out air] [lowers|can lower] the [system|boiler] pressure, so [check|read] the gauge and [refill|top up] to [about|roughly] one and a half bar [if needed|when necessary].",
        ),
    ),
    "clean a cast iron pan": (
        (
            "[Let|Allow] the pan cool [a little|for a few minutes], but [clean it|wash it] while it is still warm.",
            "[Cast iron|A cast iron pan] is [easiest|simplest] to clean [warm|while still warm], [about|some] {5-15} minutes after cooking.",
        ),
        (
            "[Scrape out|Remove] [food|leftovers] with a [wooden spatula|plastic scraper] and [rinse|wash] the pan with hot water.",
            "[Use|Take] a [stiff brush|scraper] and hot water to [lift|loosen] [stuck|burnt] bits; [a little|a drop of] soap [does no harm|is fine] [now and then|occasionally].",
        ),
        (
            "[For stubborn spots|If something is stuck], [scrub|rub] with coarse salt and a few drops of oil.",
            "[A spoon of|A handful of] coarse salt [works|acts] as a [gentle|mild] [scrub|abrasive] for [stubborn|burnt-on] [spots|patches].",
        ),
        (
            "[Dry|Wipe] the pan [straight away|at once] [and|, then] [warm|heat] it on the stove for a minute to [drive off|remove] the last moisture.",
            "[Never leave|Do not leave] the pan [wet|to drip dry], [because|as] [rust|orange spots] [appear|form] [within hours|quickly]; [heat|warm] it [briefly|for a minute] [to dry it|until dry].",
        ),
        (
            "[Rub|Spread] a very thin layer of oil over the inside and wipe off [the excess|any extra] with paper.",
            "[Finish|End] by [rubbing|wiping] in [a few drops|a thin film] of [cooking|neutral] oil, [then|and] [polish|buff] it until the surface [looks|is] [dry|almost dry].",
        ),
    ),
    "patch a hole in a wall": (
        (
            "[Brush|Clean] [away|off] [loose|crumbling] plaster [around|from] the hole [with a dry brush|with an old paintbrush].",
            "[Remove|Scrape away] [any|all] loose [bits|material] [around|from the edges of] the hole so the filler [can grip|sticks].",
        ),
        (
            "[Dampen|Wet] the [edges|area] [slightly|lightly] with a [sponge|damp cloth] [so|so that] the filler does not dry too fast.",
            "[A little water|A damp sponge] on the [edges|surrounding wall] [stops|prevents] the [plaster|wall] [sucking|drawing] the moisture out of the filler.",
        ),
        (
            "[Press|Push] the filler into the hole with a [filling knife|putty knife], [slightly|a little] [proud of|above] the surface.",
            "[Load|Take] [a little|some] filler on a [flexible|putty] knife and [press|work] it [firmly|well] into the hole, [leaving it|overfilling it] [slightly|a touch] [raised|high].",
        ),
        (
            "[For|With] deep holes, [fill|build it up] in layers [of about|no thicker than] {5-10} millimetres, [letting|allowing] each dry.",
            "[Deep holes|Larger holes] need [two or three|{2-3}] [thin|separate] layers, each [left to dry|dried] [before|until] the next.",
        ),
        (
            "[When dry|Once hard], [sand|smooth] the patch flat with fine sandpaper [and|, then] [dust|wipe] it [off|clean].",
            "[After|Once] [a few hours|{2-6} hours], [rub|sand] the patch [level|smooth] with [fine|{120-240} grit] paper and [brush off|remove] the dust.",
        ),
        (
            "[Prime|Seal] the patch [before painting|first], [or|otherwise] it [may|will] show through the paint.",
            "[Paint|Finish] the [area|patch] with a coat of primer and [then|two coats of] [wall paint|emulsion] so the repair [disappears|does not show].",
        ),
    ),
}


def _howto_context(rng: random.Random) -> dict[str, str]:
    task = rng.choice(sorted(_HOWTO_TASKS))
    return {"task": task}


_HOWTO_INTROS = (
    "[Knowing how to|Learning to] {task} [saves|can save] [money|time|a trip to the shop], and it is [easier|simpler] than it [looks|sounds].",
    "[This guide|The steps below] [explain|show] how to {task} [at home|yourself] with [basic|ordinary] tools.",
    "[Set aside|Allow] [half an hour|an hour|about {15-40} minutes], and [do not rush|take your time] the first time.",
    "[My neighbour|A friend|My father], {person}, showed me how to {task} [back in|in] {year3}, and I have done it [many times|every year|regularly] since.",
    "[Last {month}|A few weeks ago|Recently] [a reader|someone at work|my sister] asked me how to {task}, so here [is|are] [my method|the steps I use].",
)
_HOWTO_TIPS = (
    "[Work|Do this] in [good light|a well-lit place] and [keep|lay out] your tools [within reach|on a cloth].",
    "[If something feels wrong|If you are unsure], [stop|pause] and [check|read] the step again [before|rather than] [forcing anything|going on].",
    "[Wear|Use] [old clothes|gloves], [because|as] the job can be [messy|dirty].",
    "[Make a note of|Write down] [the date|what you did], so you know when to [do it again|repeat the job].",
    "[Most|Nearly all] [hardware stores|shops] [sell|stock] what you need for [under|less than] {5-20} pounds.",
)
_HOWTO_OUTROS = (
    "[That is all|And that is it]: [with a little practice|after a couple of tries], the [job|whole thing] takes [only|just] a few minutes.",
    "[If you get stuck|If it does not work], [ask|visit] a [repair café|local shop|handy friend] [for help|rather than giving up].",
    "[Share|Post] your [own tips|questions] [below|in the comments], and I will [try to|do my best to] answer them.",
    "[Good luck|Have fun], and [remember|keep in mind] that [everyone|every expert] [gets it wrong|makes a mess of it] the first time.",
)


def _howto_genre() -> Genre:
    return Genre(
        name="howto",
        titles=(
            "How to {task}",
            "How to {task}: [a step-by-step guide|a simple guide|a beginner's guide]",
            "[A quick guide|Step by step]: {task}",
        ),
        intro=Section(_HOWTO_INTROS, pick=(2, 3), ordered=False),
        middle=(Section(_HOWTO_TIPS, pick=(1, 2), ordered=False),),
        outro=Section(_HOWTO_OUTROS, pick=(1, 2), ordered=False),
        middle_pick=(1, 1),
        context=_howto_context,
        topic=lambda ctx, rng: _steps(_HOWTO_TASKS[ctx["task"]], rng),
    )


# --- science explainers ------------------------------------------------------------------------------
_SCIENCE_TOPICS = {
    "why bread rises": (
        (
            "Yeast is a [tiny|single-celled] fungus that [feeds on|eats] the sugars in flour.",
            "[The key ingredient|The hero of the story] is yeast, a [microscopic|single-celled] fungus [that lives on|which feeds on] sugar.",
        ),
        (
            "[As it feeds|While it feeds], it [releases|gives off] carbon dioxide gas and a little alcohol.",
            "[Digesting|Breaking down] [that sugar|the sugar], the yeast [produces|makes] [bubbles of|small amounts of] carbon dioxide [along with|and] a trace of alcohol.",
        ),
        (
            "[Kneading|Working the dough] [builds|develops] a [stretchy|elastic] network of gluten proteins [that traps|which holds] the gas.",
            "Gluten, [a protein|the protein network] [formed|that forms] when flour [meets water|is mixed with water] and [kneaded|worked], [acts like|behaves like] [a net|a balloon] [that holds|trapping] the gas.",
        ),
        (
            "The [trapped|captured] bubbles [grow|expand], and the dough [rises|swells] [slowly|over {1-3} hours].",
            "[Little by little|Over time] the bubbles [grow|get bigger] and the dough [can double|may double] in size [in about|within] {1-3} hours.",
        ),
        (
            "In the oven the gas [expands|grows] [further|even more], the yeast dies, and the alcohol [evaporates|boils off].",
            "[Baking|The heat of the oven] [makes|lets] the gas [expand|swell] one last time [before|until] the [crumb|dough] sets and the yeast [is killed|dies].",
        ),
        (
            "[Warmth|A warm kitchen] speeds the yeast up, while cold [slows it down|makes it work more slowly], which is why some bakers [let dough rise|prove dough] overnight in the fridge.",
            "[Temperature|Warmth] [controls|sets] the pace: [at|around] {24-30} degrees the yeast works [quickly|fast], [and|while] in [a cold fridge|the fridge] [it|the dough] [rises|works] [slowly|overnight].",
        ),
    ),
    "how rainbows form": (
        (
            "A rainbow [appears|forms] when sunlight [shines|falls] on [raindrops|water droplets] [in the air|in front of you].",
            "[You need two things|Two things are needed] for a rainbow: [sunshine|sunlight] [behind you|at your back] and [falling rain|water drops] [ahead of you|in front].",
        ),
        (
            "[Sunlight|White light] is a mixture of [all|many] colours, and each colour [bends|is bent] by a slightly different amount when it enters water.",
            "[What looks white|White sunlight] [actually|in fact] [contains|holds] [every|all the] colours, and water [bends|refracts] each of them [a little differently|by its own amount].",
        ),
        (
            "Inside the drop, the light [reflects|bounces] off the back surface and [leaves|comes out] again, [spread out|split] into colours.",
            "[The light|Each ray] [enters|goes into] a drop, [reflects|bounces] off [its back|the far side] and [comes back out|exits], [now|by then] [fanned out|separated] into [a spectrum|its colours].",
        ),
        (
            "Red light [leaves|comes out] at a [slightly larger|larger] angle than violet light, so red [sits|appears] on the outside of the bow.",
            "[Because|As] red [comes out|leaves] at about {41-42} degrees and violet at about 40, red [is always|always appears] on the outer edge.",
        ),
        (
            "You [only|can only] see a rainbow with the sun behind you, [usually|most often] in the [morning|late afternoon] when the sun is low.",
            "[Rainbows are commonest|You see rainbows most often] [early or late in the day|in the morning or late afternoon], [because|since] a high sun [puts|pushes] the bow below the horizon.",
        ),
        (
            "[Sometimes|Now and then] a second, fainter bow [appears|forms] outside the first, with its colours in reverse order.",
            "[A second|A double] rainbow [comes from|is caused by] light [reflecting|bouncing] twice inside the drops, [which is why|and so] its colours [run|are] [the other way round|reversed].",
        ),
    ),
    "what causes tides": (
        (
            "Tides are [caused|raised] mainly by the pull of the Moon's gravity on the oceans.",
            "[The main cause|The chief driver] of the tides is the Moon, whose gravity [tugs|pulls] [on|at] [the oceans|the seas].",
        ),
        (
            "The side of the Earth [facing|nearest] the Moon is pulled [a little|slightly] more strongly, so the water [bulges|heaps up] there.",
            "[Water on the near side|The ocean closest to the Moon] [feels|gets] a [slightly|somewhat] stronger pull and [piles up|rises] into a [low|gentle] bulge.",
        ),
        (
            "[A second bulge|Another bulge] forms on the far side, [because|as] the Earth itself is pulled away from the water there.",
            "[Surprisingly|Oddly enough], there is also a bulge on the opposite side, [where|because there] the [pull|Moon's pull] is weakest and the water [is left behind|lags behind].",
        ),
        (
            "As the Earth turns, [most coasts|a typical coast] [pass|passes] through both bulges, [giving|which gives] two high tides [a day|roughly every day].",
            "[The Earth spins|Our planet turns] [beneath|under] the bulges, so [most|many] [beaches|harbours] [see|get] two high tides [about|roughly] every {24-25} hours.",
        ),
        (
            "The Sun [adds|has] a smaller effect; when Sun and Moon line up, the tides are [larger|higher], and these are called spring tides.",
            "[The Sun also pulls|The Sun plays a part], [though|but] [less strongly|with less than half the effect]; [at new and full moon|when the two line up] we get [the biggest|larger] spring tides.",
        ),
        (
            "The shape of the coast and the sea floor [changes|affects] [how high|how strong] the tide [gets|is] [in each place|locally].",
            "[Local geography|The shape of bays and estuaries] [matters|makes a big difference]: [some|a few] [harbours|bays] [see|have] a range of [only|just] a metre, [others|some] more than {8-12} metres.",
        ),
    ),
    "how compost turns into soil": (
        (
            "Compost is made by [bacteria|microbes], fungi and small animals that [break down|digest] dead plant material.",
            "[Countless|Billions of] [microbes|bacteria], [together with|along with] fungi and [small creatures|tiny animals], [turn|change] [dead plants|garden waste] into compost.",
        ),
        (
            "[At first|In the first weeks], bacteria [do most of the work|are most active] and the heap [warms up|gets warm] [in the middle|inside].",
            "[Early on|During the first {2-4} weeks] bacteria [dominate|are busiest], and [their activity|all that activity] [can heat|warms] the [centre|middle] of a large heap [to|above] {40-60} degrees.",
        ),
        (
            "[Fungi|Moulds] then [attack|break down] tougher material such as [woody stems|straw|cardboard].",
            "[Later|Afterwards], fungi [take over|move in] and [work on|digest] [the tougher|woody] [stuff|material] that bacteria [cannot manage|leave behind].",
        ),
        (
            "Worms and [woodlice|beetles] [chew|break] the remains into smaller pieces and mix them.",
            "[Earthworms|Worms], woodlice and [mites|beetles] [shred|chew] [what remains|the leftovers] and [carry|mix] it [through|around] the heap.",
        ),
        (
            "The heap needs air and moisture; without air, [different|other] microbes take over and the heap [starts to smell|begins to smell].",
            "[Air and water are essential|Oxygen and damp are both needed]: a [soggy|compressed] heap [without air|starved of air] [turns sour|smells bad] [because|as] [other|different] microbes [take over|win].",
        ),
        (
            "[The end result|What remains] is a dark material [rich in|full of] nutrients that [improves|feeds] the soil.",
            "[After many months|In the end] [what is left|the result] is [humus|a dark, crumbly material] that [holds water|keeps soil moist] and [feeds|nourishes] plants.",
        ),
    ),
    "how a battery stores energy": (
        (
            "A battery stores energy in chemical form and [releases|turns] it [as|into] electricity [when needed|on demand].",
            "[Think of|Picture] a battery as a [store|tank] of chemical energy that [can be turned|is converted] into electricity [whenever|as soon as] a circuit is closed.",
        ),
        (
            "Inside there are two electrodes separated by [an electrolyte|a material] that lets [charged particles|ions] move but not electrons.",
            "[Every battery has|Each cell contains] two electrodes and, [between them|in the middle], an electrolyte that [carries|lets through] ions [but blocks|while blocking] electrons.",
        ),
        (
            "When you connect a [device|lamp], electrons [flow|travel] through the wire from one electrode to the other, [doing work|powering it] on the way.",
            "[Once|When] a [torch|device] is [switched on|connected], electrons [take|follow] the [outside|external] path through the wire, [and|which is how] they [power it|do useful work].",
        ),
        (
            "[At the same time|Meanwhile], ions [move|travel] through the electrolyte inside the battery to balance the charge.",
            "[Inside the cell|Within the battery], ions [drift|move] through the electrolyte [at the same time|in step], [keeping|so that] the charges [balanced|in balance].",
        ),
        (
            "In a rechargeable battery, a charger [pushes|drives] the electrons and ions back [the other way|to where they started].",
            "[Recharging|Charging] [reverses|runs] the process [backwards|in reverse]: [the charger|a charger] [forces|pushes] [electrons and ions|the particles] back [to their starting electrode|where they came from].",
        ),
        (
            "[Heat|Very cold weather] and [many|repeated] deep discharges [slowly|gradually] wear the electrodes, so capacity [drops|falls] over the years.",
            "[No battery lasts forever|Batteries age]: [after|over] [hundreds of|{300-900}] cycles the electrodes [wear|degrade] and [the capacity|the charge they hold] [shrinks|drops].",
        ),
    ),
    "why leaves change colour": (
        (
            "Leaves are green because they [contain|are full of] chlorophyll, the pigment [plants use|that plants use] to capture light.",
            "[The green colour|Green] [comes from|is due to] chlorophyll, [a pigment|the molecule] [that|which] [catches|absorbs] sunlight [for|to power] photosynthesis.",
        ),
        (
            "[In autumn|As the days shorten], many trees stop making chlorophyll and [break it down|take it apart] to [save|recover] its nutrients.",
            "[When|Once] the nights [grow longer|get longer] [in autumn|after summer], [broad-leaved|deciduous] trees [stop|cease] [making|producing] chlorophyll and [pull|draw] its [nutrients|nitrogen] back [into the branches|into the tree].",
        ),
        (
            "[As the green fades|Once the green fades], yellow and orange pigments that were there all along [become visible|show through].",
            "[Yellow and orange|Golden] pigments [were present|had been there] [all summer|the whole time], [hidden|masked] by the green, and [now|at last] they [show|appear].",
        ),
        (
            "Some trees also [make|produce] new red pigments in autumn, [especially|most of all] after sunny days and cold nights.",
            "[Reds and purples|Red colours] [are different|are another story]: [they are|these pigments are] [made fresh|newly made] in autumn, [above all|most strongly] after [bright days|sunny days] and [frosty|chilly] nights.",
        ),
        (
            "[Finally|In the end], a layer of cells [forms|grows] at the base of each leaf stalk and the leaf [falls|drops].",
            "[At last|Eventually] a [corky|thin] layer [seals off|cuts off] the leaf stalk [from the twig|at its base], and [the leaf|it] [drops|falls] [in the next wind|with the first strong wind].",
        ),
    ),
    "how a refrigerator keeps food cold": (
        (
            "A fridge does not make cold; it [moves|pumps] heat from inside the cabinet to the room outside.",
            "[Strictly speaking|In fact], a refrigerator [is a heat pump|works as a heat pump]: it [carries|moves] warmth [out of|away from] the food [into|and releases it in] the kitchen.",
        ),
        (
            "[A special fluid|The refrigerant] [circulates|flows] through [pipes|tubes] [inside|behind] the [cabinet|fridge].",
            "[The trick|The key] is a [fluid|refrigerant] that [boils|evaporates] at a very low temperature, [flowing|circulating] through [a loop of|coiled] pipes.",
        ),
        (
            "[Inside the fridge|In the cold part], the fluid [evaporates|turns into gas] and [absorbs|soaks up] heat from the air and the food.",
            "[As it evaporates|Turning from liquid to gas] inside the cabinet, the refrigerant [takes in|absorbs] heat, [which is|and this is] [what|exactly what] [cools|chills] the [shelves|contents].",
        ),
        (
            "A [compressor|pump] then squeezes the gas, [which makes it|making it] hot.",
            "[Next|Then] the compressor, [the part that hums|usually the humming part], [squeezes|compresses] the gas and [heats it up|raises its temperature] [to|above] about {40-60} degrees.",
        ),
        (
            "[The hot gas|This hot gas] [gives off|releases] its heat through the [coils|grille] at the back and [turns|becomes] liquid again.",
            "[In the coils|Through the black grille] at the back, the [gas|refrigerant] [sheds|loses] its heat [to the room|into the kitchen] and [condenses|becomes liquid] [again|once more].",
        ),
        (
            "[That is why|This is why] the back of a fridge [feels|is] warm, and why it needs [a gap|space] [behind it|to the wall].",
            "[So|This explains why] [the back|the rear] of the fridge [is warm|feels warm], and [why|the reason] [manufacturers|makers] [ask for|recommend] [a few|{5-10}] centimetres of space [behind it|at the back].",
        ),
    ),
    "why the sea is salty": (
        (
            "[Rain|Rainwater] is [slightly|a little] acidic, so it [slowly|gradually] [dissolves|wears away] minerals from rocks.",
            "[It starts on land|The salt starts on land]: [rain|rainwater] [is|is very] [slightly|weakly] acidic and [dissolves|breaks down] rocks [over time|very slowly].",
        ),
        (
            "Rivers [carry|bring] these dissolved minerals [down|all the way] to the sea.",
            "[Streams and rivers|Rivers] [then carry|transport] the dissolved [salts|minerals] [to|into] the ocean, [year after year|every day].",
        ),
        (
            "[When|As] sea water evaporates, the water [leaves|rises as vapour] but the salt [stays behind|remains].",
            "[The sun|Sunshine] [evaporates|lifts] water [from the sea|off the ocean surface], [but|yet] the salt [cannot|does not] [evaporate|go with it] and [stays|builds up].",
        ),
        (
            "[Over|Across] millions of years, this [has made|made] the oceans [about|roughly] three and a half per cent salt.",
            "[After|Over] [millions of years|an enormous span of time] the [oceans|seas] [reached|settled at] [about|roughly] {34-36} grams of salt per litre.",
        ),
        (
            "[Most of|The main part of] the salt is sodium chloride, the same [compound|substance] as [table salt|kitchen salt].",
            "[Chemically|In chemical terms], [most|the bulk] of it is sodium chloride, [just like|the same as] the salt [on the table|in your kitchen].",
        ),
        (
            "[Vents|Hot springs] on the sea floor [also|add] [add|release] minerals [from inside the Earth|from deep below].",
            "[Undersea volcanoes|Hot vents on the ocean floor] [also|add to the supply and] [release|supply] [dissolved|extra] minerals [into the water|into the sea].",
        ),
    ),
}
_SCIENCE_INTROS = (
    "[Have you ever wondered {topic}?|Many people wonder {topic}.|Children often ask {topic}.] The [answer|explanation] is [simpler|more interesting] than [you might think|it seems].",
    "[In this short explainer|Here] we look at {topic}, [step by step|in plain words], [without|with hardly any] [jargon|technical terms].",
    "[Our reader|A reader], {person}, [wrote in to ask|asked us] {topic}, [so|and] we [looked into it|decided to explain].",
    "[It is|This is] [one of those|a] [questions|things] [everyone|most of us] [learned|heard about] at school and [then|later] forgot, so [here is|let us have] a [short|quick] [reminder|refresher].",
)
_SCIENCE_OUTROS = (
    "[Next time you|When you next] [notice|see] [this|it], you will know [what is going on|the reason].",
    "[If you want to|To] [learn more|go further], [your local library|a good introductory book] [is|will be] a [good|fine] [place to start|start].",
    "[Send us|Write to us with] your [questions|own questions], and we may [answer|explain] [them|one] in [a future|the next] [article|issue].",
    "[Science|Everyday science] [is full of|hides] [small|little] [wonders|surprises] like this one, [if you|once you] [stop to look|start asking why].",
)


_SCIENCE_ASIDES = (
    "[Scientists|Researchers] [first described|worked out] [the details|much of this] [long ago|more than a century ago], [but|yet] [the idea|the principle] [still|continues to] [surprises|puzzles] [many people|students] [today|every year].",
    "[A simple|An easy] [experiment|test] at home [shows|makes clear] [the effect|what happens]: [ask|get] [a child|a friend] to [watch|record] [it|the change] [every day|for a week] and [note|write down] [what they see|the results].",
    "[Teachers|Museum guides] [often|like to] [use|choose] [this topic|this example] [to introduce|when explaining] [science|the scientific method], [because|since] [everyone|every pupil] has [seen|noticed] it [at some point|before].",
    "[It helps|It is worth remembering] that [nature|the real world] is [messier|more complicated] than [any|a short] explanation, [so|and] [exceptions|odd cases] [are common|do happen].",
    "[{person}|A retired teacher], [who|a reader who] [lives in|comes from] {town}, [told us|mentioned] that [this|the question] [came up|was asked] [at a family dinner|on a walk] [last {month}|this {month}].",
)


def _science_context(rng: random.Random) -> dict[str, str]:
    return {"topic": rng.choice(sorted(_SCIENCE_TOPICS))}


# --- diary / blog ------------------------------------------------------------------------------------
_DIARY = Genre(
    name="diary",
    titles=(
        "[Notes|A diary] from the allotment, {month}",
        "[What I learned|Lessons] from a [month|year] of [running|cycling|gardening]",
        "[Small|Slow] [changes|habits] that [helped|worked for] me this {month}",
        "[My|This] {month} [in review|looking back]",
    ),
    intro=Section(
        (
            "This {month} [was|turned out to be] [busy|strange|quieter than usual], [so|and] I [kept|wrote] [short|daily] notes.",
            "I [started|began] [running|gardening|cycling] [again|seriously] [in|last] {month}, [mostly|partly] to [get out of the house|clear my head].",
            "[Every|Each] {weekday} I [walk|cycle] [down to|along] {river} [before work|after breakfast], and [the routine|it] has [changed|shaped] my week.",
            "[A friend|My brother|A colleague] [suggested|talked me into] [keeping|writing] a [diary|monthly post] [back in|in] {year3}, and [somehow|to my surprise] I [have kept it up|still do].",
            "[It has been|This was] a [month|few weeks] of [small|modest] [wins|steps] and [a few|some] [setbacks|disappointments].",
        ),
        pick=(2, 3),
        ordered=False,
    ),
    middle=(
        Section(
            (
                "[The first weeks|At first], [it was hard|I struggled] to [keep going|stick with it], [especially|above all] on [dark|wet] mornings.",
                "[What helped|The thing that helped] [most|was] [was|] [going with|meeting] {person}, who [never|rarely] [cancelled|missed a day].",
                "I [also|soon] [learned|found] that [short|small] [sessions|steps] [work better|are easier] [than|compared with] [ambitious|big] plans.",
                "[By the end of|After] the month, I [could|was able to] [run|walk|cycle] {3-12} kilometres [without stopping|comfortably].",
                "[One|A] [bad|rainy] {weekday} I [almost|nearly] [gave up|stayed in bed], [but|yet] [went anyway|forced myself out] and [felt|was] [much better|glad] [afterwards|later].",
                "[My|The] [old|cheap] [shoes|bike|boots] [finally|at last] [wore out|fell apart], [so|and] I [bought|found] [a second-hand pair|a replacement] for {10-40} pounds.",
            ),
            pick=(2, 3),
            ordered=False,
        ),
        Section(
            (
                "[On the allotment|In the garden], the {veg} [did well|grew better than expected], but the slugs [ate|found] [most of|half of] the lettuce.",
                "[The weather|{weather}] [made|kept] [everything|the soil] [wet|damp] for [days|weeks], [so|and] I [spent|used] the time [planning|reading].",
                "[I swapped|We exchanged] [seeds|seedlings] with [a neighbour|the plot next door], [which|and this] [saved|spared] me [money|a trip to town].",
                "[In|By] the [second|third] week [I had|there were] [more|too many] {veg} than [we could eat|I knew what to do with], [so|and] [I gave some away|the neighbours got some].",
                "[The compost|My compost heap] [finally|at last] [looks|smells] like [soil|proper compost] after {6-11} months of [waiting|patience].",
            ),
            pick=(1, 3),
            ordered=False,
        ),
        Section(
            (
                "[I also read|Between times I read] [two|three|a couple of] [books|novels] [from|borrowed from] {building}, [which|and that] [was|felt like] a [treat|luxury].",
                "[Cooking|Baking] [became|turned into] [a small ritual|my {weekday} habit]: [this month|lately] [mostly|often] {dish}.",
                "[We|I] [visited|went to see] [friends|family] in {town2}, [a trip|a journey] of [about|roughly] {mins} minutes by [train|bus].",
            ),
            pick=(1, 2),
            ordered=False,
        ),
    ),
    outro=Section(
        (
            "[Next month|In the coming weeks] I [want|hope] to [keep it up|go a little further|try something new].",
            "If you are [thinking of|considering] [starting|trying] something similar, [just begin|start small] and [be patient|do not give up].",
            "[Thanks for reading|Thank you for reading], and [see you|talk to you] [next time|soon].",
        ),
        pick=(1, 2),
    ),
)

GENRES: dict[str, Genre] = {
    "travel": _TRAVEL,
    "history": _HISTORY,
    "news": _NEWS,
    "review": _REVIEW,
    "recipe": _recipe_genre(),
    "howto": _howto_genre(),
    "science": Genre(
        name="science",
        titles=(
            "{topic}, [explained|in plain words|made simple]",
            "[Explainer|Science for everyone]: {topic}",
            "[The science of|Understanding] {topic}",
        ),
        intro=Section(_SCIENCE_INTROS, pick=(1, 2), ordered=False),
        middle=(Section(_SCIENCE_ASIDES, pick=(1, 2), ordered=False),),
        outro=Section(_SCIENCE_OUTROS, pick=(1, 2), ordered=False),
        middle_pick=(0, 1),
        context=_science_context,
        topic=lambda ctx, rng: Section(_SCIENCE_TOPICS[ctx["topic"]], pick=(5, 6), ordered=True),
    ),
    "diary": _DIARY,
}

# --- furniture for the clean stage and for bad pages ------------------------------------------------
# Lines a boilerplate remover should drop: navigation, cookie banners, newsletter boxes, footers.
BOILERPLATE = {
    "nav": (
        "Home | News | Sport | What's On | Contact",
        "Skip to content",
        "Menu Search Sign in",
        "Home > Travel > Europe",
        "Share this article: Facebook Twitter Email",
    ),
    "cookie": (
        "We use cookies to improve your experience. Accept all cookies",
        "This website uses cookies. By continuing to browse, you agree to our cookie policy.",
        "Cookie settings | Accept | Reject",
    ),
    "newsletter": (
        "Subscribe to our newsletter and never miss a story!",
        "Sign up for our weekly newsletter.",
        "Enter your email address to subscribe.",
    ),
    "footer": (
        "© {year3} {town} {paper}. All rights reserved.",
        "Privacy Policy | Terms of Use | Contact us",
        "Read more",
        "Related articles",
        "Comments are closed.",
        "Posted in Uncategorized",
    ),
}

# Sentences carrying made-up personal data for the PII masker: {email}, {phone}, {ip}, {card}.
PII = (
    "For bookings, write to {email} or call {phone}.",
    "Questions about the event can be sent to {email}.",
    "You can reach {person} on {phone} during office hours.",
    "Readers who want the full report can email {email}.",
    "The old web server at {ip} was switched off last week, so please update your bookmarks.",
    "If the page does not load, the shop says to try the mirror at {ip} instead.",
    "Please never send card numbers such as {card} by email, the shop warns.",
)
EMAIL_NAMES = tuple(n.lower() for n in _FIRST + _LAST)
PHONES = ("+1 555-01{10-99}", "(555) 01{10-99}-{1000-9999}", "+44 20 7946 0{100-999}", "555-01{10-99}")

SPAM_WORDS = (
    "cheap",
    "best price",
    "free shipping",
    "discount",
    "buy online",
    "top deals",
    "sale",
    "lowest price",
    "best {category}",
    "cheap {category}",
    "{category} online",
    "{category} deals",
    "casino bonus",
    "win money",
    "fast loans",
    "weight loss",
)
SPAM_LINES = (
    "BUY NOW!!! Limited offer, only today!",
    "CLICK HERE for the best {category} deals!!!",
    "Cheap {category} cheap {category} cheap {category} best price!",
    "Free shipping on all orders, BUY NOW!",
    "Win a free {category} now, click here!!!",
    "Hot deals, hot deals, hot deals!",
)
SPAM_CATEGORIES = ("watches", "phones", "shoes", "sunglasses", "handbags", "pills", "loans", "headphones")
LIST_ITEMS = (
    "Size: {count}",
    "Colour: blue",
    "In stock",
    "Add to cart",
    "Price: {price}.99",
    "Free delivery",
    "Item no. {1000-9999}",
    "Rating: {stars} stars",
    "Share",
    "Tags: news, local",
    "Opening hours",
    "Mon-Fri 9-17",
    "Sat 10-14",
    "Category: Home",
    "Back to top",
    "Next page",
)
SHORT = (
    "{town} council meets on {weekday}. Agenda to follow.",
    "Photos from the {month} market in {town}.",
    "Closed for holidays until the end of {month}. Thank you!",
    "Page under construction. Please come back soon.",
    "New opening hours from {month}: Monday to Saturday, nine to five.",
)
