"""A queue of downloads, run one at a time on a worker thread.

Plain Python, no Qt: the GUI turns `on_progress` calls (made from the worker thread, or
from the caller's thread for a job that is not running) into signals. Downloads left
paused by an earlier run of the app are listed as paused, ready to resume.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from app.core.errors import TandemError
from app.core.privacy import RequestRecord
from app.core.reach import NetworkPolicy
from app.library.catalog import CatalogModel, load_catalog
from app.library.downloads import (
    DownloadControl,
    DownloadProgress,
    DownloadState,
    discard_partial,
    download_model,
    partial_downloads,
)

logger = logging.getLogger(__name__)


@dataclass
class _Job:
    entry: CatalogModel
    progress: DownloadProgress
    control: DownloadControl = field(default_factory=DownloadControl)


class DownloadQueue:
    """Downloads catalog models into `models_dir`, first come first served.

    `on_progress(DownloadProgress)` hears every change of every job.
    """

    def __init__(
        self,
        models_dir: Path,
        on_progress: Callable[[DownloadProgress], None] | None = None,
        token: str | None = None,
        restore: bool = True,
        on_request: Callable[[RequestRecord], None] | None = None,
        policy: Callable[[], NetworkPolicy] | None = None,
    ) -> None:
        """`on_request` hears what each download fetched (for the privacy ledger); `policy`
        says, when a download starts, whether the model hub may be reached."""
        self.models_dir = models_dir
        self._on_request = on_request
        self._policy = policy
        self._on_progress = on_progress
        self._token = token
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._worker: threading.Thread | None = None
        self._running: str | None = None
        self._closing = False
        if restore:
            self._restore()

    def _restore(self) -> None:
        catalog = load_catalog()
        for partial in partial_downloads(self.models_dir):
            entry = catalog.by_id(partial.model_id)
            if entry is None:
                continue
            progress = DownloadProgress(
                entry.id, DownloadState.PAUSED, partial.done_bytes, partial.total_bytes,
                message="Paused; resume to continue where it stopped.",
            )  # fmt: skip
            self._jobs[entry.id] = _Job(entry, progress)

    # ----- what callers see

    def jobs(self) -> list[DownloadProgress]:
        with self._lock:
            return [job.progress for job in self._jobs.values()]

    def get(self, model_id: str) -> DownloadProgress | None:
        with self._lock:
            job = self._jobs.get(model_id)
            return job.progress if job else None

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._running is not None or any(
                j.progress.state is DownloadState.QUEUED for j in self._jobs.values()
            )

    def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Block until nothing is running or waiting; False on timeout."""
        with self._idle:
            return self._idle.wait_for(
                lambda: (
                    self._running is None
                    and not any(
                        j.progress.state is DownloadState.QUEUED for j in self._jobs.values()
                    )
                ),
                timeout_s,
            )

    # ----- what callers do

    def enqueue(self, entry: CatalogModel) -> None:
        """Add a download (or resume a paused one); it starts when those before it finish."""
        with self._lock:
            job = self._jobs.get(entry.id)
            if job is not None and not job.progress.state.finished:
                if job.progress.state is not DownloadState.PAUSED:
                    return
                job.control = DownloadControl()
                job.progress = replace(job.progress, state=DownloadState.QUEUED, message="")
            else:
                job = _Job(entry, DownloadProgress(entry.id, DownloadState.QUEUED, 0, None))
                self._jobs[entry.id] = job
            progress = job.progress
        self._report(progress)
        self._start_worker()

    def resume(self, model_id: str) -> None:
        with self._lock:
            job = self._jobs.get(model_id)
        if job is not None:
            self.enqueue(job.entry)

    def pause(self, model_id: str) -> None:
        """Stop a download, keeping what has arrived; `resume` continues it."""
        self._stop(model_id, DownloadState.PAUSED)

    def cancel(self, model_id: str) -> None:
        """Stop a download and delete what has arrived."""
        self._stop(model_id, DownloadState.CANCELLED)

    def clear_finished(self) -> None:
        with self._lock:
            for model_id in [k for k, j in self._jobs.items() if j.progress.state.finished]:
                del self._jobs[model_id]

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Pause whatever runs (its partial file stays for next time) and stop the worker."""
        with self._lock:
            self._closing = True
            running = self._jobs.get(self._running) if self._running else None
            worker = self._worker
        if running is not None:
            running.control.pause()
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout_s)

    # ----- inside

    def _stop(self, model_id: str, state: DownloadState) -> None:
        with self._lock:
            job = self._jobs.get(model_id)
            if job is None or job.progress.state.finished:
                return
            if model_id == self._running:
                stopping = job.control
                report = None
            else:
                stopping = None
                message = "Paused." if state is DownloadState.PAUSED else "Cancelled."
                done = job.progress.done_bytes if state is DownloadState.PAUSED else 0
                job.progress = replace(
                    job.progress, state=state, done_bytes=done, speed_bytes_per_s=0.0,
                    eta_s=None, message=message,
                )  # fmt: skip
                report = job.progress
                self._idle.notify_all()
        if stopping is not None:
            stopping.cancel() if state is DownloadState.CANCELLED else stopping.pause()
            return
        if state is DownloadState.CANCELLED:
            discard_partial(self.models_dir, job.entry.file)
        if report is not None:
            self._report(report)

    def _report(self, progress: DownloadProgress) -> None:
        if self._on_progress is not None:
            try:
                self._on_progress(progress)
            except Exception:  # a listener's bug must not kill the download
                logger.exception("download progress listener failed")

    def _start_worker(self) -> None:
        with self._lock:
            if self._worker is not None and self._worker.is_alive():
                return
            self._closing = False
            self._worker = threading.Thread(target=self._work, name="tandem-downloads",
                                            daemon=True)  # fmt: skip
            self._worker.start()

    def _next(self) -> _Job | None:
        with self._lock:
            if not self._closing:
                for model_id, job in self._jobs.items():
                    if job.progress.state is DownloadState.QUEUED:
                        self._running = model_id
                        return job
            self._running = None
            self._worker = None
            self._idle.notify_all()
            return None

    def _work(self) -> None:
        while (job := self._next()) is not None:

            def progress(p: DownloadProgress, job: _Job = job) -> None:
                with self._lock:
                    job.progress = p
                self._report(p)

            try:
                final = download_model(
                    job.entry,
                    self.models_dir,
                    progress,
                    job.control,
                    self._token,
                    on_request=self._on_request,
                    policy=None if self._policy is None else self._policy(),
                )
            except TandemError as exc:
                final = replace(job.progress, state=DownloadState.FAILED, speed_bytes_per_s=0.0,
                                eta_s=None, message=exc.message)  # fmt: skip
                progress(final)
            except Exception as exc:  # shown, logged, and the queue goes on
                logger.exception("download of %s failed", job.entry.id)
                final = replace(job.progress, state=DownloadState.FAILED,
                                message=f"The download failed unexpectedly: {exc}")  # fmt: skip
                progress(final)
            with self._lock:
                job.progress = final
                self._running = None
                self._idle.notify_all()
