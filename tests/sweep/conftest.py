"""A tiny project for sweep tests: two sources (web pages and chats), a held-out eval set and a
base recipe that trains a very small model for a few steps (seconds per run on one core)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import write_jsonl
from tests.train.conftest import documents, sentences

BASE = """\
name: tiny
seed: 7
sources:
  - {{name: web, path: {data}/web.jsonl}}
  - {{name: chat, path: {data}/chat.jsonl, format: messages}}
stages:
  - clean: {{min_chars: 20}}
  - dedupe: {{}}
  - mix: {{weights: {{web: 0.5, chat: 0.5}}}}
  - format: {{kind: pretrain}}
  - tokenize: {{train: {{vocab_size: 400}}, seq_len: 32}}
train:
  preset: tiny
  model: {{n_layer: 2, n_embd: 64, n_head: 2}}
  steps: 20
  batch_size: 8
  eval_every: 10
  log_every: 5
  threads: 1
  eval: {{path: {data}/eval.jsonl}}
"""


def write_project(root: Path) -> Path:
    """Write the corpus and ``root/base.yaml``; return the base recipe's path."""
    data = root / "data"
    write_jsonl(data / "web.jsonl", [{"text": d} for d in documents(60, seed=1)])
    answers = sentences(120, seed=5)
    chats = [
        {
            "messages": [
                {"role": "user", "content": f"Tell me about item {i}."},
                {"role": "assistant", "content": " ".join(answers[3 * i : 3 * i + 3])},
            ]
        }
        for i in range(40)
    ]
    write_jsonl(data / "chat.jsonl", chats)
    write_jsonl(data / "eval.jsonl", [{"text": d} for d in documents(10, seed=99)])
    base = root / "base.yaml"
    base.write_text(BASE.format(data=data))
    return base


def write_sweep(root: Path, body: str, name: str = "sweep.yaml") -> Path:
    path = root / name
    path.write_text("base: base.yaml\n" + body)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_project(tmp_path)
    return tmp_path


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())
