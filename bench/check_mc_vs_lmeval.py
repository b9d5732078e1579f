"""Check: curate's multiple-choice acc / acc_norm equal lm-evaluation-harness's, same model, same task.

Both tools score the same Hugging Face causal LM: a tiny GPT-2 with random weights and a
byte-level BPE tokenizer trained here on the sample data (no download), saved to a temporary
directory. Curate scores it through ``curate.train.tasks.HFCausalLM`` (the thin HF path of its
scorer: the HF tokenizer's ``encode`` without special tokens, no start token, as lm-eval's HFLM
does for GPT-2); lm-eval scores it with its own ``HFLM`` on a task defined by a YAML file that
reads the same JSONL (``output_type: multiple_choice``, ``doc_to_text: context``,
``doc_to_choice: choices``, ``doc_to_target: answer``: context + " " + choice, lm-eval's default
``target_delimiter``). The script compares, per item, every choice's log-likelihood and the acc
and acc_norm decisions, and the task averages.

lm-eval lives in its own venv (never the shared one)::

    python3 -m venv /tmp/lmeval-venv && /tmp/lmeval-venv/bin/pip install -c /tmp/constraints.txt lm-eval
    python bench/check_mc_vs_lmeval.py --lmeval-site /tmp/lmeval-venv/lib/python3.11/site-packages

That venv has no torch or transformers: the lm-eval part runs in a subprocess of this (shared venv)
interpreter with the lm-eval site-packages appended to ``sys.path`` after the shared ones, so
both sides use the same torch and transformers. Exit status 1 when anything differs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TASKS = {
    "arith": ROOT / "sample_data/eval/tasks/arith.jsonl",
    "antonyms": ROOT / "sample_data/eval/tasks/antonyms.jsonl",
}


def build_model(out: Path, *, seed: int, texts: list[str]) -> None:
    """A random tiny GPT-2 and a byte-level BPE tokenizer trained on ``texts``, saved to ``out``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|endoftext|>", unk_token="<|endoftext|>"
    )
    fast.save_pretrained(out)
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(fast),
        n_positions=256,
        n_embd=64,
        n_layer=2,
        n_head=2,
        initializer_range=0.3,  # sharper than GPT-2's 0.02, so the choices' likelihoods differ clearly
        bos_token_id=fast.eos_token_id,
        eos_token_id=fast.eos_token_id,
    )
    GPT2LMHeadModel(config).eval().save_pretrained(out)


def curate_side(model_dir: Path, tasks: dict[str, Path], limit: int) -> dict:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from curate.train.evalset import read_eval_records
    from curate.train.score import sequence_nll
    from curate.train.tasks import HFCausalLM, encode_task, score_task

    tok = AutoTokenizer.from_pretrained(model_dir)
    hf = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    model = HFCausalLM(hf, seq_len=hf.config.n_positions)

    def encode(text: str) -> list[int]:
        return tok.encode(text, add_special_tokens=False)

    out = {}
    for name, path in tasks.items():
        items = read_eval_records(path)[:limit]
        metrics = score_task(model, items, encode=encode, prefix=[], batch_size=32)
        nll, _ = sequence_nll(model, encode_task(items, encode, prefix=[]), batch_size=32)  # type: ignore[arg-type]
        lls, at = [], 0
        for item in items:
            lls.append([-float(x) for x in nll[at : at + len(item["choices"])]])
            at += len(item["choices"])
        item_acc = [
            float(max(range(len(ll)), key=ll.__getitem__) == it["answer"])
            for ll, it in zip(lls, items, strict=True)
        ]
        out[name] = {"acc": metrics["acc"], "acc_norm": metrics["acc_norm"], "lls": lls, "item_acc": item_acc}
    return out


TASK_YAML = """\
task: {task}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {path}
test_split: test
output_type: multiple_choice
doc_to_text: context
doc_to_choice: choices
doc_to_target: answer
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
  - metric: acc_norm
    aggregation: mean
    higher_is_better: true
"""


