"""The web corpus: good pages per language, bad pages of many kinds, duplicates, bad lines, truth.

Every record is built from a seeded RNG derived from the corpus seed and the record's role, so the
output is byte-identical from run to run. The generator also keeps each page's *clean body* (the
page before HTML, boilerplate lines and other furniture were added) so that tests can check the
language and quality promises on exactly the text a clean stage should leave.
"""

from __future__ import annotations

import functools
import json
import random
import re
import unicodedata
from dataclasses import dataclass, field

from . import lang_de, lang_en, lang_es, lang_fr, lang_ja, lang_other, lang_zh
from .engine import Page, build_page, capitalize, count_words, jaccard, render, shingles, words

PACKS = {"en": lang_en, "de": lang_de, "fr": lang_fr, "es": lang_es, "zh": lang_zh, "ja": lang_ja}
WRONG_PACKS = lang_other.PACKS  # it, pt, nl, ru: good pages, but outside the keep-list
CJK = {"zh", "ja"}

# (min, max) words per length class; for zh/ja a word is a character (curate.text.words).
LENGTHS = {
    "latin": {"short": (150, 185), "medium": (185, 400), "long": (600, 1100)},
    "cjk": {"short": (300, 380), "medium": (380, 800), "long": (1000, 1700)},
}
LENGTH_MIX = (("short", 0.83), ("medium", 0.15), ("long", 0.02))
OMNIBUS_GENRES = ("travel", "history", "news", "diary")

N_FILES = 6


@dataclass
class WebRecord:
    """One line of a web file, with what the generator knows about it (its truth)."""

    url: str
    title: str
    date: str
    text: str
    clean: str  # the page without furniture: what a clean stage should leave (modulo PII masks)
    lang: str | None
    status: str  # good | bad
    defect: str | None = None
    genre: str | None = None
    html: bool = False
    boilerplate: list[str] = field(default_factory=list)
    pii: list[dict[str, str]] = field(default_factory=list)
    # duplicates: index of the original among the base records, and how the copy was made
    base: int = -1
    dup: str = "original"  # original | exact | near
    edit: str | None = None
    jaccard: float | None = None

    def json_line(self) -> bytes:
        row = {"url": self.url, "title": self.title, "date": self.date, "text": self.text}
        return json.dumps(row, ensure_ascii=False).encode("utf-8")


def _rng(seed: int, *parts: object) -> random.Random:
    """An independent, reproducible RNG per purpose (string seeds hash with SHA-512)."""
    return random.Random(":".join(str(p) for p in (seed, *parts)))


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:60].rstrip("-")


def _date(rng: random.Random) -> str:
    return f"{rng.randint(2015, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _url(rng: random.Random, lang: str | None, title: str, section: str) -> str:
    host = rng.choice(_HOSTS.get(lang or "", _HOSTS[""]))
    slug = _slug(title)
    if not slug or lang in CJK:
        slug = f"{rng.randint(10000, 99999)}"
    return f"https://{host}/{section}/{rng.randint(2015, 2024)}/{slug}"


_HOSTS = {
    "en": ("www.valleypost.example.com", "news.rivertowns.example.org", "blog.slowtravel.example.net"),
    "de": ("www.talbote.example.de", "blog.wanderlust.example.com", "nachrichten.example.org"),
    "fr": ("www.lecourrierdupays.example.fr", "blog.carnets.example.com", "actu.example.org"),
    "es": ("www.diariodelvalle.example.es", "blog.rutas.example.com", "noticias.example.org"),
    "zh": ("www.xiaozhen.example.cn", "blog.lvxing.example.com", "news.example.org"),
    "ja": ("www.machi-news.example.jp", "blog.tabi.example.com", "news.example.org"),
    "": ("www.example.com", "shop.example.net", "files.example.org", "cdn.example.com"),
}


# --- good pages --------------------------------------------------------------------------------------
def _length_class(rng: random.Random) -> str:
    x = rng.random()
    for name, p in LENGTH_MIX:
        if x < p:
            return name
        x -= p
    return LENGTH_MIX[-1][0]


