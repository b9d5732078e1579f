"""Reading compressed input: gzip and zstd streams, with truncation reported rather than hidden."""

from __future__ import annotations

import gzip
import io
from typing import Any, BinaryIO

from curate.io import fs


class OwnedGzip(gzip.GzipFile):
    """A GzipFile that also closes the file object it reads (local or fsspec)."""

    def close(self) -> None:
        raw = self.fileobj
        try:
            super().close()
        finally:
            if raw is not None:
                raw.close()


class ZstdReader(io.RawIOBase):
    """Decompresses a .zst stream of one or more frames; raises EOFError when the input ends inside
    a frame (python-zstandard's stream reader returns what it has and stops without a word)."""

    INPUT_BLOCK = 1 << 16

    def __init__(self, raw: BinaryIO) -> None:
        import zstandard

        self._zstd = zstandard
        self.raw = raw
        self._dobj = zstandard.ZstdDecompressor().decompressobj()
        self._in_frame = False
        self._pending = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending and not self._done:
            self._fill()
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _fill(self) -> None:
        data = self.raw.read(self.INPUT_BLOCK)
        if not data:
            self._done = True
            if self._in_frame:
                raise EOFError("zstd stream ended before the end of its frame (truncated file)")
            return
        out = []
        while data:
            self._in_frame = True
            out.append(self._dobj.decompress(data))
            if not self._dobj.eof:
                break
            data = self._dobj.unused_data  # the next frame (zstd files may hold several)
            self._dobj = self._zstd.ZstdDecompressor().decompressobj()
            self._in_frame = False
        self._pending = b"".join(out)

    def close(self) -> None:
        try:
            self.raw.close()
        finally:
            super().close()


def open_decompressed(path: str) -> BinaryIO:
    """A local path or URL opened for reading bytes, decompressed by its suffix (.gz, .zst)."""
    raw = fs.open_binary(path)
    if path.endswith(".gz"):
        return OwnedGzip(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if path.endswith(".zst"):
        return io.BufferedReader(ZstdReader(raw), 1 << 20)  # type: ignore[return-value]
    return raw
