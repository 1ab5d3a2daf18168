"""Result files of a sweep: atomic per-cell parquet, consolidation, sidecars.

Layout of an output directory::

    OUT/config.json          the resolved configuration and its hash
    OUT/cells/<cell>.parquet one file per finished cell (written atomically)
    OUT/results.parquet      all cells in one long table (rebuilt at the end)
    OUT/failures.json        cells that raised, with their error (if any)

A cell file is written to a temporary name in the same directory and renamed
into place, so a crash leaves either a complete file or none; its footer
records the cell id, and a truncated or foreign file is treated as missing.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "CELL_DIR",
    "cell_path",
    "atomic_write_bytes",
    "write_cell",
    "read_cell",
    "cell_is_complete",
    "consolidate",
    "write_json",
    "read_json",
]

CELL_DIR = "cells"
_KEY = b"spikedcl.cell_id"


def atomic_write_bytes(path, data):
    """Write ``data`` to ``path`` through a temporary file and a rename.

    Parameters
    ----------
    path : str or pathlib.Path
        Destination; its directory must exist.
    data : bytes
        Content.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
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
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def cell_path(out_dir, cell_id):
    """Path of the parquet file of ``cell_id`` under ``out_dir``.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The sweep's output directory.
    cell_id : str
        The cell's hash.

    Returns
    -------
    pathlib.Path
        ``out_dir/cells/<cell_id>.parquet``.
    """
    return Path(out_dir) / CELL_DIR / f"{cell_id}.parquet"


def write_cell(out_dir, cell_id, df):
    """Write one finished cell atomically.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The sweep's output directory (``cells/`` is created if needed).
    cell_id : str
        The cell's stable hash; also stored in the file's metadata.
    df : pandas.DataFrame
        The cell's rows.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    path = cell_path(out_dir, cell_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, _table_bytes(df, {_KEY: cell_id.encode()}))
    return path


def cell_is_complete(out_dir, cell_id):
    """Whether a readable file of ``cell_id`` exists (a truncated one is not).

    Parameters
    ----------
    out_dir, cell_id : str or pathlib.Path, str
        Where the cell is (see :func:`cell_path`).

    Returns
    -------
    bool
        ``True`` when the file exists, its parquet footer parses, and it records
        this cell id.
    """
    path = cell_path(out_dir, cell_id)
    if not path.is_file():
        return False
    try:
        meta = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowException):
        return False
    return meta.get(_KEY) == cell_id.encode()


def read_cell(out_dir, cell_id):
    """Read the rows of one finished cell.

    Parameters
    ----------
    out_dir, cell_id : str or pathlib.Path, str
        The sweep's output directory and the hash of a cell written there by :func:`write_cell`.

    Returns
    -------
    pandas.DataFrame
        The rows as written.
    """
    return pq.read_table(cell_path(out_dir, cell_id)).to_pandas()


def consolidate(out_dir, cell_ids, *, path=None):
    """Concatenate the given cells, in the given order, into one long table.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The sweep's output directory.
    cell_ids : sequence of str
        Cells to include (missing ones are skipped).
    path : str or pathlib.Path, optional
        Where to write the table atomically as parquet (default
        ``OUT/results.parquet``); ``False`` to skip writing.

    Returns
    -------
    pandas.DataFrame
        All rows, cells in the given order.
    """
    frames = [read_cell(out_dir, c) for c in cell_ids if cell_path(out_dir, c).is_file()]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if path is not False:
        target = Path(out_dir) / "results.parquet" if path is None else Path(path)
        atomic_write_bytes(target, _table_bytes(df))
    return df


def write_json(path, obj):
    """Write ``obj`` as indented JSON, atomically.

    Parameters
    ----------
    path : str or pathlib.Path
        Destination.
    obj : object
        JSON-serialisable content.
    """
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode())


def read_json(path):
    """Read a JSON file.

    Parameters
    ----------
    path : str or pathlib.Path
        Source.

    Returns
    -------
    object
        The parsed content.
    """
    return json.loads(Path(path).read_text())
