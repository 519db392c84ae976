"""``autogate mrz ...``: read MRZs from images and parse MRZ text (JSON lines).

    autogate mrz read --json IMAGE...   one line per image:
        {"file", "lines", "valid", "format", "fields", "confidence", "failed_checks", "ms"}
        or {"file", "error"}; "lines" is null when no MRZ was found
    autogate mrz parse [--json] [--today YYYY-MM-DD] [LINE...]
        parse MRZ text given as arguments, or from stdin (one document, its lines)

Exit status: 0 when every image gave a valid reading (or the text parsed valid), 1 otherwise,
2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from typing import TextIO

from edge.mrz.errors import MrzError, MrzFormatError
from edge.mrz.parse import parse_mrz


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autogate mrz", description="Read and parse ICAO 9303 MRZs.")
    sub = parser.add_subparsers(dest="command", required=True)
    read = sub.add_parser("read", help="read the MRZ in each image")
    read.add_argument("images", nargs="+", metavar="IMAGE")
    read.add_argument("--json", action="store_true", help="one JSON object per image per line")
    read.add_argument("--today", type=date.fromisoformat, default=None, help="date for century inference")
    parse = sub.add_parser("parse", help="parse MRZ text (arguments or stdin)")
    parse.add_argument("lines", nargs="*", metavar="LINE")
    parse.add_argument("--json", action="store_true")
    parse.add_argument("--today", type=date.fromisoformat, default=None)
    return parser


def _read(args: argparse.Namespace, out: TextIO) -> int:
    from edge.imageload import DOCUMENT_LIMITS, ImageRefused, load_image
    from edge.mrz.reader import MrzReader

    reader = MrzReader()
    status = 0
    for path in args.images:
        try:
            image = load_image(path, limits=DOCUMENT_LIMITS)
        except ImageRefused as exc:
            _emit(out, args.json, {"file": path, "error": str(exc), "reason": exc.reason})
            status = 1
            continue
        start = time.perf_counter()
        try:
            reading = reader.read(image, today=args.today)
        except MrzError as exc:
            _emit(out, args.json, {"file": path, "error": str(exc)})
            status = 1
            continue
        ms = (time.perf_counter() - start) * 1000
        status |= 0 if reading.valid else 1
        _emit(out, args.json, {
            "file": path,
            "lines": list(reading.lines) if reading.lines else None,
            "valid": reading.valid,
            "format": reading.format,
            "fields": reading.mrz.fields() if reading.mrz else None,
            "confidence": reading.confidence,
            "failed_checks": list(reading.failed_checks),
            "ms": round(ms, 1),
        })
    return status


def _parse(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    text = args.lines or stdin.read()
    try:
        mrz = parse_mrz(text, today=args.today)
    except MrzFormatError as exc:
        _emit(out, args.json, {"error": str(exc)})
        return 1
    _emit(out, args.json, {
        "lines": list(mrz.lines), "valid": mrz.valid, "format": mrz.format, "fields": mrz.fields(),
        "optional_data": mrz.optional_data, "optional_data_2": mrz.optional_data_2,
        "failed_checks": list(mrz.failed_checks),
    })
    return 0 if mrz.valid else 1


def _emit(out: TextIO, as_json: bool, record: dict) -> None:
    if as_json:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return
    out.writelines(f"{key}: {value}\n" for key, value in record.items())
    out.write("\n")


def main(argv: list[str], *, out: TextIO | None = None, stdin: TextIO | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    out = out or sys.stdout
    if args.command == "read":
        return _read(args, out)
    return _parse(args, out, stdin or sys.stdin)
