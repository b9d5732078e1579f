from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from curate.errors import InputError
from curate.train.checkpoint import load_checkpoint
from curate.train.config import EvalConfig
from curate.train.evalset import load_eval_records, read_eval_records
from curate.train.model import GPT, GPTConfig
from curate.train.score import (
    Encoded,
    chatml_encoder,
    length_bias,
    preference_metrics,
    resolve_start_id,
    score,
    score_report,
    sequence_nll,
    write_score_json,
)
from tests.train.conftest import micro_config


@pytest.fixture(scope="module")
def model(trained):
    return load_checkpoint(trained.checkpoint).model


def manual_nll(model: GPT, ids: list[int], target: list[bool] | None = None) -> float:
    """Summed NLL of the targets among ids[1:], by hand: non-overlapping windows of the model's
    context, the last one extended back to a full context."""
    ctx = model.config.seq_len
    target = target or [False] + [True] * (len(ids) - 1)
    total = 0.0
    for a in range(0, len(ids) - 1, ctx):
        b = min(a + ctx, len(ids) - 1)
        lo = max(0, b - ctx)
        with torch.no_grad():
            logits = model(torch.tensor([ids[lo:b]]))[0]
        nll = F.cross_entropy(logits, torch.tensor(ids[lo + 1 : b + 1]), reduction="none")
        keep = torch.tensor(target[lo + 1 : b + 1])
        keep[: a - lo] = False
        total += nll[keep].sum().item()
    return total


def test_perplexity_equals_manual_cross_entropy(model, sp, eval_texts):
    docs = eval_texts[:6]
    start = resolve_start_id(sp, {"eos": sp.eos_id()})
    seqs = [[start, *sp.encode(t)] for t in docs]
    got = score(model, [{"text": t} for t in docs], sp, start_id=start, stride=None)
    total = sum(manual_nll(model, ids) for ids in seqs)
    tokens = sum(len(ids) - 1 for ids in seqs)
    assert max(len(ids) for ids in seqs) > 2 * model.config.seq_len  # several windows per document
    assert got["tokens"] == tokens == sum(len(s) - 1 for s in seqs)
    assert got["nll"] == pytest.approx(total / tokens, rel=1e-5)
    assert got["ppl"] == pytest.approx(math.exp(total / tokens), rel=1e-5)
    n_bytes = sum(len(t.encode()) for t in docs)
    assert got["bytes"] == n_bytes
    assert got["bpb"] == pytest.approx(total / (math.log(2) * n_bytes), rel=1e-5)


def test_short_documents_are_scored_in_one_pass(model, sp):
    start = sp.eos_id()
    text = "The grey cat opened the wooden door."
    ids = [start, *sp.encode(text)]
    assert len(ids) - 1 <= model.config.seq_len
    got = score(model, [{"text": text}], sp, start_id=start)
    assert got["tokens"] == len(ids) - 1
    assert got["nll"] * got["tokens"] == pytest.approx(manual_nll(model, ids), rel=1e-5)


def test_bits_per_byte_of_a_uniform_model(sp):
    """Zero output weights give uniform predictions: NLL = ln V per token exactly, so
    bpb = tokens x log2(V) / bytes, ppl = V."""
    model = GPT(GPTConfig(vocab_size=sp.get_piece_size(), seq_len=16, n_layer=1, n_head=1, n_embd=16))
    with torch.no_grad():
        model.lm_head.weight.zero_()
    text = "héllo wörld, 你好"  # 1-, 2- and 3-byte characters
    n_tokens = len(sp.encode(text))
    got = score(model, [{"text": text}], sp)
    assert got["bytes"] == len(text.encode("utf-8")) == 21
    assert got["tokens"] == n_tokens
    assert got["ppl"] == pytest.approx(sp.get_piece_size(), rel=1e-5)
    assert got["bpb"] == pytest.approx(n_tokens * math.log2(sp.get_piece_size()) / 21, rel=1e-6)


@pytest.mark.parametrize("stride", [None, 5, 16])
def test_long_sequences_score_every_target_once(stride):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=60, seq_len=16, n_layer=1, n_head=2, n_embd=16)).eval()
    ids = torch.randint(0, 60, (70,)).tolist()
    seq = Encoded(ids, [False] + [True] * 69, 0)
    nll, count = sequence_nll(model, [seq], stride=stride, batch_size=3)
    assert count[0] == 69
    # by hand: target p is predicted from the window that scores it, whose context is at most 16
    step = stride or 16
    total = 0.0
    for a in range(0, 69, step):
        b = min(a + step, 69)
        lo = max(0, b - 16)
        with torch.no_grad():
            logits = model(torch.tensor([ids[lo:b]]))[0]
        total += F.cross_entropy(logits[a - lo :], torch.tensor(ids[a + 1 : b + 1]), reduction="sum").item()
    assert nll[0] == pytest.approx(total, rel=1e-6)


