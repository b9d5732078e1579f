"""The controlled experiment of issue 4: the score must see data quality.

Two recipes that differ only in their data: clean English documents, and the same documents with
half of them replaced by random-character noise of the same length. Same tokenizer (trained on the
clean text), same model, steps, batch and seed; the eval set is held-out clean text."""

from __future__ import annotations

import random

import pytest

from curate.train.loop import train
from curate.train.score import score
from tests.train.conftest import micro_config, noise_document, pack_documents


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_clean_data_beats_half_noise(seed, corpus, eval_texts, sp, sp_path, tmp_path):
    rng = random.Random(seed)
    noisy_ids = set(rng.sample(range(len(corpus)), len(corpus) // 2))
    noisy = [noise_document(len(doc), rng) if i in noisy_ids else doc for i, doc in enumerate(corpus)]
    eval_records = [{"text": t} for t in eval_texts]
    cfg = micro_config(steps=150, seed=seed)

    scores = {}
    for arm, docs in (("clean", corpus), ("noisy", noisy)):
        tokens = pack_documents(sp, docs, tmp_path / arm / "tokens", seq_len=33)
        result = train(tokens, cfg, out_dir=tmp_path / arm / "train", tokenizer_path=sp_path, progress=False)
        scores[arm] = score(result.checkpoint, eval_records, sp_path)

    clean, noisy_score = scores["clean"], scores["noisy"]
    assert (
        clean["tokens"] == noisy_score["tokens"] and clean["bytes"] == noisy_score["bytes"]
    )  # same eval set
    assert clean["ppl"] < noisy_score["ppl"]
    assert clean["bpb"] < noisy_score["bpb"]
