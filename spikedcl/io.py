"""Result files of a sweep: verified per-cell parquet, consolidation, sidecars, the directory lock.

Layout of an output directory::

    OUT/.lock                the advisory lock of the run writing here (see results_lock)
    OUT/config.json          the resolved configuration and its hash
    OUT/cells/<cell>.parquet one file per finished cell (written atomically)
    OUT/results.parquet      all cells in one long table (rebuilt at the end)
    OUT/failures.json        cells that raised, with their error (if any)

Every file is written to a temporary name ``.<name>.<random>.tmp`` in its
directory and renamed into place, so a crash leaves either a complete file or
none (and possibly a stale temporary, which the next holder of the directory's
lock removes). Files get the mode ``0o666 & ~umask``, directories
``0o777 & ~umask``.

A cell file records in its parquet metadata the cell id, a checksum of its rows
(:func:`cell_checksum`) and optional string metadata (``meta`` of
:func:`write_cell`). :func:`check_cell` reads the whole file and says whether it
can be reused; a truncated, corrupted, foreign, unverifiable or altered file is
not. ``results.parquet`` records a digest of the cell ids and checksums it was
built from; :func:`consolidate` leaves it untouched when that digest is current,
and :func:`write_json` leaves a sidecar untouched when its bytes would not change,
so a finished sweep rerun writes nothing (and succeeds on a full or read-only
disk).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "CELL_DIR",
    "LOCK_FILE",
    "RESULTS_FILE",
    "CellStatus",
    "CorruptCellError",
    "DamagedFileError",
    "ResultsLocked",
    "cell_path",
    "atomic_write_bytes",
    "cell_checksum",
    "write_cell",
    "check_cell",
    "read_cell",
    "load_cells",
    "cell_is_complete",
    "consolidate",
    "consolidate_cells",
    "write_json",
    "read_json",
    "results_lock",
    "describe_holder",
    "remove_stale_temporaries",
]

CELL_DIR = "cells"
LOCK_FILE = ".lock"
RESULTS_FILE = "results.parquet"
_KEY = b"spikedcl.cell_id"
_CHECKSUM_KEY = b"spikedcl.checksum"
_META_KEY = b"spikedcl.meta"
_RESULTS_KEY = b"spikedcl.results_digest"
_ROWS_TAG = b"spikedcl.rows.v1\0"
_RESULTS_TAG = "spikedcl.results.v1"
_TMP_GLOB = ".*.tmp"


# --------------------------------------------------------------------------- errors and status


class CorruptCellError(ValueError):
    """A cell file that exists but cannot be trusted (see :func:`check_cell`).

    Parameters
    ----------
    path : pathlib.Path
        The cell file.
    reason : str
        Why it is not usable: ``"missing"``, ``"unreadable: <error>"``,
        ``"foreign: holds cell <id>"``, ``"no checksum"`` or ``"checksum mismatch"``.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cell file {self.path} cannot be used: {reason}")


