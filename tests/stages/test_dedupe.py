"""Tests of the dedupe stage: exact and MinHash near duplicates over shards, keep rules, verification."""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
from collections.abc import Sequence

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from curate.errors import StageError
from curate.records import MESSAGES_DTYPE
from curate.stages import REGISTRY
from curate.stages.base import BatchResult, ShardInfo
from curate.stages.dedupe import STAGE, DedupeConfig, apply, fit, refit, rescan, summarize
from curate.stages.dedupe import stage as dedupe_stage
from curate.stages.dedupe.minhash import lsh_params, permutations, signatures
from curate.stages.dedupe.shingles import Shingles, ngram_hashes, splitmix64
from curate.stages.dedupe.stage import pair_jaccard, record_shingles, shingle_sets

# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

VOCAB = [f"{a}{b}{c}" for a in "bcdfghklmnprstvz" for b in "aeiou" for c in "lmnrst"]  # 480 words
HANZI = [chr(c) for c in range(0x4E00, 0x4E00 + 800)]


def words(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(VOCAB) for _ in range(n)]


def doc(n: int, seed: int) -> str:
    return " ".join(words(n, seed))


def edited(text: str, edits: int, seed: int) -> str:
    """``text`` with ``edits`` words replaced by a word not in the vocabulary."""
    rng = random.Random(seed)
    tokens = text.split()
    for i in rng.sample(range(len(tokens)), edits):
        tokens[i] = f"zz{rng.randrange(10**6)}"
    return " ".join(tokens)


def texts_frame(texts: Sequence[str], *, source: str = "web", start: int = 0, **extra) -> pl.DataFrame:
    ids = [f"{source}-{start + i:04d}" for i in range(len(texts))]
    return pl.DataFrame({"id": ids, "source": [source] * len(texts), "text": list(texts), **extra})


def shards_of(frame: pl.DataFrame, size: int) -> list[pl.DataFrame]:
    return [frame.slice(i, size) for i in range(0, frame.height, size)] or [frame]


def run(batches: Sequence[pl.DataFrame], cfg: DedupeConfig) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """The whole stage over shards, as the pipe loop runs it: summarize, fit, (rescan, refit), apply."""
    shards = [(ShardInfo(i, b["source"][0] if b.height else "web", "text"), b) for i, b in enumerate(batches)]
    partials = [summarize(b, cfg, s) for s, b in shards]
    fitted = fit(partials[::-1], cfg, None)  # the order partials arrive in must not matter
    if fitted.needs_rescan:
        fitted = refit([rescan(b, cfg, fitted.state, s) for s, b in shards], cfg, fitted.state, None)
    results: list[BatchResult] = [apply(b, cfg, fitted.state, s) for s, b in shards]
    kept = pl.concat([r.kept for r in results])
    dropped = pl.concat([r.dropped for r in results])
    return kept, dropped, fitted.stats


def shingle_set(text: str, n: int = 5) -> set[tuple[str, ...]]:
    """Word n-grams of a lowercase ASCII text (normalisation is the identity on such text)."""
    tokens = text.split()
    if len(tokens) < n:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


# ---------------------------------------------------------------------------------------------
# config
# ---------------------------------------------------------------------------------------------


def test_registered_and_empty_config_is_valid():
    assert REGISTRY["dedupe"] is STAGE
    cfg = DedupeConfig.model_validate({})
    assert cfg.exact and cfg.minhash is not None and cfg.minhash.threshold == 0.8


def test_recipe_shape_and_switches():
    cfg = DedupeConfig.model_validate(
        {"exact": True, "minhash": {"threshold": 0.8, "num_perm": 128, "ngram": 5}}
    )
    assert (cfg.minhash.num_perm, cfg.minhash.ngram) == (128, 5)
    assert DedupeConfig.model_validate({"minhash": False}).minhash is None
    assert DedupeConfig.model_validate({"minhash": True}).minhash == DedupeConfig().minhash


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"minhash": {"bands": 10}}, "set both bands and rows"),
        ({"minhash": {"bands": 20, "rows": 10}}, "exceeds num_perm"),
        ({"keep": "score"}, "needs score_column"),
        ({"score_column": "q"}, "only used with keep: score"),
        ({"exact": False, "minhash": False}, "would do nothing"),
        ({"minhash": {"treshold": 0.8}}, "treshold"),
        ({"minhash": {"threshold": 1.5}}, "threshold"),
    ],
)
def test_bad_options_are_named(options, message):
    with pytest.raises(ValidationError, match=message):
        DedupeConfig.model_validate(options)


