"""Replicas: two `policyqa serve` processes on one Milvus index, as behind a load balancer.

Milvus Lite embedded in a process locks its folder (one process per folder), so the two servers
share the index the way replicas share a Milvus cluster: through a Milvus server, here Milvus
Lite's own (`python -m milvus_lite server`), reached at http://127.0.0.1:PORT with the same code
as a cluster. A document added through one server is answered by the other without a restart,
and one removed through the other is gone from both.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import SEEDS, free_port, running_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("milvus-server") / "data"
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Milvus Lite's server did not start: {proc.stderr.read()[-1000:] if proc.stderr else ''}")
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _cites(answer: dict, doc_id: str) -> bool:
    return answer["answered"] and any(c["doc_id"] == doc_id for c in answer["citations"])


def test_two_servers_on_one_milvus_index(milvus_server, real_index: Path):
    from assistant import Assistant, locations
    from assistant.encoder import onnx_folder

    loc = locations.parse(milvus_server)
    if not onnx_folder(loc.local_root).exists():  # the session index's exported query model: no second export
        shutil.copytree(onnx_folder(real_index), onnx_folder(loc.local_root))
    Assistant.build(SEEDS, milvus_server)
    question = "what share of villages had rural broadband in 2023?"
    note = (b"Rural broadband\n\nBy the end of 2023 rural broadband reached 98 percent of administrative villages, "
            b"narrowing the digital gap between county towns and the countryside.\n")
    with running_server(milvus_server) as a, running_server(milvus_server) as b, \
            httpx.Client(timeout=60) as http:
        same = "what obstacles block migrant citizenization?"
        first, second = (http.post(f"{u}/api/ask", json={"question": same}).json() for u in (a, b))
        assert first["text"] == second["text"] and first["generation"] == second["generation"]
        assert not _cites(http.post(f"{b}/api/ask", json={"question": question}).json(), "broadband")

        added = http.post(f"{a}/api/documents", files=[("files", ("broadband.txt", note))])
        assert added.status_code == 200 and added.json()["added"] == ["broadband"], added.text
        deadline = time.monotonic() + 10
        while not _cites(answer := http.post(f"{b}/api/ask", json={"question": question}).json(), "broadband"):
            assert time.monotonic() < deadline, answer
            time.sleep(0.3)
        assert "98 percent" in answer["text"]
        cited = answer["citations"][0]
        # The citation indexes into the text the other replica serves for that generation.
        held = http.get(f"{a}/api/documents/broadband", params={"generation": answer["generation"]}).json()
        assert held["text"][cited["start"] : cited["end"]] == cited["quote"]

        assert http.delete(f"{b}/api/documents/broadband").status_code == 200
        deadline = time.monotonic() + 10
        while any(d["doc_id"] == "broadband" for d in http.get(f"{a}/api/documents").json()["documents"]):
            assert time.monotonic() < deadline
            time.sleep(0.3)
        assert http.get(f"{a}/healthz").json()["documents"] == 5
