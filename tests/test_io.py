"""Result files: verified cells, consolidation, sidecars, file modes, the directory lock, ENOSPC.

Everything here is exact (checksums, reasons, bytes, modes); no numerical tolerance is involved.
Subprocess tests are bounded by explicit timeouts and synchronise on printed lines, never on sleeps.
"""

import json
import os
import select
import shlex
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fs_tools import run_on_tiny_fs

from spikedcl import io

TIMEOUT = 60  # seconds for any subprocess step; these steps take ~2 s (interpreter start-up)


def frame(rng, n=12, tag="a"):
    """A cell-like table with the column kinds the sweep writes (and missing values)."""
    value = rng.standard_normal(n)
    value[1] = np.nan
    return pd.DataFrame({
        "sweep": tag, "cell_id": f"cell-{tag}", "n": np.arange(n) * 100, "method": ["pca", "cl"] * (n // 2),
        "value": value, "converged": np.arange(n) % 3 > 0, "solver": "", "note": [None, "x"] * (n // 2),
    })


def write_cells(out, rng, ids):
    frames = {c: frame(rng, tag=c) for c in ids}
    for c, df in frames.items():
        io.write_cell(out, c, df, meta={"config_hash": "h1"})
    return frames


# --------------------------------------------------------------------------- checksums and verified cells


def test_the_checksum_is_that_of_the_rows_and_survives_the_file(tmp_path, rng):
    df = frame(rng)
    same = df.copy(deep=True)
    same.attrs["unrelated"] = 1  # metadata is not data
    assert io.cell_checksum(df) == io.cell_checksum(same)
    altered = df.copy()
    altered.loc[3, "value"] = np.nextafter(altered.loc[3, "value"], np.inf)  # one ulp
    variants = {
        "value": altered,
        "-0.0": df.assign(value=df["value"].where(df.index != 4, -0.0)),  # -0.0 and 0.0 differ in bits
        "+0.0": df.assign(value=df["value"].where(df.index != 4, 0.0)),
        "string": df.assign(method=df["method"].where(df.index != 0, "pcb")),
        "missing -> value": df.assign(note=df["note"].where(df.index != 0, "x")),
        "column dropped": df.drop(columns="solver"),
        "column renamed": df.rename(columns={"solver": "solvers"}),
        "columns swapped": df[[*df.columns[1:], df.columns[0]]],
        "row dropped": df.iloc[:-1],
        "row added": pd.concat([df, df.iloc[[0]]], ignore_index=True),
        "rows swapped": df.iloc[[1, 0, *range(2, len(df))]].reset_index(drop=True),
        "dtype": df.assign(n=df["n"].astype(float)),
    }
    sums = {name: io.cell_checksum(v) for name, v in variants.items()}
    assert io.cell_checksum(df) not in sums.values()
    assert len(set(sums.values())) == len(sums)
    # what a reader gets back has the checksum recorded at writing
    io.write_cell(tmp_path, "c0", df, meta={"config_hash": "h1"})
    status = io.check_cell(tmp_path, "c0")
    assert status.ok and status.reason is None and status.meta == {"config_hash": "h1"}
    assert status.checksum == io.cell_checksum(df) == io.cell_checksum(io.read_cell(tmp_path, "c0"))
    pd.testing.assert_frame_equal(io.read_cell(tmp_path, "c0"), df)
    frames, bad = io.load_cells(tmp_path, ["c0", "nope"])
    assert list(frames) == ["c0"] and bad == {"nope": "missing"}
    pd.testing.assert_frame_equal(frames["c0"], df)


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="meta must be a mapping of str to str"):
        io.write_cell("unused", "c", pd.DataFrame({"x": [1]}), meta={"k": 1})
    with pytest.raises(ValueError, match="cell_id must be a non-empty name"):
        io.cell_path("out", "../escape")
    with pytest.raises(TypeError, match="cell_ids must be a sequence of str"):
        io.load_cells("out", "abc")
    with pytest.raises(TypeError, match="on_wait must be callable"):
        with io.results_lock("out-never-created", on_wait="print"):
            pass


def _rewrite(path, table):
    pq.write_table(table, path)


def test_every_kind_of_bad_cell_file_is_named_with_its_reason(tmp_path, rng):
    ids = ["ok", "altered", "header", "middle", "truncated", "foreign", "old", "pandas"]
    frames = write_cells(tmp_path, rng, ids)
    path = {c: io.cell_path(tmp_path, c) for c in ids}
    # a value changed by a tool that keeps the metadata (the parquet file itself is valid)
    table = pq.read_table(path["altered"])
    values = table.column("value").to_numpy(zero_copy_only=False).copy()
    values[5] += 1.0
    _rewrite(path["altered"], table.set_column(table.schema.get_field_index("value"), "value", pa.array(values)))
    assert pq.read_table(path["altered"]).schema.metadata == table.schema.metadata
    # a corrupted page header: garbage written where the first data page of a column starts
    column = pq.ParquetFile(path["header"]).metadata.row_group(0).column(4)
    raw = bytearray(path["header"].read_bytes())
    raw[column.data_page_offset:column.data_page_offset + 8] = b"\xff" * 8
    path["header"].write_bytes(bytes(raw))
    # bytes flipped in the middle of the pages (between the leading magic and the footer)
    raw = bytearray(path["middle"].read_bytes())
    footer = int.from_bytes(raw[-8:-4], "little")
    mid = (4 + len(raw) - 8 - footer) // 2
    raw[mid:mid + 16] = bytes(b ^ 0x5A for b in raw[mid:mid + 16])
    path["middle"].write_bytes(bytes(raw))
    path["truncated"].write_bytes(path["truncated"].read_bytes()[:-20])
    path["foreign"].write_bytes(path["ok"].read_bytes())
    pq.write_table(pa.Table.from_pandas(frames["old"], preserve_index=False).replace_schema_metadata(
        {b"spikedcl.cell_id": b"old"}), path["old"])  # as an earlier release wrote it
    frames["pandas"].to_parquet(path["pandas"], index=False)  # rewritten by another tool
    status = {c: io.check_cell(tmp_path, c) for c in [*ids, "missing"]}
    assert status["ok"].ok and io.cell_is_complete(tmp_path, "ok")
    assert status["altered"].reason == "checksum mismatch"
    assert status["header"].reason.startswith("unreadable: ")
    assert not status["middle"].ok and status["middle"].reason.split(":")[0] in {"unreadable", "checksum mismatch"}
    assert status["truncated"].reason.startswith("unreadable: ")
    assert status["foreign"].reason == "foreign: holds cell ok"
    assert status["old"].reason == "no checksum" and status["pandas"].reason == "no checksum"
    assert status["missing"].reason == "missing" and status["missing"].path == io.cell_path(tmp_path, "missing")
    for c in [*ids[1:], "missing"]:
        assert not io.cell_is_complete(tmp_path, c)
        with pytest.raises(io.CorruptCellError) as err:
            io.read_cell(tmp_path, c)
        assert err.value.path == path.get(c, status["missing"].path) and err.value.reason == status[c].reason
        assert str(path.get(c, status["missing"].path)) in str(err.value)
    # the unchecked read still returns what the altered file holds
    assert io.read_cell(tmp_path, "altered", verify=False)["value"][5] == frames["altered"]["value"][5] + 1.0
    frames_ok, bad = io.load_cells(tmp_path, [*ids, "missing"])
    assert list(frames_ok) == ["ok"] and bad == {c: status[c].reason for c in [*ids[1:], "missing"]}


# --------------------------------------------------------------------------- consolidation and sidecars


def test_consolidation_skips_and_reports_bad_cells_and_rewrites_only_on_change(tmp_path, rng):
    ids = ["c0", "c1", "c2", "c3"]
    frames = write_cells(tmp_path, rng, ids)
    io.cell_path(tmp_path, "c1").write_bytes(io.cell_path(tmp_path, "c1").read_bytes()[:100])
    order = ["c3", "c1", "c0", "gone", "c2"]
    table = io.consolidate(tmp_path, order)
    expected = pd.concat([frames[c] for c in ["c3", "c0", "c2"]], ignore_index=True)
    pd.testing.assert_frame_equal(table, expected)
    assert set(table.attrs["bad_cells"]) == {"c1", "gone"} and table.attrs["bad_cells"]["gone"] == "missing"
    assert table.attrs["bad_cells"]["c1"].startswith("unreadable: ")
    results = tmp_path / io.RESULTS_FILE
    pd.testing.assert_frame_equal(pd.read_parquet(results), expected)

    def stamp(p):
        st = p.stat()
        return st.st_ino, st.st_mtime_ns, p.read_bytes()

    before = stamp(results)
    again, bad = io.consolidate_cells(tmp_path, order)
    loaded, _ = io.load_cells(tmp_path, order)
    given, _ = io.consolidate_cells(tmp_path, order, tables=loaded)
    assert stamp(results) == before  # same cells and checksums: not rewritten, by either route
    pd.testing.assert_frame_equal(again, expected)
    pd.testing.assert_frame_equal(given, expected)
    assert bad == table.attrs["bad_cells"]
    # a changed cell, another order, or a damaged results file: rebuilt
    io.write_cell(tmp_path, "c0", frames["c0"].assign(value=1.5))
    io.consolidate(tmp_path, order)
    assert pd.read_parquet(results)["value"].tolist().count(1.5) == len(frames["c0"])
    io.consolidate(tmp_path, ["c0", "c2", "c3"])
    assert pd.read_parquet(results)["cell_id"].iloc[0] == "cell-c0"
    results.write_bytes(results.read_bytes()[:-30])
    io.consolidate(tmp_path, ["c0", "c2", "c3"])
    assert len(pd.read_parquet(results)) == 3 * len(frames["c0"])
    custom = tmp_path / "elsewhere.parquet"
    assert io.consolidate(tmp_path, ["c2"], path=False).attrs["bad_cells"] == {} and not custom.exists()
    io.consolidate(tmp_path, ["c2"], path=custom)
    pd.testing.assert_frame_equal(pd.read_parquet(custom), frames["c2"])


def test_json_sidecars_are_written_only_on_change_and_damage_is_named(tmp_path):
    path = tmp_path / "config.json"
    assert io.write_json(path, {"b": [1, 2], "a": "x"})
    st = path.stat()
    assert not io.write_json(path, {"a": "x", "b": [1, 2]})  # same content, keys in another order
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (st.st_ino, st.st_mtime_ns)
    assert io.write_json(path, {"a": "y"}) and io.read_json(path) == {"a": "y"}
    live = path.stat().st_ino  # the replacement is created before the old file goes: a new inode
    assert io.write_json(path, {"a": "y"}, if_changed=False) and path.stat().st_ino != live
    for content, reason in [(b"", "empty"), (b"  \n", "empty"), (b'{"a": "\xff"}', "not UTF-8"),
                            (b'{"config_hash": "ab', "not valid JSON")]:
        path.write_bytes(content)
        with pytest.raises(io.DamagedFileError) as err:
            io.read_json(path)
        assert err.value.path == path and str(err.value).startswith(f"{path} is damaged ({reason}")
    with pytest.raises(FileNotFoundError):
        io.read_json(tmp_path / "absent.json")


# --------------------------------------------------------------------------- file modes

MODES = """
import json, os, sys
import pandas as pd
from spikedcl import io
report = {}
for mask in (0o022, 0o077, 0o002):
    out = os.path.join(sys.argv[1], oct(mask))
    pid = os.fork()
    if pid == 0:  # a fresh process per umask: the library reads it once per process
        code = 1
        try:
            os.umask(mask)
            io.write_cell(out, "c", pd.DataFrame({"x": [1.0]}))
            io.consolidate(out, ["c"])
            io.write_json(os.path.join(out, "config.json"), {"a": 1})
            with io.results_lock(out):
                pass
            code = 0
        finally:
            os._exit(code)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    report[oct(mask)] = {name: oct(os.stat(os.path.join(out, name)).st_mode & 0o777)
                         for name in ("cells", "cells/c.parquet", "results.parquet", "config.json", ".lock")}
print(json.dumps(report))
"""


def test_files_and_directories_respect_the_umask(tmp_path):
    done = subprocess.run([sys.executable, "-c", MODES, str(tmp_path)], capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    for mask, files, dirs in [("0o22", "0o644", "0o755"), ("0o77", "0o600", "0o700"), ("0o2", "0o664", "0o775")]:
        assert report[mask] == {"cells": dirs, "cells/c.parquet": files, "results.parquet": files,
                                "config.json": files, ".lock": files}, mask


# --------------------------------------------------------------------------- the directory lock

HOLDER = """
import os, sys
from spikedcl import io
sys.stdin.readline()  # go
with io.results_lock(sys.argv[1], on_wait=lambda m: print("waiting:", m, flush=True)) as removed:
    open(os.path.join(sys.argv[1], "cells", f".x{os.getpid()}.parquet.123.tmp"), "wb").close()  # in flight
    print("locked", len(removed), flush=True)
    sys.stdin.readline()
print("released", flush=True)
"""


class Lines:
    """Read a child's stdout line by line within a deadline (no sleeps)."""

    def __init__(self, proc):
        self.proc, self.buf = proc, b""

    def expect(self, start, timeout=TIMEOUT):
        """The next complete line of output; it must begin with ``start``."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            assert left > 0, f"no line from pid {self.proc.pid} within {timeout} s; got {self.buf!r}"
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            chunk = os.read(self.proc.stdout.fileno(), 4096) if ready else b""
            assert chunk or not ready, f"pid {self.proc.pid} ended before a line {start!r}: {self.buf!r}"
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        assert line.decode().startswith(start), f"expected a line {start!r} from pid {self.proc.pid}, got {line!r}"
        return line.decode()


def test_the_lock_excludes_waits_and_dies_with_its_holder(tmp_path):
    out = tmp_path / "out"
    (out / io.CELL_DIR).mkdir(parents=True)
    stale = [out / ".results.parquet.dead.tmp", out / io.CELL_DIR / ".c.parquet.dead.tmp"]
    for p in stale:
        p.write_bytes(b"partial")
    keep = [out / io.CELL_DIR / "c.parquet", out / "notes.tmp"]
    for p in keep:
        p.write_bytes(b"kept")
    procs = [subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, start_new_session=True) for _ in range(2)]
    first, second = procs
    try:
        lines = [Lines(p) for p in procs]
        first.stdin.write(b"go\n")
        first.stdin.flush()
        assert lines[0].expect("locked") == "locked 2"  # it removed the two stale temporaries
        assert [p.exists() for p in stale] == [False, False] and all(p.exists() for p in keep)
        live = out / io.CELL_DIR / f".x{first.pid}.parquet.123.tmp"
        assert live.exists()
        with pytest.raises(io.ResultsLocked) as err:
            with io.results_lock(out, wait=False):
                pass
        assert str(out) in str(err.value) and f"pid {first.pid} on " in str(err.value)
        assert err.value.holder["pid"] == first.pid and err.value.out_dir == out
        second.stdin.write(b"go\n")
        second.stdin.flush()
        waiting = lines[1].expect(f"waiting: {out} is in use by another run (pid {first.pid} on ")
        assert waiting.endswith("); waiting for it to finish")
        assert live.exists()  # a waiting run never touches the holder's files
        first.stdin.write(b"\n")
        first.stdin.flush()
        lines[0].expect("released")
        assert lines[1].expect("locked") == "locked 1"  # the first run's leftover, now stale
        assert not live.exists()
        os.killpg(second.pid, signal.SIGKILL)  # killed mid-write: its lock goes with it
        second.wait(timeout=TIMEOUT)
        with io.results_lock(out, wait=False) as removed:
            assert removed == [out / io.CELL_DIR / f".x{second.pid}.parquet.123.tmp"]
            assert json.loads((out / io.LOCK_FILE).read_text())["pid"] == os.getpid()
        assert all(p.read_bytes() == b"kept" for p in keep)
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=TIMEOUT)
            p.stdin.close()
            p.stdout.close()


# --------------------------------------------------------------------------- a full disk

FILL = textwrap.dedent("""
    import os, numpy as np, pandas as pd
    from spikedcl import io
    out = os.path.join(os.environ["TINY_FS"], "out")
    rng = np.random.default_rng(0)
    for c in ("c0", "c1"):
        io.write_cell(out, c, pd.DataFrame({"x": rng.standard_normal(200)}))
    io.consolidate(out, ["c0", "c1"])
    io.write_json(os.path.join(out, "config.json"), {"a": 1})
""")

ON_FULL_DISK = textwrap.dedent("""
    import errno, json, os, numpy as np, pandas as pd
    from spikedcl import io
    out = os.path.join(os.environ["TINY_FS"], "out")
    report = {}
    def attempt(name, fn):
        try:
            fn()
            report[name] = "ok"
        except OSError as exc:
            report[name] = errno.errorcode[exc.errno]
    results = os.path.join(out, "results.parquet")
    before = open(results, "rb").read()
    attempt("same results", lambda: io.consolidate(out, ["c0", "c1"]))
    attempt("same json", lambda: io.write_json(os.path.join(out, "config.json"), {"a": 1}))
    attempt("lock", lambda: io.results_lock(out).__enter__())
    attempt("new cell", lambda: io.write_cell(out, "c2", pd.DataFrame({"x": np.ones(50)})))
    attempt("new results", lambda: io.consolidate(out, ["c1"]))
    attempt("new json", lambda: io.write_json(os.path.join(out, "config.json"), {"a": 2}))
    report["results unchanged"] = open(results, "rb").read() == before
    report["json"] = io.read_json(os.path.join(out, "config.json"))
    report["files"] = sorted(os.listdir(out)) + sorted(os.listdir(os.path.join(out, "cells")))
    print(json.dumps(report))
""")


def test_enospc_propagates_leaves_nothing_behind_and_a_finished_state_needs_no_space():
    done = run_on_tiny_fs([sys.executable, "-c", ON_FULL_DISK], size="256k", fill=True,
                          setup=shlex.join([sys.executable, "-c", FILL]), timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report == {
        "same results": "ok", "same json": "ok", "lock": "ok",  # nothing to write: a full disk is no problem
        "new cell": "ENOSPC", "new results": "ENOSPC", "new json": "ENOSPC",
        "results unchanged": True, "json": {"a": 1},
        "files": [".lock", "cells", "config.json", "results.parquet", "c0.parquet", "c1.parquet"],
    }


def test_a_value_altered_in_results_parquet_does_not_survive_consolidation(tmp_path):
    frames = {f"c{i}": pd.DataFrame({"method": ["a", "b"], "value": [float(i), i + 0.5]}) for i in range(3)}
    for cell_id, df in frames.items():
        io.write_cell(tmp_path, cell_id, df)
    first = io.consolidate(tmp_path, list(frames))
    target = tmp_path / io.RESULTS_FILE
    table = pq.read_table(target)
    values = table.column("value").to_pylist()
    values[3] += 1e-12  # the digest of the cells still matches; the rows do not
    altered = table.set_column(table.schema.get_field_index("value"), "value", pa.array(values))
    pq.write_table(altered.replace_schema_metadata(table.schema.metadata), target)
    io.consolidate(tmp_path, list(frames))
    pd.testing.assert_frame_equal(pd.read_parquet(target), first, check_exact=True)
