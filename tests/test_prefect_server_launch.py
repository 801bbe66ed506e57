"""The CLI's temporary Prefect server launched early (pipelines/prefect_server.py): it answers
once waited for, the flow's settings point at it, it stops with the block, and the calling
process never imports ``prefect.server`` (the ~3 s of FastAPI/SQLAlchemy imports only the child
needs). Run in a fresh interpreter without ``PREFECT_API_URL`` so a real server starts."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import sys
    import httpx
    from safestock.pipelines.prefect_server import launch_prefect_server, temporary_prefect_server

    launched = launch_prefect_server()
    assert launched is not None, "PREFECT_API_URL is unset: a server must be launched"
    process = launched.process
    assert process is not None and process.poll() is None, "launched, still booting or up"
    from safestock.pipelines.flow import configured_flow  # imported while the server boots
    with temporary_prefect_server(launched=launched) as url:
        from prefect.settings import PREFECT_API_URL
        assert PREFECT_API_URL.value() == url, (PREFECT_API_URL.value(), url)
        assert httpx.get(url + "/health", timeout=10).status_code == 200
    assert launched.process is None and process.poll() is not None, "stopped with the block"
    print("prefect.server modules in the caller:", sorted(m for m in sys.modules if m.startswith("prefect.server")))
""")


def test_launched_server_answers_then_stops_and_the_caller_never_imports_prefect_server() -> None:
    environment = {name: value for name, value in os.environ.items() if name != "PREFECT_API_URL"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=environment, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "prefect.server modules in the caller: []" in result.stdout, result.stdout


def test_with_an_api_url_set_nothing_is_launched() -> None:
    script = ("from safestock.pipelines.prefect_server import launch_prefect_server, temporary_prefect_server\n"
              "assert launch_prefect_server() is None\n"
              "with temporary_prefect_server() as url:\n"
              "    assert url is None\n"
              "print('nothing started')\n")
    environment = {**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api"}
    result = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "nothing started" in result.stdout