def good_page(pack, rng: random.Random, length: str) -> Page:
    """A well-formed page of one language; long pages join several genres about one town."""
    lo, hi = LENGTHS["cjk" if pack.CODE in CJK else "latin"][length]
    if length != "long":
        genre = rng.choice(sorted(pack.GENRES))
        return build_page(pack, genre, rng, lo, hi)
    ctx = pack.context(rng)
    genres = [g for g in OMNIBUS_GENRES if g in pack.GENRES]
    rng.shuffle(genres)
    parts: list[str] = []
    title = ""
    for g in genres:
        sub = build_page(pack, g, rng, lo // len(genres) + 40, hi // len(genres), ctx=ctx)
        title = title or sub.title
        parts.append(sub.title)  # a sub-heading line (no terminal punctuation, as on real pages)
        parts.extend(sub.paragraphs)
        if sum(count_words(p) for p in parts) >= lo:
            break
    return Page(pack.CODE, "omnibus", title, parts)


def _pii_values(pack, rng: random.Random) -> dict[str, str]:
    first = rng.choice(pack.EMAIL_NAMES)
    last = rng.choice(pack.EMAIL_NAMES)
    sep = rng.choice((".", "_", ""))
    ipv4 = f"{rng.choice(('192.0.2', '198.51.100', '203.0.113'))}.{rng.randint(1, 254)}"
    ipv6 = f"2001:db8:{rng.randint(1, 0xFFFF):x}::{rng.randint(1, 0xFFF):x}"
    return {
        "email": f"{first}{sep}{last}@{rng.choice(('example.com', 'example.org', 'example.net'))}".lower(),
        "phone": render(rng.choice(pack.PHONES), rng, {}, {}),
        "ip": ipv4 if rng.random() < 0.75 else ipv6,
        "card": rng.choice(("4111 1111 1111 1111", "5555 5555 5555 4444", "4012-8888-8888-1881")),
    }


_PII_KIND = {"email": "email", "phone": "phone", "ip": "ip", "card": "card"}


def add_pii(page: Page, pack, rng: random.Random) -> list[dict[str, str]]:
    """Append a sentence with made-up contact data to one paragraph; returns what was planted."""
    values = _pii_values(pack, rng)
    template = rng.choice(pack.PII)
    ctx = {**pack.context(rng), **values}
    sentence = capitalize(render(template, rng, ctx, pack.POOLS))
    planted = [
        {"kind": "ipv6" if k == "ip" and ":" in v else _PII_KIND[k], "value": v}
        for k, v in values.items()
        if "{" + k + "}" in template
    ]
    i = rng.randrange(len(page.paragraphs))
    sep = "\n" if re.match(r"^1\. ", page.paragraphs[i]) else pack.JOIN
    page.paragraphs[i] = page.paragraphs[i] + sep + sentence
    return planted


def boilerplate_lines(pack, rng: random.Random) -> tuple[list[str], list[str]]:
    """Lines to put above and below a page: navigation on top, banners and footers below."""
    ctx = pack.context(rng)
    bp = pack.BOILERPLATE
    top = [render(rng.choice(bp["nav"]), rng, ctx, pack.POOLS)] if rng.random() < 0.6 else []
    bottom_kinds = rng.sample(["cookie", "newsletter", "footer", "footer"], rng.randint(1, 3))
    bottom: list[str] = []
    for kind in bottom_kinds:
        line = render(rng.choice(bp[kind]), rng, ctx, pack.POOLS)
        if line not in bottom and line not in top:
            bottom.append(line)
    return top, bottom


_SCRIPTS = (
    "<script>window.dataLayer = window.dataLayer || []; function track(name) { dataLayer.push({event: name}); }</script>",
    '<script type="text/javascript">var ads = {slot: "top", size: [728, 90]}; loadAds(ads);</script>',
    "<script>document.addEventListener('DOMContentLoaded', function () { initMenu(); });</script>",
)
_STYLES = (
    "<style>.article p { margin: 0 0 1em; } .nav { display: flex; }</style>",
    "<style>body { font-family: sans-serif; color: #222; }</style>",
)


def _escape(text: str, rng: random.Random, lang: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if rng.random() < 0.5:
        text = text.replace('"', "&quot;")
    if rng.random() < 0.5:
        text = text.replace("'", "&#39;")
    if lang == "fr" and rng.random() < 0.5:
        text = text.replace("é", "&eacute;")
    if rng.random() < 0.4:
        text = text.replace(" ", "&nbsp;", 2)
    return text


def _inline_markup(text: str, rng: random.Random) -> str:
    """Wrap a word or two in <b>/<em>/<a> so that tags also appear inside sentences."""
    spaced = text.split(" ")
    if len(spaced) < 6:
        return text
    i = rng.randrange(0, len(spaced) - 2)
    tag = rng.choice(("b", "em", "a"))
    open_tag = f'<a href="https://www.example.com/{rng.randint(100, 999)}">' if tag == "a" else f"<{tag}>"
    spaced[i] = open_tag + spaced[i]
    spaced[i + 1] = spaced[i + 1] + f"</{tag}>"
    return " ".join(spaced)


def to_html(title: str, paragraphs: list[str], rng: random.Random, lang: str) -> str:
    """The page as an HTML fragment, one block element per line."""
    lines: list[str] = []
    if rng.random() < 0.6:
        lines.append(rng.choice(_SCRIPTS))
    if rng.random() < 0.3:
        lines.append(rng.choice(_STYLES))
    lines.append(f"<h1>{_escape(title, rng, lang)}</h1>")
    for para in paragraphs:
        if re.match(r"^1\. ", para):
            items = [re.sub(r"^\d+\. ", "", s) for s in para.split("\n")]
            lines.append("<ol>")
            lines.extend(f"<li>{_escape(s, rng, lang)}</li>" for s in items)
            lines.append("</ol>")
        elif (
            "\n" not in para
            and count_words(para) < 12
            and not para.endswith((".", "!", "?", "。", "！", "？"))
        ):
            lines.append(f"<h2>{_escape(para, rng, lang)}</h2>")
        else:
            body = _escape(para, rng, lang)
            if rng.random() < 0.5:
                body = _inline_markup(body, rng)
            lines.append(f"<p>{body}</p>")
    if rng.random() < 0.4:
        lines.append(f"<!-- ad slot {rng.randint(1, 9)} -->")
    return "\n".join(lines)


def make_good(pack, rng: random.Random, *, furniture: bool = True) -> WebRecord:
    page = good_page(pack, rng, _length_class(rng))
    # Contact data only on longer pages: a phone number is several non-alphabetic tokens, which
    # would tip a 150-word page under Gopher's 80%-alphabetic-words rule before masking.
    long_enough = count_words(page.body()) >= (400 if pack.CODE in CJK else 200)
    pii = add_pii(page, pack, rng) if furniture and long_enough and rng.random() < 0.45 else []
    clean = page.body()
    rec = WebRecord(
        url=_url(rng, pack.CODE, page.title, page.genre),
        title=page.title,
        date=_date(rng),
        text=clean,
        clean=clean,
        lang=pack.CODE,
        status="good",
        genre=page.genre,
        pii=pii,
    )
    if not furniture:
        return rec
    top: list[str] = []
    bottom: list[str] = []
    if rng.random() < 0.25:
        top, bottom = boilerplate_lines(pack, rng)
        rec.boilerplate = top + bottom
    if rng.random() < 0.15:
        rec.html = True
        body = to_html(page.title, page.paragraphs, rng, pack.CODE)
        rec.text = "\n".join([*(f"<div>{_escape(t, rng, pack.CODE)}</div>" for t in top), body, *bottom])
    elif top or bottom:
        rec.text = "\n".join([*top, "", clean, "", *bottom]).strip("\n")
    return rec


# --- bad pages ---------------------------------------------------------------------------------------
def _spam_ctx(pack, rng: random.Random) -> dict[str, str]:
    return {**pack.context(rng), "category": rng.choice(pack.SPAM_CATEGORIES)}


def spam_keywords(pack, rng: random.Random) -> str:
    ctx = _spam_ctx(pack, rng)
    kws = [render(w, rng, ctx, pack.POOLS) for w in pack.SPAM_WORDS]
    sep = rng.choice((", ", " | ", " ", " - "))
    lines = [sep.join(rng.choice(kws) for _ in range(rng.randint(8, 20))) for _ in range(rng.randint(3, 6))]
    return "\n".join(lines)


def spam_repeated(pack, rng: random.Random) -> str:
    ctx = _spam_ctx(pack, rng)
    chosen = [render(t, rng, ctx, pack.POOLS) for t in rng.sample(pack.SPAM_LINES, 3)]
    lines = [chosen[i % len(chosen)] for i in range(rng.randint(8, 24))]
    return "\n".join(lines)


def spam_hashtags(pack, rng: random.Random) -> str:
    ctx = _spam_ctx(pack, rng)
    tags = ["#" + re.sub(r"\s+", "", render(w, rng, ctx, pack.POOLS)) for w in pack.SPAM_WORDS]
    lead = render(rng.choice(pack.SPAM_LINES), rng, ctx, pack.POOLS)
    lines = [lead] + [" ".join(rng.sample(tags, min(len(tags), 8))) for _ in range(rng.randint(3, 8))]
    return "\n".join(lines)


def boilerplate_only(pack, rng: random.Random) -> str:
    ctx = pack.context(rng)
    pool = [t for kind in sorted(pack.BOILERPLATE) for t in pack.BOILERPLATE[kind]]
    return "\n".join(
        render(t, rng, ctx, pack.POOLS) for t in rng.sample(pool, rng.randint(5, min(12, len(pool))))
    )


def too_short(pack, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return render(rng.choice(pack.SHORT), rng, pack.context(rng), pack.POOLS)
    page = build_page(pack, rng.choice(sorted(pack.GENRES)), rng, 0, 0)
    first = page.paragraphs[0]
    return (
        first
        if count_words(first) < 50
        else render(rng.choice(pack.SHORT), rng, pack.context(rng), pack.POOLS)
    )


def list_like(pack, rng: random.Random) -> str:
    ctx = {**pack.context(rng), "stars": str(rng.randint(1, 5))}
    items = [render(t, rng, ctx, pack.POOLS) for t in pack.LIST_ITEMS]
    return "\n".join(
        rng.choice(items) if rng.random() < 0.3 else items[i % len(items)] for i in range(rng.randint(15, 40))
    )


_LATIN_SYL = (
    "lo re ip sum do lor sit am con sec tu ad ve ni ma gna al qua ut en im mi nus qui tor ex er ci ta la bo"
)
_SYLLABLES = tuple(_LATIN_SYL.split())


def _pseudo_words(rng: random.Random, n: int) -> list[str]:
    return ["".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4))) for _ in range(n)]