class DamagedFileError(ValueError):
    """A sidecar file that exists but is empty, not UTF-8 or not valid JSON.

    Parameters
    ----------
    path : pathlib.Path
        The damaged file.
    reason : str
        What is wrong with it.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path} is damaged ({reason})")


class ResultsLocked(RuntimeError):
    """Another live process holds the lock of a results directory.

    Parameters
    ----------
    out_dir : pathlib.Path
        The locked directory.
    holder : dict or None
        What the holder recorded in the lock file (``pid``, ``host``,
        ``started``, ``argv``), or ``None`` when it has not recorded it yet.
    """

    def __init__(self, out_dir: str | Path, holder: dict[str, Any] | None) -> None:
        self.out_dir = Path(out_dir)
        self.holder = holder
        super().__init__(f"{self.out_dir} is in use by another run ({describe_holder(holder)})")


def describe_holder(holder: dict[str, Any] | None) -> str:
    """One line naming the process that holds a results directory's lock.

    Parameters
    ----------
    holder : dict or None
        The record written by :func:`results_lock` into ``OUT/.lock``.

    Returns
    -------
    str
        ``"pid P on HOST, started T, command: C"`` or a note that it is unknown.
    """
    if not isinstance(holder, dict) or "pid" not in holder:
        return "holder not recorded yet"
    argv = holder.get("argv")
    command = " ".join(map(str, argv)) if isinstance(argv, list) else str(argv)
    return (f"pid {holder.get('pid')} on {holder.get('host', '?')}, "
            f"started {holder.get('started', '?')}, command: {command}")


@dataclass(frozen=True)
class CellStatus:
    """Whether a cell file can be reused, and why not.

    Parameters
    ----------
    ok : bool
        ``True`` when the file exists, reads completely, records this cell id
        and its rows match the recorded checksum.
    reason : str or None
        ``None`` when ``ok``; otherwise ``"missing"``, ``"unreadable: <error>"``,
        ``"foreign: holds cell <id>"``, ``"no checksum"`` (written by an older
        release or rewritten by another tool) or ``"checksum mismatch"`` (a value,
        row or column altered).
    path : pathlib.Path
        The cell file.
    checksum : str or None
        The checksum recorded in the file (hex sha256), when there is one.
    meta : dict of str to str
        The extra metadata given to :func:`write_cell` (empty when none or
        when the file could not be read).
    """

    ok: bool
    reason: str | None
    path: Path
    checksum: str | None = None
    meta: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- modes and atomic writes

_UMASK_LOCK = threading.Lock()
_UMASK = None


def _read_umask():
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)  # no /proc: the only portable read sets it, briefly, under the lock
    os.umask(old)
    return old


def _umask():
    global _UMASK
    if _UMASK is None:
        with _UMASK_LOCK:
            if _UMASK is None:
                _UMASK = _read_umask()
    return _UMASK


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    The file gets the mode ``0o666 & ~umask``. Any error (``ENOSPC`` included)
    propagates unchanged and leaves neither a partial ``path`` nor the temporary
    file behind; an existing ``path`` is then left as it was.

    Parameters
    ----------
    path : str or pathlib.Path
        Destination; its directory must exist.
    data : bytes
        Content.

    Raises
    ------
    OSError
        Whatever the file system reports.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with contextlib.suppress(OSError):  # a file system without modes keeps mkstemp's 0600
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _table_bytes(df, metadata=None):
    table = pa.Table.from_pandas(df, preserve_index=False)
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    return _parquet_bytes(table)


def _parquet_bytes(table):
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, write_page_checksum=True)
    return sink.getvalue().to_pybytes()


# --------------------------------------------------------------------------- checksums

_FIXED_WIDTH = (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean, pa.types.is_temporal)
_BINARY_LIKE = (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary, pa.types.is_large_binary)


def _column_values(arr):
    """Deterministic bytes of the values of one array (null slots as zero / empty)."""
    kind = arr.type
    if pa.types.is_dictionary(kind):
        arr = arr.dictionary_decode()
        kind = arr.type
    try:
        if any(test(kind) for test in _FIXED_WIDTH):
            filled = arr.fill_null(pa.scalar(0, pa.int64()).cast(kind)) if arr.null_count else arr
            return np.ascontiguousarray(filled.to_numpy(zero_copy_only=False)).tobytes()
        if any(test(kind) for test in _BINARY_LIKE):
            empty = "" if pa.types.is_string(kind) or pa.types.is_large_string(kind) else b""
            flat = (arr.fill_null(empty) if arr.null_count else arr).cast(pa.large_binary())
            offsets = np.frombuffer(flat.buffers()[1], dtype=np.int64)[flat.offset:flat.offset + len(flat) + 1]
            data = flat.buffers()[2]
            body = b"" if data is None or len(offsets) == 0 else data.to_pybytes()[offsets[0]:offsets[-1]]
            return np.diff(offsets).astype("<i8").tobytes() + body
    except (pa.ArrowException, TypeError, ValueError):
        pass  # a type without a fast path: its Python values below
    return repr(arr.to_pylist()).encode("utf-8", "surrogatepass")


def _table_checksum(table):
    digest = hashlib.sha256(_ROWS_TAG)
    digest.update(f"{table.num_rows} {table.num_columns}\0".encode())
    for name, column in zip(table.column_names, table.columns):
        arr = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        digest.update(f"{name}\0{arr.type}\0{len(arr)}\0{arr.null_count}\0".encode("utf-8", "surrogatepass"))
        if arr.null_count:
            digest.update(np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool).tobytes())
        values = _column_values(arr)
        digest.update(f"{len(values)}\0".encode())
        digest.update(values)
    return digest.hexdigest()


def cell_checksum(df: pd.DataFrame) -> str:
    """Checksum of the rows of a table, as recorded in a cell file.

    The sha256 of a canonical serialisation of the Arrow table of ``df``
    (column names and types, row count, null positions and values; not the
    index or any metadata): equal tables give equal checksums, and any changed
    value, column, column order or row changes it.

    Parameters
    ----------
    df : pandas.DataFrame
        The rows.

    Returns
    -------
    str
        64 hex digits.

    Raises
    ------
    TypeError
        If ``df`` is not a DataFrame.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas.DataFrame, got {type(df).__name__}")
    return _table_checksum(pa.Table.from_pandas(df, preserve_index=False))


