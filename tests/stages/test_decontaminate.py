"""decontaminate: eval records and benchmark text never reach the training data."""

from __future__ import annotations

import json
import os

import numpy as np
import polars as pl
import pytest

from curate.errors import CurateError, StageError
from curate.records import BASE_SCHEMA
from curate.stages import contamination
from curate.stages.decontaminate import DecontaminateConfig, apply, check, digest, ngram_index
from tests.conftest import write_jsonl


def texts(*values: str, ids: list[str] | None = None) -> pl.DataFrame:
    ids = ids or [f"t{i}" for i in range(len(values))]
    return pl.DataFrame(
        {"id": ids, "source": ["web"] * len(values), "text": list(values), "meta": [None] * len(values)},
        schema=BASE_SCHEMA["text"],
    )


def chats(*conversations: list[dict[str, str]]) -> pl.DataFrame:
    n = len(conversations)
    return pl.DataFrame(
        {
            "id": [f"c{i}" for i in range(n)],
            "source": ["chat"] * n,
            "messages": list(conversations),
            "meta": [None] * n,
        },
        schema=BASE_SCHEMA["chat"],
    )


@pytest.fixture
def eval_file(tmp_path):
    return write_jsonl(
        tmp_path / "eval.jsonl",
        [
            {"text": "The held-out page  about\nrivers."},
            {"id": "web/a.jsonl:9", "text": "another eval page"},
            {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]},
        ],
    )


# -- the eval set, by id and text (unchanged behaviour) ----------------------------------------------


def test_overlap_by_text_up_to_whitespace_and_by_id_is_dropped(eval_file):
    batch = texts(
        "  The held-out page about rivers.  ", "a training page", "unrelated", ids=["a", "b", "web/a.jsonl:9"]
    )
    result = apply(batch, DecontaminateConfig(eval=str(eval_file), on_overlap="drop"))
    assert result.kept["id"].to_list() == ["b"]
    assert result.dropped["id"].to_list() == ["a", "web/a.jsonl:9"]
    assert set(result.dropped["reason"]) == {"eval_overlap"}
    assert result.counters == {"eval_overlap": 2}


def test_text_that_differs_in_words_is_kept(eval_file):
    batch = texts("The held-out page about lakes.", "The held-out page about rivers")
    result = apply(batch, DecontaminateConfig(eval=str(eval_file), on_overlap="drop"))
    assert result.kept.height == 2


def test_overlap_is_an_error_by_default_naming_the_records(eval_file):
    with pytest.raises(StageError, match=r"1 training record\(s\) are in the eval set .* \(e\.g\. x\)"):
        apply(texts("another eval page", ids=["x"]), DecontaminateConfig(eval=str(eval_file)))


def test_chat_records_compare_their_joined_turns(eval_file):
    batch = chats(
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "goodbye"}],
    )
    result = apply(batch, DecontaminateConfig(eval=str(eval_file), on_overlap="drop"))
    assert result.dropped["id"].to_list() == ["c0"]


def test_missing_eval_file_is_a_clear_error(tmp_path):
    with pytest.raises(StageError, match="matches no file"):
        apply(texts("x"), DecontaminateConfig(eval=str(tmp_path / "none*.jsonl")))


# -- n-gram overlap ------------------------------------------------------------------------------

QUESTION = (
    "A farmer has three fields of wheat and each field yields forty bushels in a good year "
    "how many bushels does the farmer harvest in two good years"
)  # 28 words
CHINESE = "中华人民共和国的首都是哪一个城市请简要回答"  # 21 characters: 21 words
PAGE = "Welcome to my blog about farming and arithmetic puzzles that I collected over the years. "


@pytest.fixture
def bench_file(tmp_path):
    return write_jsonl(
        tmp_path / "gsm.jsonl",
        [
            {"question": QUESTION, "answer": "240", "id": 7},
            {"question": "Name the largest planet of the solar system", "answer": "Jupiter"},
        ],
    )


def against(path, **ngram) -> DecontaminateConfig:
    return DecontaminateConfig(against={"gsm": str(path)}, ngram=ngram or None)


def test_item_inside_a_longer_page_is_dropped_naming_the_benchmark(bench_file):
    batch = texts(PAGE + QUESTION + "? The answer is 240. " + PAGE, PAGE)
    result = apply(batch, against(bench_file))
    assert result.dropped["id"].to_list() == ["t0"]
    assert result.dropped["reason"].to_list() == ["contaminated:gsm"]
    assert result.kept["id"].to_list() == ["t1"]


