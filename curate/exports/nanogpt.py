"""``nanogpt``: ``RUN_DIR/tokens/``, the packed memmaps the bundled trainer reads.

The tokenize stage writes them itself (:class:`curate.io.tokens.TokenWriter`), whatever the
export list says; this entry only records them among the exports. A nanoGPT-style loader reads
``train.bin`` with ``np.memmap(path, dtype=index["dtype"]).reshape(-1, index["seq_len"])``.
"""

from __future__ import annotations

from typing import Any

from curate.exports.base import Export
from curate.io.tokens import dtype_for_vocab


class NanoGPTExport(Export):
    name = "nanogpt"

    def close(self) -> dict[str, Any]:
        split = self.info.split
        return {
            "dir": "tokens",
            "files": [f"{split}.bin", f"{split}.mask.bin", f"{split}.docs.bin", "index.json"],
            "dtype": dtype_for_vocab(self.info.vocab_size),
        }
