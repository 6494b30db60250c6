"""The output folder of a run: how the suite writes, locks and cleans it.

- ``write_atomic(path, write)``: ``write(file)`` fills a temporary file ``.tmp-chargen-*`` in the same folder, which
  then replaces ``path`` (os.replace): a reader, a killed run or a full disk never leaves a half-written or 0-byte
  file, and a symbolic link at ``path`` is replaced, never written through. Text is UTF-8; the file gets the mode a
  plain ``open`` gives (0o666 less the umask), like every other file of the folder.
- ``subfolder(out, name)``: ``out/name`` (cache/, figures/), created if needed; refused if it is a link that leaves
  ``out``, not a folder, or not writable.
- ``locked(out)``: an exclusive lock on the folder (``fcntl.flock`` on ``out/.lock``, released by the OS when the
  holder dies, even by SIGKILL), re-entrant within one process; another process gets one ValueError naming the
  holder, and a ``.lock`` that is not a plain file (a FIFO, a folder, a link) one ValueError too.
- ``remove_leftovers(folder)``: deletes the temporary files a killed run of the suite left (regular files named
  ``.tmp-chargen-*``), and nothing else.

Every failure to write (full disk, read-only folder, a folder where a file should go) is one ValueError naming the
file, so the command line prints one line.
"""
from __future__ import annotations

import contextlib
import datetime
import fcntl
import os
import socket
import stat
import sys
import tempfile
from pathlib import Path

TEMP_PREFIX = ".tmp-chargen-"
LOCK_NAME = ".lock"
_HELD: dict[str, list] = {}  # resolved folder -> [lock file descriptor, depth]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def cannot_write(path, err: OSError) -> ValueError:
    """The one-line ValueError for an OSError met while writing ``path``."""
    return ValueError(f"out: cannot write {str(path)!r}: {err.strerror or err}")


def write_atomic(path, write, binary: bool = False) -> None:
    """Write ``path`` through ``write(file)`` (a text file in UTF-8, or binary) atomically, as described above."""
    path = Path(path)
    try:
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=path.suffix)
    except OSError as err:
        raise cannot_write(path, err) from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        text = {} if binary else {"encoding": "utf-8", "newline": ""}
        with open(fd, "wb" if binary else "w", **text) as handle:
            write(handle)
        os.replace(temp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(err, OSError):
            raise cannot_write(path, err) from None
        raise


def write_text(path, text: str) -> None:
    """``write_atomic`` of a string."""
    write_atomic(path, lambda handle: handle.write(text))


def inside(path, out) -> bool:
    """Whether ``path``, all links resolved, lies in the folder ``out`` (links resolved too)."""
    return Path(path).resolve().is_relative_to(Path(out).resolve())


def subfolder(out, name: str) -> Path:
    """``out/name``, created if needed; ValueError if it leaves ``out`` through a link, is not a folder, or cannot
    be written."""
    folder = Path(out) / name
    if not inside(folder, out):
        raise ValueError(f"out: {str(folder)!r} is a link to {str(folder.resolve())!r}, outside the output folder; "
                         f"remove the link")
    try:
        folder.mkdir(exist_ok=True)
    except FileExistsError:
        raise ValueError(f"out: {str(folder)!r} is not a folder; remove it") from None
    except OSError as err:
        raise cannot_write(folder, err) from None
    if not folder.is_dir():
        raise ValueError(f"out: {str(folder)!r} is not a folder; remove it")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"out: cannot write to {str(folder)!r}: not writable")
    return folder


def remove_leftovers(folder) -> None:
    """Delete the suite's own temporary files in ``folder`` (regular files, not links, named ``TEMP_PREFIX*``)."""
    for leftover in Path(folder).glob(TEMP_PREFIX + "*"):
        if leftover.is_file() and not leftover.is_symlink():
            leftover.unlink(missing_ok=True)


@contextlib.contextmanager
def locked(out):
    """Hold the exclusive lock of the existing folder ``out`` for the block (re-entrant in one process)."""
    key = str(Path(out).resolve())
    if key in _HELD:
        _HELD[key][1] += 1
        try:
            yield
        finally:
            _HELD[key][1] -= 1
        return
    path = Path(out) / LOCK_NAME
    try:  # O_NONBLOCK: a FIFO there is never waited on; it is refused below as not a plain file
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, 0o666)
    except OSError as err:
        raise ValueError(f"out: cannot lock the output folder through {str(path)!r} (it must be a plain file the "
                         f"suite can write): {err.strerror or err}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ValueError(f"out: cannot lock the output folder through {str(path)!r}: it is not a plain file; remove "
                         f"it") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 1000, 0).decode("utf-8", "replace").strip() or "a process that is starting"
        os.close(fd)
        raise ValueError(f"out: {str(out)!r} is in use by another run ({holder}); wait for it to finish or choose "
                         f"another output folder") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, _holder().encode("utf-8"), 0)
    _HELD[key] = [fd, 1]
    try:
        yield
    finally:
        del _HELD[key]
        os.close(fd)  # releases the lock


def _holder() -> str:
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    command = " ".join([os.path.basename(sys.argv[0] or "python"), *sys.argv[1:]])[:300]
    return f"pid {os.getpid()} on {socket.gethostname()}, since {started}: {command}\n"
