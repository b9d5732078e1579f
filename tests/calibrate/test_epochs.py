"""``calibrate(epochs=...)``: the slice of the curated documents a calibration trains on."""

from __future__ import annotations

import numpy as np
import pytest

from curate.calibrate.run import slice_for_epochs
from curate.errors import UsageError
from curate.io.tokens import TokenWriter
from curate.recipe import parse_recipe

RECIPE = """\
name: sliced
seed: {seed}
sources: [{{name: web, path: x.jsonl}}]
stages:
  - format: {{kind: pretrain}}
  - tokenize: {{train: {{vocab_size: 1000}}, seq_len: 8}}
train: {{steps: 30, batch_size: 4, eval: {{path: e.jsonl}}}}
"""


def curation_with_rows(tmp_path, rows: int):
    """A curation directory whose packed tokens hold ``rows`` rows."""
    with TokenWriter(tmp_path / "tokens", vocab_size=100, seq_len=8) as writer:
        writer.write(np.ones((rows, 8), dtype=np.int64), np.ones((rows, 8), dtype=np.uint8))
    return tmp_path


def recipe(seed: int = 0):
    return parse_recipe(RECIPE.format(seed=seed), source_name="sliced.yaml")


def test_the_slice_makes_the_budget_pass_over_it_the_asked_number_of_times(tmp_path):
    """30 steps x 4 rows = 120 rows of training over 600 rows of 1,000 documents: 0.2 passes;
    at 2 passes, a tenth of the documents, a seeded choice kept in curated order."""
    texts = [f"document {i}" for i in range(1000)]
    curation = curation_with_rows(tmp_path, 600)
    sliced, full = slice_for_epochs(texts, epochs=2.0, curation_dir=curation, recipe=recipe())
    assert full == pytest.approx(0.2)
    assert len(sliced) == 100
    numbers = [int(t.split()[1]) for t in sliced]
    assert numbers == sorted(numbers) and len(set(numbers)) == 100
    again, _ = slice_for_epochs(texts, epochs=2.0, curation_dir=curation, recipe=recipe())
    other, _ = slice_for_epochs(texts, epochs=2.0, curation_dir=curation, recipe=recipe(seed=1))
    assert again == sliced and other != sliced


def test_epochs_the_budget_cannot_reach_or_a_tiny_slice_are_refused_with_the_fix(tmp_path):
    texts = [f"document {i}" for i in range(1000)]
    curation = curation_with_rows(tmp_path, 600)
    with pytest.raises(UsageError, match=r"already passes over all 1,000 .* 0\.2 times.* above 0\.2"):
        slice_for_epochs(texts, epochs=0.1, curation_dir=curation, recipe=recipe())
    with pytest.raises(UsageError, match="3 of 1,000 documents would be left"):
        slice_for_epochs(texts, epochs=60, curation_dir=curation, recipe=recipe())


def test_without_packed_tokens_the_slice_cannot_be_sized(tmp_path):
    with pytest.raises(UsageError, match="no packed tokens"):
        slice_for_epochs(["a"] * 100, epochs=2.0, curation_dir=tmp_path, recipe=recipe())
