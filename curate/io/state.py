"""Global-stage partials and states on disk, in a format that cannot run code when read.

A run directory is data a user may have copied from anywhere, so nothing read back from it may
execute code (pickle does: a swapped ``_state.pkl`` ran its payload on ``--resume``). A state file
is an ``.npz`` archive read with ``allow_pickle=False``: a JSON tree (``__tree__``) that describes
the object and refers to numbered arrays (``a0``, ``a1``...) for numpy arrays, numpy scalars and
bytes; polars Series and DataFrames are stored as Arrow IPC bytes.

The tree holds None, bool, int, float and str as themselves, lists as JSON arrays, and every other
value as a one-key object: ``{"t": [...]}`` a tuple, ``{"s": [...]}`` a set, ``{"d": [[k, v],
...]}`` a dict (any keys), ``{"b": i}`` bytes, ``{"n": i}`` a numpy array, ``{"g": i}`` a numpy
scalar, ``{"series": i}`` / ``{"frame": i}`` polars data, ``{"dc": "module:Name", "f": {...}}`` a
dataclass. Dataclasses are rebuilt only for types on an explicit allowlist: curate's own (below)
and those a plugin adds with :func:`register`; any other name is refused, never imported.
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from curate.errors import RunDirError
from curate.io.writers import write_atomic

TREE = "__tree__"

CURATE_TYPES = frozenset(
    {
        "curate.stages.dedupe.graph:DedupePartial",
        "curate.stages.dedupe.graph:ShardDrops",
        "curate.stages.dedupe.graph:DedupeState",
        "curate.stages.dedupe.stage:CandidateShingles",
        "curate.stages.dedupe.graph:Pending",
        "curate.stages.dedupe.graph:Graph",
        "curate.stages.dedupe.graph:Layout",
        "curate.stages.dedupe.lines:RepeatedUnits",
        "curate.stages.dedupe.lines:UnitCounts",
        "curate.stages.dedupe.shingles:Shingles",
        "curate.stages.dedupe.substrings:DedupeRescan",
        "curate.stages.dedupe.substrings:SubstringSpans",
        "curate.stages.dedupe.substrings:SubstringState",
        "curate.stages.dedupe.substrings:SubstringTexts",
        "curate.stages.mix:MixPartial",
        "curate.stages.mix:MixPlan",
        "curate.stages.mix:SourcePlan",
        "curate.stages.tokenize:Sample",
        "curate.stages.tokenize:TokenizerState",
    }
)
"""The dataclasses curate's global stages keep in partials and states."""

_registered: dict[str, type] = {}


def type_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def register(cls: type) -> type:
    """Allow a plugin stage's dataclass in its partials or state (usable as a class decorator)."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"only dataclasses can be registered as state types, not {cls!r}")
    _registered[type_name(cls)] = cls
    return cls


def _allowed(name: str) -> type:
    if name in _registered:
        return _registered[name]
    if name in CURATE_TYPES:
        module, _, qualname = name.partition(":")
        cls = getattr(importlib.import_module(module), qualname)
        if dataclasses.is_dataclass(cls):
            return cls
    raise RunDirError(f"refusing type {name!r}: not a state type curate knows (curate.io.state.register)")


# --- writing ---------------------------------------------------------------------------------


class _Encoder:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def _add(self, array: np.ndarray) -> int:
        index = len(self.arrays)
        self.arrays[f"a{index}"] = array
        return index

    def encode(self, obj: Any) -> Any:
        if obj is None or (isinstance(obj, (bool, int, float, str)) and type(obj) in (bool, int, float, str)):
            return obj
        if isinstance(obj, list):
            return [self.encode(v) for v in obj]
        if isinstance(obj, tuple) and type(obj) is tuple:
            return {"t": [self.encode(v) for v in obj]}
        if isinstance(obj, (set, frozenset)):
            return {"s": [self.encode(v) for v in obj]}
        if isinstance(obj, dict):
            return {"d": [[self.encode(k), self.encode(v)] for k, v in obj.items()]}
        if isinstance(obj, (bytes, bytearray)):
            return {"b": self._add(np.frombuffer(bytes(obj), dtype=np.uint8))}
        if isinstance(obj, np.ndarray):
            if obj.dtype.hasobject:
                raise TypeError("numpy arrays of Python objects cannot be stored without pickle")
            return {"n": self._add(obj)}
        if isinstance(obj, np.generic):
            return {"g": self._add(np.asarray(obj))}
        if isinstance(obj, pl.Series):
            return {"series": self._add(_ipc(obj.to_frame()))}
        if isinstance(obj, pl.DataFrame):
            return {"frame": self._add(_ipc(obj))}
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            name = type_name(type(obj))
            _allowed(name)  # refuse at write time what could not be read back
            fields = {f.name: self.encode(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
            return {"dc": name, "f": fields}
        raise TypeError(f"cannot store a {type(obj).__name__} in a state file (see curate.io.state)")


def _ipc(frame: pl.DataFrame) -> np.ndarray:
    buffer = io.BytesIO()
    frame.write_ipc(buffer)
    return np.frombuffer(buffer.getvalue(), dtype=np.uint8)


def _write(obj: Any, file: Any) -> None:
    encoder = _Encoder()
    tree = json.dumps(encoder.encode(obj), separators=(",", ":")).encode()
    np.savez(file, **{TREE: np.frombuffer(tree, dtype=np.uint8)}, **encoder.arrays)


def dumps(obj: Any) -> bytes:
    """``obj`` as the bytes of a state file."""
    buffer = io.BytesIO()
    _write(obj, buffer)
    return buffer.getvalue()


def save(obj: Any, path: str | os.PathLike) -> Path:
    """Write ``obj`` to ``path`` atomically (a TypeError names what cannot be stored)."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            _write(obj, f)

    return write_atomic(path, write)


