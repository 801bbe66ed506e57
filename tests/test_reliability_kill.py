"""A run killed after Prefect started leaves nothing behind (issue 20.3): within 5 s no process
of its session remains (the temporary Prefect server included) and the caller's pipe closes, so
``safestock run … | tail -1`` returns."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")]

SAFESTOCK = Path(sys.executable).with_name("safestock")
STARTED = b"Aggregating weekly demand"  # printed once the flow runs, i.e. after the server is up
# The kill lands as soon as STARTED is read; a 40-SKU run still has seconds of forecasting, policy
# replay, writes and reports ahead of it then (the crash tests kill 40-SKU runs as late as
# "Writing reports"), so a small demo proves the same as a big one without generating 400 SKUs.
DEMO_SKUS = "40"


def _session_processes(session_id: int) -> list[str]:
    """Command lines of the live processes whose session id is ``session_id``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[3]) == session_id and fields[0] != "Z":
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return found


@pytest.mark.parametrize("signal_number", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_run_leaves_no_server_and_closes_the_pipe(signal_number: int, tmp_path: Path) -> None:
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    env.pop("PREFECT_API_URL", None)
    process = subprocess.Popen([str(SAFESTOCK), "demo", "--skus", DEMO_SKUS, "--out", str(tmp_path / "demo")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               env=env, cwd=tmp_path, start_new_session=True)
    seen = b""
    deadline = time.monotonic() + 240
    try:
        while STARTED not in seen:
            assert time.monotonic() < deadline, f"the flow never started:\n{seen.decode(errors='replace')}"
            ready, _, _ = select.select([process.stdout], [], [], 1.0)
            if ready:
                chunk = os.read(process.stdout.fileno(), 65536)
                assert chunk or process.poll() is None, f"the run ended early:\n{seen.decode(errors='replace')}"
                seen += chunk
        assert any("uvicorn" in command for command in _session_processes(process.pid)), \
            "no temporary Prefect server in the run's session: the test would prove nothing"
        os.kill(process.pid, signal_number)
        killed_at = time.monotonic()
        while True:  # the pipe reaches end-of-file once no process holds its write end
            remaining = 5.0 - (time.monotonic() - killed_at)
            assert remaining > 0, "the caller's pipe is still held open 5 s after the kill"
            ready, _, _ = select.select([process.stdout], [], [], remaining)
            if ready and not os.read(process.stdout.fileno(), 65536):
                break
        process.wait(timeout=5)
        while (left := _session_processes(process.pid)) and time.monotonic() - killed_at < 5.0:
            time.sleep(0.1)
        assert not left, f"still running 5 s after the kill: {left}"
    finally:
        if process.poll() is None:
            process.kill()
        for pid_dir in Path("/proc").iterdir():  # never leak a server from a failed assertion
            if pid_dir.name.isdigit():
                try:
                    if os.getsid(int(pid_dir.name)) == process.pid:
                        os.kill(int(pid_dir.name), signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        process.stdout.close()
