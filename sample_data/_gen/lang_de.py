"""Deutsche Textbausteine: erfundene Orte, Menschen und Produkte, fünf Arten von Seiten.

Alle Sätze wurden für die Beispieldaten von curate geschrieben. Orte, Personen, Marken und
Ereignisse sind erfunden.
"""

from __future__ import annotations

import random

from .engine import Genre, Section, names

CODE = "de"
JOIN = " "

_TOWN_HEAD = names(
    "Eichen Linden Birken Tannen Erlen Weiden Buchen Hasel Rosen Stein Kalk Sand Mühl Brunn Wald "
    "Hohen Nieder Ober Alten Kirch Wies Roth Weiß Schön Grün Kalten Lerchen Falken Otter Finken"
)
_TOWN_TAIL = names("bach dorf feld berg hausen heim stein brück au tal burg furt rode hagen")
_RIVER = names("Wenne Orla Ilme Lohne Sulme Bröse Querne Fulde Tanne Wipper Lauche Selke Hunte Milse")
_FIRST = names(
    "Anna Jonas Lena Paul Marie Felix Sophie Lukas Hanna Max Clara Tim Greta Jan Ida Moritz Frieda "
    "Karl Ute Jürgen Sabine Heike Uwe Petra Dieter Monika Stefan Katrin"
)
_LAST = names(
    "Becker Schulz Hoffmann Wagner Krüger Lehmann Köhler Brandt Vogel Sauer Engel Kuhn Haas Lorenz "
    "Brenner Seidel Winkler Ziegler Kaiser Busch Roth Sommer Graf Pohl Franke Dietrich Wolff Berger"
)
# (Nominativ, Dativ, Akkusativ)
_SIGHTS = (
    ("die alte Wassermühle", "der alten Wassermühle", "die alte Wassermühle"),
    ("der Uhrturm", "dem Uhrturm", "den Uhrturm"),
    ("die Markthalle", "der Markthalle", "die Markthalle"),
    ("die Kirche St. Aldrich", "der Kirche St. Aldrich", "die Kirche St. Aldrich"),
    ("die steinerne Brücke", "der steinernen Brücke", "die steinerne Brücke"),
    ("der Zehntspeicher", "dem Zehntspeicher", "den Zehntspeicher"),
    ("das Heimatmuseum", "dem Heimatmuseum", "das Heimatmuseum"),
    ("die Klosterruine", "der Klosterruine", "die Klosterruine"),
    ("das alte Rathaus", "dem alten Rathaus", "das alte Rathaus"),
    ("der Schlossgarten", "dem Schlossgarten", "den Schlossgarten"),
    ("die Lateinschule", "der Lateinschule", "die Lateinschule"),
    ("das Stellwerk", "dem Stellwerk", "das Stellwerk"),
    ("die Windmühle auf dem Hügel", "der Windmühle auf dem Hügel", "die Windmühle auf dem Hügel"),
    ("der Brauereihof", "dem Brauereihof", "den Brauereihof"),
)
_TRADES = names("Wolle Salz Leder Tuch Holz Flachs Bier Ton Glas Hopfen Käse Schiefer")
_DISHES = (
    "Forellenauflauf",
    "Linsensuppe mit Speck",
    "Apfelkuchen mit Walnüssen",
    "Kartoffelpuffer mit Apfelmus",
    "Zwiebelkuchen",
    "Pilzragout mit Knödeln",
    "Graupensuppe",
    "Pflaumenkuchen",
    "Käsespätzle",
    "Rinderschmorbraten",
)
_MONTHS = names("Januar Februar März April Mai Juni Juli August September Oktober November Dezember")
_WEEKDAYS = names("Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag")


def town(rng: random.Random) -> str:
    return rng.choice(_TOWN_HEAD) + rng.choice(_TOWN_TAIL)


def context(rng: random.Random) -> dict[str, str]:
    s1, s2, s3 = rng.sample(_SIGHTS, 3)
    d1, d2 = rng.sample(_DISHES, 2)
    return {
        "town": town(rng),
        "town2": town(rng),
        "river": rng.choice(_RIVER),
        "person": f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
        "person2": f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
        "founded": str(rng.randint(1080, 1690)),
        "year": str(year := rng.randint(1780, 1899)),
        "year_rail": str(min(year + rng.randint(8, 40), 1899)),  # after the disaster of {year}
        "year2": str(rng.randint(1900, 1975)),
        "year3": str(rng.randint(1976, 2019)),
        "sight": s1[0],
        "sight_dat": s1[1],
        "sight_acc": s1[2],
        "sight2": s2[0],
        "sight2_dat": s2[1],
        "sight2_acc": s2[2],
        "sight3_dat": s3[1],
        "trade": rng.choice(_TRADES),
        "dish": d1,
        "dish2": d2,
        "month": rng.choice(_MONTHS),
        "weekday": rng.choice(_WEEKDAYS),
        "mins": str(rng.randint(10, 45)),
        "price": str(rng.randint(4, 19)),
        "paper": rng.choice(("Bote", "Kurier", "Anzeiger", "Tageblatt", "Rundschau")),
    }