@pytest.fixture(scope="module")
def context_model(tmp_path_factory, tokens_dir, sp_path):
    """The micro model trained for 300 steps: by then it uses its context (the shared 150-step
    model barely does: sliding windows gain it ~0.001 nats, either way by chance)."""
    from curate.train.loop import train

    run = train(
        tokens_dir,
        micro_config(steps=300),
        out_dir=tmp_path_factory.mktemp("context"),
        tokenizer_path=sp_path,
        progress=False,
    )
    return load_checkpoint(run.checkpoint).model


def test_overlapping_windows_give_more_context_and_lower_nll(context_model, sp, eval_texts):
    long_doc = {"text": " ".join(eval_texts)}
    plain = score(context_model, [long_doc], sp)
    sliding = score(context_model, [long_doc], sp, stride=8)
    assert plain["tokens"] == sliding["tokens"]
    assert sliding["nll"] < plain["nll"]


def test_chat_scores_only_assistant_tokens(model, sp):
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Who opened the door?"},
        {"role": "assistant", "content": "The grey cat opened the wooden door."},
        {"role": "user", "content": "When?"},
        {"role": "assistant", "content": "At midnight."},
    ]
    enc = chatml_encoder(sp, start_id=sp.eos_id())(messages)
    targets = [i for i, t in zip(enc.ids, enc.target, strict=True) if t]
    im_end = sp.piece_to_id("<|im_end|>")
    assert targets == [*sp.encode(messages[2]["content"]), im_end, *sp.encode(messages[4]["content"]), im_end]
    assert enc.n_bytes == len(messages[2]["content"]) + len(messages[4]["content"])

    got = score(model, [{"messages": messages}], sp, start_id=sp.eos_id())
    assert got["kind"] == "chat"
    assert got["tokens"] == len(targets)
    by_hand = manual_nll(model, enc.ids, enc.target)
    assert got["nll"] * got["tokens"] == pytest.approx(by_hand, rel=1e-5)
    assert got["bpb"] == pytest.approx(by_hand / (math.log(2) * enc.n_bytes), rel=1e-5)


def test_preference_accuracy_and_margin(model, sp, eval_texts):
    pairs = [
        {"prompt": "Tell me a story.", "chosen": text, "rejected": " ".join(w[::-1] for w in text.split())}
        for text in eval_texts[:8]
    ]
    flipped = eval_texts[9]
    pairs.append(
        {
            "prompt": "Tell me a story.",
            "chosen": " ".join(w[::-1] for w in flipped.split()),
            "rejected": flipped,
        }
    )
    got = score(model, pairs, sp, start_id=sp.eos_id())
    assert got["kind"] == "preference"
    assert got["pairs"] == 9
    assert got["pref_accuracy"] == pytest.approx(8 / 9)  # the model knows the corpus's English
    encode = chatml_encoder(sp, start_id=sp.eos_id())
    margins = []
    for p in pairs:
        logp = {}
        for side in ("chosen", "rejected"):
            enc = encode(
                [{"role": "user", "content": p["prompt"]}, {"role": "assistant", "content": p[side]}]
            )
            logp[side] = -manual_nll(model, enc.ids, enc.target)
        margins.append(logp["chosen"] - logp["rejected"])
    assert got["pref_margin"] == pytest.approx(sum(margins) / len(margins), rel=1e-4)
    assert [m > 0 for m in margins] == [True] * 8 + [False]


def test_checkpoint_tokenizer_must_match(trained, sp_path, tmp_path, corpus):
    from tests.train.conftest import train_tokenizer

    other = train_tokenizer([t.upper() for t in corpus], tmp_path / "other")
    records = [{"text": "A quiet student."}]
    assert score(trained.checkpoint, records, sp_path)["tokens"] > 0
    with pytest.raises(Exception, match="not the one checkpoint"):
        score(trained.checkpoint, records, other)
    assert score(trained.checkpoint, records)["tokens"] > 0  # the recorded tokenizer
    with pytest.raises(InputError, match="records none"):
        score(load_checkpoint(trained.checkpoint).model, records)


