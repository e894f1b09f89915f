"""Scale benchmark: exact vs approximate FAISS indexes, and BM25, at 100k and 1M passages.

    .venv/bin/python benchmarks/scale.py [--sizes 100000 1000000] [--out benchmarks/results/scale.json]

No model and no corpus: the data are synthetic and seeded.

* Vectors: 384-d float32 unit vectors (MiniLM's width) from ``--clusters``
  Gaussian clusters. Each point is a random unit centre plus anisotropic noise
  (a power-law spectrum in a random rotation, so the intrinsic dimension is
  lower than 384, as with real sentence embeddings), then normalised. Queries
  are drawn from the same distribution but are held out (not index members).
* Ground truth: exact top-10 by inner product (IndexFlatIP, batched).
* Indexes: Flat (exact), HNSW (IndexHNSWFlat, inner product; a few
  M/efConstruction, efSearch swept) and IVF (IndexIVFFlat, nlist ~ 4*sqrt(N),
  nprobe swept). For each: build time, index bytes (the written file's size)
  and RSS growth during the build, single-query latency p50/p95 (one query per
  call, as the product searches), recall@10 against exact.
* BM25 (bm25s, the product's settings: lucene, k1=1.2, b=0.75) over synthetic
  passages: ~100 indexed tokens each, drawn Zipf-like from a 50k-token
  vocabulary (ranks below 100 are left out, as stop words are in the product).
  Index time, index bytes, and per-query latency for get_scores (what the
  product calls), get_scores + argsort (the product's candidate step), and
  bm25s's own top-10 retrieve.

Builds run once per size (they take minutes at 1M); query timings are the
median over ``--repeats`` runs of each run's p50/p95. The machine, library
versions and the load average (the machine may be shared) are printed and
written with the figures. Not part of the test suite; a smoke run of a few
seconds: ``--sizes 2000 --queries 50 --latency-queries 20 --repeats 1 --out /tmp/scale.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
from common import cpu_model  # noqa: E402  (the same machine line as every benchmark)
DIM = 384
K = 10


# ---------------------------------------------------------------- environment


def rss_bytes() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def machine() -> dict:
    import bm25s
    import faiss

    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "memory_gib": round(mem / 2**30, 1),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "faiss": faiss.__version__,
        "bm25s": bm25s.__version__,
        "faiss_threads": faiss.omp_get_max_threads(),
        "loadavg_start": list(os.getloadavg()),
    }


# ----------------------------------------------------------------------- data


def clustered_vectors(n: int, clusters: int, seed: int = 0, noise: float = 0.8) -> np.ndarray:
    """``n`` unit vectors from ``clusters`` anisotropic Gaussian clusters (float32)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    rot, _ = np.linalg.qr(rng.standard_normal((DIM, DIM)))
    spectrum = np.arange(1, DIM + 1, dtype=np.float64) ** -0.75
    spectrum /= np.linalg.norm(spectrum)
    basis = (spectrum[:, None] * rot.T).astype(np.float32)  # noise = z @ basis, E|noise|^2 = 1
    out = np.empty((n, DIM), dtype=np.float32)
    step = 100_000
    for a in range(0, n, step):
        b = min(n, a + step)
        labels = rng.integers(0, clusters, b - a)
        x = centres[labels] + noise * (rng.standard_normal((b - a, DIM), dtype=np.float32) @ basis)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[a:b] = x
    return out


def zipf_passages(n: int, vocab: int, seed: int = 1, skip: int = 100) -> list[list[int]]:
    """``n`` passages of 50-150 token ids, Zipf-like (s=1) over ranks ``skip``..``vocab``."""
    rng = np.random.default_rng(seed)
    ranks = np.arange(skip, vocab, dtype=np.float64)
    p = 1.0 / (ranks + 1)
    cdf = np.cumsum(p / p.sum())
    lengths = rng.integers(50, 151, n)
    ids = np.searchsorted(cdf, rng.random(int(lengths.sum())), side="right").astype(np.int32) + skip
    np.minimum(ids, vocab - 1, out=ids)
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    return [ids[bounds[i] : bounds[i + 1]].tolist() for i in range(n)]


# ------------------------------------------------------------------ measuring


def recall_at_k(truth: np.ndarray, found: np.ndarray) -> float:
    hits = sum(len(set(t.tolist()) & set(f.tolist())) for t, f in zip(truth, found))
    return hits / truth.size


