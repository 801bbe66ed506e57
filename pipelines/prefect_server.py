"""A temporary local Prefect server that dies with the command that started it.

Without ``PREFECT_API_URL`` Prefect starts a temporary API server (uvicorn) in a child process
and stops it at interpreter exit. A run killed by SIGKILL or SIGTERM never reaches that exit:
the server lives on (about 220 MB, for minutes) and, since it inherited the caller's stdout,
``safestock run … | tail -1`` never returns. This module starts the same server (Prefect's own
``SubprocessASGIServer``) with three differences:

- the kernel sends it SIGKILL when its parent dies (Linux ``prctl(PR_SET_PDEATHSIG)``), however
  the parent dies (SIGKILL, not SIGTERM: uvicorn's graceful shutdown waits for open connections,
  and the server holds nothing worth a clean exit: Prefect's SQLite database survives a kill);
- its stdin and stdout are ``/dev/null`` and its stderr a temporary log file, so it holds none
  of the caller's pipes;
- ``PREFECT_API_URL`` points at it for the duration of the block, so the flow uses it.

With ``PREFECT_API_URL`` already set (a real Prefect server, or the test harness) nothing is
started.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any, BinaryIO

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_parent() -> None:
    """In the child, before exec: ask the kernel for SIGKILL when the parent exits."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _server_class() -> type:
    from prefect.server.api import server as prefect_server

    class ParentBoundServer(prefect_server.SubprocessASGIServer):
        """Prefect's temporary server, started detached from the caller's pipes and bound to
        the caller's life (see the module docstring)."""

        log: BinaryIO | None = None

        def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
            if self.log is None:
                self.log = tempfile.NamedTemporaryFile(prefix="safestock-prefect-", suffix=".log", delete=True)
            popen = partial(subprocess.Popen, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=self.log, preexec_fn=_die_with_parent)
            real = prefect_server.subprocess
            prefect_server.subprocess = SimpleNamespace(Popen=popen, TimeoutExpired=subprocess.TimeoutExpired)
            try:
                return super()._run_uvicorn_command()
            finally:
                prefect_server.subprocess = real

        def stop(self) -> None:
            super().stop()
            if self.log is not None:
                self.log.close()
                self.log = None

    return ParentBoundServer


def server_log_tail(server: Any, limit: int = 2000) -> str:
    """The end of the server's stderr log (for an error message), or ''."""
    log = getattr(server, "log", None)
    return "" if log is None else Path(log.name).read_text(errors="replace")[-limit:]


@contextmanager
def temporary_prefect_server(startup_timeout: int = 120) -> Iterator[str | None]:
    """Run the block against a temporary local Prefect server bound to this process; yields its
    API URL, or None when ``PREFECT_API_URL`` is already set (then nothing is started)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value():
        yield None
        return
    server = _server_class()()
    try:
        server.start(timeout=startup_timeout)
    except Exception as error:
        tail = server_log_tail(server)
        server.stop()
        raise RuntimeError(f"the temporary Prefect server did not start: {error}\n{tail}") from error
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield server.api_url
            _drain_prefect_workers()
    finally:
        server.stop()


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