def test_bands_rows_from_datasketch_optimiser_or_given():
    from datasketch.lsh import _optimal_param

    assert lsh_params(DedupeConfig().minhash) == _optimal_param(0.8, 128, 0.1, 0.9) == (14, 9)
    equal = DedupeConfig.model_validate(
        {"minhash": {"false_positive_weight": 0.5, "false_negative_weight": 0.5}}
    )
    assert lsh_params(equal.minhash) == (9, 13)
    cfg = DedupeConfig.model_validate({"minhash": {"bands": 14, "rows": 8}})
    assert lsh_params(cfg.minhash) == (14, 8)


# ---------------------------------------------------------------------------------------------
# exact
# ---------------------------------------------------------------------------------------------


def test_exact_duplicates_removed_first_kept():
    base = doc(40, 1)
    texts = [base, doc(40, 2), "  " + base.upper().replace(" ", "  ,") + "!", base]
    kept, dropped, stats = run([texts_frame(texts)], DedupeConfig(minhash=None))
    assert kept["id"].to_list() == ["web-0000", "web-0001"]
    assert dropped["id"].to_list() == ["web-0002", "web-0003"]
    assert dropped["reason"].to_list() == ["exact_dup", "exact_dup"]
    assert dropped["dup_of"].to_list() == ["web-0000", "web-0000"]
    assert dropped["cluster"].to_list() == [0, 0]
    assert stats["removed"] == {"exact_dup": 2, "minhash_dup": 0}
    assert stats["cluster_sizes"]["3"] == 1


def test_exact_without_normalisation_is_byte_equality():
    base = doc(30, 3)
    cfg = DedupeConfig.model_validate(
        {
            "minhash": False,
            "normalize": {"unicode": "none", "lowercase": False, "punctuation": False, "whitespace": False},
        }
    )
    kept, dropped, _ = run([texts_frame([base, base.upper(), base + " ", base])], cfg)
    assert dropped["id"].to_list() == ["web-0003"]
    assert kept.height == 3


def test_nfkc_folds_full_width_text():
    base = "Deduplicate full width text please 123"
    full = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in base)
    _, dropped, _ = run([texts_frame([base, full])], DedupeConfig(minhash=None))
    assert dropped["id"].to_list() == ["web-0001"]


# ---------------------------------------------------------------------------------------------
# near
# ---------------------------------------------------------------------------------------------


def test_near_duplicates_with_a_few_edits_are_caught():
    originals = [doc(300, 100 + i) for i in range(20)]
    variants = [edited(t, 2, 200 + i) for i, t in enumerate(originals)]
    assert all(
        jaccard(shingle_set(a), shingle_set(b)) > 0.9 for a, b in zip(originals, variants, strict=True)
    )
    kept, dropped, stats = run([texts_frame(originals + variants)], DedupeConfig())
    assert kept["id"].to_list() == [f"web-{i:04d}" for i in range(20)]
    assert sorted(dropped["id"].to_list()) == [f"web-{20 + i:04d}" for i in range(20)]
    assert set(dropped["reason"].to_list()) == {"minhash_dup"}
    assert dropped["dup_of"].to_list() == [f"web-{i:04d}" for i in range(20)]
    assert stats["removed"]["minhash_dup"] == 20


def test_unrelated_documents_are_kept():
    texts = [doc(200, 1000 + i) for i in range(60)] + ["short one", "another short one", "x"]
    kept, dropped, stats = run([texts_frame(texts)], DedupeConfig())
    assert dropped.height == 0 and kept.height == len(texts)
    assert stats["clusters"] == 0


