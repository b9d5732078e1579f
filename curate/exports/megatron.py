"""``megatron``: Megatron-LM's indexed dataset, ``exports/megatron/<split>.bin`` + ``.idx``.

What ``megatron.core.datasets.indexed_dataset.IndexedDataset("exports/megatron/train")`` reads
(the layout its ``IndexedDatasetBuilder`` writes, learnt from megatron-core 0.16):

- ``.bin``: every document's token ids one after the other, in the index's dtype.
- ``.idx``, little-endian: the magic ``b"MMIDIDX\\x00\\x00"``, version ``1`` (uint64), the dtype
  code (uint8: 8 = uint16, 4 = int32), the sequence count ``n`` and the document count ``n + 1``
  (uint64 each), then ``n`` int32 sequence lengths, ``n`` int64 byte offsets of each sequence in
  the ``.bin``, and the int64 document indices ``0, 1, ..., n`` (each document is one sequence).

The dtype is megatron's own choice for a vocabulary (``DType.optimal_dtype``): uint16 below
65,500 ids, int32 above. Documents are the records as they enter the packed rows: plain
documents whole (each ends with the end-of-document token), conversations (and the chosen side
of preference pairs) as tokenized, truncated to ``seq_len`` where ``tokens/`` truncates them.
Megatron's GPT dataset packs documents into samples itself; loss masks are not part of the
format (Megatron masks only end-of-document tokens, ``--eod-mask-loss``).

Streaming: tokens go to the ``.bin`` as they come, lengths to a temporary file; ``close``
writes the ``.idx`` from it in chunks. Nothing grows with the corpus in memory.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import IO, Any

import numpy as np

from curate.exports.base import Export, ExportInfo, export_dir, temporary

MAGIC = b"MMIDIDX\x00\x00"
VERSION = 1
DTYPE_CODES = {np.dtype(np.uint16): 8, np.dtype(np.int32): 4}
CHUNK = 1 << 20
"""Sequences per chunk when writing the index."""


def megatron_dtype(vocab_size: int) -> np.dtype:
    """The dtype megatron-core picks for a vocabulary (``DType.optimal_dtype``)."""
    return np.dtype(np.uint16) if vocab_size < 65500 else np.dtype(np.int32)


class IndexedDatasetWriter:
    """Write one ``prefix.bin`` + ``prefix.idx``, one document (= one sequence) at a time."""

    def __init__(self, prefix: Path, *, dtype: np.dtype) -> None:
        self.dtype = np.dtype(dtype)
        if self.dtype not in DTYPE_CODES:
            raise ValueError(f"megatron index dtype must be one of {list(map(str, DTYPE_CODES))}")
        self.bin, self.idx = prefix.with_name(prefix.name + ".bin"), prefix.with_name(prefix.name + ".idx")
        self.lengths_path = prefix.with_name(prefix.name + ".lengths.tmp")
        self._bin: IO[bytes] = open(temporary(self.bin), "wb")  # noqa: SIM115 - closed in close/abort
        self._lengths: IO[bytes] = open(self.lengths_path, "wb")  # noqa: SIM115
        self.documents = self.tokens = 0
        self._limit = np.iinfo(self.dtype).max

    def add(self, ids: np.ndarray) -> None:
        if ids.size and int(ids.max()) > self._limit:
            raise ValueError(f"token id {int(ids.max())} does not fit the megatron dtype {self.dtype}")
        self._bin.write(np.ascontiguousarray(ids, dtype=self.dtype).tobytes())
        self._lengths.write(np.int32(ids.size).tobytes())
        self.documents += 1
        self.tokens += ids.size

    def close(self) -> None:
        for f in (self._bin, self._lengths):
            f.flush()
            f.close()
        n = self.documents
        itemsize = self.dtype.itemsize
        with open(temporary(self.idx), "wb") as idx:
            idx.write(MAGIC)
            idx.write(struct.pack("<Q", VERSION))
            idx.write(struct.pack("<B", DTYPE_CODES[self.dtype]))
            idx.write(struct.pack("<Q", n))
            idx.write(struct.pack("<Q", n + 1))
            lengths = np.memmap(self.lengths_path, dtype="<i4", mode="r") if n else np.zeros(0, "<i4")
            for start in range(0, n, CHUNK):
                idx.write(np.asarray(lengths[start : start + CHUNK], dtype="<i4").tobytes())
            pointer = 0
            for start in range(0, n, CHUNK):
                chunk = np.asarray(lengths[start : start + CHUNK], dtype=np.int64) * itemsize
                ends = np.cumsum(chunk) + pointer
                idx.write((ends - chunk).astype("<i8").tobytes())
                pointer = int(ends[-1])
            for start in range(0, n + 1, CHUNK):
                idx.write(np.arange(start, min(start + CHUNK, n + 1), dtype="<i8").tobytes())
            del lengths
            idx.flush()
            os.fsync(idx.fileno())
        os.replace(temporary(self.bin), self.bin)
        os.replace(temporary(self.idx), self.idx)
        self.lengths_path.unlink()

    def abort(self) -> None:
        for f in (self._bin, self._lengths):
            f.close()
        for path in (temporary(self.bin), temporary(self.idx), self.lengths_path):
            path.unlink(missing_ok=True)


class MegatronExport(Export):
    name = "megatron"

    def __init__(self, info: ExportInfo) -> None:
        super().__init__(info)
        self.directory = export_dir(info, self.name)
        self.writer = IndexedDatasetWriter(self.directory / info.split, dtype=megatron_dtype(info.vocab_size))

    def add_record(self, ids: np.ndarray, mask: np.ndarray) -> None:
        self.writer.add(ids)

    def close(self) -> dict[str, Any]:
        self.writer.close()
        return {
            "dir": f"exports/{self.name}",
            "prefix": self.info.split,
            "files": [self.writer.bin.name, self.writer.idx.name],
            "dtype": str(self.writer.dtype),
            "documents": self.writer.documents,
            "tokens": self.writer.tokens,
        }

    def abort(self) -> None:
        self.writer.abort()
