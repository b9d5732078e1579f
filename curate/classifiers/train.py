"""Training a fastText classifier for the ``classify`` stage, from examples of each label.

The recipe of DCLM's quality filter: texts you want (e.g. curated SFT answers, reference pages)
as one label, a sample of the raw corpus as the other, a supervised fastText model on word
n-grams. Each label's examples come from sources read exactly as a recipe reads them (JSONL,
Parquet, HF; text, chat or preference records through their text view); bad lines are counted
and reported, not trained on. A held-out share of every label scores the model before it is
written, so the report says how well it separates the labels.
"""

from __future__ import annotations

import functools
import re
import tempfile
import time
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

import fasttext
import numpy as np
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from curate.classifiers.model import LABEL_PREFIX, FastTextModel, model_line
from curate.errors import InputError, UsageError
from curate.io.readers import check_sources_exist, plan_pieces, read_piece
from curate.io.sources import Source
from curate.io.writers import write_atomic, write_json
from curate.records import TextView, text_view

READ_BYTES = 64 << 20
EVAL_CHUNK = 10_000
_LABEL_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class ClassifierOptions:
    """fastText's training options (its names in brackets) and how examples are chosen."""

    epochs: int = 5  # epoch
    lr: float = 0.1  # lr
    word_ngrams: int = 2  # wordNgrams
    dim: int = 64  # dim
    min_count: int = 1  # minCount
    bucket: int = 200_000  # bucket: rows of hashed word n-grams (fastText's 2M make a 500 MB .bin)
    quantize_cutoff: int = 50_000  # cutoff: rows kept when quantizing to .ftz
    balance: bool = True
    """Take as many examples of every label as the smallest label has (unbalanced classes pull
    the classifier towards the large one)."""
    max_per_label: int | None = None
    valid_fraction: float = 0.1
    seed: int = 0
    threads: int = 1  # thread; 1 keeps training deterministic


@dataclass(frozen=True)
class ClassifierReport:
    """What was trained on and how the model did on the held-out examples."""

    model: str
    labels: dict[str, int]
    """Training examples per label."""
    held_out: dict[str, int]
    accuracy: float | None
    per_label: dict[str, dict[str, float]]
    """Precision, recall and F1 of each label on the held-out examples."""
    bad_input: int
    seconds: float

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def label_examples(
    specs: Sequence[str], *, format: str = "text", text_field: str = "text"
) -> dict[str, list[Source]]:
    """``["hq=good/*.jsonl", "lq=raw/*.jsonl", "hq=more/*.parquet"]`` -> the sources of each label,
    checked to exist. A label may be given more than once."""
    examples: dict[str, list[Source]] = {}
    for spec in specs:
        label, sep, path = spec.partition("=")
        if not sep or not path or not _LABEL_RE.match(label):
            raise UsageError(
                f"--label {spec!r}: write LABEL=PATH_PATTERN, e.g. hq=good/*.jsonl "
                "(labels are letters, digits, '_', '.', '-')"
            )
        sources = examples.setdefault(label, [])
        try:
            source = Source(name=f"{label}-{len(sources)}", path=path, format=format, text_field=text_field)
        except ValueError as exc:  # pydantic's ValidationError
            raise UsageError(f"--label {spec!r}: {exc}") from None
        sources.append(source)
    check_sources_exist([s for group in examples.values() for s in group])
    return examples


@dataclass(frozen=True)
class _Spilled:
    """One label's examples on disk: fastText lines (newlines flattened), and where each starts."""

    path: Path
    offsets: array  # n + 1 byte offsets
    bad: int

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def line(self, f: BinaryIO, i: int) -> bytes:
        """Line ``i``, read from ``f`` (this label's file, opened for reading in binary)."""
        f.seek(self.offsets[i])
        return f.read(self.offsets[i + 1] - self.offsets[i])

    def lines(self, indices: Sequence[int]) -> Iterator[bytes]:
        """The lines at ``indices``, in that order."""
        with open(self.path, "rb") as f:
            for i in indices:
                yield self.line(f, i)


