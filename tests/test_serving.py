"""The dashboard and the docs site listen on 127.0.0.1 by default, refuse to listen beyond it without
ROI_SERVE_TOKEN, and with it refuse every request (and WebSocket) that does not carry it
(pipelines/serving; docs/report.md). Real servers, started as ./dev starts them, in subprocesses."""

from __future__ import annotations

import base64
import ipaddress
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

TOKEN = "a-serving-token-for-the-tests-0123456789"
DASHBOARD = [sys.executable, "-m", "pipelines.serving.dashboard_server"]
DOCS = [sys.executable, "-m", "pipelines.serving.dbt_docs", "--no-generate"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening_addresses(port: int) -> set[str]:
    """The addresses a socket listens on at ``port``, as the kernel lists them (/proc/net/tcp, tcp6)."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                words = [bytes.fromhex(address[i : i + 8])[::-1] for i in range(0, width, 8)]  # little-endian words
                found.add(str(ipaddress.ip_address(b"".join(words))))
    return found


def other_address() -> str:
    """An address of this machine other than loopback (a request from it is not from localhost)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: the kernel picks the outgoing address
            address = probe.getsockname()[0]
        except OSError:
            address = "127.0.0.1"
    if ipaddress.ip_address(address).is_loopback:
        pytest.skip("this machine has no address but loopback")
    return address


@contextmanager
def server(command: list[str], port: int, token: str | None = None) -> Iterator[subprocess.Popen]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROI_SERVE_")}
    if token:
        env["ROI_SERVE_TOKEN"] = token
    process = subprocess.Popen(
        [*command, "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 90
        while not listening_addresses(port):
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def status(url: str, authorization: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Authorization": authorization} if authorization else {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code


def websocket_handshake(host: str, port: int, path: str, authorization: str | None = None) -> int:
    """The status line's code of a WebSocket handshake (101: accepted)."""
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Connection: Upgrade",
        "Upgrade: websocket",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        *([f"Authorization: {authorization}"] if authorization else []),
    ]
    with socket.create_connection((host, port), timeout=20) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return int(connection.recv(1024).split(b" ", 2)[1])


def basic(token: str) -> str:
    return "Basic " + base64.b64encode(f"owner:{token}".encode()).decode()


@pytest.fixture
def site(tmp_path) -> Path:
    folder = tmp_path / "warehouse-docs"
    folder.mkdir()
    (folder / "index.html").write_text("<html>dbt docs</html>")
    return folder


def test_the_dashboard_listens_on_localhost_only_by_default(tmp_path):
    port = free_port()
    with server([*DASHBOARD, "--warehouse", str(tmp_path / "w.duckdb")], port) as process:
        assert listening_addresses(port) == {"127.0.0.1"}
        assert status(f"http://127.0.0.1:{port}/") == 200  # no token set, none asked on localhost
        process.terminate()
        printed = process.communicate(timeout=30)[0]
    assert f"URL: http://127.0.0.1:{port}" in printed and "Network URL" not in printed


def test_the_docs_site_listens_on_localhost_only_by_default(site, tmp_path):
    port = free_port()
    with server([*DOCS, "--site", str(site), "--warehouse", str(tmp_path / "w.duckdb")], port):
        assert listening_addresses(port) == {"127.0.0.1"}
        assert status(f"http://127.0.0.1:{port}/") == 200


@pytest.mark.parametrize("command", ["dashboard", "docs"])
@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7", "my-laptop.example"])
def test_listening_beyond_localhost_without_a_token_exits_2(command, host, tmp_path, site):
    argv = DASHBOARD if command == "dashboard" else [*DOCS, "--site", str(site)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROI_SERVE_")}
    done = subprocess.run(
        [*argv, "--warehouse", str(tmp_path / "w.duckdb"), "--host", host, "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"--host {host} would show the warehouse's figures" in done.stderr and "ROI_SERVE_TOKEN" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_weak_token_is_refused_and_never_printed(tmp_path):
    env = {**os.environ, "ROI_SERVE_TOKEN": "letmein"}
    done = subprocess.run(
        [*DASHBOARD, "--warehouse", str(tmp_path / "w.duckdb"), "--host", "0.0.0.0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "ROI_SERVE_TOKEN is shorter than 16 characters" in done.stderr
    assert "letmein" not in done.stderr + done.stdout


def test_the_dashboard_beyond_localhost_refuses_a_request_without_the_token(tmp_path):
    address, port = other_address(), free_port()
    command = [*DASHBOARD, "--warehouse", str(tmp_path / "w.duckdb"), "--host", "0.0.0.0"]
    with server(command, port, TOKEN) as process:
        assert listening_addresses(port) == {"0.0.0.0"}
        url = f"http://{address}:{port}"
        assert status(f"{url}/") == 401
        assert status(f"{url}/_stcore/health", basic("not-the-token-at-all")) == 401
        assert status(f"{url}/_stcore/health", "Bearer " + TOKEN[:-1]) == 401
        assert websocket_handshake(address, port, "/_stcore/stream") == 403
        assert status(f"{url}/", basic(TOKEN)) == 200
        assert status(f"{url}/_stcore/health", "Bearer " + TOKEN) == 200
        assert websocket_handshake(address, port, "/_stcore/stream", basic(TOKEN)) == 101
        assert status(f"http://127.0.0.1:{port}/") == 401  # a token that is set is asked for on localhost too
        process.terminate()
        printed = process.communicate(timeout=30)[0]
    assert TOKEN not in printed


def test_the_docs_site_beyond_localhost_refuses_a_request_without_the_token(site, tmp_path):
    address, port = other_address(), free_port()
    command = [*DOCS, "--site", str(site), "--warehouse", str(tmp_path / "w.duckdb"), "--host", "0.0.0.0"]
    with server(command, port, TOKEN):
        assert listening_addresses(port) == {"0.0.0.0"}
        assert status(f"http://{address}:{port}/") == 401
        assert status(f"http://{address}:{port}/index.html", basic("wrong")) == 401
        assert status(f"http://{address}:{port}/", basic(TOKEN)) == 200
        assert status(f"http://{address}:{port}/index.html", "Bearer " + TOKEN) == 200
