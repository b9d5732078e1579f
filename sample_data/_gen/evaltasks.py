"""Held-out eval data for scoring recipes per domain: a chat eval set and two multiple-choice tasks.

- ``build_chat_eval``: conversations (user question, correct assistant answer) in the five chat
  languages, none sharing a prompt with the training chats or the preference eval pairs.
- ``build_arith_task``: "12 + 7 =" with four numeric choices (the answer and three near misses),
  asked in English, German, French, Spanish and Chinese.
- ``build_antonym_task``: "The opposite of hot is" with four words of the same language (the
  antonym and three other words of the bank), in English, German, French, Spanish and Chinese.

Task items are ``{"context", "choices", "answer", "lang"}`` (``answer``: index of the right choice),
scored as lm-eval scores multiple choice: context + " " + choice. Answers are right by
construction (computed, or hand-written pairs).
"""

from __future__ import annotations

import json
import random

from .chat import _dump, _rng
from .tasks import make_item, pick_lang

TASK_LANGS = ("en", "de", "fr", "es", "zh")


def build_chat_eval(seed: int, n: int, exclude: set[str]) -> tuple[list[bytes], list[dict]]:
    """Held-out one-turn chats ``{"messages": [user, assistant]}`` with the full correct answer."""
    rng = _rng(seed, "chat-eval")
    lines: list[bytes] = []
    truth: list[dict] = []
    while len(lines) < n:
        item = make_item(rng, pick_lang(rng))
        if item.prompt in exclude:
            continue
        exclude.add(item.prompt)
        messages = [{"role": "user", "content": item.prompt}, {"role": "assistant", "content": item.answer}]
        lines.append(_dump({"messages": messages}))
        truth.append(
            {"file": "eval/chat_eval.jsonl", "line": len(lines), "lang": item.lang, "task": item.task}
        )
    return lines, truth


ARITH_ASK = {
    "en": "Question: What is {a} {op} {b}? Answer:",
    "de": "Frage: Wie viel ist {a} {op} {b}? Antwort:",
    "fr": "Question : combien font {a} {op} {b} ? Réponse :",
    "es": "Pregunta: ¿Cuánto es {a} {op} {b}? Respuesta:",
    "zh": "问题：{a} {op} {b} 等于多少？答案：",
}


def _item(rng: random.Random, context: str, answer: str, wrong: list[str], lang: str) -> dict:
    choices = [answer, *wrong]
    rng.shuffle(choices)
    return {"context": context, "choices": choices, "answer": choices.index(answer), "lang": lang}


def build_arith_task(seed: int, n: int) -> list[bytes]:
    rng = _rng(seed, "arith-task")
    rows: list[bytes] = []
    seen: set[str] = set()
    while len(rows) < n:
        lang = TASK_LANGS[len(rows) % len(TASK_LANGS)]
        op = rng.choice("+-×")
        a, b = rng.randint(2, 60), rng.randint(2, 40 if op != "×" else 12)
        if op == "-" and b > a:
            a, b = b, a
        value = a + b if op == "+" else a - b if op == "-" else a * b
        context = ARITH_ASK[lang].format(a=a, op=op, b=b)
        if context in seen:
            continue
        seen.add(context)
        near = sorted({value + d for d in (-10, -2, -1, 1, 2, 10) if value + d >= 0} - {value})
        wrong = [str(x) for x in rng.sample(near, 3)]
        rows.append(json.dumps(_item(rng, context, str(value), wrong, lang), ensure_ascii=False).encode())
    return rows


