"""The folder store's dense side (FAISS) against Milvus Lite, from 10k to 1M passages of real MiniLM vectors.

    .venv/bin/python benchmarks/milvus_scale.py [--sizes 10000 100000 1000000] [--queries 200]

For each size and store, in a fresh child process: build time, search p50/p95 (one query per call,
as the product searches: the folder store through ``vectors.search``, Milvus through pymilvus with
the store's own version filter ``ver <= 1``), recall@10 against exact search, and the process's
memory (RSS) after building and searching. Index rule as the stores use it: exact (FAISS
IndexFlatIP / Milvus FLAT) up to 100k passages, HNSW (M 32, efConstruction 40, ef 128) above.

The vectors are real: the sentence vectors of the corpora's folder indexes that `make generality`
builds in benchmarks/out/idx/ (covidqa, squad2, the CRS reports: the bundled MiniLM's vectors, as
the product embeds them), or, when there are none, every sentence of the texts in
../shared/bench and seeds/ embedded once; cached in benchmarks/out/milvus_scale/ (gitignored). Passage-like vectors are the unit means of 1-4
consecutive sentences of one document (as the product makes a passage's vector from its
sentences'), which gives more distinct real vectors than there are sentences. Beyond what those
give, the rest are real vectors with a small Gaussian perturbation (cosine ~0.9 to their source),
so at 1M most vectors are near-copies of real ones: near-duplicates make the neighbourhoods denser
than a real 1M corpus, which makes recall@10 harder for HNSW, not easier. Queries are real
questions (covidqa, squad2, SciFact queries) embedded with the same model, never in the index.

Figures go to benchmarks/results/milvus_scale.json; not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
BENCH = ROOT.parent / "shared" / "bench"
CACHE = ROOT / "benchmarks" / "out" / "milvus_scale"
K = 10
QUERY_SECONDS = 120.0  # per store and size; at least 20 queries


def _texts() -> tuple[list[list[str]], list[str]]:
    """Per document its sentences, and the questions."""
    from assistant.ingest import read_corpus
    from assistant.sentences import split_spans

    docs: list[list[str]] = []
    for corpus in (ROOT / "seeds", BENCH / "covidqa" / "docs", BENCH / "squad2" / "docs", BENCH / "crs" / "docs",
                   BENCH / "scifact" / "corpus.jsonl"):
        if not corpus.exists():
            continue
        for parsed in read_corpus(corpus):
            text = parsed.document.text
            sents = [text[s:e] for s, e in split_spans(text, 0, len(text))]
            if sents:
                docs.append(sents)
    questions: list[str] = []
    for f in (BENCH / "covidqa" / "questions.jsonl", BENCH / "squad2" / "questions.jsonl", BENCH / "scifact" / "queries.jsonl"):
        if f.exists():
            for line in f.open(encoding="utf-8"):
                rec = json.loads(line)
                q = rec.get("question") or rec.get("text")
                if q:
                    questions.append(q)
    return docs, questions


INDEXES = ROOT / "benchmarks" / "out" / "idx"  # the corpora's folder indexes that `make generality` builds


def _from_indexes() -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    """The sentence vectors of already built folder indexes of the corpora (real MiniLM vectors, as
    the product embedded them), with each sentence's document; None when there are none."""
    from assistant import store

    vecs, owners, used, base = [], [], [], 0
    for root in sorted(p for p in INDEXES.glob("*") if p.is_dir()) if INDEXES.is_dir() else []:
        try:
            gen = store.resolve_generation(root)
            manifest = store.read_manifest(gen)
            loaded = store.read_generation(gen)
        except Exception:
            continue
        if manifest["model"]["name"] != "sentence-transformers/all-MiniLM-L6-v2":
            continue
        doc_row = {d: i for i, d in enumerate(loaded.documents)}
        owners.append(base + np.asarray([doc_row[loaded.passages[r].doc_id] for r, _, _ in loaded.sentences]))
        vecs.append(np.asarray(loaded.sentence_vectors, dtype=np.float32))
        base += len(doc_row)
        used.append(f"{root.name} ({len(loaded.sentences)} sentences)")
    if not vecs:
        return None
    return np.concatenate(vecs), np.concatenate(owners), used


def real_vectors() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sentence vectors, each one's document number, query vectors), embedded once and cached."""
    CACHE.mkdir(parents=True, exist_ok=True)
    f = CACHE / "vectors.npz"
    if f.is_file():
        z = np.load(f)
        return z["sentences"], z["doc"], z["queries"]
    from assistant.encoder import build_encoder

    docs, questions = _texts()
    encoder = build_encoder(CACHE / "model")
    t0 = time.perf_counter()
    built = _from_indexes()
    if built is not None:  # embedding ~80k sentences again takes ~10 min of two idle cores
        svecs, owner, used = built
        print(f"sentence vectors from the built indexes {', '.join(used)}", flush=True)
    else:
        flat = [s for d in docs for s in d]
        owner = np.repeat(np.arange(len(docs)), [len(d) for d in docs])
        print(f"embedding {len(flat)} sentences once (cached in {f})", flush=True)
        svecs = encoder.encode(flat, progress=True).astype(np.float32)
    rng = np.random.default_rng(0)
    qs = [questions[i] for i in rng.choice(len(questions), size=min(500, len(questions)), replace=False)]
    qvecs = encoder.encode(qs).astype(np.float32)
    print(f"{len(svecs)} sentence vectors, {len(qvecs)} questions embedded, in {time.perf_counter() - t0:.0f} s", flush=True)
    np.savez(f, sentences=svecs, doc=owner, queries=qvecs)
    return svecs, owner, qvecs


