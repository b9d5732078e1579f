"""Repeated lines and paragraphs removed by the dedupe stage (``lines:`` / ``paragraphs:``)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import xxhash
from pydantic import ValidationError

from curate.errors import StageError
from curate.io import state as state_file
from curate.stages.base import ShardInfo, StageContext
from curate.stages.dedupe import DedupeConfig, apply, fit, partitioned, summarize
from curate.stages.dedupe import lines as lines_module
from tests.stages.test_dedupe import doc, run, shards_of, texts_frame

LOOSE = {"min_remaining_chars": 0, "max_removed_fraction": 1.0}


def lines_only(**options) -> DedupeConfig:
    return DedupeConfig.model_validate({"exact": False, "minhash": False, "lines": {**LOOSE, **options}})


def by_id(frame: pl.DataFrame) -> dict[str, str]:
    return dict(zip(frame["id"].to_list(), frame["text"].to_list(), strict=True))


# ---------------------------------------------------------------------------------------------
# config
# ---------------------------------------------------------------------------------------------


def test_lines_alone_is_a_valid_dedupe():
    cfg = DedupeConfig.model_validate({"exact": False, "minhash": False, "lines": {}})
    assert cfg.lines is not None and cfg.lines.min_repeats == 2 and cfg.lines.remove == "all_but_first"
    assert DedupeConfig.model_validate({"lines": True}).lines == cfg.lines
    assert DedupeConfig.model_validate({"paragraphs": False}).paragraphs is None
    with pytest.raises(ValidationError, match="would do nothing"):
        DedupeConfig.model_validate({"exact": False, "minhash": False, "lines": False})
    with pytest.raises(ValidationError, match="min_repeats"):
        DedupeConfig.model_validate({"lines": {"min_repeats": 1}})
    with pytest.raises(ValidationError, match="remove"):
        DedupeConfig.model_validate({"lines": {"remove": "first"}})


# ---------------------------------------------------------------------------------------------
# known answers
# ---------------------------------------------------------------------------------------------

BOILER = "Subscribe to our newsletter"
FOOTER = "All rights reserved by the site"


def boiler_corpus() -> pl.DataFrame:
    texts = [f"{BOILER}\n{doc(30, i)}\n{FOOTER}" for i in range(6)]
    return texts_frame(texts)


def test_boilerplate_lines_are_removed_from_every_record():
    frame = boiler_corpus()
    kept, dropped, stats = run([frame], lines_only(remove="all"))
    assert dropped.height == 0
    assert kept["text"].to_list() == [doc(30, i) for i in range(6)]
    top = {t["text"]: t["count"] for t in stats["lines"]["top"]}
    assert top == {BOILER: 6, FOOTER: 6}
    assert stats["lines"]["repeated"] == 2 and stats["lines"]["distinct"] == 8


def test_all_but_first_keeps_the_first_occurrence_in_stable_order():
    frame = boiler_corpus()
    kept, _, _ = run(shards_of(frame, 2), lines_only())
    texts = kept["text"].to_list()
    assert texts[0] == frame["text"][0]
    assert texts[1:] == [doc(30, i) for i in range(1, 6)]


def test_all_but_first_keeps_only_the_first_copy_within_the_first_record():
    text = f"{BOILER}\nmiddle line of text here\n{BOILER}\n"
    kept, _, _ = run([texts_frame([text, text.upper()])], lines_only())
    assert kept["text"].to_list() == [f"{BOILER}\nmiddle line of text here\n", ""]


def test_short_lines_are_never_counted():
    texts = ["}\n}\nreturn x\n\nlong enough unique one", "}\n}\nreturn x\n\nlong enough unique two"]
    kept, _, stats = run([texts_frame(texts)], lines_only(remove="all", min_chars=10))
    assert kept["text"].to_list() == texts
    assert stats["lines"]["repeated"] == 0
    kept, _, _ = run([texts_frame(texts)], lines_only(remove="all", min_chars=6))
    assert kept["text"].to_list() == ["}\n}\n\nlong enough unique one", "}\n}\n\nlong enough unique two"]


def test_kept_lines_keep_their_original_text_and_line_ends():
    texts = ["  Keep ME,  as-is!\r\nSHARE this   article\r\nend", "share this article.\nlast"]
    kept, _, _ = run([texts_frame(texts)], lines_only(remove="all"))
    assert kept["text"].to_list() == ["  Keep ME,  as-is!\r\nend", "last"]


def test_text_that_ends_in_a_removed_line_ends_as_it_did():
    texts = [f"first unique line\n{BOILER}", f"second unique line\n{BOILER}\n", BOILER]
    kept, _, _ = run([texts_frame(texts)], lines_only(remove="all"))
    assert kept["text"].to_list() == ["first unique line", "second unique line\n", ""]


def test_records_left_too_short_or_mostly_removed_get_their_own_reasons():
    texts = [
        f"{BOILER}\n{doc(40, 1)}",  # loses a little: kept
        f"{BOILER}\n{FOOTER}\nshort tail",  # left with 10 characters: too short
        f"{BOILER}\n{FOOTER}\n{doc(12, 2)}",  # long enough but lost more than half
        f"{FOOTER}\nunrelated text that is long enough",
        "tiny",  # nothing removed: never dropped for its length
    ]
    cfg = DedupeConfig.model_validate(
        {
            "exact": False,
            "minhash": False,
            "lines": {"remove": "all", "min_remaining_chars": 30, "max_removed_fraction": 0.5},
        }
    )
    kept, dropped, _ = run([texts_frame(texts)], cfg)
    assert dict(zip(dropped["id"], dropped["reason"], strict=True)) == {
        "web-0001": "dup_lines:too_short",
        "web-0002": "dup_lines:mostly_removed",
    }
    assert by_id(dropped)["web-0001"] == texts[1]  # the record as it came in
    assert kept["id"].to_list() == ["web-0000", "web-0003", "web-0004"]
    assert dropped["dup_of"].null_count() == 2


def test_paragraphs_are_blocks_between_blank_lines():
    legal = "This site uses cookies.\nBy using it you agree."
    texts = [f"Story one starts here.\n\n{legal}\n\n\nThe end of one.", f"{legal}\n\nStory two is another."]
    cfg = DedupeConfig.model_validate(
        {"exact": False, "minhash": False, "paragraphs": {"remove": "all", **LOOSE}}
    )
    kept, _, stats = run([texts_frame(texts)], cfg)
    assert kept["text"].to_list() == ["Story one starts here.\n\nThe end of one.", "Story two is another."]
    assert stats["paragraphs"]["top"] == [{"count": 2, "text": legal}]
    counters = apply(
        texts_frame(texts),
        cfg,
        fit([summarize(texts_frame(texts), cfg, ShardInfo(0, "web", "text"))], cfg).state,
        ShardInfo(0, "web", "text"),
    ).counters
    assert counters["dup_paragraphs.chars_removed.web"] == 2 * len(legal) + 5
    assert counters["dup_paragraphs.units_removed"] == 2


def test_min_repeats():
    texts = [f"{BOILER}\nunique {i} " + doc(5, i) for i in range(3)] + [f"{FOOTER}\nx {doc(5, 9)}"] * 1
    texts += [f"{FOOTER}\nanother {doc(5, 8)}"]
    kept, _, stats = run([texts_frame(texts)], lines_only(remove="all", min_repeats=3))
    assert stats["lines"]["repeated"] == 1  # BOILER 3 times; FOOTER twice only
    assert not any(BOILER in t for t in kept["text"]) and sum(FOOTER in t for t in kept["text"]) == 2


def test_terminal_escapes_in_top_lines_are_shown_safely():
    evil = "\x1b]0;owned\x07 clear the screen \x1b[2J"
    _, _, stats = run([texts_frame([f"{evil}\na", f"{evil}\nb"])], lines_only(remove="all"))
    shown = stats["lines"]["top"][0]["text"]
    assert "\x1b" not in shown and "\\x1b" in shown


def test_chat_records_are_refused():
    from curate.records import MESSAGES_DTYPE

    batch = pl.DataFrame(
        {"id": ["c0"], "source": ["chat"], "messages": [[{"role": "user", "content": "hi"}]]},
        schema_overrides={"messages": MESSAGES_DTYPE},
    )
    with pytest.raises(StageError, match=r"plain text records only.*sources:"):
        summarize(batch, lines_only(), ShardInfo(0, "chat", "chat"))


def test_with_document_dedupe_in_the_same_step():
    a, b = f"{BOILER}\n{doc(30, 1)}", f"{BOILER}\n{doc(30, 2)}"
    cfg = DedupeConfig.model_validate({"minhash": False, "lines": LOOSE})
    kept, dropped, stats = run([texts_frame([a, a, b])], cfg)
    assert dropped["reason"].to_list() == ["exact_dup"]
    assert kept["text"].to_list() == [a, doc(30, 2)]
    assert stats["removed"]["exact_dup"] == 1 and stats["lines"]["repeated"] == 2


# ---------------------------------------------------------------------------------------------
# determinism: shard sizes, workers, the partitioned fit, state files
# ---------------------------------------------------------------------------------------------


def mixed_corpus(n: int = 90) -> pl.DataFrame:
    rng = random.Random(3)
    pool = [f"boiler line number {i} of the site" for i in range(12)]
    texts = []
    for i in range(n):
        body = [doc(rng.randint(3, 15), 1000 + i) for _ in range(rng.randint(1, 4))]
        head = rng.sample(pool, rng.randint(0, 3))
        tail = rng.sample(pool, rng.randint(0, 2))
        texts.append("\n".join(head + body + tail) + ("\n" if i % 3 == 0 else ""))
    return texts_frame(texts)


@pytest.mark.parametrize("remove", ["all", "all_but_first"])
def test_shard_boundaries_do_not_change_the_output(remove):
    frame = mixed_corpus()
    cfg = DedupeConfig.model_validate(
        {"exact": False, "minhash": False, "lines": {"remove": remove}, "paragraphs": {"remove": remove}}
    )
    outputs = [run(shards_of(frame, size), cfg) for size in (90, 7, 1)]
    first_kept, first_dropped, _ = outputs[0]
    assert first_dropped.height > 0 and first_kept["text"].to_list() != frame["text"].to_list()
    for kept, dropped, _ in outputs[1:]:
        assert kept.equals(first_kept) and dropped.equals(first_dropped)


def inline_map(fn, tasks):
    return (fn(task) for task in tasks)


@pytest.mark.parametrize("workers", [2, 5])
def test_partitioned_fit_gives_the_same_state_and_output(tmp_path, monkeypatch, workers):
    monkeypatch.setattr(partitioned, "SMALL_BYTES", 0)
    frame = mixed_corpus()
    cfg = DedupeConfig.model_validate(
        {"exact": False, "minhash": False, "lines": {}, "paragraphs": {"remove": "all"}}
    )
    shards = [(ShardInfo(i, "web", "text"), b) for i, b in enumerate(shards_of(frame, 8))]
    partials = [summarize(b, cfg, s) for s, b in shards]
    files = []
    for i, part in enumerate(partials):
        files.append(state_file.save(part, tmp_path / "partials" / f"{i:04d}.npz"))
    ctx = StageContext(
        tmp_path, tmp_path / "stage", 0, {}, (), map_tasks=inline_map, workers=workers, partial_files=files
    )
    single = fit(partials, cfg)
    split = fit(partials, cfg, ctx)
    assert split.stats["lines"].pop("partitioned")["partitions"] >= 2
    split.stats["paragraphs"].pop("partitioned")
    assert single.stats == split.stats
    for kind in ("lines", "paragraphs"):
        a, b = single.state.units[kind], split.state.units[kind]
        np.testing.assert_array_equal(a.hashes, b.hashes)
        np.testing.assert_array_equal(a.counts, b.counts)
        assert (a.first is None) == (b.first is None)
        if a.first is not None:
            np.testing.assert_array_equal(a.first, b.first)
    assert not (tmp_path / "stage" / lines_module.WORK_DIR).exists()
    loaded = state_file.loads(state_file.dumps(split.state))
    for s, b in shards:
        one, two = apply(b, cfg, single.state, s), apply(b, cfg, loaded, s)
        assert one.kept.equals(two.kept) and one.dropped.equals(two.dropped)


def test_repeated_hashes_are_exposed_sorted_and_reproducible():
    frame = boiler_corpus()
    cfg = lines_only()
    state = fit([summarize(frame, cfg, ShardInfo(0, "web", "text"))], cfg).state
    hashes = state.units["lines"].hashes
    assert hashes.dtype == np.uint64 and (np.diff(hashes.astype(np.float64)) > 0).all()
    keys, _ = lines_module.unit_keys(
        pl.Series([BOILER.upper() + "!", FOOTER]), "lines", unit_cfg=cfg.lines, norm=cfg.normalize
    )
    assert sorted(keys.tolist()) == sorted(hashes.tolist())


# ---------------------------------------------------------------------------------------------
# a whole recipe
# ---------------------------------------------------------------------------------------------


def _recipe_run(tmp_path: Path, workers: int, name: str):
    from curate.exec.pipe import run_recipe
    from curate.recipe import parse_recipe
    from curate.stages import REGISTRY
    from tests.conftest import write_jsonl

    data = tmp_path / "data"
    if not data.exists():
        frame = mixed_corpus(120)
        for f in range(3):
            rows = frame["text"].to_list()[f * 40 : (f + 1) * 40]
            write_jsonl(data / f"part-{f}.jsonl", [{"text": t} for t in rows])
    text = (
        f'name: lines\nsources: [{{name: web, path: "{data}/*.jsonl"}}]\n'
        "stages:\n  - dedupe: {exact: false, minhash: false, lines: {min_remaining_chars: 20}}\n"
        "execution: {shard_mb: 0.002}\n"
    )
    return run_recipe(
        parse_recipe(text, registry=REGISTRY), run_dir=tmp_path / "runs" / name, workers=workers
    )


@pytest.mark.slow
def test_a_recipe_with_lines_gives_the_same_bytes_with_any_workers(tmp_path, monkeypatch):
    monkeypatch.setattr(partitioned, "SMALL_BYTES", 0)
    one = _recipe_run(tmp_path, 1, "one")
    two = _recipe_run(tmp_path, 2, "two")
    step = one.steps[1]
    assert step["fit"]["lines"]["repeated"] > 5 and step["fit"]["lines"]["top"]
    assert step["counters"]["dup_lines.chars_removed.web"] > 0
    assert one.manifest["accounting"]["balanced"]
    outputs = [
        {p.name: p.read_bytes() for p in sorted((r.run_dir / "output").glob("*.parquet"))} for r in (one, two)
    ]
    assert outputs[0] and outputs[0] == outputs[1]
    assert "Most repeated lines" in (one.run_dir / "report.html").read_text()


# ---------------------------------------------------------------------------------------------
# keys: whole-batch normalisation gives each unit's key as if it were normalised alone
# ---------------------------------------------------------------------------------------------

TRICKY = [
    "ΣΑΣ ΟΔΟΣ\nΟΔΟΣ\r\nΣ\n",
    "Ａｂｃ　ＤＥＦ！！\n\u0301e\u0301 café — «ok»\n\n\nΣ.\n",
    "  \t x \u0085 y\u2028z  \n\n  \nTab\there,  and... there!!\n",
    "ﬁne ① ² ㈱ İstanbul\n1234 56 ٣٤\n\n\nlast para\nof two lines",
    "",
    "\n\n",
    "only one line without a break",
]


@pytest.mark.parametrize(
    "norm",
    [
        {},
        {"digits": True, "accents": True},
        {"whitespace": False},
        {"punctuation": False, "unicode": "none"},
        {"lowercase": False, "unicode": "NFC"},
    ],
)
def test_unit_keys_equal_each_unit_normalised_alone(norm):
    from curate.stages.dedupe.config import Normalization, RepeatedUnitsConfig
    from curate.stages.dedupe.normalize import flatten, normalize_texts

    normalization = Normalization(**norm)
    unit_cfg = RepeatedUnitsConfig(min_chars=1)

    def key(text: str, kind: str) -> int | None:
        flat = flatten(normalize_texts(pl.Series([text]), normalization), normalization)[0]
        return xxhash.xxh3_64_intdigest(flat.encode(), lines_module.SEEDS[kind]) if flat else None

    for kind in ("lines", "paragraphs"):
        keys, records = lines_module.unit_keys(pl.Series(TRICKY), kind, unit_cfg=unit_cfg, norm=normalization)
        want, want_records = [], []
        for r, text in enumerate(TRICKY):
            units = text.split("\n")
            if kind == "paragraphs":
                paragraphs: list[list[str]] = []
                for i, line in enumerate(units):
                    blank = line.strip() == ""
                    if i == 0 or (not blank and units[i - 1].strip() == ""):
                        paragraphs.append([])
                    if not blank:
                        paragraphs[-1].append(line)
                units = ["\n".join(p) for p in paragraphs]
            for unit in units:
                k = key(unit, kind)
                if k is not None:
                    want.append(k)
                    want_records.append(r)
        assert keys.tolist() == want and records.tolist() == want_records, kind


def test_a_text_ending_in_removed_lines_loses_its_trailing_blank_lines_as_python_sees_them():
    """U+001C-U+001F are whitespace to Python (str.isspace), not to Unicode White_Space."""
    texts = [f"first unique line\n\x1c\n{BOILER}", f"second unique line\n \u2028\n{BOILER}\n", BOILER]
    kept, _, _ = run([texts_frame(texts)], lines_only(remove="all"))
    assert kept["text"].to_list() == ["first unique line", "second unique line\n", ""]