def spill_texts(
    sources: Sequence[Source],
    path: Path,
    *,
    view: TextView | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> _Spilled:
    """Write the non-blank text view of every record of ``sources`` (chat and preference records
    through ``view``) to ``path`` as one fastText line each, streaming: only the line offsets
    stay in memory. Bad input lines are counted; ``on_chunk`` hears the examples so far."""
    offsets, bad = array("q", [0]), 0
    with open(path, "wb") as f:
        for source in sources:
            for piece in plan_pieces([source], shard_bytes=READ_BYTES):
                for chunk in read_piece(piece, source, shard_bytes=READ_BYTES):
                    bad += chunk.bad.height
                    for text in text_view(chunk.records, view).to_list():
                        if text and text.strip():
                            data = model_line(text).encode("utf-8")
                            f.write(data)
                            offsets.append(offsets[-1] + len(data))
                    if on_chunk is not None:
                        on_chunk(len(offsets) - 1)
    return _Spilled(path, offsets, bad)


def train_classifier(
    examples: Mapping[str, Sequence[Source]],
    out: str | Path,
    *,
    options: ClassifierOptions | None = None,
    view: TextView | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> ClassifierReport:
    """Train a fastText classifier on the examples of each label and write it to ``out`` (``.bin``;
    ``.ftz`` also quantizes it), with the report beside it as ``<out>.json``. ``view`` picks the
    turns or fields of chat and preference records to learn from: give the classify stage the same.

    Examples stream through temporary files, so memory holds 8 bytes per example, not the texts."""
    opts = options or ClassifierOptions()
    out = Path(out)
    _check_request(examples, out, opts, overwrite=overwrite)
    start = time.perf_counter()
    rng = np.random.default_rng(opts.seed)
    with tempfile.TemporaryDirectory() as tmp, _progress(progress) as bar:
        spilled = {}
        for i, (label, sources) in enumerate(examples.items()):
            task = bar.add_task(f"reading {label}", total=None, count="")
            update = functools.partial(bar.update, task)
            spilled[label] = spill_texts(
                sources,
                Path(tmp) / f"label-{i}.txt",
                view=view,
                on_chunk=lambda n, update=update: update(count=f"{n:,} examples"),
            )
            update(total=1, completed=1, count=f"{len(spilled[label]):,} examples")
            if not len(spilled[label]):
                names = ", ".join(str(s.path) for s in sources)
                raise InputError(f"train-classifier: label {label!r} has no usable text in {names}")
        take = min(len(s) for s in spilled.values()) if opts.balance else None
        if opts.max_per_label is not None:
            take = min(take or opts.max_per_label, opts.max_per_label)
        train_rows: list[tuple[str, int]] = []
        trained: dict[str, int] = {}
        held_out: dict[str, list[int]] = {}
        for label, spill in spilled.items():
            order = rng.permutation(len(spill))[:take].tolist()
            n_valid = int(len(order) * opts.valid_fraction)
            held_out[label] = order[:n_valid]
            train_rows += [(label, i) for i in order[n_valid:]]
            trained[label] = len(order) - n_valid
        train_file = Path(tmp) / "train.txt"
        _write_training_file(train_file, spilled, [train_rows[i] for i in rng.permutation(len(train_rows))])
        training = bar.add_task(
            f"fastText, {opts.epochs} epochs", total=None, count=f"{len(train_rows):,} examples"
        )
        model = fasttext.train_supervised(
            input=str(train_file),
            epoch=opts.epochs,
            lr=opts.lr,
            wordNgrams=opts.word_ngrams,
            dim=opts.dim,
            minCount=opts.min_count,
            bucket=opts.bucket,
            thread=opts.threads,
            seed=opts.seed,
            verbose=0,
        )
        bar.update(training, total=1, completed=1)
        if out.suffix == ".ftz":
            model.quantize(input=str(train_file), retrain=False, qnorm=True, cutoff=opts.quantize_cutoff)
        loaded = FastTextModel(
            path=str(out),
            labels=tuple(label.removeprefix(LABEL_PREFIX) for label in model.labels),
            binding=model.f,
        )
        accuracy, per_label = _evaluate(loaded, spilled, held_out)
    write_atomic(out, lambda tmp_path: model.save_model(str(tmp_path)))
    report = ClassifierReport(
        model=str(out),
        labels=trained,
        held_out={label: len(rows) for label, rows in held_out.items()},
        accuracy=accuracy,
        per_label=per_label,
        bad_input=sum(s.bad for s in spilled.values()),
        seconds=round(time.perf_counter() - start, 2),
    )
    write_json(report.to_dict(), report_path(out))
    return report


def _write_training_file(
    path: Path, spilled: Mapping[str, _Spilled], rows: Sequence[tuple[str, int]]
) -> None:
    """fastText's input: ``__label__<label> <text>`` per line, in the order of ``rows``."""
    with ExitStack() as stack, open(path, "wb") as f:
        handles = {label: stack.enter_context(open(s.path, "rb")) for label, s in spilled.items()}
        for label, i in rows:
            f.write(f"{LABEL_PREFIX}{label} ".encode() + spilled[label].line(handles[label], i))


def _progress(enabled: bool) -> Progress:
    """A spinner per phase, with the examples read so far, on stderr (a no-op when disabled)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.fields[count]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    )


def report_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name + ".json")


def _check_request(
    examples: Mapping[str, Sequence[Source]], out: Path, opts: ClassifierOptions, *, overwrite: bool
) -> None:
    if len(examples) < 2:
        raise UsageError(
            f"train-classifier: give examples of at least two labels (got {sorted(examples) or 'none'}), "
            "e.g. --label hq=good/*.jsonl --label lq=raw/*.jsonl"
        )
    if out.suffix not in (".bin", ".ftz"):
        raise UsageError(
            f"train-classifier: the model file must end in .bin or .ftz (quantized), got {str(out)!r}"
        )
    if out.exists() and not overwrite:
        raise UsageError(f"train-classifier: {str(out)!r} exists; pass --force to replace it")
    if not 0.0 <= opts.valid_fraction < 1.0:
        raise UsageError(
            f"train-classifier: the held-out fraction must be in [0, 1), got {opts.valid_fraction}"
        )


def _evaluate(
    model: FastTextModel, spilled: Mapping[str, _Spilled], held_out: Mapping[str, list[int]]
) -> tuple[float | None, dict[str, dict[str, float]]]:
    """Accuracy of the top label and each label's precision, recall and F1 on the held-out lines."""
    truth: list[str] = []
    predicted: list[str | None] = []
    for label, rows in held_out.items():
        for start in range(0, len(rows), EVAL_CHUNK):
            lines = [line.decode("utf-8") for line in spilled[label].lines(rows[start : start + EVAL_CHUNK])]
            predicted += model.predict(lines)[0]
            truth += [label] * len(lines)
    if not truth:
        return None, {}
    accuracy = sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(truth)
    per_label = {}
    for label in held_out:
        hits = sum(p == t == label for p, t in zip(predicted, truth, strict=True))
        said, real = predicted.count(label), truth.count(label)
        precision = hits / said if said else 0.0
        recall = hits / real if real else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}
    return round(accuracy, 4), per_label
