"""The perturbations: exact doses, deterministic per seed, nested doses, and each defect's promise."""

from __future__ import annotations

from collections import Counter

import pytest

from curate.calibrate.perturb import (
    DEFECTS,
    FOOTER_LINES,
    HEADER_LINES,
    chosen,
    dose_count,
    perturb,
)

TEXTS = [f"document {i} says that word{i} follows word{i + 1} in a sentence of its own." for i in range(101)]
POOL = [f"Das Dokument {i} ist auf Deutsch geschrieben." for i in range(40)]


@pytest.mark.parametrize("defect", DEFECTS)
@pytest.mark.parametrize("dose", [0.1, 0.25, 0.5])
def test_a_dose_changes_exactly_that_fraction_and_nothing_else(defect, dose):
    damaged = perturb(TEXTS, defect, dose, seed=3, pool=POOL)
    assert len(damaged.texts) == len(TEXTS)
    assert len(damaged.changed) == dose_count(len(TEXTS), dose) == round(dose * 101 + 1e-9)
    for i, (before, after) in enumerate(zip(TEXTS, damaged.texts, strict=True)):
        assert (before != after) == (i in damaged.changed), (defect, i)


def test_dose_count_rounds_half_up_and_refuses_fractions_outside_zero_one():
    assert [dose_count(10, d) for d in (0.05, 0.15, 0.25, 0.5)] == [1, 2, 3, 5]
    for bad in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            dose_count(10, bad)


@pytest.mark.parametrize("defect", DEFECTS)
def test_deterministic_per_seed_and_different_across_seeds(defect):
    a = perturb(TEXTS, defect, 0.25, seed=1, pool=POOL)
    b = perturb(TEXTS, defect, 0.25, seed=1, pool=POOL)
    c = perturb(TEXTS, defect, 0.25, seed=2, pool=POOL)
    assert a.texts == b.texts and a.changed == b.changed
    assert c.changed != a.changed


def test_doses_nest_a_larger_dose_damages_the_smaller_ones_documents_the_same_way():
    small = perturb(TEXTS, "shuffle", 0.1, seed=0)
    large = perturb(TEXTS, "shuffle", 0.5, seed=0)
    assert set(small.changed) < set(large.changed)
    assert all(small.texts[i] == large.texts[i] for i in small.changed)
    assert chosen(101, 0.1, seed=0) == small.changed


def test_shuffle_keeps_the_multiset_of_words_and_changes_their_order():
    damaged = perturb(TEXTS, "shuffle", 0.5, seed=0)
    for i in damaged.changed:
        assert Counter(damaged.texts[i].split()) == Counter(TEXTS[i].split())
        assert damaged.texts[i].split() != TEXTS[i].split()


def test_duplicates_are_exact_copies_of_undamaged_documents_and_half_is_copies_of_the_other_half():
    texts = TEXTS[:100]
    damaged = perturb(texts, "duplicate", 0.5, seed=0)
    kept = [i for i in range(100) if i not in damaged.changed]
    originals = {texts[i] for i in kept}
    assert all(damaged.texts[i] in originals for i in damaged.changed)
    # every kept document is copied exactly once: 50 unique texts, each twice
    assert len(set(damaged.texts)) == 50
    assert set(Counter(damaged.texts).values()) == {2}


def test_a_duplicate_dose_needs_a_document_to_copy():
    with pytest.raises(ValueError, match="no document to copy"):
        perturb(TEXTS[:2], "duplicate", 0.9, seed=0)


def test_wrong_language_takes_pool_documents_each_once_while_they_last():
    damaged = perturb(TEXTS, "wrong_lang", 0.25, seed=0, pool=POOL)
    replaced = [damaged.texts[i] for i in damaged.changed]
    assert all(t in POOL for t in replaced) and len(set(replaced)) == len(replaced)
    with pytest.raises(ValueError, match="pool"):
        perturb(TEXTS, "wrong_lang", 0.25, seed=0, pool=[])


def test_boilerplate_adds_pool_lines_around_the_untouched_document():
    damaged = perturb(TEXTS, "boilerplate", 0.5, seed=0)
    for i in damaged.changed:
        lines = damaged.texts[i].split("\n")
        assert TEXTS[i] in lines
        extra = [line for line in lines if line != TEXTS[i]]
        assert len(extra) == 5 and all(line in HEADER_LINES + FOOTER_LINES for line in extra)