# --------------------------------------------------------------------------- cells


def cell_path(out_dir: str | Path, cell_id: str) -> Path:
    """Path of the parquet file of ``cell_id`` under ``out_dir``.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The sweep's output directory.
    cell_id : str
        The cell's hash (no path separator, not starting with a dot).

    Returns
    -------
    pathlib.Path
        ``out_dir/cells/<cell_id>.parquet``.

    Raises
    ------
    TypeError
        If ``cell_id`` is not a string.
    ValueError
        If ``cell_id`` is empty, starts with a dot or contains a path separator.
    """
    if not isinstance(cell_id, str):
        raise TypeError(f"cell_id must be a str, got {type(cell_id).__name__}")
    if not cell_id or cell_id.startswith(".") or "/" in cell_id or os.sep in cell_id or "\0" in cell_id:
        raise ValueError(f"cell_id must be a non-empty name without '/' that does not start with '.', "
                         f"got {cell_id!r}")
    return Path(out_dir) / CELL_DIR / f"{cell_id}.parquet"


def _check_meta(meta):
    if meta is None:
        return {}
    if not isinstance(meta, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise TypeError("meta must be a mapping of str to str")
    return dict(meta)


def write_cell(out_dir: str | Path, cell_id: str, df: pd.DataFrame, *, meta: Mapping[str, str] | None = None) -> Path:
    """Write one finished cell atomically, with its id, checksum and metadata.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The sweep's output directory (``cells/`` is created if needed).
    cell_id : str
        The cell's stable hash; also stored in the file's metadata.
    df : pandas.DataFrame
        The cell's rows.
    meta : mapping of str to str, optional
        Extra metadata stored with the cell (e.g. the configuration hash) and
        returned by :func:`check_cell` as ``CellStatus.meta``.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    TypeError
        If ``df`` is not a DataFrame or ``meta`` not a mapping of str to str.
    OSError
        Whatever the file system reports (nothing is left behind).

    Examples
    --------
    A round trip in a temporary directory:

    >>> import tempfile
    >>> import pandas as pd
    >>> from spikedcl import io
    >>> df = pd.DataFrame({"method": ["cl", "pca"], "value": [0.12, 0.7]})
    >>> with tempfile.TemporaryDirectory() as out:
    ...     path = io.write_cell(out, "n=100", df, meta={"seed": "0"})
    ...     status = io.check_cell(out, "n=100")
    ...     back = io.read_cell(out, "n=100")
    ...     print(path.relative_to(out), status.ok, status.meta, back.equals(df))
    cells/n=100.parquet True {'seed': '0'} True
    """
    path = cell_path(out_dir, cell_id)
    extra = _check_meta(meta)
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas.DataFrame, got {type(df).__name__}")
    table = pa.Table.from_pandas(df, preserve_index=False)
    base = {**(table.schema.metadata or {}), _KEY: cell_id.encode(),
            _META_KEY: json.dumps(extra, sort_keys=True).encode()}
    checksum = _table_checksum(table)
    data = _parquet_bytes(table.replace_schema_metadata({**base, _CHECKSUM_KEY: checksum.encode()}))
    stored = _table_checksum(pq.read_table(pa.BufferReader(data)))
    if stored != checksum:  # a type that parquet does not round-trip: record what a reader will see
        data = _parquet_bytes(table.replace_schema_metadata({**base, _CHECKSUM_KEY: stored.encode()}))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)
    return path


def _load(path, cell_id, *, frame=True):
    """One read of a cell file: ``(DataFrame or None, CellStatus)``."""
    if not path.is_file():
        return None, CellStatus(False, "missing", path)
    try:
        table = pq.read_table(pa.BufferReader(path.read_bytes()), page_checksum_verification=True)
        meta = table.schema.metadata or {}
        extra = json.loads(meta[_META_KEY].decode()) if _META_KEY in meta else {}
        df = table.to_pandas() if frame else None
    except Exception as exc:  # noqa: BLE001 - any failure to read the whole file makes it unusable
        message = " ".join(str(exc).split()) or type(exc).__name__
        return None, CellStatus(False, f"unreadable: {message}", path)
    stored = meta.get(_CHECKSUM_KEY)
    checksum = stored.decode(errors="replace") if stored is not None else None
    owner = meta.get(_KEY)
    if owner is not None and owner != cell_id.encode():
        return None, CellStatus(False, f"foreign: holds cell {owner.decode(errors='replace')}", path, checksum, extra)
    if checksum is None:
        return None, CellStatus(False, "no checksum", path, None, extra)
    if _table_checksum(table) != checksum:
        return None, CellStatus(False, "checksum mismatch", path, checksum, extra)
    return df, CellStatus(True, None, path, checksum, extra)