def test_read_eval_records_from_globs(tmp_path):
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"text": "one"}) + "\n\n" + json.dumps({"text": "two"}) + "\n"
    )
    (tmp_path / "b.jsonl").write_text(json.dumps({"text": "three"}) + "\n")
    assert [r["text"] for r in read_eval_records(tmp_path / "*.jsonl")] == ["one", "two", "three"]
    with pytest.raises(InputError, match="matches no file"):
        read_eval_records(tmp_path / "*.parquet")
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    with pytest.raises(InputError, match=r"bad\.jsonl:1"):
        read_eval_records(tmp_path / "bad.jsonl")


def test_mixed_or_unknown_records_are_errors(model, sp):
    with pytest.raises(InputError, match="mixes record kinds"):
        score(model, [{"text": "a"}, {"messages": [{"role": "user", "content": "b"}]}], sp)
    with pytest.raises(InputError, match="none of text"):
        score(model, [{"body": "a"}], sp)
    with pytest.raises(InputError, match="empty"):
        score(model, [], sp)


def test_score_json_has_the_promised_fields(trained, sp_path, eval_texts, tmp_path):
    metrics = score(trained.checkpoint, [{"text": t} for t in eval_texts[:4]], sp_path)
    path = write_score_json(tmp_path / "score.json", score_report(metrics, trained.to_dict()))
    report = json.loads(path.read_text())
    assert set(report["metrics"]) == {"nll", "ppl", "bpb"}
    assert report["metrics"]["bpb"] == metrics["bpb"]
    assert report["eval"]["tokens"] == metrics["tokens"] and report["eval"]["records"] == 4
    assert report["tokens_seen"] == trained.tokens_seen == 150 * 8 * 32
    assert report["wall_s"] > 0 and report["tokens_per_s"] > 0
    assert report["device"] == "cpu" and report["seed"] == 0
    assert report["n_params"] == trained.n_params


def test_load_eval_records_caps_the_count(tmp_path):
    (tmp_path / "e.jsonl").write_text("".join(json.dumps({"text": f"doc {i}"}) + "\n" for i in range(5)))
    assert len(load_eval_records(EvalConfig(path=str(tmp_path / "*.jsonl"), max_records=3))) == 3
    assert len(load_eval_records(EvalConfig(path=[str(tmp_path / "e.jsonl")]))) == 5
    with pytest.raises(InputError, match=r"train\.eval\.path"):
        load_eval_records(EvalConfig())


def test_preference_metrics_per_token_and_per_byte_by_hand():
    # two pairs: (chosen, rejected) summed NLL, target tokens, bytes
    # pair 1: chosen logp -12 over 6 tokens / 24 bytes, rejected logp -4 over 1 token / 2 bytes
    # pair 2: chosen logp -3 over 3 tokens / 12 bytes, rejected logp -5 over 2 tokens / 10 bytes
    nll = np.array([12.0, 4.0, 3.0, 5.0])
    count = np.array([6, 1, 3, 2])
    n_bytes = np.array([24, 2, 12, 10])
    got = preference_metrics(nll, count, n_bytes)
    # summed margins: -12 - -4 = -8 (wrong), -3 - -5 = 2 (right)
    assert got["pref_accuracy"] == 0.5
    assert got["pref_margin"] == pytest.approx((-8 + 2) / 2)
    # per token: -2 - -4 = 2 (right), -1 - -2.5 = 1.5 (right)
    assert got["pref_accuracy_per_token"] == 1.0
    assert got["pref_margin_per_token"] == pytest.approx((2 + 1.5) / 2)
    # per byte: -0.5 - -2 = 1.5 (right), -0.25 - -0.5 = 0.25 (right)
    assert got["pref_accuracy_per_byte"] == 1.0
    assert got["pref_margin_per_byte"] == pytest.approx((1.5 + 0.25) / 2)
    # length bias: chosen longer in both pairs; ratios 24/2 = 12 and 12/10 = 1.2
    assert got["pref_chosen_longer"] == 1.0
    assert got["pref_length_ratio"] == pytest.approx((12 + 1.2) / 2)
    assert got["pairs"] == 2


def test_length_bias_of_balanced_and_skewed_pairs():
    assert length_bias([10, 5], [5, 10]) == {"pref_chosen_longer": 0.5, "pref_length_ratio": 1.25}
    assert length_bias([3, 3], [3, 3])["pref_chosen_longer"] == 0.0  # equal is not longer
    assert length_bias([1, 2, 3, 4], [8, 8, 8, 1])["pref_chosen_longer"] == 0.25