def test_cjk_near_duplicates_are_caught():
    rng = random.Random(5)
    chinese = ["".join(rng.choice(HANZI) for _ in range(300)) for _ in range(5)]
    japanese = "これは重複を検出するための日本語の文章です。" * 8
    variants = []
    for i, t in enumerate(chinese):
        chars = list(t)
        chars[50 + i] = "。"
        variants.append("".join(chars))
    texts = [*chinese, japanese, *variants, japanese.replace("文章", "文書", 1)]
    kept, dropped, _ = run([texts_frame(texts)], DedupeConfig())
    assert kept["id"].to_list() == [f"web-{i:04d}" for i in range(6)]
    assert sorted(dropped["id"].to_list()) == [f"web-{i:04d}" for i in range(6, 12)]
    assert set(dropped["reason"].to_list()) == {"minhash_dup"}


def test_character_shingles_catch_near_duplicates():
    rng = random.Random(8)
    base = "".join(rng.choice("abcdefghij ") for _ in range(2000))
    variant = base[:1000] + "Q" + base[1001:]
    cfg = DedupeConfig.model_validate({"minhash": {"shingle": "chars", "ngram": 8}})
    _, dropped, _ = run([texts_frame([base, variant, base[::-1]])], cfg)
    assert dropped["id"].to_list() == ["web-0001"]


def test_minhash_only_marks_identical_texts_as_minhash_dup():
    base = doc(100, 9)
    _, dropped, _ = run([texts_frame([base, base])], DedupeConfig(exact=False))
    assert dropped["reason"].to_list() == ["minhash_dup"]


# ---------------------------------------------------------------------------------------------
# verification
# ---------------------------------------------------------------------------------------------


def test_verification_removes_false_candidates():
    # 30 bands of 1 row: a pair at Jaccard ~0.5 shares a band almost surely (1 - 0.5^30).
    base = doc(400, 11)
    half = " ".join(base.split()[:200] + words(200, 12))
    close = edited(base, 1, 13)
    texts = [base, half, close]
    assert 0.2 < jaccard(shingle_set(base), shingle_set(half)) < 0.5
    loose = {"minhash": {"bands": 30, "rows": 1, "threshold": 0.8}}
    _, dropped, stats = run([texts_frame(texts)], DedupeConfig.model_validate(loose))
    assert sorted(dropped["id"].to_list()) == ["web-0001", "web-0002"]
    assert "rejected_by_verify" not in stats

    verified = {"minhash": {**loose["minhash"], "verify": True}}
    _, dropped, stats = run(shards_of(texts_frame(texts), 2), DedupeConfig.model_validate(verified))
    assert dropped["id"].to_list() == ["web-0002"]
    assert stats["rejected_by_verify"] >= 1 and stats["verified_pairs"] == 1


def test_apply_refuses_an_unverified_state():
    texts = [doc(100, 1), doc(100, 1) + " extra words here"]
    cfg = DedupeConfig.model_validate({"minhash": {"verify": True}})
    batch, shard = texts_frame(texts), ShardInfo(0, "web", "text")
    fitted = fit([summarize(batch, cfg, shard)], cfg, None)
    assert fitted.needs_rescan
    with pytest.raises(StageError, match="rescan"):
        apply(batch, cfg, fitted.state, shard)


# ---------------------------------------------------------------------------------------------
# scope and keep rules
# ---------------------------------------------------------------------------------------------


def test_scope_source_only_dedupes_within_a_source():
    a, b = doc(100, 21), doc(100, 22)
    web = texts_frame([a, b], source="web")
    books = texts_frame([a, b, b], source="books")
    _, dropped, _ = run([web, books], DedupeConfig())
    assert sorted(dropped["id"].to_list()) == ["books-0000", "books-0001", "books-0002"]
    _, dropped, _ = run([web, books], DedupeConfig(scope="source"))
    assert dropped["id"].to_list() == ["books-0002"]
    assert dropped["dup_of"].to_list() == ["books-0001"]