def lorem_ipsum(pack, rng: random.Random) -> str:
    """A template page whose body was never filled in: the literal marker plus made-up syllables."""
    heading = build_page(pack, rng.choice(sorted(pack.GENRES)), rng, 0, 0).title
    paras = [heading]
    for i in range(rng.randint(2, 3)):
        words = _pseudo_words(rng, rng.randint(30, 60))
        if i == 0:
            words = ["Lorem", "ipsum", *words]
        sentences = []
        while words:
            k = rng.randint(6, 14)
            sentences.append(capitalize(" ".join(words[:k])) + ".")
            words = words[k:]
        paras.append(" ".join(sentences))
    return "\n\n".join(paras)


_IDENTS = (
    "cart",
    "user",
    "item",
    "order",
    "price",
    "total",
    "menu",
    "slide",
    "token",
    "count",
    "page",
    "query",
    "row",
    "node",
)


def _ident(rng: random.Random) -> str:
    a, b = rng.sample(_IDENTS, 2)
    return a + b.capitalize()


def code_page(rng: random.Random) -> str:
    """A page that is mostly source code (curly braces, semicolons), as scraped from a dev site."""
    blocks = []
    for _ in range(rng.randint(2, 4)):
        kind = rng.choice(("js", "css", "c"))
        f, a, b = _ident(rng), _ident(rng), _ident(rng)
        if kind == "js":
            blocks.append(
                f"function {f}({a}) {{\n  let {b} = 0;\n  for (const x of {a}) {{\n    {b} += x.value * {rng.randint(2, 9)};\n  }}\n"
                f"  return {b};\n}}\nconsole.log({f}([{{value: {rng.randint(1, 99)}}}]));"
            )
        elif kind == "css":
            blocks.append(
                f".{a} {{\n  margin: {rng.randint(0, 20)}px;\n  color: #{rng.randint(0, 0xFFFFFF):06x};\n}}\n"
                f"#{b} > li {{ display: inline-block; padding: {rng.randint(1, 9)}px; }}"
            )
        else:
            blocks.append(
                f"int {f}(int *{a}, int n) {{\n  int {b} = 0;\n  for (int i = 0; i < n; i++) {{\n    if ({a}[i] > {rng.randint(0, 50)}) {{ {b}++; }}\n  }}\n"
                f"  return {b};\n}}"
            )
    if rng.random() < 0.5:
        blocks.insert(0, rng.choice(("Example:", "Code below.", "Snippet", "Usage")))
    return "\n\n".join(blocks)


