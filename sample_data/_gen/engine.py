"""A small template engine: inline alternatives, named slots and numbers, rendered with a seeded RNG.

Template syntax (kept tiny on purpose, so that the phrase banks stay readable):

- ``[a|b|c]`` picks one alternative; an empty one (``[very |]``) drops the words.
- ``{key}`` takes the page-level value ``ctx[key]`` when there is one, otherwise a random entry of
  the pool ``pools[key]`` (pool entries may themselves hold templates).
- ``{12-90}`` is a random whole number in that range.

Many alternatives and slots per sentence keep pages built from the same bank far apart in
word 5-gram space, which is what a near-duplicate detector looks at.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

ALT_RE = re.compile(r"\[([^\[\]]*)\]")
SLOT_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
NUM_RE = re.compile(r"\{(\d+)-(\d+)\}")
_SPACES_RE = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE_PUNCT_RE = re.compile(r" +([,.])")  # not before :;!? (French puts a space there)

# Han, Hiragana, Katakana: the same ranges as curate.text, so that word counts agree with curate.
_CJK = "\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
WORD_RE = re.compile(f"[{_CJK}]|[^\\s{_CJK}]+")
_EDGE_PUNCT_RE = re.compile(r"^[^\w]+|[^\w]+$")


def render(template: str, rng: random.Random, ctx: dict[str, str], pools: dict[str, Sequence[str]]) -> str:
    """Render one template: slots and numbers first, then alternatives, then tidy the spacing."""
    text = template
    for _ in range(4):  # pool entries may contain slots; four levels is plenty
        if "{" not in text:
            break
        text = NUM_RE.sub(lambda m: str(rng.randint(int(m.group(1)), int(m.group(2)))), text)
        text = SLOT_RE.sub(lambda m: _slot(m.group(1), rng, ctx, pools), text)
    while "[" in text:
        text = ALT_RE.sub(lambda m: rng.choice(m.group(1).split("|")), text)
    if "{" in text or "}" in text or "[" in text or "]" in text:
        raise ValueError(f"unresolved template: {template!r} -> {text!r}")
    text = _SPACES_RE.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT_RE.sub(r"\1", text)
    return text.strip()


def _slot(key: str, rng: random.Random, ctx: dict[str, str], pools: dict[str, Sequence[str]]) -> str:
    if key in ctx:
        return ctx[key]
    if key in pools:
        return rng.choice(pools[key])
    raise KeyError(f"template slot {{{key}}} has no page value and no pool")


def names(text: str) -> tuple[str, ...]:
    """A pool written as one space-separated string (for banks of single-word names)."""
    return tuple(text.split())


def capitalize(sentence: str) -> str:
    """Upper-case the first letter (Latin, Greek and Cyrillic scripts; a no-op for CJK)."""
    for i, ch in enumerate(sentence):
        if ch.isalpha():
            return sentence[:i] + ch.upper() + sentence[i + 1 :]
        if not ch.isspace() and ch not in "\"'«¿¡“„":
            return sentence
    return sentence


def words(text: str) -> list[str]:
    """Words as curate counts them: whitespace tokens, each CJK character a word of its own."""
    return WORD_RE.findall(text)


def count_words(text: str) -> int:
    return len(WORD_RE.findall(text))


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    """Word n-grams of lower-cased words with edge punctuation removed (the truth files' Jaccard)."""
    toks = [_EDGE_PUNCT_RE.sub("", w.lower()) for w in WORD_RE.findall(text)]
    toks = [t for t in toks if t]
    if len(toks) < n:
        return {tuple(toks)} if toks else set()
    return {tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)}


def jaccard(a: set, b: set) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


@dataclass(frozen=True)
class Section:
    """One paragraph's worth of sentence templates; ``pick`` sentences are drawn from it."""

    templates: tuple[str | tuple[str, ...], ...]  # a tuple entry: paraphrases of one sentence
    pick: tuple[int, int] = (2, 4)
    ordered: bool = True  # keep the bank's order among the drawn sentences (False: shuffle them)
    numbered: bool = False  # render as "1. ...", one step per line


@dataclass(frozen=True)
class Genre:
    """A kind of page: title templates, an opening, shuffled middle sections and a closing.

    ``context`` adds page values of its own (a product, a dish); ``topic`` builds, from those
    values, a section that always follows the opening (a recipe's steps, an explainer's facts).
    """

    name: str
    titles: tuple[str, ...]
    intro: Section
    middle: tuple[Section, ...]
    outro: Section
    middle_pick: tuple[int, int] = (2, 4)
    ordered_middle: bool = False
    context: Callable[[random.Random], dict[str, str]] | None = None
    topic: Callable[[dict[str, str], random.Random], Section] | None = None