POOLS: dict[str, tuple[str, ...]] = {
    "wetter": (
        "bei Nieselregen",
        "bei strahlendem Sonnenschein",
        "bei kaltem Wind",
        "bei dichtem Nebel",
        "bei mildem Wetter",
    ),
    "laden": (
        "eine Bäckerei",
        "einen Buchladen",
        "ein Eisenwarengeschäft",
        "ein kleines Café",
        "einen Blumenstand",
    ),
    "essen": (
        "frisches Brot",
        "Käse aus der Gegend",
        "geräucherten Fisch",
        "Honig",
        "Apfelsaft",
        "Bauernwurst",
    ),
    "zahl": ("zwei", "drei", "vier", "fünf", "sechs"),
    "verein": (
        "der Gemeinderat",
        "der Heimatverein",
        "eine Gruppe von Ehrenamtlichen",
        "der Ortsbeirat",
        "der Bürgerverein",
    ),
    "gebaeude": ("der Bücherei", "dem Schwimmbad", "dem Gemeindehaus", "der Grundschule", "dem Sportplatz"),
}

_TRAVEL = Genre(
    name="travel",
    titles=(
        "[Zwei|Drei|Ein paar] Tage in {town}",
        "Ein [Wochenende|Kurzurlaub] in {town}",
        "Reisenotizen: {town} an der {river}",
        "{town} zu Fuß: [Eindrücke|Notizen] von einer [kurzen|verregneten|sonnigen] Reise",
    ),
    intro=Section(
        (
            "Schon [lange|seit Jahren] wollte ich nach {town} fahren, und in diesem {month} hat es [endlich|tatsächlich] geklappt.",
            "{town} ist ein [kleines|überschaubares|ruhiges] Städtchen an der {river}, [etwa|ungefähr] {mins} Minuten von {town2} entfernt.",
            "[Die meisten|Viele] [Reisenden|Besucher] fahren [einfach|leider] durch {town} hindurch, und das ist [schade|ein Fehler].",
            "Wir kamen {wetter} an, [müde|hungrig|etwas verloren], aber [neugierig|gut gelaunt].",
            "[Hier|Im Folgenden] [ist|steht] ein [kurzer|persönlicher] Bericht von [unserem|meinem] Besuch, mit [ein paar|einigen] Tipps für alle, die [Ähnliches|dasselbe] vorhaben.",
        ),
        pick=(2, 3),
    ),
    middle=(
        Section(
            (
                "Die Anreise ist [einfach|unkompliziert]: Der Regionalzug hält [jede Stunde|zweimal pro Stunde] [am Bahnhof|in der Nähe des Marktplatzes].",
                "Vom Bahnhof sind es [nur|etwa] [zehn|fünfzehn] Minuten [zu Fuß|Fußweg] bis [in die Altstadt|zum Marktplatz], [vorbei an|entlang] [alten Lagerhäusern|kleinen Gärten].",
                "Wer mit dem Auto kommt, sollte [am Stadtrand|hinter der Kirche|an der {river}] parken, denn die [Gassen|Straßen] [in der Altstadt|im alten Ortskern] sind [eng|steil|schmal].",
                "Die Fahrkarte von {town2} kostete [etwa|rund] {price} Euro, und unterwegs [hatten wir|gab es] einen [schönen|weiten] Blick über das Tal.",
            ),
            pick=(1, 3),
        ),
        Section(
            (
                "Die [wichtigste|schönste] Sehenswürdigkeit ist [wohl|sicher] {sight}, [das Wahrzeichen|der Stolz] der Stadt.",
                "[Auf keinen Fall sollte man sich|Man sollte sich keinesfalls] {sight2_acc} entgehen lassen; die [Ehrenamtlichen|Führer] dort erzählen [mit viel Begeisterung|sehr anschaulich] aus der Geschichte.",
                "Ein [Fußweg|Uferweg] führt von {sight_dat} [an der {river} entlang|am Wasser entlang] bis zu {sight3_dat}, [etwa|ungefähr] {zahl} Kilometer weit.",
                "Der Eintritt [ist frei|kostet nur wenige Euro], und am {weekday} ist es [dort|meistens] [sehr ruhig|angenehm leer].",
                "In den Seitenstraßen findet man {laden}, {laden} und [einige|mehrere] [Fachwerkhäuser|alte Bürgerhäuser] mit [geschnitzten Türen|schönen Giebeln].",
                "Vom [Turm|Hügel] aus sieht man [die ganze Stadt|die Dächer der Altstadt] und bei klarem Wetter [die Berge im Süden|das ganze Tal].",
            ),
            pick=(2, 4),
        ),
        Section(
            (
                "Zum [Mittagessen|Abendessen] [sollte man|empfehle ich] {dish} [probieren|bestellen], eine [regionale|traditionelle] Spezialität.",
                "Wir aßen in einem [kleinen|familiengeführten] Gasthaus [an der {river}|am Marktplatz], wo es {dish2} gab, und das Personal war [sehr freundlich|herzlich].",
                "Auf dem [Wochenmarkt|Samstagsmarkt] gibt es {essen}, {essen} und Obst aus dem Tal.",
                "Die Preise sind [fair|angemessen]: Ein [Hauptgericht|warmes Essen] kostet [etwa|rund] {price} Euro.",
            ),
            pick=(2, 3),
        ),
        Section(
            (
                "Wir übernachteten in einer [kleinen Pension|Ferienwohnung] in der Altstadt; {person} [führt|betreibt] sie [seit Jahren|mit viel Liebe] und [weiß alles über die Stadt|kann stundenlang erzählen].",
                "Im {month} sind die Zimmer [knapp|schnell ausgebucht], also [sollte man früh buchen|lieber rechtzeitig reservieren].",
                "Das Zimmer war [einfach, aber sauber|klein, aber gemütlich], und zum Frühstück gab es [Eier vom Hof|selbst gemachte Marmelade].",
            ),
            pick=(1, 2),
        ),
        Section(
            (
                "Ein [kleiner Tipp|Hinweis]: [Viele Geschäfte|Einige Cafés] schließen am {weekday} [schon früh|über Mittag].",
                "[Gute Schuhe und eine Regenjacke|Feste Schuhe und ein Schirm] gehören [ins Gepäck|in den Rucksack], denn die [Wege|Pfade] [rund um|bei] {town} sind [uneben|oft rutschig].",
                "Die Touristeninformation [verleiht|verteilt] [kostenlose Karten|Wanderkarten] und hilft [gern|gerne] bei [Busverbindungen|Öffnungszeiten].",
                "Wer einen Tag [mehr|länger] Zeit hat, [sollte|kann] [mit dem Rad|zu Fuß] ins [Nachbartal|Umland] fahren und an der {river} zurückkehren.",
            ),
            pick=(1, 3),
        ),
    ),
    outro=Section(
        (
            "[Alles in allem|Insgesamt] war {town} eine [angenehme Überraschung|Reise wert].",
            "Ich würde [gern|jederzeit] wiederkommen, [vielleicht|am liebsten] im [Frühling|Herbst], wenn weniger Besucher da sind.",
            "[Für einen ruhigen|Für ein entspanntes] Wochenende ist {town} [genau richtig|ideal], [auch wenn|obwohl] es kein Ort für [Nachtleben|Einkaufsbummel] ist.",
        ),
        pick=(1, 2),
    ),
)

