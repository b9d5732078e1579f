"""Tokenize throughput: the tokenize stage's apply against the raw tokenizer on the same texts.

    python bench/bench_tokenize.py --corpus corpus-dev/corpus.jsonl [--max-docs 6000] [--json out.json]
    python bench/bench_tokenize.py --corpus ... --hf sample_data/hf-tokenizer   # a Hugging Face tokenizer

With ``--hf DIR`` the stage uses that Hugging Face tokenizer (``tokenize: {hf: DIR}``) and "raw" is
the ``tokenizers`` library's own ``Tokenizer.encode_batch`` of the same texts and the id lists
read out of its encodings (parallelism off, so per core); otherwise a sentencepiece model is trained on the corpus and "raw" is ``sp.encode``.

The corpus is any JSONL with a ``text`` field (e.g. one built by shared/bench/make_corpus.py).
Measured in one run, alternating the two sides, median of ``--repeats``:

1. per core, pretraining documents: ``sp.encode(texts, num_threads=1)`` vs ``apply`` on a
   DataFrame of the same texts (ids + end-of-document + mask + list columns);
2. per core, SFT conversations made from the corpus (a short user turn, a long assistant turn):
   ``sp.encode`` of the rendered conversations vs ``apply`` (render, segment-wise encoding, exact
   masks, list columns);
   With ``--hf DIR`` whose tokenizer has a ``chat_template``, also ``sft-model``: the stage with
   ``template: model`` (render through the model's Jinja template, find the assistant spans,
   encode each whole text once with offsets, exact masks, list columns) vs ``encode_batch`` of
   the same rendered texts;
3. packing (``finalize``) of the tokenized documents (concat) and conversations (best fit),
   in tokens per CPU second;
4. scaling over shards: ``--shards`` Parquet shards tokenized by a pool of 1 and of 2 worker
   processes (each reads its shard, applies, writes the result, as the local executor does), and
   the same for raw ``sp.encode`` reading and encoding the same shards.

Per-core throughput is in tokens and MB of UTF-8 input per CPU second of the process (wall time
is reported too; on a shared machine it mostly measures the neighbours). The figures that travel
between machines are the ratios (ours / raw).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curate.formats.templates import get_template
from curate.records import BASE_SCHEMA
from curate.stages.base import ShardInfo, StageContext
from curate.stages.tokenize import (
    TokenizeConfig,
    TokenizerState,
    apply,
    finalize,
    fit,
    load_tokenizer,
    summarize,
)


def load_corpus(path: Path, max_docs: int) -> pl.DataFrame:
    frame = pl.read_ndjson(path, schema_overrides={"text": pl.String}).head(max_docs)
    return pl.DataFrame(
        {"id": frame["id"].cast(pl.String), "source": "bench", "text": frame["text"], "meta": "{}"},
        schema=BASE_SCHEMA["text"],
    )


def make_chats(docs: pl.DataFrame) -> pl.DataFrame:
    texts = docs["text"].to_list()
    rows = [
        [{"role": "user", "content": texts[i][:200]}, {"role": "assistant", "content": texts[i + 1][:4000]}]
        for i in range(0, len(texts) - 1, 2)
    ]
    return pl.DataFrame(
        {"id": [f"c{i}" for i in range(len(rows))], "source": "bench", "messages": rows, "meta": "{}"},
        schema=BASE_SCHEMA["chat"],
    )


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def cpu_timed(fn) -> tuple[float, float]:
    """Wall and CPU seconds of ``fn()``; CPU time is what a shared machine's load does not inflate."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def compare(name: str, raw_fn, ours_fn, tokens: int, nbytes: int, repeats: int) -> dict:
    """Median wall and CPU time of both sides, alternating which goes first."""
    times: dict[str, list[tuple[float, float]]] = {"raw": [], "ours": []}
    raw_fn(), ours_fn()  # warm up: lazy imports, first-call allocations, the markup cache
    for r in range(repeats):
        pair = [("raw", raw_fn), ("ours", ours_fn)]
        for side, fn in pair if r % 2 == 0 else pair[::-1]:
            times[side].append(cpu_timed(fn))
    result: dict = {"case": name, "tokens": tokens, "mbytes": round(nbytes / 1e6, 2)}
    for side, samples in times.items():
        wall = statistics.median(w for w, _ in samples)
        cpu = statistics.median(c for _, c in samples)
        result[f"{side}_wall_s"], result[f"{side}_cpu_s"] = round(wall, 3), round(cpu, 3)
        result[f"{side}_tok_per_cpu_s"] = round(tokens / cpu)
        result[f"{side}_mb_per_cpu_s"] = round(nbytes / 1e6 / cpu, 2)
    result["ratio_cpu"] = round(result["raw_cpu_s"] / result["ours_cpu_s"], 3)
    result["ratio_wall"] = round(result["raw_wall_s"] / result["ours_wall_s"], 3)
    print(
        f"{name:>10}: raw {result['raw_tok_per_cpu_s']:>9} tok/s {result['raw_mb_per_cpu_s']:>5} MB/s | "
        f"ours {result['ours_tok_per_cpu_s']:>9} tok/s {result['ours_mb_per_cpu_s']:>5} MB/s (per CPU second) | "
        f"ours/raw CPU {result['ratio_cpu']:.3f} wall {result['ratio_wall']:.3f}",
        flush=True,
    )
    return result


