"""Incremental writes into the export directory, remembered in a manifest.

Every file the export writes is recorded in ``DIR/.assets-catalog.json`` with the hash
of its content (or, for pictures, of the DOT source it was drawn from). The next export
skips files whose hash is unchanged, so an asset page that did not change keeps its
bytes and its mtime, and removes files that the previous export wrote but this one no
longer does. Files the export never wrote are left alone.

The manifest is written first, flagged ``partial``, and rewritten whole at the end: an
export interrupted half way (Ctrl-C, SIGKILL) leaves a directory the next export
recognises as its own; that export trusts no recorded hash (it rewrites every file) and
removes the temporary files the interrupted one left.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path, PurePosixPath

from ..errors import ExportError

MANIFEST = ".assets-catalog.json"
MANIFEST_VERSION = 1
TMP_SUFFIX = ".assets-export.tmp"  # a file being written; renamed into place when whole


def content_hash(data: bytes | str) -> str:
    """A short, stable hash of ``data``.

    >>> content_hash("a") == content_hash(b"a")
    True
    """
    raw = data.encode() if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()[:32]


class SiteWriter:
    """Writes files under ``root`` only when their content hash changed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.previous, partial = _read_manifest(root)
        # After an interrupted export a file may hold other content than its hash says.
        self.trusted = not partial
        self.current: dict[str, str] = {}
        self.written: list[str] = []
        self.unchanged = 0

    def begin(self) -> None:
        """Mark the directory as an export in progress before writing anything, and
        remove the temporary files an interrupted export left.

        The marker is the manifest itself, flagged ``partial``: an export killed half
        way leaves a directory the next export recognises as its own (and rewrites
        whole, since the files no longer match the recorded hashes).
        """
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root).as_posix()
            ours = path.name.endswith(TMP_SUFFIX) or (
                path.name.endswith(".tmp") and rel[: -len(".tmp")] in self.previous
            )  # ".tmp": the name older versions used
            if ours and path.is_file():
                try:
                    path.unlink()
                except OSError:
                    pass  # harmless: never linked from a page
        self._save_manifest(self.previous, partial=True)

    def is_current(self, rel: str, digest: str) -> bool:
        """True when ``rel`` exists and was last written from inputs hashing to ``digest``."""
        return self.trusted and self.previous.get(rel) == digest and (self.root / rel).is_file()

    def keep(self, rel: str, digest: str) -> None:
        """Record ``rel`` as part of this export without writing it."""
        self.current[rel] = digest
        self.unchanged += 1

    def write(self, rel: str, data: bytes | str, *, digest: str | None = None) -> bool:
        """Write ``data`` to ``rel`` unless it is unchanged; True when written.

        ``digest`` is the hash of the inputs (default: of ``data`` itself).
        """
        raw = data.encode() if isinstance(data, str) else data
        digest = digest or content_hash(raw)
        if self.is_current(rel, digest):
            self.keep(rel, digest)
            return False
        path = self._path(rel)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + TMP_SUFFIX)
            tmp.write_bytes(raw)
            os.replace(tmp, path)
        except OSError as e:
            raise ExportError(
                f"cannot write {rel}: {e.strerror}",
                path=str(path),
                hint="check that the export directory is writable and the disk is not full",
            ) from e
        self.current[rel] = digest
        self.written.append(rel)
        return True

    def finish(self) -> list[str]:
        """Remove files the previous export wrote and this one did not; save the manifest."""
        removed = sorted(set(self.previous) - set(self.current))
        for rel in removed:
            try:
                self._path(rel).unlink(missing_ok=True)
            except OSError:
                continue  # a file we cannot remove is harmless; it is no longer linked
        self._save_manifest(self.current, partial=False)
        return removed

    def _save_manifest(self, files: dict[str, str], *, partial: bool) -> None:
        data: dict[str, object] = {
            "version": MANIFEST_VERSION,
            "files": dict(sorted(files.items())),
        }
        if partial:
            data["partial"] = True
        path = self.root / MANIFEST
        tmp = path.with_name(MANIFEST + TMP_SUFFIX)
        try:
            tmp.write_text(json.dumps(data, indent=0, sort_keys=True) + "\n", encoding="utf-8")
            os.replace(tmp, path)
        except OSError as e:
            raise ExportError(
                f"cannot write {MANIFEST}: {e.strerror}",
                path=str(path),
                hint="check that the export directory is writable and the disk is not full",
            ) from e

    def _path(self, rel: str) -> Path:
        pure = PurePosixPath(rel)
        if pure.is_absolute() or ".." in pure.parts:
            raise ExportError(f"refusing to write outside the export directory: {rel}")
        return self.root.joinpath(*pure.parts)


def prepare_directory(root: Path) -> None:
    """Create ``root``, or check that it is empty or a previous export.

    Refuses a non-empty folder that is not an export, so that ``export .`` in a
    project cannot scatter files among the user's own.
    """
    if root.exists() and not root.is_dir():
        raise ExportError(
            "the export target is a file, not a directory",
            path=str(root),
            hint="pass a new or empty directory",
        )
    if root.is_dir() and not (root / MANIFEST).is_file() and any(root.iterdir()):
        raise ExportError(
            "the export directory is not empty and holds no previous catalog export",
            path=str(root),
            hint="pass a new or empty directory (a previous export is updated in place)",
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(
            f"cannot create the export directory: {e.strerror}", path=str(root)
        ) from e


def _read_manifest(root: Path) -> tuple[dict[str, str], bool]:
    """The files the last export wrote with their hashes, and whether it was
    interrupted (``partial``). An unreadable manifest counts as interrupted."""
    path = root / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        return {}, path.exists()
    except ValueError:
        return {}, True
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        return {}, True
    files = data.get("files")
    if not isinstance(files, dict):
        return {}, True
    return {str(k): str(v) for k, v in files.items()}, bool(data.get("partial"))
