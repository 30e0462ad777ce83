"""One writer per project: an exclusive lock file under ``.assets/``.

The lock is an OS file lock (``flock``), so it is released when its process dies;
the file also names the holder (pid, run id, since) so that a second writer can
say who holds it. A lock file left by a dead process is taken over with a warning.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .errors import CatalogError, LockError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, one writer by convention
    fcntl = None  # type: ignore[assignment]


RECONCILE = "reconcile"  # the run id of a reader repairing the catalog after a crash
# How long a writer waits for the lock when its holder is not a live writer: a reader
# repairing the catalog (a second or so), or a process that has not named itself yet.
WAIT_FOR_REPAIR = 30.0


@dataclass
class WriterLock:
    """Hold with ``with WriterLock(path, run_id=...) as lock:``; ``lock.warning`` may be set.

    Only a live writer makes another one give up at once; a lock held for a repair
    (run id ``reconcile``) is waited for, up to ``wait`` seconds.
    """

    path: Path
    run_id: str
    warning: str | None = None
    wait: float = WAIT_FOR_REPAIR
    _fh: IO[str] | None = None

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock or raise LockError naming the holder (a CatalogError when the
        lock file cannot be used: permissions, a folder in its place)."""
        from .catalog_store import check_state_folder

        check_state_folder(self.path.parent)
        try:
            fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        except OSError as e:
            raise unusable(self.path, e) from e
        if fcntl is not None:
            deadline = time.monotonic() + self.wait
            while not _try_lock(fh):
                holder = _read(fh)
                if _names_writer(holder) or time.monotonic() >= deadline:
                    fh.close()
                    raise refusal(holder)
                time.sleep(0.05)
        previous = _read(fh)
        pid = _pid(previous)
        if pid is not None and not _alive(pid):
            self.warning = f"took over a lock left by a process that is gone ({describe(previous)})"
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "run_id": self.run_id, "since": time.time()}))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is None:
            return
        self._fh.seek(0)
        self._fh.truncate()
        self._fh.flush()
        if fcntl is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
        self._fh.close()
        self._fh = None


def unusable(path: Path, error: OSError) -> CatalogError:
    """The error for a lock file that cannot be opened (never a reason to lose history)."""
    from .catalog_store import PERMISSION_HINT

    if isinstance(error, IsADirectoryError) or path.is_dir():
        return CatalogError(
            f"{path.name} is a folder, not the writer lock file",
            path=str(path),
            hint=f"remove the folder ('rmdir {path}' when it is empty); the lock file holds "
            "no history and is created again",
        )
    if isinstance(error, PermissionError):
        return CatalogError(
            f"cannot open the writer lock {path.name}: permission denied",
            path=str(path),
            hint=PERMISSION_HINT,
        )
    return CatalogError(
        f"cannot open the writer lock {path.name}: {error.strerror}", path=str(path)
    )


def refusal(holder: dict[str, Any]) -> LockError:
    """The error a second writer gets."""
    return LockError(
        "another process is materializing this project: " + describe(holder),
        hint="wait for it to finish, or stop it; readers (status, lineage, history) work meanwhile",
    )


def _try_lock(fh: IO[str]) -> bool:
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _pid(holder: dict[str, Any]) -> int | None:
    """The holder's pid, or None when the file names none (or something else)."""
    pid = holder.get("pid")
    if isinstance(pid, bool) or not isinstance(pid, int | str):
        return None
    try:
        value = int(pid)
    except ValueError:
        return None
    return value if value > 0 else None


def _names_writer(holder: dict[str, Any]) -> bool:
    """Whether the lock file names a live process that is writing (not repairing)."""
    pid = _pid(holder)
    return pid is not None and holder.get("run_id") != RECONCILE and _alive(pid)


def _read(fh: IO[str]) -> dict[str, Any]:
    fh.seek(0)
    try:
        data = json.loads(fh.read() or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def describe(holder: dict[str, Any]) -> str:
    """``pid 123, run 2026..., since 10:15:02 (3s ago)`` from lock file contents."""
    if not holder:
        return "holder unknown"
    since = holder.get("since")
    when = ""
    if isinstance(since, int | float):
        when = (
            f", since {time.strftime('%H:%M:%S', time.localtime(since))} "
            f"({time.time() - since:.0f}s ago)"
        )
    return f"pid {holder.get('pid')}, run {holder.get('run_id')}{when}"


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (one of another user counts)."""
    return _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True
    return True


def check_free(path: Path) -> None:
    """Raise the LockError a second writer gets when a live writer holds the lock.

    A quick look, before a command imports what a run needs (a second ``materialize``
    is refused in a fraction of a second); taking the lock is what decides.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            holder = _read(fh)
    except OSError:
        return
    # The file may name a process that died without clearing it: the lock says.
    if _names_writer(holder) and holder_alive(path):
        raise refusal(holder)


def holder_alive(path: Path) -> bool:
    """True when a live process holds the writer lock (used to tell crashed runs).

    Opened for reading only (a reader may not be allowed to write it); a lock file
    that cannot be read at all counts as held: nothing can be concluded from it.
    """
    if fcntl is None:
        return False
    try:
        fh = open(path, encoding="utf-8")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return False
    except OSError:
        return not path.is_dir()  # a folder in its place holds nothing
    with fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return False
