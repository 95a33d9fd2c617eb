"""Where text classification data comes from: a HuggingFace Hub dataset (or its local cache), or
files on disk (carving missing splits and folds: ``src.data.splitting``).

Every loader returns a ``datasets.DatasetDict`` whose splits are named ``train`` / ``validation`` /
``test`` (any of them may be missing; ``TextDataModule`` carves what it needs) and records where
each split came from in ``origins`` (see :func:`origin`), so that a later error can name the file.

Bad input raises :class:`DataError` with one line naming the file, column, row or value. Rows are
counted from 1 and exclude a header line; for ``.txt`` files they are line numbers.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

import datasets
import pyarrow as pa

from src.utils.errors import UserError

log = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
SUPPORTED_EXTENSIONS = (".csv", ".tsv", ".json", ".jsonl", ".parquet", ".txt")
_TEXT_FORMATS = (".csv", ".tsv", ".json", ".jsonl", ".txt")
CHUNK_BYTES = 1 << 20  # files are hashed and UTF-8-checked this many bytes at a time (and CSV's first block)
MAX_BLOCK_BYTES = (1 << 31) - 1  # the largest block Arrow's CSV reader takes: one field of up to 2 GiB


class DataError(UserError, ValueError):
    """Bad input data, reported in one line naming the file, split, column, row or value."""


# --------------------------------------------------------------------------- origins
def with_origins(data: datasets.DatasetDict, origins: Mapping[str, str]) -> datasets.DatasetDict:
    """Attach ``{split: where it came from}`` to ``data`` (read back with :func:`origin`)."""
    data.origins = dict(origins)
    return data


def origin(data: datasets.DatasetDict, split: str) -> str:
    """Where ``split`` came from (a file path, a Hub id), or '' when the source did not say."""
    return getattr(data, "origins", {}).get(split, "")


# --------------------------------------------------------------------------- HuggingFace Hub
def load_hub(
    path: str,
    name: str | None = None,
    revision: str | None = None,
    splits: Mapping[str, str] | None = None,
    columns: Mapping[str, str] | None = None,
    cache_dir: str | None = None,
    **load_kwargs,
) -> datasets.DatasetDict:
    """``datasets.load_dataset(path, name, revision=...)`` with its splits and columns renamed to ours.

    ``splits`` maps our split name to the dataset's (e.g. ``{train: train, test: validation}`` for
    GLUE SST-2, whose test split has no labels); splits not named are dropped. By default the
    dataset's ``train`` / ``validation`` / ``test`` are taken as they are. ``columns`` maps our
    column name to the dataset's (e.g. ``{text: sentence, label: label}``): only those columns are
    kept, under our names, so a Hub set and a local folder of ``text,label`` CSVs read alike
    (features such as ``ClassLabel`` names are kept). The first call downloads
    into the HF cache; later calls read the cache, and ``HF_DATASETS_OFFLINE=1`` (or
    ``HF_HUB_OFFLINE=1``) makes ``datasets`` never touch the network. ``path`` may also be a local
    folder laid out like a Hub dataset repository.
    """
    try:
        loaded = datasets.load_dataset(path, name, revision=revision, cache_dir=cache_dir, **load_kwargs)
    except Exception as exc:
        offline = " with HF_DATASETS_OFFLINE=1 (is it in the HF cache?)" if datasets.config.HF_HUB_OFFLINE else ""
        what = path + (f" ({name})" if name else "") + (f" @ {revision}" if revision else "")
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"could not load Hub dataset {what}{offline}: {detail}") from exc
    mapping = dict(splits) if splits else {s: s for s in SPLITS if s in loaded}
    unknown = [ours for ours in mapping if ours not in SPLITS]
    if unknown:
        raise DataError(f"{path}: unknown split name {unknown[0]!r} in splits (use {', '.join(SPLITS)})")
    missing = [theirs for theirs in mapping.values() if theirs not in loaded]
    if missing:
        raise DataError(f"{path}: no split {missing[0]!r} (splits: {', '.join(loaded)})")
    label = path + (f"/{name}" if name else "")
    out = datasets.DatasetDict({ours: loaded[theirs] for ours, theirs in mapping.items()})
    if columns:
        out = datasets.DatasetDict(
            {split: _rename_columns(ds, columns, f"{label} [{mapping[split]}]") for split, ds in out.items()}
        )
    return with_origins(out, {ours: f"{label} [{theirs}]" for ours, theirs in mapping.items()})


def _rename_columns(ds: datasets.Dataset, columns: Mapping[str, str], where: str) -> datasets.Dataset:
    """Keep ``columns`` (ours: theirs) of ``ds`` under our names."""
    missing = [theirs for theirs in columns.values() if theirs not in ds.column_names]
    if missing:
        raise DataError(
            f"{where}: no column {missing[0]!r} (columns: {', '.join(ds.column_names)}); set data.source.columns"
        )
    kept = ds.select_columns(list(dict.fromkeys(columns.values())))
    renamed = {theirs: ours for ours, theirs in columns.items() if ours != theirs}
    return kept.rename_columns(renamed) if renamed else kept


# --------------------------------------------------------------------------- local files
class LocalFiles:
    """Local files as a source: calling it reads them into a ``datasets.DatasetDict``.

    ``.csv`` (comma, header row, RFC-4180 quoting), ``.tsv`` (tab, header row, no quoting, as in
    GLUE), ``.json`` (a list of records) / ``.jsonl`` (one record a line), ``.parquet``, and
    ``.txt`` with one ``label<TAB>text`` line per example (blank lines skipped). Only empty cells
    count as missing: a text or label spelled "NA" or "null" stays text. ``data_dir`` fills in the
    files not given from ``{data_dir}/{train,validation,test}.<ext>`` (``dev`` and ``valid`` also
    count as validation). Only train is required.

    The files are named and checked (:meth:`paths`) apart from reading them, so that the
    tokenized-data cache can key on their bytes (:meth:`digest`, read in chunks) and a cache hit
    never parses them.
    """

    def __init__(
        self,
        train_file: str | None = None,
        validation_file: str | None = None,
        test_file: str | None = None,
        data_dir: str | None = None,
        text_column: str = "text",
        label_column: str = "label",
    ):
        self.files = {"train": train_file, "validation": validation_file, "test": test_file}
        self.data_dir, self.text_column, self.label_column = data_dir, text_column, label_column

    def paths(self) -> dict[str, Path]:
        """``{split: file}`` for the splits that have one, each checked to exist, be non-empty and
        have a supported extension."""
        files = dict(self.files)
        if self.data_dir is not None:
            folder = Path(self.data_dir).expanduser()
            if not folder.is_dir():
                raise DataError(f"data.data_dir: no such folder: {folder}")
            for split in SPLITS:
                if files[split] is None:
                    files[split] = find_split_file(folder, split)
        if all(file is None for file in files.values()):
            where = f" (no train.<ext> in {self.data_dir})" if self.data_dir is not None else ""
            raise DataError(f"data.train_file is not set{where}")
        paths = {split: Path(file).expanduser() for split, file in files.items() if file is not None}
        for split, path in paths.items():
            check_file(path, key=f"data.{split}_file")
        return paths

    def digest(self) -> str:
        """SHA-256 of which file (and format) is which split and of their bytes, read in chunks."""
        digest = hashlib.sha256()
        for split, path in self.paths().items():
            digest.update(f"{split}:{path.suffix.lower()}:{path.stat().st_size}:".encode())
            hash_file(digest, path)
        return digest.hexdigest()

    def __call__(self) -> datasets.DatasetDict:
        paths = self.paths()
        out = {
            split: read_file(path, self.text_column, self.label_column, key=f"data.{split}_file")
            for split, path in paths.items()
        }
        return with_origins(datasets.DatasetDict(out), {split: str(path) for split, path in paths.items()})


def find_split_file(folder: Path, split: str) -> str | None:
    """``folder/<split>.<ext>`` (``dev``/``valid`` also count as validation), or None."""
    stems = {"train": ("train",), "validation": ("validation", "dev", "valid"), "test": ("test",)}[split]
    for stem in stems:
        for ext in SUPPORTED_EXTENSIONS:
            candidate = folder / f"{stem}{ext}"
            if candidate.is_file():
                return str(candidate)
    return None


def check_file(path: Path, key: str = "file") -> None:
    """A one-line DataError unless ``path`` is a non-empty file with a supported extension."""
    if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
        raise DataError(
            f"{key}: unsupported extension {path.suffix or '(none)'!r} of {path} "
            f"(use {', '.join(SUPPORTED_EXTENSIONS)})"
        )
    if not path.is_file():
        raise DataError(f"{key}: no such file: {path}")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")


def read_file(
    path: str | Path, text_column: str = "text", label_column: str = "label", key: str = "file"
) -> datasets.Dataset:
    """One local file as an in-memory ``datasets.Dataset`` over an Arrow table (no copy in the HF
    cache; CSV/TSV and Parquet go straight to Arrow, without a Python object per cell)."""
    path = Path(path)
    check_file(path, key)
    ext = path.suffix.lower()
    if ext in _TEXT_FORMATS:
        check_utf8(path)
    try:
        if ext == ".txt":
            return _read_label_tab_text(path, text_column, label_column)
        if ext == ".parquet":
            import pyarrow.parquet as pq

            return _arrow_dataset(pq.read_table(path), path)
        if ext in (".csv", ".tsv"):
            return _arrow_dataset(read_delimited(path, text_column), path)
        return datasets.Dataset.from_pandas(_read_records(path, ext), preserve_index=False)
    except DataError:
        raise
    except Exception as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(f"{path}: cannot read as {ext[1:]}: {detail}") from exc


def _arrow_dataset(table: pa.Table, path: Path) -> datasets.Dataset:
    """``table`` as a Dataset, fingerprinted by the file's name, size and time: left to itself,
    ``datasets`` fingerprints an in-memory table by pickling it whole (a transient copy)."""
    stat = path.stat()
    fingerprint = hashlib.sha256(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    return datasets.Dataset(datasets.table.InMemoryTable(table), fingerprint=fingerprint)


def read_delimited(path: Path, text_column: str) -> pa.Table:
    """A ``.csv`` (RFC-4180 quoting, quoted newlines) or ``.tsv`` (no quoting) file with a header row
    as an Arrow table, parsed by ``pyarrow.csv`` in parallel blocks. As pandas did before: the text
    column is always text, only empty cells are null, other columns are integers, floats, booleans
    or text (never dates), and a row with the wrong number of fields is an error naming its line."""
    import pyarrow.csv as pa_csv

    quoting = path.suffix.lower() == ".csv"
    parse = pa_csv.ParseOptions(
        delimiter="," if quoting else "\t",
        quote_char='"' if quoting else False,
        newlines_in_values=quoting,
    )
    as_text = {text_column}
    # Arrow parses blocks of 1 MiB and cannot split a field across two: a longer field (a whole book in
    # one cell) makes it read again with larger blocks, up to the whole file.
    block, largest = CHUNK_BYTES, min(path.stat().st_size + 1, MAX_BLOCK_BYTES)
    while True:
        convert = pa_csv.ConvertOptions(
            column_types={c: pa.string() for c in as_text},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        )
        try:
            read = pa_csv.ReadOptions(block_size=block)
            table = pa_csv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
        except pa.ArrowInvalid as exc:
            if "straddling" in str(exc) and block < largest:
                block = min(block * 8, largest)
                continue
            if "Expected" in str(exc) and "columns" in str(exc):
                raise DataError(f"{path}: cannot read as {path.suffix[1:]}: {_bad_row(path, quoting)}") from None
            raise
        dated = {f.name for f in table.schema if not _plain_type(f.type)} - as_text
        if not dated:
            return table
        as_text |= dated  # dates, times and decimals stay text, as they were


def _plain_type(kind: pa.DataType) -> bool:
    plain = (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean, pa.types.is_string, pa.types.is_null)
    return any(test(kind) for test in plain) or pa.types.is_large_string(kind)


def _bad_row(path: Path, quoting: bool) -> str:
    """Where the first malformed row is (Arrow's parser does not say): a quote never closed, or a
    row with the wrong number of fields. Rows count from 1 without the header; lines from 1."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        style = dict(delimiter=",") if quoting else dict(delimiter="\t", quoting=csv.QUOTE_NONE)
        reader = csv.reader(f, strict=True, **style)
        rows, line = 0, 0  # rows read whole, and the line the last one ended on
        try:
            width, line = len(next(reader)), reader.line_num
            for fields in reader:
                if fields and len(fields) != width:
                    return f"Expected {width} fields in line {reader.line_num}, saw {len(fields)}"
                rows, line = rows + 1, reader.line_num
        except csv.Error:
            return f"EOF inside string starting at row {rows + 1} (line {line + 1})"
    return "a row has the wrong number of fields"


def _read_records(path: Path, ext: str):
    """A ``.json`` list of records or ``.jsonl`` file as a DataFrame (a JSON list cannot be parsed in
    chunks; JSON sets are small)."""
    import pandas as pd

    with open(path, encoding="utf-8-sig") as f:
        if ext == ".jsonl":
            records = []
            for number, line in enumerate(f, start=1):
                if line.strip():
                    try:
                        records.append(json.loads(line))
                    except json.JSONDecodeError as exc:
                        raise DataError(f"{path}: line {number} is not valid JSON ({exc.msg})") from None
                    if not isinstance(records[-1], dict):
                        raise DataError(f'{path}: line {number} is not a JSON object like {{"text": ..., ...}}')
        else:
            try:
                records = json.load(f)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}: not valid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})") from None
            if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                raise DataError(
                    f'{path}: expected a JSON list of records like [{{"text": ..., "label": ...}}]; '
                    f"for one record a line name the file .jsonl"
                )
    return pd.DataFrame.from_records(records)


