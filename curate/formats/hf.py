"""Arrow tables with the plain types Hugging Face datasets use.

polars writes ``large_string`` and ``large_list``; ``datasets`` then reports ``LargeList`` /
``Value('large_string')`` features, which load fine but do not align with Hub datasets (e.g.
``concatenate_datasets`` with a TRL dataset from the Hub refuses them). :func:`hf_table` casts
to ``string`` / ``list``, so a written shard has exactly the features of the equivalent Hub set.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa


def plain_type(kind: pa.DataType) -> pa.DataType:
    """``kind`` with every large string/binary/list replaced by its 32-bit-offset form."""
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return pa.string()
    if pa.types.is_large_binary(kind) or pa.types.is_binary_view(kind):
        return pa.binary()
    if pa.types.is_large_list(kind) or pa.types.is_list_view(kind) or pa.types.is_list(kind):
        return pa.list_(pa.field(kind.value_field.name, plain_type(kind.value_type)))
    if pa.types.is_struct(kind):
        return pa.struct([pa.field(f.name, plain_type(f.type), f.nullable) for f in kind])
    return kind


def hf_table(frame: pl.DataFrame) -> pa.Table:
    """``frame`` as an Arrow table with Hugging Face's plain types (see the module docstring)."""
    table = frame.to_arrow()
    schema = pa.schema([pa.field(f.name, plain_type(f.type), f.nullable) for f in table.schema])
    return table.cast(schema)
