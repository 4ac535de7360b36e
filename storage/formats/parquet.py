"""Records as Parquet: one fixed Arrow schema, so shards written apart concatenate.

Typed columns for everything the schema fixes (a ranking is `list<struct<response,
rank>>`); free-form maps whose value types vary per project (`labels`, annotation
`values`, `provenance`, `meta`) are JSON text, decoded again on import.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from labeldesk.storage.files import atomic_path

JSON_TEXT_FIELDS = ("labels", "provenance", "meta")

_MEDIA_RANGE = pa.struct([("ref", pa.string()), ("start", pa.float64()), ("end", pa.float64())])
SCHEMA = pa.schema([
    ("schema", pa.string()),
    ("id", pa.string()),
    ("kind", pa.string()),
    ("messages", pa.list_(pa.struct([
        ("role", pa.string()), ("content", pa.string()), ("speaker", pa.string()), ("media", pa.list_(_MEDIA_RANGE)),
    ]))),
    ("responses", pa.list_(pa.struct([("id", pa.string()), ("content", pa.string()), ("source", pa.string())]))),
    ("ranking", pa.list_(pa.struct([("response", pa.string()), ("rank", pa.int32())]))),
    ("labels", pa.string()),
    ("spans", pa.list_(pa.struct([
        ("target", pa.string()), ("start", pa.int64()), ("end", pa.int64()), ("label", pa.string()),
        ("note", pa.string()), ("severity", pa.string()),
    ]))),
    ("segments", pa.list_(pa.struct([
        ("media", pa.string()), ("start", pa.float64()), ("end", pa.float64()), ("tier", pa.string()),
        ("label", pa.string()), ("text", pa.string()),
    ]))),
    ("safety", pa.struct([("verdict", pa.string()), ("categories", pa.list_(pa.string())), ("expected_behavior", pa.string())])),
    ("media", pa.list_(pa.struct([
        ("id", pa.string()), ("type", pa.string()), ("path", pa.string()), ("sha256", pa.string()), ("duration", pa.float64()),
    ]))),
    ("quality", pa.struct([
        ("status", pa.string()), ("annotators", pa.int32()), ("agreement", pa.float64()),
        ("reviewed_by", pa.list_(pa.string())), ("corrections", pa.int32()), ("method", pa.string()),
    ])),
    ("annotations", pa.list_(pa.struct([
        ("annotator", pa.string()), ("submitted_at", pa.string()), ("seconds", pa.float64()),
        ("guideline_version", pa.int32()), ("values", pa.string()),
    ]))),
    ("provenance", pa.string()),
    ("meta", pa.string()),
])


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _to_row(record: dict[str, Any]) -> dict[str, Any]:
    row = dict(record)
    for key in JSON_TEXT_FIELDS:
        row[key] = _json(record.get(key))
    if "annotations" in record:
        row["annotations"] = [{**a, "values": _json(a["values"])} for a in record["annotations"]]
    return row


def write_records(path: Path, records: Iterable[dict[str, Any]], batch: int = 20000) -> int:
    count = 0
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, SCHEMA, compression="zstd") as writer:
        rows: list[dict[str, Any]] = []
        for record in records:
            rows.append(_to_row(record))
            if len(rows) >= batch:
                writer.write_table(pa.Table.from_pylist(rows, schema=SCHEMA))
                count += len(rows)
                rows = []
        if rows or count == 0:
            writer.write_table(pa.Table.from_pylist(rows, schema=SCHEMA))
            count += len(rows)
    return count


def write_rows(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    """A training view as Parquet; its columns are inferred from the rows."""
    data = list(rows)
    with atomic_path(path) as tmp:
        pq.write_table(pa.Table.from_pylist(data), tmp, compression="zstd")
    return len(data)


def iter_file(path: Path) -> Iterator[dict[str, Any]]:
    for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
        yield from batch.to_pylist()
