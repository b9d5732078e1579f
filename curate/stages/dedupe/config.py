"""Options of the ``dedupe`` stage (recipe: ``- dedupe: {exact: true, minhash: {threshold: 0.8}}``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from curate.records import TextView
from curate.stages.base import Options, StageConfig
from curate.stages.dedupe.substrings import SubstringsConfig

UnicodeForm = Literal["NFC", "NFKC", "none"]
ShingleKind = Literal["words", "chars"]
Scope = Literal["global", "source"]
KeepRule = Literal["first", "longest", "score"]
ScoreOrder = Literal["highest", "lowest"]
RemoveRule = Literal["all", "all_but_first"]


class Normalization(Options):
    """How text is normalised before it is hashed (exact) or cut into shingles (near).

    Applied in this order: Unicode form, lowercase, accents, digits, punctuation, whitespace.
    The defaults make "exact" mean "equal up to case, Unicode width variants, punctuation and
    spacing", which is what a training set wants; turn everything off for byte equality.
    """

    unicode: UnicodeForm = Field(
        default="NFKC",
        description="Unicode normalisation form (NFKC folds full-width and compatibility characters); none to skip.",
    )
    lowercase: bool = Field(default=True, description="Lowercase the text (Unicode-aware).")
    accents: bool = Field(
        default=False,
        description="Strip combining marks (café -> cafe), as datatrove's simplify_text does. Off by default: "
        "accents tell words apart in many languages.",
    )
    digits: bool = Field(
        default=False,
        description="Fold every run of digits to 0, so pages that differ only in dates or counts match.",
    )
    punctuation: bool = Field(
        default=True,
        description="Replace Unicode punctuation and symbols (categories P and S) by spaces, so tokens are words.",
    )
    whitespace: bool = Field(
        default=True, description="Collapse runs of whitespace into one space and trim both ends."
    )


class MinHashConfig(Options):
    """Near-duplicate detection: MinHash signatures over shingles, LSH banding, union-find clusters."""

    threshold: float = Field(
        default=0.8,
        gt=0.0,
        le=1.0,
        description="Jaccard similarity that counts as a near duplicate. Chooses bands x rows (datasketch's "
        "optimiser, see the weights) unless both are given, and is the bar for verify.",
    )
    num_perm: int = Field(
        default=128,
        ge=2,
        le=1024,
        description="Permutations (hash functions) per signature; only bands x rows of them are computed.",
    )
    ngram: int = Field(
        default=5,
        ge=1,
        le=64,
        description="Shingle length in tokens (word 5-grams as in datatrove, Gopher and FineWeb). A record with "
        "fewer tokens is one shingle of all of them.",
    )
    shingle: ShingleKind = Field(
        default="words",
        description="words: curate.text words (whitespace tokens, every CJK character a word of its own); chars: "
        "character n-grams of the normalised text (use ngram ~ 5-10).",
    )
    bands: int | None = Field(
        default=None, ge=1, description="LSH bands; set together with rows to bypass the optimiser."
    )
    rows: int | None = Field(
        default=None, ge=1, description="Signature rows per LSH band; set together with bands."
    )
    false_positive_weight: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description="Weight of false positives (pairs below threshold that share a band) in datasketch's bands x "
        "rows optimiser. curate's default 0.1/0.9 favours recall: at threshold 0.8 and 128 permutations it picks "
        "14 x 9, which catches a pair at Jaccard 0.8 with probability 0.87 and one at 0.5 with 0.03 (the S-curve "
        "is in the stats); datasketch's own 0.5/0.5 picks 9 x 13, which catches a pair at 0.8 with 0.40 only.",
    )
    false_negative_weight: float = Field(
        default=0.9,
        ge=0.0,
        le=1.0,
        description="Weight of false negatives (pairs above threshold that share no band) in the optimiser.",
    )
    seed: int = Field(
        default=1,
        ge=0,
        description="Seed of the MinHash permutations (a different seed gives independent signatures).",
    )
    verify: bool = Field(
        default=False,
        description="Compute the exact Jaccard of every candidate pair (a second, cheap pass that shingles only "
        "the candidates) and link only pairs >= threshold. Removes LSH false positives; costs one more read of "
        "the stage input.",
    )

    @model_validator(mode="after")
    def _bands_and_rows_together(self) -> MinHashConfig:
        if (self.bands is None) != (self.rows is None):
            raise ValueError("set both bands and rows, or neither (then they are chosen from threshold)")
        if self.bands is not None and self.rows is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(
                f"bands x rows = {self.bands} x {self.rows} = {self.bands * self.rows} exceeds num_perm "
                f"{self.num_perm}: raise num_perm or lower bands/rows"
            )
        if self.false_positive_weight + self.false_negative_weight <= 0:
            raise ValueError("false_positive_weight + false_negative_weight must be > 0")
        return self


class RepeatedUnitsConfig(Options):
    """Repeated lines (``lines:``) or paragraphs (``paragraphs:``, blocks split on blank lines)
    removed from inside records: navigation, cookie notices, license headers, templated text.

    A unit's key is the xxh3 hash of its text normalised as ``normalize`` says; units counted at
    least ``min_repeats`` times over the step's input are removed (see ``remove``). Plain text
    records only; see ``curate/stages/dedupe/lines.py``.
    """

    min_repeats: int = Field(
        default=2,
        ge=2,
        description="Occurrences over the whole input from which a unit counts as repeated. 2 is the rule of "
        "C4 (all but one copy of a repeated span go), Dolma and CCNet (a line found anywhere else in the corpus).",
    )
    remove: RemoveRule = Field(
        default="all_but_first",
        description="all_but_first: keep the first occurrence in stable order (shard index, row; the first "
        "in its record), as C4 and Dolma do; all: remove every occurrence, as CCNet does (a record all of whose "
        "units repeat elsewhere is then emptied, so exact duplicates vanish entirely).",
    )
    min_chars: int = Field(
        default=10,
        ge=1,
        description="Units shorter than this after normalisation (characters) are never counted nor removed: "
        "blank lines, '}' and short code lines, list markers, dates.",
    )
    min_remaining_chars: int = Field(
        default=50,
        ge=0,
        description="A record that lost units and is left with fewer characters than this is removed "
        "(reason dup_lines:too_short or dup_paragraphs:too_short).",
    )
    max_removed_fraction: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="A record that lost more than this fraction of its characters is removed (reason "
        "dup_lines:mostly_removed or dup_paragraphs:mostly_removed): what is left is a remnant.",
    )


class DedupeConfig(StageConfig):
    """Options of the ``dedupe`` stage: exact and near duplicates, removed across all shards."""

    exact: bool = Field(
        default=True, description="Remove records whose normalised text is identical (reason exact_dup)."
    )
    minhash: MinHashConfig | None = Field(
        default_factory=MinHashConfig,
        description="Near-duplicate removal with MinHash LSH (reason minhash_dup); false or null to turn it off.",
    )
    substrings: SubstringsConfig | None = Field(
        default=None,
        description="Exact repeated substrings: cut spans of at least min_tokens words (or bytes) that occur "
        "more than once (suffix array, Lee et al. 2022) from the records that the document-level dedupe keeps.",
    )
    normalize: Normalization = Field(
        default_factory=Normalization, description="Text normalisation shared by exact hashes and shingles."
    )
    scope: Scope = Field(
        default="global",
        description="global: duplicates across all sources; source: only within each source (a record is never "
        "removed because of a record of another source).",
    )
    keep: KeepRule = Field(
        default="first",
        description="Which record of a duplicate cluster survives: first in stable order (shard index, row), the "
        "longest text view (ties: first), or the best score_column value (ties and missing scores: first).",
    )
    score_column: str | None = Field(
        default=None,
        description="For keep: score. A numeric column of the batch, or else a top-level key of the meta JSON "
        "column (e.g. quality). Records without a value rank last.",
    )
    score_order: ScoreOrder = Field(
        default="highest", description="For keep: score. Whether the highest or the lowest score survives."
    )
    lines: RepeatedUnitsConfig | None = Field(
        default=None,
        description="Remove repeated lines from inside records (reasons dup_lines:*); {} for the defaults. Counted "
        "over the whole step input, records this step drops as whole duplicates included.",
    )
    paragraphs: RepeatedUnitsConfig | None = Field(
        default=None,
        description="Remove repeated paragraphs (blocks split on blank lines) from inside records (reasons "
        "dup_paragraphs:*); {} for the defaults.",
    )
    view: TextView = Field(
        default_factory=TextView,
        description="Which turns (chat) or fields (preference) are compared, e.g. {roles: [user]} to dedupe "
        "conversations on their prompts.",
    )
    against: tuple[str, ...] = Field(
        default=(),
        description="Dedupe indexes of earlier runs (a run directory, or its index/<step> directory): records "
        "that duplicate anything in them are removed (reason dup_in_index:<name>, dup_of the indexed id), "
        "without reading the old text. Their parameters must equal this step's. Every dedupe step writes "
        "its own index to RUN_DIR/index/<step>; grow one with `curate index add`.",
    )

    @field_validator("minhash", mode="before")
    @classmethod
    def _minhash_switch(cls, value: Any) -> Any:
        """``minhash: true`` means the defaults, ``minhash: false`` turns near dedupe off."""
        if value is True:
            return {}
        if value is False:
            return None
        return value

    @field_validator("lines", "paragraphs", mode="before")
    @classmethod
    def _units_switch(cls, value: Any) -> Any:
        """``lines: true`` means the defaults, ``lines: false`` turns it off (paragraphs alike)."""
        if value is True:
            return {}
        if value is False:
            return None
        return value

    @model_validator(mode="after")
    def _keep_needs_score(self) -> DedupeConfig:
        if self.keep == "score" and not self.score_column:
            raise ValueError("keep: score needs score_column (a numeric column or a key of the meta JSON)")
        if self.keep != "score" and self.score_column is not None:
            raise ValueError(f"score_column is only used with keep: score (keep is {self.keep!r})")
        parts = (self.minhash, self.lines, self.paragraphs, self.substrings)
        if not self.exact and all(part is None for part in parts):
            raise ValueError(
                "exact is false and minhash, lines, paragraphs and substrings are off: dedupe would do nothing; "
                "enable one of them"
            )
        if self.substrings is not None and (self.lines is not None or self.paragraphs is not None):
            raise ValueError(
                "substrings cannot share a step with lines or paragraphs (its spans are found in the text "
                "before lines are removed): put lines/paragraphs in one dedupe step and substrings in the next"
            )
        return self
