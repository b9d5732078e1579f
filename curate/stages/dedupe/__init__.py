"""Exact and near-duplicate removal (MinHash LSH) across all shards of a stage's input.

Recipe: ``- dedupe: {exact: true, minhash: {threshold: 0.8, num_perm: 128, ngram: 5}}``. See
``stage.py`` for how the passes work, ``partitioned.py`` for the fit split into sub-tasks,
``graph.py`` for the partials and state both fits share, and ``config.py`` for every option.
"""

from __future__ import annotations

from curate.stages.base import GlobalStage
from curate.stages.dedupe.config import DedupeConfig, MinHashConfig, Normalization
from curate.stages.dedupe.graph import REASON_EXACT, REASON_NEAR, DedupePartial, DedupeState
from curate.stages.dedupe.index import against_files, check_against
from curate.stages.dedupe.index import finalize as write_index
from curate.stages.dedupe.stage import (
    CLUSTER,
    DUP_OF,
    CandidateShingles,
    apply,
    fit,
    refit,
    rescan,
    summarize,
)

STAGE = GlobalStage(
    name="dedupe",
    config=DedupeConfig,
    summarize=summarize,
    fit=fit,
    apply=apply,
    rescan=rescan,
    refit=refit,
    finalize=write_index,
    check=check_against,
    inputs=against_files,
)

__all__ = [
    "CLUSTER",
    "DUP_OF",
    "REASON_EXACT",
    "REASON_NEAR",
    "STAGE",
    "CandidateShingles",
    "DedupeConfig",
    "DedupePartial",
    "DedupeState",
    "MinHashConfig",
    "Normalization",
    "apply",
    "fit",
    "refit",
    "rescan",
    "summarize",
]
