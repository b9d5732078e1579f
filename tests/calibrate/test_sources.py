"""Where calibrate's wrong-language text comes from, and what it reads from a curated run."""

from __future__ import annotations

import json

import polars as pl
import pytest

from curate.calibrate.run import MIN_POOL, curated_texts, wrong_language_pool
from curate.errors import CurateError, UsageError


def rejected(run_dir, rows):
    directory = run_dir / "rejected" / "04-language"
    directory.mkdir(parents=True)
    pl.DataFrame(rows).write_parquet(directory / "part-00000-0000.parquet")


def test_the_language_stage_removals_are_the_pool_when_there_are_enough(tmp_path):
    foreign = [f"Ein deutscher Text Nummer {i}." for i in range(MIN_POOL)]
    rows = {"text": [*foreign, "low score text"], "reason": ["lang_not_kept"] * MIN_POOL + ["lang_low_score"]}
    rejected(tmp_path, rows)
    pool, source = wrong_language_pool(tmp_path, language="en")
    assert pool == foreign  # low-score removals may be the right language: not used
    assert "language stage removed" in source


def test_too_few_removals_fall_back_to_the_bundled_samples_in_other_languages(tmp_path):
    rejected(tmp_path, {"text": ["Ein Text."], "reason": ["lang_not_kept"]})
    pool, source = wrong_language_pool(tmp_path, language="en")
    assert len(pool) > 500 and "bundled sample pages" in source and "'en'" in source
    english = wrong_language_pool(tmp_path, language="de")[0]
    assert set(pool) != set(english)


def test_a_given_pool_file_wins_and_a_bad_one_names_the_flag(tmp_path):
    path = tmp_path / "pool.jsonl"
    path.write_text("".join(json.dumps({"text": f"texte {i}"}) + "\n" for i in range(3)))
    pool, source = wrong_language_pool(tmp_path, language="en", path=path)
    assert pool == ["texte 0", "texte 1", "texte 2"] and str(path) in source
    (tmp_path / "bad.jsonl").write_text('{"body": "x"}\n')
    with pytest.raises(UsageError, match="--wrong-lang-pool"):
        wrong_language_pool(tmp_path, language="en", path=tmp_path / "bad.jsonl")


def test_curated_texts_read_the_output_and_refuse_chat_records(tmp_path):
    output = tmp_path / "output"
    output.mkdir()
    texts = [f"document {i}" for i in range(12)]
    pl.DataFrame(
        {"id": [str(i) for i in range(12)], "text": texts, "lang": ["en"] * 11 + ["de"]}
    ).write_parquet(output / "part-00000-0000.parquet")
    assert curated_texts(tmp_path) == (texts, "en")
    chat = tmp_path / "chat"
    (chat / "output").mkdir(parents=True)
    pl.DataFrame({"id": ["a"], "messages": [[{"role": "user", "content": "hi"}]]}).write_parquet(
        chat / "output" / "part-00000-0000.parquet"
    )
    with pytest.raises(CurateError, match="kind: pretrain"):
        curated_texts(chat)