def check_cell(out_dir: str | Path, cell_id: str) -> CellStatus:
    """Read a cell file completely and say whether it can be reused.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The sweep's output directory.
    cell_id : str
        The cell's hash.

    Returns
    -------
    CellStatus
        ``ok`` and, when not ok, the reason (missing, unreadable, foreign, no
        checksum, checksum mismatch).
    """
    return _load(cell_path(out_dir, cell_id), cell_id, frame=False)[1]


def cell_is_complete(out_dir: str | Path, cell_id: str) -> bool:
    """Whether a verified file of ``cell_id`` exists: ``check_cell(out_dir, cell_id).ok``.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The sweep's output directory.
    cell_id : str
        The cell's hash.

    Returns
    -------
    bool
        ``True`` when the file exists, reads completely, records this cell id
        and matches its checksum.
    """
    return check_cell(out_dir, cell_id).ok


def read_cell(out_dir: str | Path, cell_id: str, *, verify: bool = True) -> pd.DataFrame:
    """Read the rows of one finished cell.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The sweep's output directory.
    cell_id : str
        The hash of a cell written there by :func:`write_cell`.
    verify : bool, default=True
        Check the file as :func:`check_cell` does (in the same single read);
        ``False`` reads it without checks.

    Returns
    -------
    pandas.DataFrame
        The rows as written.

    Raises
    ------
    CorruptCellError
        If ``verify`` and the file is missing or not usable (its ``reason``
        says why; the message names the file).
    """
    path = cell_path(out_dir, cell_id)
    if not verify:
        return pq.read_table(path).to_pandas()
    df, status = _load(path, cell_id)
    if not status.ok:
        raise CorruptCellError(path, status.reason)
    return df


def _check_ids(cell_ids):
    if isinstance(cell_ids, (str, bytes)) or not hasattr(cell_ids, "__iter__"):
        raise TypeError(f"cell_ids must be a sequence of str, got {type(cell_ids).__name__}")
    ids = list(cell_ids)
    for c in ids:
        if not isinstance(c, str):
            raise TypeError(f"cell_ids must hold str, got {type(c).__name__}")
    return ids


def _load_many(out_dir, cell_ids):
    frames, sums, bad = {}, {}, {}
    for c in cell_ids:
        df, status = _load(cell_path(out_dir, c), c)
        if status.ok:
            frames[c], sums[c] = df, status.checksum
        else:
            bad[c] = status.reason
    return frames, sums, bad


