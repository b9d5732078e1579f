"""Memory bounds checked before work: the estimate against a real measurement, and refusals."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.errors import RecipeError
from curate.exec.pipe import check_recipe
from curate.recipe import parse_recipe
from curate.train.config import ModelOverrides, TrainConfig
from curate.train.loop import train
from curate.train.memory import available_ram, check_memory, train_memory
from tests.conftest import REPO, write_jsonl
from tests.train.conftest import micro_config

# A few real training steps in a fresh interpreter; prints the peak RSS in bytes. VmHWM, not
# getrusage's ru_maxrss: that one keeps the high-water mark of the forked parent across exec, so a
# big pytest process (late in a full run) would be measured instead of the training.
MEASURE = """
import re, sys, torch
from curate.train.data import Batch
from curate.train.loop import make_optimizer, train_step
from curate.train.model import GPT, GPTConfig
B, T, V, L, C = (int(x) for x in sys.argv[1:6])
torch.set_num_threads(1)
model = GPT(GPTConfig(vocab_size=V, seq_len=T, n_layer=L, n_head=C // 32, n_embd=C))
opt = make_optimizer(model, lr=1e-3, weight_decay=0.1, betas=(0.9, 0.95), device=torch.device("cpu"))
batch = Batch(x=torch.randint(0, V, (B, T)), y=torch.randint(0, V, (B, T)), n_targets=B * T)
for _ in range(2):
    train_step(model, model, opt, [batch], lr=1e-3, clip=1.0, amp=None)
status = open("/proc/self/status").read()
print(int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) * 1024)
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="reads VmHWM from /proc/self/status (Linux)")
@pytest.mark.parametrize(("batch", "context"), [(8, 128), (32, 256)])
def test_the_training_estimate_is_near_the_measured_peak(batch, context):
    vocab, layers, width = 4000, 4, 128
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *map(str, (batch, context, vocab, layers, width))],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    peak = int(done.stdout.split()[-1])
    cfg = TrainConfig(
        batch_size=batch, model=ModelOverrides(n_layer=layers, n_embd=width, n_head=width // 32)
    )
    estimate = train_memory(cfg, vocab_size=vocab, seq_len=context + 1).total
    assert 1 / 1.5 < estimate / peak < 1.5, (estimate, peak)


# The same for a Hugging Face model: argv = model directory, batch, context, LoRA dropout or "none".
MEASURE_HF = """
import re, sys, torch
from curate.train.data import Batch
from curate.train.loop import make_optimizer, train_step
from curate.train.models.hf import HFCausalLM, HFModelConfig
directory, B, T, lora = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
torch.set_num_threads(1)
lora = None if lora == "none" else {"r": 16, "dropout": float(lora)}
model = HFCausalLM(HFModelConfig(path=directory, seq_len=T, lora=lora)).train()
V = model.config.vocab_size
opt = make_optimizer(model, lr=1e-3, weight_decay=0.1, betas=(0.9, 0.95), device=torch.device("cpu"))
pos = torch.arange(T).remainder(T // 4).expand(B, T).contiguous()  # four packed documents a row
batch = Batch(x=torch.randint(0, V, (B, T)), y=torch.randint(0, V, (B, T)), n_targets=B * T, pos=pos)
for _ in range(2):
    train_step(model, model, opt, [batch], lr=1e-3, clip=1.0, amp=None)
status = open("/proc/self/status").read()
print(int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) * 1024)
"""
HF_MODEL, HF_TOKENIZER = REPO / "sample_data" / "hf-model", REPO / "sample_data" / "hf-tokenizer"


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="reads VmHWM from /proc/self/status (Linux)")
@pytest.mark.parametrize(
    ("model", "batch", "context", "lora"),
    [("sample", 16, 256, None), ("wider", 8, 128, 0.05)],
    ids=["sample-full", "wider-lora"],
)
def test_the_hf_estimate_is_near_the_measured_peak(model, batch, context, lora, tmp_path):
    pytest.importorskip("transformers")
    pytest.importorskip("peft")
    from curate.train.config import LoraConfig
    from curate.train.memory import hf_train_memory
    from curate.train.models.testing import build_tiny_model

    directory = HF_MODEL  # 2 layers of width 32: the runtime dominates
    if model == "wider":  # 4 layers of width 256: weights and activations matter
        directory = build_tiny_model(
            tmp_path / "m", tokenizer=HF_TOKENIZER, arch="qwen2", hidden=256, layers=4, heads=4
        )
    done = subprocess.run(
        [sys.executable, "-c", MEASURE_HF, str(directory), str(batch), str(context), str(lora or "none")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    peak = int(done.stdout.split()[-1])
    cfg = TrainConfig(
        init_from=f"hf:{directory}",
        batch_size=batch,
        lora=None if lora is None else LoraConfig(r=16, dropout=lora),
        device="cpu",
    )
    estimate = hf_train_memory(cfg, directory=directory, seq_len=context + 1).total
    # measured within 0.93x to 1.06x over 15 shapes (width 32 to 512, full, LoRA, checkpointing)
    assert 1 / 1.25 < estimate / peak < 1.25, (estimate, peak)


def test_the_hf_parameter_count_is_read_from_the_safetensors_header():
    pytest.importorskip("transformers")
    from transformers import AutoModelForCausalLM

    from curate.train.memory import hf_shape, safetensors_params

    model = AutoModelForCausalLM.from_pretrained(str(HF_MODEL), local_files_only=True)
    stored = safetensors_params(HF_MODEL)
    assert stored == sum(p.numel() for p in model.parameters())  # tied embeddings counted once
    assert hf_shape(HF_MODEL)["params"] == stored


def _recipe(tmp_path, *, tokenize: str = "seq_len: 64", train: str = "batch_size: 8"):
    write_jsonl(tmp_path / "data.jsonl", [{"text": f"document {i} about the river"} for i in range(20)])
    text = (
        f"name: m\nsources: [{{name: web, path: {tmp_path / 'data.jsonl'}}}]\n"
        f"stages:\n  - tokenize: {{{tokenize}}}\ntrain: {{device: cpu, {train}}}\n"
    )
    (tmp_path / "r.yaml").write_text(text)
    return parse_recipe(text)


def test_a_recipe_that_fits_passes(tmp_path):
    check_memory(_recipe(tmp_path), ram=available_ram() or 8e9)


@pytest.mark.parametrize(
    ("tokenize", "train", "says"),
    [
        ("seq_len: 512", "batch_size: 100000", "training would need about"),
        ("seq_len: 100000", "batch_size: 16", "training would need about"),
        ("seq_len: 100000, pack_window: 1000000", "batch_size: 1", "packing would need about"),
    ],
)
def test_absurd_configs_are_refused_by_validate_with_the_estimate_and_the_limit(
    tmp_path, tokenize, train, says
):
    recipe = _recipe(tmp_path, tokenize=tokenize, train=train)
    with pytest.raises(RecipeError, match=says):
        check_memory(recipe, ram=16e9)
    with pytest.raises(RecipeError, match=says):
        check_recipe(recipe)  # what `curate validate` and the start of `curate run` call
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "r.yaml")])
    assert result.exit_code == 2, result.output
    assert says in result.output and "GB" in result.output and "MemAvailable" in result.output


