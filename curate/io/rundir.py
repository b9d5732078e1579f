"""The layout of a run directory: the name of every file and folder curate writes there.

::

    runs/<name>/
      .curate-run  recipe.yaml  manifest.json  score.json  report.html  .lock (while a run holds it)
      eval_docs/<set>.npz   (each eval set's per-document bits and bytes, beside score.json)
      stages/NN-<stage>/part-XXXXX-YYYY.parquet  _done/<shard>.json  _KEY  _SUCCESS  _CONTENT
                        (+ _partials/<shard>.npz, _state.npz, _ARTIFACTS)
      rejected/NN-<stage>/part-XXXXX-YYYY.parquet
      stats/NN-<stage>.json
      output/part-XXXXX-YYYY.parquet  README.md
      tokenizer/  tokens/  train/  dpo/  exports/   (artifacts of the steps that make them)

Only names and paths live here, so that every layer (the executor that writes a run, the trainer,
reports and sweeps that read one) spells them the same way. Creating, locking, clearing and
adopting a run directory is ``curate.exec.rundir.RunDir``, built on :class:`RunLayout`.
"""

from __future__ import annotations

import os
from pathlib import Path

STAGES, REJECTED, STATS, OUTPUT = "stages", "rejected", "stats", "output"
MANIFEST, RECIPE, SCORE, REPORT = "manifest.json", "recipe.yaml", "score.json", "report.html"
MARKER, LOCK = ".curate-run", ".lock"
EVAL_DOCS = "eval_docs"
SUCCESS, KEY, DONE, PARTIALS, STATE = "_SUCCESS", "_KEY", "_done", "_partials", "_state.npz"
ARTIFACTS, CONTENT = "_ARTIFACTS", "_CONTENT"
SHARDS = "part-*.parquet"
"""The data shards of a step (or of the output), in shard order when sorted."""


def shard_file(directory: Path, shard: str) -> Path:
    """The Parquet file of one shard of a step's records (or rejected records)."""
    return directory / f"part-{shard}.parquet"


def shard_files(directory: Path) -> list[Path]:
    """The Parquet shards of a directory, in shard order (none when it does not exist)."""
    return sorted(directory.glob(SHARDS))


class RunLayout:
    """Where each part of the run directory ``root`` is; reads and writes nothing."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def stage_dir(self, dirname: str) -> Path:
        """The records a step (``02-dedupe``) kept, and its markers."""
        return self.root / STAGES / dirname

    def rejected_dir(self, dirname: str) -> Path:
        """The records a step removed, each with its reason."""
        return self.root / REJECTED / dirname

    def stats_file(self, dirname: str) -> Path:
        return self.root / STATS / f"{dirname}.json"

    @property
    def stages_dir(self) -> Path:
        return self.root / STAGES

    @property
    def stats_dir(self) -> Path:
        return self.root / STATS

    @property
    def output(self) -> Path:
        return self.root / OUTPUT

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST

    @property
    def recipe_file(self) -> Path:
        """The recipe as run, with every default filled in."""
        return self.root / RECIPE

    @property
    def score_file(self) -> Path:
        return self.root / SCORE

    @property
    def eval_docs_dir(self) -> Path:
        """Per-document scores of the eval sets that ``score.json`` reports (see
        ``curate.train.eval_docs``)."""
        return self.root / EVAL_DOCS

    def eval_docs_file(self, eval_set: str) -> Path:
        return self.root / EVAL_DOCS / f"{eval_set}.npz"

    @property
    def report_file(self) -> Path:
        return self.root / REPORT

    @property
    def marker_file(self) -> Path:
        """The file that says curate made this directory."""
        return self.root / MARKER

    @property
    def lock_file(self) -> Path:
        return self.root / LOCK