def load_cells(out_dir: str | Path, cell_ids: Sequence[str]) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Read and verify cells, each file once.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The sweep's output directory.
    cell_ids : sequence of str
        Cells to read.

    Returns
    -------
    frames : dict of str to pandas.DataFrame
        The rows of every usable cell, by cell id (in the order of ``cell_ids``);
        pass it to :func:`consolidate` as ``tables`` to consolidate without
        reading again.
    bad : dict of str to str
        The reason (as :attr:`CellStatus.reason`) for every cell that is missing
        or not usable.
    """
    frames, _, bad = _load_many(out_dir, _check_ids(cell_ids))
    return frames, bad


# --------------------------------------------------------------------------- consolidation


def _results_digest(pairs):
    return hashlib.sha256(json.dumps([_RESULTS_TAG, pairs]).encode()).hexdigest()


def _results_current(target, digest, df):
    """Whether ``target`` is an intact results file built from exactly these cells, holding exactly ``df``.

    The digest of the cells it was built from is not enough: a value altered in
    the file itself must not survive a rerun, so the rows read back are compared
    with ``df`` through their checksum.
    """
    try:
        if (pq.read_schema(target).metadata or {}).get(_RESULTS_KEY) != digest.encode():
            return False
        table = pq.read_table(target, page_checksum_verification=True)
        return table.num_rows == len(df) and cell_checksum(table.to_pandas()) == cell_checksum(df)
    except Exception:  # noqa: BLE001 - missing or damaged: rebuild it
        return False


def consolidate_cells(
    out_dir: str | Path,
    cell_ids: Sequence[str],
    *,
    path: str | Path | Literal[False] | None = None,
    tables: Mapping[str, pd.DataFrame] | None = None,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Concatenate the given cells, in the given order, into one long table; skip and report bad ones.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The sweep's output directory.
    cell_ids : sequence of str
        Cells to include.
    path : str or pathlib.Path or False, optional
        Where to write the table atomically as parquet (default
        ``OUT/results.parquet``); ``False`` to skip writing. The file records a
        digest of the cell ids and checksums it holds; when the existing file
        has the same digest (and reads completely) it is not rewritten.
    tables : mapping of str to pandas.DataFrame, optional
        Rows already in memory (e.g. the ``frames`` of :func:`load_cells`), used
        instead of reading those cells; the others are read and verified.

    Returns
    -------
    table : pandas.DataFrame
        All rows of the usable cells, cells in the given order.
    bad : dict of str to str
        The cells left out (missing or not usable) and why.

    Raises
    ------
    TypeError
        If ``cell_ids`` or ``tables`` have the wrong types.
    OSError
        If writing the table fails (``ENOSPC`` included); an existing results
        file is then left as it was.
    """
    ids = _check_ids(cell_ids)
    given = {} if tables is None else tables
    if not isinstance(given, Mapping) or not all(isinstance(v, pd.DataFrame) for v in given.values()):
        raise TypeError("tables must be a mapping of cell id to pandas.DataFrame")
    frames, sums, bad = _load_many(out_dir, [c for c in ids if c not in given])
    parts, pairs = [], []
    for c in ids:
        if c in given:
            parts.append(given[c])
            pairs.append([c, cell_checksum(given[c])])
        elif c in frames:
            parts.append(frames[c])
            pairs.append([c, sums[c]])
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    df.attrs = {}
    if path is not False:
        target = Path(out_dir) / RESULTS_FILE if path is None else Path(path)
        digest = _results_digest(pairs)
        if not _results_current(target, digest, df):
            atomic_write_bytes(target, _table_bytes(df, {_RESULTS_KEY: digest.encode()}))
    return df, bad


