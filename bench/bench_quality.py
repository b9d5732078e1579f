"""Throughput of the quality stage, side by side with datatrove's filters on the same pages.

    python bench/bench_quality.py --corpus CORPUS.jsonl --langs en --docs 10000 \
        --peer-python /path/to/venv-with-datatrove/bin/python --out /tmp/quality-bench

CORPUS is a corpus from shared/bench/make_corpus.py (man pages and fortunes: real text). Pages
are built from it: man pages cut at blank lines into 1-6 kB pieces, fortunes grouped 3-10 to a
page. Reports docs/s and MB/s per rule set and for the whole stage, datatrove's figures measured
in the same run (one process each), their ratio, and how often the two agree on keep/drop.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

from curate.stages.quality import QualityConfig, c4_reasons, fineweb_reasons, quality_reasons
from curate.stages.quality.gopher import gopher_quality_reasons
from curate.stages.quality.repetition import gopher_repetition_reasons

BATCH = 1000


def man_pieces(text: str, rng: random.Random) -> list[str]:
    pieces, current, target = [], [], rng.randint(1000, 6000)
    for block in text.split("\n\n"):
        current.append(block)
        if sum(map(len, current)) >= target:
            pieces.append("\n\n".join(current))
            current, target = [], rng.randint(1000, 6000)
    if current:
        pieces.append("\n\n".join(current))
    return pieces


def build_pages(corpus: Path, langs: list[str], n_docs: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = pl.read_ndjson(corpus).filter(pl.col("lang").is_in(langs), pl.col("dup_of").is_null())
    pages: list[str] = []
    for text in rows.filter(pl.col("source") == "man")["text"]:
        pages.extend(man_pieces(text, rng))
    fortunes = rows.filter(pl.col("source") == "fortune")["text"].to_list()
    rng.shuffle(fortunes)
    i = 0
    while i < len(fortunes):
        k = rng.randint(3, 10)
        pages.append("\n\n".join(fortunes[i : i + k]))
        i += k
    rng.shuffle(pages)
    while len(pages) < n_docs and pages:  # small corpora: reuse pages, as a crawl would
        pages.extend(pages[: n_docs - len(pages)])
    return [{"id": f"p{i}", "text": t} for i, t in enumerate(pages[:n_docs])]


def run_curate(frame: pl.DataFrame, cfg: QualityConfig) -> dict[str, dict]:
    def gq(f):
        return gopher_quality_reasons(f, cfg.gopher.quality, cjk_word_share=cfg.cjk_word_share)

    def gr(f):
        return gopher_repetition_reasons(f, cfg.gopher.repetition)

    def c4(f):
        return c4_reasons(f, cfg.c4).reasons

    def fw(f):
        return fineweb_reasons(f, cfg.fineweb)

    def stage(f):
        return quality_reasons(f, cfg, rewrite=True)[0]

    out = {}
    for name, fn in [
        ("gopher_quality", gq),
        ("gopher_repetition", gr),
        ("c4", c4),
        ("fineweb", fw),
        ("stage", stage),
    ]:
        start = time.perf_counter()
        reasons = pl.concat([fn(frame.slice(i, BATCH)) for i in range(0, frame.height, BATCH)])
        out[name] = {"seconds": time.perf_counter() - start, "reasons": reasons.to_list()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--langs", default="en")
    parser.add_argument("--docs", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--peer-python", help="Python with datatrove 0.10.1 + spacy (+ jieba for zh)")
    parser.add_argument(
        "--peer-language", default=None, help="datatrove tokenizer language (default: first of --langs)"
    )
    parser.add_argument(
        "--peer-docs",
        type=int,
        default=2000,
        help="pages given to the peer (and to curate again, for the ratio)",
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    langs = args.langs.split(",")
    pages = build_pages(args.corpus, langs, args.docs, args.seed)
    pages_path = args.out / "pages.jsonl"
    pages_path.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pages), encoding="utf-8")
    frame = pl.DataFrame({"text": [p["text"] for p in pages]})
    mb = frame["text"].str.len_bytes().sum() / 1e6
    print(f"{len(pages)} pages, {mb:.1f} MB, langs {langs}")
    cfg = QualityConfig()
    ours = run_curate(frame, cfg)
    for name, res in ours.items():
        print(f"{name:18s} curate {len(pages) / res['seconds']:8.0f} docs/s {mb / res['seconds']:6.2f} MB/s")
    peer = ours_sub = None
    k = min(args.peer_docs, len(pages))
    if args.peer_python and k:
        sub_path = args.out / "peer-pages.jsonl"
        sub_path.write_text(
            "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pages[:k]), encoding="utf-8"
        )
        peer_out = args.out / "peer.json"
        language = args.peer_language or langs[0]
        peer_script = Path(__file__).parent / "peers" / "quality_datatrove.py"
        subprocess.run(
            [args.peer_python, str(peer_script), str(sub_path), str(peer_out), "--language", language],
            check=True,
        )
        peer = json.loads(peer_out.read_text())
        ours_sub = run_curate(frame.head(k), cfg)
    rows = []
    for name, res in ours.items():
        row = {
            "rule set": name,
            "curate docs/s": len(pages) / res["seconds"],
            "curate MB/s": mb / res["seconds"],
            "curate kept %": 100 * sum(r is None for r in res["reasons"]) / len(pages),
        }
        if peer and name in peer:
            theirs, mine = peer[name], ours_sub[name]
            row["peer pages"] = k
            row["datatrove docs/s"] = k / theirs["seconds"]
            row["speed-up"] = theirs["seconds"] / mine["seconds"]
            row["datatrove kept %"] = 100 * sum(r is None for r in theirs["reasons"]) / k
            row["agree %"] = (
                100
                * sum(
                    (a is None) == (b is None)
                    for a, b in zip(mine["reasons"], theirs["reasons"], strict=True)
                )
                / k
            )
        rows.append(row)
    table = pl.DataFrame(rows)
    with pl.Config(tbl_rows=20, tbl_cols=20, float_precision=1, tbl_width_chars=200):
        print(table)
    (args.out / "results.json").write_text(json.dumps(rows, indent=1))
    for name, res in (ours_sub or ours).items():
        counts = pl.Series(res["reasons"], dtype=pl.String).drop_nulls().value_counts(sort=True).head(8)
        print(name, "curate:", dict(counts.iter_rows()))
        if peer and name in peer:
            counts = (
                pl.Series(peer[name]["reasons"], dtype=pl.String).drop_nulls().value_counts(sort=True).head(8)
            )
            print(name, "datatrove:", dict(counts.iter_rows()))


if __name__ == "__main__":
    sys.exit(main())
