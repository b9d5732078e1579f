"""Reading what W&B wrote for an offline run, without W&B's server: the records of its
``run-*.wandb`` file (a LevelDB-style log of protobuf ``Record`` messages, wandb's own format,
parsed with wandb's own protobuf classes) gathered into config, history and summary."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BLOCK, HEADER = 32768, 7  # LevelDB log: 32 KiB blocks; each chunk: crc32, length (u16), type (u8)
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path: Path) -> list[Any]:
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B transaction log"
    out, pos, pending = [], HEADER, b""
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # a block's tail too short for a header is padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        if kind == 0 and length == 0:
            pos += left
            continue
        chunk = data[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        pending = chunk if kind in (FULL, FIRST) else pending + chunk
        if kind in (FULL, LAST):
            record = pb.Record()
            record.ParseFromString(pending)
            out.append(record)
            pending = b""
    return out


def _key(item: Any) -> str:
    return item.key or "/".join(item.nested_key)


@dataclass
class OfflineRun:
    directory: Path
    name: str = ""
    group: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    exit_code: int | None = None

    def curve(self, key: str) -> list[tuple[int, float]]:
        return [(row["_step"], row[key]) for row in self.history if key in row]


def read_offline_run(directory: Path) -> OfflineRun:
    (log,) = directory.glob("run-*.wandb")
    run = OfflineRun(directory)
    for record in records(log):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run.name = record.run.display_name or run.name  # later run records update only some fields
            run.group = record.run.run_group or run.group
            for item in record.run.config.update:
                run.config[_key(item)] = json.loads(item.value_json)
        elif kind == "config":
            for item in record.config.update:
                run.config[_key(item)] = json.loads(item.value_json)
        elif kind == "history":
            run.history.append({_key(i): json.loads(i.value_json) for i in record.history.item})
        elif kind == "summary":
            for item in record.summary.update:
                run.summary[_key(item)] = json.loads(item.value_json)
        elif kind == "files":
            run.files += [f.path for f in record.files.files]
        elif kind == "exit":
            run.exit_code = record.exit.exit_code
    return run


def offline_runs(root: Path) -> dict[str, OfflineRun]:
    """Every offline run under ``root/wandb/``, by name."""
    runs = [read_offline_run(d) for d in sorted((root / "wandb").glob("offline-run-*"))]
    return {r.name: r for r in runs}
