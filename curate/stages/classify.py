"""classify: score records with a fastText classifier (quality, topic, toxicity) and filter on it.

The model-based filter of DCLM and FineWeb-Edu: a fastText classifier trained on examples of
what you want (``curate train-classifier``, or any supervised fastText model) gives every record
the probability of the labels named in ``keep`` and ``remove``, written as ``<name>_<label>``
columns (``quality_hq``). A record is dropped with the first reason that applies:

- ``<name>_empty``: its text view is blank (nothing to score).
- ``<name>_removed_<label>``: the probability of a ``remove`` label reaches its threshold.
- ``<name>_not_kept``: ``keep`` is set and no keep label reaches its threshold.

With neither ``keep`` nor ``remove`` the stage only scores: every label of the model gets a
column. The stats count records per tenth of probability for each scored label
(``<name>_<label>.p0.9`` = records with probability in [0.9, 1.0]).

The text given to the model is the record's text view on one line (newlines become spaces), as
``train-classifier`` writes its training lines, optionally cut to ``max_chars``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl
from pydantic import Field, field_validator, model_validator

from curate.classifiers.model import FastTextModel, load_fasttext, model_line
from curate.errors import StageError
from curate.io.memo import once_per_file_version
from curate.records import TextView, text_view
from curate.stages.base import BatchResult, BatchStage, Counters, StageConfig, partition

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
BINS = 10


class ClassifyConfig(StageConfig):
    """Options of the ``classify`` stage."""

    model: str = Field(
        description="Path to a supervised fastText model (.bin or .ftz), e.g. one written by "
        "`curate train-classifier`. "
        "A relative path is looked up in the working directory, then in the recipe file's directory."
    )
    name: str = Field(
        default="quality",
        description="Prefix of the score columns (<name>_<label>) and of the removal reasons; give two "
        "classify stages different names.",
    )
    keep: dict[str, float] = Field(
        default_factory=dict,
        description="Labels that keep a record, each with the probability it must reach: a record is kept "
        "if any of them reaches its threshold (e.g. {hq: 0.5}). Empty: no keep condition.",
    )
    remove: dict[str, float] = Field(
        default_factory=dict,
        description="Labels that remove a record when their probability reaches the threshold "
        "(e.g. {spam: 0.9}). Checked before keep.",
    )
    view: TextView = Field(
        default_factory=TextView,
        description="Which turns/fields of chat and preference records are scored (e.g. roles: [assistant]).",
    )
    max_chars: int | None = Field(
        default=None,
        gt=0,
        description="Score the first max_chars characters only (faster on long documents). null: the whole text.",
    )

    @field_validator("name")
    @classmethod
    def _name_is_a_column_prefix(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError(
                f"name {value!r} must be lower-case letters, digits and '_', starting with a letter"
            )
        return value

    @field_validator("keep", "remove")
    @classmethod
    def _thresholds_are_probabilities(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {label: p for label, p in value.items() if not 0.0 <= p <= 1.0}
        if bad:
            raise ValueError(f"thresholds are probabilities between 0 and 1, got {bad}")
        return value

    @model_validator(mode="after")
    def _label_in_one_list(self) -> ClassifyConfig:
        both = sorted(set(self.keep) & set(self.remove))
        if both:
            raise ValueError(f"label(s) {both} are in both keep and remove; a label belongs in one of them")
        return self


def load_classifier(path: str) -> FastTextModel:
    """The fastText model at ``path``, loaded once per process and version of the file."""
    return _cached_classifier(path)


@once_per_file_version(maxsize=4)
def _cached_classifier(path: str) -> FastTextModel:
    fix = "set classify.model to a supervised fastText model (see `curate train-classifier --help`)"
    return load_fasttext(Path(path).expanduser(), shown=repr(path), stage="classify", fix=fix)


def scored_labels(cfg: ClassifyConfig, model: FastTextModel) -> tuple[str, ...]:
    """The labels that get a column: those of keep and remove, or every label of the model."""
    named = (*cfg.keep, *cfg.remove)
    unknown = [label for label in named if label not in model.labels]
    if unknown:
        raise StageError(
            f"classify: label(s) {unknown} are not labels of the model {model.path} "
            f"(its labels: {', '.join(model.labels)}); name labels without the __label__ prefix"
        )
    return named or model.labels


def score(
    texts: pl.Series, model: FastTextModel, labels: tuple[str, ...], *, max_chars: int | None
) -> np.ndarray:
    """``(len(texts), len(labels))`` probabilities; NaN rows for blank texts."""
    values = [t if t is None or max_chars is None else t.lstrip()[:max_chars] for t in texts.to_list()]
    present = [i for i, t in enumerate(values) if t is not None and t.strip()]
    out = np.full((len(values), len(labels)), np.nan, dtype=np.float32)
    if present:  # lines built in Python: str.replace beats polars' replace + concat + to_list here
        out[present] = model.probabilities([model_line(values[i]) for i in present], labels)
    return out


def _reasons(probs: np.ndarray, labels: tuple[str, ...], cfg: ClassifyConfig) -> list[str | None]:
    """Each record's removal reason (None: kept), in the order the module docs give."""
    column = {label: j for j, label in enumerate(labels)}
    reasons = np.full(len(probs), None, dtype=object)
    if cfg.keep:
        kept = np.zeros(len(probs), dtype=bool)
        for label, threshold in cfg.keep.items():
            kept |= probs[:, column[label]] >= threshold
        reasons[~kept] = f"{cfg.name}_not_kept"
    for label, threshold in reversed(cfg.remove.items()):  # the first listed label names the reason
        reasons[probs[:, column[label]] >= threshold] = f"{cfg.name}_removed_{label}"
    reasons[np.isnan(probs).all(axis=1)] = f"{cfg.name}_empty"
    return reasons.tolist()


def _counters(probs: np.ndarray, labels: tuple[str, ...], name: str) -> Counters:
    counters: Counters = {}
    for j, label in enumerate(labels):
        column = probs[:, j]
        column = column[~np.isnan(column)]
        bins = np.minimum((column * BINS).astype(np.int64), BINS - 1)
        for b, n in zip(*np.unique(bins, return_counts=True), strict=True):
            counters[f"{name}_{label}.p{b / BINS:.1f}"] = int(n)
    return counters


def apply(batch: pl.DataFrame, cfg: ClassifyConfig) -> BatchResult:
    """Add ``<name>_<label>`` probabilities to every record, drop those ``cfg`` does not keep."""
    model = load_classifier(cfg.model)
    labels = scored_labels(cfg, model)
    probs = score(text_view(batch, cfg.view), model, labels, max_chars=cfg.max_chars)
    columns = [
        pl.Series(f"{cfg.name}_{label}", probs[:, j], dtype=pl.Float32, nan_to_null=True)
        for j, label in enumerate(labels)
    ]
    reasons = _reasons(probs, labels, cfg)
    return partition(batch.with_columns(columns), reasons, _counters(probs, labels, cfg.name))


def check(cfg: ClassifyConfig) -> None:
    """Preflight: the model loads and every keep/remove label is one of its labels."""
    scored_labels(cfg, load_classifier(cfg.model))


def inputs(cfg: ClassifyConfig) -> list[str]:
    """The model file joins the stage's cache key: retraining it reruns the stage."""
    return [cfg.model]


STAGE = BatchStage(name="classify", config=ClassifyConfig, apply=apply, check=check, inputs=inputs)