_HISTORY = Genre(
    name="history",
    titles=(
        "Eine kurze Geschichte von {town}",
        "Wie {town} [zur Stadt wurde|entstand]",
        "{town} [im Wandel der Zeit|von {founded} bis heute]",
    ),
    intro=Section(
        (
            "{town} wird [zum ersten Mal|erstmals] in einer [Urkunde|Schenkungsurkunde|Chronik] [aus dem Jahr|von] {founded} erwähnt, als es [kaum mehr als|nur] ein [Weiler|paar Höfe] an der {river} war.",
            "[Nur wenige|Kaum andere] [Städte|Orte] [dieser Größe|vergleichbarer Größe] [haben eine so wechselvolle Geschichte wie {town}|können auf eine so lange Geschichte zurückblicken wie {town}].",
            "Der Name {town} geht [vermutlich|wahrscheinlich] auf [ein altes Wort|eine alte Bezeichnung] für eine [Furt|Lichtung|Wiese] am Wasser zurück.",
            "[Historiker|Ortschronisten] [nehmen an|vermuten], dass die ersten [Siedler|Bauern] [lange|schon lange] vor {founded} an die {river} kamen.",
        ),
        pick=(2, 3),
    ),
    middle=(
        Section(
            (
                "[Im Mittelalter|In früheren Jahrhunderten] lebte [die Stadt|der Ort] [vor allem|hauptsächlich] vom Handel mit {trade}, der [auf|über] der {river} [zu größeren Märkten|bis an die Küste] gebracht wurde.",
                "[Bald darauf|Im folgenden Jahrhundert] erhielt {town} das Marktrecht, und [kurz danach|wenig später] entstand {sight}.",
                "Kaufleute aus {town2} ließen sich [an der Brücke|am Markt] nieder, und [einige|manche] ihrer Keller sind [bis heute erhalten|noch heute zu sehen].",
                "Das Kloster besaß [einen Großteil|den größten Teil] des Landes und [betrieb|bewirtschaftete] die Mühlen und Fischteiche.",
            ),
            pick=(2, 3),
        ),
        Section(
            (
                "Im Jahr {year} [zerstörte|vernichtete] ein [großer Brand|schweres Hochwasser] [Dutzende|viele] Häuser an der {river}.",
                "Der Wiederaufbau dauerte [Jahre|Jahrzehnte], und [viele|die meisten] Fachwerkhäuser wurden [durch Steinbauten ersetzt|in Stein neu errichtet].",
                (
                    "Nach dem [Brand|Unglück] ließ der Rat die Hauptstraße [verbreitern|begradigen] und eine [zweite|neue] Brücke bauen.",
                    "[Um eine Wiederholung zu vermeiden|Aus dem Unglück lernend], [ordnete der Rat|beschlossen die Stadtväter] [breitere Straßen|eine breitere Hauptstraße] und eine [weitere|zusätzliche] Brücke [an|über die {river}].",
                ),
                "[Briefe|Chroniken|Tagebücher] aus [jener Zeit|den Jahren danach] [berichten|erzählen] von Familien, die [monatelang|wochenlang] in {sight3_dat} [wohnten|unterkamen].",
            ),
            pick=(1, 3),
        ),
        Section(
            (
                "Im Jahr {year_rail} erreichte die Eisenbahn {town}, und innerhalb [einer Generation|weniger Jahrzehnte] [verdoppelte sich die Einwohnerzahl fast|wuchs die Einwohnerzahl deutlich].",
                "[Neben dem Bahnhof|Am Güterbahnhof] entstanden [kleine Fabriken|Werkstätten], die {trade} verarbeiteten und [Hunderten|vielen Familien] Arbeit gaben.",
                "Für die Arbeiter wurden [Reihenhäuser|Backsteinhäuser] [südlich des Flusses|auf den alten Feldern] gebaut, [bald|später] folgten eine [Schule|Lesehalle] und eine [Kapelle|Badeanstalt].",
                "Nicht alle [begrüßten|mochten] die Veränderungen: In der Zeitung [klagten|beschwerten sich] Leser über [Rauch|Ruß], [Lärm|Krach] und [Fremde|Zugezogene].",
            ),
            pick=(2, 3),
        ),
        Section(
            (
                "Bis {year2} hatten [die meisten alten Handwerksbetriebe|viele Werkstätten] geschlossen, und {town} setzte [stärker|mehr] auf [Landwirtschaft|Tourismus].",
                "{sight2} wurde {year2} [vor dem Abriss bewahrt|gerettet], [vor allem dank|mit Hilfe von] {person}.",
                "Die Nebenbahn wurde {year2} stillgelegt, [doch|aber] ein Bus verbindet die Stadt [bis heute|noch immer] mit {town2}.",
            ),
            pick=(1, 2),
        ),
    ),
    outro=Section(
        (
            "Heute hat {town} [etwa|rund] {zahl}tausend Einwohner, und [die Geschichte|die Vergangenheit] ist in den [Gassen|Straßen] der Altstadt [noch gut|überall] [zu sehen|zu spüren].",
            "{verein} [sammelt|bewahrt] alte Fotografien und [gibt|bringt] [jedes Jahr|regelmäßig] ein [kleines|dünnes] Heft [heraus|zur Ortsgeschichte heraus].",
            "Vieles ist noch [unbekannt|ungeklärt], und [neue Funde|Entdeckungen] in Kellern und Gärten [ergänzen|bereichern] die Geschichte [immer wieder|bis heute].",
        ),
        pick=(1, 2),
    ),
    ordered_middle=True,  # history runs forward in time
)