def gibberish(rng: random.Random) -> str:
    """Random letters: keyboard mash or syllable soup, in no language at all."""
    if rng.random() < 0.5:
        letters = "qwertyuiopasdfghjklzxcvbnm"
        words = [
            "".join(rng.choice(letters) for _ in range(rng.randint(2, 11)))
            for _ in range(rng.randint(60, 220))
        ]
    else:
        syl = ("zor", "qua", "vex", "plim", "dro", "skaw", "nir", "gub", "yth", "frel", "oo", "kj")
        words = [
            "".join(rng.choice(syl) for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(60, 220))
        ]
    lines = []
    while words:
        k = rng.randint(5, 25)
        lines.append(" ".join(words[:k]))
        words = words[k:]
    return "\n".join(lines)


def numeric_table(rng: random.Random) -> str:
    """Rows of numbers (a sensor log): almost no alphabetic words."""
    rows = []
    for _ in range(rng.randint(12, 30)):
        vals = " ".join(f"{rng.uniform(0, 100):.2f}" for _ in range(rng.randint(4, 8)))
        rows.append(f"{_date(rng)} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d} {vals}")
    return "\n".join(rows)


LANG_DEFECTS = {
    "spam_keywords": spam_keywords,
    "spam_repeated_lines": spam_repeated,
    "spam_hashtags": spam_hashtags,
    "boilerplate_only": boilerplate_only,
    "too_short": too_short,
    "list_like": list_like,
    "lorem_ipsum": lorem_ipsum,
}
NOLANG_DEFECTS = {"code": code_page, "gibberish": gibberish, "numeric_table": numeric_table}

