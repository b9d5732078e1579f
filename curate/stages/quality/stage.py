"""The quality batch stage: run the enabled rule sets in their fixed order, name each drop.

Order: Gopher quality, Gopher repetition, C4, FineWeb (the order of datatrove's FineWeb pipeline,
cheap document rules first). A record dropped by one rule is not looked at by the later ones, so
its reason is the first rule it fails. Each rule set only sees the survivors of the earlier ones,
which keeps the costlier checks (n-gram repetition) off documents already dropped.

Rules read the record's text view (``view``: which chat roles / preference fields). C4 removes
lines: a kept *text* record gets C4's kept lines as its text (``c4.rewrite``) and FineWeb, after
it, judges that text; chat and preference records are judged, never rewritten. Dropped records
keep their original text.

Records mostly in Thai, Lao, Tibetan, Myanmar or Khmer script (``unsegmented_share``) are not
judged: they pass, counted as ``quality_unjudged``. The rules count words by spaces (CJK by
character), and these scripts have neither, so judging them would drop them all.
"""

from __future__ import annotations

import polars as pl

from curate.records import TEXT, kind_of, text_view
from curate.stages.base import BatchResult, Counters, empty_dropped, partition
from curate.stages.quality.c4 import c4_reasons
from curate.stages.quality.config import QualityConfig
from curate.stages.quality.fineweb import fineweb_reasons
from curate.stages.quality.gopher import gopher_quality_reasons
from curate.stages.quality.repetition import gopher_repetition_reasons
from curate.stages.quality.units import LANG_COL, TEXT_COL
from curate.text import UNSEGMENTED_CHAR, unsegmented_share_expr


def quality_reasons(
    frame: pl.DataFrame, cfg: QualityConfig, *, rewrite: bool
) -> tuple[pl.Series, pl.Series, Counters]:
    """Reasons (null = kept) for every row of ``frame`` (``text``, optional ``lang``), the text after
    C4's line filter where ``rewrite`` (else the input text), and counters."""
    n = frame.height
    reasons = pl.Series("reason", [None] * n, dtype=pl.String)
    counters: Counters = {}
    for name in cfg.enabled():
        alive = reasons.is_null()
        if not alive.any():
            break
        rows = alive.arg_true()
        survivors = frame.filter(alive)
        if name == "gopher_quality":
            found = gopher_quality_reasons(survivors, cfg.gopher.quality, cjk_word_share=cfg.cjk_word_share)
        elif name == "gopher_repetition":
            found = gopher_repetition_reasons(
                survivors, cfg.gopher.repetition, cjk_word_share=cfg.cjk_word_share
            )
        elif name == "c4":
            c4 = c4_reasons(survivors, cfg.c4)
            found = c4.reasons
            counters.update(c4.counters)
            if rewrite and cfg.c4.rewrite:
                frame = frame.with_columns(frame[TEXT_COL].scatter(rows, c4.text))
        else:
            found = fineweb_reasons(survivors, cfg.fineweb)
        reasons = reasons.scatter(rows, found)
    return reasons, frame[TEXT_COL], counters


def _unjudged(text: pl.Series, unsegmented_share: float | None) -> pl.Series | None:
    """True for the texts mostly in an unsegmented script (see the module docs); None when there
    are none, the usual case, so that the batch is judged as it is, without a filtered copy."""
    if unsegmented_share is None:
        return None
    candidates = text.str.contains(UNSEGMENTED_CHAR).fill_null(False)  # one cheap pass; rare hits
    if not candidates.any():
        return None
    rows = candidates.arg_true()
    shares = text.gather(rows).to_frame().select(unsegmented_share_expr(pl.col(text.name))).to_series()
    unjudged = candidates.scatter(rows, shares >= unsegmented_share)
    return unjudged if unjudged.any() else None


def apply_quality(batch: pl.DataFrame, cfg: QualityConfig) -> BatchResult:
    """Split ``batch`` into records passing every enabled rule and records dropped with the rule's name."""
    if batch.height == 0:
        return BatchResult(kept=batch, dropped=empty_dropped(batch))
    is_text = kind_of(batch) == "text"
    frame = pl.DataFrame({TEXT_COL: text_view(batch, cfg.view).fill_null("")})
    if cfg.lang_column in batch.columns:
        frame = frame.with_columns(batch[cfg.lang_column].cast(pl.String).alias(LANG_COL))
    unjudged = _unjudged(frame[TEXT_COL], cfg.unsegmented_share)
    if unjudged is None:
        reasons, text, counters = quality_reasons(frame, cfg, rewrite=is_text)
    else:
        rows = (~unjudged).arg_true()
        reasons, text, counters = quality_reasons(frame.filter(~unjudged), cfg, rewrite=is_text)
        reasons = pl.Series("reason", [None] * frame.height, dtype=pl.String).scatter(rows, reasons)
        text = frame[TEXT_COL].scatter(rows, text)
        counters["quality_unjudged"] = frame.height - len(rows)
    if is_text and cfg.c4 is not None and cfg.c4.rewrite:
        batch = batch.with_columns(pl.when(reasons.is_null()).then(text).otherwise(pl.col(TEXT)).alias(TEXT))
    return partition(batch, reasons, counters)
