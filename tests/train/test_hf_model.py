"""Fine-tuning a Hugging Face causal LM in curate's loop (``init_from: hf:PATH``): tiny random
Llama and Qwen2 models (2 layers, hidden 64) with the fixture tokenizers, built offline."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("transformers")
pytest.importorskip("peft")

import torch

from curate.errors import RecipeError
from curate.io.tokens import TokenWriter
from curate.tokenize.hf import HFTokenizer, read_files
from curate.train.config import LoraConfig, TrainConfig
from curate.train.models.hf_dir import check_tokenizer, lora_targets, resolve_model_dir
from curate.train.models.testing import build_tiny_model
from tests.tokenize.hf_fixtures import hf_llama3, hf_qwen  # noqa: F401
from tests.train.conftest import documents

SEQ_LEN = 33


def pack_hf(
    tokenizer: Path, texts: list[str], out: Path, *, seq_len: int = SEQ_LEN, rows: int | None = None
) -> Path:
    """Documents encoded by the tokenizer (its bos/eos), concatenated and cut into rows, with the
    document starts: what the tokenize stage writes for pretraining."""
    tok = HFTokenizer(read_files(tokenizer))
    ids, _, lengths = tok.encode_documents(texts)
    n = ids.size // seq_len if rows is None else rows
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    with TokenWriter(out, vocab_size=tok.vocab_size, seq_len=seq_len, special_ids=tok.ids_info()) as w:
        w.write(ids[: n * seq_len].reshape(n, seq_len), np.ones((n, seq_len), dtype=np.uint8))
        w.add_doc_starts(starts[starts < n * seq_len])
    return out


@pytest.fixture(scope="module", params=["llama", "qwen2"])
def arch(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def tokenizer(arch, hf_llama3, hf_qwen) -> Path:  # noqa: F811
    return hf_llama3 if arch == "llama" else hf_qwen


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, arch, tokenizer) -> Path:
    # weights of std 0.1: with the default 0.02 a frozen output layer keeps a LoRA near uniform logits
    return build_tiny_model(
        tmp_path_factory.mktemp(arch) / "model", tokenizer=tokenizer, arch=arch, init_range=0.1
    )


@pytest.fixture(scope="module")
def tokens(tmp_path_factory, tokenizer) -> Path:
    return pack_hf(tokenizer, documents(60), tmp_path_factory.mktemp("tokens"))


@pytest.fixture(scope="module")
def one_batch(tmp_path_factory, tokenizer) -> Path:
    """Four rows: a batch of four sees the same rows at every step."""
    return pack_hf(tokenizer, documents(20), tmp_path_factory.mktemp("tokens4"), rows=4)


def hf_config(model_dir: Path, **kw) -> TrainConfig:
    base = dict(
        init_from=f"hf:{model_dir}", steps=8, batch_size=4, lr=3e-3, warmup=1, eval_every=0, log_every=1
    )
    return TrainConfig(**{**base, **kw})


def run(tokens: Path, cfg: TrainConfig, out: Path, tokenizer: Path):
    from curate.train.loop import train

    return train(tokens, cfg, out_dir=out, tokenizer_path=tokenizer, progress=False)


@pytest.mark.parametrize("lora", [None, LoraConfig(r=8, dropout=0.0)], ids=["full", "lora"])
def test_loss_falls_on_a_repeated_batch(one_batch, model_dir, tokenizer, tmp_path, lora):
    lr = 3e-3 if lora is None else 2e-2
    result = run(one_batch, hf_config(model_dir, steps=12, lr=lr, lora=lora), tmp_path / "run", tokenizer)
    assert result.losses[-1] < 0.8 * result.losses[0]
    # the trained weights as transformers / peft load them, with the tokenizer next to them
    exported = Path(result.hf_dir)
    assert (exported / "tokenizer.json").is_file()
    assert (exported / ("adapter_config.json" if lora else "config.json")).is_file()


def test_lora_changes_only_the_adapter_and_loads_with_peft(one_batch, model_dir, tokenizer, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from curate.train.checkpoint import load_checkpoint

    cfg = hf_config(model_dir, steps=5, lr=1e-2, lora=LoraConfig(r=4, dropout=0.0))
    result = run(one_batch, cfg, tmp_path / "run", tokenizer)
    tuned = load_checkpoint(result.checkpoint).model
    base = AutoModelForCausalLM.from_pretrained(str(model_dir), local_files_only=True, dtype=torch.float32)
    base_state = base.state_dict()
    changed, lora_names = [], []
    for name, value in tuned.lm.state_dict().items():
        if "lora_" in name:
            lora_names.append(name)
            continue
        key = name.replace("base_model.model.", "").replace(".base_layer", "")
        if not torch.equal(value, base_state[key]):
            changed.append(name)
    assert lora_names and not changed
    assert any(tuned.lm.state_dict()[n].abs().sum() > 0 for n in lora_names if "lora_B" in n)
    # only the adapter is in the checkpoint
    state = torch.load(result.checkpoint, weights_only=True)["model"]
    assert state and all("lora_" in k for k in state)
    # the saved adapter on the base gives the model's logits
    x = torch.tensor([[3, 17, 99, 5, 250, 8]])
    with warnings.catch_warnings():  # peft 0.21 reads transformers' deprecated is_gradient_checkpointing
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        loaded = PeftModel.from_pretrained(base, result.hf_dir).eval()
    with torch.no_grad():
        assert torch.allclose(loaded(input_ids=x).logits, tuned(x), atol=1e-5)


def test_full_fine_tune_saves_a_loadable_model(one_batch, model_dir, tokenizer, tmp_path):
    from transformers import AutoModelForCausalLM

    from curate.train.checkpoint import load_checkpoint

    result = run(one_batch, hf_config(model_dir, steps=3), tmp_path / "run", tokenizer)
    tuned = load_checkpoint(result.checkpoint).model
    loaded = AutoModelForCausalLM.from_pretrained(result.hf_dir, local_files_only=True, dtype=torch.float32)
    x = torch.tensor([[3, 17, 99, 5, 250, 8]])
    with torch.no_grad():
        assert torch.allclose(loaded(input_ids=x).logits, tuned(x), atol=1e-5)
        base = AutoModelForCausalLM.from_pretrained(
            str(model_dir), local_files_only=True, dtype=torch.float32
        )
        assert not torch.allclose(base(input_ids=x).logits, tuned(x), atol=1e-3)


@pytest.mark.parametrize("lora", [None, LoraConfig(r=4)], ids=["full", "lora"])
def test_kill_and_resume_gives_the_uninterrupted_weights(
    tokens, model_dir, tokenizer, tmp_path, monkeypatch, lora
):
    import curate.train.loop as loop

    cfg = hf_config(model_dir, steps=6, checkpoint_every=3, lora=lora)  # lora dropout 0.05: RNG restored
    full = run(tokens, cfg, tmp_path / "full", tokenizer)

    class Stop(Exception):
        pass

    real_save = loop.save_checkpoint

    def save_then_die(path, model, *, step, **kw):
        real_save(path, model, step=step, **kw)
        if step == 3:
            raise Stop

    monkeypatch.setattr(loop, "save_checkpoint", save_then_die)
    with pytest.raises(Stop):
        run(tokens, cfg, tmp_path / "run", tokenizer)
    monkeypatch.setattr(loop, "save_checkpoint", real_save)
    resumed = run(tokens, cfg, tmp_path / "run", tokenizer)
    assert resumed.start_step == 3
    assert resumed.losses == full.losses[3:]
    a = torch.load(full.checkpoint, weights_only=True)["model"]
    b = torch.load(resumed.checkpoint, weights_only=True)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_packed_row_logits_equal_each_document_alone(model_dir, tokenizer):
    from curate.train.data import document_positions
    from curate.train.models.hf import HFCausalLM, HFModelConfig

    model = HFCausalLM(HFModelConfig(path=str(model_dir), seq_len=64)).eval()
    tok = HFTokenizer(read_files(tokenizer))
    docs = [tok.encode_documents([t])[0].astype(np.int64) for t in documents(3, seed=5)]
    row = np.concatenate(docs)[None, :]
    starts = np.cumsum([0] + [d.size for d in docs[:-1]])
    pos = document_positions(np.array([0]), starts.astype(np.uint64), row.shape[1] + 1)
    assert pos[0, starts[1]] == 0 and pos[0, starts[1] - 1] == docs[0].size - 1
    with torch.no_grad():
        packed = model(torch.from_numpy(row), position_ids=torch.from_numpy(pos))[0]
        unpacked = model(torch.from_numpy(row))[0]  # one causal sequence: documents see each other
        for doc, start in zip(docs, starts, strict=True):
            alone = model(torch.from_numpy(doc)[None])[0]
            assert torch.allclose(packed[start : start + doc.size], alone, atol=1e-5)
        later = slice(starts[1], starts[1] + docs[1].size)
        assert not torch.allclose(unpacked[later], packed[later], atol=1e-3)


def test_document_positions_restart_at_document_starts():
    from curate.train.data import document_positions

    # rows of 6 tokens (5 inputs): documents start at 0, 3, 8 (row 1, position 2) and 13 (row 2, 1)
    pos = document_positions(np.array([1, 0, 2]), np.array([0, 3, 8, 13], dtype=np.uint64), 6)
    assert pos.tolist() == [[0, 1, 0, 1, 2], [0, 1, 2, 0, 1], [0, 0, 1, 2, 3]]


def test_a_mismatched_tokenizer_is_refused(model_dir, arch, hf_llama3, hf_qwen, tmp_path):  # noqa: F811
    other = hf_qwen if arch == "llama" else hf_llama3
    with pytest.raises(RecipeError, match=r"is not the tokenizer of train\.init_from") as err:
        check_tokenizer(model_dir, other, spec=str(model_dir))
    assert str(other) in str(err.value) and str(model_dir) in str(err.value)
    check_tokenizer(model_dir, model_dir, spec=str(model_dir))  # the model's own: accepted
    # a model directory without tokenizer files: the embedding rows give the mismatch away
    bare = build_tiny_model(
        tmp_path / "bare", tokenizer=other, arch="llama", copy_tokenizer=False, vocab_size=3000
    )
    with pytest.raises(RecipeError, match="embedding rows"):
        check_tokenizer(bare, other, spec=str(bare))


def test_model_directory_errors(tmp_path):
    with pytest.raises(RecipeError, match="does not exist"):
        resolve_model_dir(tmp_path / "nowhere")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(RecipeError, match="no weights"):
        resolve_model_dir(tmp_path)


@pytest.mark.parametrize("model_type", ["llama", "qwen2", "mistral", "gemma", "gpt2"])
def test_lora_defaults_fit_each_architecture(model_type, hf_qwen, tmp_path):  # noqa: F811
    from curate.train.models.hf import HFCausalLM, HFModelConfig

    directory = build_tiny_model(
        tmp_path / model_type, tokenizer=hf_qwen, arch=model_type, hidden=32, layers=1
    )
    model = HFCausalLM(HFModelConfig(path=str(directory), seq_len=16, lora={}))
    adapted = {
        n.split(".lora_A")[0].rsplit(".", 1)[-1] for n, _ in model.lm.named_parameters() if "lora_A" in n
    }
    assert adapted == set(lora_targets(model_type))
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    x = torch.tensor([[1, 2, 3, 4]])
    loss = model(x, x, reduction="sum")
    loss.backward()


def test_lora_needs_an_hf_model():
    with pytest.raises(ValueError, match="applies to a Hugging Face model"):
        TrainConfig(lora=LoraConfig())


def test_train_and_score_reports_the_base_score_once(tokenizer, model_dir, tmp_path):
    import shutil

    from curate.train.config import EvalConfig
    from curate.train.pipeline import train_and_score

    run_dir = tmp_path / "run"
    pack_hf(tokenizer, documents(60), run_dir / "tokens")
    shutil.copytree(tokenizer, run_dir / "tokenizer")
    eval_file = tmp_path / "eval.jsonl"
    eval_file.write_text("".join(json.dumps({"text": t}) + "\n" for t in documents(6, seed=7)))
    cfg = hf_config(model_dir, steps=6, lr=2e-2, lora=LoraConfig(r=4), eval=EvalConfig(path=str(eval_file)))
    cache = tmp_path / "cache"
    report = train_and_score(run_dir, cfg, sources=[], cache_dir=cache)
    assert report["metrics"]["bpb"] > 0 and report["base"]["metrics"]["bpb"] > 0
    assert report["base"]["cached"] is False
    assert report["delta_bpb"] == pytest.approx(report["metrics"]["bpb"] - report["base"]["metrics"]["bpb"])
    assert report["delta_bpb"] < 0  # six steps on sentences like the eval's beat a random model
    assert json.loads((run_dir / "score.json").read_text())["delta_bpb"] == pytest.approx(report["delta_bpb"])
    assert (run_dir / "train" / "hf" / "adapter_config.json").is_file()
    # another run (another seed) of the same base and eval set reads the cached base score
    again = train_and_score(run_dir, cfg.model_copy(update={"seed": 1}), sources=[], cache_dir=cache)
    assert again["base"]["cached"] is True and again["base"]["metrics"] == report["base"]["metrics"]
    # the base score is the base model's own: the same as scoring it directly
    from curate.train.models.hf import HFCausalLM, HFModelConfig
    from curate.train.score import score

    direct = score(
        HFCausalLM(HFModelConfig(path=str(model_dir), seq_len=SEQ_LEN - 1)),
        [json.loads(line) for line in eval_file.read_text().splitlines()],
        run_dir / "tokenizer",
        start_id=report_start_id(run_dir),
    )
    assert direct["bpb"] == pytest.approx(report["base"]["metrics"]["bpb"], rel=1e-6)


def test_the_base_is_scored_on_every_eval_set(tokenizer, model_dir, tmp_path):
    import shutil

    from curate.train.config import EvalConfig
    from curate.train.models.hf import HFCausalLM, HFModelConfig
    from curate.train.pipeline import train_and_score
    from curate.train.score import score

    run_dir = tmp_path / "run"
    pack_hf(tokenizer, documents(60), run_dir / "tokens")
    shutil.copytree(tokenizer, run_dir / "tokenizer")
    texts = {"near": documents(6, seed=7), "far": ["zq " * 20 + str(i) for i in range(4)]}
    for name, lines in texts.items():
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in lines))
    sets = {name: str(tmp_path / f"{name}.jsonl") for name in texts}
    cfg = hf_config(model_dir, steps=4, lr=2e-2, lora=LoraConfig(r=4), eval=EvalConfig(sets=sets))
    report = train_and_score(run_dir, cfg, sources=[], cache_dir=tmp_path / "cache")
    base = report["base"]
    assert set(base["sets"]) == set(texts)
    for name in texts:  # each set's base score is the base model's own on that set
        direct = score(
            HFCausalLM(HFModelConfig(path=str(model_dir), seq_len=SEQ_LEN - 1)),
            [{"text": t} for t in texts[name]],
            run_dir / "tokenizer",
            start_id=report_start_id(run_dir),
        )
        assert base["sets"][name]["metrics"]["bpb"] == pytest.approx(direct["bpb"], rel=1e-6)
        entry = report["sets"][name]
        assert entry["delta_bpb"] == pytest.approx(entry["metrics"]["bpb"] - direct["bpb"])
    assert base["sets"]["near"]["metrics"]["bpb"] != base["sets"]["far"]["metrics"]["bpb"]
    # the run's metrics are the average over the sets: so are the base's, and delta_bpb
    assert base["metrics"]["bpb"] == pytest.approx(
        np.mean([e["metrics"]["bpb"] for e in base["sets"].values()])
    )
    assert base["avg"] == base["metrics"]
    assert report["delta_bpb"] == pytest.approx(np.mean([e["delta_bpb"] for e in report["sets"].values()]))
    written = json.loads((run_dir / "score.json").read_text())
    assert written["sets"]["far"]["delta_bpb"] == pytest.approx(report["sets"]["far"]["delta_bpb"])


def report_start_id(run_dir: Path) -> int:
    from curate.io.tokens import read_index
    from curate.train.score import resolve_start_id

    return resolve_start_id(run_dir / "tokenizer", read_index(run_dir / "tokens").special_ids)


def test_preflight_wants_the_models_tokenizer(model_dir):
    from curate.train.models.hf_dir import check_hf_init

    with pytest.raises(RecipeError, match=r"tokenize: \{hf: "):
        check_hf_init(hf_config(model_dir), None)


def test_a_missing_extra_is_one_line_naming_it(monkeypatch):
    import importlib.util

    from curate.train.models.hf_dir import require_extra

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "peft" else real(name))
    require_extra()  # full fine-tuning needs transformers only
    with pytest.raises(
        RecipeError, match=r'needs peft, which are not installed: pip install -e "\.\[hf\]"'
    ) as err:
        require_extra(lora=True)
    assert "\n" not in str(err.value)


def test_dpo_on_a_lora_model_moves_the_preference(one_batch, model_dir, tokenizer, tmp_path):
    from curate.train.dpo import DPOConfig, dpo
    from tests.train.test_dpo import pairs

    sft = run(
        one_batch,
        hf_config(model_dir, steps=2, lora=LoraConfig(r=4, dropout=0.0)),
        tmp_path / "sft",
        tokenizer,
    )
    cfg = DPOConfig(beta=0.1, steps=12, batch_size=8, lr=2e-2, warmup=0, log_every=4)
    result = dpo(
        sft.checkpoint,
        pairs(32, seed=1),
        tokenizer,
        cfg,
        out_dir=tmp_path / "dpo",
        eval_pairs=pairs(16, seed=2),
    )
    assert result.losses[-1] < result.losses[0]
    assert result.after["pref_margin"] > result.before["pref_margin"]
    state = torch.load(result.checkpoint, weights_only=True)["model"]
    assert state and all("lora_" in k for k in state)  # the base stayed frozen: only the adapter is kept
    assert (tmp_path / "dpo" / "hf" / "adapter_config.json").is_file()


def _live_parameters() -> int:
    """Elements of every torch parameter alive in this process."""
    import gc

    gc.collect()
    return sum(o.numel() for o in gc.get_objects() if type(o) is torch.nn.Parameter)


def test_dpo_with_lora_references_the_base_without_a_copy(
    one_batch, model_dir, tokenizer, tmp_path, monkeypatch
):
    import curate.train.dpo as dpo_module
    from curate.train.checkpoint import load_checkpoint
    from curate.train.dpo import DPOConfig, dpo
    from curate.train.models.hf import HFCausalLM, HFModelConfig
    from tests.train.test_dpo import pairs

    lora = LoraConfig(r=4, dropout=0.0)
    sft = run(one_batch, hf_config(model_dir, steps=3, lr=2e-2, lora=lora), tmp_path / "sft", tokenizer)
    ckpt = load_checkpoint(sft.checkpoint)
    before = _live_parameters()  # the SFT model is alive: DPO may add its adapter's moments, no model
    reference_calls = []
    real = dpo_module.response_logps

    def spy(model, seqs, device):
        logps = real(model, seqs, device)
        if not torch.is_grad_enabled():  # the reference pass (the policy's trains)
            reference_calls.append((model, list(seqs), logps.clone(), _live_parameters()))
        return logps

    monkeypatch.setattr(dpo_module, "response_logps", spy)
    dpo(ckpt, pairs(8, seed=1), tokenizer, DPOConfig(steps=1, batch_size=4), out_dir=tmp_path / "dpo")
    monkeypatch.setattr(dpo_module, "response_logps", real)

    assert reference_calls
    base = HFCausalLM(HFModelConfig(path=str(model_dir), seq_len=SEQ_LEN - 1)).eval()
    for model, seqs, logps, alive in reference_calls:
        assert model is ckpt.model and alive == before  # the policy itself: no second copy
        with torch.no_grad():
            assert torch.allclose(logps, real(base, seqs, torch.device("cpu")), atol=1e-5)
            # and the adapter SFT trained is not nothing: with it, the log-probabilities differ
            assert not torch.allclose(logps, real(ckpt.model, seqs, torch.device("cpu")), atol=1e-3)


def test_gradient_checkpointing_trains_the_same(one_batch, model_dir, tokenizer, tmp_path):
    plain = run(
        one_batch, hf_config(model_dir, steps=3, lora=LoraConfig(dropout=0.0)), tmp_path / "a", tokenizer
    )
    cfg = hf_config(model_dir, steps=3, lora=LoraConfig(dropout=0.0), gradient_checkpointing=True)
    recomputed = run(one_batch, cfg, tmp_path / "b", tokenizer)
    assert recomputed.losses == pytest.approx(plain.losses, rel=1e-5)
