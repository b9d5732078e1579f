"""Per-document scores kept beside score.json (RUN_DIR/eval_docs/<set>.npz): consistent with the
set's bits per byte, read back exactly, and used only where they agree with score.json."""

from __future__ import annotations

import numpy as np
import pytest

from curate.train.eval_docs import (
    DocScores,
    read_eval_docs,
    records_fingerprint,
    run_eval_docs,
    write_eval_docs,
    write_run_eval_docs,
)
from curate.train.score import score, sets_report, write_score_json


def _texts(eval_texts: list[str], n: int) -> list[dict[str, str]]:
    return [{"text": t} for t in eval_texts[:n]]


def test_per_document_bits_over_bytes_is_the_sets_bpb(trained, sp_path, eval_texts) -> None:
    records = _texts(eval_texts, 12)
    metrics = score(trained.checkpoint, records, sp_path, per_document=True)
    docs = metrics["docs"]
    assert docs.bits.shape == docs.bytes.shape == (12,)
    assert docs.bytes.tolist() == [len(r["text"].encode("utf-8")) for r in records]
    assert docs.bits.sum() / docs.bytes.sum() == pytest.approx(metrics["bpb"], rel=1e-12)
    assert docs.fingerprint == records_fingerprint(records) != records_fingerprint(records[::-1])
    assert "docs" not in score(trained.checkpoint, records, sp_path)  # only when asked


def test_preference_documents_are_the_chosen_responses(trained, sp_path) -> None:
    pairs = [
        {"prompt": f"Item {i}?", "chosen": f"A fine answer number {i}.", "rejected": "No."} for i in range(6)
    ]
    metrics = score(trained.checkpoint, pairs, sp_path, per_document=True)
    docs = metrics["docs"]
    assert docs.bytes.tolist() == [len(p["chosen"].encode()) for p in pairs]
    assert docs.bpb == pytest.approx(metrics["bpb"], rel=1e-12)


def test_files_read_back_exactly_and_only_where_they_agree_with_score_json(
    trained, sp_path, eval_texts, tmp_path
) -> None:
    web, more = _texts(eval_texts, 10), _texts(eval_texts[10:], 8)
    m_web = score(trained.checkpoint, web, sp_path, per_document=True)
    m_more = score(trained.checkpoint, more, sp_path, per_document=True)
    docs = {"web": m_web.pop("docs"), "more": m_more.pop("docs")}
    write_run_eval_docs(tmp_path, docs)
    back = read_eval_docs(tmp_path / "eval_docs" / "web.npz")
    assert back is not None and np.array_equal(back.bits, docs["web"].bits)
    assert np.array_equal(back.bytes, docs["web"].bytes) and back.fingerprint == docs["web"].fingerprint
    report = sets_report({"web": m_web, "more": m_more})
    write_score_json(tmp_path / "score.json", report)
    found = run_eval_docs(tmp_path, report)
    assert set(found) == {"avg.bpb", "web.bpb", "more.bpb"} and set(found["avg.bpb"]) == {"web", "more"}
    # a stale file (another score of the set) is not used, nor the average that needs it
    write_eval_docs(
        tmp_path / "eval_docs" / "more.npz", DocScores(docs["more"].bits * 1.01, docs["more"].bytes, "x")
    )
    assert set(run_eval_docs(tmp_path, report)) == {"web.bpb"}
    # one set: its metric is `bpb`; a run scored before these files existed gives nothing
    single = sets_report({"eval": m_web})
    write_run_eval_docs(tmp_path, {"eval": docs["web"]}, replace=True)
    assert sorted(p.name for p in (tmp_path / "eval_docs").iterdir()) == ["eval.npz"]
    assert set(run_eval_docs(tmp_path, single)) == {"bpb"}
    assert run_eval_docs(tmp_path / "older", single) == {}


def test_a_file_that_is_not_one_reads_as_none(tmp_path) -> None:
    (tmp_path / "x.npz").write_bytes(b"not a zip")
    assert read_eval_docs(tmp_path / "x.npz") is None
    assert read_eval_docs(tmp_path / "missing.npz") is None
