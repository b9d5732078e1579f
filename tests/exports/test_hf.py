"""The hf export, handed to TRL's own dataset preparation and collators: taken as tokenized,
nothing re-tokenized, nothing rejected, the same ids and targets as tokens/."""

from __future__ import annotations

import itertools

import datasets
import numpy as np
import pyarrow.parquet as pq
import pytest

from curate.exports.hf import seq_lengths, split_pair
from curate.io.tokens import open_tokens
from curate.stages.tokenize import TokenizeConfig
from tests.stages.test_tokenize import CHATS, DOCS, PAIRS, TRAIN, run_all
from tests.trl_tiny import hf_tokenizer, tiny_model, trainer_args


def load(path, tmp_path):
    return datasets.load_dataset(
        "parquet", data_files=str(path), split="train", cache_dir=str(tmp_path / "c")
    )


def model_and_tokenizer(tmp_path, vocab_size):
    """A tokenizer for TRL's padding/EOS only (it must not tokenize anything), and a model whose
    embedding covers the run's vocabulary."""
    tokenizer = hf_tokenizer(["a b c"], vocab_size=300)
    return tiny_model(tmp_path / "model", vocab_size=max(vocab_size, len(tokenizer))), tokenizer


def test_seq_lengths_cut_rows_at_every_document_start():
    # rows 2 and 3 of a stream of 4-token rows: documents start at 8 (row 2's start), 10, 13 and 15
    lengths, offsets = seq_lengths(2, 4, 2, np.array([8, 10, 13, 15]))
    assert [lengths[a:b].tolist() for a, b in itertools.pairwise(offsets)] == [
        [2, 2],
        [1, 2, 1],
    ]
    lengths, offsets = seq_lengths(2, 4, 0, np.zeros(0, dtype=np.int64))
    assert lengths.tolist() == [4, 4] and offsets.tolist() == [0, 1, 2]


def test_a_pair_splits_into_prompt_and_responses_up_to_their_end_of_turn():
    chosen = (np.array([1, 2, 3, 4, 5, 9]), np.array([0, 0, 0, 1, 1, 0]))
    rejected = (np.array([1, 2, 3, 6, 9]), np.array([0, 0, 0, 1, 0]))
    prompt, c, r = split_pair(chosen, rejected)
    assert (prompt.tolist(), c.tolist(), r.tolist()) == ([1, 2, 3], [4, 5], [6])


@pytest.mark.parametrize(
    ("batches", "options"),
    [([CHATS], {"seq_len": 48}), ([DOCS], {}), ([DOCS.head(20), CHATS.head(10)], {"seq_len": 32})],
)
def test_packed_rows_are_the_token_rows_and_trl_takes_them_as_tokenized(tmp_path, batches, options):
    from trl import SFTConfig, SFTTrainer

    cfg = TokenizeConfig(train=TRAIN, export=["hf"], **{"seq_len": 64, **options})
    _, _, stats = run_all(batches, cfg, tmp_path)
    tokens = open_tokens(tmp_path / "tokens")
    rows = load(tmp_path / "exports/hf/train.parquet", tmp_path)
    assert np.array_equal(np.array(rows["input_ids"]), np.asarray(tokens.tokens))
    labels = np.array(rows["labels"])
    assert np.array_equal(labels != -100, np.asarray(tokens.mask).astype(bool))
    assert np.array_equal(labels[labels != -100], np.asarray(tokens.tokens)[labels != -100])
    assert all(sum(lengths) == cfg.seq_len for lengths in rows["seq_lengths"])
    starts = {int(s) for s in tokens.doc_starts}
    for r, lengths in enumerate(rows["seq_lengths"]):
        cuts = r * cfg.seq_len + np.cumsum([0, *lengths[:-1]])
        assert set(cuts[1:].tolist()) <= starts
    assert stats["exports"]["hf"] == {
        "dir": "exports/hf",
        "rows": "packed",
        "files": {"train.parquet": tokens.tokens.shape[0]},
    }

    model, tokenizer = model_and_tokenizer(tmp_path, tokens.index.vocab_size)
    trainer = SFTTrainer(
        model=str(model),
        args=trainer_args(
            SFTConfig, tmp_path / "out", max_length=cfg.seq_len, max_steps=1, per_device_train_batch_size=4
        ),
        train_dataset=rows,
        processing_class=tokenizer,
    )
    prepared = trainer.train_dataset
    assert len(prepared) == len(rows)  # nothing dropped
    assert list(prepared["input_ids"]) == list(rows["input_ids"])  # nothing re-tokenized
    assert list(prepared["labels"]) == list(rows["labels"])
    batch = trainer.data_collator([prepared[0], prepared[1]])
    assert batch["labels"].tolist() == [rows[0]["labels"], rows[1]["labels"]]
    trainer.train()  # one step on the tiny model: the ids are within its vocabulary


