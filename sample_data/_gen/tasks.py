"""Question/answer items for the SFT and preference sets, in English, German, French, Spanish, Chinese.

Every item carries a correct, complete and polite answer, a terse but correct one, and a plausible
but wrong one; the preference builders add truncated, rude and off-topic answers on top. Answers
are computed (arithmetic, unit conversion) or drawn from hand-written banks (definitions,
translations, steps, summaries), so they are right by construction.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from . import lang_de, lang_en, lang_es, lang_fr, lang_zh
from .engine import capitalize, render

LANGS = ("en", "de", "fr", "es", "zh")


@dataclass
class Item:
    lang: str
    task: str
    prompt: str  # the whole user turn
    answer: str  # correct, complete, polite
    terse: str  # correct but curt
    wrong: str  # plausible, incorrect
    instruction: str | None = None  # alpaca: the instruction when the item has a separate input
    input: str | None = None
    followup: tuple[str, str] | None = None  # a second user turn and its correct answer


def _num(x: float, lang: str) -> str:
    """A number as people write it in ``lang``: at most two decimals, decimal comma in de/fr/es."""
    text = f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))
    return text.replace(".", ",") if lang in ("de", "fr", "es") else text


# --- per-language phrasing ---------------------------------------------------------------------------
T: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "add_q": ("What is {a} + {b}?", "Can you add {a} and {b} for me?", "Please calculate {a} plus {b}."),
        "add_a": ("{a} + {b} = {c}.", "The sum of {a} and {b} is {c}."),
        "sub_q": ("What is {a} - {b}?", "How much is {a} minus {b}?"),
        "sub_a": ("{a} - {b} = {c}.", "{a} minus {b} equals {c}."),
        "mul_q": ("What is {a} × {b}?", "Multiply {a} by {b}.", "How much is {a} times {b}?"),
        "mul_a": ("{a} × {b} = {c}.", "{a} times {b} is {c}."),
        "pct_q": ("What is {p}% of {n}?", "Calculate {p} percent of {n}."),
        "pct_a": ("{p}% of {n} is {c}, because {n} × {p} / 100 = {c}.",),
        "more_q": ("And if I multiply that by {k}?", "Now multiply the result by {k}, please."),
        "more_a": ("{c} × {k} = {d}.", "That gives {d}, since {c} × {k} = {d}."),
        "conv_q": ("How many {u2} are {x} {u1}?", "Convert {x} {u1} to {u2}.", "What is {x} {u1} in {u2}?"),
        "conv_a": (
            "{x} {u1} is about {y} {u2}. The rule of thumb: {rule}.",
            "That is roughly {y} {u2} ({rule}).",
        ),
        "temp_q": ("What is {x} degrees Celsius in Fahrenheit?", "Convert {x} °C to Fahrenheit."),
        "temp_a": ("{x} °C is {y} °F: multiply by 9/5 and add 32.",),
        "def_q": ('What does "{term}" mean?', "Can you explain what {term} is?", "Define {term}."),
        "simpler_q": ("Can you put that more simply?", "Explain it in one short sentence, please."),
        "tr_q": ('Translate "{src}" into {target}.', 'How do you say "{src}" in {target}?'),
        "tr_a": ('In {target}, "{src}" is "{dst}".', '"{dst}" is the usual way to say it in {target}.'),
        "howto_q": ("How do I {task}?", "What are the steps to {task}?", "Can you explain how to {task}?"),
        "howto_intro": ("Here is how to {task}:", "To {task}, follow these steps:"),
        "sum_instr": (
            "Summarize the following paragraph in one sentence.",
            "Give a one-sentence summary of this text.",
        ),
        "polite": ("Sure! ", "Of course. ", "Happy to help. ", "Good question. ", ""),
        "closing": (" Let me know if you need anything else.", " I hope this helps.", "", ""),
        "rude": (
            "Figure it out yourself.",
            "I'm not doing your homework for you.",
            "That's a pointless question, look it up.",
            "Why would you even ask that? Use a search engine.",
        ),
        "system": (
            "You are a helpful assistant.",
            "You are a friendly assistant. Keep answers short and accurate.",
            "You are a patient tutor who explains each step.",
        ),
        "hello": ("Hi there!", "Hello, can you help me with something?", "Good morning!"),
        "hello_a": ("Hello! Of course, what do you need?", "Hi! Sure, what can I do for you?"),
    },
    "de": {
        "add_q": ("Was ist {a} + {b}?", "Kannst du {a} und {b} addieren?", "Bitte rechne {a} plus {b}."),
        "add_a": ("{a} + {b} = {c}.", "Die Summe von {a} und {b} ist {c}."),
        "sub_q": ("Was ist {a} - {b}?", "Wie viel ist {a} minus {b}?"),
        "sub_a": ("{a} - {b} = {c}.", "{a} minus {b} ergibt {c}."),
        "mul_q": ("Was ist {a} × {b}?", "Multipliziere {a} mit {b}.", "Wie viel ist {a} mal {b}?"),
        "mul_a": ("{a} × {b} = {c}.", "{a} mal {b} ist {c}."),
        "pct_q": ("Wie viel sind {p} % von {n}?", "Berechne {p} Prozent von {n}."),
        "pct_a": ("{p} % von {n} sind {c}, denn {n} × {p} / 100 = {c}.",),
        "more_q": (
            "Und wenn ich das mit {k} multipliziere?",
            "Multipliziere das Ergebnis jetzt bitte mit {k}.",
        ),
        "more_a": ("{c} × {k} = {d}.", "Das ergibt {d}, denn {c} × {k} = {d}."),
        "conv_q": ("Wie viele {u2} sind {x} {u1}?", "Rechne {x} {u1} in {u2} um."),
        "conv_a": (
            "{x} {u1} sind etwa {y} {u2}. Faustregel: {rule}.",
            "Das sind ungefähr {y} {u2} ({rule}).",
        ),
        "temp_q": ("Wie viel sind {x} Grad Celsius in Fahrenheit?", "Rechne {x} °C in Fahrenheit um."),
        "temp_a": ("{x} °C sind {y} °F: mit 9/5 multiplizieren und 32 addieren.",),
        "def_q": ("Was bedeutet „{term}“?", "Kannst du erklären, was {term} ist?"),
        "simpler_q": ("Kannst du das einfacher sagen?", "Erklär es bitte in einem kurzen Satz."),
        "tr_q": ("Übersetze „{src}“ ins {target}.", "Wie sagt man „{src}“ auf {target}?"),
        "tr_a": ("Auf {target} heißt „{src}“: „{dst}“.", "Man sagt „{dst}“."),
        "howto_q": ("Wie bereite ich {task} zu?", "Wie macht man {task}?"),
        "howto_intro": ("So bereitest du {task} zu:", "Für {task} gehst du so vor:"),
        "sum_instr": (
            "Fasse den folgenden Absatz in einem Satz zusammen.",
            "Gib eine Zusammenfassung dieses Textes in einem Satz.",
        ),
        "polite": ("Gern! ", "Natürlich. ", "Klar, ", ""),
        "closing": (" Sag Bescheid, wenn du noch etwas brauchst.", " Ich hoffe, das hilft.", "", ""),
        "rude": (
            "Rechne das doch selbst aus.",
            "Das ist eine dumme Frage.",
            "Ich mache nicht deine Hausaufgaben.",
        ),
        "system": (
            "Du bist ein hilfsbereiter Assistent.",
            "Du bist ein freundlicher Assistent. Antworte kurz und genau.",
        ),
        "hello": ("Hallo!", "Hallo, kannst du mir bei etwas helfen?"),
        "hello_a": ("Hallo! Natürlich, worum geht es?", "Hi! Klar, was kann ich für dich tun?"),
    },
    "fr": {
        "add_q": (
            "Combien font {a} + {b} ?",
            "Peux-tu additionner {a} et {b} ?",
            "Calcule {a} plus {b}, s'il te plaît.",
        ),
        "add_a": ("{a} + {b} = {c}.", "La somme de {a} et {b} est {c}."),
        "sub_q": ("Combien font {a} - {b} ?", "Que donne {a} moins {b} ?"),
        "sub_a": ("{a} - {b} = {c}.", "{a} moins {b} égale {c}."),
        "mul_q": ("Combien font {a} × {b} ?", "Multiplie {a} par {b}.", "Combien font {a} fois {b} ?"),
        "mul_a": ("{a} × {b} = {c}.", "{a} fois {b} font {c}."),
        "pct_q": ("Combien font {p} % de {n} ?", "Calcule {p} pour cent de {n}."),
        "pct_a": ("{p} % de {n} font {c}, car {n} × {p} / 100 = {c}.",),
        "more_q": ("Et si je multiplie le résultat par {k} ?", "Multiplie maintenant le résultat par {k}."),
        "more_a": ("{c} × {k} = {d}.", "Cela donne {d}, puisque {c} × {k} = {d}."),
        "conv_q": ("Combien de {u2} font {x} {u1} ?", "Convertis {x} {u1} en {u2}."),
        "conv_a": (
            "{x} {u1} font environ {y} {u2}. Repère utile : {rule}.",
            "Cela fait à peu près {y} {u2} ({rule}).",
        ),
        "temp_q": ("Combien font {x} degrés Celsius en Fahrenheit ?", "Convertis {x} °C en Fahrenheit."),
        "temp_a": ("{x} °C correspondent à {y} °F : on multiplie par 9/5 puis on ajoute 32.",),
        "def_q": ("Que signifie « {term} » ?", "Peux-tu m'expliquer ce qu'est {term} ?"),
        "simpler_q": ("Peux-tu le dire plus simplement ?", "Explique-le en une phrase courte."),
        "tr_q": ("Traduis « {src} » en {target}.", "Comment dit-on « {src} » en {target} ?"),
        "tr_a": ("En {target}, « {src} » se dit « {dst} ».", "On dit « {dst} »."),
        "howto_q": (
            "Comment prépare-t-on ce plat : {task} ?",
            "Quelles sont les étapes de cette recette : {task} ?",
        ),
        "howto_intro": ("Voici comment préparer ce plat :", "Pour réussir ce plat, suivez ces étapes :"),
        "sum_instr": (
            "Résume le paragraphe suivant en une phrase.",
            "Donne un résumé de ce texte en une seule phrase.",
        ),
        "polite": ("Avec plaisir ! ", "Bien sûr. ", "Volontiers. ", ""),
        "closing": (" N'hésite pas si tu as d'autres questions.", " J'espère que cela t'aide.", "", ""),
        "rude": ("Débrouille-toi tout seul.", "Quelle question idiote.", "Je ne vais pas faire tes devoirs."),
        "system": (
            "Tu es un assistant serviable.",
            "Tu es un assistant aimable. Réponds brièvement et avec précision.",
        ),
        "hello": ("Bonjour !", "Salut, tu peux m'aider ?"),
        "hello_a": (
            "Bonjour ! Bien sûr, de quoi as-tu besoin ?",
            "Salut ! Volontiers, que puis-je faire pour toi ?",
        ),
    },
    "es": {
        "add_q": ("¿Cuánto es {a} + {b}?", "¿Puedes sumar {a} y {b}?", "Calcula {a} más {b}, por favor."),
        "add_a": ("{a} + {b} = {c}.", "La suma de {a} y {b} es {c}."),
        "sub_q": ("¿Cuánto es {a} - {b}?", "¿Cuánto da {a} menos {b}?"),
        "sub_a": ("{a} - {b} = {c}.", "{a} menos {b} es igual a {c}."),
        "mul_q": ("¿Cuánto es {a} × {b}?", "Multiplica {a} por {b}.", "¿Cuánto es {a} por {b}?"),
        "mul_a": ("{a} × {b} = {c}.", "{a} por {b} son {c}."),
        "pct_q": ("¿Cuánto es el {p} % de {n}?", "Calcula el {p} por ciento de {n}."),
        "pct_a": ("El {p} % de {n} es {c}, porque {n} × {p} / 100 = {c}.",),
        "more_q": ("¿Y si multiplico el resultado por {k}?", "Ahora multiplica el resultado por {k}."),
        "more_a": ("{c} × {k} = {d}.", "Da {d}, ya que {c} × {k} = {d}."),
        "conv_q": ("¿Cuánto son {x} {u1} en {u2}?", "Convierte {x} {u1} a {u2}."),
        "conv_a": (
            "{x} {u1} equivalen a {y} {u2} aproximadamente. Regla práctica: {rule}.",
            "Son aproximadamente {y} {u2} ({rule}).",
        ),
        "temp_q": ("¿Cuánto son {x} grados Celsius en Fahrenheit?", "Convierte {x} °C a Fahrenheit."),
        "temp_a": ("{x} °C son {y} °F: se multiplica por 9/5 y se suma 32.",),
        "def_q": ("¿Qué significa «{term}»?", "¿Puedes explicarme qué es {term}?"),
        "simpler_q": ("¿Puedes decirlo de forma más sencilla?", "Explícalo en una frase corta."),
        "tr_q": ("Traduce «{src}» al {target}.", "¿Cómo se dice «{src}» en {target}?"),
        "tr_a": ("En {target}, «{src}» se dice «{dst}».", "Se dice «{dst}»."),
        "howto_q": ("¿Cómo se prepara la receta de {task}?", "¿Qué pasos hay que seguir para hacer {task}?"),
        "howto_intro": ("Así se prepara:", "Sigue estos pasos:"),
        "sum_instr": (
            "Resume el siguiente párrafo en una frase.",
            "Haz un resumen de este texto en una sola frase.",
        ),
        "polite": ("¡Claro! ", "Por supuesto. ", "Con gusto. ", ""),
        "closing": (" Si necesitas algo más, dímelo.", " Espero que te sirva.", "", ""),
        "rude": ("Búscalo tú mismo.", "Qué pregunta más tonta.", "No pienso hacer tus deberes."),
        "system": (
            "Eres un asistente servicial.",
            "Eres un asistente amable. Responde de forma breve y precisa.",
        ),
        "hello": ("¡Hola!", "Hola, ¿me puedes ayudar con algo?"),
        "hello_a": ("¡Hola! Claro, ¿qué necesitas?", "¡Hola! Por supuesto, ¿en qué te ayudo?"),
    },
    "zh": {
        "add_q": ("{a} + {b} 等于多少？", "请帮我算一下 {a} 加 {b}。", "{a} 加上 {b} 是多少？"),
        "add_a": ("{a} + {b} = {c}。", "{a} 和 {b} 的和是 {c}。"),
        "sub_q": ("{a} - {b} 等于多少？", "{a} 减 {b} 是多少？"),
        "sub_a": ("{a} - {b} = {c}。", "{a} 减去 {b} 等于 {c}。"),
        "mul_q": ("{a} × {b} 等于多少？", "请计算 {a} 乘以 {b}。"),
        "mul_a": ("{a} × {b} = {c}。", "{a} 乘以 {b} 等于 {c}。"),
        "pct_q": ("{n} 的 {p}% 是多少？", "请算出 {n} 的百分之 {p}。"),
        "pct_a": ("{n} 的 {p}% 是 {c}，因为 {n} × {p} / 100 = {c}。",),
        "more_q": ("那再乘以 {k} 呢？", "请把结果再乘以 {k}。"),
        "more_a": ("{c} × {k} = {d}。", "结果是 {d}，因为 {c} × {k} = {d}。"),
        "conv_q": ("{x} {u1}是多少{u2}？", "请把 {x} {u1}换算成{u2}。"),
        "conv_a": ("{x} {u1}大约是 {y} {u2}。换算关系：{rule}。", "大约 {y} {u2}（{rule}）。"),
        "temp_q": ("{x} 摄氏度是多少华氏度？", "请把 {x} °C 换算成华氏度。"),
        "temp_a": ("{x} °C 等于 {y} °F：先乘以 9/5，再加 32。",),
        "def_q": ("“{term}”是什么意思？", "你能解释一下什么是{term}吗？"),
        "simpler_q": ("能说得再简单一点吗？", "请用一句话解释。"),
        "tr_q": ("请把“{src}”翻译成{target}。", "“{src}”用{target}怎么说？"),
        "tr_a": ("“{src}”用{target}说是“{dst}”。", "可以说“{dst}”。"),
        "howto_q": ("{task}怎么做？", "请告诉我{task}的做法。"),
        "howto_intro": ("做法如下：", "可以按照下面的步骤来做："),
        "sum_instr": ("请用一句话概括下面这段话。", "请把这段文字总结成一句话。"),
        "polite": ("好的！", "当然可以。", "没问题。", ""),
        "closing": ("如果还有其他问题，随时问我。", "希望对你有帮助。", "", ""),
        "rude": ("自己查去。", "这种问题也要问？", "我才不帮你做作业。"),
        "system": ("你是一个乐于助人的助手。", "你是一个友好的助手，回答要简短准确。"),
        "hello": ("你好！", "你好，可以帮我一个忙吗？"),
        "hello_a": ("你好！当然可以，需要什么帮助？", "你好！没问题，请说。"),
    },
}

# Conversions: (from, to, function, rule per language)
_UNITS = {
    "en": {
        "km": "kilometres",
        "mi": "miles",
        "kg": "kilograms",
        "lb": "pounds",
        "cm": "centimetres",
        "in": "inches",
        "l": "litres",
        "ml": "millilitres",
    },
    "de": {
        "km": "Kilometer",
        "mi": "Meilen",
        "kg": "Kilogramm",
        "lb": "Pfund (britisch)",
        "cm": "Zentimeter",
        "in": "Zoll",
        "l": "Liter",
        "ml": "Milliliter",
    },
    "fr": {
        "km": "kilomètres",
        "mi": "miles",
        "kg": "kilogrammes",
        "lb": "livres anglaises",
        "cm": "centimètres",
        "in": "pouces",
        "l": "litres",
        "ml": "millilitres",
    },
    "es": {
        "km": "kilómetros",
        "mi": "millas",
        "kg": "kilogramos",
        "lb": "libras",
        "cm": "centímetros",
        "in": "pulgadas",
        "l": "litros",
        "ml": "mililitros",
    },
    "zh": {
        "km": "公里",
        "mi": "英里",
        "kg": "千克",
        "lb": "磅",
        "cm": "厘米",
        "in": "英寸",
        "l": "升",
        "ml": "毫升",
    },
}
_RULES = {
    ("km", "mi"): {
        "en": "1 mile = 1.609 km",
        "de": "1 Meile = 1,609 km",
        "fr": "1 mile = 1,609 km",
        "es": "1 milla = 1,609 km",
        "zh": "1 英里 = 1.609 公里",
    },
    ("mi", "km"): {
        "en": "1 mile = 1.609 km",
        "de": "1 Meile = 1,609 km",
        "fr": "1 mile = 1,609 km",
        "es": "1 milla = 1,609 km",
        "zh": "1 英里 = 1.609 公里",
    },
    ("kg", "lb"): {
        "en": "1 kg = 2.205 lb",
        "de": "1 kg = 2,205 lb",
        "fr": "1 kg = 2,205 lb",
        "es": "1 kg = 2,205 lb",
        "zh": "1 千克 = 2.205 磅",
    },
    ("lb", "kg"): {
        "en": "1 lb = 0.4536 kg",
        "de": "1 lb = 0,4536 kg",
        "fr": "1 lb = 0,4536 kg",
        "es": "1 lb = 0,4536 kg",
        "zh": "1 磅 = 0.4536 千克",
    },
    ("cm", "in"): {
        "en": "1 inch = 2.54 cm",
        "de": "1 Zoll = 2,54 cm",
        "fr": "1 pouce = 2,54 cm",
        "es": "1 pulgada = 2,54 cm",
        "zh": "1 英寸 = 2.54 厘米",
    },
    ("l", "ml"): {
        "en": "1 litre = 1000 ml",
        "de": "1 Liter = 1000 ml",
        "fr": "1 litre = 1000 ml",
        "es": "1 litro = 1000 ml",
        "zh": "1 升 = 1000 毫升",
    },
}
_FACTORS = {
    ("km", "mi"): 1 / 1.609344,
    ("mi", "km"): 1.609344,
    ("kg", "lb"): 2.2046226,
    ("lb", "kg"): 0.45359237,
    ("cm", "in"): 1 / 2.54,
    ("l", "ml"): 1000.0,
}

# (term, definition, one-line version) — written for this project
GLOSSARY = {
    "en": (
        (
            "photosynthesis",
            "Photosynthesis is the process by which green plants use the energy of sunlight to turn water and carbon dioxide into sugar, releasing oxygen as a by-product. It takes place mainly in the leaves, inside small structures called chloroplasts.",
            "Plants use sunlight to make sugar from water and carbon dioxide, and give off oxygen.",
        ),
        (
            "compost",
            "Compost is dark, crumbly material made when microbes, fungi and small animals break down garden and kitchen waste. Gardeners mix it into soil to add nutrients and help the soil hold water.",
            "Rotted plant waste that makes soil richer.",
        ),
        (
            "humidity",
            "Humidity is the amount of water vapour in the air. Relative humidity compares that amount with the most the air could hold at the same temperature, given as a percentage.",
            "How much water vapour the air contains.",
        ),
        (
            "a budget",
            "A budget is a plan that lists the money you expect to receive and how you intend to spend or save it over a period, such as a month or a year.",
            "A plan for how to spend and save money.",
        ),
        (
            "an ecosystem",
            "An ecosystem is a community of living things, such as plants, animals and microbes, together with the non-living surroundings they depend on, like water, soil and climate.",
            "Living things and their environment, working together.",
        ),
        (
            "inflation",
            "Inflation is the general rise in prices over time, which means that the same amount of money buys fewer goods and services than before.",
            "Prices going up over time, so money buys less.",
        ),
        (
            "a noun",
            "A noun is a word that names a person, place, thing or idea, such as 'teacher', 'river', 'chair' or 'freedom'.",
            "A word that names a person, place, thing or idea.",
        ),
        (
            "evaporation",
            "Evaporation is the change of a liquid into a gas at its surface, as when a puddle dries in the sun. It happens below the boiling point and speeds up with heat and wind.",
            "A liquid slowly turning into vapour.",
        ),
    ),
    "de": (
        (
            "Photosynthese",
            "Photosynthese ist der Vorgang, bei dem grüne Pflanzen mit der Energie des Sonnenlichts aus Wasser und Kohlendioxid Zucker herstellen und dabei Sauerstoff abgeben. Sie findet vor allem in den Blättern statt.",
            "Pflanzen machen mit Sonnenlicht Zucker und geben Sauerstoff ab.",
        ),
        (
            "Kompost",
            "Kompost ist dunkles, krümeliges Material, das entsteht, wenn Mikroben, Pilze und kleine Tiere Garten- und Küchenabfälle zersetzen. Er verbessert den Boden und liefert Nährstoffe.",
            "Verrottete Pflanzenreste, die den Boden verbessern.",
        ),
        (
            "Luftfeuchtigkeit",
            "Luftfeuchtigkeit ist die Menge an Wasserdampf in der Luft. Die relative Luftfeuchtigkeit gibt in Prozent an, wie viel davon die Luft bei der jeweiligen Temperatur höchstens aufnehmen könnte.",
            "Wie viel Wasserdampf in der Luft ist.",
        ),
        (
            "Inflation",
            "Inflation ist der allgemeine Anstieg der Preise über die Zeit. Dadurch kann man mit demselben Geldbetrag weniger kaufen als vorher.",
            "Steigende Preise, sodass Geld weniger wert ist.",
        ),
        (
            "ein Substantiv",
            "Ein Substantiv ist ein Wort, das eine Person, einen Ort, eine Sache oder einen Gedanken bezeichnet, zum Beispiel „Lehrerin“, „Fluss“ oder „Freiheit“. Im Deutschen schreibt man Substantive groß.",
            "Ein Wort für eine Person, einen Ort, eine Sache oder eine Idee.",
        ),
        (
            "Verdunstung",
            "Verdunstung ist der Übergang einer Flüssigkeit in den gasförmigen Zustand an ihrer Oberfläche, unterhalb des Siedepunkts, etwa wenn eine Pfütze in der Sonne trocknet.",
            "Wenn eine Flüssigkeit langsam zu Dampf wird.",
        ),
    ),
    "fr": (
        (
            "la photosynthèse",
            "La photosynthèse est le processus par lequel les plantes vertes utilisent l'énergie de la lumière pour fabriquer du sucre à partir d'eau et de dioxyde de carbone, en rejetant de l'oxygène. Elle a lieu surtout dans les feuilles.",
            "Les plantes fabriquent du sucre grâce à la lumière et rejettent de l'oxygène.",
        ),
        (
            "le compost",
            "Le compost est une matière sombre et friable obtenue quand des microbes, des champignons et de petits animaux décomposent les déchets du jardin et de la cuisine. Il enrichit le sol.",
            "Des déchets végétaux décomposés qui enrichissent la terre.",
        ),
        (
            "l'humidité",
            "L'humidité désigne la quantité de vapeur d'eau présente dans l'air. L'humidité relative la compare, en pourcentage, au maximum que l'air pourrait contenir à la même température.",
            "La quantité de vapeur d'eau dans l'air.",
        ),
        (
            "l'inflation",
            "L'inflation est la hausse générale des prix au fil du temps : avec la même somme d'argent, on peut acheter moins de biens et de services qu'avant.",
            "La hausse des prix, qui fait que l'argent achète moins.",
        ),
        (
            "un nom commun",
            "Un nom commun est un mot qui désigne une personne, un lieu, un objet ou une idée, comme « professeur », « rivière » ou « liberté ».",
            "Un mot qui désigne une personne, une chose ou une idée.",
        ),
        (
            "l'évaporation",
            "L'évaporation est le passage d'un liquide à l'état de gaz à sa surface, en dessous du point d'ébullition, comme une flaque qui sèche au soleil.",
            "Un liquide qui se transforme lentement en vapeur.",
        ),
    ),
    "es": (
        (
            "la fotosíntesis",
            "La fotosíntesis es el proceso por el que las plantas verdes usan la energía de la luz del sol para fabricar azúcar a partir de agua y dióxido de carbono, y liberan oxígeno. Ocurre sobre todo en las hojas.",
            "Las plantas fabrican azúcar con la luz del sol y liberan oxígeno.",
        ),
        (
            "el compost",
            "El compost es un material oscuro y suelto que se obtiene cuando microbios, hongos y pequeños animales descomponen restos del jardín y de la cocina. Sirve para enriquecer la tierra.",
            "Restos vegetales descompuestos que mejoran la tierra.",
        ),
        (
            "la humedad",
            "La humedad es la cantidad de vapor de agua que hay en el aire. La humedad relativa la compara, en porcentaje, con el máximo que el aire podría contener a esa temperatura.",
            "La cantidad de vapor de agua en el aire.",
        ),
        (
            "la inflación",
            "La inflación es la subida general de los precios a lo largo del tiempo, de modo que con el mismo dinero se pueden comprar menos cosas que antes.",
            "La subida de precios que hace que el dinero compre menos.",
        ),
        (
            "un sustantivo",
            "Un sustantivo es una palabra que nombra una persona, un lugar, una cosa o una idea, como «maestra», «río» o «libertad».",
            "Una palabra que nombra personas, lugares, cosas o ideas.",
        ),
        (
            "la evaporación",
            "La evaporación es el paso de un líquido a gas en su superficie, por debajo del punto de ebullición, como cuando un charco se seca al sol.",
            "Un líquido que se convierte poco a poco en vapor.",
        ),
    ),
    "zh": (
        (
            "光合作用",
            "光合作用是绿色植物利用阳光的能量，把水和二氧化碳转变成糖类，同时释放出氧气的过程。它主要发生在叶片的叶绿体里。",
            "植物利用阳光把水和二氧化碳变成糖，并放出氧气。",
        ),
        (
            "堆肥",
            "堆肥是微生物、真菌和小动物分解厨余和园林废弃物后形成的深色、松散的物质，可以给土壤增加养分，并帮助土壤保持水分。",
            "腐烂的植物残渣，能让土壤更肥沃。",
        ),
        (
            "湿度",
            "湿度指空气中所含水蒸气的多少。相对湿度用百分比表示，是实际水汽量与同一温度下空气最多能容纳的水汽量之比。",
            "空气里含有多少水蒸气。",
        ),
        (
            "通货膨胀",
            "通货膨胀是指物价在一段时间内普遍上涨，同样多的钱能买到的商品和服务比以前少了。",
            "物价普遍上涨，钱变得不那么值钱。",
        ),
        (
            "名词",
            "名词是表示人、地点、事物或概念名称的词，例如“老师”“河流”“椅子”和“自由”。",
            "表示人、地点、事物或概念的词。",
        ),
        (
            "蒸发",
            "蒸发是液体在低于沸点的温度下，从表面慢慢变成气体的过程，比如地上的水坑在太阳下慢慢变干。",
            "液体慢慢变成水蒸气。",
        ),
    ),
}

# Short phrases and their translations, written for this project.
PHRASES = (
    {"en": "good morning", "de": "guten Morgen", "fr": "bonjour", "es": "buenos días", "zh": "早上好"},
    {
        "en": "thank you very much",
        "de": "vielen Dank",
        "fr": "merci beaucoup",
        "es": "muchas gracias",
        "zh": "非常感谢",
    },
    {
        "en": "where is the train station?",
        "de": "Wo ist der Bahnhof?",
        "fr": "Où est la gare ?",
        "es": "¿Dónde está la estación de tren?",
        "zh": "火车站在哪里？",
    },
    {
        "en": "I would like a coffee, please",
        "de": "Ich hätte gern einen Kaffee, bitte",
        "fr": "Je voudrais un café, s'il vous plaît",
        "es": "Quisiera un café, por favor",
        "zh": "请给我一杯咖啡",
    },
    {"en": "see you tomorrow", "de": "bis morgen", "fr": "à demain", "es": "hasta mañana", "zh": "明天见"},
    {
        "en": "how much does this cost?",
        "de": "Wie viel kostet das?",
        "fr": "Combien ça coûte ?",
        "es": "¿Cuánto cuesta esto?",
        "zh": "这个多少钱？",
    },
    {
        "en": "the weather is nice today",
        "de": "Heute ist schönes Wetter",
        "fr": "Il fait beau aujourd'hui",
        "es": "Hoy hace buen tiempo",
        "zh": "今天天气很好",
    },
    {
        "en": "I don't understand",
        "de": "Ich verstehe nicht",
        "fr": "Je ne comprends pas",
        "es": "No entiendo",
        "zh": "我不明白",
    },
    {
        "en": "happy birthday",
        "de": "alles Gute zum Geburtstag",
        "fr": "joyeux anniversaire",
        "es": "feliz cumpleaños",
        "zh": "生日快乐",
    },
    {
        "en": "the library opens at nine",
        "de": "Die Bibliothek öffnet um neun",
        "fr": "La bibliothèque ouvre à neuf heures",
        "es": "La biblioteca abre a las nueve",
        "zh": "图书馆九点开门",
    },
)
LANG_NAMES = {
    "en": {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "zh": "Chinese"},
    "de": {"en": "Englische", "de": "Deutsche", "fr": "Französische", "es": "Spanische", "zh": "Chinesische"},
    "fr": {"en": "anglais", "de": "allemand", "fr": "français", "es": "espagnol", "zh": "chinois"},
    "es": {"en": "inglés", "de": "alemán", "fr": "francés", "es": "español", "zh": "chino"},
    "zh": {"en": "英语", "de": "德语", "fr": "法语", "es": "西班牙语", "zh": "中文"},
}
# German "ins Englische" vs "auf Englisch": the question templates use the first, the answers the second.
_DE_ADVERB = {"en": "Englisch", "de": "Deutsch", "fr": "Französisch", "es": "Spanisch", "zh": "Chinesisch"}

# One-paragraph news items and their one-sentence summaries.
SUMMARY = {
    "en": (
        "On {weekday}, the council of {town} approved plans for {project}. {person}, who chairs the planning committee, said work would begin in {month}. The project will cost about {cost} thousand pounds, most of it paid by a regional grant. Some residents fear more traffic while the work is going on.",
        "{town}'s council approved {project}, which will start in {month} and cost about {cost} thousand pounds, mostly from a regional grant.",
        (
            "a footbridge over the river",
            "a new cycle path",
            "an extension to the library",
            "a community orchard",
        ),
    ),
    "de": (
        "Am {weekday} hat der Gemeinderat von {town} {project} beschlossen. {person} vom Bauausschuss sagte, die Arbeiten sollen im {month} beginnen. Das Vorhaben kostet rund {cost} tausend Euro und wird größtenteils aus Fördermitteln bezahlt. Einige Anwohner befürchten während der Bauzeit mehr Verkehr.",
        "Der Gemeinderat von {town} hat {project} beschlossen; die Arbeiten beginnen im {month} und kosten rund {cost} tausend Euro, größtenteils aus Fördermitteln.",
        (
            "den Bau einer Fußgängerbrücke",
            "den Bau eines neuen Radwegs",
            "den Anbau an die Bücherei",
            "das Anlegen einer Streuobstwiese",
        ),
    ),
    "fr": (
        "{weekday} soir, le conseil municipal de {town} a approuvé {project}. Selon {person}, de la commission des travaux, le chantier commencera en {month}. Le projet coûtera environ {cost} mille euros, financés en grande partie par une subvention régionale. Certains riverains craignent davantage de circulation pendant les travaux.",
        "Le conseil municipal de {town} a approuvé {project}, dont le chantier commencera en {month} pour environ {cost} mille euros, surtout financés par une subvention régionale.",
        (
            "la construction d'une passerelle",
            "une nouvelle piste cyclable",
            "l'agrandissement de la médiathèque",
            "la création d'un verger partagé",
        ),
    ),
    "es": (
        "El {weekday}, el pleno de {town} aprobó {project}. Según {person}, de la comisión de urbanismo, las obras empezarán en {month}. El proyecto costará unos {cost} mil euros, pagados en su mayoría con una subvención regional. Algunos vecinos temen más tráfico durante las obras.",
        "El pleno de {town} aprobó {project}, que empezará en {month} y costará unos {cost} mil euros, sobre todo con una subvención regional.",
        (
            "la construcción de una pasarela",
            "un nuevo carril bici",
            "la ampliación de la biblioteca",
            "un huerto comunitario",
        ),
    ),
    "zh": (
        "{weekday}，{town}政府批准了{project}。负责该项目的{person}表示，工程将在{month}开工。项目预计投资约{cost}万元，大部分来自上级补助。一些居民担心施工期间交通会更拥堵。",
        "{town}政府批准了{project}，将于{month}开工，投资约{cost}万元，主要来自上级补助。",
        ("修建一座人行桥", "新建一条自行车道", "扩建图书馆", "建设社区果园"),
    ),
}
_PACKS = {"en": lang_en, "de": lang_de, "fr": lang_fr, "es": lang_es, "zh": lang_zh}


def _pick(rng: random.Random, lang: str, key: str, **slots: str) -> str:
    return rng.choice(T[lang][key]).format(**slots)


def _wrap(rng: random.Random, lang: str, core: str) -> str:
    """The polite, complete form of an answer: a friendly opening and sometimes a closing line."""
    return rng.choice(T[lang]["polite"]) + core + rng.choice(T[lang]["closing"])


def arithmetic(rng: random.Random, lang: str) -> Item:
    op = rng.choice(("add", "sub", "mul", "pct"))
    if op == "add":
        a, b = rng.randint(12, 9999), rng.randint(12, 9999)
        c = a + b
    elif op == "sub":
        a, b = rng.randint(500, 9999), rng.randint(11, 499)
        c = a - b
    elif op == "mul":
        a, b = rng.randint(3, 99), rng.randint(3, 99)
        c = a * b
    else:
        a, b = rng.choice((5, 10, 15, 20, 25, 30, 40, 50, 75)), rng.randint(2, 60) * 20
        c = a * b // 100
    slots = {"a": str(a), "b": str(b), "c": str(c), "p": str(a), "n": str(b)}
    core = _pick(rng, lang, f"{op}_a", **slots)
    bad = c + rng.choice((-10, -2, -1, 1, 2, 10, 100))
    wrong = _pick(rng, lang, f"{op}_a", **{**slots, "c": str(bad)})
    k = rng.randint(2, 9)
    followup = (
        _pick(rng, lang, "more_q", k=str(k)),
        _pick(rng, lang, "more_a", c=str(c), k=str(k), d=str(c * k)),
    )
    return Item(
        lang,
        f"arithmetic_{op}",
        _pick(rng, lang, f"{op}_q", **slots),
        _wrap(rng, lang, core),
        core,
        wrong,
        followup=followup,
    )


def conversion(rng: random.Random, lang: str) -> Item:
    if rng.random() < 0.25:
        x = rng.choice(range(-20, 45, 5))
        y = x * 9 // 5 + 32
        core = _pick(rng, lang, "temp_a", x=str(x), y=str(y))
        wrong = _pick(rng, lang, "temp_a", x=str(x), y=str(x * 2 + 30))  # the "double it and add 30" shortcut
        return Item(
            lang,
            "convert_temperature",
            _pick(rng, lang, "temp_q", x=str(x)),
            _wrap(rng, lang, core),
            core,
            wrong,
        )
    pair = rng.choice(sorted(_FACTORS))
    x = (
        rng.choice((2, 3, 5, 8, 10, 12, 15, 20, 25, 42, 50, 100))
        if pair != ("l", "ml")
        else rng.choice((0.25, 0.5, 1.5, 2, 3))
    )
    y = x * _FACTORS[pair]
    units = _UNITS[lang]
    slots = {
        "x": _num(x, lang),
        "u1": units[pair[0]],
        "u2": units[pair[1]],
        "y": _num(round(y, 2), lang),
        "rule": _RULES[pair][lang],
    }
    core = _pick(rng, lang, "conv_a", **slots)
    wrong_y = x / _FACTORS[pair] if pair != ("l", "ml") else x * 100  # the inverted factor, or a lost zero
    wrong = _pick(rng, lang, "conv_a", **{**slots, "y": _num(round(wrong_y, 2), lang)})
    back = (_pick(rng, lang, "conv_q", x=slots["y"], u1=slots["u2"], u2=slots["u1"]), None)
    item = Item(
        lang,
        f"convert_{pair[0]}_{pair[1]}",
        _pick(rng, lang, "conv_q", **slots),
        _wrap(rng, lang, core),
        core,
        wrong,
    )
    if pair in (("km", "mi"), ("mi", "km"), ("kg", "lb"), ("lb", "kg")):
        inverse = (pair[1], pair[0])
        back_slots = {
            "x": slots["y"],
            "u1": slots["u2"],
            "u2": slots["u1"],
            "y": _num(round(round(y, 2) * _FACTORS[inverse], 2), lang),
            "rule": _RULES[inverse][lang],
        }
        item.followup = (back[0], _pick(rng, lang, "conv_a", **back_slots))
    return item


def definition(rng: random.Random, lang: str) -> Item:
    entries = GLOSSARY[lang]
    i = rng.randrange(len(entries))
    term, long, short = entries[i]
    other = entries[(i + rng.randint(1, len(entries) - 1)) % len(entries)]
    return Item(
        lang,
        "definition",
        _pick(rng, lang, "def_q", term=term),
        _wrap(rng, lang, long),
        short,
        other[1],  # the definition of another term: fluent, confident and wrong
        followup=(rng.choice(T[lang]["simpler_q"]), short),
    )


def translation(rng: random.Random, lang: str) -> Item:
    i = rng.randrange(len(PHRASES))
    target = rng.choice([code for code in LANGS if code != lang])
    src, dst = PHRASES[i][lang], PHRASES[i][target]
    other = PHRASES[(i + rng.randint(1, len(PHRASES) - 1)) % len(PHRASES)][target]
    name = LANG_NAMES[lang][target]
    answer_name = _DE_ADVERB[target] if lang == "de" else name
    core = _pick(rng, lang, "tr_a", src=src, dst=dst, target=answer_name)
    wrong = _pick(rng, lang, "tr_a", src=src, dst=other, target=answer_name)
    prompt = _pick(rng, lang, "tr_q", src=src, target=name)
    if lang == "de" and "auf" in prompt:
        prompt = prompt.replace(f"auf {name}", f"auf {_DE_ADVERB[target]}")
    instruction = {
        "en": f"Translate this into {name}.",
        "de": f"Übersetze das ins {name}.",
        "fr": f"Traduis ceci en {name}.",
        "es": f"Traduce esto al {name}.",
        "zh": f"请把这句话翻译成{name}。",
    }[lang]
    return Item(
        lang, "translation", prompt, _wrap(rng, lang, core), dst, wrong, instruction=instruction, input=src
    )


def howto(rng: random.Random, lang: str) -> Item:
    pack = _PACKS[lang]
    if lang == "en":
        task = rng.choice(sorted(lang_en._HOWTO_TASKS))
        steps_bank = lang_en._HOWTO_TASKS[task]
        ctx = {**pack.context(rng), "task": task}
        label = task
    else:
        ctx = {**pack.context(rng), **_recipe_ctx(pack, rng)}
        kinds = {
            "de": ("_RECIPES", "art", "gericht"),
            "fr": ("_RECIPES", "sorte", "plat"),
            "es": ("_RECIPES", "clase", "plato"),
            "zh": ("_RECIPES", "zhonglei", "cai"),
        }[lang]
        steps_bank = getattr(pack, kinds[0])[ctx[kinds[1]]][1]
        label = ctx[kinds[2]]
        task = label
    steps = [
        capitalize(render(rng.choice(s) if isinstance(s, tuple) else s, rng, ctx, pack.POOLS))
        for s in steps_bank
    ]
    intro = _pick(rng, lang, "howto_intro", task=task)
    numbered = "\n".join(f"{n}. {s}" for n, s in enumerate(steps, 1))
    core = f"{intro}\n{numbered}"
    shuffled = steps[:]
    while shuffled == steps:
        rng.shuffle(shuffled)
    wrong = f"{intro}\n" + "\n".join(
        f"{n}. {s}" for n, s in enumerate(shuffled[:-1], 1)
    )  # out of order, one missing
    return Item(
        lang, "howto", _pick(rng, lang, "howto_q", task=label), _wrap(rng, lang, core), numbered, wrong
    )


def _recipe_ctx(pack, rng: random.Random) -> dict[str, str]:
    return pack._recipe_context(rng)


def summary(rng: random.Random, lang: str) -> Item:
    para_t, sum_t, projects = SUMMARY[lang]
    ctx = _PACKS[lang].context(rng)
    facts = {
        "weekday": ctx.get("weekday") or rng.choice(("Monday", "Tuesday", "Thursday")),
        "town": ctx["town"],
        "person": ctx["person"],
        "month": ctx["month"],
        "project": rng.choice(projects),
        "cost": str(rng.randint(2, 9) * 50),
    }
    if lang == "en":
        facts["weekday"] = rng.choice(("Monday", "Tuesday", "Wednesday", "Thursday"))
    paragraph = para_t.format(**facts)
    if lang == "fr":
        paragraph = capitalize(paragraph)
    core = sum_t.format(**facts)
    wrong_facts = {**facts, "cost": str(int(facts["cost"]) * 10), "month": _PACKS[lang].context(rng)["month"]}
    if wrong_facts["month"] == facts["month"]:
        wrong_facts["cost"] = str(int(facts["cost"]) + 50)
    wrong = sum_t.format(**wrong_facts)
    instruction = rng.choice(T[lang]["sum_instr"])
    sep = "\n\n"
    return Item(
        lang,
        "summary",
        instruction + sep + paragraph,
        _wrap(rng, lang, core),
        core,
        wrong,
        instruction=instruction,
        input=paragraph,
    )


TASKS = {
    "arithmetic": arithmetic,
    "conversion": conversion,
    "definition": definition,
    "translation": translation,
    "howto": howto,
    "summary": summary,
}


def make_item(rng: random.Random, lang: str) -> Item:
    task = rng.choice(sorted(TASKS))
    item = TASKS[task](rng, lang)
    if rng.random() < 0.5:  # politeness alone must not tell the good answer from the wrong one
        item.wrong = _wrap(rng, lang, item.wrong)
    return item


def pick_lang(rng: random.Random) -> str:
    """English about 40% of the time, each other language about 15%."""
    x = rng.random()
    return "en" if x < 0.4 else LANGS[1 + int((x - 0.4) / 0.15) % 4]
