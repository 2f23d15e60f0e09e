"""`.localhost` names are answered on this device and never sent to a DNS server."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from app.core.privacy import is_loopback_host, privacy_label
from tests.cli.test_cli import cli

# Runs in a fresh process: an audit hook (added before anything else) records every name
# that reaches the system resolver; the hook sees the call before the resolver does.
_RECORDER = """
import json, sys
looked_up = []
def record(event, args):
    if event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex"):
        looked_up.append(str(args[0]))
sys.addaudithook(record)
"""


def _run(body: str) -> dict:
    script = _RECORDER + textwrap.dedent(body) + "\nprint(json.dumps(result))\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_localhost_names_resolve_to_loopback_without_the_system_resolver():
    result = _run("""
        import socket
        from app.backends import netguard
        netguard.install(private=False)
        names = ["foo.localhost", "FOO.LocalHost.", "a.b.c.localhost", "localhost"]
        answers = {n: sorted({i[4][0] for i in socket.getaddrinfo(n, 443)}) for n in names}
        v4 = sorted({i[4][0] for i in socket.getaddrinfo("x.localhost", "80", socket.AF_INET)})
        result = {"answers": answers, "v4": v4, "by_name": socket.gethostbyname("x.localhost"),
                  "looked_up": looked_up}
    """)
    for name, addresses in result["answers"].items():
        assert addresses, name
        assert set(addresses) <= {"127.0.0.1", "::1"}, name
    assert result["v4"] == ["127.0.0.1"]
    assert result["by_name"] == "127.0.0.1"
    assert set(result["looked_up"]) <= {"127.0.0.1", "::1"}  # only numeric, never the name


def test_in_private_mode_a_localhost_name_around_the_guard_is_refused():
    result = _run("""
        import _socket, socket
        from app.backends import netguard
        from app.core.errors import PrivacyBlocked
        netguard.install(private=True)
        outcomes = {}
        for name in ("foo.localhost", "evil.localhost.example.com", "localhost.example.com"):
            try:
                _socket.getaddrinfo(name, 80)  # straight to the system resolver
                outcomes[name] = "resolved"
            except PrivacyBlocked:
                outcomes[name] = "blocked"
            except OSError:
                outcomes[name] = "no such name"
        try:
            socket.getaddrinfo("evil.localhost.example.com", 80)
            outcomes["through the guard"] = "resolved"
        except PrivacyBlocked:
            outcomes["through the guard"] = "blocked"
        result = {"outcomes": outcomes, "looked_up": looked_up}
    """)
    assert set(result["outcomes"].values()) == {"blocked"}


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("foo.localhost", True), ("foo.localhost.", True), ("LOCALHOST", True), ("127.8.9.1", True),
     ("[::1]", True), ("localhost.example.com", False), ("foo.localhost.evil.net", False),
     ("notlocalhost", False), ("0.0.0.0", False), ("10.0.0.1", False)],
)  # fmt: skip
def test_what_counts_as_this_device(host, loopback):
    assert is_loopback_host(host) is loopback
    assert (privacy_label(host) == "on this device") is loopback


def test_a_provider_on_a_localhost_name_passes_private_mode_and_stays_on_the_device(
    fault_server, tandem_home
):
    url = f"http://tandem-test.localhost:{fault_server.port}/v1"
    added = cli("providers", "add", "dev", "--preset", "openai", "--base-url", url,
                "--model", "ok", "--key-stdin", stdin="not-a-key-localhost\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    result = _run("""
        import contextlib, io
        from app.cli.main import main
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["chat", "--provider", "dev", "--private", "--json", "Hello"])
        result = {"code": code, "out": out.getvalue(), "looked_up": looked_up}
    """)
    assert result["code"] == 0
    data = json.loads(result["out"])
    assert data["text"] == "Hello from the fault server, one two three."
    assert data["privacy"] == "on this device"
    assert "tandem-test.localhost" not in result["looked_up"]
    (record,) = json.loads(cli("privacy", "--json").stdout)["ledger"]
    assert record["left_device"] is False
