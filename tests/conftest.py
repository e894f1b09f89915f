from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Exported query models are cached between indexes; the tests keep theirs out of the user's home.
os.environ["POLICYQA_CACHE"] = tempfile.mkdtemp(prefix="policyqa-test-cache-")

from fakes import HashEncoder, OverlapVerifier  # noqa: E402


@pytest.fixture(autouse=True)
def _overlap_verifier(request, monkeypatch):
    """Tests that are not end to end answer with the hash encoder: the real cross-encoder would
    only slow them. The real verifier is tested in tests/unit/test_scoring.py and end to end."""
    if request.node.get_closest_marker("e2e") is None:
        import assistant.core

        monkeypatch.setattr(assistant.core, "default_verifier", OverlapVerifier)


@pytest.fixture
def encoder() -> HashEncoder:
    return HashEncoder()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A private copy of the seed corpus that a test may change."""
    dst = tmp_path / "corpus"
    shutil.copytree(SEEDS, dst)
    return dst


@pytest.fixture
def fake_index(tmp_path: Path, corpus: Path, encoder: HashEncoder) -> Path:
    from assistant import Assistant

    index = tmp_path / "index"
    Assistant.build(corpus, index, encoder=encoder)
    return index


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds indexed with the real bundled model, once per test session."""
    from assistant import Assistant

    index = tmp_path_factory.mktemp("real") / "index"
    Assistant.build(SEEDS, index)
    return index


@pytest.fixture(scope="session")
def real_qa(real_index: Path):
    from assistant import Assistant

    return Assistant.load(real_index)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVERS: dict[str, subprocess.Popen] = {}  # base URL -> the process of a running_server, for tests that need it


@contextlib.contextmanager
def running_server(index: Path, *args: str, timeout: float = 90.0, env: dict[str, str] | None = None):
    """`policyqa serve` in a subprocess on a free port; yields its base URL once /healthz answers."""
    import httpx

    port = free_port()
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve", "--index", str(index), "--port", str(port), *args],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    SERVERS[url] = proc
    deadline = time.monotonic() + timeout
    try:
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"server exited with {proc.returncode}: {log.read()}")
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not answer /healthz in time")
            time.sleep(0.3)
        yield url
    finally:
        SERVERS.pop(url, None)
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.seek(0)
        output = log.read()
        log.close()
        # A traceback in the server's own log means a request reached code that crashed.
        assert "Traceback" not in output, output


@pytest.fixture(scope="session")
def server_url(real_index: Path):
    with running_server(real_index) as url:
        yield url


def build_with_real_model(corpus: Path, index: Path, real_index: Path) -> None:
    """Index a small corpus with the real model, reusing the session index's exported query model."""
    from assistant import Assistant
    from assistant.encoder import onnx_folder

    shutil.copytree(onnx_folder(real_index), onnx_folder(index))
    Assistant.build(corpus, index)