# --- worker-process side ----------------------------------------------------------------------


def _warm(state: TokenizerState) -> int:
    return load_tokenizer(state).vocab_size


def _ours_shard(args: tuple[str, str, TokenizerState, TokenizeConfig]) -> float:
    """Read a shard, apply, write the result, as the local executor does; returns CPU seconds."""
    start = time.process_time()
    src, dst, state, cfg = args
    out = apply(pl.read_parquet(src), cfg, state, ShardInfo(0, "bench", "text"))
    out.kept.write_parquet(dst)
    return time.process_time() - start


def raw_encoder(state: TokenizerState):
    """The tokenizer library's own batch encoding, one thread: ``sp.encode`` or ``encode_batch``."""
    tokenizer = load_tokenizer(state)
    if state.kind == "hf":
        os.environ["TOKENIZERS_PARALLELISM"] = "false"
        encode_batch = tokenizer.tok.encode_batch  # type: ignore[attr-defined]
        # the id lists a caller gets (``sp.encode`` returns them too): Encoding objects alone
        # leave the ids inside Rust, which no user of the library can train on
        return lambda texts: [e.ids for e in encode_batch(texts)]
    sp = tokenizer.sp  # type: ignore[attr-defined]
    return lambda texts: sp.encode(texts, num_threads=1)


def raw_count(state: TokenizerState, texts: list[str]) -> int:
    encoded = raw_encoder(state)(texts)
    return sum(len(e) for e in encoded)


def _raw_shard(args: tuple[str, str, TokenizerState, TokenizeConfig]) -> float:
    """Read a shard's texts and encode them with the raw tokenizer; returns CPU seconds."""
    start = time.process_time()
    src, _, state, _ = args
    raw_encoder(state)(pl.read_parquet(src, columns=["text"])["text"].to_list())
    return time.process_time() - start


def scaling(
    docs: pl.DataFrame, state: TokenizerState, cfg: TokenizeConfig, shards: int, repeats: int, work: Path
) -> dict:
    """Wall time with 1 and 2 worker processes, and the CPU seconds the workers spent.

    Equal CPU seconds with 2 workers as with 1 mean the workers do not slow each other down, so
    on free cores the wall time halves; the wall speedup itself depends on what else runs.
    """
    work.mkdir(parents=True, exist_ok=True)
    size = -(-docs.height // shards)
    jobs = []
    for i in range(shards):
        src = work / f"in-{i:05d}.parquet"
        docs[i * size : (i + 1) * size].write_parquet(src)
        jobs.append((str(src), str(work / f"out-{i:05d}.parquet"), state, cfg))
    result: dict = {"shards": shards}
    for workers in (1, 2):
        # spawn, not fork: a forked child of a process whose polars thread pool is running can deadlock.
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")
        ) as pool:
            list(pool.map(_warm, [state] * workers * 2))  # start workers, load the model in each
            for name, fn in (("ours", _ours_shard), ("raw", _raw_shard)):
                runs = [cpu_timed_pool(pool, fn, jobs) for _ in range(repeats)]
                result[f"{name}_{workers}w_wall_s"] = round(statistics.median(w for w, _ in runs), 3)
                result[f"{name}_{workers}w_cpu_s"] = round(statistics.median(c for _, c in runs), 3)
    for name in ("ours", "raw"):
        result[f"{name}_wall_speedup_2w"] = round(
            result[f"{name}_1w_wall_s"] / result[f"{name}_2w_wall_s"], 3
        )
        result[f"{name}_cpu_2w_over_1w"] = round(result[f"{name}_2w_cpu_s"] / result[f"{name}_1w_cpu_s"], 3)
    for name in ("ours", "raw"):
        print(
            f"{'scaling':>10}: {name:>4} 1 worker {result[f'{name}_1w_wall_s']}s, 2 workers "
            f"{result[f'{name}_2w_wall_s']}s (wall x{result[f'{name}_wall_speedup_2w']}); worker CPU "
            f"{result[f'{name}_1w_cpu_s']}s vs {result[f'{name}_2w_cpu_s']}s (x{result[f'{name}_cpu_2w_over_1w']})",
            flush=True,
        )
    return result


def cpu_timed_pool(pool: ProcessPoolExecutor, fn, jobs: list) -> tuple[float, float]:
    """Wall seconds of mapping ``fn`` over ``jobs`` and the CPU seconds the workers report."""
    start = time.perf_counter()
    cpu = sum(pool.map(fn, jobs))
    return time.perf_counter() - start, cpu