def loads(data: bytes) -> Any:
    """The object stored in the bytes of a state file."""
    return load(io.BytesIO(data))


# --- reading ---------------------------------------------------------------------------------


class _Decoder:
    def __init__(self, archive: Any) -> None:
        self.archive = archive

    def _array(self, index: Any) -> np.ndarray:
        if not isinstance(index, int) or isinstance(index, bool):
            raise ValueError(f"bad array reference {index!r}")
        return self.archive[f"a{index}"]

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict) or len(node) not in (1, 2):
            raise ValueError(f"bad node {str(node)[:80]!r}")
        if "dc" in node:
            cls = _allowed(str(node["dc"]))
            values = node.get("f")
            if not isinstance(values, dict):
                raise ValueError(f"bad fields of {node['dc']!r}")
            fields = {f.name: f for f in dataclasses.fields(cls)}
            if set(values) - set(fields):
                raise ValueError(f"{node['dc']!r} has no fields {sorted(set(values) - set(fields))}")
            decoded = {k: self.decode(v) for k, v in values.items()}
            obj = cls(**{k: v for k, v in decoded.items() if fields[k].init})
            for k, v in decoded.items():
                if not fields[k].init:
                    object.__setattr__(obj, k, v)
            return obj
        ((tag, value),) = node.items()
        if tag == "t":
            return tuple(self.decode(v) for v in value)
        if tag == "s":
            return {self.decode(v) for v in value}
        if tag == "d":
            return {self.decode(k): self.decode(v) for k, v in value}
        if tag == "b":
            return self._array(value).tobytes()
        if tag == "n":
            return self._array(value)
        if tag == "g":
            return self._array(value)[()]
        if tag == "series":
            return pl.read_ipc(io.BytesIO(self._array(value).tobytes())).to_series()
        if tag == "frame":
            return pl.read_ipc(io.BytesIO(self._array(value).tobytes()))
        raise ValueError(f"unknown node {tag!r}")


def load(path: str | os.PathLike | io.BytesIO) -> Any:
    """The object stored in the state file at ``path``; a file that is not one is a RunDirError."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            tree = json.loads(archive[TREE].tobytes())
            return _Decoder(archive).decode(tree)
    except RunDirError as exc:
        raise RunDirError(
            f"{path}: {exc}; delete the stage's directory under stages/ to recompute it"
        ) from None
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, pl.exceptions.PolarsError) as exc:
        raise RunDirError(
            f"{path} is not a readable curate state file ({type(exc).__name__}: {exc}); "
            "delete the stage's directory under stages/ to recompute it"
        ) from None