# Bad pages per language (of the keep-list languages), then the language-less ones.
BAD_PER_LANG = {"en": 220, "de": 35, "fr": 35, "es": 35, "zh": 35, "ja": 35}
BAD_NOLANG = {"code": 40, "gibberish": 40, "numeric_table": 30}
WRONG_PER_LANG = {"it": 20, "pt": 20, "nl": 20, "ru": 20}
GOOD_PER_LANG = {"en": 900, "de": 180, "fr": 180, "es": 180, "zh": 180, "ja": 175}


def make_bad(lang: str | None, defect: str, rng: random.Random) -> WebRecord:
    if defect == "wrong_language":
        pack = WRONG_PACKS[lang]
        page = good_page(pack, rng, "short")
        text, title, genre = page.body(), page.title, page.genre
    elif defect in NOLANG_DEFECTS:
        text = NOLANG_DEFECTS[defect](rng)
        title = rng.choice(("Untitled", "New page", "index", "Document", "Home", "Draft"))
        genre = None
    else:
        pack = PACKS[lang]
        text = LANG_DEFECTS[defect](pack, rng)
        if defect.startswith("spam"):
            title = text.split("\n", 1)[0][:60]
        else:
            title = capitalize(render(rng.choice(pack.SHORT), rng, pack.context(rng), pack.POOLS))[:60]
        genre = None
    return WebRecord(
        url=_url(rng, lang, title, "page"),
        title=title,
        date=_date(rng),
        text=text,
        clean=text,
        lang=lang,
        status="bad",
        defect=defect,
        genre=genre,
    )


# --- guards ------------------------------------------------------------------------------------------
MIN_ALPHA = 0.82  # Gopher drops a page under 0.80 alphabetic tokens; keep a margin
MAX_JACCARD = 0.25  # between two good pages of one language (word 5-grams)
_TOKEN_RE = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")


def alpha_ratio(text: str) -> float:
    """Share of word-and-punctuation tokens with a letter in them (Gopher's alphabetic-words rule)."""
    tokens = [t for w in words(text) for t in _TOKEN_RE.findall(w)]
    return sum(any(c.isalpha() for c in t) for t in tokens) / max(len(tokens), 1)


class NearIndex:
    """Admits a page only if its word 5-gram Jaccard with every admitted page of its language is low.

    An inverted index (shingle -> pages) finds the few pages that share any shingle at all, so the
    check costs far less than comparing all pairs.
    """

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.postings: dict[tuple[str, tuple[str, ...]], list[int]] = {}
        self.sizes: list[int] = []

    def is_far(self, lang: str, text: str) -> bool:
        """True when no indexed page of ``lang`` reaches the Jaccard limit with ``text`` (read-only)."""
        sh = shingles(text)
        shared: dict[int, int] = {}
        for s in sh:
            for page in self.postings.get((lang, s), ()):
                shared[page] = shared.get(page, 0) + 1
        return all(n / (len(sh) + self.sizes[page] - n) < self.limit for page, n in shared.items())

    def admit(self, lang: str, text: str) -> bool:
        """Index ``text`` if it is far from every indexed page; says whether it was admitted."""
        if not self.is_far(lang, text):
            return False
        sh = shingles(text)
        page_id = len(self.sizes)
        self.sizes.append(len(sh))
        for s in sh:
            self.postings.setdefault((lang, s), []).append(page_id)
        return True


