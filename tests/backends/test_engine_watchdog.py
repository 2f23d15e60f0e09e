"""The watchdog: an engine that stops (SIGSTOP) or gets stuck mid-answer is taken for
hung, killed and replaced; the partial answer stays, and Stop never waits for it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from app.backends.local.supervisor import EngineState, LocalBackend, LocalEngine
from app.core.errors import EngineHung, ExitCode
from app.core.events import CancelToken, Delta, Failed, Finished
from app.core.messages import GenerationParams, MessageStatus
from app.library.gguf_file import inspect_gguf
from app.services.chat import ChatService

pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs SIGSTOP"),
]
LONG = GenerationParams(temperature=0.0, max_tokens=1500, context_length=2048)
STORY = "Write a long story about a lighthouse keeper and a storm."


def _service(model, **engine_args):
    states: list[EngineState] = []
    engine = LocalEngine(on_state=states.append, check_file=inspect_gguf, **engine_args)
    return engine, ChatService(LocalBackend(engine, model, "smollm2"), LONG), states


def test_a_stopped_engine_is_killed_as_hung_and_the_next_message_works(default_model):
    engine, service, states = _service(default_model, hang_after_s=2.0)
    try:
        events, stopped_at = [], None
        for event in service.send(STORY, CancelToken()):
            events.append(event)
            if isinstance(event, Delta) and stopped_at is None and len(events) > 3:
                os.kill(engine.pid, signal.SIGSTOP)
                stopped_at = time.monotonic()
        took = time.monotonic() - stopped_at
        assert isinstance(events[-1], Failed)
        assert isinstance(events[-1].error, EngineHung)
        assert "stopped responding" in events[-1].error.message
        assert 2.0 <= took < 6.0, took
        answer = service.conversation.messages[-1]
        assert answer.status is MessageStatus.INCOMPLETE
        assert answer.content  # what came before the hang is kept
        assert EngineState.CRASHED in states
        assert not engine.alive

        again = list(service.send("Say hello.", CancelToken()))
        assert isinstance(again[-1], Finished)
    finally:
        engine.shutdown()


def test_stop_does_not_wait_for_a_hung_engine(default_model):
    engine, service, _ = _service(default_model)  # the default bound: 15 s
    cancel = CancelToken()
    try:
        events, stopped_at = [], None
        for event in service.send(STORY, cancel):
            events.append(event)
            if isinstance(event, Delta) and stopped_at is None and len(events) > 3:
                os.kill(engine.pid, signal.SIGSTOP)
                stopped_at = time.monotonic()
                cancel.cancel()  # the person presses Stop
        assert time.monotonic() - stopped_at < 1.5
        assert isinstance(events[-1], Failed)
        assert isinstance(events[-1].error, EngineHung)
        assert service.conversation.messages[-1].content
    finally:
        engine.shutdown()


def test_a_busy_engine_is_not_taken_for_hung(default_model):
    """A long answer under a short bound: the heartbeat, not the replies, keeps it alive."""
    engine, service, _ = _service(default_model, hang_after_s=0.5)
    try:
        events = list(service.send(STORY, CancelToken()))
        assert isinstance(events[-1], Finished), events[-1]
    finally:
        engine.shutdown()


def test_ctrl_c_in_the_cli_exits_within_a_second_when_the_engine_hangs(installed_default):
    command = [sys.executable, "-m", "app.cli", "chat", "--temperature", "0",
               "--max-tokens", "1500", STORY]  # fmt: skip
    cli = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ}
    )
    try:
        first = cli.stdout.read(1)
        assert first, cli.stderr.read()
        engines = [
            child for child in psutil.Process(cli.pid).children(recursive=True)
            if "spawn_main" in " ".join(child.cmdline())
        ]  # fmt: skip
        assert len(engines) == 1
        engines[0].send_signal(signal.SIGSTOP)
        time.sleep(0.3)
        interrupted_at = time.monotonic()
        cli.send_signal(signal.SIGINT)
        out, err = cli.communicate(timeout=30)
        took = time.monotonic() - interrupted_at
    finally:
        if cli.poll() is None:
            cli.kill()
    print(f"exited {took:.2f} s after Ctrl+C")
    assert took < 1.5, (took, err)
    assert cli.returncode == ExitCode.ENGINE_HUNG, err
    assert "stopped responding" in err
    assert (first + out).strip()
    assert not psutil.pid_exists(engines[0].pid) or engines[0].status() == psutil.STATUS_ZOMBIE