def test_preference_score_reports_normalised_margins_and_length_bias(model, sp):
    pairs = [
        {
            "prompt": "Say something.",
            "chosen": "A quiet student reads a long book in the library.",
            "rejected": "No.",
        },
        {
            "prompt": "Say something.",
            "chosen": "Yes.",
            "rejected": "The old man walks slowly along the river.",
        },
    ]
    got = score(model, pairs, sp, start_id=sp.eos_id())
    encode = chatml_encoder(sp, start_id=sp.eos_id())
    per_token = []
    for p in pairs:
        mean = {}
        for side in ("chosen", "rejected"):
            enc = encode(
                [{"role": "user", "content": p["prompt"]}, {"role": "assistant", "content": p[side]}]
            )
            mean[side] = -manual_nll(model, enc.ids, enc.target) / sum(enc.target)
        per_token.append(mean["chosen"] - mean["rejected"])
    assert got["pref_margin_per_token"] == pytest.approx(sum(per_token) / 2, rel=1e-4)
    assert got["pref_chosen_longer"] == 0.5
    assert got["pref_length_ratio"] == pytest.approx(
        (len(pairs[0]["chosen"]) / 3 + 4 / len(pairs[1]["rejected"])) / 2
    )
    report = score_report(got)
    assert report["metrics"]["pref_accuracy_per_byte"] == got["pref_accuracy_per_byte"]
    assert report["eval"]["pref_chosen_longer"] == 0.5


def test_score_report_names_the_score_and_keeps_the_periodic_eval_apart():
    train = {"tokens_seen": 1000, "last_eval": {"ppl": 130.9, "nll": 4.87, "records": 64}, "seed": 0}
    report = score_report({"ppl": 192.0, "nll": 5.26, "records": 150}, train)
    assert report["metrics"]["ppl"] == 192.0  # the score
    assert report["last_periodic_eval"] == {"ppl": 130.9, "nll": 4.87, "records": 64}
    assert "last_eval" not in report["train"]
    assert "metrics: the score" in report["about"] and "not the score" in report["about"]
    # one perplexity per clearly named place: nowhere else in the report
    found = []

    def walk(value, path):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{path}.{k}")
        elif path.endswith(".ppl"):
            found.append(path)

    walk(report, "")
    assert sorted(found) == [".last_periodic_eval.ppl", ".metrics.ppl"]


def test_score_json_carries_the_eval_sets_bootstrap_interval_which_narrows_with_more_documents(
    trained, sp_path, tmp_path
):
    from curate.train.evalset import eval_noise
    from curate.train.score import sets_report
    from tests.train.conftest import documents

    docs = [{"text": t} for t in documents(160, seed=98)]
    few = score(trained.checkpoint, docs[:10], sp_path)
    many = score(trained.checkpoint, docs, sp_path)
    for m in (few, many):
        assert m["bpb_low"] < m["bpb"] < m["bpb_high"]
        assert m["bpb_ci95"] == pytest.approx((m["bpb_high"] - m["bpb_low"]) / 2)
    assert few["bootstrap_docs"] == 10 and many["bootstrap_docs"] == 160
    assert many["bpb_ci95"] < few["bpb_ci95"] / 2  # 16x the documents: about a quarter of the width
    report = json.loads(write_score_json(tmp_path / "score.json", score_report(many)).read_text())
    assert report["eval"]["bpb_low"] == many["bpb_low"] and report["eval"]["bpb_high"] == many["bpb_high"]
    assert "bpb_low" not in report["metrics"]  # not a metric of its own on the leaderboard
    assert eval_noise(report) == {"bpb": many["bpb_ci95"]}
    both = sets_report({"web": many, "more": few})
    noise = eval_noise(both)
    assert noise["web.bpb"] == many["bpb_ci95"] and noise["more.bpb"] == few["bpb_ci95"]
    assert noise["avg.bpb"] == pytest.approx(math.hypot(many["bpb_ci95"], few["bpb_ci95"]) / 2)


def test_preference_bootstrap_is_over_the_chosen_responses(model, sp):
    from curate.train.score import bpb_interval, encode_records, summarize

    pairs = [
        {"prompt": f"Item {i}?", "chosen": f"A fine answer number {i}.", "rejected": "No."} for i in range(12)
    ]
    kind, seqs = encode_records(pairs, sp, start_id=sp.eos_id())
    nll, count = sequence_nll(model, seqs)
    interval = bpb_interval(kind, seqs, nll)
    assert interval["bootstrap_docs"] == 12
    assert interval["bpb_low"] <= summarize(kind, seqs, nll, count)["bpb"] <= interval["bpb_high"]