def test_changed_whitespace_case_and_punctuation_are_caught(bench_file):
    shouted = "\n\t".join(QUESTION.upper().split()[:14]) + ",  " + "  ".join(QUESTION.split()[14:])
    result = apply(texts(f"Quiz: {shouted}!!!"), against(bench_file))
    assert result.dropped["reason"].to_list() == ["contaminated:gsm"]


def test_a_run_of_n_minus_one_shared_words_is_not_caught(bench_file):
    words = QUESTION.split()
    near = " ".join(words[:12]) + " zebra " + " ".join(words[12:24])  # 12 shared, a break, 12 shared
    result = apply(texts(PAGE + near + " " + PAGE), against(bench_file))
    assert result.dropped.height == 0
    thirteen = " ".join(words[3:16])
    assert apply(texts(PAGE + thirteen + " " + PAGE), against(bench_file)).dropped.height == 1


def test_item_in_a_chat_turn_drops_the_conversation(bench_file):
    batch = chats(
        [{"role": "user", "content": "Help me"}, {"role": "assistant", "content": f"Sure. {QUESTION}? 240."}],
        [{"role": "user", "content": "Help me"}, {"role": "assistant", "content": "Sure, ask away."}],
    )
    result = apply(batch, against(bench_file))
    assert result.dropped["id"].to_list() == ["c0"]
    assert result.dropped["reason"].to_list() == ["contaminated:gsm"]


def test_cut_drops_a_contaminated_chat_rather_than_cutting_it(bench_file):
    batch = chats([{"role": "user", "content": QUESTION}, {"role": "assistant", "content": "240 " * 200}])
    result = apply(batch, against(bench_file, action="cut"))
    assert result.dropped["reason"].to_list() == ["contaminated:gsm"]
    assert result.counters["contaminated.cut_as_drop"] == 1


def test_preference_pair_with_a_contaminated_answer_is_dropped(bench_file):
    turn = lambda role, text: [{"role": role, "content": text}]  # noqa: E731
    batch = pl.DataFrame(
        {
            "id": ["p0", "p1"],
            "source": ["pref", "pref"],
            "prompt": [turn("user", "Solve this"), turn("user", "Solve this")],
            "chosen": [turn("assistant", QUESTION + " gives 240"), turn("assistant", "240")],
            "rejected": [turn("assistant", "no idea"), turn("assistant", "no idea")],
            "meta": [None, None],
        },
        schema=BASE_SCHEMA["preference"],
    )
    result = apply(batch, against(bench_file))
    assert result.dropped["id"].to_list() == ["p0"]


def test_chinese_and_japanese_items_are_caught_character_by_character(tmp_path):
    path = write_jsonl(
        tmp_path / "cjk.jsonl",
        [{"question": CHINESE}, {"question": "日本の首都はどこですかと先生が生徒に聞きました"}],
    )
    cfg = DecontaminateConfig(against={"cjk": str(path)})
    batch = texts(
        "我们都知道，" + CHINESE + "。谢谢。",
        "昨日、日本の首都はどこですかと先生が生徒に聞きました。",
        "中华人民共和国的首都是北京",  # 11 characters in common: fewer than 13
    )
    result = apply(batch, cfg)
    assert result.dropped["id"].to_list() == ["t0", "t1"]


def test_items_shorter_than_n_match_whole_and_tiny_ones_are_skipped(tmp_path):
    path = write_jsonl(tmp_path / "b.jsonl", [{"q": "Largest planet of the solar system"}, {"q": "Paris"}])
    cfg = DecontaminateConfig(against={"b": str(path)})
    batch = texts(
        "Which is the LARGEST planet of the solar system? Jupiter.",
        "The largest planet of the inner solar system is Earth.",
        "Paris is lovely.",
        "the largest planet of the solar-system",  # "solar-system" is one word: solarsystem
    )
    result = apply(batch, cfg)
    assert result.dropped["id"].to_list() == ["t0"]
    index = ngram_index(cfg)
    assert index.skipped == (1,)  # "Paris": fewer than min_tokens (3) words
    one = DecontaminateConfig(against={"b": str(path)}, ngram={"min_tokens": 1})
    assert apply(texts("Paris is lovely."), one).dropped.height == 1