def test_keep_longest():
    base = doc(200, 31)
    longer = base + " " + doc(10, 32)
    kept, dropped, _ = run([texts_frame([base, longer, doc(50, 33)])], DedupeConfig(keep="longest"))
    assert kept["id"].to_list() == ["web-0001", "web-0002"]
    assert dropped["dup_of"].to_list() == ["web-0001"]
    # the cluster id is its first record's position, whoever survives
    assert dropped["cluster"].to_list() == [0]


@pytest.mark.parametrize(("order", "survivor"), [("highest", "web-0002"), ("lowest", "web-0001")])
def test_keep_score_column(order, survivor):
    base = doc(200, 41)
    frame = texts_frame([base, base, base, base], quality=[None, 0.1, 0.9, 0.5])
    cfg = DedupeConfig(keep="score", score_column="quality", score_order=order)
    kept, dropped, _ = run([frame], cfg)
    assert kept["id"].to_list() == [survivor]
    assert set(dropped["dup_of"].to_list()) == {survivor}


def test_keep_score_from_meta_json_missing_ranks_last():
    base = doc(200, 42)
    meta = [json.dumps({"q": 3}), json.dumps({"other": 1}), json.dumps({"q": 7.5}), None]
    kept, _, _ = run([texts_frame([base] * 4, meta=meta)], DedupeConfig(keep="score", score_column="q"))
    assert kept["id"].to_list() == ["web-0002"]
    meta = [None, json.dumps({"q": 1})]
    kept, _, _ = run([texts_frame([base] * 2, meta=meta)], DedupeConfig(keep="score", score_column="q"))
    assert kept["id"].to_list() == ["web-0001"]


def test_keep_score_unknown_column_is_an_error():
    frame = texts_frame([doc(20, 1)])
    with pytest.raises(StageError, match="score_column 'q'"):
        summarize(frame, DedupeConfig(keep="score", score_column="q"), ShardInfo(0, "web", "text"))


# ---------------------------------------------------------------------------------------------
# text view
# ---------------------------------------------------------------------------------------------


def test_chats_deduped_on_user_turns():
    prompt = doc(60, 51)

    def chat(answer_seed: int) -> list[dict]:
        return [{"role": "user", "content": prompt}, {"role": "assistant", "content": doc(60, answer_seed)}]

    frame = pl.DataFrame(
        {"id": ["c0", "c1"], "source": ["chat", "chat"], "messages": [chat(52), chat(53)]},
        schema={"id": pl.String, "source": pl.String, "messages": MESSAGES_DTYPE},
    )
    _, dropped, _ = run([frame], DedupeConfig())
    assert dropped.height == 0
    _, dropped, _ = run([frame], DedupeConfig.model_validate({"view": {"roles": ["user"]}}))
    assert dropped["id"].to_list() == ["c1"] and dropped["reason"].to_list() == ["exact_dup"]
    assert dropped["messages"].dtype == MESSAGES_DTYPE


# ---------------------------------------------------------------------------------------------
# determinism, accounting, state size
# ---------------------------------------------------------------------------------------------


def corpus_with_duplicates(n: int = 120) -> pl.DataFrame:
    rng = random.Random(7)
    texts = []
    for i in range(n):
        roll = rng.random()
        if texts and roll < 0.15:
            texts.append(rng.choice(texts))
        elif texts and roll < 0.35:
            texts.append(edited(rng.choice(texts), rng.randint(1, 3), i))
        else:
            texts.append(doc(rng.randint(5, 200), 5000 + i))
    return texts_frame(texts)


def test_same_input_same_output_and_shard_boundaries_do_not_matter():
    frame = corpus_with_duplicates()
    cfg = DedupeConfig()
    first = run([frame], cfg)
    again = run([frame], cfg)
    assert first[0].equals(again[0]) and first[1].equals(again[1])
    assert first[1].height > 20
    for size in (1, 7, 50):
        kept, dropped, _ = run(shards_of(frame, size), cfg)
        assert kept.equals(first[0])
        assert dropped.equals(first[1])