def packing(
    batches: dict[str, pl.DataFrame], state: TokenizerState, cfg: TokenizeConfig, run_dir: Path
) -> list[dict]:
    """CPU seconds of finalize (read tokenized shards, pack, write token files) per kind of record."""
    results = []
    for name, batch in batches.items():
        path = run_dir / f"tokenized-{name}.parquet"
        apply(batch, cfg, state, ShardInfo(0, "bench", "text")).kept.write_parquet(path)
        ctx = StageContext(run_dir / name, run_dir / name / "stage", 0, {"bench": "text"}, [])
        start = time.process_time()
        stats = finalize([path], cfg, state, ctx)
        cpu = time.process_time() - start
        result = {
            "case": name,
            "packing": stats["packing"],
            "tokens": stats["tokens"],
            "cpu_s": round(cpu, 3),
        }
        result.update(tok_per_cpu_s=round(stats["tokens"] / cpu), fill_ratio=stats["fill_ratio"])
        print(
            f"{'pack':>10}: {name} ({stats['packing']}, seq_len {cfg.seq_len}) {stats['tokens']} tokens in "
            f"{cpu:.2f} CPU s = {result['tok_per_cpu_s']} tok/s, fill {stats['fill_ratio']:.3f}",
            flush=True,
        )
        results.append(result)
    return results


def model_template_case(args: argparse.Namespace, chats: pl.DataFrame, ctx: StageContext, raw) -> dict:
    """``template: model`` SFT against ``encode_batch`` of the same rendered conversations."""
    from curate.tokenize.chat import template_for

    cfg = TokenizeConfig(hf=str(args.hf), template="model", num_threads=1)
    state = fit([], cfg, ctx).state
    template = template_for(load_tokenizer(state), "model", source=state.chat_template)
    rendered = [template.render(m) for m in chats["messages"].to_list()]
    tokens = raw_count(state, rendered)
    nbytes = sum(len(t.encode("utf-8")) for t in rendered)
    shard = ShardInfo(1, "bench", "chat")
    return compare(
        "sft-model",
        lambda: raw(rendered),
        lambda: apply(chats, cfg, state, shard),
        tokens,
        nbytes,
        args.repeats,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, required=True, help="JSONL with a text field")
    parser.add_argument("--max-docs", type=int, default=6000)
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shards", type=int, default=8, help="shards for the scaling test (0: skip it)")
    parser.add_argument(
        "--hf", type=Path, help="a Hugging Face tokenizer directory to use instead of training"
    )
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-tokenize-") as tmp:
        run(args, Path(tmp))


def run(args: argparse.Namespace, tmp: Path) -> None:
    docs = load_corpus(args.corpus, args.max_docs)
    chats = make_chats(docs)
    run_dir = tmp / "run"
    if args.hf is not None:
        cfg = TokenizeConfig(hf=str(args.hf), num_threads=1)
    else:
        cfg = TokenizeConfig(train={"vocab_size": args.vocab_size}, num_threads=1)
    ctx = StageContext(run_dir, run_dir / "stage", 0, {"bench": "text"}, [])
    fit_s, fitted = timed(
        lambda: fit(
            [
                summarize(docs, cfg, ShardInfo(0, "bench", "text")),
                summarize(chats, cfg, ShardInfo(1, "bench", "chat")),
            ],
            cfg,
            ctx,
        )
    )
    state = fitted.state
    raw = raw_encoder(state)
    made = (
        f"{state.kind} from {args.hf}"
        if args.hf is not None
        else f"trained in {fit_s:.1f}s on {fitted.stats['sample_sentences']} sentences"
    )
    print(
        f"corpus {args.corpus}: {docs.height} docs, {chats.height} chats; tokenizer vocab {fitted.stats['vocab_size']} "
        f"{made}; cores {os.cpu_count()}",
        flush=True,
    )

    texts = docs["text"].to_list()
    doc_bytes = sum(len(t.encode("utf-8")) for t in texts)
    doc_tokens = raw_count(state, texts)
    shard = ShardInfo(0, "bench", "text")
    results = [
        compare(
            "pretrain",
            lambda: raw(texts),
            lambda: apply(docs, cfg, state, shard),
            doc_tokens,
            doc_bytes,
            args.repeats,
        )
    ]
    template = get_template(cfg.template)
    rendered = [template.render(m) for m in chats["messages"].to_list()]
    chat_bytes = sum(len(t.encode("utf-8")) for t in rendered)
    chat_tokens = raw_count(state, rendered)
    results.append(
        compare(
            "sft",
            lambda: raw(rendered),
            lambda: apply(chats, cfg, state, ShardInfo(1, "bench", "chat")),
            chat_tokens,
            chat_bytes,
            args.repeats,
        )
    )
    if args.hf is not None and load_tokenizer(state).chat_template is not None:
        results.append(model_template_case(args, chats, ctx, raw))
    packed = packing({"pretrain": docs, "sft": chats}, state, cfg, run_dir)
    scale = scaling(docs, state, cfg, args.shards, args.repeats, tmp / "shards") if args.shards else {}
    if args.json:
        figures = {
            "tokenizer": state.kind,
            "per_core": results,
            "packing": packed,
            "scaling": scale,
            "fit_s": round(fit_s, 2),
        }
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
