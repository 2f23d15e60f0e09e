"""Download one catalog model from Hugging Face: resumable, pausable, checked.

The bytes go to `<file>.part` in the models folder, beside `<file>.part.json`, which
records what is being fetched (repo, file, expected sha256 and size). Pausing stops the
transfer and keeps both; the next start, in this run of the app or a later one, asks the
server for the rest with a `Range` header, and starts over only when the file on the Hub
has changed. The finished file's sha256 is checked against the catalog's recorded hash, or
else the Hub's (X-Linked-Etag); a mismatch deletes the file and says so. Only then is the
file renamed to its real name, so a half-downloaded model is never listed or loaded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app.core import units
from app.core.errors import ModelFileError, TandemError, UsageError
from app.core.privacy import RequestRecord
from app.core.reach import MODEL_HUB_URL, NetworkPolicy
from app.library.catalog import CatalogModel, load_catalog
from app.library.gguf_file import inspect_gguf
from app.library.hub import DownloadError, RemoteFile, hub_endpoint, open_range, resolve_remote

logger = logging.getLogger(__name__)

PART_SUFFIX = ".part"
_CHUNK_BYTES = 256 * 1024
_DISK_MARGIN_BYTES = 50_000_000  # never fill the disk to the last byte
_PROGRESS_INTERVAL_S = 0.1
_SPEED_WINDOW_S = 5.0
_MAX_RETRIES = 5  # consecutive network failures without a byte of progress


class DownloadState(StrEnum):
    QUEUED = "queued"
    STARTING = "starting"
    DOWNLOADING = "downloading"
    VERIFYING = "verifying"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (DownloadState.CANCELLED, DownloadState.DONE, DownloadState.FAILED)


class ChecksumMismatch(ModelFileError):
    """The downloaded file is not the file that was asked for; it has been deleted."""

    kind = "checksum_mismatch"


class NotEnoughDisk(DownloadError):
    kind = "disk_full"


@dataclass(frozen=True, slots=True)
class DownloadProgress:
    model_id: str
    state: DownloadState
    done_bytes: int
    total_bytes: int | None
    speed_bytes_per_s: float = 0.0
    eta_s: float | None = None
    message: str = ""  # for a person: why it failed, or what is happening
    path: Path | None = None  # the finished file

    @property
    def fraction(self) -> float | None:
        if not self.total_bytes:
            return None
        return min(1.0, self.done_bytes / self.total_bytes)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model_id,
            "state": str(self.state),
            "done_bytes": self.done_bytes,
            "total_bytes": self.total_bytes,
            "speed_bytes_per_s": round(self.speed_bytes_per_s, 1),
            "eta_s": None if self.eta_s is None else round(self.eta_s, 1),
            "message": self.message,
            "path": str(self.path) if self.path else None,
        }


ProgressCallback = Callable[[DownloadProgress], None]


class DownloadControl:
    """Pause or cancel a download from any thread; the download stops within a chunk."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._wanted: DownloadState | None = None
        self._abort: Callable[[], None] | None = None
        self._lock = threading.Lock()

    @property
    def wanted(self) -> DownloadState | None:
        """PAUSED or CANCELLED once asked for, else None."""
        return self._wanted

    def pause(self) -> None:
        self._request(DownloadState.PAUSED)

    def cancel(self) -> None:
        self._request(DownloadState.CANCELLED)

    def _request(self, state: DownloadState) -> None:
        with self._lock:
            if self._wanted is not DownloadState.CANCELLED:
                self._wanted = state
            abort = self._abort
        self._stop.set()
        if abort is not None:
            abort()  # wakes a read that waits on a silent server

    def _attach(self, abort: Callable[[], None] | None) -> None:
        with self._lock:
            self._abort = abort

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True at once when a stop was asked for."""
        return self._stop.wait(seconds)


@dataclass(frozen=True, slots=True)
class PartialDownload:
    """A download that was paused or interrupted, found in the models folder."""

    model_id: str
    file: str
    done_bytes: int
    total_bytes: int | None


def partial_path(models_dir: Path, file_name: str) -> Path:
    return models_dir / (file_name + PART_SUFFIX)


def _sidecar(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def _read_sidecar(part: Path) -> dict[str, Any]:
    try:
        data = json.loads(_sidecar(part).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_sidecar(part: Path, data: dict[str, Any]) -> None:
    side = _sidecar(part)
    temp = side.with_name(side.name + ".tmp")
    temp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(temp, side)


def discard_partial(models_dir: Path, file_name: str) -> bool:
    """Delete a paused or failed download's bytes; True if there were any."""
    part = partial_path(models_dir, file_name)
    found = part.exists() or _sidecar(part).exists()
    part.unlink(missing_ok=True)
    _sidecar(part).unlink(missing_ok=True)
    return found