def lmeval_side(model_dir: Path, tasks: dict[str, Path], limit: int, site: str) -> dict:
    """lm-eval's HFLM on YAML tasks over the same JSONL (first ``limit`` items), in a subprocess."""
    with tempfile.TemporaryDirectory() as tmp:
        task_dir = Path(tmp) / "tasks"
        task_dir.mkdir()
        for name, path in tasks.items():
            lines = path.read_text(encoding="utf-8").splitlines()[:limit]
            data = Path(tmp) / f"{name}.jsonl"
            data.write_text("\n".join(lines) + "\n", encoding="utf-8")
            (task_dir / f"curate_{name}.yaml").write_text(TASK_YAML.format(task=f"curate_{name}", path=data))
        code = f"""
import json, sys
sys.path.append({site!r})
import lm_eval
from lm_eval.models.huggingface import HFLM
from lm_eval.tasks import TaskManager
lm = HFLM(pretrained={str(model_dir)!r}, device="cpu", batch_size=1, dtype="float32")
names = {[f"curate_{n}" for n in tasks]!r}
res = lm_eval.simple_evaluate(model=lm, tasks=names, task_manager=TaskManager(include_path={str(task_dir)!r}),
                              log_samples=True, num_fewshot=0)
out = {{"version": lm_eval.__version__ if hasattr(lm_eval, "__version__") else "?"}}
for n in names:
    samples = sorted(res["samples"][n], key=lambda s: s["doc_id"])
    out[n[len("curate_"):]] = {{
        "acc": res["results"][n]["acc,none"],
        "acc_norm": res["results"][n]["acc_norm,none"],
        "lls": [[float(req[0][0]) for req in s["resps"]] for s in samples],
        "item_acc": [s["acc"] for s in samples],
    }}
print("RESULT " + json.dumps(out))
"""
        env = {
            **os.environ,
            "HF_DATASETS_OFFLINE": "1",
            "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
        }
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp)
        line = next((x for x in run.stdout.splitlines() if x.startswith("RESULT ")), None)
        if run.returncode or line is None:
            sys.exit(f"lm-eval failed (exit {run.returncode}):\n{run.stderr[-4000:]}")
        return json.loads(line[len("RESULT ") :])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lmeval-site", default="/tmp/lmeval-venv/lib/python3.11/site-packages")
    ap.add_argument("--limit", type=int, default=150, help="items per task")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    texts = [json.loads(line)["text"] for line in (ROOT / "sample_data/eval/web_eval.jsonl").open()]
    for path in TASKS.values():
        for line in path.open(encoding="utf-8"):
            item = json.loads(line)
            texts.append(item["context"] + " " + " ".join(item["choices"]))
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "model"
        build_model(model_dir, seed=args.seed, texts=texts)
        ours = curate_side(model_dir, TASKS, args.limit)
        theirs = lmeval_side(model_dir, TASKS, args.limit, args.lmeval_site)
    print(
        f"lm-eval {theirs.pop('version')}, tiny random GPT-2 (2 layers, 64 wide), {args.limit} items per task"
    )
    ok = True
    for name in TASKS:
        a, b = ours[name], theirs[name]
        diffs = [
            abs(x - y) for la, lb in zip(a["lls"], b["lls"], strict=True) for x, y in zip(la, lb, strict=True)
        ]
        same = a["acc"] == b["acc"] and a["acc_norm"] == b["acc_norm"] and a["item_acc"] == b["item_acc"]
        ok &= same and max(diffs) < 1e-3
        print(
            f"{name}: curate acc {a['acc']:.4f} acc_norm {a['acc_norm']:.4f} | lm-eval acc {b['acc']:.4f} "
            f"acc_norm {b['acc_norm']:.4f} | per-item acc decisions equal: {a['item_acc'] == b['item_acc']} | choice log-likelihoods: max |diff| {max(diffs):.2e} over {len(diffs)}"
            + ("" if same else "  DIFFERENT")
        )
    print("identical acc and acc_norm" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
