"""The ``quality`` stage: Gopher, C4 and FineWeb heuristic filters with their published defaults.

Recipe use::

    - quality: {gopher: {}, c4: {}, fineweb: {}}     # the rule sets named run
    - quality: {}                                    # all of them, published defaults
    - quality: {gopher: {quality: {min_doc_words: 100}, repetition: null}, view: {roles: [assistant]}}

Each dropped record's ``reason`` names the first rule it failed (``gopher_short_doc``,
``gopher_dup_7gram``, ``c4_lorem_ipsum``, ``fineweb_line_punct_ratio``...); see the rule-set
modules for the full lists and their order.
"""

from __future__ import annotations

from curate.stages.base import BatchStage
from curate.stages.quality.c4 import c4_reasons
from curate.stages.quality.config import (
    C4Config,
    FineWebConfig,
    GopherConfig,
    GopherQualityConfig,
    GopherRepetitionConfig,
    QualityConfig,
)
from curate.stages.quality.fineweb import fineweb_reasons
from curate.stages.quality.gopher import gopher_quality_reasons
from curate.stages.quality.repetition import gopher_repetition_reasons
from curate.stages.quality.stage import apply_quality, quality_reasons

STAGE = BatchStage(name="quality", config=QualityConfig, apply=apply_quality)

__all__ = [
    "STAGE",
    "C4Config",
    "FineWebConfig",
    "GopherConfig",
    "GopherQualityConfig",
    "GopherRepetitionConfig",
    "QualityConfig",
    "apply_quality",
    "c4_reasons",
    "fineweb_reasons",
    "gopher_quality_reasons",
    "gopher_repetition_reasons",
    "quality_reasons",
]