def test_slicing_a_large_shard_does_not_change_the_result(monkeypatch):
    frame = corpus_with_duplicates()
    whole = run([frame], DedupeConfig())
    monkeypatch.setattr(dedupe_stage, "SLICE_BYTES", 300)
    sliced = run([frame], DedupeConfig())
    assert sliced[0].equals(whole[0]) and sliced[1].equals(whole[1])


def test_no_input_at_all():
    fitted = fit([], DedupeConfig(keep="longest"), None)
    assert fitted.stats["records"] == 0 and fitted.stats["removed"] == {"exact_dup": 0, "minhash_dup": 0}


def test_empty_shards_are_fine():
    frame = corpus_with_duplicates(30)
    kept, dropped, _ = run([frame.head(0), frame, frame.head(0)], DedupeConfig(keep="longest"))
    assert kept.height + dropped.height == 30 and dropped.height > 0


def test_kept_plus_dropped_is_the_input():
    frame = corpus_with_duplicates()
    kept, dropped, stats = run(shards_of(frame, 17), DedupeConfig(keep="longest"))
    assert kept.height + dropped.height == frame.height
    assert sorted(kept["id"].to_list() + dropped["id"].to_list()) == frame["id"].to_list()
    assert kept.columns == frame.columns
    assert dropped.columns == [*frame.columns, "reason", "dup_of", "cluster"]
    assert set(dropped["dup_of"].to_list()) <= set(kept["id"].to_list())
    assert sum(stats["removed"].values()) == dropped.height


def test_shard_without_duplicates_has_typed_empty_dropped_frame():
    result = run([texts_frame([doc(50, 1), doc(50, 2)])], DedupeConfig())
    assert result[1].schema["dup_of"] == pl.String and result[1].schema["cluster"] == pl.Int64


def test_apply_checks_the_shard_matches_the_state():
    frame, shard, cfg = texts_frame([doc(50, 1)] * 3), ShardInfo(0, "web", "text"), DedupeConfig()
    state = fit([summarize(frame, cfg, shard)], cfg, None).state
    with pytest.raises(StageError, match="summarized with 3"):
        apply(frame.head(2), cfg, state, shard)
    with pytest.raises(StageError, match="not among the shards"):
        apply(frame, cfg, state, ShardInfo(5, "web", "text"))


def test_state_is_small_and_stats_show_the_s_curve():
    frame = corpus_with_duplicates(400)
    _, _, stats = run(shards_of(frame, 100), DedupeConfig())
    assert stats["partial_bytes_per_record"] <= 200
    assert stats["state_bytes_per_record"] <= 200
    curve = stats["minhash"]["s_curve"]
    assert [p["jaccard"] for p in curve] == [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0]
    assert curve[-1]["p_detect"] == 1.0
    assert curve[6]["p_detect"] == pytest.approx(1 - (1 - 0.8**9) ** 14, abs=1e-4)
    assert all(a["p_detect"] <= b["p_detect"] for a, b in itertools.pairwise(curve))
    assert (stats["minhash"]["bands"], stats["minhash"]["rows"]) == (14, 9)


# ---------------------------------------------------------------------------------------------
# MinHash internals
# ---------------------------------------------------------------------------------------------


def test_signature_agreement_estimates_jaccard_without_bias():
    rng = np.random.default_rng(3)
    a, b = permutations(128, seed=1)
    errors = []
    for trial in range(200):
        target = [0.5, 0.8, 0.9][trial % 3]
        n = 150
        inter = round(2 * n * target / (1 + target))
        pool = splitmix64(rng.integers(0, 2**62, size=2 * n, dtype=np.uint64))
        left, right = pool[:n], pool[n - inter : 2 * n - inter]
        true = len(np.intersect1d(left, right)) / len(np.union1d(left, right))
        sets = Shingles(np.concatenate([left, right]), np.array([0, n, 2 * n]))
        sig = signatures(sets, a, b)
        errors.append((sig[0] == sig[1]).mean() - true)
    errors = np.array(errors)
    assert abs(errors.mean()) < 0.01  # unbiased (the spread of one estimate is ~0.035)
    assert errors.std() < 0.05


