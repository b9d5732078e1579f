from __future__ import annotations

import json
import shutil

import pytest
import torch
from pydantic import ValidationError

from curate.errors import RecipeError
from curate.train.base import base_checkpoint, base_train_config
from curate.train.checkpoint import load_checkpoint
from curate.train.loop import (
    TrainConfig,
    lr_at,
    resolve_device,
    resolve_dtype,
    train,
)
from tests.train.conftest import micro_config


def test_same_seed_same_losses_bit_for_bit(tokens_dir, tmp_path):
    cfg = micro_config(steps=12, model={"n_layer": 2, "n_head": 2, "n_embd": 32, "dropout": 0.1})
    a = train(tokens_dir, cfg, out_dir=tmp_path / "a", progress=False)
    b = train(tokens_dir, cfg, out_dir=tmp_path / "b", progress=False)
    assert a.losses == b.losses
    c = train(tokens_dir, cfg.model_copy(update={"seed": 1}), out_dir=tmp_path / "c", progress=False)
    assert c.losses != a.losses
    sa, sb = (
        load_checkpoint(a.checkpoint).model.state_dict(),
        load_checkpoint(b.checkpoint).model.state_dict(),
    )
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_loss_goes_down_and_metrics_are_logged(trained):
    assert trained.losses[-1] < trained.losses[0] - 1.5
    rows = [json.loads(line) for line in trained.metrics_path.read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(5, 151, 5))
    first = rows[0]
    assert set(first) == {"kind", "step", "loss", "lr", "grad_norm", "tokens", "tokens_per_s", "elapsed"}
    assert first["tokens"] == 5 * 8 * 32
    assert first["loss"] == pytest.approx(trained.losses[4])
    assert trained.tokens_seen == 150 * 8 * 32 and trained.n_params > 0