_NEWS = Genre(
    name="news",
    titles=(
        "{town}: [Gemeinderat beschließt|Pläne für|Bauarbeiten beginnen für] {projekt}",
        "[Anwohner|Bürger] in {town} [diskutieren über|begrüßen] {projekt}",
        "{fest} in {town} [lockt|zieht] [viele|zahlreiche] Besucher an",
    ),
    intro=Section(
        (
            "Der Gemeinderat von {town} hat am {weekday} [beschlossen|entschieden], {projekt} [in Angriff zu nehmen|umzusetzen].",
            "Die Arbeiten [sollen|werden] im {month} beginnen, sagte {person} vom Bauausschuss.",
            "[Mehr als|Über|Fast] {zahl}hundert Menschen kamen am {weekday} zum {fest}.",
            "Die Pläne für {projekt} [sorgen|sorgten] in {town} für [Diskussionen|geteilte Meinungen].",
        ),
        pick=(2, 3),
    ),
    middle=(
        Section(
            (
                "Das Vorhaben soll [etwa|rund] {zahl}hunderttausend Euro kosten und wird [zum Teil|größtenteils] aus [Fördermitteln|Spenden] bezahlt.",
                "{person} sagte, die Stadt habe [seit Jahren|lange] auf [diese Entscheidung|eine solche Lösung] gewartet.",
                "[Kritiker|Einige Anwohner] befürchten [mehr Verkehr|mehr Lärm|Parkprobleme] in der Nähe von {gebaeude}.",
                "Eine [Bürgerversammlung|Informationsveranstaltung] findet am {weekday} in {gebaeude} statt, und alle Interessierten sind [eingeladen|willkommen].",
                "Die Entwürfe [hängen|bleiben] bis Ende {month} im Eingang von {gebaeude} aus.",
            ),
            pick=(2, 3),
        ),
        Section(
            (
                "Die [Veranstalter|Helfer] berichteten, dass das Wetter [mitgespielt habe|gehalten habe] und die Stände [schon am Nachmittag|vor vier Uhr] ausverkauft [gewesen seien|waren].",
                "Die Kinder [freuten sich über|drängten sich um] [ein Puppentheater|eine Blaskapelle|Ponyreiten] [neben|vor] {sight_dat}.",
                "{person2} vom Organisationsteam dankte allen [Helferinnen und Helfern|Ehrenamtlichen].",
                "Der Erlös geht an [die Jugendgruppe|die Tafel|den Kindergarten].",
            ),
            pick=(1, 3),
        ),
        Section(
            (
                "Während der Arbeiten [wird|bleibt] die Straße bei {sight_dat} [für einige Wochen|vorübergehend] gesperrt.",
                "Autofahrer werden gebeten, die [ausgeschilderte|markierte] Umleitung über {town2} zu nutzen.",
                "Der Bus hält [in dieser Zeit|bis zum Ende der Arbeiten] an einer [provisorischen|neuen] Haltestelle gegenüber {gebaeude}.",
            ),
            pick=(1, 2),
        ),
    ),
    outro=Section(
        (
            "Die nächste Sitzung [ist|wird] für {month} geplant.",
            "Fragen und Anregungen können [über die Website der Stadt|schriftlich] an die Verwaltung gerichtet werden.",
            "Wir [berichten weiter|bleiben dran], sobald es Neuigkeiten gibt.",
        ),
        pick=(1, 2),
    ),
    context=lambda rng: {
        "projekt": rng.choice(
            (
                "eine Fußgängerbrücke über die {river}",
                "einen neuen Radweg",
                "einen Skatepark",
                "den Anbau an die Bücherei",
                "eine Streuobstwiese",
                "die Sanierung des Markthallendachs",
                "einen neuen Parkplatz",
                "Solaranlagen auf der Schule",
            )
        ),
        "fest": rng.choice(
            ("Frühlingsmarkt", "Erntefest", "Entenrennen", "Büchermarkt", "Sommerfest", "Käsemarkt")
        ),
    },
)

