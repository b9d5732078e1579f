"""dedupe: {substrings: ...}: exact repeated spans found with a suffix array and cut from records."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

import curate
from curate.recipe import recipe_from_data
from curate.stages.base import BatchResult, ShardInfo
from curate.stages.dedupe import DedupeConfig, apply, fit, refit, rescan, summarize
from curate.stages.dedupe import substrings as sub

VOCAB = [f"{a}{b}{c}" for a in "bcdfghklmnprstvz" for b in "aeiou" for c in "lmnrst"]  # 480 words
HANZI = [chr(c) for c in range(0x4E00, 0x4E00 + 800)]


def doc(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(VOCAB) for _ in range(n))


def frame(texts: Sequence[str], *, source: str = "web", start: int = 0) -> pl.DataFrame:
    ids = [f"{source}-{start + i:04d}" for i in range(len(texts))]
    return pl.DataFrame(
        {"id": ids, "source": [source] * len(texts), "text": list(texts), "meta": ["{}"] * len(texts)}
    )


def config(**substrings) -> DedupeConfig:
    return DedupeConfig(exact=False, minhash=None, substrings={"min_tokens": 50, **substrings})


def findings(stats: dict) -> dict:
    """The substring stats that must not depend on sharding (the state's size does, a little)."""
    return {k: v for k, v in stats["substrings"].items() if k != "state_bytes"}


def run(batches: Sequence[pl.DataFrame], cfg: DedupeConfig) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """The stage as the pipe loop runs it: summarize, fit, rescan, refit, apply."""
    shards = [(ShardInfo(i, b["source"][0] if b.height else "web", "text"), b) for i, b in enumerate(batches)]
    fitted = fit([summarize(b, cfg, s) for s, b in shards], cfg, None)
    assert fitted.needs_rescan
    fitted = refit([rescan(b, cfg, fitted.state, s) for s, b in shards], cfg, fitted.state, None)
    results: list[BatchResult] = [apply(b, cfg, fitted.state, s) for s, b in shards]
    kept = pl.concat([r.kept for r in results])
    dropped = pl.concat([r.dropped for r in results], how="diagonal_relaxed")
    counters: dict[str, float] = {}
    for r in results:
        for k, v in r.counters.items():
            counters[k] = counters.get(k, 0) + v
    return kept, dropped, {**fitted.stats, "counters": counters}


SENTENCE = doc(60, seed=99)


def three_docs() -> list[str]:
    return [
        f"{doc(20, 1)} {SENTENCE} {doc(20, 2)}",
        f"{doc(30, 3)}\n\n{SENTENCE}",
        f"{SENTENCE} {doc(25, 4)}",
    ]


# ---------------------------------------------------------------------------------------------
# known answers
# ---------------------------------------------------------------------------------------------


def test_keep_first_cuts_the_sentence_from_the_later_two():
    texts = three_docs()
    kept, dropped, stats = run([frame(texts)], config(keep="first"))
    assert dropped.height == 0
    out = kept["text"].to_list()
    assert out[0] == texts[0]
    assert out[1] == doc(30, 3)  # a span at the end takes the whitespace before it along
    assert out[2] == doc(25, 4)
    assert SENTENCE not in out[1] and SENTENCE not in out[2]
    assert stats["substrings"]["tokens_removed"] == 120
    assert stats["counters"]["substrings.chars_removed.web"] == sum(map(len, texts)) - sum(map(len, out))
    top = stats["substrings"]["most_repeated"][0]
    assert top["occurrences"] == 3 and top["tokens"] == 60 and SENTENCE.startswith(top["text"].rstrip("."))


def test_keep_none_cuts_it_from_all_three():
    texts = three_docs()
    kept, _, stats = run([frame(texts)], config(keep="none"))
    out = kept["text"].to_list()
    assert out[0] == f"{doc(20, 1)} {doc(20, 2)}"  # and the whitespace after it, elsewhere
    assert out[1] == doc(30, 3)
    assert out[2] == doc(25, 4)
    assert stats["substrings"]["tokens_removed"] == 180


def test_spans_shorter_than_min_tokens_are_kept():
    shared = doc(49, seed=7)
    texts = [f"{doc(10, 1)} {shared} {doc(10, 2)}", f"{doc(10, 3)} {shared} {doc(10, 4)}"]
    kept, _, stats = run([frame(texts)], config(keep="none"))
    assert kept["text"].to_list() == texts
    assert stats["substrings"]["records_with_spans"] == 0
    kept, _, _ = run([frame(texts)], config(keep="none", min_tokens=49))
    assert all(shared not in t for t in kept["text"].to_list())


def test_cjk_characters_are_tokens():
    rng = random.Random(5)
    shared = "".join(rng.choice(HANZI) for _ in range(60))  # one whitespace word, 60 tokens
    texts = ["前言" + shared + "结束", "开始" + shared]
    kept, _, _ = run([frame(texts)], config(keep="first"))
    assert kept["text"].to_list() == [texts[0], "开始"]
    short = shared[:40]
    kept, _, _ = run([frame(["甲" + short, "乙" + short])], config(keep="none"))
    assert kept["text"].to_list() == ["甲" + short, "乙" + short]


def test_no_match_crosses_a_record_boundary():
    a, b = doc(30, 1), doc(30, 2)
    # record 1 ends with a and record 2 starts with b: a + b occurs in record 0 only across nothing
    texts = [f"{doc(5, 3)} {a} {b} {doc(5, 4)}", f"{doc(5, 5)} {a}", f"{b} {doc(5, 6)}"]
    kept, _, stats = run([frame(texts)], config(keep="none"))
    assert kept["text"].to_list() == texts
    assert stats["substrings"]["repeated_windows"] == 0


def test_a_span_repeated_inside_one_record_keeps_its_first_copy():
    texts = [f"{SENTENCE} middle {SENTENCE}"]
    kept, _, _ = run([frame(texts)], config(keep="first"))
    assert kept["text"].to_list() == [f"{SENTENCE} middle"]


def test_bytes_unit_cuts_whole_characters():
    rng = random.Random(8)
    shared = "".join(rng.choice("éèêëàâîïôûç") for _ in range(40))  # 80 bytes, 2 per character
    texts = ["a" + shared + "b", "c" + shared + "d"]
    kept, _, _ = run([frame(texts)], config(unit="bytes", min_tokens=60, keep="first"))
    assert kept["text"].to_list() == [texts[0], "cd"]
    kept, _, _ = run([frame(texts)], config(unit="bytes", min_tokens=81, keep="none"))
    assert kept["text"].to_list() == texts


def test_emptied_and_short_records_are_dropped_with_a_reason():
    texts = [SENTENCE, SENTENCE, f"tiny {SENTENCE}", f"{doc(40, 8)} {SENTENCE}"]
    kept, dropped, stats = run([frame(texts)], config(keep="first", min_chars_left=10))
    assert kept["id"].to_list() == ["web-0000", "web-0003"]
    assert dropped["id"].to_list() == ["web-0001", "web-0002"]
    assert set(dropped["reason"].to_list()) == {"dup_substring:too_short"}
    assert dropped["text"].to_list() == texts[1:3]  # as they were before the cut
    assert dropped["chars_removed"].to_list() == [len(SENTENCE), len(SENTENCE) + 1]
    assert stats["counters"]["substrings.records_too_short"] == 2


def test_document_level_dedupe_runs_first():
    texts = three_docs()
    cfg = DedupeConfig(exact=True, minhash=None, substrings={"min_tokens": 50})
    kept, dropped, _ = run([frame([*texts, texts[1]])], cfg)
    assert dropped["reason"].to_list() == ["exact_dup"]
    assert kept.height == 3 and SENTENCE not in kept["text"][1]


def test_verification_and_substrings_share_the_rescan():
    texts = three_docs()
    cfg = DedupeConfig(minhash={"verify": True}, substrings={"min_tokens": 50})
    kept, dropped, stats = run([frame([*texts, texts[2] + " extra"])], cfg)
    assert dropped["reason"].to_list() == ["minhash_dup"]
    assert kept.height == 3 and "verified_pairs" in stats and stats["substrings"]["tokens_removed"] == 120


def test_chat_records_are_refused():
    batch = pl.DataFrame(
        {"id": ["a"], "source": ["c"], "messages": [[{"role": "user", "content": "hi"}]], "meta": ["{}"]}
    )
    cfg = config()
    shard = ShardInfo(0, "c", "chat")
    fitted = fit([summarize(batch, cfg, shard)], cfg, None)
    with pytest.raises(Exception, match="text records only"):
        rescan(batch, cfg, fitted.state, shard)


def test_options_are_checked():
    with pytest.raises(ValidationError):
        config(min_tokens=1)
    with pytest.raises(ValidationError):
        config(keep="longest")
    assert DedupeConfig(exact=False, minhash=None, substrings={}).substrings.min_tokens == 50


def test_python_and_polars_split_words_alike():
    text = "a\x1cb c\u00a0d\u3000e 中文字 f\u2028g\t\nh"
    assert len(pl.Series([text]).str.extract_all(sub.WORD_PATTERN)[0]) == len(sub.word_spans(text)[0])


# ---------------------------------------------------------------------------------------------
# determinism, chunks
# ---------------------------------------------------------------------------------------------


def corpus(n: int = 90) -> list[str]:
    rng = random.Random(11)
    boiler = [doc(55, 100 + k) for k in range(4)]
    texts = []
    for i in range(n):
        parts = [doc(rng.randrange(5, 40), i)]
        for _ in range(rng.randrange(0, 3)):
            parts.append(rng.choice(boiler))
            parts.append(doc(rng.randrange(1, 20), 1000 + i))
        texts.append(" ".join(parts))
    return texts


@pytest.mark.parametrize("keep", ["first", "none"])
def test_shard_sizes_do_not_change_the_result(keep):
    whole = frame(corpus())
    reference = run([whole], config(keep=keep, min_chars_left=0))
    assert reference[2]["substrings"]["tokens_removed"] > 0
    for size in (1, 7, 40):
        shards = [whole.slice(i, size) for i in range(0, whole.height, size)]
        got = run(shards, config(keep=keep, min_chars_left=0))
        assert got[0].equals(reference[0])
        assert findings(got[2]) == findings(reference[2])


def test_chunks_find_repeats_inside_a_chunk_and_miss_those_split_across_chunks():
    a = doc(60, 201)  # twice in the first chunk
    b = doc(60, 202)  # once in each chunk
    texts = [f"x {a}", f"y {a} {b}", f"z {b}", "w"]
    cfg_one = config(keep="first", chunk_mb=1)
    kept, _, stats = run([frame(texts)], cfg_one)
    assert stats["substrings"]["chunks"] == 1
    assert kept["text"].to_list() == [f"x {a}", f"y {b}", "z", "w"]
    # cut after record 1: record 2's first byte falls in the second chunk
    budget = (len(texts[0]) + len(texts[1])) / 1e6
    kept, _, stats = run([frame(texts)], config(keep="first", chunk_mb=budget))
    assert stats["substrings"]["chunks"] == 2
    assert kept["text"].to_list() == [f"x {a}", f"y {b}", f"z {b}", "w"]


def test_chunk_cuts_do_not_depend_on_shards():
    whole = frame(corpus(60))
    budget = sum(len(t.encode()) for t in whole["text"].to_list()) / 3 / 1e6
    reference = run([whole], config(chunk_mb=budget))
    assert reference[2]["substrings"]["chunks"] == 3
    got = run([whole.slice(i, 9) for i in range(0, whole.height, 9)], config(chunk_mb=budget))
    assert got[0].equals(reference[0]) and findings(got[2]) == findings(reference[2])


@pytest.mark.parametrize("keep", ["first", "none"])
@pytest.mark.parametrize("seed", [3, 4])
def test_windows_against_a_brute_force_count(keep, seed):
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 30, 40)
    tokens = rng.integers(0, 3, int(counts.sum())).astype(np.int32)  # tiny alphabet: many repeats
    n = 4
    windows, *_ = sub.repeated_windows(tokens, counts, min_tokens=n, keep=keep)
    starts = np.concatenate([[0], np.cumsum(counts)])
    occurrences: dict[tuple[int, ...], list[int]] = {}
    for r in range(len(counts)):
        for p in range(starts[r], starts[r + 1] - n + 1):
            occurrences.setdefault(tuple(tokens[p : p + n].tolist()), []).append(int(p))
    skip = 1 if keep == "first" else 0
    expected = sorted(p for ps in occurrences.values() if len(ps) > 1 for p in ps[skip:])
    assert windows.tolist() == expected