def test_resume_from_a_midway_checkpoint(tokens_dir, tmp_path, monkeypatch):
    cfg = micro_config(steps=16, checkpoint_every=8, log_every=1)
    full = train(tokens_dir, cfg, out_dir=tmp_path / "full", progress=False)

    import curate.train.loop as loop

    class Stop(Exception):
        pass

    real_save = loop.save_checkpoint

    def save_then_die(path, model, *, step, **kw):
        real_save(path, model, step=step, **kw)
        if step == 8:
            raise Stop

    monkeypatch.setattr(loop, "save_checkpoint", save_then_die)
    with pytest.raises(Stop):
        train(tokens_dir, cfg, out_dir=tmp_path / "run", progress=False)
    monkeypatch.setattr(loop, "save_checkpoint", real_save)
    resumed = train(tokens_dir, cfg, out_dir=tmp_path / "run", progress=False)
    assert resumed.start_step == 8
    assert resumed.losses == full.losses[8:]
    steps = [
        json.loads(line)["step"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    ]
    assert steps == list(range(1, 17))
    # a changed config does not resume from the old checkpoint
    other = train(tokens_dir, cfg.model_copy(update={"lr": 1e-3}), out_dir=tmp_path / "run", progress=False)
    assert other.start_step == 0


def test_grad_accumulation_matches_a_bigger_batch(tokens_dir, tmp_path):
    big = train(tokens_dir, micro_config(steps=4, batch_size=8), out_dir=tmp_path / "big", progress=False)
    acc = train(
        tokens_dir,
        micro_config(steps=4, batch_size=4, grad_accum=2),
        out_dir=tmp_path / "acc",
        progress=False,
    )
    assert acc.losses == pytest.approx(big.losses, rel=1e-4)


def test_periodic_evals_are_logged(tokens_dir, sp_path, eval_texts, tmp_path):
    cfg = micro_config(steps=10, eval_every=5, eval={"periodic_records": 4})
    result = train(
        tokens_dir,
        cfg,
        out_dir=tmp_path,
        tokenizer_path=sp_path,
        eval_records=[{"text": t} for t in eval_texts],
        progress=False,
    )
    evals = [json.loads(line) for line in result.metrics_path.read_text().splitlines() if '"eval"' in line]
    assert [e["step"] for e in evals] == [5, 10]
    assert all(e["records"] == 4 and e["bpb"] > 0 for e in evals)
    assert result.last_eval["nll"] == evals[-1]["nll"]


def test_periodic_evals_score_every_named_set(tokens_dir, sp_path, eval_texts, tmp_path):
    from curate.report import plots

    cfg = micro_config(steps=4, eval_every=2, eval={"periodic_records": 4})
    sets = {
        "near": [{"text": t} for t in eval_texts],
        "far": [{"text": "zq xv " * 12 + str(i)} for i in range(4)],
    }

    def evals(records, out):
        result = train(
            tokens_dir,
            cfg,
            out_dir=tmp_path / out,
            tokenizer_path=sp_path,
            eval_records=records,
            progress=False,
        )
        lines = result.metrics_path.read_text().splitlines()
        return [json.loads(line) for line in lines if '"eval"' in line]

    both = evals(sets, "both")
    assert [e["step"] for e in both] == [2, 4]
    for row in both:
        assert set(row["sets"]) == {"near", "far"}
        assert row["nll"] == pytest.approx((row["sets"]["near"]["nll"] + row["sets"]["far"]["nll"]) / 2)
        assert row["sets"]["near"]["bpb"] != row["sets"]["far"]["bpb"]
    # each set's curve is what scoring that set alone during the same training gives
    alone = evals(sets["far"], "far")
    assert [e["bpb"] for e in alone] == pytest.approx([e["sets"]["far"]["bpb"] for e in both], rel=1e-6)
    train_rows = [{"step": s, "loss": 5.0 - s, "lr": 1e-3} for s in (1, 2, 3, 4)]
    assert plots.training(train_rows, both)  # the report draws one curve per set


def test_fine_tune_from_a_checkpoint_starts_where_it_ended(trained, tokens_dir, sp_path, tmp_path):
    cfg = micro_config(steps=3, init_from=str(trained.checkpoint), lr=1e-4)
    tuned = train(tokens_dir, cfg, out_dir=tmp_path, tokenizer_path=sp_path, progress=False)
    assert tuned.losses[0] < trained.losses[0] - 1.5
    assert tuned.losses[0] == pytest.approx(trained.losses[-1], abs=0.5)
    clash = micro_config(init_from=str(trained.checkpoint), model={"n_layer": 3})
    with pytest.raises(RecipeError, match="keeps its checkpoint's architecture"):
        train(tokens_dir, clash, out_dir=tmp_path / "x", progress=False)


def test_base_model_is_trained_once_and_cached(tokens_dir, sp_path, tmp_path):
    cfg = base_train_config(micro_config(init_from="base:web", base_steps=3))
    assert cfg.steps == 3 and cfg.init_from == "scratch"
    path = base_checkpoint("web", tokens_dir, cfg, tokenizer_path=sp_path, cache_dir=tmp_path, progress=False)
    assert path.exists() and load_checkpoint(path).step == 3
    mtime = path.stat().st_mtime_ns
    assert (
        base_checkpoint("web", tokens_dir, cfg, tokenizer_path=sp_path, cache_dir=tmp_path, progress=False)
        == path
    )
    assert path.stat().st_mtime_ns == mtime  # not retrained
    assert base_train_config(micro_config(init_from="base:web", base_steps=3, seed=4, lr=1e-5)) == cfg
    other = base_checkpoint(
        "web",
        tokens_dir,
        cfg.model_copy(update={"seed": 5}),
        tokenizer_path=sp_path,
        cache_dir=tmp_path,
        progress=False,
    )
    assert other != path
    with pytest.raises(RecipeError, match="base_checkpoint"):
        train(tokens_dir, micro_config(init_from="base:web"), out_dir=tmp_path / "ft", progress=False)
    ft = train(
        tokens_dir,
        micro_config(init_from="base:web", steps=2),
        out_dir=tmp_path / "ft",
        init=path,
        progress=False,
    )
    assert ft.step == 2


def test_lr_schedule():
    cfg = TrainConfig(steps=100, lr=1e-3, warmup=10)
    assert lr_at(0, cfg) == pytest.approx(1e-4)
    assert lr_at(9, cfg) == pytest.approx(1e-3)
    assert lr_at(10, cfg) == pytest.approx(1e-3)
    assert lr_at(55, cfg) == pytest.approx((1e-3 + 1e-4) / 2)
    assert lr_at(100, cfg) == pytest.approx(1e-4)
    assert TrainConfig(steps=300).warmup_steps == 30


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"preset": "huge"}, "unknown preset"),
        ({"device": "tpu"}, "unknown device"),
        ({"init_from": "base:"}, "base model name"),
        ({"lr": 1e-3, "min_lr": 1e-2}, "above lr"),
        ({"steps": 10, "warmup": 20}, "longer than the run"),
        ({"stpes": 10}, "Extra inputs"),
        ({"model": {"n_layers": 2}}, "Extra inputs"),
    ],
)
def test_config_errors_name_the_field(bad, message):
    with pytest.raises(ValidationError, match=message):
        TrainConfig(**bad)