def _read_label_tab_text(path: Path, text_column: str, label_column: str) -> datasets.Dataset:
    labels, texts = [], []
    with open(path, encoding="utf-8-sig", newline="") as f:
        for number, line in enumerate(f, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            label, tab, text = line.partition("\t")
            if not tab:
                raise DataError(f"{path}: line {number} has no tab (expected label<TAB>text): {line[:60]!r}")
            if not label.strip():
                raise DataError(f"{path}: line {number} has an empty label")
            labels.append(label.strip())
            texts.append(text)
    return datasets.Dataset.from_dict({label_column: labels, text_column: texts})


def check_utf8(path: Path, chunk_size: int = CHUNK_BYTES) -> None:
    """Raise a DataError naming the byte offset and line of the first byte that is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    consumed, lines = 0, 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(chunk_size)
            final = not chunk
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=final)
            except UnicodeDecodeError as exc:
                # exc.start counts from the bytes the decoder still held from the previous chunk
                offset = consumed - pending + exc.start
                line = lines + chunk[: max(0, offset - consumed)].count(b"\n") + 1
                bad = exc.object[exc.start : exc.start + 1].hex()
                raise DataError(
                    f"{path}: not valid UTF-8: byte 0x{bad} at byte offset {offset} (line {line}); "
                    f"re-save the file as UTF-8"
                ) from None
            if final:
                return
            consumed += len(chunk)
            lines += chunk.count(b"\n")


def natural_sorted(values: Iterable[str]) -> list[str]:
    """Integers in numeric order first ("2" before "10"), then the other names alphabetically."""

    def key(v: str):
        try:
            return (0, int(v), "")
        except ValueError:
            return (1, 0, v)

    return sorted(set(values), key=key)


def hash_file(digest, path: Path) -> None:
    """Feed a file's bytes to a hashlib digest in CHUNK_BYTES pieces (a cache key without parsing)."""
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            digest.update(chunk)
