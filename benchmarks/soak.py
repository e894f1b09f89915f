"""Soak: many clients for minutes against a real server; errors, latency and memory over time.

    .venv/bin/python benchmarks/soak.py [--minutes 10] [--clients 16] [--json benchmarks/results/soak.json]

Each client loops over a mix of asks, searches and document listings; one more client
uploads a small document every few seconds and deletes it again, so the server switches
index generations all along. Memory is the server's RSS, sampled every second: "flat"
means the last quarter's median is within 10% (plus 20 MiB of noise) of the second quarter's.
The test suite runs a one-minute version (tests/e2e/test_soak.py).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import threading
import time
from pathlib import Path

import httpx
from common import ROOT, describe, machine, median, percentile, rss_mib
from serve import QUESTIONS, start


def soak(index: Path, seconds: float, clients: int = 16, upload_every: float = 3.0) -> dict:
    work = Path(tempfile.mkdtemp(prefix="policyqa-soak-"))
    copy = work / "index"
    shutil.copytree(index, copy)  # uploads change the index: never the user's own
    proc, url = start(copy)
    stop = threading.Event()
    lock = threading.Lock()
    times: dict[str, list[float]] = {"ask": [], "search": [], "documents": [], "upload": [], "delete": []}
    errors: list[str] = []
    memory: list[tuple[float, float]] = []

    def record(kind: str, t0: float, r: httpx.Response, ok: bool) -> None:
        with lock:
            times[kind].append(time.perf_counter() - t0)
            if not ok:
                errors.append(f"{kind} {r.status_code} {r.text[:200]}")

    def client(n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(base_url=url, timeout=120) as c:
            while not stop.is_set():
                roll, t0 = rng.random(), time.perf_counter()
                try:
                    if roll < 0.6:
                        r = c.post("/api/ask", json={"question": rng.choice(QUESTIONS), "k": rng.randint(1, 8)})
                        record("ask", t0, r, r.status_code == 200 and "answered" in r.json())
                    elif roll < 0.9:
                        r = c.get("/api/search", params={"q": rng.choice(QUESTIONS), "k": rng.randint(1, 20)})
                        record("search", t0, r, r.status_code == 200 and "passages" in r.json())
                    else:
                        r = c.get("/api/documents")
                        record("documents", t0, r, r.status_code == 200 and len(r.json()["documents"]) >= 5)
                except httpx.HTTPError as exc:
                    with lock:
                        errors.append(f"transport: {exc!r}")

    def uploader() -> None:
        n = 0
        with httpx.Client(base_url=url, timeout=120) as c:
            while not stop.wait(upload_every):
                n += 1
                text = f"Soak note {n}\n\nVillage {n} opened a clinic and a school bus route in spring.\n".encode()
                t0 = time.perf_counter()
                try:
                    r = c.post("/api/documents", files=[("files", (f"soak-{n}.txt", text))])
                    record("upload", t0, r, r.status_code == 200 and r.json()["added"] == [f"soak-{n}"])
                    if n > 1:  # keep the index from growing: drop the one before
                        t0 = time.perf_counter()
                        r = c.delete(f"/api/documents/soak-{n - 1}")
                        record("delete", t0, r, r.status_code == 200)
                except httpx.HTTPError as exc:
                    with lock:
                        errors.append(f"transport: {exc!r}")

    def sampler(t_start: float) -> None:
        while not stop.wait(1.0):
            memory.append((round(time.perf_counter() - t_start, 1), rss_mib(proc.pid)))

    try:
        t_start = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        threads += [threading.Thread(target=uploader), threading.Thread(target=sampler, args=(t_start,))]
        for t in threads:
            t.start()
        stop.wait(seconds)
        stop.set()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t_start
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(work, ignore_errors=True)

    rss = [m for _, m in memory]
    q = max(1, len(rss) // 4)
    early, late = median(rss[q : 2 * q]), median(rss[-q:])
    requests = {k: len(v) for k, v in times.items()}
    return {
        "seconds": round(wall, 1),
        "clients": clients,
        "requests": requests,
        "requests_per_s": round(sum(requests.values()) / wall, 1),
        "errors": len(errors),
        "first_errors": errors[:5],
        "p50_ms": {k: round(median(v) * 1000, 1) for k, v in times.items() if v},
        "p95_ms": {k: round(percentile(v, 95) * 1000, 1) for k, v in times.items() if v},
        "rss_mib": {"start": round(rss[0], 1) if rss else None, "second_quarter_median": round(early, 1),
                    "last_quarter_median": round(late, 1), "max": round(max(rss), 1) if rss else None},
        "memory_flat": late <= early * 1.10 + 20,
        "rss_samples": memory[:: max(1, len(memory) // 60)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "soak.json")
    args = parser.parse_args()
    info = machine()
    print(describe(info))
    result = {"machine": info, **soak(args.index, args.minutes * 60, args.clients)}
    print(json.dumps({k: v for k, v in result.items() if k not in ("machine", "rss_samples")}, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")
    raise SystemExit(0 if result["errors"] == 0 and result["memory_flat"] else 1)


if __name__ == "__main__":
    main()