def test_several_named_benchmarks_name_themselves_in_reasons_and_stats(tmp_path, bench_file):
    trivia = write_jsonl(
        tmp_path / "trivia.jsonl",
        [{"question": "Which river flows through the ancient city of Babylon in the land of Mesopotamia"}],
    )
    cfg = DecontaminateConfig(against={"gsm": str(bench_file), "trivia": str(trivia)})
    batch = texts(
        PAGE + QUESTION,
        "Quiz: which river flows through the ancient city of Babylon in the land of Mesopotamia?",
        "A copy: " + QUESTION,
        PAGE,
    )
    result = apply(batch, cfg)
    assert dict(zip(result.dropped["id"], result.dropped["reason"], strict=True)) == {
        "t0": "contaminated:gsm",
        "t1": "contaminated:trivia",
        "t2": "contaminated:gsm",
    }
    assert result.counters["contaminated.gsm.records"] == 2
    assert result.counters["contaminated.gsm.ngrams"] == 2 * (28 - 13 + 1)
    assert result.counters["contaminated.trivia.records"] == 1
    assert result.counters["contaminated.trivia.ngrams"] == 14 - 13 + 1  # 14 words
    stats = digest(result.counters, cfg)["contamination"]["benchmarks"]
    assert stats["gsm"]["records"] == 2
    assert stats["gsm"]["items"] == 2
    assert stats["gsm"]["top_items"] == [
        {"item": 0, "records": 2, "origin": "gsm.jsonl:1", "text": QUESTION + " 240"}
    ]
    assert stats["trivia"]["top_items"][0]["records"] == 1
    assert all(".item." not in k for k in digest(result.counters, cfg)["counters"])


def test_a_record_hit_by_two_benchmarks_is_named_after_the_one_it_shares_most_with(tmp_path, bench_file):
    other = write_jsonl(
        tmp_path / "other.jsonl",
        [{"t": "one two three four five six seven eight nine ten eleven twelve thirteen"}],
    )
    cfg = DecontaminateConfig(against={"other": str(other), "gsm": str(bench_file)})
    batch = texts("one two three four five six seven eight nine ten eleven twelve thirteen. " + QUESTION)
    result = apply(batch, cfg)
    assert result.dropped["reason"].to_list() == ["contaminated:gsm"]  # 16 n-grams against 1
    assert result.counters["contaminated.other.records"] == 1


def test_the_eval_set_is_indexed_too_when_ngram_is_on(tmp_path, bench_file):
    eval_path = write_jsonl(tmp_path / "eval.jsonl", [{"text": "Held out: " + QUESTION}])
    cfg = DecontaminateConfig(eval=str(eval_path), ngram={}, on_overlap="drop")
    result = apply(texts(PAGE + QUESTION, "Held out: " + QUESTION, PAGE), cfg)
    assert dict(zip(result.dropped["id"], result.dropped["reason"], strict=True)) == {
        "t0": "contaminated:eval",
        "t1": "eval_overlap",  # equal to an eval record: today's rule, checked first
    }
    both = DecontaminateConfig(eval=str(eval_path), against={"gsm": str(bench_file)})
    assert ngram_index(both).names == ("eval", "gsm")


def test_eval_is_a_reserved_benchmark_name(bench_file):
    with pytest.raises(ValueError, match="'eval' is the name of the recipe's eval set"):
        DecontaminateConfig(against={"eval": str(bench_file)})


def test_nothing_to_check_against_is_an_error():
    with pytest.raises(StageError, match="nothing to check against"):
        check(DecontaminateConfig())


# -- cut: lm-eval's Janitor semantics, expectations worked out by hand ----------------------------


def test_cut_removes_the_span_and_a_window_and_keeps_long_fragments():
    text = "aaaa bbbb red green blue cccc dddd"
    # "red green blue" is characters 10..23; with 2 either side, 8..25 go; "aaaa bbb" (0..7) and
    # "ccc dddd" (26..33) are longer than 3 characters.
    assert contamination.cut(text, [(10, 23)], window=2, min_fragment=3) == ["aaaa bbb", "ccc dddd"]
    # The Janitor's two ends differ: a fragment before a match must be longer than min_fragment
    # (8 - 0 > 8 fails), the last one is kept while the cut ends before len - min_fragment
    # (25 < 34 - 8), so "ccc dddd", 8 characters, stays.
    assert contamination.cut(text, [(10, 23)], window=2, min_fragment=8) == ["ccc dddd"]
    assert contamination.cut(text, [(10, 23)], window=2, min_fragment=9) == []


