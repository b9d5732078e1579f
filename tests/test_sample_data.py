"""sample_data/: regenerates byte for byte, holds what its README promises, and its truth files are exact.

The checks use the real fastText lid.176 model and curate's own word definition (curate.text); the
quality checks are a compact restatement of the published Gopher/C4/FineWeb rules, applied to the
page bodies the generator reports (the pages before HTML, boilerplate lines and other furniture
were added), and shown to fire on the planted bad pages.
"""

from __future__ import annotations

import html
import importlib.util
import itertools
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

import fasttext
import pytest

from curate.text import cjk_fraction, words

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
MODEL = ROOT / "curate" / "resources" / "lid.176.ftz"
DATA_DIRS = ("web", "sft", "preference", "eval", "truth")
GOOD_LANGS = {"en", "de", "fr", "es", "zh", "ja"}


# --- fixtures ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gen():
    """sample_data/generate.py, imported from its path (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("sample_data_generate", SAMPLE / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built(gen):
    return gen.build()


@pytest.fixture(scope="module")
def corpus(gen, built):
    return gen.web.build_web(gen.SEED)  # cached: the same object build() used


@pytest.fixture(scope="module")
def truth():
    return {
        name: json.loads((SAMPLE / "truth" / f"{name}_truth.json").read_text("utf-8"))
        for name in ("web", "sft", "preference", "eval")
    }


@pytest.fixture(scope="module")
def lid():
    model = fasttext.FastText._FastText(model_path=str(MODEL))

    def predict(texts: list[str]) -> list[tuple[str, float]]:
        labels, scores = model.f.multilinePredict([t.replace("\n", " ") for t in texts], 1, 0.0, "strict")
        return [
            (lab[0].removeprefix("__label__"), float(s[0])) for lab, s in zip(labels, scores, strict=True)
        ]

    return predict


def _rows(truth_file: dict) -> list[tuple[str, dict]]:
    return [(name, row) for name, rows in truth_file["files"].items() for row in rows]


def _lines(rel: str) -> list[bytes]:
    data = (SAMPLE / rel).read_bytes()
    assert data.endswith(b"\n")
    return data[:-1].split(b"\n")


def _committed_data_files() -> dict[str, bytes]:
    return {
        str(p.relative_to(SAMPLE)): p.read_bytes()
        for d in DATA_DIRS
        for p in sorted((SAMPLE / d).rglob("*"))
        if p.is_file()
    }


# --- determinism and size ----------------------------------------------------------------------------
def test_generator_reproduces_the_committed_files_byte_for_byte(built):
    files = built
    committed = _committed_data_files()
    assert sorted(files) == sorted(committed), (
        "generated and committed file sets differ (stale or missing files)"
    )
    changed = [rel for rel in files if files[rel] != committed[rel]]
    assert not changed, f"regenerating changes {changed}: run python sample_data/generate.py and commit"


def test_command_line_writes_the_same_bytes(gen, built, tmp_path):
    assert gen.main(["--out", str(tmp_path)]) == 0
    files = built
    for rel, data in files.items():
        assert (tmp_path / rel).read_bytes() == data


def test_whole_folder_is_under_5_mb():
    # 5 MB of data, plus the tiny Hugging Face model of recipes/sft-hf-lora.yaml (~175 KB)
    total = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    assert total < 5_250_000, total


# --- counts ------------------------------------------------------------------------------------------
def test_web_counts_are_in_the_promised_ranges(truth):
    rows = [r for _, r in _rows(truth["web"])]
    pages = [r for r in rows if r["status"] != "bad_line"]
    assert 2700 <= len(rows) <= 3100
    assert sum(r["status"] == "bad_line" for r in rows) == 10
    originals = [r for r in pages if "dup" not in r]
    bad_share = sum(r["status"] == "bad" for r in originals) / len(originals)
    assert 0.2 <= bad_share <= 0.3, bad_share
    for kind in ("exact", "near"):
        share = sum(r.get("dup") == kind for r in pages) / len(pages)
        assert 0.06 <= share <= 0.10, (kind, share)
    good_langs = Counter(r["lang"] for r in pages if r["status"] == "good")
    assert set(good_langs) == GOOD_LANGS
    assert 0.4 <= good_langs["en"] / sum(good_langs.values()) <= 0.6
    assert all(good_langs[lang] >= 150 for lang in GOOD_LANGS)
    defects = Counter(r.get("defect") for r in pages if r["status"] == "bad")
    expected = {
        "spam_keywords",
        "spam_repeated_lines",
        "spam_hashtags",
        "boilerplate_only",
        "too_short",
        "list_like",
        "lorem_ipsum",
        "code",
        "gibberish",
        "numeric_table",
        "wrong_language",
    }
    assert set(defects) == expected
    wrong = Counter(r["lang"] for r in pages if r.get("defect") == "wrong_language")
    assert set(wrong) == {"it", "pt", "nl", "ru"}
    assert sum(bool(r.get("html")) for r in pages) > 100
    assert sum(bool(r.get("boilerplate")) for r in pages) > 100
    assert sum(bool(r.get("pii")) for r in pages) > 30


def test_chat_and_eval_counts(truth):
    sft = Counter(name for name, _ in _rows(truth["sft"]))
    assert sft == {f"sft/{s}.jsonl": 100 for s in ("alpaca", "sharegpt", "messages", "prompt_response")}
    pref = Counter(name for name, _ in _rows(truth["preference"]))
    assert pref == {
        "preference/preference.jsonl": 120,
        "preference/hh.jsonl": 100,
        "preference/ratings.jsonl": 80,
    }
    ev = Counter(name for name, _ in _rows(truth["eval"]))
    assert ev == {"eval/web_eval.jsonl": 150, "eval/preference_eval.jsonl": 80, "eval/chat_eval.jsonl": 150}
    for which in ("sft", "preference"):
        rows = [r for _, r in _rows(truth[which])]
        assert {"en", "de", "fr", "es", "zh"} <= {r["lang"] for r in rows}
        bad = sum(r["status"] == "bad" for r in rows) / len(rows)
        assert 0.03 <= bad <= 0.07, (which, bad)
    sft_rows = [r for _, r in _rows(truth["sft"])]
    assert sum(r["turns"] > 3 for r in sft_rows) >= 20  # multi-turn
    assert sum(r["system"] for r in sft_rows) >= 20


def test_truth_has_one_row_per_line(truth):
    for which in ("web", "sft", "preference", "eval"):
        for name, rows in truth[which]["files"].items():
            assert [r["line"] for r in rows] == list(range(1, len(_lines(name)) + 1)), name


# --- web: bad lines ----------------------------------------------------------------------------------
def _bad_line_kind(raw: bytes) -> str | None:
    """What a reader should reject about one JSONL line, or None when it is a usable record."""
    if not raw.strip():
        return "blank_line"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid_utf8"
    try:
        row = json.loads(text)
    except json.JSONDecodeError:
        return "malformed_json"
    if not isinstance(row, dict):
        return "not_an_object"
    if "text" not in row:
        return "missing_text"
    if row["text"] is None:
        return "text_null"
    if not isinstance(row["text"], str):
        return "text_number" if isinstance(row["text"], int | float) else "text_not_string"
    if not row["text"].strip():
        return "text_empty"
    return None


def test_bad_lines_are_exactly_the_documented_ones(truth):
    found = {}
    for name in truth["web"]["files"]:
        for lineno, raw in enumerate(_lines(name), 1):
            kind = _bad_line_kind(raw)
            if kind:
                found[(name, lineno)] = kind
    documented = {
        (name, r["line"]): r["defect"] for name, r in _rows(truth["web"]) if r["status"] == "bad_line"
    }
    assert found == documented
    assert Counter(documented.values()) == {
        "malformed_json": 2,
        "invalid_utf8": 2,
        "missing_text": 1,
        "text_null": 1,
        "text_number": 1,
        "text_empty": 1,
        "not_an_object": 1,
        "blank_line": 1,
    }


# --- web: records vs. truth --------------------------------------------------------------------------
def test_generator_records_match_the_committed_lines(corpus):
    for (name, lineno), rec in corpus.records.items():
        row = json.loads(_lines(name)[lineno - 1])
        assert set(row) == {"url", "title", "date", "text"}
        assert row["text"] == rec.text
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["date"])
        assert row["url"].startswith("https://") and ".example." in row["url"]


def test_furniture_in_the_truth_is_really_there(corpus, truth):
    rows = {(name, r["line"]): r for name, r in _rows(truth["web"])}
    for key, rec in corpus.records.items():
        row = rows[key]
        visible = {
            html.unescape(re.sub(r"<[^>]+>", "", s)).replace("\xa0", " ") for s in rec.text.split("\n")
        }
        for line in row.get("boilerplate", []):
            assert line in visible, (key, line)
            assert line not in rec.clean
        for pii in row.get("pii", []):
            assert pii["value"] in rec.clean, (key, pii)
        if row.get("html"):
            assert re.search(r"</?(p|h1|h2|ol|li|b|em|a)[ >]", rec.text)
        elif row["status"] == "good":
            assert "<" not in rec.text and "&amp;" not in rec.text


def test_duplicates_are_what_the_truth_says(truth):
    texts = {}
    for name, r in _rows(truth["web"]):
        if r["status"] != "bad_line":
            texts[f"{name}:{r['line']}"] = json.loads(_lines(name)[r["line"] - 1])["text"]
    clusters: dict[int, list[str]] = {}
    for name, r in _rows(truth["web"]):
        if r["status"] == "bad_line":
            continue
        key = f"{name}:{r['line']}"
        clusters.setdefault(r["cluster"], []).append(key)
        if r.get("dup") == "exact":
            assert texts[key] == texts[r["dup_of"]]
        elif r.get("dup") == "near":
            assert texts[key] != texts[r["dup_of"]]
            j = _jaccard(_shingles(texts[key]), _shingles(texts[r["dup_of"]]))
            assert j == pytest.approx(r["jaccard"], abs=1e-4)
            assert j >= 0.8
    # a cluster is one original and its copies; distinct clusters never share a text
    seen: dict[str, int] = {}
    for cid, keys in clusters.items():
        for k in keys:
            assert seen.setdefault(texts[k], cid) == cid, f"{k} repeats the text of cluster {seen[texts[k]]}"


# --- web: good pages are good ------------------------------------------------------------------------
def _sample_good(corpus, n: int, seed: int = 0):
    good = sorted(
        ((k, r) for k, r in corpus.records.items() if r.status == "good" and r.dup == "original"),
        key=lambda kr: kr[0],
    )
    return random.Random(seed).sample(good, n)


def test_good_pages_are_in_their_language_per_fasttext(corpus, lid):
    sample = _sample_good(corpus, 300)
    predictions = lid([rec.clean for _, rec in sample])
    wrong = [
        (key, rec.lang, pred)
        for (key, rec), pred in zip(sample, predictions, strict=True)
        if pred[0] != rec.lang or pred[1] < 0.8
    ]
    assert not wrong


def test_wrong_language_pages_are_good_text_in_another_language(corpus, lid):
    pages = [r for r in corpus.records.values() if r.defect == "wrong_language" and r.dup == "original"]
    predictions = lid([r.text for r in pages])
    assert all(p[0] == r.lang and p[1] >= 0.8 for r, p in zip(pages, predictions, strict=True))
    assert all(p[0] not in GOOD_LANGS for p in predictions)


STOP_WORDS = {
    "en": {"the", "be", "to", "of", "and", "that", "have", "with"},  # Gopher's list
    "de": {"der", "die", "und", "das", "ist", "zu", "mit", "den"},
    "fr": {"le", "la", "les", "de", "et", "un", "une", "est"},
    "es": {"el", "la", "de", "que", "y", "en", "los", "un"},
    "zh": {"的", "了", "是", "在", "和", "有"},
    "ja": {"の", "は", "に", "を", "が", "と"},
}
TERMINAL = (".", "!", "?", '"', "'", "。", "！", "？", "」", "”")


def _quality_failures(text: str, lang: str) -> list[str]:
    """The published document rules (Gopher quality/repetition, C4, FineWeb) at their defaults."""
    fails = []
    ws = words(text)
    cjk = cjk_fraction(text) > 0.3
    alpha = [w for w in ws if any(c.isalnum() for c in w)]
    if len(alpha) < 50:
        fails.append("gopher_short_doc")
    if not cjk and alpha and not 3 <= sum(len(w.strip(".,;:!?()\"'«»“”„")) for w in alpha) / len(alpha) <= 10:
        fails.append("gopher_mean_word_length")
    if sum(any(c.isalpha() for c in w) for w in ws) / max(len(ws), 1) < 0.8:
        fails.append("gopher_alpha_words")
    tokens = {w.lower().strip(".,;:!?()\"'«»“”„") for w in ws}
    if len(tokens & STOP_WORDS[lang]) < 2:
        fails.append("gopher_stop_words")
    if (text.count("#") + text.count("...") + text.count("…")) / max(len(ws), 1) > 0.1:
        fails.append("gopher_symbol_ratio")
    lower = text.lower()
    if "lorem ipsum" in lower:
        fails.append("c4_lorem_ipsum")
    if "{" in text:
        fails.append("c4_curly_bracket")
    lines = [line for line in text.split("\n") if line.strip()]
    if sum(line.rstrip().endswith(TERMINAL) for line in lines) / len(lines) < 0.12:
        fails.append("fineweb_line_punct_ratio")
    if sum(len(line) <= 30 for line in lines) / len(lines) > 0.67:
        fails.append("fineweb_short_line_ratio")
    counts = Counter(lines)
    if (
        sum(len(line) * (n - 1) for line, n in counts.items() if n > 1) / max(len(text.replace("\n", "")), 1)
        > 0.01
    ):
        fails.append("fineweb_char_dup_ratio")
    grams = [" ".join(ws[i : i + 5]) for i in range(len(ws) - 4)]
    repeated = Counter(grams)
    dup_chars = sum(len(g) for g in grams if repeated[g] > 1)
    if grams and dup_chars / sum(len(g) for g in grams) > 0.15:
        fails.append("gopher_dup_5gram_frac")
    return fails


def test_good_pages_pass_the_published_quality_rules(corpus, gen):
    failures = {}
    for key, rec in _sample_good(corpus, 400, seed=1):
        fails = _quality_failures(rec.clean, rec.lang)
        if fails:
            failures[key] = fails
    assert not failures
    for i, rec in enumerate(gen.web.build_eval(gen.EVAL_SEED, 30, set())):
        assert not _quality_failures(rec.text, rec.lang), i


@pytest.mark.parametrize(
    ("defect", "rule"),
    [
        ("lorem_ipsum", "c4_lorem_ipsum"),
        ("code", "c4_curly_bracket"),
        ("too_short", "gopher_short_doc"),
        ("spam_repeated_lines", "fineweb_char_dup_ratio"),
        ("list_like", "fineweb_short_line_ratio"),
        ("numeric_table", "gopher_alpha_words"),
        ("gibberish", "gopher_stop_words"),
    ],
)
def test_the_same_rules_fire_on_the_planted_bad_pages(corpus, defect, rule):
    pages = [r for r in corpus.records.values() if r.defect == defect and r.dup == "original"]
    hits = sum(rule in _quality_failures(r.text, r.lang or "en") for r in pages)
    assert hits >= 0.8 * len(pages), (defect, rule, hits, len(pages))


def _shingles(text: str) -> set[tuple[str, ...]]:
    toks = [re.sub(r"^\W+|\W+$", "", w.lower()) for w in words(text)]
    toks = [t for t in toks if t]
    return {tuple(toks[i : i + 5]) for i in range(len(toks) - 4)}


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def test_good_pages_of_different_clusters_are_far_apart(corpus):
    by_lang: dict[str, list[set]] = {}
    for _, rec in _sample_good(corpus, 600, seed=2):
        by_lang.setdefault(rec.lang, []).append(_shingles(rec.clean))
    values = [_jaccard(a, b) for group in by_lang.values() for a, b in itertools.combinations(group, 2)]
    assert len(values) > 20_000
    assert max(values) < 0.25  # the generator redraws a page that comes closer to an earlier one
    assert sum(values) / len(values) < 0.05


# --- held-out sets -----------------------------------------------------------------------------------
def test_eval_sets_do_not_overlap_training(truth, lid):
    train = set()
    for name, r in _rows(truth["web"]):
        if r["status"] != "bad_line":
            train.add(" ".join(json.loads(_lines(name)[r["line"] - 1])["text"].split()))
    eval_rows = [json.loads(line) for line in _lines("eval/web_eval.jsonl")]
    assert all(set(row) == {"url", "title", "date", "text"} for row in eval_rows)
    assert not {" ".join(row["text"].split()) for row in eval_rows} & train
    good_train: dict[str, list[set]] = {}
    for name, r in _rows(truth["web"]):
        if r["status"] == "good" and "dup" not in r:
            good_train.setdefault(r["lang"], []).append(
                _shingles(json.loads(_lines(name)[r["line"] - 1])["text"])
            )
    langs = [r["lang"] for r in truth["eval"]["files"]["eval/web_eval.jsonl"]]
    for row, lang in random.Random(3).sample(list(zip(eval_rows, langs, strict=True)), 25):
        sh = _shingles(row["text"])
        assert max(_jaccard(sh, other) for other in good_train[lang]) < 0.25
    predictions = lid([row["text"] for row in eval_rows])
    assert [p[0] for p in predictions] == langs and min(p[1] for p in predictions) >= 0.8

    train_prompts = set()
    for rel in ("sft/prompt_response.jsonl", "preference/preference.jsonl", "preference/ratings.jsonl"):
        for line in _lines(rel):
            p = json.loads(line).get("prompt")
            train_prompts.add(p if isinstance(p, str) else json.dumps(p))
    pairs = [json.loads(line) for line in _lines("eval/preference_eval.jsonl")]
    assert not {p["prompt"] for p in pairs} & train_prompts
    assert all(p["chosen"] and p["rejected"] and p["chosen"] != p["rejected"] for p in pairs)


# --- SFT and preference: the bad records are exactly the documented ones -----------------------------
ROLE_MAP = {
    "sharegpt": ("conversations", "from", "value", {"system": "system", "human": "user", "gpt": "assistant"}),
    "messages": (
        "messages",
        "role",
        "content",
        {"system": "system", "user": "user", "assistant": "assistant"},
    ),
}


def _conversation_problem(turns: list[tuple[str, str]]) -> str | None:
    if any(not isinstance(t, str) or not t.strip() for _, t in turns):
        return "empty"
    roles = [r for r, _ in turns]
    if roles and roles[0] == "system":
        roles = roles[1:]
    if not roles or roles[-1] != "assistant":
        return "ends_with_user"
    if any(r != ("user" if i % 2 == 0 else "assistant") for i, r in enumerate(roles)):
        return "not_alternating"
    return None


def _sft_problem(shape: str, row: dict) -> str | None:
    if shape == "alpaca":
        if not all(isinstance(row.get(k), str) for k in ("instruction", "input", "output")):
            return "fields"
        return _conversation_problem([("user", row["instruction"]), ("assistant", row["output"])])
    if shape == "prompt_response":
        if not all(isinstance(row.get(k), str) for k in ("prompt", "response")):
            return "fields"
        return _conversation_problem([("user", row["prompt"]), ("assistant", row["response"])])
    key, role_k, text_k, roles = ROLE_MAP[shape]
    if not isinstance(row.get(key), list):
        return "fields"
    if any(t.get(role_k) not in roles for t in row[key]):
        return "unknown_role"
    return _conversation_problem([(roles[t[role_k]], t[text_k]) for t in row[key]])


def test_sft_bad_records_are_exactly_the_documented_ones(truth):
    for name, rows in truth["sft"]["files"].items():
        shape = Path(name).stem
        found = {i for i, line in enumerate(_lines(name), 1) if _sft_problem(shape, json.loads(line))}
        assert found == {r["line"] for r in rows if r["status"] == "bad"}, name


def _content(x) -> str:
    return x if isinstance(x, str) else " ".join(m.get("content", "") for m in x)


def _preference_problem(shape: str, row: dict) -> str | None:
    if shape == "preference":
        if not all(k in row for k in ("prompt", "chosen", "rejected")):
            return "fields"
        c, r, p = _content(row["chosen"]), _content(row["rejected"]), _content(row["prompt"])
        return None if c.strip() and r.strip() and p.strip() and c != r else "pair"
    if shape == "hh":
        if "chosen" not in row or "rejected" not in row:
            return "fields"
        c, r = row["chosen"], row["rejected"]
        cut_c, cut_r = c.rfind("\n\nAssistant: "), r.rfind("\n\nAssistant: ")
        if min(cut_c, cut_r) < 0 or c[:cut_c] != r[:cut_r] or not c[:cut_c].startswith("\n\nHuman: "):
            return "prefix"
        a, b = c[cut_c + 13 :], r[cut_r + 13 :]
        return None if a.strip() and b.strip() and a != b else "pair"
    comps = row.get("completions")
    if not isinstance(comps, list) or len(comps) < 2 or any(not c.get("text", "").strip() for c in comps):
        return "completions"
    return None if len({c["score"] for c in comps}) >= 2 else "all_tied"


def test_preference_bad_records_are_exactly_the_documented_ones(truth):
    for name, rows in truth["preference"]["files"].items():
        shape = Path(name).stem
        found = {i for i, line in enumerate(_lines(name), 1) if _preference_problem(shape, json.loads(line))}
        assert found == {r["line"] for r in rows if r["status"] == "bad"}, name


def test_preference_shapes_vary_as_promised():
    pref = [json.loads(line) for line in _lines("preference/preference.jsonl")]
    forms = Counter(isinstance(p.get("prompt"), list) for p in pref)
    assert forms[True] >= 30 and forms[False] >= 50
    ratings = [json.loads(line) for line in _lines("preference/ratings.jsonl")]
    sizes = Counter(len(r.get("completions", [])) for r in ratings)
    assert sizes[3] > 10 and sizes[4] > 10
    tied = [
        r
        for r in ratings
        if len(r.get("completions", [])) >= 3
        and len({c["score"] for c in r["completions"]}) < len(r["completions"])
    ]
    assert len(tied) >= 8


def _expected_result(task: str, prompt: str) -> int:
    """The right answer of an arithmetic item, from its first two numbers (order-free except minus)."""
    a, b = (int(x) for x in re.findall(r"\d+", prompt)[:2])
    op = task.removeprefix("arithmetic_")
    return {"add": a + b, "sub": max(a, b) - min(a, b), "mul": a * b, "pct": a * b // 100}[op]


def _has_number(text: str, n: int) -> bool:
    return re.search(rf"(?<![\d.,]){n}(?![\d])", text) is not None


def test_arithmetic_answers_are_right_and_planted_wrong_ones_wrong(truth):
    meta = {(n, r["line"]): r for which in ("sft", "preference", "eval") for n, r in _rows(truth[which])}
    checked = Counter()
    files = (
        "sft/prompt_response.jsonl",
        "sft/alpaca.jsonl",
        "preference/preference.jsonl",
        "preference/hh.jsonl",
        "eval/preference_eval.jsonl",
    )
    for name in files:
        for lineno, line in enumerate(_lines(name), 1):
            m, row = meta[(name, lineno)], json.loads(line)
            if m.get("status") == "bad" or not m["task"].startswith("arithmetic"):
                continue
            if name.startswith("sft/"):
                prompt = row.get("prompt") or row["instruction"]
                good, bad = row.get("response") or row["output"], None
            elif name.endswith("hh.jsonl"):
                if m["on_followup"]:  # compared on the answer to a follow-up question
                    continue
                prompt = row["chosen"].split("\n\nHuman: ")[-1].split("\n\nAssistant: ")[0]
                good = row["chosen"].rsplit("\n\nAssistant: ", 1)[-1]
                bad = row["rejected"].rsplit("\n\nAssistant: ", 1)[-1]
            else:
                prompt, good, bad = (
                    _content(row["prompt"]),
                    _content(row["chosen"]),
                    _content(row["rejected"]),
                )
            expected = _expected_result(m["task"], prompt)
            assert _has_number(good, expected), (name, lineno, expected, good)
            checked["chosen"] += 1
            if bad is not None and m.get("rejected_kind") == "wrong":
                assert not _has_number(bad, expected), (name, lineno, bad)
                checked["rejected"] += 1
    assert checked["chosen"] >= 40 and checked["rejected"] >= 3, checked


def test_eval_preference_pairs_are_not_length_confounded(truth):
    """A summed log-probability favours the shorter answer: were the chosen answers mostly the
    longer ones, a model blind to quality would score below chance. Per kind of rejected answer,
    chosen is the longer one in about half the pairs, and lengths stay within 3x of each other."""
    from curate.train.score import length_bias

    pairs = [json.loads(line) for line in _lines("eval/preference_eval.jsonl")]
    size = {side: [len(p[side].encode("utf-8")) for p in pairs] for side in ("chosen", "rejected")}
    bias = length_bias(size["chosen"], size["rejected"])
    assert 0.45 <= bias["pref_chosen_longer"] <= 0.55
    assert 0.8 <= bias["pref_length_ratio"] <= 1.25
    assert all(max(c, r) <= 3 * min(c, r) for c, r in zip(size["chosen"], size["rejected"], strict=True))
    rows = truth["eval"]["files"]["eval/preference_eval.jsonl"]
    by_kind: dict[str, list[bool]] = {}
    for row, c, r in zip(rows, size["chosen"], size["rejected"], strict=True):
        assert (c > r) == row["chosen_longer"]
        by_kind.setdefault(row["rejected_kind"], []).append(c > r)
    assert set(by_kind) == {"wrong", "truncated", "rude", "off_topic"}
    for kind, longer in by_kind.items():
        assert abs(2 * sum(longer) - len(longer)) <= 1, kind  # alternating: balanced within one


def test_eval_tasks_are_well_formed_multilingual_and_right():
    """eval/tasks/*.jsonl: {context, choices, answer} items, several languages, answers right."""
    from curate.train.evalset import task_item_problem

    arith = [json.loads(line) for line in _lines("eval/tasks/arith.jsonl")]
    antonyms = [json.loads(line) for line in _lines("eval/tasks/antonyms.jsonl")]
    assert len(arith) == 300 and len(antonyms) == 200
    for items in (arith, antonyms):
        assert all(task_item_problem(item) is None for item in items)
        assert {item["lang"] for item in items} == {"en", "de", "fr", "es", "zh"}
        assert all(len(set(item["choices"])) == len(item["choices"]) == 4 for item in items)
        positions = Counter(item["answer"] for item in items)
        assert min(positions.values()) > len(items) / 8  # the right answer is not always in one place
    for item in arith:
        a, op, b = re.search(r"(\d+) ([-+×]) (\d+)", item["context"]).groups()
        value = {"+": int(a) + int(b), "-": int(a) - int(b), "×": int(a) * int(b)}[op]
        assert item["choices"][item["answer"]] == str(value)


def test_chat_eval_prompts_are_held_out():
    train = set()
    for line in _lines("sft/sharegpt.jsonl"):
        try:
            turns = json.loads(line).get("conversations") or []
        except ValueError:  # the planted bad lines
            continue
        train.update(t.get("value") for t in turns if isinstance(t, dict) and t.get("from") == "human")
    chats = [json.loads(line)["messages"] for line in _lines("eval/chat_eval.jsonl")]
    prompts = [m[0]["content"] for m in chats]
    assert len(set(prompts)) == len(prompts) == 150
    assert not set(prompts) & train
    assert all([t["role"] for t in m] == ["user", "assistant"] for m in chats)