def test_records_are_one_row_per_conversation_unpadded(tmp_path):
    from trl import SFTConfig, SFTTrainer

    cfg = TokenizeConfig(train=TRAIN, seq_len=48, export=["hf"], hf_rows="records")
    _, outputs, stats = run_all([CHATS], cfg, tmp_path)
    kept = outputs[0].kept
    expected = [
        (np.array(ids[:48]), np.array(mask[:48]))
        for ids, mask in zip(kept["input_ids"].to_list(), kept["loss_mask"].to_list(), strict=True)
        if any(mask[:48])
    ]
    rows = load(tmp_path / "exports/hf/train.parquet", tmp_path)
    assert rows.column_names == ["input_ids", "labels"]
    assert list(rows["input_ids"]) == [ids.tolist() for ids, _ in expected]
    assert list(rows["labels"]) == [np.where(m == 1, ids, -100).tolist() for ids, m in expected]
    assert stats["exports"]["hf"]["files"] == {"train.parquet": len(expected)}

    model, tokenizer = model_and_tokenizer(tmp_path, open_tokens(tmp_path / "tokens").index.vocab_size)
    trainer = SFTTrainer(
        model=str(model),
        args=trainer_args(SFTConfig, tmp_path / "out", max_length=cfg.seq_len),
        train_dataset=rows,
        processing_class=tokenizer,
    )
    assert list(trainer.train_dataset["input_ids"]) == list(rows["input_ids"])
    assert list(trainer.train_dataset["labels"]) == list(rows["labels"])


class PreTokenizedDPOTrainer:
    """TRL 1.16's DPOTrainer always tokenizes a ``prompt`` column in ``_prepare_dataset`` (a
    dataset of ``prompt_ids``/``chosen_ids``/``rejected_ids`` only fails there with
    ``KeyError: 'chosen'``), though its collator and signature columns are exactly those ids.
    Skipping that step for such a dataset is all it takes."""

    @staticmethod
    def make():
        from trl import DPOTrainer

        class Trainer(DPOTrainer):
            def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
                if {"prompt_ids", "chosen_ids", "rejected_ids"} <= set(dataset.column_names):
                    return dataset
                return super()._prepare_dataset(dataset, processing_class, args, dataset_name)

        return Trainer


# TRL 1.16's DPO training step reads model.is_gradient_checkpointing, which transformers 5.25
# deprecates (FutureWarning): their business, not the data's.
@pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")
def test_pairs_carry_the_ids_trls_preference_collator_and_dpo_trainer_use(tmp_path):
    from trl import DPOConfig
    from trl.trainer.dpo_trainer import DataCollatorForPreference

    cfg = TokenizeConfig(train=TRAIN, seq_len=64, export=["hf"])
    _, _, stats = run_all([PAIRS], cfg, tmp_path)
    pairs = load(tmp_path / "exports/hf/preference.parquet", tmp_path)
    assert pairs.column_names == ["id", "source", "prompt_ids", "chosen_ids", "rejected_ids"]
    ours = pq.read_table(tmp_path / "tokens/preference.parquet").to_pylist()
    assert list(pairs["id"]) == [p["id"] for p in ours]
    for row, pair in zip(pairs, ours, strict=True):
        for side in ("chosen", "rejected"):
            ids, mask = pair[f"{side}_input_ids"], pair[f"{side}_loss_mask"]
            last = len(mask) - mask[::-1].index(1)
            assert row["prompt_ids"] + row[f"{side}_ids"] == ids[:last]
            assert all(mask[len(row["prompt_ids"]) : last])  # the response is all target
            assert not any(mask[: len(row["prompt_ids"])])  # the prompt none
    assert stats["exports"]["hf"]["files"]["preference.parquet"] == len(pairs)

    collated = DataCollatorForPreference(pad_token_id=0)([pairs[0], pairs[1]])
    first = pairs[0]["prompt_ids"] + pairs[0]["chosen_ids"]
    assert collated["input_ids"][0, : len(first)].tolist() == first

    model, tokenizer = model_and_tokenizer(tmp_path, open_tokens(tmp_path / "tokens").index.vocab_size)
    trainer = PreTokenizedDPOTrainer.make()(
        model=str(model),
        args=trainer_args(
            DPOConfig, tmp_path / "out", max_length=cfg.seq_len, max_steps=1, per_device_train_batch_size=2
        ),
        train_dataset=pairs,
        processing_class=tokenizer,
    )
    assert list(trainer.train_dataset["chosen_ids"]) == list(pairs["chosen_ids"])
    trainer.train()