# --- near duplicates ---------------------------------------------------------------------------------
def _sentences(paragraph: str, cjk: bool) -> list[str]:
    pattern = r"(?<=[。！？])" if cjk else r"(?<=[.!?])\s+"
    return [s for s in re.split(pattern, paragraph) if s.strip()]


def near_copy(rec: WebRecord, rng: random.Random, donor: WebRecord) -> tuple[str, str]:
    """A lightly edited copy of ``rec.text``: returns (new text, kind of edit)."""
    cjk = rec.lang in CJK
    join = "" if cjk else " "
    edit = rng.choice(("whitespace", "word_edit", "word_edit", "sentence_removed", "sentence_added", "mixed"))
    paras = rec.text.split("\n\n")
    if edit == "whitespace":
        text = rec.text.replace("\n\n", rng.choice(("\n\n\n", "\n \n", "\n\n  ")))
        text = re.sub(r"([.!?。]) ", lambda m: m.group(1) + rng.choice(("  ", " ", " ")), text)
        return text + rng.choice(("\n", "  ", " \n")), edit
    if edit in ("word_edit", "mixed"):
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(paras))
            if cjk:
                chars = list(paras[i])
                j = rng.randrange(len(chars))
                if "\u4e00" <= chars[j] <= "\u9fff":
                    chars[j] = rng.choice("的了在是有和也很都就")
                paras[i] = "".join(chars)
            else:
                # swap a word for another word of the same page, so the edit stays in its language
                toks = paras[i].split(" ")
                pool = [t for t in rec.text.split() if t.isalpha() and len(t) > 3]
                j = rng.randrange(len(toks))
                if toks[j].isalpha() and len(toks[j]) > 3 and pool:
                    toks[j] = rng.choice(pool)
                paras[i] = " ".join(toks)
    if edit in ("sentence_removed",):
        candidates = [i for i, p in enumerate(paras) if len(_sentences(p, cjk)) > 1]
        if candidates:
            i = rng.choice(candidates)
            sents = _sentences(paras[i], cjk)
            sents.pop(rng.randrange(len(sents)))
            paras[i] = join.join(sents)
    if edit in ("sentence_added", "mixed"):
        donor_sents = [s for p in donor.clean.split("\n\n") for s in _sentences(p, cjk) if "\n" not in s]
        if donor_sents:
            i = rng.randrange(len(paras))
            paras[i] = paras[i] + join + rng.choice(donor_sents)
    return "\n\n".join(paras), edit


# --- the corpus --------------------------------------------------------------------------------------
@dataclass
class WebCorpus:
    files: dict[str, list[bytes]]  # file name -> lines (without newline)
    truth: list[dict]
    records: dict[tuple[str, int], WebRecord]  # (file, line) -> record, for pages only
    near: NearIndex | None = None  # the good pages, for keeping held-out pages away from them


BAD_LINES = (
    # (kind, line bytes) — documented in the truth file, placed at seeded positions
    (
        "malformed_json",
        b'{"url": "https://www.example.com/broken", "title": "Broken", "text": "This line stops in the mid',
    ),
    ("malformed_json", b"{'url': 'https://www.example.com/single-quotes', 'text': 'Python repr, not JSON.'}"),
    (
        "invalid_utf8",
        b'{"url": "https://www.example.com/latin1", "title": "Caf\xe9", "date": "2021-03-04", "text": "A page saved as Latin-1: caf\xe9 cr\xe8me br\xfbl\xe9e, na\xefve."}',
    ),
    (
        "invalid_utf8",
        b'{"url": "https://www.example.com/cut", "title": "cut", "date": "2022-08-09", "text": "\xe5\xb0\x8f\xe9\x95\x87\xe7\x9a"}',
    ),
    (
        "missing_text",
        b'{"url": "https://www.example.com/no-text", "title": "No body", "date": "2020-01-01", "body": "Stored under the wrong key."}',
    ),
    (
        "text_null",
        b'{"url": "https://www.example.com/null", "title": "Null", "date": "2020-02-02", "text": null}',
    ),
    (
        "text_number",
        b'{"url": "https://www.example.com/number", "title": "Number", "date": "2020-03-03", "text": 42}',
    ),
    (
        "text_empty",
        b'{"url": "https://www.example.com/empty", "title": "Empty", "date": "2020-04-04", "text": ""}',
    ),
    ("not_an_object", b'["https://www.example.com/array", "a JSON array, not an object"]'),
    ("blank_line", b""),
)