def latency(fn, queries, repeats: int) -> dict:
    """Median over ``repeats`` runs of each run's p50 and p95 (ms), one query per call."""
    p50s, p95s = [], []
    for _ in range(repeats):
        ts = []
        for q in queries:
            t = time.perf_counter()
            fn(q)
            ts.append(time.perf_counter() - t)
        p50s.append(float(np.percentile(ts, 50)) * 1e3)
        p95s.append(float(np.percentile(ts, 95)) * 1e3)
    return {"p50_ms": statistics.median(p50s), "p95_ms": statistics.median(p95s), "runs_p50_ms": p50s}


def index_bytes(index) -> int:
    import faiss

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "i.faiss")
        faiss.write_index(index, path)
        return os.path.getsize(path)


def one_query(index):
    def fn(q):
        index.search(q.reshape(1, -1), K)

    return fn


def faiss_latency(index, queries, args) -> dict:
    """Single-query latency with ``--search-threads`` OpenMP threads (what assistant/vectors.py
    uses), and the p50 with all ``--threads`` for comparison."""
    import faiss

    try:
        faiss.omp_set_num_threads(args.search_threads)
        lat = latency(one_query(index), queries, args.repeats)
        faiss.omp_set_num_threads(args.threads)
        lat_all = latency(one_query(index), queries, args.repeats)
    finally:
        faiss.omp_set_num_threads(args.threads)
    return {**lat, "search_threads": args.search_threads, f"p50_ms_{args.threads}threads": lat_all["p50_ms"],
            f"p95_ms_{args.threads}threads": lat_all["p95_ms"]}


# ------------------------------------------------------------------ the runs


