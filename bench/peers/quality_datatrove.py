"""Peer for bench/bench_quality.py: datatrove's quality filters on the same pages.

Run with a Python that has datatrove 0.10.1 + spacy (+ jieba for zh), never curate's venv:
    python bench/peers/quality_datatrove.py PAGES.jsonl OUT.json --language en
Writes per rule set: seconds, and the keep/drop decision of every page (in input order).
"""

from __future__ import annotations

import argparse
import json
import time

from datatrove.data import Document
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("pages")
    parser.add_argument("out")
    parser.add_argument("--language", default="en")
    args = parser.parse_args()
    with open(args.pages, encoding="utf-8") as f:
        pages = [json.loads(line) for line in f]
    filters = {
        "gopher_quality": GopherQualityFilter(language=args.language),
        "gopher_repetition": GopherRepetitionFilter(language=args.language),
        "c4": C4QualityFilter(language=args.language),
        "fineweb": FineWebQualityFilter(language=args.language),
    }
    result = {}
    for name, flt in filters.items():
        flt.filter(Document(text="warm up the tokenizer. " * 20, id="w"))
        decisions = []
        start = time.perf_counter()
        for page in pages:
            try:
                verdict = flt.filter(Document(text=page["text"], id=page["id"]))
            except Exception as exc:  # datatrove divides by zero on some inputs
                verdict = (False, f"error:{type(exc).__name__}")
            keep = verdict is True or (isinstance(verdict, tuple) and verdict[0])
            decisions.append(None if keep else (verdict[1] if isinstance(verdict, tuple) else "dropped"))
        result[name] = {"seconds": time.perf_counter() - start, "reasons": decisions}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