@functools.lru_cache(maxsize=2)  # deterministic, so callers (generate.py, tests) may share one build
def build_web(seed: int) -> WebCorpus:
    """The training web corpus: good, bad and duplicated pages in N_FILES files, plus bad lines."""
    base: list[WebRecord] = []
    seen: set[str] = set()
    near = NearIndex(MAX_JACCARD)

    def add(make, *key: object) -> None:
        """Append a record whose text is new: duplicates are only the planted ones, never accidents.

        Good pages must also pass the guards (alphabetic-token ratio, distance to the other good
        pages of their language); a page that fails is drawn again with the next sub-seed.
        """
        for attempt in range(50):
            rec = make(_rng(seed, *key, attempt) if attempt else _rng(seed, *key))
            if _norm(rec.text) in seen:
                continue
            if rec.status == "good" and not (
                alpha_ratio(rec.clean) >= MIN_ALPHA and near.admit(rec.lang, rec.clean)
            ):
                continue
            seen.add(_norm(rec.text))
            base.append(rec)
            return
        raise RuntimeError(f"could not make a page with a new text for {key}")

    for lang, n in GOOD_PER_LANG.items():
        for i in range(n):
            add(lambda r, lang=lang: make_good(PACKS[lang], r), "good", lang, i)
    for lang, n in BAD_PER_LANG.items():
        defects = sorted(LANG_DEFECTS)
        for i in range(n):
            defect = defects[i % len(defects)]
            add(lambda r, lang=lang, d=defect: make_bad(lang, d, r), "bad", lang, i)
    for defect, n in BAD_NOLANG.items():
        for i in range(n):
            add(lambda r, d=defect: make_bad(None, d, r), "bad", defect, i)
    for lang, n in WRONG_PER_LANG.items():
        for i in range(n):
            add(lambda r, lang=lang: make_bad(lang, "wrong_language", r), "wrong", lang, i)
    for i, rec in enumerate(base):
        rec.base = i

    copies = _duplicates(base, _rng(seed, "dups"))
    rng = _rng(seed, "order")
    allrecs = base + copies
    rng.shuffle(allrecs)
    corpus = _lay_out(allrecs, rng)
    corpus.near = near
    return corpus