def test_cut_of_overlapping_matches_leaves_nothing_short():
    text = "x one two three four yy"
    # matches "one two three" (2..14) and "two three four" (6..19): 0..16 then 4..21 go; 21 is not
    # 3 characters short of the end (23 - 3 = 20), so nothing is left.
    assert contamination.cut(text, [(2, 14), (6, 19)], window=2, min_fragment=3) == []


def test_cut_drops_a_text_with_more_matches_than_max_matches():
    text = "p " * 100 + "one two three" + " q" * 100
    assert contamination.cut(text, [(200, 212)], window=2, min_fragment=3, max_matches=1) != []
    assert contamination.cut(text, [(200, 212), (200, 212)], window=2, min_fragment=3, max_matches=1) == []


def test_cut_with_the_janitor_defaults():
    item = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu"  # 69 characters
    text = "w " * 300 + item + " " + "z " * 300  # item at 600..668, length 1270
    # 400..868 go; "w " * 200 is left before, and from 869 on: " " + "z " * 200.
    assert contamination.cut(text, [(600, 668)]) == ["w " * 200, " " + "z " * 200]


def test_cut_action_on_text_records_keeps_the_fragments(tmp_path):
    path = write_jsonl(tmp_path / "b.jsonl", [{"q": "red green blue"}])
    cfg = DecontaminateConfig(
        against={"b": str(path)}, ngram={"n": 3, "action": "cut", "window": 2, "min_fragment": 3}
    )
    result = apply(texts("aaaa bbbb Red, GREEN blue cccc dddd", "x one two", "red green blue"), cfg)
    assert result.kept["text"].to_list() == ["aaaa bbb\n\nccc dddd", "x one two"]
    assert result.dropped["id"].to_list() == ["t2"]  # nothing left of it
    assert result.counters["contaminated.cut_records"] == 1


def test_janitor_mode_does_not_match_across_a_word_of_punctuation_only(tmp_path):
    path = write_jsonl(tmp_path / "b.jsonl", [{"q": "red - green blue"}])  # registered as "red green blue"
    janitor = DecontaminateConfig(against={"b": str(path)}, ngram={"n": 3, "normalize": "janitor"})
    unicode = DecontaminateConfig(against={"b": str(path)}, ngram={"n": 3})
    batch = texts("so red - green blue", "so RED green blue!", "so Rouge green blue")
    assert apply(batch, janitor).dropped["id"].to_list() == ["t1"]
    assert apply(batch, unicode).dropped["id"].to_list() == ["t0", "t1"]


def test_janitor_mode_lowercases_ascii_only():
    w = contamination.words(["ÉCOLE école Hello hello"], mode="janitor")
    assert w.hashes[0] != w.hashes[1] and w.hashes[2] == w.hashes[3]
    u = contamination.words(["ÉCOLE école"], mode="unicode")
    assert u.hashes[0] == u.hashes[1]


def test_word_spans_are_the_whitespace_words_of_the_original_text():
    w = contamination.words(["  (Hello,  World!) 北京x", "ab"])
    assert list(zip(w.start.tolist(), w.end.tolist(), strict=True)) == [
        (2, 8),
        (11, 17),
        (19, 19),
        (20, 20),
        (21, 21),
        (0, 1),
    ]
    assert w.record.tolist() == [0, 0, 0, 0, 0, 1]


# -- benchmark files -----------------------------------------------------------------------------


def test_parquet_and_fields(tmp_path):
    pl.DataFrame(
        {
            "question": [QUESTION],
            "choices": [["200", "240"]],
            "subject": [" ".join(["arithmetic"] * 14)],
        }
    ).write_parquet(tmp_path / "b.parquet")
    only = DecontaminateConfig(
        against={"b": {"path": str(tmp_path / "*.parquet"), "fields": ["question", "choices"]}}
    )
    everything = DecontaminateConfig(against={"b": str(tmp_path / "b.parquet")})
    page = texts("subject: " + "arithmetic " * 13, QUESTION + " 200 240")
    assert apply(page, only).dropped["id"].to_list() == ["t1"]
    assert apply(page, everything).dropped["id"].to_list() == ["t0", "t1"]
    assert ngram_index(only).previews[0] == QUESTION + " 200 240"


def test_unknown_field_is_an_error_naming_the_benchmark(bench_file):
    cfg = DecontaminateConfig(against={"gsm": {"path": str(bench_file), "fields": ["qestion"]}})
    with pytest.raises(StageError, match=r"against\.gsm: no record .* has the field\(s\) \['qestion'\]"):
        check(cfg)