_PRODUCTS = {
    "Wasserkocher": (
        "sich der Deckel mit einem Finger öffnen lässt",
        "die Wasserstandsanzeige gut ablesbar ist",
        "ein Liter Wasser in gut drei Minuten kocht",
        "der Sockel nicht heiß wird",
    ),
    "Rucksack": (
        "die Träger gut gepolstert sind",
        "es ein eigenes Fach für den Laptop gibt",
        "der Stoff einen langen Regenschauer überstanden hat",
        "die Reißverschlüsse nie geklemmt haben",
    ),
    "Staubsauger": (
        "er auch Tierhaare vom Teppich zuverlässig aufnimmt",
        "der Behälter sich mit einem Griff leeren lässt",
        "er deutlich leiser ist als mein altes Gerät",
        "der Akku für die ganze Wohnung reicht",
    ),
    "Kopfhörer": (
        "der Akku eine ganze Woche Pendeln durchhält",
        "die Polster auch nach Stunden bequem sind",
        "der Klang auch bei geringer Lautstärke klar ist",
        "er sich flach zusammenklappen lässt",
    ),
    "Akkuschrauber": (
        "er gut in der Hand liegt",
        "der Akku in einer Stunde wieder voll ist",
        "das Drehmoment sich fein einstellen lässt",
        "die eingebaute Lampe die Schraube gut ausleuchtet",
    ),
    "Mixer": (
        "er Eis ohne Mühe zerkleinert",
        "sich der Behälter schnell reinigen lässt",
        "der Motor leiser ist als erwartet",
        "die Tasten klar beschriftet sind",
    ),
}
_BRANDS = names("Norvane Kelto Brisa Altair Huxley Mondo Tamsin Orbel Quillon Vardo")


def _review_context(rng: random.Random) -> dict[str, str]:
    cat = rng.choice(sorted(_PRODUCTS))
    f1, f2, f3 = rng.sample(_PRODUCTS[cat], 3)
    return {
        "kategorie": cat,
        "produkt": f"{rng.choice(_BRANDS)} {rng.choice(('One', 'Lite', 'Pro', 'Home', 'Go'))} {rng.randint(2, 9)}",
        "f1": f1,
        "f2": f2,
        "f3": f3,
        "preis": str(rng.randint(19, 149)),
        "sterne": rng.choice(("drei", "vier", "vier", "fünf")),
        "dauer": rng.choice(
            ("zwei Wochen", "einem Monat", "sechs Wochen", "drei Monaten", "einem halben Jahr")
        ),
    }