def _duplicates(base: list[WebRecord], rng: random.Random) -> list[WebRecord]:
    """About 8% exact copies (mostly of good pages, some of spam) and 8% near copies of good pages."""
    n = len(base)
    good = [r for r in base if r.status == "good"]
    spam = [r for r in base if r.defect and r.defect.startswith("spam")]
    n_exact, n_near = round(0.08 * n * 1.19), round(0.08 * n * 1.19)
    copies: list[WebRecord] = []
    exact_src = rng.sample(good, int(n_exact * 0.75)) + rng.sample(spam, n_exact // 12)
    while len(exact_src) < n_exact:  # a few pages copied several times
        exact_src.append(rng.choice(exact_src[: n_exact // 2]))
    for src in exact_src:
        url = src.url if rng.random() < 0.5 else _url(rng, src.lang, src.title + " copy", "mirror")
        copies.append(_copy(src, url=url, date=src.date if rng.random() < 0.5 else _date(rng), dup="exact"))
    near_src = rng.sample([r for r in good if not r.html and not r.boilerplate], n_near)
    by_lang: dict[str | None, list[WebRecord]] = {}
    for r in good:
        by_lang.setdefault(r.lang, []).append(r)
    for src in near_src:
        for _ in range(20):
            donor = rng.choice(by_lang[src.lang])
            text, edit = near_copy(src, rng, donor)
            j = jaccard(shingles(src.text), shingles(text))
            if text != src.text and j >= 0.8:
                break
        else:
            raise RuntimeError(f"could not make a near copy of base page {src.base}")
        copy = _copy(src, url=_url(rng, src.lang, src.title, "archive"), date=_date(rng), dup="near")
        copy.text, copy.edit, copy.jaccard = text, edit, round(j, 4)
        copy.clean = text  # near copies are made of pages without furniture only
        copies.append(copy)
    return copies


def _copy(src: WebRecord, *, url: str, date: str, dup: str) -> WebRecord:
    return WebRecord(
        url=url,
        title=src.title,
        date=date,
        text=src.text,
        clean=src.clean,
        lang=src.lang,
        status=src.status,
        defect=src.defect,
        genre=src.genre,
        html=src.html,
        boilerplate=list(src.boilerplate),
        pii=list(src.pii),
        base=src.base,
        dup=dup,
    )


def _lay_out(recs: list[WebRecord], rng: random.Random) -> WebCorpus:
    names = [f"web/web-{i:02d}.jsonl" for i in range(N_FILES)]
    per_file = [recs[i::N_FILES] for i in range(N_FILES)]
    slots: list[list[object]] = [list(p) for p in per_file]
    for kind, line in BAD_LINES:
        f = rng.randrange(N_FILES)
        slots[f].insert(rng.randint(1, len(slots[f]) - 1), (kind, line))

    cluster_of_base: dict[int, int] = {}
    origin: dict[int, str] = {}
    files: dict[str, list[bytes]] = {}
    truth: list[dict] = []
    by_line: dict[tuple[str, int], WebRecord] = {}
    for name, items in zip(names, slots, strict=True):
        lines: list[bytes] = []
        for lineno, item in enumerate(items, 1):
            if isinstance(item, tuple):
                kind, raw = item
                lines.append(raw)
                truth.append({"file": name, "line": lineno, "status": "bad_line", "defect": kind})
                continue
            rec: WebRecord = item
            lines.append(rec.json_line())
            by_line[(name, lineno)] = rec
            cluster = cluster_of_base.setdefault(rec.base, len(cluster_of_base))
            if rec.dup == "original":
                origin[rec.base] = f"{name}:{lineno}"
            truth.append({"file": name, "line": lineno, "status": rec.status, "rec": rec, "cluster": cluster})
        files[name] = lines
    rows = [_truth_row(t, origin) for t in truth]
    return WebCorpus(files=files, truth=rows, records=by_line)


def _truth_row(t: dict, origin: dict[int, str]) -> dict:
    if "rec" not in t:
        return {"file": t["file"], "line": t["line"], "status": "bad_line", "defect": t["defect"]}
    rec: WebRecord = t["rec"]
    # Defaults are left out to keep the file small: no "defect" on good pages, no "dup" on originals.
    row = {"file": t["file"], "line": t["line"], "status": rec.status, "lang": rec.lang}
    if rec.defect:
        row["defect"] = rec.defect
    if rec.genre:
        row["genre"] = rec.genre
    row["words"] = count_words(rec.clean)
    row["cluster"] = t["cluster"]
    if rec.dup != "original":
        row["dup"] = rec.dup
        row["dup_of"] = origin[rec.base]
    if rec.edit:
        row["edit"] = rec.edit
        row["jaccard"] = rec.jaccard
    if rec.html:
        row["html"] = True
    if rec.boilerplate:
        row["boilerplate"] = rec.boilerplate
    if rec.pii:
        row["pii"] = rec.pii
    return row


def build_eval(seed: int, n: int, exclude: set[str], train: NearIndex | None = None) -> list[WebRecord]:
    """Held-out good pages (no furniture), language mix as in training.

    None equals a training text (``exclude``: whitespace-normalised texts), and with ``train``
    none comes within the Jaccard limit of a training page or of another held-out page.
    """
    total = sum(GOOD_PER_LANG.values())
    own = NearIndex(MAX_JACCARD)
    out: list[WebRecord] = []
    for lang, k in GOOD_PER_LANG.items():
        want = max(1, round(n * k / total))
        i = 0
        while want:
            rec = make_good(PACKS[lang], _rng(seed, "eval", lang, i), furniture=False)
            i += 1
            if _norm(rec.text) in exclude or alpha_ratio(rec.text) < MIN_ALPHA:
                continue
            if train is not None and not train.is_far(lang, rec.text):
                continue
            if not own.admit(lang, rec.text):
                continue
            out.append(rec)
            want -= 1
    return out


def _norm(text: str) -> str:
    return " ".join(text.split())
