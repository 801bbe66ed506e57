"""A temporary local Prefect server that dies with the command that started it.

Without ``PREFECT_API_URL`` Prefect starts a temporary API server (uvicorn) in a child process
and stops it at interpreter exit. A run killed by SIGKILL or SIGTERM never reaches that exit:
the server lives on (about 220 MB, for minutes) and, since it inherited the caller's stdout,
``safestock run … | tail -1`` never returns. This module starts the same server (the command
and environment of Prefect's own ``SubprocessASGIServer._run_uvicorn_command``) with these
differences:

- the kernel sends it SIGKILL when its parent dies (Linux ``prctl(PR_SET_PDEATHSIG)``), however
  the parent dies (SIGKILL, not SIGTERM: uvicorn's graceful shutdown waits for open connections,
  and the server holds nothing worth a clean exit: Prefect's SQLite database survives a kill);
- its stdin and stdout are ``/dev/null`` and its stderr a temporary log file, so it holds none
  of the caller's pipes;
- ``PREFECT_API_URL`` points at it for the duration of the block, so the flow uses it;
- it can be launched early (``launch_prefect_server``) and waited for later, so the caller's
  own start-up (importing the flow: prefect, pandas, scipy, the models) overlaps the server's
  boot on the other core; and this process never imports ``prefect.server`` (FastAPI,
  SQLAlchemy: about 3 s of CPU that only the child needs).

With ``PREFECT_API_URL`` already set (a real Prefect server, or the test harness) nothing is
started.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
PORT_IN_USE_EXIT_CODE = 3  # uvicorn's exit code when it cannot bind (Prefect retries on it too)


def _die_with_parent() -> None:
    """In the child, before exec: ask the kernel for SIGKILL when the parent exits."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _free_port() -> int:
    """A local TCP port nobody listens on now (a race with another process is retried)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LaunchedServer:
    """Prefect's temporary API server started in a child process (see the module docstring);
    ``wait_ready`` blocks until it answers, ``stop`` ends it."""

    def __init__(self) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="safestock-prefect-", suffix=".log", delete=True)
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._spawn()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def _spawn(self) -> None:
        import prefect
        from prefect.settings import get_current_settings

        self.port = _free_port()
        command = [sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent),
                   "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1",
                   "--port", str(self.port), "--log-level", "error", "--lifespan", "on"]
        environment = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
                       "PREFECT__SERVER_FINAL": "1",
                       **get_current_settings().to_environment_variables(exclude_unset=True)}
        self.process = subprocess.Popen(command, env=environment, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=self.log,
                                        preexec_fn=_die_with_parent)  # noqa: PLW1509 - launched before any thread

    def wait_ready(self, timeout: float) -> str:
        """Block until the server answers its health check; its API URL. RuntimeError (with the
        end of the server's log) when it exits or does not answer within ``timeout`` seconds."""
        import httpx

        deadline = time.monotonic() + timeout
        with httpx.Client() as client:
            while time.monotonic() < deadline:
                assert self.process is not None
                code = self.process.poll()
                if code == PORT_IN_USE_EXIT_CODE:  # another process took the port meanwhile
                    self._spawn()
                    continue
                if code is not None:
                    raise RuntimeError(f"the temporary Prefect server exited with code {code}\n{self.log_tail()}")
                try:
                    if client.get(f"{self.api_url}/health", timeout=5).status_code == 200:
                        return self.api_url
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        raise RuntimeError(f"the temporary Prefect server did not answer within {timeout:.0f} s\n{self.log_tail()}")

    def log_tail(self, limit: int = 2000) -> str:
        """The end of the server's stderr log (for an error message), or ''."""
        return Path(self.log.name).read_text(errors="replace")[-limit:]

    def stop(self) -> None:
        """Terminate the server (killed after 5 s) and drop its log."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        self.log.close()


def launch_prefect_server() -> LaunchedServer | None:
    """Start the temporary server's process now and return at once (its boot overlaps what the
    caller does next); None when ``PREFECT_API_URL`` is set (nothing to start). Hand it to
    ``temporary_prefect_server``, which waits for it and stops it."""
    from prefect.settings import PREFECT_API_URL

    return None if PREFECT_API_URL.value() else LaunchedServer()


@contextmanager
def temporary_prefect_server(startup_timeout: int = 120, launched: LaunchedServer | None = None,
                             ) -> Iterator[str | None]:
    """Run the block against a temporary local Prefect server bound to this process (``launched``
    by ``launch_prefect_server`` earlier, else started now); yields its API URL, or None when
    ``PREFECT_API_URL`` is already set (then nothing is started)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if launched is None:
        if PREFECT_API_URL.value():
            yield None
            return
        launched = LaunchedServer()
    try:
        api_url = launched.wait_ready(startup_timeout)
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            yield api_url
            _drain_prefect_workers()
    finally:
        launched.stop()


def _drain_prefect_workers(timeout: float = 5.0) -> None:
    """Let Prefect's background workers send what they hold (logs, events) while the server is
    still up: stopped first, they would retry against a closed port. Prefect's own exit order
    (workers drained, then its server stopped) does the same."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        try:
            worker.drain_all(timeout=timeout)
        except Exception:  # noqa: BLE001 - a failure to flush telemetry must not fail the run
            pass