def test_hf_save_to_disk_directory_with_splits(tmp_path):
    datasets = pytest.importorskip("datasets")
    datasets.DatasetDict(
        {
            "test": datasets.Dataset.from_dict({"question": [QUESTION]}),
            "validation": datasets.Dataset.from_dict(
                {"question": ["one two three four five six seven eight nine ten eleven twelve thirteen"]}
            ),
        }
    ).save_to_disk(str(tmp_path / "hf"))
    batch = texts(QUESTION, "one two three four five six seven eight nine ten eleven twelve thirteen")
    every = DecontaminateConfig(against={"hf": str(tmp_path / "hf")})
    assert apply(batch, every).dropped.height == 2
    test = DecontaminateConfig(against={"hf": {"path": str(tmp_path / "hf"), "split": "test"}})
    assert apply(batch, test).dropped["id"].to_list() == ["t0"]


def test_missing_benchmark_file_is_an_error_naming_the_key(tmp_path, bench_file):
    cfg = DecontaminateConfig(against={"gsm": str(bench_file), "mmlu": str(tmp_path / "nope/*.parquet")})
    with pytest.raises(StageError, match=r"against\.mmlu: path '.*nope/\*\.parquet' matches no file"):
        check(cfg)


def test_missing_benchmark_file_fails_recipe_validation(tmp_path, bench_file):
    from curate.exec.pipe import check_recipe
    from curate.recipe import load_recipe

    write_jsonl(tmp_path / "web.jsonl", [{"text": PAGE}])
    (tmp_path / "r.yaml").write_text(
        "name: r\nsources:\n  - {name: web, path: web.jsonl}\nstages:\n"
        "  - clean: {}\n"
        "  - decontaminate: {against: {gsm: gsm.jsonl, mmlu: mmlu/*.parquet}}\n"
    )
    recipe = load_recipe(tmp_path / "r.yaml")
    with pytest.raises(
        CurateError, match=r"stages\[1\]\.decontaminate: against\.mmlu: path 'mmlu/\*\.parquet'"
    ):
        check_recipe(recipe)


# -- the index -----------------------------------------------------------------------------------


def test_index_is_at_most_16_bytes_per_ngram_and_built_once_per_file_version(tmp_path):
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(5000)]
    rows = [{"text": " ".join(rng.choice(vocab, 200))} for _ in range(300)]  # ~56,400 n-grams
    path = write_jsonl(tmp_path / "big.jsonl", rows)
    cfg = DecontaminateConfig(against={"big": str(path)})
    index = ngram_index(cfg)
    assert index.size > 50_000
    assert index.nbytes <= 16 * index.size
    assert ngram_index(cfg) is index
    write_jsonl(path, rows[:10])
    os.utime(path, ns=(1, 1))
    rebuilt = ngram_index(cfg)
    assert rebuilt is not index and rebuilt.size < index.size


def test_scan_in_chunks_finds_what_one_pass_finds(bench_file):
    cfg = DecontaminateConfig(against={"gsm": str(bench_file)})
    index = ngram_index(cfg)
    pages = [PAGE * (i % 4) + (QUESTION if i % 3 == 0 else "") for i in range(40)]
    whole = contamination.scan(pages, index, chunk_chars=1 << 30)
    chunked = contamination.scan(pages, index, chunk_chars=300)
    for a, b in zip(
        (whole.record, whole.start, whole.end), (chunked.record, chunked.start, chunked.end), strict=True
    ):
        assert a.tolist() == b.tolist()
    assert sorted(set(whole.record.tolist())) == list(range(0, 40, 3))


def test_digest_of_a_run_without_ngram_adds_nothing(eval_file):
    assert digest({"eval_overlap": 1.0}, DecontaminateConfig(eval=str(eval_file))) == {}


def test_stats_are_json_serialisable(bench_file):
    cfg = DecontaminateConfig(against={"gsm": str(bench_file)})
    result = apply(texts(QUESTION), cfg)
    json.dumps(digest(result.counters, cfg))


# -- in a recipe ---------------------------------------------------------------------------------


