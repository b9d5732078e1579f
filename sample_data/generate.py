#!/usr/bin/env python3
"""Regenerate curate's sample data, byte for byte: ``python sample_data/generate.py``.

Everything under ``sample_data/`` except this script, ``_gen/`` and ``README.md`` is written by it
from hand-written phrase banks (``_gen/lang_*.py``, ``_gen/tasks.py``) and fixed seeds, with the
standard library only. ``--out DIR`` writes elsewhere (the tests regenerate into a temporary
directory and compare bytes with the committed files).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _gen import chat, evaltasks, web  # noqa: E402

SEED = 2024  # training corpora
EVAL_SEED = 7  # held-out sets
N_WEB_EVAL = 150
N_PREF_EVAL = 80
N_CHAT_EVAL = 150
N_ARITH = 300


def build(seed: int = SEED, eval_seed: int = EVAL_SEED) -> dict[str, bytes]:
    """Every generated file, as relative path -> bytes."""
    out: dict[str, bytes] = {}

    corpus = web.build_web(seed)
    for name, lines in corpus.files.items():
        out[name] = _jsonl(lines)
    out["truth/web_truth.json"] = _truth(
        {
            "about": "One row per line of each web/*.jsonl file (line: 1-based). status: good | bad | bad_line. A missing "
            "defect means none; a missing dup means the original of its cluster. cluster: "
            "pages with the same cluster are exact or near copies of one original (dup_of names its "
            "file:line). jaccard: word 5-gram Jaccard of a near copy with its original (lower-cased words, "
            "edge punctuation stripped, each CJK character a word). No two clusters share a text (whitespace-normalised); "
            "good pages of different clusters have Jaccard < 0.3, while bad pages of one kind may resemble each other. boilerplate: lines a boilerplate "
            "remover should drop. pii: planted made-up personal data.",
            "seed": seed,
            "counts": _web_counts(corpus.truth),
        },
        corpus.truth,
    )

    sft_files, sft_truth, sft_prompts = chat.build_sft(seed)
    out.update({name: _jsonl(lines) for name, lines in sft_files.items()})
    out["truth/sft_truth.json"] = _truth(
        {
            "about": "One row per line of sft/*.jsonl. status ok | bad; defect names what a validator should report.",
            "seed": seed,
            "counts": _counts(sft_truth, "file", "status"),
        },
        sft_truth,
    )

    pref_files, pref_truth, pref_prompts = chat.build_preference(seed)
    out.update({name: _jsonl(lines) for name, lines in pref_files.items()})
    out["truth/preference_truth.json"] = _truth(
        {
            "about": "One row per line of preference/*.jsonl. rejected_kind: wrong | truncated | rude | off_topic. "
            "ratings: best is the index of the top-scored completion, ties the number of repeated scores.",
            "seed": seed,
            "counts": _counts(pref_truth, "file", "status"),
        },
        pref_truth,
    )

    train_texts = {web._norm(rec.text) for rec in corpus.records.values()}
    eval_pages = web.build_eval(eval_seed, N_WEB_EVAL, train_texts, corpus.near)
    out["eval/web_eval.jsonl"] = _jsonl([rec.json_line() for rec in eval_pages])
    held_out = set(sft_prompts) | set(pref_prompts)  # grows with every eval prompt drawn
    pref_eval, pref_eval_truth = chat.build_preference_eval(eval_seed, N_PREF_EVAL, held_out)
    out["eval/preference_eval.jsonl"] = _jsonl(pref_eval)
    chat_eval, chat_eval_truth = evaltasks.build_chat_eval(eval_seed, N_CHAT_EVAL, held_out)
    out["eval/chat_eval.jsonl"] = _jsonl(chat_eval)
    out["eval/tasks/arith.jsonl"] = _jsonl(evaltasks.build_arith_task(eval_seed, N_ARITH))
    out["eval/tasks/antonyms.jsonl"] = _jsonl(evaltasks.build_antonym_task(eval_seed))
    eval_truth = (
        [
            {
                "file": "eval/web_eval.jsonl",
                "line": i,
                "lang": rec.lang,
                "genre": rec.genre,
                "words": web.count_words(rec.text),
            }
            for i, rec in enumerate(eval_pages, 1)
        ]
        + pref_eval_truth
        + chat_eval_truth
    )
    out["truth/eval_truth.json"] = _truth(
        {
            "about": "Held-out sets: good pages (no furniture), prompt/chosen/rejected pairs and one-turn chats. No eval "
            "page equals or comes within word 5-gram Jaccard 0.25 of a good training page; no eval prompt equals a training "
            "prompt or another eval prompt. eval/tasks/*.jsonl (multiple-choice {context, choices, answer, lang}) have no "
            "truth rows: their answers are right by construction.",
            "seed": eval_seed,
            "counts": _counts(eval_truth, "file", "lang"),
        },
        eval_truth,
    )
    return out


def _jsonl(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def _truth(meta: dict, rows: list[dict]) -> bytes:
    """JSON with the rows grouped by file, one row per line, so that diffs and greps stay readable.

    ``{"about": ..., "files": {"web/web-00.jsonl": [{"line": 1, ...}, ...], ...}}``
    """
    head = "".join(
        f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False, sort_keys=True)},\n" for k, v in meta.items()
    )
    by_file: dict[str, list[dict]] = {}
    for r in rows:
        by_file.setdefault(r["file"], []).append({k: v for k, v in r.items() if k != "file"})
    blocks = []
    for name, file_rows in by_file.items():
        body = ",\n".join(
            "      " + json.dumps(r, ensure_ascii=False, separators=(", ", ": ")) for r in file_rows
        )
        blocks.append(f"    {json.dumps(name)}: [\n{body}\n    ]")
    return ("{\n" + head + '  "files": {\n' + ",\n".join(blocks) + "\n  }\n}\n").encode("utf-8")


def _counts(rows: list[dict], *keys: str) -> dict[str, int]:
    c = Counter(":".join(str(r.get(k)) for k in keys) for r in rows)
    return dict(sorted(c.items()))


def _web_counts(rows: list[dict]) -> dict[str, object]:
    pages = [r for r in rows if r["status"] != "bad_line"]
    return {
        "lines": len(rows),
        "pages": len(pages),
        "bad_lines": sum(r["status"] == "bad_line" for r in rows),
        "status": dict(sorted(Counter(r["status"] for r in pages).items())),
        "dup": dict(sorted(Counter(r.get("dup", "original") for r in pages).items())),
        "lang_of_good": dict(sorted(Counter(r["lang"] for r in pages if r["status"] == "good").items())),
        "defect": dict(sorted(Counter(r["defect"] for r in rows if r.get("defect")).items())),
        "clusters": len({r["cluster"] for r in pages}),
        "html": sum(bool(r.get("html")) for r in pages),
        "with_boilerplate": sum(bool(r.get("boilerplate")) for r in pages),
        "with_pii": sum(bool(r.get("pii")) for r in pages),
    }


def write(files: dict[str, bytes], out_dir: Path) -> None:
    for rel, data in sorted(files.items()):
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=HERE, help="directory to write into (default: sample_data/)"
    )
    args = parser.parse_args(argv)
    files = build()
    write(files, args.out)
    total = sum(len(b) for b in files.values())
    print(f"wrote {len(files)} files, {total / 1e6:.2f} MB, under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