_REVIEW = Genre(
    name="review",
    titles=(
        "Test: {produkt} ({kategorie})",
        "{produkt} im Test: [ein guter|ein solider] {kategorie} [für den Preis|mit einer Schwäche]",
        "Erfahrungsbericht nach {dauer}: {produkt}",
    ),
    intro=Section(
        (
            "Ich habe den {produkt} vor {dauer} gekauft, nachdem mein alter {kategorie} [den Geist aufgegeben hatte|kaputtgegangen war].",
            "Der {produkt} kostet [etwa|rund] {preis} Euro und liegt damit [im Mittelfeld|im üblichen Rahmen] [seiner Klasse|vergleichbarer Geräte].",
            "Es gibt [viele|zahlreiche] [günstigere|ähnliche] Modelle, [deshalb|daher] wollte ich [wissen|herausfinden], ob sich der [Aufpreis|höhere Preis] [lohnt|rechtfertigen lässt].",
            "Dieser Bericht [beruht|basiert] auf {dauer} [täglicher|regelmäßiger] Nutzung, [nicht auf|und nicht auf] [einen ersten Eindruck|ein schnelles Auspacken].",
        ),
        pick=(2, 3),
    ),
    middle=(
        Section(
            (
                "Als Erstes [fiel mir auf|gefiel mir], dass {f1}.",
                "[Ebenfalls positiv ist|Außerdem gefällt mir], dass {f2}.",
                "Im Alltag [zeigt sich|merkt man], dass {f3}, und das ist [wichtiger|mehr wert], als man denkt.",
                "Die Verarbeitung wirkt [solide|hochwertig], und bisher hat sich [nichts gelockert|kein Teil gelöst].",
            ),
            pick=(2, 4),
        ),
        Section(
            (
                "[Perfekt ist er aber nicht|Es gibt aber auch Schwächen].",
                "Die Oberfläche zeigt [schnell|leicht] Fingerabdrücke, [deshalb|darum] muss man sie [regelmäßig|ab und zu] abwischen.",
                "Die Anleitung ist [dünn|knapp] und erklärt [nicht alle Einstellungen|die Garantie nicht].",
                "Für {preis} Euro hätte ich [eine längere Garantie|eine Tasche|eine zweite Farbe] erwartet.",
                "Der Kundendienst hat meine Frage [innerhalb eines Tages|nach drei Tagen] beantwortet, was [in Ordnung|akzeptabel] ist.",
            ),
            pick=(1, 3),
        ),
        Section(
            (
                "Im Vergleich zu meinem alten {kategorie} ist der {produkt} [leiser|leichter|besser verarbeitet] und [einfacher|angenehmer] zu bedienen.",
                "[Ein Freund|Meine Nachbarin] hat ein [billigeres|ähnliches] Modell, und [im direkten Vergleich|Seite an Seite] [war|wirkte] der {produkt} [deutlich|klar] besser.",
                "Wer nur [gelegentlich|ab und zu] einen {kategorie} braucht, [kommt auch mit einem günstigeren Gerät aus|ist mit einem Einsteigermodell gut bedient].",
            ),
            pick=(1, 2),
        ),
    ),
    outro=Section(
        (
            "[Insgesamt|Unterm Strich] gebe ich dem {produkt} {sterne} von fünf Sternen.",
            "[Empfehlen|Weiterempfehlen] kann ich ihn allen, die [täglich|oft] einen {kategorie} benutzen.",
            "Im Angebot wäre er ein [echtes Schnäppchen|sehr guter Kauf].",
        ),
        pick=(1, 2),
    ),
    context=_review_context,
)

_RECIPES = {
    "Suppe": (
        ("Lauch", "Graupen", "Möhren", "Sellerie", "Kartoffeln", "Pastinaken", "Erbsen", "weiße Bohnen"),
        (
            (
                "Das Gemüse waschen und in [kleine|gleichmäßige] Stücke schneiden.",
                "[Zuerst|Als Erstes] das Gemüse [schälen|putzen] und in [Würfel|kleine Würfel] von [etwa|rund] einem Zentimeter schneiden.",
            ),
            (
                "In einem großen Topf [Butter|etwas Öl] erhitzen und {z1} darin [fünf|acht] Minuten andünsten.",
                "[Etwas Öl|Ein Stück Butter] in einem [schweren|großen] Topf [erhitzen|schmelzen] und {z1} bei [mittlerer|kleiner] Hitze [glasig|weich] dünsten.",
            ),
            (
                "{z2} und {z3} dazugeben und mit [einem Liter|anderthalb Litern] Brühe aufgießen.",
                "[Danach|Dann] {z2} und {z3} [hinzufügen|unterrühren] und alles mit [heißer Brühe|Wasser] [bedecken|auffüllen].",
            ),
            (
                "Die Suppe aufkochen und [zwanzig|dreißig|vierzig] Minuten [leise köcheln|sanft kochen] lassen.",
                "[Einmal aufkochen lassen|Zum Kochen bringen], [dann|anschließend] die Hitze [reduzieren|herunterschalten] und [etwa|rund] eine halbe Stunde [köcheln|ziehen] lassen.",
            ),
            (
                "Mit Salz und Pfeffer abschmecken und [nach Belieben|wer mag] einen Teil pürieren.",
                "[Zum Schluss|Am Ende] [kräftig|gut] abschmecken und die Suppe [stückig lassen|zur Hälfte pürieren], [ganz nach Geschmack|wie man es mag].",
            ),
        ),
    ),
    "Kuchen": (
        ("Äpfel", "Walnüsse", "Birnen", "Pflaumen", "Haselnüsse", "Rosinen", "Ingwer", "Zitronenschale"),
        (
            (
                "Den Backofen auf [170|180] Grad vorheizen und eine [runde|eckige] Form einfetten.",
                "[Zuerst|Als Erstes] den Ofen auf [170|180] Grad [vorheizen|einschalten] und [die Form|eine Springform] mit Backpapier auslegen.",
            ),
            (
                "[150|200] Gramm Butter mit der gleichen Menge Zucker [schaumig|hell und cremig] schlagen.",
                "Weiche Butter und Zucker [zu gleichen Teilen|in gleicher Menge] [verrühren|aufschlagen], bis die Masse [hell|cremig] ist.",
            ),
            (
                "Drei Eier [einzeln|nacheinander] unterrühren, dann [200|250] Gramm Mehl und ein Päckchen Backpulver unterheben.",
                "Die Eier [eins nach dem anderen|nacheinander] [einrühren|dazugeben] und anschließend Mehl und Backpulver [unterheben|unterrühren].",
            ),
            (
                "{z1} und {z2} [vorsichtig|behutsam] unter den Teig heben.",
                "[Zum Schluss|Danach] {z1} und {z2} [mit einem Teigschaber|vorsichtig] unterheben, [ohne|aber nicht] [zu lange zu rühren|lange rühren].",
            ),
            (
                "Den Teig in die Form füllen und [vierzig|fünfzig] Minuten backen, bis kein Teig mehr am Holzstäbchen klebt.",
                "Den Teig [in die Form geben|einfüllen], glatt streichen und [etwa|rund] [45|50] Minuten backen; die Stäbchenprobe [zeigt|verrät], ob er fertig ist.",
            ),
            (
                "Den Kuchen [in der Form|auf einem Gitter] abkühlen lassen, bevor man ihn anschneidet.",
                "[Vor dem Anschneiden|Bevor man ihn schneidet] [sollte|muss] der Kuchen [mindestens|etwa] [zwanzig Minuten|eine halbe Stunde] abkühlen.",
            ),
        ),
    ),
    "Eintopf": (
        (
            "Rindfleisch",
            "Lammfleisch",
            "Pilze",
            "Zwiebeln",
            "Möhren",
            "Steckrüben",
            "Maronen",
            "dunkles Bier",
        ),
        (
            (
                "{z1} in [große|mundgerechte] Stücke schneiden und [leicht|dünn] mit Mehl bestäuben.",
                "[Zuerst|Als Erstes] {z1} in [Würfel|Stücke] von [etwa|rund] drei Zentimetern schneiden und [in Mehl wenden|mit Mehl bestäuben].",
            ),
            (
                "Die Stücke [portionsweise|nach und nach] in einer heißen Pfanne anbraten und [beiseitestellen|herausnehmen].",
                "[In kleinen Portionen|Portionsweise] [scharf|kräftig] anbraten, damit [sich Röstaromen bilden|alles schön braun wird], und dann [herausnehmen|beiseitestellen].",
            ),
            (
                "{z2} im selben Topf [weich dünsten|andünsten] und den Bratensatz [lösen|vom Boden kratzen].",
                "Im [gleichen|selben] Topf {z2} [anschwitzen|weich dünsten] und dabei den Bratensatz vom Boden [lösen|abkratzen].",
            ),
            (
                "Das Fleisch zurückgeben, {z3} [dazugeben|hinzufügen] und mit [Brühe|Wasser] [aufgießen|bedecken].",
                "[Alles|Das Fleisch] zurück in den Topf geben, {z3} [ergänzen|dazugeben] und [so viel|genug] [Flüssigkeit|Brühe] [angießen|aufgießen], dass alles bedeckt ist.",
            ),
            (
                "Zugedeckt [zwei|zweieinhalb] Stunden [bei kleiner Hitze|sanft] schmoren lassen.",
                "Den Deckel [auflegen|schließen] und den Eintopf [zwei bis drei|gut zwei] Stunden [leise|langsam] schmoren lassen, dabei [ab und zu|gelegentlich] umrühren.",
            ),
        ),
    ),
}