def test_a_listed_stage_gets_the_recipes_eval_set(tmp_path, bench_file):
    from curate.recipe import load_recipe, resolve_implied

    write_jsonl(tmp_path / "web.jsonl", [{"text": PAGE}])
    write_jsonl(tmp_path / "eval.jsonl", [{"text": PAGE}])
    (tmp_path / "r.yaml").write_text(
        "name: r\nsources:\n  - {name: web, path: web.jsonl}\nstages:\n"
        "  - decontaminate: {against: {gsm: gsm.jsonl}}\n"
        "  - tokenize: {train: {vocab_size: 300}, seq_len: 32}\n"
        "train: {steps: 1, eval: {path: eval.jsonl}}\n"
    )
    recipe = resolve_implied(load_recipe(tmp_path / "r.yaml"))
    (name, config), _ = recipe.stage_list()
    assert name == "decontaminate" and config.eval == str(tmp_path / "eval.jsonl")
    assert config.against["gsm"].path == str(tmp_path / "gsm.jsonl")


@pytest.mark.parametrize("listed", [True, False])
def test_every_named_eval_set_and_task_is_checked(tmp_path, listed):
    """train.eval.sets and .tasks all go into the decontaminate stage, implied or listed, with
    paths relative to the recipe's directory; a task item in the training data is caught."""
    from curate.recipe import load_recipe, resolve_implied

    item = {"context": "Question: What is 7 + 5? Answer:", "choices": ["11", "12", "13"], "answer": 1}
    write_jsonl(tmp_path / "web.jsonl", [{"text": PAGE}])
    write_jsonl(tmp_path / "web_eval.jsonl", [{"text": "A held-out page about rivers."}])
    write_jsonl(
        tmp_path / "chat_eval.jsonl",
        [{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello there"}]}],
    )
    write_jsonl(tmp_path / "arith.jsonl", [item])
    listed_stage = "  - decontaminate: {on_overlap: drop}\n" if listed else ""
    (tmp_path / "r.yaml").write_text(
        "name: r\nsources:\n  - {name: web, path: web.jsonl}\nstages:\n"
        + listed_stage
        + "  - tokenize: {train: {vocab_size: 300}, seq_len: 32}\n"
        "train: {steps: 1, eval: {sets: {web: web_eval.jsonl, chat: chat_eval.jsonl}, tasks: {arith: arith.jsonl}}}\n"
    )
    recipe = resolve_implied(load_recipe(tmp_path / "r.yaml"))
    (name, config), _ = recipe.stage_list()
    assert name == "decontaminate"
    assert config.eval == [str(tmp_path / f) for f in ("web_eval.jsonl", "chat_eval.jsonl", "arith.jsonl")]
    batch = texts("Question: What is 7 + 5? Answer: 12", "A held-out page about rivers.", "a training page")
    result = apply(batch, config.model_copy(update={"on_overlap": "drop"}))
    assert result.kept["text"].to_list() == ["a training page"]
    assert set(result.dropped["reason"]) == {"eval_overlap"}


@pytest.mark.slow
def test_run_with_benchmarks_drops_and_reports_them(tmp_path, bench_file):
    from curate.exec.pipe import run_recipe
    from curate.recipe import load_recipe

    pages = [
        {"text": f"{PAGE} Page {i}. " + (QUESTION if i % 5 == 0 else "Nothing to see.")} for i in range(20)
    ]
    write_jsonl(tmp_path / "web.jsonl", pages)
    write_jsonl(tmp_path / "trivia.jsonl", [{"question": CHINESE}])
    (tmp_path / "r.yaml").write_text(
        "name: r\nsources:\n  - {name: web, path: web.jsonl}\nstages:\n"
        "  - decontaminate: {against: {gsm: gsm.jsonl, zh: {path: trivia.jsonl, fields: [question]}}}\n"
    )
    result = run_recipe(load_recipe(tmp_path / "r.yaml"), run_dir=tmp_path / "run", workers=1)
    stats = json.loads((result.run_dir / "stats/01-decontaminate.json").read_text())
    assert stats["reasons"] == {"contaminated:gsm": 4}
    gsm = stats["contamination"]["benchmarks"]["gsm"]
    assert (gsm["records"], gsm["ngrams_matched"]) == (4, 4 * 16)
    assert gsm["top_items"][0]["records"] == 4 and gsm["top_items"][0]["text"].startswith("A farmer")
    assert stats["contamination"]["benchmarks"]["zh"]["records"] == 0
    assert result.manifest["accounting"]["balanced"]
    rejected = pl.read_parquet(result.run_dir / "rejected/01-decontaminate/*.parquet")
    assert sorted(rejected["id"].to_list()) == sorted(f"web/web.jsonl:{i + 1}" for i in range(0, 20, 5))
    report = (result.run_dir / "report.html").read_text()
    assert "Decontamination: benchmarks found in the data" in report and "A farmer has three fields" in report
