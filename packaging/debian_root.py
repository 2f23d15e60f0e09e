"""A minimal Debian 12 system, made with debootstrap, to install Tandem the way people do.

    python packaging/debian_root.py install-deb dist/tandem_*.deb   # apt-get install ./…deb, then
                                                                    # self-test and chat offline
    python packaging/debian_root.py source-setup                   # a checkout with python3 and a
                                                                    # compiler: `make setup` there

The root is made once and kept outside the clone, keyed by its recipe
(`~/.cache/tandem-ci/debian-bookworm-minbase-v1`, or under `$TANDEM_CI_CACHE`); each run
works on an overlay of it, so the cached root is never changed. Needs root (chroot,
mounts) and the Debian mirror for the packages a run installs. Prints a transcript of every
command and, with `--json`, one JSON object at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
RECIPE = f"debian-{SUITE}-minbase-v1"
REPO = Path(__file__).resolve().parents[1]
PROMPT = "Say hello in five words."


def log(message: str) -> None:
    print(f"[debian-root] {message}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    base = os.environ.get("TANDEM_CI_CACHE") or Path.home() / ".cache" / "tandem-ci"
    return Path(base) / RECIPE


def why_not() -> str | None:
    """Why a Debian root cannot be made here, or None."""
    if not sys.platform.startswith("linux"):
        return "not Linux"
    if os.geteuid() != 0:
        return "needs root (debootstrap, chroot and mounts)"
    for tool in ("unshare", "chroot", "mount"):
        if shutil.which(tool) is None:
            return f"{tool} is missing"
    return None


def _debootstrap() -> str:
    found = shutil.which("debootstrap")
    if found:
        return found
    if shutil.which("apt-get") is None:
        raise SystemExit("debootstrap is missing and there is no apt-get to install it")
    log("installing debootstrap with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "install", "-y", "-q", "debootstrap"], check=True, env=env)
    return shutil.which("debootstrap") or "/usr/sbin/debootstrap"


def ensure_root() -> Path:
    """The cached root, made with debootstrap the first time (a few minutes)."""
    root = cache_dir()
    if (root / ".complete").is_file():
        return root
    tool = _debootstrap()
    partial = root.with_name(root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    log(f"debootstrap --variant=minbase {SUITE} into {root} (once; cached afterwards)")
    started = time.monotonic()
    subprocess.run([tool, "--variant=minbase", SUITE, str(partial), MIRROR], check=True)
    (partial / "etc" / "apt" / "sources.list").write_text(
        f"deb {MIRROR} {SUITE} main\ndeb {MIRROR} {SUITE}-updates main\n"
        f"deb http://deb.debian.org/debian-security {SUITE}-security main\n"
    )
    (partial / ".complete").write_text(time.strftime("%Y-%m-%d %H:%M:%S\n"))
    shutil.rmtree(root, ignore_errors=True)
    partial.rename(root)
    log(f"made the root in {time.monotonic() - started:.0f} s")
    return root


class Overlay:
    """A writable view of the cached root; every `run` sees what earlier runs wrote."""

    def __init__(self, lower: Path, work: Path) -> None:
        self.lower = lower
        self.upper, self.scratch, self.merged = work / "upper", work / "work", work / "merged"
        for folder in (self.upper, self.scratch, self.merged):
            folder.mkdir(parents=True, exist_ok=True)

    def path(self, inside: str) -> Path:
        """Where a file written into the upper layer lands, for copying files in."""
        target = self.upper / inside.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def run(
        self,
        script: str,
        *,
        offline: bool = False,
        binds: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 1800,
    ) -> subprocess.CompletedProcess[str]:
        """Run `script` with /bin/sh inside the root, in a mount namespace of its own."""
        m = shlex.quote(str(self.merged))
        mounts = [
            f"mount -t overlay overlay -o lowerdir={shlex.quote(str(self.lower))},"
            f"upperdir={shlex.quote(str(self.upper))},workdir={shlex.quote(str(self.scratch))} {m}",
            f"mount -t proc proc {m}/proc",
            f"mount --rbind /dev {m}/dev",
            f"mount --rbind /sys {m}/sys",
            f"cp /etc/resolv.conf {m}/etc/resolv.conf 2>/dev/null || true",
        ]
        for outside, inside in (binds or {}).items():
            target = f"{m}/{inside.lstrip('/')}"
            mounts.append(f"mkdir -p {shlex.quote(target)}")
            mounts.append(f"mount --bind {shlex.quote(outside)} {shlex.quote(target)}")
        network = "ip link set lo up; " if offline else ""
        variables = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/root",
            "LANG": "C.UTF-8",
            "DEBIAN_FRONTEND": "noninteractive",
            **(env or {}),
        }
        assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in variables.items())
        inner = f"{network}chroot {m} env -i {assignments} /bin/sh -c {shlex.quote(script)}"
        outer = " && ".join(mounts) + f" && {inner}"
        command = ["unshare", "-m", "--propagation", "private"]
        if offline:
            command.append("-n")
        log(("offline: " if offline else "") + script)
        done = subprocess.run(
            [*command, "sh", "-c", outer],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        sys.stderr.write(done.stdout + done.stderr)
        sys.stderr.flush()
        return done


def install_deb(deb: Path) -> dict[str, object]:
    """apt-get install the .deb (Depends resolved from the mirror), then run it offline."""
    root = ensure_root()
    with tempfile.TemporaryDirectory(prefix="tandem-debroot-") as work:
        overlay = Overlay(root, Path(work))
        shutil.copy(deb, overlay.path(f"/srv/{deb.name}"))  # not /tmp: that would lose its 1777
        install = overlay.run(
            f"apt-get update -q && apt-get install -y -q --no-install-recommends /srv/{deb.name}"
            " && dpkg -s tandem | sed -n 's/^Depends: //p'"
        )
        result: dict[str, object] = {"root": str(root), "install_rc": install.returncode}
        if install.returncode != 0:
            return result
        home = "TANDEM_HOME=/tmp/tandem-home QT_QPA_PLATFORM=offscreen"
        test = overlay.run(f"cd /tmp && {home} tandem --self-test --json", offline=True)
        chat = overlay.run(
            f"cd /tmp && {home} tandem-cli chat --json --max-tokens 12 {shlex.quote(PROMPT)}",
            offline=True,
        )
        depends = install.stdout.strip().splitlines()
        result.update(
            depends=depends[-1] if depends else "",
            self_test_rc=test.returncode,
            self_test=_json_or_text(test.stdout),
            chat_rc=chat.returncode,
            chat=_json_or_text(chat.stdout),
        )
        return result


def source_setup() -> dict[str, object]:
    """A checkout in the root with python3 and a compiler only; `make setup` brings the rest.

    pip's cache is shared with the root, so llama-cpp-python's wheel built here is reused.
    """
    root = ensure_root()
    pip_cache = Path.home() / ".cache" / "pip"
    pip_cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tandem-debroot-") as work:
        overlay = Overlay(root, Path(work))
        checkout = overlay.path("/src/tandem")
        subprocess.run(["git", "clone", "-q", str(REPO), str(checkout)], check=True)
        tools = overlay.run(
            "apt-get update -q && apt-get install -y -q --no-install-recommends "
            "python3 python3-venv python3-dev gcc g++ make git ca-certificates"
        )
        if tools.returncode != 0:
            return {"tools_rc": tools.returncode}
        setup = overlay.run(
            "cd /src/tandem && make setup",
            binds={str(pip_cache): "/root/.cache/pip"},
            env=_host_trust(overlay),
        )
        check = overlay.run(
            "cd /src/tandem && .venv/bin/python -m app.ui.platform_check --need display"
        )
        return {
            "root": str(root),
            "setup_rc": setup.returncode,
            "setup": setup.stdout[-4000:] + setup.stderr[-4000:],
            "check_rc": check.returncode,
            "check": check.stdout + check.stderr,
        }


def _host_trust(overlay: Overlay) -> dict[str, str]:
    """This machine's certificate authorities for pip inside the root, where the way out to
    the package registry goes through a proxy that only the host trusts."""
    bundle = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE")
    if not bundle or not Path(bundle).is_file():
        return {}
    inside = "/etc/ssl/host-ca-certificates.crt"
    shutil.copy(bundle, overlay.path(inside))
    return {"PIP_CERT": inside, "SSL_CERT_FILE": inside}


def _json_or_text(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text[-4000:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("ensure", help="make the cached root")
    deb = sub.add_parser("install-deb", help="install a .deb with apt and run it offline")
    deb.add_argument("deb", type=Path)
    sub.add_parser("source-setup", help="make setup in a checkout inside the root")
    args = parser.parse_args()
    reason = why_not()
    if reason:
        raise SystemExit(f"cannot make a Debian root here: {reason}")
    if args.command == "ensure":
        result: dict[str, object] = {"root": str(ensure_root())}
    elif args.command == "install-deb":
        result = install_deb(args.deb.resolve())
    else:
        result = source_setup()
    if args.json:
        print(json.dumps(result, indent=2))
    ok = all(v == 0 for k, v in result.items() if k.endswith("_rc"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