def passages(n: int, seed: int = 0) -> tuple[np.ndarray, dict]:
    """``n`` passage-like unit vectors: real sentences, means of 2-4 consecutive ones, then perturbed copies."""
    svecs, owner, _ = real_vectors()
    parts = [svecs]
    for width in (2, 3, 4):
        same = owner[width - 1 :] == owner[: len(owner) - width + 1]
        starts = np.flatnonzero(same)
        mean = sum(svecs[starts + i] for i in range(width))
        parts.append(mean / np.linalg.norm(mean, axis=1, keepdims=True))
    real = np.concatenate(parts)
    rng = np.random.default_rng(seed)
    real = real[rng.permutation(len(real))]
    if n <= len(real):
        return np.ascontiguousarray(real[:n]), {"real": n, "perturbed": 0}
    extra = real[rng.integers(0, len(real), size=n - len(real))]
    noise = rng.normal(0, 0.0245, size=extra.shape).astype(np.float32)  # |noise| ~0.48: cosine ~0.9 to the source
    extra = extra + noise
    extra /= np.linalg.norm(extra, axis=1, keepdims=True)
    return np.ascontiguousarray(np.concatenate([real, extra]).astype(np.float32)), {"real": len(real), "perturbed": n - len(real)}


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def exact_top(vectors: np.ndarray, queries: np.ndarray) -> np.ndarray:
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    return index.search(queries, K)[1]


def run_one(store: str, n: int, nq: int) -> dict:
    """In a child process: one store at one size."""
    vecs, origin = passages(n)
    _, _, qvecs = real_vectors()
    queries = qvecs[:nq]
    truth = exact_top(vecs, queries)
    base = rss_mib()
    exact = n <= 100_000
    t0 = time.perf_counter()
    if store == "folder":
        from assistant import vectors

        index = vectors.build(vecs)
        tmp = Path(tempfile.mkdtemp(prefix="bench-folder-"))
        vectors.save(index, tmp / "vectors.faiss")
        index = vectors.load(tmp / "vectors.faiss")

        def search(q):
            return vectors.search(index, q, K)[1]
    else:
        from pymilvus import DataType, MilvusClient

        from assistant import locations, milvus_store

        loc = locations.parse(f"milvus-lite:{tempfile.mkdtemp(prefix='bench-milvus-')}")
        client = milvus_store.connect(loc, create=True)
        s = client.create_schema(auto_id=False, enable_dynamic_field=False)
        s.add_field("id", DataType.INT64, is_primary=True)
        s.add_field("ver", DataType.INT64)
        s.add_field("doc_key", DataType.VARCHAR, max_length=64)
        s.add_field("vector", DataType.FLOAT_VECTOR, dim=vecs.shape[1])
        ip = client.prepare_index_params()
        if exact:
            ip.add_index("vector", index_type="FLAT", metric_type="IP")
        else:
            ip.add_index("vector", index_type="HNSW", metric_type="IP", params=dict(milvus_store.HNSW))
        client.create_collection("p", schema=s, index_params=ip, consistency_level="Strong")
        for at in range(0, n, 5000):
            chunk = vecs[at : at + 5000]
            client.insert("p", [{"id": at + i, "ver": 1, "doc_key": "d", "vector": v} for i, v in enumerate(chunk.tolist())])
        client.flush("p")
        client.load_collection("p")
        params = {"metric_type": "IP"} if exact else {"metric_type": "IP", "params": {"ef": milvus_store.HNSW_EF}}
        client.search("p", [queries[0].tolist()], anns_field="vector", limit=K, filter="ver <= 1", search_params=params)

        def search(q):
            res = client.search("p", [q.tolist()], anns_field="vector", limit=K, filter="ver <= 1",
                                search_params=params, output_fields=[])
            return np.asarray([h["id"] for h in res[0]])
    build = time.perf_counter() - t0
    times, recall = [], []
    started = time.perf_counter()
    for i, q in enumerate(queries):
        if i >= 20 and time.perf_counter() - started > QUERY_SECONDS:
            break  # Milvus Lite at 1M takes seconds a query: the first queries within the budget
        t = time.perf_counter()
        rows = search(q)
        times.append(time.perf_counter() - t)
        recall.append(len(set(rows.tolist()) & set(truth[i].tolist())) / K)
    return {"store": store, "n": n, "index": "exact" if exact else "HNSW", "vectors": origin, "build_s": round(build, 2),
            "p50_ms": round(1000 * float(np.percentile(times, 50)), 2),
            "p95_ms": round(1000 * float(np.percentile(times, 95)), 2),
            "recall@10": round(float(np.mean(recall)), 4), "rss_mib": round(rss_mib() - base, 1),
            "queries": len(times)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--stores", nargs="+", default=["folder", "milvus-lite"])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "milvus_scale.json"))
    ap.add_argument("--child", nargs=2, metavar=("STORE", "N"))
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child[0], int(args.child[1]), args.queries)))
        return
    from common import machine

    real_vectors()  # embed once, before the children
    out = Path(args.out)
    results = json.loads(out.read_text())["results"] if out.is_file() else []
    for n in args.sizes:
        for store in args.stores:
            done = subprocess.run([sys.executable, __file__, "--child", store, str(n), "--queries", str(args.queries)],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                print(f"{store} {n}: failed\n{done.stderr[-2000:]}", flush=True)
                continue
            row = json.loads(done.stdout.strip().splitlines()[-1])
            results = [r for r in results if (r["store"], r["n"]) != (store, n)] + [row]
            print(json.dumps(row), flush=True)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps({"machine": machine(("pymilvus", "milvus-lite")), "results": results}, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
