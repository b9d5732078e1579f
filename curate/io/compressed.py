"""Reading compressed input: gzip and zstd streams, with truncation reported rather than hidden."""

from __future__ import annotations

import gzip
import io
from typing import Any, BinaryIO

from curate.io import fs

GZIP_MAGIC = b"\x1f\x8b"


class OwnedGzip(gzip.GzipFile):
    """A GzipFile that also closes the file object it reads (local or fsspec), and calls a file cut
    inside its two magic bytes truncated (EOFError), as gzip already does for the rest of the
    header, rather than "not a gzipped file"."""

    def read(self, size: int = -1) -> bytes:
        try:
            return super().read(size)
        except gzip.BadGzipFile as exc:
            raise self._cut_in_magic(exc) from exc

    def read1(self, size: int = -1) -> bytes:
        try:
            return super().read1(size)
        except gzip.BadGzipFile as exc:
            raise self._cut_in_magic(exc) from exc

    def _cut_in_magic(self, exc: Exception) -> Exception:
        raw = self.fileobj
        try:
            raw.seek(0)
            head = raw.read(3)
        except (OSError, ValueError):
            return exc
        if len(head) < 2 and GZIP_MAGIC.startswith(head):
            return EOFError("gzip file ended inside its header (truncated)")
        return exc

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
