"""fastText classifiers (language ID, quality): loading a model file, and prediction that works
under NumPy 2. Training a classifier is ``curate.classifiers.train``.

fastText's Python ``predict`` calls ``np.array(..., copy=False)``, which NumPy 2 rejects, and the
``multilinePredict`` binding of fasttext-wheel 0.9.2 returns the top label's probability for every
label when asked for more than one. So curate calls the C++ binding itself: ``multilinePredict``
with ``k=1`` for the top label of many lines at once, and the single-line ``predict`` with
``k=-1`` when it needs the probability of particular labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from fasttext.FastText import _FastText

from curate.errors import StageError

LABEL_PREFIX = "__label__"
_TEXT = "text"


@dataclass(frozen=True, eq=False)
class FastTextModel:
    """A loaded fastText classifier: where it came from, its labels (prefix removed), the binding."""

    path: str
    labels: tuple[str, ...]
    binding: Any  # fasttext_pybind.fasttext
    label_prefix: str = LABEL_PREFIX

    def predict(self, lines: list[str]) -> tuple[list[str | None], np.ndarray]:
        """Top label and its probability for each line (one line of text each, ending in ``\\n``).

        Probabilities are clipped to 1.0 (fastText's softmax can return 1.000006).
        """
        labels, probs = self.binding.multilinePredict(lines, 1, 0.0, "strict")
        cut = len(self.label_prefix)
        top = [found[0][cut:] if found else None for found in labels]
        score = np.fromiter((p[0] if len(p) else 0.0 for p in probs), dtype=np.float32, count=len(lines))
        return top, np.minimum(score, np.float32(1.0))

    def probabilities(self, lines: list[str], labels: Sequence[str]) -> np.ndarray:
        """``(len(lines), len(labels))`` float32: each line's probability of each of ``labels``
        (labels without the prefix; every one must be a label of the model)."""
        column = {self.label_prefix + label: j for j, label in enumerate(labels)}
        out = np.zeros((len(lines), len(labels)), dtype=np.float32)
        predict = self.binding.predict
        for i, line in enumerate(lines):
            for prob, label in predict(line, -1, 0.0, "strict"):
                j = column.get(label)
                if j is not None:
                    out[i, j] = prob
        return np.minimum(out, np.float32(1.0))


def load_fasttext(file: Path, *, shown: str, stage: str, fix: str) -> FastTextModel:
    """The fastText classifier in ``file``, or a StageError that names ``shown`` and says ``fix``."""
    if not file.is_file():
        raise StageError(f"{stage}: model file {shown} not found (looked at {file.absolute()}); {fix}")
    try:
        model = _FastText(model_path=str(file))
    except ValueError as err:
        raise StageError(f"{stage}: {shown} is not a fastText model ({err}); {fix}") from err
    args = model.f.getArgs()
    labels = tuple(label.removeprefix(args.label) for label in model.get_labels())
    if not labels:
        raise StageError(f"{stage}: {shown} is a fastText model without labels (word vectors?); {fix}")
    return FastTextModel(path=str(file), labels=labels, binding=model.f, label_prefix=args.label)


def model_line(text: str) -> str:
    """What fastText reads for a text: one line (newlines become spaces) ending in ``\\n``."""
    return text.replace("\n", " ") + "\n"


def model_lines(texts: pl.Series, *, max_chars: int | None = None) -> pl.Series:
    """What fastText is given for each text: one line ending in ``\\n``; null for blank texts."""
    text = pl.col(_TEXT)
    if max_chars is not None:
        text = text.str.strip_chars_start().str.slice(0, max_chars)
    line = pl.concat_str([text.str.replace_all("\n", " ", literal=True), pl.lit("\n")])
    nonblank = pl.col(_TEXT).str.contains(r"\S")
    return texts.rename(_TEXT).to_frame().select(pl.when(nonblank).then(line).alias(_TEXT)).to_series()
