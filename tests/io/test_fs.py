"""Sources given as fsspec URLs (tested with file://, which needs no network) read like local paths."""

from __future__ import annotations

import gzip
import json
import os

import polars as pl
import pytest

from curate.errors import RecipeError
from curate.exec.pipe import run_recipe
from curate.io import fs
from curate.recipe import parse_recipe
from tests.conftest import write_jsonl
from tests.exec.test_pipe import tree_bytes


def corpus(root):
    data = root / "data"
    write_jsonl(data / "a.jsonl", [{"text": f"first file line {i}"} for i in range(30)], raw_lines=[b"{bad"])
    write_jsonl(data / "sub" / "b.jsonl", [{"text": f"second file line {i % 7}"} for i in range(30)])
    with gzip.open(data / "c.jsonl.gz", "wb") as f:
        f.write(b"".join(json.dumps({"text": f"zipped {i}"}).encode() + b"\n" for i in range(12)))
    pl.DataFrame({"text": [f"table row {i}" for i in range(9)]}).write_parquet(data / "d.parquet")
    return data


def test_urls_and_local_paths(tmp_path):
    data = corpus(tmp_path)
    url = f"file://{data}"
    assert fs.is_url(url + "/a.jsonl") and not fs.is_url(str(data / "a.jsonl"))
    assert fs.protocol("s3://bucket/x") == "s3" and fs.protocol("/x/y") is None
    local = fs.glob_files(f"{data}/**/*.jsonl")
    remote = fs.glob_files(f"{url}/**/*.jsonl")
    assert (
        [p.removeprefix("file://") for p in remote]
        == local
        == [str(data / "a.jsonl"), str(data / "sub/b.jsonl")]
    )
    assert fs.relative_names(remote) == fs.relative_names(local) == ["a.jsonl", "sub/b.jsonl"]
    assert fs.size(remote[0]) == os.path.getsize(local[0])
    with fs.open_binary(remote[0]) as f:
        assert f.read() == (data / "a.jsonl").read_bytes()
    before = fs.fingerprint(remote[0])
    assert before[1] == os.path.getsize(local[0])
    write_jsonl(data / "a.jsonl", [{"text": "changed"}])
    assert fs.fingerprint(remote[0]) != before


def test_a_url_without_its_fsspec_package_is_a_recipe_error():
    with pytest.raises(RecipeError, match="nosuchproto"):
        fs.glob_files("nosuchproto://bucket/*.jsonl")


@pytest.mark.parametrize("pattern", ["**/*.jsonl", "*.jsonl.gz", "*.parquet"])
def test_a_source_url_gives_the_bytes_a_local_path_gives(tmp_path, pattern):
    data = corpus(tmp_path)
    kind = "type: parquet, " if pattern.endswith("parquet") else ""
    runs = {}
    for name, root in (("local", str(data)), ("url", f"file://{data}")):
        text = f'name: {name}\nsources: [{{name: w, {kind}path: "{root}/{pattern}"}}]\nexecution: {{shard_mb: 0.0005}}\n'
        run_recipe(parse_recipe(text), run_dir=tmp_path / name / "run", workers=1)
        runs[name] = tmp_path / name / "run"
    local, url = tree_bytes(runs["local"] / "output"), tree_bytes(runs["url"] / "output")
    local.pop("README.md"), url.pop("README.md")  # the card names the source path
    assert len(local) >= 1 and local == url
    assert tree_bytes(runs["local"] / "rejected") == tree_bytes(runs["url"] / "rejected")


def test_a_url_matching_nothing_is_reported_before_any_work(tmp_path):
    from curate.recipe import check_sources_exist

    recipe = parse_recipe(f'name: n\nsources: [{{name: w, path: "file://{tmp_path}/none/*.jsonl"}}]\n')
    with pytest.raises(RecipeError, match="matched no file"):
        check_sources_exist(recipe.sources)


def test_a_directory_symlink_loop_reads_each_real_file_once(tmp_path):
    data = tmp_path / "data"
    write_jsonl(data / "a.jsonl", [{"text": "one"}])
    write_jsonl(data / "sub" / "b.jsonl", [{"text": "two"}])
    (data / "sub" / "loop").symlink_to(data, target_is_directory=True)
    (data / "sub" / "again").symlink_to(data / "sub", target_is_directory=True)
    (data / "alias.jsonl").symlink_to(data / "a.jsonl")
    expected = [str(data / "a.jsonl"), str(data / "sub" / "b.jsonl")]
    assert fs.glob_files(str(data / "**" / "*.jsonl")) == expected
    assert fs.glob_files(str(data / "**")) == expected
    assert fs.glob_files(str(data / "*.jsonl")) == [str(data / "a.jsonl")]
    from curate.io.readers import source_files
    from curate.recipe import Source

    both = Source(name="s", path=[str(data / "**" / "*.jsonl"), str(data / "sub" / "*.jsonl")])
    assert source_files(both) == expected
