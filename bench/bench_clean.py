"""Time the ``clean`` stage: docs/s and MB/s, next to a per-document pure-Python loop doing the same.

    PYTHONPATH=. python bench/bench_clean.py                       # synthetic web-like corpus, 10k docs
    PYTHONPATH=. python bench/bench_clean.py --jsonl corpus.jsonl  # any JSONL with a "text" field
    POLARS_MAX_THREADS=1 PYTHONPATH=. python bench/bench_clean.py  # per core

The synthetic corpus is generated here (seeded): web-like pages in en/de/fr/es/zh with HTML for a
share of them, cookie/share/login boilerplate lines, emails, phones, IPs, card numbers, dates and
version numbers. The baseline is what one would write without curate: a Python loop over the
documents with ``re``, ``unicodedata`` and ``html.unescape``; it shares curate's validators (Luhn,
IP, phone checks) so that both do the same work. Timings on a shared machine are noisy: compare
the ratio, measured in the same run.
"""

from __future__ import annotations

import argparse
import html
import random
import re
import statistics
import time
import unicodedata
from pathlib import Path

import polars as pl

from curate.stages import clean as clean_stage
from curate.stages.clean import CleanConfig, apply_clean


def _vocab(words: str) -> list[str]:
    return words.split()


_WORDS = {
    "en": _vocab(
        "the of and to in is that for it as was with be by on not he this are or his from at which but have an "
        "they you were her she there been one all we their has would when if so no out up into do time two more "
        "data model city river music history people water system market school"
    ),
    "de": _vocab(
        "der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als auch es an werden aus "
        "er hat dass sie nach wird bei einer um am sind noch wie einem über einen so zum Stadt Wasser Geschichte"
    ),
    "fr": _vocab(
        "de la le et les des en un du une que est pour qui dans par plus pas au sur ne se ce il sont avec "
        "leur été comme elle mais ou aussi nous ville rivière musique histoire données marché école"
    ),
    "es": _vocab(
        "de la que el en y a los del se las por un para con no una su al lo como más pero sus le ya o "
        "este sí porque esta entre cuando ciudad río música historia datos mercado escuela"
    ),
}
_ZH = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理府研质"
_BOILERPLATE = [
    "We use cookies to improve your experience. By continuing to browse this site, you agree.",
    "All rights reserved.",
    "Subscribe to our newsletter",
    "Share on Facebook",
    "Log in / Sign up",
    "Skip to content",
    "Diese Website verwendet Cookies.",
    "Tous droits réservés.",
    "Suscríbete a nuestro boletín",
    "版权所有 2024",
    "Click here to read the full story",
]


def _paragraph(rng: random.Random, lang: str) -> str:
    if lang == "zh":
        return "".join(rng.choice(_ZH) for _ in range(rng.randint(40, 200))) + "。"
    words = [rng.choice(_WORDS[lang]) for _ in range(rng.randint(30, 120))]
    text = " ".join(words).capitalize() + "."
    extras = [
        lambda: (
            f" Contact {rng.choice(['anna', 'j.smith', 'info'])}@example{rng.randint(1, 99)}.com for details."
        ),
        lambda: (
            f" Call +49 30 {rng.randint(1000000, 9999999)} or (555) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}."
        ),
        lambda: (
            f" The server at 10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)} went down."
        ),
        lambda: " Pay with 4111 1111 1111 1111 today.",
        lambda: (
            f" Released on 2023-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}, version 2.{rng.randint(0, 9)}.1.4."
        ),
        lambda: (
            f" It grew by {rng.randint(2, 99)}% between 1999 and 2005 to {rng.randint(1000, 99999)} people."
        ),
    ]
    if rng.random() < 0.3:
        text += rng.choice(extras)()
    return text


def synthetic_corpus(n: int, seed: int = 0) -> list[str]:
    """``n`` web-like pages (about 2-3 KB each), deterministic for a seed."""
    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        lang = rng.choice(["en", "en", "de", "fr", "es", "zh"])
        paragraphs = [_paragraph(rng, lang) for _ in range(rng.randint(2, 8))]
        lines = [rng.choice(_BOILERPLATE) for _ in range(rng.randint(0, 3))]
        if rng.random() < 0.3:
            body = "".join(f"<p>{p.replace(' & ', ' &amp; ')}</p>\n" for p in paragraphs)
            doc = (
                f"<html><head><title>Page</title><style>p {{ margin: 0 }}</style></head><body>\n"
                f"<div class='nav'>{'<br>'.join(lines)}</div>\n{body}<script>var a = 1 < 2;</script>"
                f"<!-- footer --></body></html>"
            )
        else:
            doc = "\n\n".join(lines[:1] + paragraphs + lines[1:])
            doc = doc.replace(". ", ".  ", rng.randint(0, 3)) + ("\u00a0\r\n" if rng.random() < 0.2 else "")
        docs.append(doc)
    return docs


# ---- the baseline: the same steps, one document at a time in plain Python ----------------------

