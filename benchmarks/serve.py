"""The server under load: /api/ask latency at 1 and 8 concurrent clients, and its memory.

    .venv/bin/python benchmarks/serve.py [--asks 200] [--json benchmarks/results/serve.json]

Starts `policyqa serve` on the seeds index in a subprocess, as a user would, and talks
to it over real HTTP. Memory is the server process's RSS after start-up and after the load.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from common import ROOT, describe, machine, median, percentile, rss_mib

QUESTIONS = [json.loads(line)["question"] for line in (ROOT / "tests" / "data" / "questions.jsonl").open()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(index: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve", "--index", str(index), "--port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.perf_counter() - t0 > 120:
            raise SystemExit("the server did not start")
        time.sleep(0.2)


def load(url: str, clients: int, asks_per_client: int) -> dict:
    def client(n: int) -> list[tuple[float, int]]:
        out = []
        with httpx.Client(base_url=url, timeout=60) as c:
            for i in range(asks_per_client):
                q = QUESTIONS[(n * asks_per_client + i) % len(QUESTIONS)]
                t0 = time.perf_counter()
                r = c.post("/api/ask", json={"question": q})
                out.append((time.perf_counter() - t0, r.status_code))
        return out

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = [x for xs in pool.map(client, range(clients)) for x in xs]
    wall = time.perf_counter() - t0
    times = [t for t, _ in results]
    return {
        "clients": clients,
        "asks": len(results),
        "errors": sum(1 for _, code in results if code != 200),
        "p50_ms": round(median(times) * 1000, 1),
        "p95_ms": round(percentile(times, 95) * 1000, 1),
        "throughput_per_s": round(len(results) / wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asks", type=int, default=200, help="asks per load level")
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "serve.json")
    args = parser.parse_args()

    info = machine()
    print(describe(info))
    t0 = time.perf_counter()
    proc, url = start(args.index)
    result = {"machine": info, "startup_s": round(time.perf_counter() - t0, 2)}
    try:
        result["rss_after_start_mib"] = round(rss_mib(proc.pid), 1)
        load(url, 2, 10)  # warm-up
        result["one_client"] = load(url, 1, args.asks)
        print("1 client:", result["one_client"])
        result["eight_clients"] = load(url, 8, max(1, args.asks // 8))
        print("8 clients:", result["eight_clients"])
        result["rss_after_load_mib"] = round(rss_mib(proc.pid), 1)
    finally:
        proc.terminate()
        proc.wait(10)
    print(f"start-up {result['startup_s']} s; RSS {result['rss_after_start_mib']} MiB after start, "
          f"{result['rss_after_load_mib']} MiB after {2 * args.asks} asks")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