def partial_downloads(models_dir: Path) -> list[PartialDownload]:
    """Downloads left paused or cut short, e.g. by closing the app."""
    found = []
    for side in sorted(models_dir.glob(f"*{PART_SUFFIX}.json")):
        part = side.with_name(side.name.removesuffix(".json"))
        data = _read_sidecar(part)
        model_id, file_name = data.get("model_id"), data.get("file")
        if not isinstance(model_id, str) or not isinstance(file_name, str):
            continue
        size = data.get("size_bytes")
        done = part.stat().st_size if part.exists() else 0
        found.append(
            PartialDownload(model_id, file_name, done, size if isinstance(size, int) else None)
        )
    return found


def free_disk_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free


class _Meter:
    """Throttled progress with speed over the last few seconds, and the ETA from it."""

    def __init__(self, model_id: str, total: int | None, callback: ProgressCallback | None) -> None:
        self.model_id, self.total, self.callback = model_id, total, callback
        self.samples: deque[tuple[float, int]] = deque()
        self.last_emit = 0.0
        self.last_state: DownloadState | None = None

    def start_timing(self, done: int) -> None:
        """Speed counts bytes from here on (not those found on disk when resuming)."""
        self.samples = deque([(time.monotonic(), done)])

    def progress(self, state: DownloadState, done: int, message: str = "") -> DownloadProgress:
        now = time.monotonic()
        speed, eta = 0.0, None
        if self.samples:
            self.samples.append((now, done))
            while len(self.samples) > 2 and now - self.samples[0][0] > _SPEED_WINDOW_S:
                self.samples.popleft()
            first_t, first_done = self.samples[0]
            if now - first_t > 0.05:
                speed = max(0.0, (done - first_done) / (now - first_t))
            eta = (self.total - done) / speed if self.total and speed > 0 else None
        return DownloadProgress(self.model_id, state, done, self.total, speed, eta, message)

    def emit(self, state: DownloadState, done: int, message: str = "", force: bool = True) -> None:
        now = time.monotonic()
        changed = state is not self.last_state
        if not (force or changed) and now - self.last_emit < _PROGRESS_INTERVAL_S:
            return
        self.last_emit, self.last_state = now, state
        progress = self.progress(state, done, message)
        if self.callback is not None:
            self.callback(progress)


def _hash_prefix(part: Path, length: int) -> Any:
    digest = hashlib.sha256()
    with part.open("rb") as fh:
        remaining = length
        while remaining > 0 and (chunk := fh.read(min(1 << 20, remaining))):
            digest.update(chunk)
            remaining -= len(chunk)
    return digest


def _expected_sha256(entry: CatalogModel, remote: RemoteFile) -> str:
    if entry.sha256 and remote.sha256 and entry.sha256.lower() != remote.sha256:
        raise DownloadError(
            f"The file {entry.file} on Hugging Face is not the one Tandem's catalog recorded "
            f"(sha256 {remote.sha256[:12]}… instead of {entry.sha256[:12]}…), so it was not "
            "downloaded. Update Tandem, or import a file you trust with “Import GGUF…”."
        )
    expected = (entry.sha256 or remote.sha256 or "").lower()
    if not expected:
        raise DownloadError(
            f"Hugging Face gives no sha256 for {entry.repo}/{entry.file}, so the download "
            "could not be checked and was not started."
        )
    return expected