def test_the_trainer_refuses_too_before_building_the_model(tokens_dir, tmp_path):
    cfg = micro_config(batch_size=10_000_000, steps=2)
    with pytest.raises(RecipeError, match=r"training would need about .* lower train\.batch_size"):
        train(tokens_dir, cfg, out_dir=tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / "checkpoint.pt").exists()


def _hf_recipe(tmp_path, train: str):
    return _recipe(
        tmp_path,
        tokenize=f"hf: {HF_TOKENIZER}, seq_len: 257",
        train=f"init_from: 'hf:{HF_MODEL}', {train}",
    )


def test_an_hf_model_is_estimated_and_an_impossible_batch_refused(tmp_path):
    from curate.train.memory import hf_train_memory

    check_memory(_hf_recipe(tmp_path, "batch_size: 8"), ram=16e9)
    recipe = _hf_recipe(tmp_path, "batch_size: 100000")
    estimate = hf_train_memory(recipe.train, directory=HF_MODEL, seq_len=257)
    assert estimate.total > 16e9 and estimate.parts["activations"] > 0.9 * estimate.total
    with pytest.raises(RecipeError, match="training would need about") as err:
        check_memory(recipe, ram=16e9)
    assert "train.gradient_checkpointing: true" in str(err.value) and "train.lora" in str(err.value)
    # LoRA keeps AdamW state for the adapter only: less than full fine-tuning of the same model
    lora = _hf_recipe(tmp_path, "batch_size: 1, lora: {dropout: 0.0}").train
    full = _hf_recipe(tmp_path, "batch_size: 1").train
    assert (
        hf_train_memory(lora, directory=HF_MODEL, seq_len=257).parts["adapter, gradients and AdamW state"]
        < hf_train_memory(full, directory=HF_MODEL, seq_len=257).parts[
            "parameters, gradients and AdamW state"
        ]
    )


def test_estimate_parts_are_reported(tmp_path):
    estimate = train_memory(TrainConfig(batch_size=16), vocab_size=8000, seq_len=513)
    described = estimate.describe()
    assert "parameters, gradients and AdamW state" in described and "activations" in described
    json.dumps(estimate.parts)  # plain numbers, for stats