_DATIVE = {
    "Pilze": "Pilzen",
    "Äpfel": "Äpfeln",
    "Walnüsse": "Walnüssen",
    "Haselnüsse": "Haselnüssen",
    "weiße Bohnen": "weißen Bohnen",
    "dunkles Bier": "dunklem Bier",
}


def _recipe_context(rng: random.Random) -> dict[str, str]:
    kind = rng.choice(sorted(_RECIPES))
    z = rng.sample(_RECIPES[kind][0], 4)
    return {
        "art": kind,
        "gericht": f"{kind} mit {_DATIVE.get(z[0], z[0])} und {_DATIVE.get(z[1], z[1])}",
        "z1": z[0],
        "z2": z[1],
        "z3": z[2],
        "z4": z[3],
        "personen": rng.choice(("vier", "sechs", "vier bis sechs", "acht")),
    }


def _steps(templates: tuple, rng: random.Random) -> Section:
    n = len(templates)
    return Section(templates, pick=(n, n), numbered=rng.random() < 0.4)


_RECIPE = Genre(
    name="recipe",
    titles=(
        "Rezept: {gericht}",
        "{gericht} [aus {town}|nach Omas Art|für kalte Abende]",
        "{gericht} – [einfach und schnell|ganz einfach]",
    ),
    intro=Section(
        (
            "Dieses Rezept für {gericht} habe ich [vor Jahren|letzten Winter] von {person} aus {town} bekommen.",
            "Es ist [einfach|günstig|unkompliziert] und reicht für {personen} Personen.",
            "In {town} hat [jede Familie|fast jede Familie] ihre eigene Version, und meine [lebt von|setzt auf] {z1} und {z2}.",
            "Man braucht [keine besonderen Geräte|nur einen guten Topf|nur eine Schüssel und eine Form], und die Zutaten [bekommt man überall|hat man meist im Haus].",
        ),
        pick=(2, 3),
    ),
    middle=(
        Section(
            (
                "Für {personen} Personen braucht man {z1}, {z2}, {z3} und {z4}, dazu Salz und Pfeffer.",
                "Statt {z3} kann man auch [etwas anderes aus der Saison|eine ähnliche Zutat] nehmen.",
            ),
            pick=(1, 2),
        ),
        Section(
            (
                "[Wichtig|Entscheidend] ist [die richtige Hitze|Geduld]: Wer [zu heiß|zu schnell] kocht, [riskiert|bekommt] [Angebranntes|ein zähes Ergebnis].",
                "Salz [lieber sparsam|erst am Ende] [zugeben|verwenden] und [vor dem Servieren|zum Schluss] [abschmecken|nachwürzen].",
                "Mit [frischen|regionalen] Zutaten schmeckt das Gericht [deutlich|spürbar] [besser|kräftiger].",
                "Bei uns gibt es das [oft|gern] am {weekday}, und [die Kinder|alle am Tisch] [mögen es sehr|essen es gern].",
            ),
            pick=(1, 3),
        ),
    ),
    outro=Section(
        (
            "Reste halten sich [zwei|drei] Tage [im Kühlschrank|gekühlt] und schmecken [aufgewärmt|am nächsten Tag] [fast noch besser|sogar besser].",
            "Schreibt mir gern, [wie es geklappt hat|ob ihr es nachkocht] und was ihr verändert habt.",
            (
                "Guten Appetit, und keine Sorge, wenn es beim ersten Mal [etwas rustikal aussieht|nicht perfekt wird].",
                "[Lasst es euch schmecken|Guten Hunger]! [Wie es aussieht|Das Aussehen] ist [nebensächlich|egal], [solange|wenn] es [schmeckt|gut schmeckt].",
            ),
        ),
        pick=(1, 2),
    ),
    middle_pick=(1, 2),
    context=_recipe_context,
    topic=lambda ctx, rng: _steps(_RECIPES[ctx["art"]][1], rng),
)