def consolidate(
    out_dir: str | Path,
    cell_ids: Sequence[str],
    *,
    path: str | Path | Literal[False] | None = None,
    tables: Mapping[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Concatenate the given cells, in the given order, into one long table.

    As :func:`consolidate_cells`, returning the table alone, with the cells left
    out in ``table.attrs["bad_cells"]``.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The sweep's output directory.
    cell_ids : sequence of str
        Cells to include (missing or unusable ones are skipped).
    path : str or pathlib.Path or False, optional
        Where to write the table atomically as parquet (default
        ``OUT/results.parquet``); ``False`` to skip writing. Not rewritten when
        it already holds exactly these cells.
    tables : mapping of str to pandas.DataFrame, optional
        Rows already in memory, used instead of reading those cells.

    Returns
    -------
    pandas.DataFrame
        All rows, cells in the given order; ``attrs["bad_cells"]`` maps each
        skipped cell id to its reason (empty when none).

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from spikedcl import io
    >>> with tempfile.TemporaryDirectory() as out:
    ...     for cell, values in {"a": [1.0], "b": [2.0, 3.0]}.items():
    ...         _ = io.write_cell(out, cell, pd.DataFrame({"value": values}))
    ...     table = io.consolidate(out, ["a", "b"])
    ...     print(table["value"].tolist(), io.cell_is_complete(out, "c"))
    [1.0, 2.0, 3.0] False
    """
    df, bad = consolidate_cells(out_dir, cell_ids, path=path, tables=tables)
    df.attrs["bad_cells"] = bad
    return df


# --------------------------------------------------------------------------- sidecars


def write_json(path: str | Path, obj: Any, *, if_changed: bool = True) -> bool:
    """Write ``obj`` as indented JSON, atomically.

    Parameters
    ----------
    path : str or pathlib.Path
        Destination.
    obj : object
        JSON-serialisable content.
    if_changed : bool, default=True
        Leave the file untouched when it already holds exactly these bytes.

    Returns
    -------
    bool
        Whether the file was written.

    Examples
    --------
    A second write of the same object leaves the file untouched:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from spikedcl import io
    >>> with tempfile.TemporaryDirectory() as out:
    ...     path = Path(out) / "config.json"
    ...     print(io.write_json(path, {"n": [100, 200]}), io.write_json(path, {"n": [100, 200]}),
    ...           io.read_json(path))
    True False {'n': [100, 200]}
    """
    data = (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode()
    path = Path(path)
    if if_changed:
        try:
            if path.read_bytes() == data:
                return False
        except OSError:
            pass
    atomic_write_bytes(path, data)
    return True


def read_json(path: str | Path) -> Any:
    """Read a JSON file.

    Parameters
    ----------
    path : str or pathlib.Path
        Source.

    Returns
    -------
    object
        The parsed content.

    Raises
    ------
    DamagedFileError
        If the file exists but is empty, not UTF-8 or not valid JSON.
    OSError
        If it cannot be read (``FileNotFoundError`` when missing).
    """
    path = Path(path)
    raw = path.read_bytes()
    if not raw.strip():
        raise DamagedFileError(path, "empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DamagedFileError(path, f"not UTF-8: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DamagedFileError(path, f"not valid JSON: {exc}") from None


# --------------------------------------------------------------------------- the directory lock


def remove_stale_temporaries(out_dir: str | Path) -> list[Path]:
    """Remove the temporary files of interrupted writes in ``OUT`` and ``OUT/cells``.

    Only safe while holding the directory's lock (:func:`results_lock` calls it
    on acquiring), since another live run's temporaries look the same.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The sweep's output directory.

    Returns
    -------
    list of pathlib.Path
        The files removed.
    """
    removed = []
    for folder in (Path(out_dir), Path(out_dir) / CELL_DIR):
        if not folder.is_dir():
            continue
        for tmp in sorted(folder.glob(_TMP_GLOB)):
            if tmp.is_file() and not tmp.is_symlink():
                try:
                    tmp.unlink(missing_ok=True)
                except OSError:  # a read-only directory: nothing can be written there either
                    continue
                removed.append(tmp)
    return removed


def _read_holder(fd):
    try:
        raw = os.pread(fd, 1 << 16, 0)
        holder = json.loads(raw.decode()) if raw.strip() else None
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def _open_lock(out):
    """The lock file, read-write; read-only (or the directory itself) on a read-only file system."""
    try:
        return os.open(out / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666), True
    except OSError as first:
        for target, flags in ((out / LOCK_FILE, os.O_RDONLY), (out, os.O_RDONLY | os.O_DIRECTORY)):
            try:
                return os.open(target, flags), False
            except OSError:
                continue
        raise first


@contextlib.contextmanager
def results_lock(
    out_dir: str | Path, *, wait: bool = True, on_wait: Callable[[str], object] | None = None
) -> Iterator[list[Path]]:
    """Hold the advisory lock of a results directory for the duration of a ``with`` block.

    An exclusive ``flock`` on ``OUT/.lock`` (created if needed, never removed).
    The holder records its pid, host, start time and command line in the file.
    On acquiring, stale temporaries of interrupted writes are removed
    (:func:`remove_stale_temporaries`). The lock goes with the process: a killed
    run never blocks the next one. Two opens in one process also exclude each
    other.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The sweep's output directory (created if needed).
    wait : bool, default=True
        When another process holds the lock: ``True`` blocks until it is free,
        ``False`` raises :class:`ResultsLocked` at once.
    on_wait : callable, optional
        Called once with a message naming the directory and the holder before
        blocking (e.g. ``print``).

    Yields
    ------
    list of pathlib.Path
        The stale temporaries removed on acquiring.

    Raises
    ------
    ResultsLocked
        If ``wait`` is false and the lock is held.
    TypeError
        If ``on_wait`` is neither ``None`` nor callable.

    Examples
    --------
    >>> import tempfile
    >>> from spikedcl import io
    >>> with tempfile.TemporaryDirectory() as out:
    ...     with io.results_lock(out) as removed:
    ...         print(removed)
    ...     with io.results_lock(out, wait=False):  # free again once the block ends
    ...         pass
    []
    """
    if on_wait is not None and not callable(on_wait):
        raise TypeError(f"on_wait must be callable or None, got {type(on_wait).__name__}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fd, writable = _open_lock(out)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            if not wait:
                raise ResultsLocked(out, holder) from None
            if on_wait is not None:
                on_wait(f"{out} is in use by another run ({describe_holder(holder)}); "
                        "waiting for it to finish")
            fcntl.flock(fd, fcntl.LOCK_EX)
        record = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "argv": list(sys.argv)}
        if writable:
            with contextlib.suppress(OSError):  # a full disk: the lock holds without the record
                os.ftruncate(fd, 0)
                os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
        removed = remove_stale_temporaries(out)
        try:
            yield removed
        finally:
            if writable:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