@dataclass
class Page:
    lang: str
    genre: str
    title: str
    paragraphs: list[str] = field(default_factory=list)

    def body(self) -> str:
        return "\n\n".join(self.paragraphs)


def _one(template: str | tuple[str, ...], rng: random.Random) -> str:
    return rng.choice(template) if isinstance(template, tuple) else template


def section_sentences(
    section: Section, rng: random.Random, k: int, used: set | None = None
) -> list[tuple[int, str | tuple[str, ...]]]:
    """Draw ``k`` templates of a section that this page has not used yet, with their bank index."""
    pool = [(i, t) for i, t in enumerate(section.templates) if used is None or t not in used]
    chosen = rng.sample(pool, min(k, len(pool)))
    if section.ordered:
        chosen.sort()
    if used is not None:
        used.update(t for _, t in chosen)
    return chosen


def build_page(
    pack,
    genre_name: str,
    rng: random.Random,
    min_words: int,
    max_words: int,
    ctx: dict[str, str] | None = None,
) -> Page:
    """Build one page of ``genre_name`` from a language pack, between ``min_words`` and ``max_words``.

    A pack is a module with ``CODE``, ``JOIN`` (sentence separator), ``POOLS``, ``context(rng)``
    and ``GENRES``. The opening (and the topic section, if any) and the closing frame a random
    subset of the middle sections in random order; sentences are then added or dropped until the
    length is inside the bounds (as far as the bank allows). ``ctx`` shares page values (one
    town) between the parts of a long page.
    """
    genre: Genre = pack.GENRES[genre_name]
    ctx = dict(ctx) if ctx is not None else pack.context(rng)
    if genre.context is not None:
        ctx.update(genre.context(rng))
    pools = pack.POOLS
    used: set = set()

    def fill(section: Section, k: int) -> list[tuple[int, str]]:
        drawn = section_sentences(section, rng, k, used)
        return [(i, capitalize(render(_one(t, rng), rng, ctx, pools))) for i, t in drawn]

    middle_idx = list(range(len(genre.middle)))
    k_mid = min(rng.randint(*genre.middle_pick), len(middle_idx))
    chosen = rng.sample(middle_idx, k_mid)
    if genre.ordered_middle:
        chosen.sort()
    spare = [i for i in middle_idx if i not in chosen]
    head = [genre.intro] + ([genre.topic(ctx, rng)] if genre.topic is not None else [])
    plan = head + [genre.middle[i] for i in chosen] + [genre.outro]
    paras = [fill(s, rng.randint(*s.pick)) for s in plan]

    def total() -> int:
        return sum(count_words(s) for p in paras for _, s in p)

    while total() < min_words:
        growable = [i for i, s in enumerate(plan) if any(t not in used for t in s.templates)]
        if spare and (not growable or rng.random() < 0.35):
            sec = genre.middle[spare.pop(rng.randrange(len(spare)))]
            at = len(plan) - 1
            if genre.ordered_middle:  # keep the bank's order (a history runs forward in time)
                rank = genre.middle.index(sec)
                at = next(
                    (i for i in range(len(head), len(plan) - 1) if genre.middle.index(plan[i]) > rank), at
                )
            plan.insert(at, sec)
            paras.insert(at, fill(sec, rng.randint(*sec.pick)))
            continue
        if not growable:
            break
        i = rng.choice(growable)
        paras[i].extend(fill(plan[i], 1))
        if plan[i].ordered:
            paras[i].sort()
    while total() > max_words:
        longest = max(range(len(paras)), key=lambda i: len(paras[i]))
        if len(paras[longest]) <= 1:
            break
        paras[longest].pop()

    title = capitalize(render(rng.choice(genre.titles), rng, ctx, pools))
    out = []
    for sec, sentences in zip(plan, paras, strict=True):
        if not sentences:
            continue
        texts = [s for _, s in sentences]
        if sec.numbered:
            out.append("\n".join(f"{n}. {s}" for n, s in enumerate(texts, 1)))
        else:
            out.append(pack.JOIN.join(texts))
    return Page(pack.CODE, genre.name, title, out)
