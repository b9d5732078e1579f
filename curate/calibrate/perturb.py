"""Known damage, in measured doses: perturbed copies of a list of training documents.

Each perturbation replaces a ``dose`` fraction of the documents (``round(dose * n)`` of them,
exactly) and leaves the others as they were, so a copy has the same number of documents as the
clean data. Which documents is decided by one seeded permutation: the first ``k`` of it. Doses
therefore nest (the documents damaged at 10% are among those damaged at 25%), and the damage done
to one document depends only on the seed and that document, so a larger dose is the smaller one
plus more of the same.

- ``shuffle``: the document's words (whitespace-separated) in a random order: the same words,
  no syntax.
- ``wrong_lang``: the document replaced by one of another language (a pool given by the caller).
- ``duplicate``: the document replaced by an exact copy of a document that was not chosen, so
  the unique content shrinks (at 50%: half the documents are copies of the other half).
- ``boilerplate``: navigation lines added above the document and cookie / legal / share lines
  below it, from a fixed pool of realistic lines.

Everything here is a pure function of its arguments.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Defect = Literal["shuffle", "wrong_lang", "duplicate", "boilerplate"]
DEFECTS: tuple[Defect, ...] = ("shuffle", "wrong_lang", "duplicate", "boilerplate")
_STREAM = {"choice": 0, "shuffle": 1, "wrong_lang": 2, "duplicate": 3, "boilerplate": 4}

HEADER_LINES: tuple[str, ...] = (
    "Home | About us | Contact | Blog | Shop",
    "Skip to main content",
    "Menu ☰ Search",
    "Home › News › Local",
    "Sign in | Register | My account",
    "Newsletter | Events | Careers | Press",
    "You are here: Home / Articles",
    "Share on Facebook Share on Twitter Share by e-mail",
    "Advertisement",
    "Categories: Uncategorized",
    "Posted by admin",
    "Print this page",
)
FOOTER_LINES: tuple[str, ...] = (
    "This website uses cookies to improve your experience. By continuing to browse the site you agree to our use of cookies. Accept | Learn more",
    "We value your privacy. We and our partners store and access information on your device. Manage preferences",
    "© 2024 All rights reserved. Reproduction without written permission is prohibited.",
    "Terms of use | Privacy policy | Cookie settings | Imprint | Accessibility",
    "Subscribe to our newsletter to receive the latest updates in your inbox.",
    "Related posts: Read more » Previous article | Next article",
    "Leave a comment. Your e-mail address will not be published. Required fields are marked *",
    "Follow us on Facebook, Instagram and YouTube.",
    "Back to top ↑",
    "Powered by WordPress | Theme by Example Themes",
    "Content is available under a Creative Commons Attribution-ShareAlike licence unless otherwise noted.",
    "Tags: news, local, update, article, read, share",
)
BOILERPLATE_HEADER, BOILERPLATE_FOOTER = 2, 3
"""Lines added to each damaged document: above it and below it."""


@dataclass(frozen=True)
class Perturbed:
    """A perturbed copy: every text (same length as the input) and the indices that changed."""

    texts: list[str]
    changed: list[int]
    defect: Defect
    dose: float
    seed: int


def dose_count(n: int, dose: float) -> int:
    """How many of ``n`` documents a ``dose`` damages: ``dose * n`` rounded half up."""
    if not 0 < dose < 1:
        raise ValueError(f"a dose is a fraction between 0 and 1 (exclusive), got {dose}")
    return math.floor(dose * n + 0.5)


def choice_order(n: int, *, seed: int) -> np.ndarray:
    """The seeded order in which documents are damaged: a dose takes the first ``k``."""
    return np.random.default_rng([seed, _STREAM["choice"]]).permutation(n)


def chosen(n: int, dose: float, *, seed: int) -> list[int]:
    """The (sorted) indices of the documents a ``dose`` damages."""
    return sorted(int(i) for i in choice_order(n, seed=seed)[: dose_count(n, dose)])


def shuffle_words(text: str, *, rng: np.random.Generator) -> str:
    """The words of ``text`` (split on whitespace) in a random order, joined by single spaces."""
    words = text.split()
    return " ".join(words[i] for i in rng.permutation(len(words)))


def add_boilerplate(text: str, *, rng: np.random.Generator) -> str:
    """``text`` with navigation lines above it and cookie / legal / share lines below it."""
    head = [HEADER_LINES[i] for i in rng.choice(len(HEADER_LINES), BOILERPLATE_HEADER, replace=False)]
    foot = [FOOTER_LINES[i] for i in rng.choice(len(FOOTER_LINES), BOILERPLATE_FOOTER, replace=False)]
    return "\n".join([*head, text, *foot])


def perturb(
    texts: Sequence[str],
    defect: Defect,
    dose: float,
    *,
    seed: int = 0,
    pool: Sequence[str] = (),
) -> Perturbed:
    """A copy of ``texts`` with a ``dose`` fraction of them damaged by ``defect``.

    ``pool``: the other-language documents ``wrong_lang`` draws from (each used once while they
    last, then again in the same order). ``duplicate`` needs at least one document left undamaged
    to copy.
    """
    if defect not in DEFECTS:
        raise ValueError(f"unknown defect {defect!r}; known: {', '.join(DEFECTS)}")
    n = len(texts)
    k = dose_count(n, dose)
    order = [int(i) for i in choice_order(n, seed=seed)]
    picked, rest = order[:k], order[k:]
    out = list(texts)
    stream = _STREAM[defect]
    if defect == "shuffle":
        for i in picked:
            out[i] = shuffle_words(texts[i], rng=np.random.default_rng([seed, stream, i]))
    elif defect == "boilerplate":
        for i in picked:
            out[i] = add_boilerplate(texts[i], rng=np.random.default_rng([seed, stream, i]))
    elif defect == "wrong_lang":
        if not pool and picked:
            raise ValueError("wrong_lang needs a pool of other-language documents; the pool is empty")
        draw = np.random.default_rng([seed, stream]).permutation(len(pool)) if pool else []
        for j, i in enumerate(picked):
            out[i] = pool[int(draw[j % len(pool)])]
    else:  # duplicate
        if picked and not rest:
            raise ValueError(f"a duplicate dose of {dose} leaves no document to copy from ({n} documents)")
        for j, i in enumerate(picked):
            out[i] = texts[rest[j % len(rest)]]
    return Perturbed(out, sorted(picked), defect, dose, seed)