def _check_disk(models_dir: Path, needed: int, done: int, total: int | None) -> None:
    free = free_disk_bytes(models_dir)
    if needed + _DISK_MARGIN_BYTES > free:
        have = (
            f" ({units.size(done)} of {units.size(total)} are already here)"
            if done and total
            else ""
        )
        raise NotEnoughDisk(
            f"Not enough disk space: the model needs {units.size(needed)} more{have} but only "
            f"{units.size(free)} is free in {models_dir}. Free some space and start it again."
        )


def download_model(
    entry: CatalogModel,
    models_dir: Path,
    on_progress: ProgressCallback | None = None,
    control: DownloadControl | None = None,
    token: str | None = None,
    on_request: Callable[[RequestRecord], None] | None = None,
    policy: NetworkPolicy | None = None,
) -> DownloadProgress:
    """Fetch `entry` into `models_dir`, resuming a partial file if there is one.

    Returns the final progress (state DONE, PAUSED or CANCELLED); raises TandemError when
    the download fails, keeping the partial file unless its bytes are wrong.
    `on_progress` is called from this thread, at most ten times a second; `on_request`
    once, with what this run fetched from the network (for the privacy ledger). With a
    `policy` that refuses the model hub (private mode), nothing is fetched: PrivacyBlocked.
    """
    control = control or DownloadControl()
    target = models_dir / entry.file
    if target.exists():
        size = target.stat().st_size
        ready = DownloadProgress(entry.id, DownloadState.DONE, size, size, path=target)
        if on_progress:
            on_progress(replace(ready, message="Already downloaded."))
        return ready
    if not entry.repo:
        raise DownloadError(f"The catalog does not say where {entry.name} can be downloaded.")
    if policy is not None:
        policy.may_reach(MODEL_HUB_URL).enforce()
    models_dir.mkdir(parents=True, exist_ok=True)
    fetched = [0]
    outcome = "error"
    try:
        final = _fetch(entry, models_dir, on_progress, control, token, fetched)
        outcome = "ok" if final.state is DownloadState.DONE else str(final.state)
        return final
    finally:
        if on_request is not None:
            on_request(
                RequestRecord(
                    time=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    provider="Hugging Face",
                    host=urlsplit(hub_endpoint()).hostname or "",
                    model=entry.id,
                    bytes_sent=0,
                    bytes_received=fetched[0],
                    outcome=outcome,
                    left_device=True,
                )
            )