def test_pair_jaccard_is_exact():
    rng = random.Random(4)
    texts = [doc(rng.randint(1, 80), 300 + i) for i in range(12)]
    texts += [edited(texts[0], 3, 1), texts[1] + " " + texts[1], texts[2][: len(texts[2]) // 2]]
    frame = texts_frame(texts)
    cfg = DedupeConfig()
    sets = shingle_sets(record_shingles(frame, cfg))
    left, right = (
        np.array([i for i in range(len(texts)) for j in range(len(texts))]),
        np.array([j for i in range(len(texts)) for j in range(len(texts))]),
    )
    got = pair_jaccard(sets, left, right)
    want = [jaccard(shingle_set(texts[i]), shingle_set(texts[j])) for i, j in zip(left, right, strict=True)]
    assert got == pytest.approx(want)


def test_partials_from_different_word_hashes_are_refused():
    cfg, frame = DedupeConfig(), texts_frame([doc(30, 1)])
    first = summarize(frame, cfg, ShardInfo(0, "web", "text"))
    other = dataclasses.replace(summarize(frame, cfg, ShardInfo(1, "web", "text")), hash_fingerprint=1)
    with pytest.raises(StageError, match="different polars versions"):
        fit([first, other], cfg, None)


def test_signatures_do_not_depend_on_the_batch():
    tokens = splitmix64(np.arange(40, dtype=np.uint64))
    alone = ngram_hashes(tokens[10:30], np.array([20]), 5)
    together = ngram_hashes(tokens, np.array([10, 20, 10]), 5)
    a, b = permutations(16, seed=2)
    assert np.array_equal(signatures(alone, a, b)[0], signatures(together, a, b)[1])
    assert not np.array_equal(signatures(alone, a, b)[0], signatures(together, a, b)[0])


# ---------------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------------


@st.composite
def near_duplicate_corpora(draw) -> list[str]:
    """Texts drawn as mutations of a few seeds: every similarity from unrelated to identical."""
    vocab = VOCAB[:60]
    seeds = draw(st.lists(st.lists(st.sampled_from(vocab), min_size=1, max_size=60), min_size=1, max_size=4))
    texts = []
    for _ in range(draw(st.integers(2, 12))):
        tokens = list(draw(st.sampled_from(seeds)))
        for _ in range(draw(st.integers(0, 8))):
            op = draw(st.sampled_from(["swap", "drop", "add"]))
            pos = draw(st.integers(0, len(tokens)))
            if op == "add" or not tokens:
                tokens.insert(pos, draw(st.sampled_from(vocab)))
            elif op == "drop" and len(tokens) > 1:
                tokens.pop(min(pos, len(tokens) - 1))
            else:
                tokens[min(pos, len(tokens) - 1)] = draw(st.sampled_from(vocab))
        texts.append(" ".join(tokens))
    return texts


def nearest_other(texts: list[str]) -> list[float]:
    sets = [shingle_set(t) for t in texts]
    return [max(jaccard(s, o) for j, o in enumerate(sets) if j != i) for i, s in enumerate(sets)]


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(near_duplicate_corpora(), st.integers(1, 5))
def test_never_removes_a_record_far_from_all_others(texts, shard_size):
    frame = texts_frame(texts)
    kept, dropped, _ = run(shards_of(frame, shard_size), DedupeConfig())
    assert kept.height + dropped.height == frame.height
    assert sorted(kept["id"].to_list() + dropped["id"].to_list()) == frame["id"].to_list()
    nearest = nearest_other(texts)
    for row in dropped["id"].to_list():
        assert nearest[int(row.split("-")[1])] >= 0.5, (row, texts)


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(near_duplicate_corpora())
def test_verified_removals_have_a_neighbour_above_the_threshold(texts):
    cfg = DedupeConfig.model_validate({"exact": False, "minhash": {"verify": True, "bands": 20, "rows": 2}})
    kept, dropped, _ = run([texts_frame(texts)], cfg)
    nearest = nearest_other(texts)
    for row in dropped["id"].to_list():
        assert nearest[int(row.split("-")[1])] >= 0.8, (row, texts)
    assert kept.height + dropped.height == len(texts)
