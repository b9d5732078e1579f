"""Named eval sets and multiple-choice tasks: score.json per set and task, lm-eval's acc/acc_norm."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from curate.errors import RecipeError
from curate.train.checkpoint import load_checkpoint
from curate.train.config import EvalConfig, TrainConfig
from curate.train.evalset import check_eval_set, flat_metrics
from curate.train.score import encode_text, resolve_start_id, score, score_report, sets_report
from curate.train.tasks import encode_pair, encode_task, score_task, task_metrics

from .conftest import sentences


@pytest.fixture(scope="module")
def model(trained):
    return load_checkpoint(trained.checkpoint).model


def test_one_named_set_gives_the_single_set_score(trained, sp_path, eval_texts):
    records = [{"text": t} for t in eval_texts[:6]]
    single = score(trained.checkpoint, records, sp_path)
    report = sets_report({"eval": score(trained.checkpoint, records, sp_path)}, seed=0)
    old = score_report(single, seed=0)
    assert report["sets"]["eval"]["metrics"]["bpb"] == single["bpb"] == report["metrics"]["bpb"]
    assert report["metrics"] == old["metrics"]
    assert {k: v for k, v in report["eval"].items() if k not in ("wall_s", "tokens_per_s")} == {
        k: v for k, v in old["eval"].items() if k not in ("wall_s", "tokens_per_s")
    }
    assert report["avg"]["bpb"] == single["bpb"]
    assert flat_metrics(report) == flat_metrics(old)  # consumers see the same names: bpb, ppl, nll


def test_several_sets_score_each_and_average(trained, sp_path, eval_texts, corpus):
    held_out = [{"text": t} for t in eval_texts[:5]]
    noise = [{"text": "zq xv " * 8 + str(i)} for i in range(5)]  # unlike anything trained on
    sets = {
        name: score(trained.checkpoint, r, sp_path) for name, r in (("prose", held_out), ("noise", noise))
    }
    report = sets_report(sets, seed=0)
    assert report["sets"]["prose"]["metrics"]["bpb"] < report["sets"]["noise"]["metrics"]["bpb"]
    assert report["avg"]["bpb"] == pytest.approx((sets["prose"]["bpb"] + sets["noise"]["bpb"]) / 2)
    assert report["metrics"]["bpb"] == report["avg"]["bpb"]
    assert report["eval"]["records"] == 10 and report["eval"]["sets"] == ["prose", "noise"]
    flat = flat_metrics(report)
    assert flat["noise.bpb"] == sets["noise"]["bpb"] and flat["avg.bpb"] == report["avg"]["bpb"]
    assert "bpb" not in flat  # the average is named avg.bpb, not repeated


def test_encode_pair_moves_trailing_spaces_and_splits_the_whole_encoding(sp):
    context_ids, cont_ids, continuation = encode_pair(sp.encode, "The old fisherman ", "repaired")
    assert continuation == " repaired"
    assert context_ids + cont_ids == sp.encode("The old fisherman repaired")
    assert context_ids == sp.encode("The old fisherman")


def test_task_bpb_is_the_correct_choices_summed_log_prob_by_hand(model, sp):
    items = [{"context": "The old fisherman", "choices": ["repaired the blue boat", "zq"], "answer": 0}]
    correct = encode_task(items, sp.encode, prefix=[resolve_start_id(sp)])[0]
    with torch.no_grad():
        logits = model(torch.tensor([correct.ids[:-1]]))[0]
    nll = F.cross_entropy(logits, torch.tensor(correct.ids[1:]), reduction="none")
    by_hand = float(nll[torch.tensor(correct.target[1:])].sum())
    result = score_task(model, items, sp)
    assert result["bpb"] == pytest.approx(by_hand / (math.log(2) * len(b" repaired the blue boat")), rel=1e-5)


def test_acc_is_one_when_the_correct_choice_is_what_the_model_learned(model, sp):
    """The model was trained on sentences like these; the wrong choices are gibberish as long as
    the right one (a summed log-likelihood favours short strings, so they must not be shorter)."""
    rng = np.random.default_rng(0)
    items = []
    for i, sentence in enumerate(sentences(30, seed=0)):
        words = sentence.split()
        context, answer = " ".join(words[:3]), " ".join(words[3:])
        wrong = ["".join(rng.choice(list("qxzjvk "), size=len(answer))).strip() + "q" for _ in range(3)]
        choices = [*wrong[: i % 3], answer, *wrong[i % 3 :]]
        items.append({"context": context, "choices": choices, "answer": i % 3})
    result = score_task(model, items, sp)
    assert result["acc"] == 1.0 and result["acc_norm"] == 1.0 and result["items"] == 30
    assert result["chance"] == pytest.approx(0.25)


def test_acc_norm_by_hand_on_a_tiny_example():
    """lm-eval: acc = argmax(ll); acc_norm = argmax(ll / len(choice) in characters)."""
    items = [
        {
            "context": "c",
            "choices": ["a", "bbbb"],
            "answer": 1,
        },  # ll -2 vs -4: acc picks a, per char: -2 vs -1
        {"context": "c", "choices": ["aa", "b"], "answer": 0},  # ll -1 vs -3: both pick aa
        {
            "context": "c",
            "choices": ["ä", "bb"],
            "answer": 1,
        },  # ll -3 vs -4: per char -3 vs -2, per byte -1.5 vs -2
    ]
    lls = [-2.0, -4.0, -1.0, -3.0, -3.0, -4.0]
    cont_bytes = [2, 5, 3, 2, 3, 3]  # " a", " bbbb", " aa", " b", " ä", " bb"
    m = task_metrics(items, lls, cont_bytes)
    assert m["acc"] == pytest.approx(1 / 3)  # only item 2
    assert m["acc_norm"] == pytest.approx(1.0)  # items 1, 2 and 3
    assert m["acc_bytes"] == pytest.approx(2 / 3)  # item 3: a is 2 bytes, -1.5 beats -2
    assert m["bpb"] == pytest.approx((4.0 + 1.0 + 4.0) / (math.log(2) * (5 + 3 + 3)))


def test_task_metrics_follow_lm_evals_formulas_on_random_logits():
    rng = np.random.default_rng(0)
    items = [
        {
            "context": "x",
            "choices": ["a" * int(rng.integers(1, 9)) for _ in range(4)],
            "answer": int(rng.integers(4)),
        }
        for _ in range(200)
    ]
    lls = rng.normal(-10, 4, size=800)
    m = task_metrics(items, lls, [1] * 800)
    lengths = np.array([[len(c) for c in it["choices"]] for it in items], dtype=float)
    gold = np.array([it["answer"] for it in items])
    ll = lls.reshape(200, 4)
    assert m["acc"] == pytest.approx(np.mean(ll.argmax(1) == gold))
    assert m["acc_norm"] == pytest.approx(np.mean((ll / lengths).argmax(1) == gold))


def test_a_choice_is_scored_on_the_tokens_of_the_whole_text(sp):
    """context + choice encodes as the whole text does; the targets are its last tokens."""
    start = resolve_start_id(sp)
    items = [{"context": "A quiet student", "choices": ["found a warm coat", "x"], "answer": 0}]
    seq = encode_task(items, sp.encode, prefix=[start])[0]
    whole = encode_text("A quiet student found a warm coat", sp, start_id=start)
    assert seq.ids == whole.ids
    assert sum(seq.target) == len(whole.ids) - 1 - len(sp.encode("A quiet student"))


def test_eval_config_named_sets_and_tasks(tmp_path):
    assert EvalConfig(path="a.jsonl").named_sets == {"eval": "a.jsonl"}
    cfg = EvalConfig(sets={"web": "w.jsonl", "code": ["c1.jsonl", "c2.jsonl"]}, tasks={"arith": "t.jsonl"})
    assert cfg.named_sets == {"web": "w.jsonl", "code": ["c1.jsonl", "c2.jsonl"]}
    assert cfg.task_specs["arith"].delimiter == " "
    assert cfg.all_patterns() == ["w.jsonl", "c1.jsonl", "c2.jsonl", "t.jsonl"]
    with pytest.raises(ValueError, match="either path"):
        EvalConfig(path="a.jsonl", sets={"web": "w.jsonl"})
    with pytest.raises(ValueError, match="reserved"):
        EvalConfig(sets={"avg": "w.jsonl"})
    with pytest.raises(ValueError, match="letters"):
        EvalConfig(tasks={"a.b": "t.jsonl"})
    TrainConfig(eval={"sets": {"web": "w.jsonl"}, "tasks": {"t": {"path": "t.jsonl", "delimiter": ""}}})


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        ({"context": "q", "choices": ["a"], "answer": 0}, "at least two"),
        ({"context": "q", "choices": ["a", "b"], "answer": 2}, "index of a choice"),
        ({"context": 3, "choices": ["a", "b"], "answer": 0}, "context"),
        ({"context": "q", "choices": ["a", ""], "answer": 0}, "empty"),
    ],
)
def test_a_task_item_scoring_cannot_use_is_refused(tmp_path, item, problem):
    import json

    path = tmp_path / "task.jsonl"
    path.write_text(
        json.dumps({"context": "q", "choices": ["a", "b"], "answer": 1}) + "\n" + json.dumps(item) + "\n"
    )
    with pytest.raises(RecipeError, match=rf"train.eval.tasks.t .*item 2 .*{problem}"):
        check_eval_set(EvalConfig(tasks={"t": str(path)}))


def test_flat_metrics_names_tasks_and_added_sets():
    score_json = {
        "metrics": {"bpb": 1.5, "ppl": 9.0, "nll": 2.2},
        "sets": {"eval": {"metrics": {"bpb": 1.5}}, "code": {"metrics": {"bpb": 2.5}, "added": True}},
        "avg": {"bpb": 1.5},
        "tasks": {"arith": {"acc": 0.5, "acc_norm": 0.25, "acc_bytes": 0.25, "bpb": 3.0, "items": 8}},
    }
    assert flat_metrics(score_json) == {
        "bpb": 1.5,
        "ppl": 9.0,
        "nll": 2.2,
        "code.bpb": 2.5,
        "tasks.arith.acc": 0.5,
        "tasks.arith.acc_norm": 0.25,
        "tasks.arith.acc_bytes": 0.25,
        "tasks.arith.bpb": 3.0,
    }