# Hand-written antonym pairs per language (both directions are asked).
ANTONYMS = {
    "en": [
        ("hot", "cold"),
        ("big", "small"),
        ("early", "late"),
        ("fast", "slow"),
        ("open", "closed"),
        ("light", "dark"),
        ("happy", "sad"),
        ("full", "empty"),
        ("high", "low"),
        ("old", "young"),
        ("long", "short"),
        ("wet", "dry"),
        ("rich", "poor"),
        ("strong", "weak"),
        ("hard", "soft"),
        ("clean", "dirty"),
        ("thick", "thin"),
        ("loud", "quiet"),
        ("near", "far"),
        ("cheap", "expensive"),
    ],
    "de": [
        ("heiß", "kalt"),
        ("groß", "klein"),
        ("früh", "spät"),
        ("schnell", "langsam"),
        ("offen", "geschlossen"),
        ("hell", "dunkel"),
        ("froh", "traurig"),
        ("voll", "leer"),
        ("hoch", "niedrig"),
        ("alt", "jung"),
        ("lang", "kurz"),
        ("nass", "trocken"),
        ("reich", "arm"),
        ("stark", "schwach"),
        ("hart", "weich"),
        ("sauber", "schmutzig"),
        ("dick", "dünn"),
        ("laut", "leise"),
        ("nah", "fern"),
        ("billig", "teuer"),
    ],
    "fr": [
        ("chaud", "froid"),
        ("grand", "petit"),
        ("tôt", "tard"),
        ("rapide", "lent"),
        ("ouvert", "fermé"),
        ("clair", "sombre"),
        ("heureux", "triste"),
        ("plein", "vide"),
        ("haut", "bas"),
        ("vieux", "jeune"),
        ("long", "court"),
        ("mouillé", "sec"),
        ("riche", "pauvre"),
        ("fort", "faible"),
        ("dur", "mou"),
        ("propre", "sale"),
        ("épais", "mince"),
        ("bruyant", "silencieux"),
        ("proche", "lointain"),
        ("bon marché", "cher"),
    ],
    "es": [
        ("caliente", "frío"),
        ("grande", "pequeño"),
        ("temprano", "tarde"),
        ("rápido", "lento"),
        ("abierto", "cerrado"),
        ("claro", "oscuro"),
        ("feliz", "triste"),
        ("lleno", "vacío"),
        ("alto", "bajo"),
        ("viejo", "joven"),
        ("largo", "corto"),
        ("mojado", "seco"),
        ("rico", "pobre"),
        ("fuerte", "débil"),
        ("duro", "blando"),
        ("limpio", "sucio"),
        ("grueso", "delgado"),
        ("ruidoso", "silencioso"),
        ("cerca", "lejos"),
        ("barato", "caro"),
    ],
    "zh": [
        ("热", "冷"),
        ("大", "小"),
        ("早", "晚"),
        ("快", "慢"),
        ("开", "关"),
        ("明", "暗"),
        ("高兴", "难过"),
        ("满", "空"),
        ("高", "低"),
        ("老", "年轻"),
        ("长", "短"),
        ("湿", "干"),
        ("富", "穷"),
        ("强", "弱"),
        ("硬", "软"),
        ("干净", "脏"),
        ("厚", "薄"),
        ("吵", "安静"),
        ("近", "远"),
        ("便宜", "贵"),
    ],
}
ANTONYM_ASK = {
    "en": [
        "The opposite of \u201c{w}\u201d is",
        "Question: What is the opposite of \u201c{w}\u201d? Answer:",
    ],
    "de": [
        "Das Gegenteil von \u201e{w}\u201c ist",
        "Frage: Was ist das Gegenteil von \u201e{w}\u201c? Antwort:",
    ],
    "fr": [
        "Le contraire de \u00ab {w} \u00bb est",
        "Question : quel est le contraire de \u00ab {w} \u00bb ? Réponse :",
    ],
    "es": [
        "Lo contrario de \u00ab{w}\u00bb es",
        "Pregunta: ¿Qué es lo contrario de \u00ab{w}\u00bb? Respuesta:",
    ],
    "zh": ["\u201c{w}\u201d的反义词是", "问题：\u201c{w}\u201d的反义词是什么？答案："],
}


def build_antonym_task(seed: int) -> list[bytes]:
    """Every pair of every language, asked both ways in both phrasings, in a seeded order."""
    rng = _rng(seed, "antonym-task")
    rows: list[dict] = []
    for lang in TASK_LANGS:
        pairs = ANTONYMS[lang]
        words = sorted({w for pair in pairs for w in pair})
        for a, b in pairs:
            for word, answer in ((a, b), (b, a)):
                ask = rng.choice(ANTONYM_ASK[lang])
                others = [w for w in words if w not in (word, answer)]
                rows.append(_item(rng, ask.format(w=word), answer, rng.sample(others, 3), lang))
    rng.shuffle(rows)
    return [json.dumps(r, ensure_ascii=False).encode() for r in rows]