def bench_vectors(n: int, args, log) -> dict:
    import faiss

    nq = args.queries
    t = time.perf_counter()
    data = clustered_vectors(n + nq, args.clusters, seed=args.seed)
    xb, xq = data[:n], data[n:]
    gen_s = time.perf_counter() - t
    lat_q = xq[: args.latency_queries]
    out: dict = {"n": n, "dim": DIM, "clusters": args.clusters, "queries": nq, "generate_s": gen_s, "indexes": []}

    # Exact: ground truth (batched) and the product's single-query latency.
    rss0 = rss_bytes()
    t = time.perf_counter()
    flat = faiss.IndexFlatIP(DIM)
    flat.add(xb)
    build_s = time.perf_counter() - t
    rss_delta = rss_bytes() - rss0
    t = time.perf_counter()
    _, truth = flat.search(xq, K)
    out["ground_truth_batch_s"] = time.perf_counter() - t
    flat_lat_q = lat_q[: args.flat_latency_queries]
    lat = faiss_latency(flat, flat_lat_q, args)
    row = {"index": "Flat", "params": "", "build_s": build_s, "bytes": index_bytes(flat), "rss_delta": rss_delta,
           "recall@10": 1.0, "loadavg": list(os.getloadavg()), **lat}
    out["indexes"].append(row)
    log(row)
    del flat
    gc.collect()

    # HNSW: a few graph shapes, efSearch swept on each.
    for m, efc in args.hnsw:
        if n > args.hnsw_max_n.get((m, efc), 10**12):
            continue
        rss0 = rss_bytes()
        t = time.perf_counter()
        h = faiss.IndexHNSWFlat(DIM, m, faiss.METRIC_INNER_PRODUCT)
        h.hnsw.efConstruction = efc
        h.add(xb)
        build_s = time.perf_counter() - t
        rss_delta = rss_bytes() - rss0
        nbytes = index_bytes(h)
        for ef in args.ef_search:
            h.hnsw.efSearch = ef
            _, found = h.search(xq, K)
            lat = faiss_latency(h, lat_q, args)
            row = {"index": "HNSW", "params": f"M={m} efC={efc} efSearch={ef}", "M": m, "efConstruction": efc,
                   "efSearch": ef, "build_s": build_s, "bytes": nbytes, "rss_delta": rss_delta,
                   "recall@10": recall_at_k(truth, found), "loadavg": list(os.getloadavg()), **lat}
            out["indexes"].append(row)
            log(row)
        del h
        gc.collect()

    # IVF: nlist ~ 4 sqrt(N), trained on a sample, nprobe swept.
    nlist = max(1, round(4 * n**0.5))
    train_n = min(n, args.train_per_list * nlist)
    rss0 = rss_bytes()
    t = time.perf_counter()
    quantizer = faiss.IndexFlatIP(DIM)
    ivf = faiss.IndexIVFFlat(quantizer, DIM, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.cp.spherical = True  # unit-length centroids for cosine data
    sample = xb[np.random.default_rng(args.seed + 7).choice(n, train_n, replace=False)]
    ivf.train(sample)
    train_s = time.perf_counter() - t
    ivf.add(xb)
    build_s = time.perf_counter() - t
    rss_delta = rss_bytes() - rss0
    nbytes = index_bytes(ivf)
    for nprobe in args.nprobe:
        if nprobe > nlist:
            continue
        ivf.nprobe = nprobe
        _, found = ivf.search(xq, K)
        lat = faiss_latency(ivf, lat_q, args)
        row = {"index": "IVF", "params": f"nlist={nlist} nprobe={nprobe}", "nlist": nlist, "nprobe": nprobe,
               "train_s": train_s, "train_n": train_n, "build_s": build_s, "bytes": nbytes, "rss_delta": rss_delta,
               "recall@10": recall_at_k(truth, found), "loadavg": list(os.getloadavg()), **lat}
        out["indexes"].append(row)
        log(row)
    del ivf, quantizer, data, xb, xq
    gc.collect()
    return out


def bench_bm25(n: int, args, log) -> dict:
    import bm25s
    from bm25s.tokenization import Tokenized

    vocab = {f"w{i}": i for i in range(args.vocab)}
    words = list(vocab)
    t = time.perf_counter()
    docs = zipf_passages(n, args.vocab, seed=args.seed + 1)
    gen_s = time.perf_counter() - t
    tokens = sum(len(d) for d in docs)
    rss0 = rss_bytes()
    t = time.perf_counter()
    bm25 = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
    bm25.index(Tokenized(ids=docs, vocab=vocab), show_progress=False)
    index_s = time.perf_counter() - t
    rss_delta = rss_bytes() - rss0  # the index and bm25s's build-time leftovers, with the token lists kept
    del docs
    gc.collect()
    nbytes = int(sum(v.nbytes for v in bm25.scores.values() if isinstance(v, np.ndarray)))
    # Queries: 5 terms each from the same distribution.
    qids = zipf_passages(args.latency_queries, args.vocab, seed=args.seed + 2)
    queries = [[words[i] for i in q[:5]] for q in qids]

    def scores(q):
        np.asarray(bm25.get_scores(q), dtype=np.float32)

    def product(q):  # what assistant/retrieval.py does with the lexical side today
        s = np.asarray(bm25.get_scores(q), dtype=np.float32)
        np.argsort(-s)[:100]

    def top10(q):
        bm25.retrieve([q], k=K, show_progress=False, n_threads=1)

    row = {"n": n, "tokens": tokens, "vocab": args.vocab, "generate_s": gen_s, "index_s": index_s, "bytes": nbytes,
           "rss_delta": rss_delta, "get_scores": latency(scores, queries, args.repeats),
           "get_scores_argsort": latency(product, queries, args.repeats),
           "retrieve_top10": latency(top10, queries, args.repeats), "loadavg": list(os.getloadavg())}
    log(row)
    return row


def bench_tokenizer(args) -> dict:
    """The product's tokenizer (stop words + Snowball stems) on synthetic text, passages per second."""
    sys.path.insert(0, str(ROOT))
    from assistant.lexical import tokenize

    docs = zipf_passages(args.tokenizer_passages, args.vocab, seed=args.seed + 3)
    texts = [" ".join(f"w{i}" for i in d) for d in docs]
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        tokenize(texts)
        times.append(time.perf_counter() - t)
    s = statistics.median(times)
    return {"passages": len(texts), "seconds": s, "passages_per_s": len(texts) / s}


# -------------------------------------------------------------------- report


def mib(b: float) -> str:
    return f"{b / 2**20:,.0f}"


def tables(result: dict) -> str:
    m = result["machine"]
    lines = [
        (
            f"Machine: {m['cores']} cores, {m['cpu']}, {m['memory_gib']} GiB; Python {m['python']}, "
            f"numpy {m['numpy']}, faiss {m['faiss']} ({m['faiss_threads']} threads), bm25s {m['bm25s']}; "
            f"load average at start {m['loadavg_start'][0]:.2f}."
        ),
        "",
        (
            f"Single-query latency is measured with {result.get('search_threads', 1)} OpenMP thread(s) "
            f"(as assistant/vectors.py searches); builds use {m['faiss_threads']}."
        ),
        "",
    ]
    for v in result["vectors"]:
        lines += [
            f"Dense, N = {v['n']:,} ({v['dim']}-d, {v['clusters']} clusters, {v['queries']} held-out queries for recall)",
            "",
            f"| index | params | build s | index MiB | p50 ms | p95 ms | p50 ms, {m['faiss_threads']} threads | recall@10 | load 1m |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        all_threads = f"p50_ms_{m['faiss_threads']}threads"
        for r in v["indexes"]:
            lines.append(
                f"| {r['index']} | {r['params']} | {r['build_s']:.1f} | {mib(r['bytes'])} | {r['p50_ms']:.3f} | "
                f"{r['p95_ms']:.3f} | {r.get(all_threads, float('nan')):.3f} | "
                f"{r['recall@10']:.3f} | {r['loadavg'][0]:.2f} |"
            )
        lines.append("")
    if result["bm25"]:
        lines += [
            "BM25 (bm25s, lucene k1=1.2 b=0.75; 5-term queries; times in ms)",
            "",
            "| N | tokens | index s | index MiB | get_scores p50 | +argsort p50 | +argsort p95 | retrieve top-10 p50 | load 1m |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in result["bm25"]:
            lines.append(
                f"| {r['n']:,} | {r['tokens']:,} | {r['index_s']:.1f} | {mib(r['bytes'])} | "
                f"{r['get_scores']['p50_ms']:.2f} | {r['get_scores_argsort']['p50_ms']:.2f} | "
                f"{r['get_scores_argsort']['p95_ms']:.2f} | {r['retrieve_top10']['p50_ms']:.2f} | {r['loadavg'][0]:.2f} |"
            )
        lines.append("")
    if result.get("tokenizer"):
        t = result["tokenizer"]
        lines.append(f"Product tokenizer: {t['passages_per_s']:,.0f} passages/s ({t['passages']:,} passages).")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--clusters", type=int, default=2000)
    ap.add_argument("--queries", type=int, default=1000, help="held-out queries for recall@10")
    ap.add_argument("--latency-queries", type=int, default=200)
    ap.add_argument("--flat-latency-queries", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--hnsw", default="16:40,32:40,32:80,48:40", help="M:efConstruction,...")
    ap.add_argument("--hnsw-1m", default="32:40,48:40", help="graph shapes built above 200k (builds are slow)")
    ap.add_argument("--ef-search", type=int, nargs="+", default=[16, 32, 64, 128, 256, 512])
    ap.add_argument("--nprobe", type=int, nargs="+", default=[8, 16, 32, 64, 128, 256, 512])
    ap.add_argument("--train-per-list", type=int, default=40)
    ap.add_argument("--vocab", type=int, default=50_000)
    ap.add_argument("--tokenizer-passages", type=int, default=10_000)
    ap.add_argument("--no-bm25", action="store_true")
    ap.add_argument("--no-vectors", action="store_true")
    ap.add_argument("--threads", type=int, default=2, help="OpenMP threads for builds")
    ap.add_argument("--search-threads", type=int, default=1, help="OpenMP threads for single-query search")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/scale.json"))
    args = ap.parse_args()

    import faiss

    faiss.omp_set_num_threads(args.threads)
    args.hnsw = [tuple(int(x) for x in s.split(":")) for s in args.hnsw.split(",") if s]
    big = {tuple(int(x) for x in s.split(":")) for s in args.hnsw_1m.split(",") if s}
    args.hnsw_max_n = {c: 200_000 for c in args.hnsw if c not in big}

    result = {"date": time.strftime("%Y-%m-%d"), "command": " ".join(sys.argv), "machine": machine(),
              "search_threads": args.search_threads, "vectors": [], "bm25": [], "tokenizer": None}
    print(json.dumps(result["machine"]), flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def log(row):
        print(json.dumps(row, default=float), flush=True)

    def write():
        result["loadavg_end"] = list(os.getloadavg())
        out.write_text(json.dumps(result, indent=1, default=float) + "\n")

    for n in args.sizes:
        if not args.no_vectors:
            result["vectors"].append(bench_vectors(n, args, log))
            write()
        if not args.no_bm25:
            result["bm25"].append(bench_bm25(n, args, log))
            write()
    if not args.no_bm25:
        result["tokenizer"] = bench_tokenizer(args)
    write()
    print()
    print(tables(result))
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