GENRES = {"travel": _TRAVEL, "history": _HISTORY, "news": _NEWS, "review": _REVIEW, "recipe": _RECIPE}

BOILERPLATE = {
    "nav": (
        "Startseite | Nachrichten | Sport | Veranstaltungen | Kontakt",
        "Zum Inhalt springen",
        "Menü Suche Anmelden",
        "Artikel teilen: Facebook Twitter E-Mail",
    ),
    "cookie": (
        "Diese Website verwendet Cookies. Alle akzeptieren",
        "Wir verwenden Cookies, um Ihnen das beste Nutzererlebnis zu bieten. Mehr erfahren",
        "Cookie-Einstellungen | Akzeptieren | Ablehnen",
    ),
    "newsletter": (
        "Jetzt unseren Newsletter abonnieren!",
        "Melden Sie sich für unseren wöchentlichen Newsletter an.",
    ),
    "footer": (
        "© {year3} {town}er {paper}. Alle Rechte vorbehalten.",
        "Impressum | Datenschutz | AGB | Kontakt",
        "Weiterlesen",
        "Das könnte Sie auch interessieren",
        "Kommentare sind geschlossen.",
    ),
}
PII = (
    "Anmeldungen bitte per E-Mail an {email} oder telefonisch unter {phone}.",
    "Fragen zur Veranstaltung beantwortet {person} unter {email}.",
    "Der alte Server unter {ip} wurde abgeschaltet, bitte Lesezeichen aktualisieren.",
    "Bitte schicken Sie niemals Kartennummern wie {card} per E-Mail, warnt der Händler.",
    "Erreichbar ist das Büro werktags unter {phone}.",
)
EMAIL_NAMES = tuple(
    n.lower().replace("ü", "ue").replace("ö", "oe").replace("ä", "ae") for n in _FIRST + _LAST
)
PHONES = ("+49 30 555 01{10-99}", "030 555 01{10-99}", "+49 (0)89 555 0{100-999}")
SPAM_WORDS = (
    "billig",
    "günstig kaufen",
    "versandkostenfrei",
    "Rabatt",
    "Angebot",
    "bester Preis",
    "{category} kaufen",
    "{category} billig",
    "{category} online",
    "Schnäppchen",
    "gratis",
    "Gewinnspiel",
)
SPAM_LINES = (
    "JETZT KAUFEN!!! Nur heute zum Sonderpreis!",
    "HIER KLICKEN für die besten {category}-Angebote!!!",
    "{category} billig {category} billig {category} billig!",
    "Versandkostenfrei bestellen, JETZT zuschlagen!",
    "Gratis {category} gewinnen, jetzt klicken!!!",
)
SPAM_CATEGORIES = ("Uhren", "Handys", "Schuhe", "Sonnenbrillen", "Taschen", "Kredite")
LIST_ITEMS = (
    "Größe: {zahl}",
    "Farbe: blau",
    "Auf Lager",
    "In den Warenkorb",
    "Preis: {price},99 €",
    "Kostenloser Versand",
    "Artikelnr. {1000-9999}",
    "Teilen",
    "Öffnungszeiten",
    "Mo-Fr 9-17 Uhr",
    "Sa 10-14 Uhr",
    "Nach oben",
    "Weiter",
)
SHORT = (
    "Der Gemeinderat von {town} tagt am {weekday}. Tagesordnung folgt.",
    "Fotos vom Markt in {town} im {month}.",
    "Wegen Urlaub bis Ende {month} geschlossen. Vielen Dank!",
    "Diese Seite befindet sich im Aufbau.",
)