def test_recipe_block_shape_parses():
    cfg = TrainConfig(
        **{
            "preset": "tiny",
            "steps": 300,
            "batch_size": 16,
            "lr": 3.0e-4,
            "init_from": "scratch",
            "eval": {"path": "sample_data/eval/*.jsonl"},
        }
    )
    assert cfg.eval.path == "sample_data/eval/*.jsonl"
    assert all(field.description for field in TrainConfig.model_fields.values())


def test_cpu_device_and_dtype():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_dtype("auto", torch.device("cpu")) is None
    if not torch.cuda.is_available():
        assert resolve_device("auto") in (torch.device("cpu"), torch.device("mps"))
        with pytest.raises(RecipeError, match="no CUDA"):
            resolve_device("cuda")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("cc") is None, reason="torch.compile's CPU backend needs a C compiler")
# torch's own dynamo/inductor code raises DeprecationWarnings (jit.script_method, autograd.Function)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_compiled_training_on_cpu_matches_eager(tokens_dir, tmp_path):
    compiled = train(tokens_dir, micro_config(steps=8, compile=True), out_dir=tmp_path / "c", progress=False)
    eager = train(tokens_dir, micro_config(steps=8), out_dir=tmp_path / "e", progress=False)
    assert compiled.losses == pytest.approx(eager.losses, rel=1e-4)
    ckpt = load_checkpoint(compiled.checkpoint)  # saved from the module, not the compiled wrapper
    assert not any(k.startswith("_orig_mod") for k in ckpt.model.state_dict())


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_bf16_compiled_training(tokens_dir, sp_path, eval_texts, tmp_path):
    cfg = micro_config(steps=30, device="cuda", compile=True, eval_every=0)
    result = train(
        tokens_dir,
        cfg,
        out_dir=tmp_path,
        tokenizer_path=sp_path,
        eval_records=[{"text": t} for t in eval_texts],
        progress=False,
    )
    assert result.device.startswith("cuda") and result.dtype == "bfloat16"
    assert result.losses[-1] < result.losses[0]
    ckpt = load_checkpoint(result.checkpoint)
    assert not any(k.startswith("_orig_mod") for k in ckpt.model.state_dict())


def test_one_seed_gives_one_initialisation_whatever_the_data(tokens_dir, sp, tmp_path):
    """A sweep pairs its variants by seed: a variant with other data (other documents, another
    number of rows, one vocabulary) starts from the very weights of the same seed."""
    from curate.io.tokens import open_tokens
    from curate.train.loop import build_model
    from tests.train.conftest import documents, pack_documents

    other = pack_documents(sp, documents(90, seed=41), tmp_path / "other", seq_len=33)
    mine, theirs = open_tokens(tokens_dir).index, open_tokens(other).index
    assert mine.num_rows != theirs.num_rows and mine.vocab_size == theirs.vocab_size
    cfg = micro_config(seed=3)
    a, b = build_model(cfg, mine).state_dict(), build_model(cfg, theirs).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = build_model(cfg.model_copy(update={"seed": 4}), mine).state_dict()
    assert not all(torch.equal(a[k], c[k]) for k in a)
