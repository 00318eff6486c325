"""Readers for the import formats. Each yields `RawRow`s: a row's fields and where it came from.

- JSONL (`.jsonl`, `.ndjson`): one JSON object per line; blank lines are skipped.
- CSV (`.csv`): a header row with the field names; an empty cell is an absent field.
- A folder of Markdown files (`*.md`, not recursive): YAML front matter between `---` lines, then
  the body.
- Series definitions live next to the data: `series.yaml` / `series.yml` (a list of mappings) or
  `series.jsonl`, in the folder being imported or beside the imported file.

YAML is read with PyYAML's BaseLoader, so every scalar stays a string: `price: 9.90` is the text
"9.90" (no float rounding) and `title: no` is "no", not False.

Reading problems (bad JSON, no front matter, a cell too many, undecodable bytes) come back as a
`RawRow` with `error` set, so they are reported like any other bad row.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SERIES_FILES = ("series.yaml", "series.yml", "series.jsonl")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)^(?:---|\.\.\.)[ \t]*$\n?(.*)\Z", re.S | re.M)


@dataclass(frozen=True)
class RawRow:
    source: str  # the file, as a path
    line: int | None  # 1-based; None for a Markdown file (the file is the row)
    fields: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def article_rows(path: Path) -> Iterator[RawRow]:
    """The rows of an import path; ValueError for a path of no supported kind."""
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    if path.is_dir():
        return markdown_folder(path)
    if path.suffix.lower() in JSONL_SUFFIXES:
        return jsonl_file(path)
    if path.suffix.lower() == ".csv":
        return csv_file(path)
    raise ValueError(f"cannot import {path}: expected a .jsonl or .csv file, or a folder of .md files")


def series_rows(path: Path) -> Iterator[RawRow]:
    """The series defined next to an import path (in the folder, or beside the file)."""
    folder = path if path.is_dir() else path.parent
    for name in SERIES_FILES:
        file = folder / name
        if file.is_file() and file.resolve() != path.resolve():
            yield from (jsonl_file(file) if file.suffix == ".jsonl" else yaml_list_file(file))


def jsonl_file(path: Path) -> Iterator[RawRow]:
    source = str(path)
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, start=1):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                yield RawRow(source, number, error="not UTF-8 text")
                continue
            if not text.strip():
                continue
            yield _json_object(source, number, text)


def _json_object(source: str, number: int, text: str) -> RawRow:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return RawRow(source, number, error=f"invalid JSON: {exc.msg} (column {exc.colno})")
    if not isinstance(value, dict):
        return RawRow(source, number, error=f"expected a JSON object, got {type(value).__name__}")
    return RawRow(source, number, value)


def csv_file(path: Path) -> Iterator[RawRow]:
    """Rows keyed by the header; a quoted cell may span lines, and the row's first line is reported."""
    source = str(path)
    with path.open(encoding="utf-8-sig", newline="") as stream:
        reader = csv.reader(stream)
        try:
            header = [name.strip() for name in next(reader, [])]
            duplicated = sorted({name for name in header if header.count(name) > 1})
            if duplicated:
                yield RawRow(source, 1, error=f"header repeats {', '.join(map(repr, duplicated))}")
                return
            while True:
                line = reader.line_num + 1
                cells = next(reader, None)
                if cells is None:
                    return
                if any(cell.strip() for cell in cells):
                    yield _csv_row(source, line, header, cells)
        except (csv.Error, UnicodeDecodeError) as exc:
            yield RawRow(source, reader.line_num + 1, error=f"unreadable CSV, import stopped here: {exc}")


def _csv_row(source: str, line: int, header: list[str], cells: list[str]) -> RawRow:
    if len(cells) > len(header):
        return RawRow(source, line, error=f"{len(cells)} cells but the header has {len(header)} columns")
    return RawRow(source, line, {name: cell for name, cell in zip(header, cells) if cell.strip()})


def markdown_folder(folder: Path) -> Iterator[RawRow]:
    for file in sorted(folder.glob("*.md")):
        yield markdown_file(file)


def markdown_file(path: Path) -> RawRow:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return RawRow(source, None, error="not UTF-8 text")
    match = _FRONT_MATTER.match(text)
    if match is None:
        return RawRow(source, None, error="no YAML front matter (a '---' line first, another after it)")
    try:
        meta = yaml.load(match.group(1), Loader=yaml.BaseLoader) or {}
    except yaml.YAMLError as exc:
        return RawRow(source, None, error=f"bad front matter: {_yaml_problem(exc, offset=1)}")
    if not isinstance(meta, dict):
        return RawRow(source, None, error="front matter is not a mapping of field: value")
    if "body" in meta:
        return RawRow(source, None, error="'body' in the front matter: the body is the text after it")
    return RawRow(source, None, {**meta, "body": match.group(2)})


def yaml_list_file(path: Path) -> Iterator[RawRow]:
    """A YAML list of mappings; each item is reported at its own line."""
    source = str(path)
    try:
        loader = yaml.BaseLoader(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        yield RawRow(source, None, error="not UTF-8 text")
        return
    try:
        root = loader.get_single_node()
        if root is None:
            return
        if not isinstance(root, yaml.SequenceNode):
            yield RawRow(source, root.start_mark.line + 1, error="expected a list of series")
            return
        for node in root.value:
            value = loader.construct_document(node)
            line = node.start_mark.line + 1
            if isinstance(value, dict):
                yield RawRow(source, line, value)
            else:
                yield RawRow(source, line, error="expected a mapping of field: value")
    except yaml.YAMLError as exc:
        yield RawRow(source, None, error=f"bad YAML: {_yaml_problem(exc, offset=0)}")
    finally:
        loader.dispose()


def _yaml_problem(exc: yaml.YAMLError, offset: int) -> str:
    """PyYAML's message with its line number counted in the file (`offset` lines before the YAML)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return f"{problem} at line {mark.line + 1 + offset}" if mark else problem
