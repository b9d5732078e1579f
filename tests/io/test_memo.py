"""The process-memory memo: a file is loaded once per version, and again once it is replaced."""

from __future__ import annotations

from curate.io.memo import once_per_file_version


def counting_loader():
    calls: list[tuple] = []

    @once_per_file_version(maxsize=4)
    def load(paths, *args):
        calls.append((paths, *args))
        return len(calls)

    return load, calls


def test_a_file_is_loaded_once_per_version_and_again_when_replaced(tmp_path):
    load, calls = counting_loader()
    path = tmp_path / "model.bin"
    path.write_bytes(b"one")
    first = load(str(path))
    assert load(str(path)) == first
    assert len(calls) == 1
    path.write_bytes(b"a longer second model")  # another size: another version, whatever the clock
    assert load(str(path)) != first
    assert len(calls) == 2
    assert load.cache_info().misses == 2


def test_several_files_none_and_extra_arguments_are_part_of_the_key(tmp_path):
    load, calls = counting_loader()
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("{}\n")
    b.write_text("{}\n")
    both = (str(a), str(b))
    load(both)
    load(both)
    load(None)
    load(None)
    load(both, "keep-en")
    assert calls == [(both,), (None,), (both, "keep-en")]
    b.write_text("{}\n{}\n")
    load(both)
    assert calls[-1] == (both,) and len(calls) == 4
