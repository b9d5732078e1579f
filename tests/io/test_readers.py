"""Readers: every input shape, every kind of bad line, splitting and streaming."""

from __future__ import annotations

import gzip
import json
from typing import get_args

import polars as pl
import pytest
import zstandard

from curate.io.readers import READERS, plan_pieces, read_piece
from curate.io.sources import Source, SourceType
from tests.conftest import write_jsonl


def read_all(source: Source, shard_bytes: int = 1 << 20) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    records, bad, counters = [], [], {}
    for piece in plan_pieces([source], shard_bytes=shard_bytes):
        for chunk in read_piece(piece, source, shard_bytes=shard_bytes):
            records.append(chunk.records)
            bad.append(chunk.bad)
            for k, v in chunk.counters.items():
                counters[k] = counters.get(k, 0) + v
    return pl.concat(records), pl.concat(bad), counters


BAD_LINES = [
    (b"{not json", "bad_input:invalid_json"),
    (b'{"text": "caf\xe9 au lait"}', "bad_input:invalid_utf8"),
    (b'{"title": "no text here"}', "bad_input:missing_text"),
    (b'{"text": null}', "bad_input:null_text"),
    (b'{"text": 42}', "bad_input:not_a_string"),
    (b'{"text": ["a", "list"]}', "bad_input:not_a_string"),
    (b'{"text": "   "}', "bad_input:empty_text"),
    (b'["an", "array"]', "bad_input:not_an_object:list"),
    (b'{"text": "ok"} trailing', "bad_input:invalid_json"),
    (b'{"text": "\\ud800 lone surrogate"}', "bad_input:invalid_json"),
]


@pytest.mark.parametrize(("line", "reason"), BAD_LINES)
def test_each_bad_line_is_quarantined_with_its_reason(tmp_path, line, reason):
    path = write_jsonl(tmp_path / "a.jsonl", [{"text": "good one"}, line, {"text": "good two"}])
    records, bad, _ = read_all(Source(name="web", path=str(path)))
    assert records["text"].to_list() == ["good one", "good two"]
    assert records["id"].to_list() == ["web/a.jsonl:1", "web/a.jsonl:3"]
    assert bad.select("reason", "line", "id").row(0) == (reason, 2, "web/a.jsonl:2")
    assert bad["raw"][0] is not None


def test_oversized_records_are_quarantined_not_loaded(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [{"text": "x" * 5000}, {"text": "small"}])
    records, bad, _ = read_all(Source(name="web", path=str(path), max_record_bytes=1000))
    assert records["text"].to_list() == ["small"]
    assert bad["reason"].to_list() == ["bad_input:too_large"]
    assert len(bad["raw"][0]) <= 2000


def test_blank_lines_are_counted_not_records(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [{"text": "a"}], raw_lines=[b"", b"   ", b'{"text": "b"}'])
    records, bad, counters = read_all(Source(name="web", path=str(path)))
    assert records.height == 2 and bad.height == 0 and counters["blank_lines"] == 2
    assert records["id"].to_list() == ["web/a.jsonl:1", "web/a.jsonl:4"]


def test_other_fields_are_kept_in_meta_and_id_field_is_used(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [{"doc": "hello", "key": 7, "url": "http://x", "score": 0.5}])
    records, _, _ = read_all(Source(name="s", path=str(path), text_field="doc", id_field="key"))
    assert records.row(0, named=True)["id"] == "7"
    assert json.loads(records["meta"][0]) == {"url": "http://x", "score": 0.5}


