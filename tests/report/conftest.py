"""Fixtures for the report tests: real runs of real stages over part of the sample corpus (with
hostile records planted in it), and a real micro model trained and scored on the run's output.

Built once per session: the pipe loop runs quality, dedupe, language and mix; sentencepiece is
trained on the output, the output packed with the real TokenWriter, the trainer runs a few steps
with evals, and ``score.json`` is written by the trainer's own ``score_report``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from curate.exec.pipe import run_recipe
from curate.recipe import parse_recipe
from tests.conftest import REPO, write_jsonl

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'

RECIPE = """
name: reportrun
seed: 0
sources:
  - {{name: web, path: "{data}/web/*.jsonl"}}
  - {{name: news, path: "{data}/news/*.jsonl"}}
stages:
  - quality: {{}}
  - dedupe: {{}}
  - language: {{keep: [en, de, fr, es, zh, ja]}}
  - mix: {{weights: {{web: {web}, news: {news}}}, target: {{records: 700}}}}
"""


@dataclass(frozen=True)
class Runs:
    data: Path
    a: Path  # trained and scored
    b: Path  # same recipe, other mix weights
    seconds_a: float


def hostile_rows() -> list[dict]:
    """A long, ordinary English page with a script tag in it (kept by every stage), and a short
    page that is an HTML-injection attempt (removed as too short)."""
    page = (
        "The town council met on Tuesday evening to discuss the repair of the old stone bridge. "
        f"One visitor wrote {SCRIPT} on the notice board, which made everyone laugh. "
        "Several residents said that the bridge is an important part of the history of the town, "
        "and that their grandparents had walked across it to the market every week. "
        "The engineer explained that the work will take about three months. "
        "The road will stay open for walkers and cyclists, but cars must use the new ring road. "
        "A teacher from the primary school asked whether the children could visit the site. "
        "The council agreed, and the first visit is planned for the end of the spring term. "
        "Most people left the meeting in a good mood, although the cost is still not settled."
    )
    return [
        {"text": page, "url": "https://example.org/bridge"},
        {"text": f'Click {IMG} "here" now', "url": "https://example.org/x"},
    ]


def build_data(root: Path) -> Path:
    data = root / "data"
    web = (REPO / "sample_data/web/web-00.jsonl").read_bytes().splitlines()[:400]
    news = (REPO / "sample_data/web/web-01.jsonl").read_bytes().splitlines()[:300]
    write_jsonl(data / "web" / "part-0.jsonl", [*hostile_rows(), *web])
    write_jsonl(data / "news" / "part-0.jsonl", news)
    return data


def run_mix(data: Path, run_dir: Path, *, web: float, news: float):
    recipe = parse_recipe(RECIPE.format(data=data, web=web, news=news))
    return run_recipe(recipe, run_dir=run_dir, workers=1)


def train_and_score(run_dir: Path, work: Path) -> None:
    """Tokenizer, packed tokens, a few training steps with evals, and score.json: all real."""
    import polars as pl
    import sentencepiece as spm
    import torch

    from curate.train.config import EvalConfig
    from curate.train.evalset import read_eval_records
    from curate.train.loop import train
    from curate.train.score import score, score_report, write_score_json
    from tests.train.conftest import micro_config, pack_documents, train_tokenizer

    output = pl.read_parquet(run_dir / "output" / "*.parquet")
    work.mkdir(parents=True, exist_ok=True)
    texts = output.filter(pl.col("lang") == "en")["text"].to_list()  # a small vocabulary covers English
    sp_path = train_tokenizer(texts, work / "tok", vocab_size=800)
    sp = spm.SentencePieceProcessor(model_file=str(sp_path))
    tokens = pack_documents(sp, texts[:200], work / "tokens", seq_len=33)
    evals = read_eval_records(str(REPO / "sample_data/eval/web_eval.jsonl"))[:8]
    cfg = micro_config(steps=12, log_every=2, eval_every=6, batch_size=4, eval=EvalConfig(periodic_records=4))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = train(
            tokens, cfg, out_dir=run_dir / "train", tokenizer_path=sp_path, eval_records=evals, progress=False
        )
        metrics = score(result.checkpoint, evals, sp_path)
    finally:
        torch.set_num_threads(threads)
    write_score_json(run_dir / "score.json", score_report(metrics, result.to_dict(), seed=0))


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    import time

    root = tmp_path_factory.mktemp("report")
    data = build_data(root)
    started = time.perf_counter()
    run_mix(data, root / "runs" / "a", web=0.7, news=0.3)
    seconds = time.perf_counter() - started
    run_mix(data, root / "runs" / "b", web=0.4, news=0.6)
    train_and_score(root / "runs" / "a", root / "work")
    return Runs(data, root / "runs" / "a", root / "runs" / "b", seconds)
