"""The megatron export: megatron-core's own reader gets our documents back, and our bytes are
the bytes megatron-core's own builder writes for the same documents."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from curate.exports.megatron import IndexedDatasetWriter, megatron_dtype
from curate.stages.tokenize import TokenizeConfig
from tests.stages.test_tokenize import CHATS, DOCS, PAIRS, TRAIN, run_all

# Importing megatron.core.datasets.indexed_dataset imports megatron.core, which (0.16.1, on CPU,
# with this torch) warns that torch.jit.script_method is deprecated and that Transformer Engine
# and Apex are missing: neither is about the indexed dataset format tested here.
pytestmark = [
    pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Transformer Engine and Apex are not installed:UserWarning"),
]


def megatron():
    return pytest.importorskip("megatron.core.datasets.indexed_dataset")


def documents(seed: int, n: int, vocab: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, vocab, size=int(rng.integers(1, 50))) for _ in range(n)]


def builder_bytes(docs, prefix, dtype):
    indexed = megatron()
    builder = indexed.IndexedDatasetBuilder(str(prefix) + ".bin", dtype=dtype)
    for doc in docs:
        builder.add_item(torch.from_numpy(doc.astype(np.int64)))  # one sequence per document,
        builder.end_document()  # as tools/preprocess_data.py writes documents without sentence splits
    builder.finalize(str(prefix) + ".idx")
    return (
        prefix.with_name(prefix.name + ".bin").read_bytes(),
        prefix.with_name(prefix.name + ".idx").read_bytes(),
    )


@pytest.mark.parametrize(("vocab", "n"), [(300, 40), (70_000, 25), (1000, 0)])
def test_our_bytes_are_megatron_core_builders_bytes(tmp_path, vocab, n, monkeypatch):
    docs = documents(vocab, n, vocab)
    dtype = megatron_dtype(vocab)
    monkeypatch.setattr("curate.exports.megatron.CHUNK", 7)  # the index is written in several chunks
    writer = IndexedDatasetWriter(tmp_path / "ours", dtype=dtype)
    for doc in docs:
        writer.add(doc)
    writer.close()
    ours = ((tmp_path / "ours.bin").read_bytes(), (tmp_path / "ours.idx").read_bytes())
    assert ours == builder_bytes(docs, tmp_path / "theirs", dtype.type)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ours.bin", "ours.idx", "theirs.bin", "theirs.idx"]


def test_megatron_core_reads_back_our_documents(tmp_path):
    indexed = megatron()
    docs = documents(1, 30, 70_000)
    writer = IndexedDatasetWriter(tmp_path / "train", dtype=megatron_dtype(70_000))
    for doc in docs:
        writer.add(doc)
    writer.close()
    dataset = indexed.IndexedDataset(str(tmp_path / "train"))
    assert len(dataset) == len(docs)
    assert dataset.document_indices.tolist() == list(range(len(docs) + 1))
    for i, doc in enumerate(docs):
        assert dataset[i].tolist() == doc.tolist()
    assert dataset.get(3, offset=1, length=2).tolist() == docs[3][1:3].tolist()


def test_an_id_the_dtype_cannot_hold_is_refused(tmp_path):
    writer = IndexedDatasetWriter(tmp_path / "train", dtype=np.uint16)
    with pytest.raises(ValueError, match="does not fit"):
        writer.add(np.array([70_000]))
    writer.abort()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("batches", "options"),
    [
        ([DOCS], {}),
        ([CHATS], {"seq_len": 48}),
        ([PAIRS], {}),
        ([CHATS], {"seq_len": 48, "truncation": "drop"}),
    ],
)
def test_the_stage_exports_each_record_as_packed(tmp_path, batches, options):
    indexed = megatron()
    cfg = TokenizeConfig(train=TRAIN, export=["megatron"], **{"seq_len": 64, **options})
    _, outputs, stats = run_all(batches, cfg, tmp_path)
    kept = outputs[0].kept
    prefix = "chosen_" if "chosen_input_ids" in kept.columns else ""
    records = [np.array(ids) for ids in kept[f"{prefix}input_ids"].to_list()]
    packing = stats["packing"]
    if packing != "concat":  # conversations are truncated or dropped where tokens/ does it
        if cfg.truncation == "drop":
            records = [r for r in records if r.size <= cfg.seq_len]
        else:
            masks = [np.array(m) for m in kept[f"{prefix}loss_mask"].to_list()]
            records = [
                r[: cfg.seq_len] for r, m in zip(records, masks, strict=True) if m[: cfg.seq_len].any()
            ]
    dataset = indexed.IndexedDataset(str(tmp_path / "exports/megatron/train"))
    assert [dataset[i].tolist() for i in range(len(dataset))] == [r.tolist() for r in records]
    assert stats["exports"]["megatron"]["documents"] == len(records)
    assert stats["exports"]["megatron"]["tokens"] == sum(r.size for r in records)
    assert stats["num_docs"] == len(records)  # the same documents as tokens/
    assert stats["artifacts"] == ["tokenizer", "tokens", "exports"]