def test_compressed_inputs_read_the_same(tmp_path):
    rows = [{"text": f"line {i}"} for i in range(50)]
    plain = write_jsonl(tmp_path / "p/a.jsonl", rows)
    (tmp_path / "g").mkdir()
    (tmp_path / "z").mkdir()
    (tmp_path / "g/a.jsonl.gz").write_bytes(gzip.compress(plain.read_bytes()))
    (tmp_path / "z/a.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(plain.read_bytes()))
    texts = [read_all(Source(name="s", path=str(tmp_path / d / "*")))[0]["text"].to_list() for d in "pgz"]
    assert texts[0] == texts[1] == texts[2] == [r["text"] for r in rows]


def lines_of(n: int, width: int = 0) -> bytes:
    return b"".join(json.dumps({"text": f"doc {i} " + "w" * width}).encode() + b"\n" for i in range(n))


def test_truncated_gzip_is_quarantined_not_a_crash(tmp_path):
    data = gzip.compress(lines_of(2000))
    (tmp_path / "a.jsonl.gz").write_bytes(data[: len(data) // 2])
    records, bad, counters = read_all(Source(name="s", path=str(tmp_path / "a.jsonl.gz")))
    assert 0 < records.height < 2000
    assert bad["reason"].to_list() == ["bad_input:truncated"] and counters["truncated_files"] == 1
    assert bad["line"][0] == records.height + 1 and bad["id"][0] == "s/a.jsonl.gz"


@pytest.mark.parametrize("frames", [1, 7])
def test_truncated_zstd_is_reported_not_read_as_shorter(tmp_path, frames):
    data = lines_of(800, width=40)
    step = -(-len(data) // frames)
    parts = [data[i : i + step] for i in range(0, len(data), step)]
    whole = b"".join(zstandard.ZstdCompressor().compress(p) for p in parts)
    (tmp_path / "whole.jsonl.zst").write_bytes(whole)
    records, bad, _ = read_all(Source(name="s", path=str(tmp_path / "whole.jsonl.zst")))
    assert records.height == 800 and bad.height == 0  # every frame of a multi-frame file is read
    (tmp_path / "cut.jsonl.zst").write_bytes(whole[: len(whole) * 2 // 3])
    records, bad, counters = read_all(Source(name="s", path=str(tmp_path / "cut.jsonl.zst")))
    assert bad["reason"].to_list() == ["bad_input:truncated"] and counters["truncated_files"] == 1
    assert bad["line"][0] == records.height + 1
    assert "byte" in bad["error"][0] and "EOFError" in bad["error"][0]


def _corrupt(data: bytes, at: float) -> bytes:
    damaged = bytearray(data)
    for i in range(int(len(damaged) * at), int(len(damaged) * at) + 16):
        damaged[i] ^= 0x5A
    return bytes(damaged)


def test_corrupt_compressed_files_are_quarantined_and_the_other_files_read(tmp_path):
    data = lines_of(20_000, width=40)
    gz = gzip.compress(data)
    zst = zstandard.ZstdCompressor(write_checksum=True).compress(data)
    (tmp_path / "a.jsonl.gz").write_bytes(_corrupt(gz, 0.5))
    (tmp_path / "b.jsonl.zst").write_bytes(_corrupt(zst, 0.5))
    write_jsonl(tmp_path / "c.jsonl", [{"text": "fine"}])
    records, bad, counters = read_all(Source(name="s", path=str(tmp_path / "*")))
    file_level = bad.filter(pl.col("reason") == "bad_input:unreadable_file")
    assert file_level["file"].to_list() == ["a.jsonl.gz", "b.jsonl.zst"]
    assert counters["unreadable_files"] == 2
    assert "fine" in records["text"].to_list()
    gz_read = records.filter(pl.col("id").str.starts_with("s/a.jsonl.gz")).height
    assert gz_read > 1000  # the lines before the damaged block are kept


def test_corrupt_parquet_page_is_quarantined_with_the_rows_reached(tmp_path):
    frame = pl.DataFrame({"text": [f"document {i} " * 20 for i in range(5000)]})
    frame.write_parquet(tmp_path / "a.parquet", compression="uncompressed", row_group_size=1000)
    data = (tmp_path / "a.parquet").read_bytes()
    at = len(data) // 2
    (tmp_path / "a.parquet").write_bytes(data[:at] + b"\xff" * 200 + data[at + 200 :])  # string lengths
    records, bad, counters = read_all(Source(name="pq", path=str(tmp_path / "a.parquet")))
    assert bad["reason"].to_list() == ["bad_input:unreadable_file"]
    assert counters["unreadable_files"] == 1 and bad["line"][0] == records.height + 1
    (tmp_path / "b.parquet").write_bytes(data[: len(data) // 2])  # no footer: nothing readable
    records, bad, _ = read_all(Source(name="pq", path=str(tmp_path / "b.parquet")))
    assert records.height == 0 and bad["reason"].to_list() == ["bad_input:unreadable_file"]


def test_strict_source_stops_on_a_damaged_file(tmp_path):
    from curate.errors import InputError

    data = gzip.compress(lines_of(2000))
    (tmp_path / "a.jsonl.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"a\.jsonl\.gz is truncated, stopped at line \d+ .*unset `strict`"):
        read_all(Source(name="s", path=str(tmp_path / "a.jsonl.gz"), strict=True))


def test_a_record_no_validator_foresaw_is_quarantined_not_fatal(tmp_path):
    deep: object = "bottom"
    for _ in range(300):
        deep = [deep]
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [
            {"instruction": "q", "output": "a", "history": 1.5},
            {"instruction": "q", "output": "a", "nested": deep},
            {"instruction": "q", "output": "a"},
        ],
    )
    records, bad, _ = read_all(Source(name="s", path=str(path), format="alpaca"))
    assert bad.select("line", "reason").rows() == [(1, "bad_chat:not_a_list")]
    assert records.height == 2 and json.loads(records["meta"][0])["nested"] == deep


def test_utf8_bom_is_not_part_of_the_first_record(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(b"\xef\xbb\xbf" + lines_of(3))
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(b"\xef\xbb\xbf" + lines_of(3)))
    records, bad, _ = read_all(Source(name="s", path=str(tmp_path / "*")))
    assert bad.height == 0 and records["text"].to_list() == ["doc 0 ", "doc 1 ", "doc 2 "] * 2


@pytest.mark.parametrize("ending", [b"\r", b"\r\n", b"\n"])
def test_every_line_ending_style_gives_one_record_per_line(tmp_path, ending):
    path = tmp_path / "a.jsonl"
    path.write_bytes(lines_of(40).replace(b"\n", ending))
    records, bad, _ = read_all(Source(name="s", path=str(path)))
    assert bad.height == 0 and records.height == 40 and records["id"][39] == "s/a.jsonl:40"
    split, _, _ = read_all(Source(name="s", path=str(path)), shard_bytes=200)  # split at line breaks
    assert split.equals(records)


def test_a_line_without_end_is_quarantined_without_holding_it(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"text": "' + b"x" * 3_000_000 + b'"}\r\n' + lines_of(2))
    records, bad, _ = read_all(Source(name="s", path=str(path), max_record_bytes=1000))
    assert bad.select("line", "reason").rows() == [(1, "bad_input:too_large")]
    assert "line of 30000" in bad["error"][0] and len(bad["raw"][0]) <= 2000
    assert records["id"].to_list() == ["s/a.jsonl:2", "s/a.jsonl:3"]


def test_splitting_a_big_file_keeps_ids_and_order(tmp_path):
    rows = [{"text": f"document number {i} " + "pad " * (i % 13)} for i in range(3000)]
    path = write_jsonl(tmp_path / "big.jsonl", rows)
    source = Source(name="s", path=str(path))
    whole, _, _ = read_all(source, shard_bytes=1 << 30)
    pieces = plan_pieces([source], shard_bytes=10_000)
    assert len(pieces) > 5
    split, _, _ = read_all(source, shard_bytes=10_000)
    assert split.equals(whole)
    assert split["id"][2999] == "s/big.jsonl:3000"


def test_reading_streams_in_chunks_of_about_shard_bytes(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl.gz", [])
    path.write_bytes(
        gzip.compress(b"".join(json.dumps({"text": "x" * 100}).encode() + b"\n" for _ in range(1000)))
    )
    source = Source(name="s", path=str(path))
    (piece,) = plan_pieces([source], shard_bytes=10_000)
    chunks = list(read_piece(piece, source, shard_bytes=10_000))
    assert len(chunks) >= 9 and all(c.records.height <= 100 for c in chunks)
    assert sum(c.records.height for c in chunks) == 1000


def test_small_files_are_grouped_and_limit_stops_early(tmp_path):
    for i in range(5):
        write_jsonl(tmp_path / f"f{i}.jsonl", [{"text": f"file {i} row {j}"} for j in range(10)])
    source = Source(name="s", path=str(tmp_path / "*.jsonl"))
    assert len(plan_pieces([source], shard_bytes=1 << 20)) == 1
    limited, _, _ = read_all(Source(name="s", path=str(tmp_path / "*.jsonl"), limit=23))
    assert limited.height == 23 and limited["text"][22] == "file 2 row 2"


def test_parquet_and_hf_disk_sources(tmp_path):
    import datasets

    frame = pl.DataFrame({"content": ["alpha text", None, "gamma text"], "n": [1, 2, 3]})
    frame.write_parquet(tmp_path / "a.parquet")
    records, bad, _ = read_all(Source(name="pq", path=str(tmp_path / "*.parquet"), text_field="content"))
    assert records["text"].to_list() == ["alpha text", "gamma text"]
    assert bad["reason"].to_list() == ["bad_input:null_text"]
    assert records["id"].to_list() == ["pq/a.parquet:1", "pq/a.parquet:3"]

    datasets.Dataset.from_dict({"text": ["one", "two"], "label": [0, 1]}).save_to_disk(str(tmp_path / "hf"))
    source = Source(name="hf", path=str(tmp_path / "hf"))
    assert source.resolved_type() == "hf_disk"
    records, _, _ = read_all(source)
    assert records["text"].to_list() == ["one", "two"]
    assert json.loads(records["meta"][1]) == {"label": 1}


def test_hf_load_dataset_on_local_files_never_the_network(tmp_path, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")
    write_jsonl(tmp_path / "d/a.jsonl", [{"body": "first text", "n": 1}, {"body": "second text", "n": 2}])
    source = Source(
        name="hub", path="json", type="hf", data_files=str(tmp_path / "d/a.jsonl"), text_field="body"
    )
    records, bad, _ = read_all(source)
    assert records["text"].to_list() == ["first text", "second text"] and bad.height == 0
    missing = Source(name="hub", path="some-org/not-cached-anywhere", type="hf")
    from curate.errors import InputError

    with pytest.raises(InputError, match="cannot load HF dataset 'some-org/not-cached-anywhere'"):
        read_all(missing)


def test_every_source_type_has_one_reader_and_every_reader_a_type():
    assert list(READERS) == list(get_args(SourceType))
