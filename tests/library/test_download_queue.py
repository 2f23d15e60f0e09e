"""Several downloads queue, run one at a time, pause, resume and cancel."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from app.library.catalog import load_catalog
from app.library.download_queue import DownloadQueue
from app.library.downloads import DownloadState, partial_path

MB = 1_000_000


@pytest.fixture
def entries(fake_hub, default_model):
    first = load_catalog().default
    second = dataclasses.replace(first, id="second-copy", file="Second.gguf", sha256=None)
    assert first.repo is not None
    fake_hub.host(first.repo, "Second.gguf", default_model)
    return first, second


class Recorder:
    def __init__(self):
        self.events = []
        self.lock = threading.Lock()
        self.hooks = []

    def __call__(self, progress):
        with self.lock:
            self.events.append(progress)
        for hook in list(self.hooks):
            hook(progress)

    def states(self, model_id):
        return [p.state for p in self.events if p.model_id == model_id]


def test_queued_downloads_run_one_after_another(entries, models_dir):
    first, second = entries
    seen = Recorder()
    queue = DownloadQueue(models_dir, seen)
    queue.enqueue(first)
    queue.enqueue(second)
    assert queue.wait_idle(60)
    assert [p.state for p in queue.jobs()] == [DownloadState.DONE, DownloadState.DONE]
    order = [(p.model_id, p.state) for p in seen.events]
    first_done = order.index((first.id, DownloadState.DONE))
    second_moving = order.index((second.id, DownloadState.STARTING))
    assert order.index((second.id, DownloadState.QUEUED)) < first_done < second_moving
    assert (models_dir / first.file).is_file()
    assert (models_dir / second.file).is_file()


def test_pause_then_resume_through_the_queue(entries, models_dir, fake_hub):
    first, _ = entries
    seen = Recorder()
    queue = DownloadQueue(models_dir, seen)
    paused = threading.Event()

    def pause_midway(progress):
        if progress.model_id == first.id and progress.done_bytes >= 30 * MB and not paused.is_set():
            paused.set()
            queue.pause(first.id)

    seen.hooks.append(pause_midway)
    queue.enqueue(first)
    assert queue.wait_idle(60)
    assert queue.get(first.id).state is DownloadState.PAUSED
    kept = partial_path(models_dir, first.file).stat().st_size
    queue.resume(first.id)
    assert queue.wait_idle(60)
    assert queue.get(first.id).state is DownloadState.DONE
    assert fake_hub.ranges()[-1] == f"bytes={kept}-"


def test_a_new_queue_lists_a_download_left_paused_and_can_finish_it(entries, models_dir):
    first, _ = entries
    part = partial_path(models_dir, first.file)
    seen = Recorder()
    queue = DownloadQueue(models_dir, seen)
    seen.hooks.append(lambda p: p.done_bytes >= 10 * MB and queue.shutdown(timeout_s=0))
    queue.enqueue(first)
    assert queue.wait_idle(60)
    assert part.exists()

    reopened = DownloadQueue(models_dir)
    [job] = reopened.jobs()
    assert (job.model_id, job.state) == (first.id, DownloadState.PAUSED)
    assert job.done_bytes == part.stat().st_size
    reopened.resume(first.id)
    assert reopened.wait_idle(60)
    assert reopened.get(first.id).state is DownloadState.DONE


def test_cancelling_a_waiting_download_removes_it_from_the_line(entries, models_dir, fake_hub):
    first, second = entries
    fake_hub.faults.rate = 200 * MB  # slow enough that the second one is still waiting
    queue = DownloadQueue(models_dir)
    queue.enqueue(first)
    queue.enqueue(second)
    queue.cancel(second.id)
    assert queue.get(second.id).state is DownloadState.CANCELLED
    assert queue.wait_idle(60)
    assert queue.get(first.id).state is DownloadState.DONE
    assert not (models_dir / second.file).exists()
    queue.clear_finished()
    assert queue.jobs() == []


def test_a_failed_download_does_not_stop_the_queue(entries, models_dir):
    first, second = entries
    broken = dataclasses.replace(second, id="broken", file="Missing.gguf")
    queue = DownloadQueue(models_dir)
    queue.enqueue(broken)
    queue.enqueue(first)
    assert queue.wait_idle(60)
    failed = queue.get("broken")
    assert failed.state is DownloadState.FAILED
    assert "has no file Missing.gguf" in failed.message
    assert queue.get(first.id).state is DownloadState.DONE