_PY_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u2060\ufeff\u00ad\u180e]")
_PY_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")
_PY_SPACE_RUN = re.compile(
    "[\t \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]{2,}|[\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]"
)
_PY_LINE_ENDS = re.compile(r"^ +| +$", re.MULTILINE)
_PY_NEWLINES = re.compile(r"\n{3,}")
_PY_HTML = [
    (re.compile(r"<!--.*?-->", re.S), ""),
    (re.compile(r"<(script|style|noscript|svg)\b[^>]*>.*?</\1\s*>", re.S | re.I), ""),
    (re.compile(r"</?(?:p|br|div|li|h[1-6]|tr|ul|ol|table|title|body|html|head)\b[^<>]*>", re.I), "\n"),
    (re.compile(r"</?(?:td|th)\b[^<>]*>", re.I), " "),
    (re.compile(r"</?(?:a|b|i|em|strong|span|img|font|u|s|small|code)\b[^<>]*>", re.I), ""),
]
_PY_EMAIL = re.compile(
    r"\b[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}\b"
)
_PY_BOILERPLATE = re.compile(
    "|".join(p for group in clean_stage.DEFAULT_BOILERPLATE.values() for p in group),
    re.IGNORECASE,
)


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_PY_PII = {
    "card": re.compile(r"(?<![\w.,-])\d(?:[ -]?\d){12,18}(?!\w|[.,-]?\d)"),
    "ip": re.compile(
        rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\w|\.\d)"
        r"|(?<![\w:.])(?=[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:)[0-9A-Fa-f:]{2,39}(?:(?:\.\d{1,3}){3})?(?![\w:]|\.\w)"
    ),
    "phone": re.compile(
        r"(?<![\w+])\+(?:\d{7,15}|\d{1,3}(?:[ .-]?\(\d{1,5}\)|[ .-]\d{1,8}){1,7})(?!\w)"
        r"|(?<![\w(])\(\d{2,5}\)[ .-]?\d{2,5}(?:[ .-]\d{2,5}){0,3}(?!\w|[.,-]\d)"
        r"|(?<![\w.,+-])(?:1[ .-])?[2-9]\d{2}([ .-])\d{3}\1\d{4}(?!\w|[.,-]\d)"
        r"|(?<![\w.,+-])0\d{1,4}([ .-])\d{2,8}(?:\2\d{2,8}){0,3}(?!\w|[.,-]\d)"
    ),
}
_PY_CHECKS = {
    "card": lambda m, text: clean_stage.is_card_number(m.group(0)),
    "ip": lambda m, text: clean_stage.is_ip_address(m.group(0), text[max(0, m.start() - 24) : m.start()]),
    "phone": lambda m, text: clean_stage.is_phone_number(m.group(0)),
}


def _py_mask(kind: str, text: str) -> str:
    placeholder = clean_stage.PLACEHOLDERS[kind]
    check = _PY_CHECKS[kind]
    return _PY_PII[kind].sub(lambda m: placeholder if check(m, text) else m.group(0), text)


def baseline_clean(text: str, strip_html: bool) -> str:
    text = unicodedata.normalize("NFC", _PY_CONTROL.sub("", _PY_LINE_BREAKS.sub("\n", text)))
    if strip_html:
        if "<" in text:
            for pattern, replacement in _PY_HTML:
                text = pattern.sub(replacement, text)
        if "&" in text:
            text = html.unescape(text)
    text = _PY_NEWLINES.sub("\n\n", _PY_LINE_ENDS.sub("", _PY_SPACE_RUN.sub(" ", text))).strip()
    text = _PY_EMAIL.sub("<EMAIL>", text)
    for kind in ("card", "ip", "phone"):
        text = _py_mask(kind, text)
    lines = [line for line in text.split("\n") if not (len(line) <= 300 and _PY_BOILERPLATE.search(line))]
    return _PY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()


# ---- timing ----------------------------------------------------------------------------------


def _best_of(repeats: int, fn) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jsonl", type=Path, help="JSONL corpus with a 'text' field (default: synthetic)")
    parser.add_argument(
        "--docs", type=int, default=10_000, help="documents (synthetic size, or first N of --jsonl)"
    )
    parser.add_argument(
        "--batch", type=int, default=2_000, help="records per batch, as the pipe loop shards them"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-html", action="store_true", help="run with strip_html off")
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()

    if args.jsonl:
        texts = pl.read_ndjson(args.jsonl).head(args.docs)["text"].to_list()
        name = str(args.jsonl)
    else:
        texts = synthetic_corpus(args.docs)
        name = f"synthetic web-like ({args.docs} docs)"
    batch = pl.DataFrame(
        {"id": [str(i) for i in range(len(texts))], "source": "bench", "text": texts, "meta": "{}"}
    )
    batches = [batch.slice(i, args.batch) for i in range(0, batch.height, args.batch)]
    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    cfg = CleanConfig(strip_html=not args.no_html)

    counters: dict[str, float] = {}

    def run_stage() -> None:
        counters.clear()
        for part in batches:
            for key, value in apply_clean(part, cfg).counters.items():
                counters[key] = counters.get(key, 0.0) + value

    best, median = _best_of(args.repeats, run_stage)
    print(
        f"corpus: {name}: {len(texts)} docs, {megabytes:.1f} MB, batches of {args.batch}, strip_html={cfg.strip_html}"
    )
    print(
        f"curate clean : {len(texts) / best:10.0f} docs/s  {megabytes / best:7.2f} MB/s  (best {best:.2f}s, median {median:.2f}s)"
    )
    if not args.skip_baseline:
        b_best, b_median = _best_of(args.repeats, lambda: [baseline_clean(t, cfg.strip_html) for t in texts])
        print(
            f"python loop  : {len(texts) / b_best:10.0f} docs/s  {megabytes / b_best:7.2f} MB/s  "
            f"(best {b_best:.2f}s, median {b_median:.2f}s)"
        )
        print(f"speed-up     : {b_best / best:.2f}x")
    shown = {k: v for k, v in counters.items() if v and not k.startswith("lines_removed.boilerplate.")}
    print("counters     :", ", ".join(f"{k}={v:.0f}" for k, v in shown.items()))


if __name__ == "__main__":
    main()
