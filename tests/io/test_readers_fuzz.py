"""Hostile input never stops reading, and every input line is accounted for.

Hypothesis builds files of random JSON records in every format (random values for the fields
each format reads, deep nesting, wrong types, garbage lines, blank lines), written with a BOM or
not, \\n, \\r\\n or \\r line endings, plain, .gz or .zst, sometimes cut short or with a damaged
byte. Reading must never raise, and the lines it reached must all be a record, a quarantined
record or a blank line; a file that ends early must carry one file-level entry saying where.
"""

from __future__ import annotations

import gzip
import json

import polars as pl
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curate.io.sources import Source
from tests.io.test_readers import read_all

FORMATS = ["text", "alpaca", "sharegpt", "messages", "prompt_response", "preference", "hh", "ratings"]
FIELDS = {
    "text": ["text"],
    "alpaca": ["instruction", "input", "output", "system", "history"],
    "sharegpt": ["conversations", "system"],
    "messages": ["messages"],
    "prompt_response": ["prompt", "response", "completion", "system"],
    "preference": ["prompt", "chosen", "rejected", "system"],
    "hh": ["chosen", "rejected"],
    "ratings": ["prompt", "instruction", "completions", "responses", "scores", "ratings"],
}
FILE_LEVEL = ("bad_input:truncated", "bad_input:unreadable_file")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["user", "assistant", "system", "human", "gpt", "\n\nHuman: hi\n\nAssistant: yo"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(["role", "content", "from", "value", "text", "score", "response", "x"]),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


@st.composite
def lines_for(draw, fmt: str) -> list[bytes]:
    """Input lines for a format: objects with its fields set to random values, and worse."""
    out = []
    for _ in range(draw(st.integers(min_value=0, max_value=12))):
        kind = draw(st.sampled_from(["object", "object", "object", "value", "garbage", "blank", "deep"]))
        if kind == "object":
            keys = draw(st.lists(st.sampled_from([*FIELDS[fmt], "id", "meta"]), max_size=6, unique=True))
            obj = {k: draw(values) for k in keys}
            out.append(json.dumps(obj).encode())
        elif kind == "value":
            out.append(json.dumps(draw(values)).encode())
        elif kind == "garbage":
            out.append(draw(st.binary(max_size=30)).replace(b"\n", b" ").replace(b"\r", b" "))
        elif kind == "blank":
            out.append(b"  ")
        else:
            depth = draw(st.integers(min_value=200, max_value=1200))
            field = draw(st.sampled_from(FIELDS[fmt] + ["meta"]))
            out.append(b'{"' + field.encode() + b'": ' + b"[" * depth + b"1" + b"]" * depth + b"}")
    return out


def encode(lines: list[bytes], *, ending: bytes, bom: bool) -> bytes:
    return (b"\xef\xbb\xbf" if bom else b"") + b"".join(line + ending for line in lines)


def check_accounting(path, fmt: str, n_lines: int | None) -> None:
    """Every line read has one fate; ``n_lines`` is how many were written (None where damage may
    have decoded into other lines: a flipped bit inside a deflate block)."""
    records, bad, counters = read_all(Source(name="s", path=str(path), format=fmt))
    file_level = bad.filter(pl.col("reason").is_in(FILE_LEVEL))
    record_level = bad.height - file_level.height
    reached = records.height + record_level + counters.get("blank_lines", 0)
    if file_level.height:
        assert file_level.height == 1
        assert reached == file_level["line"][0] - 1  # every line before the damage is accounted
        assert n_lines is None or reached <= n_lines
    elif n_lines is not None:
        assert reached == n_lines
    lines_seen = records["id"].str.extract(r":(\d+)$").cast(pl.Int64).to_list()
    bad_lines = bad.filter(~pl.col("reason").is_in(FILE_LEVEL))["line"].to_list()
    assert len(set(lines_seen + bad_lines)) == len(lines_seen) + len(bad_lines)  # one fate per line


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(
    fmt=st.sampled_from(FORMATS),
    data=st.data(),
    ending=st.sampled_from([b"\n", b"\r\n", b"\r"]),
    bom=st.booleans(),
)
def test_hostile_records_never_stop_reading_and_all_lines_are_accounted(tmp_path, fmt, data, ending, bom):
    lines = data.draw(lines_for(fmt))
    path = tmp_path / f"{fmt}-{len(lines)}-{ord(ending[-1:])}-{bom}.jsonl"
    path.write_bytes(encode(lines, ending=ending, bom=bom))
    check_accounting(path, fmt, len(lines))


@FUZZ
@given(
    fmt=st.sampled_from(FORMATS),
    data=st.data(),
    codec=st.sampled_from(["gz", "zst"]),
    damage=st.sampled_from(["none", "truncate", "flip", "empty"]),
    where=st.floats(min_value=0.0, max_value=1.0),
)
def test_damaged_compressed_files_never_stop_reading(tmp_path, fmt, data, codec, damage, where):
    lines = data.draw(lines_for(fmt))
    raw = encode(lines, ending=b"\n", bom=False)
    packed = (
        gzip.compress(raw) if codec == "gz" else zstandard.ZstdCompressor(write_checksum=True).compress(raw)
    )
    at, full = int(len(packed) * where), len(packed)
    if damage == "truncate":
        packed = packed[:at]
    elif damage == "flip" and packed:
        at = min(at, len(packed) - 1)
        packed = packed[:at] + bytes([packed[at] ^ 0xA5]) + packed[at + 1 :]
    elif damage == "empty":
        packed, lines = b"", []
    path = tmp_path / f"{damage}-{at}.jsonl.{codec}"
    path.write_bytes(packed)
    _, bad, _ = read_all(Source(name="s", path=str(path), format=fmt))
    file_level = bad.filter(pl.col("reason").is_in(FILE_LEVEL))
    if damage == "truncate" and 0 < at < full:
        assert file_level["reason"].to_list() == ["bad_input:truncated"]  # never silently shorter
    if damage == "flip":
        # a flipped bit may decode into different (even more) lines before the checksum fails at the
        # end: the reader owes one fate per line read and the file-level entry, not the original count
        check_accounting(path, fmt, None)
    else:
        check_accounting(path, fmt, len(lines) if packed else 0)  # 0 bytes: an empty file
    if damage in ("none", "empty"):
        assert file_level.height == 0


def test_a_small_run_over_hostile_files_balances(tmp_path):
    import curate

    data = tmp_path / "data"
    data.mkdir()
    good = b"".join(json.dumps({"text": f"a good document number {i}"}).encode() + b"\n" for i in range(50))
    (data / "good.jsonl").write_bytes(good)
    (data / "bom_cr.jsonl").write_bytes(b"\xef\xbb\xbf" + good.replace(b"\n", b"\r"))
    (data / "empty.jsonl").write_bytes(b"")
    for name, packed in [("gz", gzip.compress(good)), ("zst", zstandard.ZstdCompressor().compress(good))]:
        (data / f"cut.jsonl.{name}").write_bytes(packed[: len(packed) // 2])
    (data / "bad.jsonl").write_bytes(
        b'{"text": 1.5}\n{"text": '
        + b"[" * 300
        + b"]" * 300
        + b'}\n{"text": "ok", "m": '
        + b"[" * 300
        + b"]" * 300
        + b"}\nnot json\n"
    )
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f'name: hostile\nsources:\n  - {{name: web, path: "{data}/*"}}\nstages: []\n')
    result = curate.run(recipe, run_dir=tmp_path / "run", workers=1, report=False)
    acc = result.manifest["accounting"]
    read = result.steps[0]
    assert acc["balanced"] and acc["records_in"] == acc["records_out"] + acc["rejected"]
    assert read["reasons"]["bad_input:truncated"] == 2 and read["counters"]["truncated_files"] == 2
    assert read["reasons"]["bad_input:not_a_string"] == 2 and read["reasons"]["bad_input:invalid_json"] == 1
    out = pl.read_parquet(sorted((tmp_path / "run/output").glob("*.parquet")))
    assert out.filter(pl.col("id").str.starts_with("web/bom_cr.jsonl:")).height == 50
    assert out.height == acc["records_out"] and "ok" in out["text"].to_list()