def _fetch(
    entry: CatalogModel,
    models_dir: Path,
    on_progress: ProgressCallback | None,
    control: DownloadControl,
    token: str | None,
    fetched: list[int],
) -> DownloadProgress:
    assert entry.repo is not None
    meter = _Meter(entry.id, None, on_progress)
    meter.emit(DownloadState.STARTING, 0, "Asking Hugging Face about the file…")
    remote = resolve_remote(entry.repo, entry.file, entry.revision, token)
    expected = _expected_sha256(entry, remote)
    total = remote.size_bytes or (None if entry.size_approximate else entry.size_bytes)
    meter.total = total

    part = partial_path(models_dir, entry.file)
    record = _read_sidecar(part)
    if part.exists() and (record.get("sha256") != expected or record.get("size_bytes") != total):
        logger.info("%s: the partial file is of another version; starting over", entry.file)
        part.unlink()
    done = part.stat().st_size if part.exists() else 0
    if total is not None and done > total:
        part.unlink()
        done = 0
    _check_disk(models_dir, (total or 0) - done, done, total)
    _write_sidecar(part, {"model_id": entry.id, "repo": entry.repo, "file": entry.file,
                          "revision": entry.revision, "sha256": expected,
                          "size_bytes": total})  # fmt: skip
    digest = hashlib.sha256()
    if done:
        logger.info("%s: resuming at %d bytes", entry.file, done)
        meter.emit(DownloadState.DOWNLOADING, done, "Checking the part already downloaded…")
        digest = _hash_prefix(part, done)

    failures = 0
    meter.start_timing(done)
    while total is None or done < total:
        if control.wanted is not None:
            break
        try:
            with open_range(remote, done, token, _CHUNK_BYTES) as response:
                if response is None:  # 416: the server has nothing past `done`
                    break
                control._attach(response.abort)
                if response.start != done:  # the server ignored Range: start over
                    done, digest = 0, hashlib.sha256()
                if total is None:
                    meter.total = total = response.total_bytes
                began_at = done
                with part.open("r+b" if part.exists() else "wb") as fh:
                    fh.seek(done)
                    fh.truncate()
                    for chunk in response.chunks:
                        fh.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        fetched[0] += len(chunk)
                        failures = 0
                        meter.emit(DownloadState.DOWNLOADING, done, force=False)
                        if control.wanted is not None:
                            break
            if total is None:
                break
            if done == began_at and control.wanted is None:
                raise ConnectionError("the server sent no data")
        except TandemError:
            raise
        except Exception as exc:  # a dropped connection: resume from here
            if control.wanted is not None:
                break
            if isinstance(exc, OSError) and not isinstance(exc, ConnectionError | TimeoutError):
                raise DownloadError(
                    f"Could not write {part.name} in {models_dir}: {exc.strerror or exc}. "
                    "Free some disk space and start the download again; it resumes from "
                    "where it stopped."
                ) from exc
            failures += 1
            logger.warning("%s: transfer interrupted at %d bytes (%r)", entry.file, done, exc)
            if failures > _MAX_RETRIES:
                raise DownloadError(
                    f"The download of {entry.name} kept failing ({type(exc).__name__}) after "
                    f"{units.size(done)}. Check the network and start it again; it resumes from "
                    "where it stopped."
                ) from exc
            meter.emit(DownloadState.DOWNLOADING, done, "Connection lost; resuming…")
            control.wait(min(0.2 * 2**failures, 5.0))
        finally:
            control._attach(None)

    if control.wanted is DownloadState.CANCELLED:
        discard_partial(models_dir, entry.file)
        result = meter.progress(
            DownloadState.CANCELLED, 0, "Cancelled; the partial file was deleted."
        )
    elif control.wanted is DownloadState.PAUSED:
        result = replace(
            meter.progress(DownloadState.PAUSED, done, "Paused."), speed_bytes_per_s=0.0, eta_s=None
        )
    else:
        result = _finish(entry, models_dir, part, digest.hexdigest(), expected, done, meter)
    if on_progress:
        on_progress(result)
    return result


def _finish(
    entry: CatalogModel,
    models_dir: Path,
    part: Path,
    actual: str,
    expected: str,
    done: int,
    meter: _Meter,
) -> DownloadProgress:
    meter.emit(DownloadState.VERIFYING, done, "Checking the file…")
    if actual != expected:
        discard_partial(models_dir, entry.file)
        raise ChecksumMismatch(
            f"The downloaded {entry.file} does not match its checksum (expected sha256 "
            f"{expected[:12]}…, got {actual[:12]}…), so it was deleted. Download it again; if "
            "this repeats, the connection or the file on the server is faulty."
        )
    try:
        inspect_gguf(part)
    except ModelFileError as exc:
        discard_partial(models_dir, entry.file)
        raise ModelFileError(
            f"The downloaded {entry.file} is not a usable model ({exc.message}); it was deleted."
        ) from None
    target = models_dir / entry.file
    os.replace(part, target)
    _sidecar(part).unlink(missing_ok=True)
    logger.info("downloaded %s (%d bytes, sha256 %s)", target, done, actual)
    return replace(
        meter.progress(DownloadState.DONE, done, "Downloaded and checked."), eta_s=0.0, path=target
    )


def catalog_entry(model_id: str) -> CatalogModel:
    """The catalog entry for `model_id` (or its file name); UsageError naming where to look."""
    catalog = load_catalog()
    entry = catalog.by_id(model_id) or catalog.by_file(model_id)
    if entry is None:
        raise UsageError(
            f"The catalog has no model {model_id!r}. See `tandem-cli models catalog` for ids."
        )
    return entry
