"""Read an enrolment file into (row number, fields) pairs; ``service.import_items`` validates them.

Two formats carry the same field names (see ``service.EnrolmentIn``), templates in base64:

- JSON lines (``.jsonl``): one object per line; blank lines are skipped;
- CSV (``.csv``): a header row naming the fields; an empty cell means "not given".

A line that is not an object comes back as a string, so the validator reports it on its row.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Literal

Format = Literal["jsonl", "csv"]


def guess_format(name: str, text: str) -> Format:
    lowered = name.lower()
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if lowered.endswith(".csv"):
        return "csv"
    return "jsonl" if text.lstrip().startswith("{") else "csv"


def read_jsonl(text: str) -> list[tuple[int, Any]]:
    rows: list[tuple[int, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            rows.append((number, f"not JSON: {exc.msg}"))
    return rows


def read_csv(text: str) -> list[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    rows: list[tuple[int, Any]] = []
    for record in reader:
        # Row numbers count the header as row 1, as spreadsheets show them.
        fields = {key: value for key, value in record.items() if key is not None and value not in (None, "")}
        if None in record:
            fields["unexpected_column"] = "more cells than header fields"
        rows.append((reader.line_num, fields))
    return rows


def read(text: str, fmt: Format) -> list[tuple[int, Any]]:
    return read_jsonl(text) if fmt == "jsonl" else read_csv(text)
