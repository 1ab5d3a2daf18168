"""Test helpers: run a command on a real, tiny file system (for genuine ENOSPC).

``run_on_tiny_fs`` mounts a tmpfs of a given size in a private mount namespace
(``unshare -rm``, no privileges needed where user namespaces are enabled) and
runs a command there; the test is skipped where that is not permitted. The
mount exists only for the command, so everything that must happen on the small
file system (preparing files, filling it, checking the result) happens inside
the one call: ``setup`` runs first, then the disk is optionally filled, then
``argv``. Both see the mount point as ``$TINY_FS``, and ``{fs}`` in ``argv`` or
``setup`` is replaced by it.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import signal
import subprocess
import tempfile

import pytest

SETUP_FAILED = "run_on_tiny_fs: setup failed"
MOUNT_FAILED = "run_on_tiny_fs: mount failed"


@functools.cache
def tiny_fs_problem():
    """Why a tiny file system cannot be mounted here (``None`` when it can)."""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return "unshare or mount is not installed"
    probe = tempfile.mkdtemp(prefix="tinyfs-probe-")
    try:
        done = subprocess.run(["unshare", "-rm", "sh", "-c", 'mount -t tmpfs -o size=64k tmpfs "$1"', "sh", probe],
                              capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare failed: {exc}"
    finally:
        os.rmdir(probe)
    if done.returncode != 0:
        return f"unshare -rm / mount -t tmpfs not permitted: {done.stderr.strip()}"
    return None


def run_on_tiny_fs(argv, *, size="256k", setup=None, fill=False, timeout=60, env=None, cwd=None):
    """Run ``argv`` with a fresh tmpfs of ``size`` mounted at ``$TINY_FS``.

    Parameters
    ----------
    argv : sequence of str
        The command; ``{fs}`` in an argument is replaced by the mount point.
    size : str, default="256k"
        The tmpfs size (``mount -o size=``).
    setup : str, optional
        A shell command run on the mounted file system before ``argv`` (e.g. a
        first run that fills an output directory); ``{fs}`` is replaced too. If
        it fails, ``RuntimeError`` is raised with its output.
    fill : bool, default=False
        After ``setup``, fill the file system (a file ``$TINY_FS/.fill``), so
        that every further write of data fails with ``ENOSPC``.
    timeout : float, default=60
        Seconds before the whole process group is killed and
        ``subprocess.TimeoutExpired`` raised.
    env : mapping, optional
        Extra environment variables.
    cwd : str or pathlib.Path, optional
        Working directory of the command.

    Returns
    -------
    subprocess.CompletedProcess
        Of ``argv`` (text ``stdout`` / ``stderr``).
    """
    problem = tiny_fs_problem()
    if problem is not None:
        pytest.skip(problem)
    mount = tempfile.mkdtemp(prefix="tinyfs-")
    args = [str(a).replace("{fs}", mount) for a in argv]
    script = [f'mount -t tmpfs -o size={shlex.quote(size)} tmpfs "$TINY_FS" || {{ echo "{MOUNT_FAILED}" >&2; exit 125; }}']
    if setup:
        script.append(f'( {setup.replace("{fs}", mount)} ) || {{ echo "{SETUP_FAILED}" >&2; exit 125; }}')
    if fill:
        script.append('dd if=/dev/zero of="$TINY_FS/.fill" bs=4096 >/dev/null 2>&1; sync')
    script.append('exec "$@"')
    proc = subprocess.Popen(["unshare", "-rm", "sh", "-c", "\n".join(script), "sh", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                            env={**os.environ, **(env or {}), "TINY_FS": mount}, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    finally:
        shutil.rmtree(mount, ignore_errors=True)
    if proc.returncode == 125 and (SETUP_FAILED in err or MOUNT_FAILED in err):
        raise RuntimeError(f"run_on_tiny_fs: {err.strip()}\n{out}")
    return subprocess.CompletedProcess(args, proc.returncode, out, err)