# ---------------------------------------------------------------------------------------------
# end to end
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_library_run_is_the_same_for_any_shard_size_and_workers(tmp_path, workers):
    data = tmp_path / "web.jsonl"
    data.write_text("".join(json.dumps({"text": t}) + "\n" for t in corpus(80)))
    outputs = []
    for shard_mb in (0.002, 1.0):
        recipe = recipe_from_data(
            {
                "name": f"sub-{workers}-{shard_mb}",
                "sources": [{"name": "web", "path": str(data)}],
                "stages": [{"dedupe": {"exact": False, "minhash": False, "substrings": {"min_tokens": 50}}}],
                "output": {"format": "parquet"},
                "execution": {"workers": workers, "shard_mb": shard_mb},
            }
        )
        result = curate.run(recipe, run_dir=tmp_path / f"run-{shard_mb}", report=False)
        files = sorted((result.run_dir / "output").rglob("*.parquet"))
        out = pl.concat([pl.read_parquet(f) for f in files]).sort("id")
        outputs.append(out.select("id", "text"))
        step = next(s for s in result.steps if s.get("stage") == "dedupe")
        assert step["counters"]["substrings.chars_removed.web"] > 0
        assert step["fit"]["substrings"]["tokens_removed"] > 0
    assert outputs[0].equals(outputs[1])
    texts = outputs[0]["text"].to_list()
    assert sum(len(t) for t in texts) < sum(len(t) for t in corpus(80))


def test_substrings_and_lines_in_one_step_are_refused_with_the_fix():
    with pytest.raises(
        ValidationError, match="put lines/paragraphs in one dedupe step and substrings in the next"
    ):
        DedupeConfig(lines={}, substrings={"min_tokens": 50})
    DedupeConfig(substrings={"min_tokens": 50})  # alone, fine
    DedupeConfig(exact=False, minhash=False, lines={})  # lines only, fine
