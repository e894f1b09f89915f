"""One table over every corpus: retrieval, evidence and refusal on each, and SciFact nDCG@10.

    .venv/bin/python benchmarks/generality.py                       # heldout splits, every corpus
    .venv/bin/python benchmarks/generality.py --split tune --corpora covidqa,squad2
    .venv/bin/python benchmarks/generality.py --corpora seeds,covidqa --store milvus-lite

Each corpus's index is built once into benchmarks/out/idx/ (SciFact takes about ten minutes the
first time). Prints a Markdown table and writes benchmarks/results/generality.json (with the
machine, the commit and the load); per-question outcomes go to benchmarks/out/generality/ for
reading the failures. ``--store milvus-lite`` builds each corpus into
``milvus-lite:benchmarks/out/idx-milvus/<name>`` instead (with ``POLICYQA_MILVUS_LEXICAL=milvus``:
``<name>-milvus-bm25``, Milvus's own BM25) and writes benchmarks/results/generality_milvus.json,
never the folder store's figures.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from common import ROOT, describe, machine, percentile
from corpora import CORPORA, Corpus, corpora, load_index

from assistant.evaluation import AnswerTarget, evaluate_beir, load_beir

OUT = ROOT / "benchmarks" / "out" / "generality"
RESULTS = ROOT / "benchmarks" / "results" / "generality.json"
MILVUS_INDEXES = ROOT / "benchmarks" / "out" / "idx-milvus"


def store_label(store: str) -> str:
    """The store as the results name it: "folder", "milvus-lite", or "milvus-lite+milvus-bm25"."""
    milvus_bm25 = store != "folder" and os.environ.get("POLICYQA_MILVUS_LEXICAL", "").strip() == "milvus"
    return store + ("+milvus-bm25" if milvus_bm25 else "")


def location(corpus: Corpus, store: str) -> str | None:
    """Where ``store`` keeps the corpus's index (None: the folder store's own, corpus.index)."""
    if store == "folder":
        return None
    suffix = "-milvus-bm25" if store_label(store).endswith("+milvus-bm25") else ""
    return f"milvus-lite:{MILVUS_INDEXES / (corpus.name + suffix)}"


def measure(corpus: Corpus, split: str, limit: int | None = None, store: str = "folder") -> dict:
    qa = load_index(corpus, index=location(corpus, store))
    if corpus.beir is not None:
        queries, qrels = load_beir(corpus.beir, "test")
        t0 = time.perf_counter()
        result = evaluate_beir(queries, qrels, qa.search_documents)
        return {"corpus": corpus.name, "split": "test", "store": store_label(store), **result, "seconds": round(time.perf_counter() - t0, 1)}
    questions = corpus.questions(split)
    answerable, unanswerable = questions.answerable[:limit], questions.unanswerable[:limit]
    text = lambda d: qa.document(d).text  # noqa: E731
    rows, times = [], []
    for q in answerable:
        target = AnswerTarget(q, text)
        hits = qa.search(q.question, k=10)
        rank = next((i + 1 for i, p in enumerate(hits) if target.in_passage(p)), None)
        t0 = time.perf_counter()
        a = qa.ask(q.question)
        times.append(time.perf_counter() - t0)
        found = [target.in_citation(c.doc_id, c.start, c.end, c.quote) for c in a.citations]
        rows.append({"id": q.id, "question": q.question, "rank": rank, "answered": a.answered, "confidence": a.confidence,
                     "evidence_at": next((i + 1 for i, ok in enumerate(found) if ok), None),
                     "mismatches": sum(text(c.doc_id)[c.start:c.end] != c.quote for c in a.citations),
                     "first_quote": a.citations[0].quote if a.citations else ""})
    refused = []
    for u in unanswerable:
        t0 = time.perf_counter()
        a = qa.ask(u)
        times.append(time.perf_counter() - t0)
        refused.append({"question": u, "refused": not a.answered, "confidence": a.confidence,
                        "first_quote": a.citations[0].quote if a.citations else ""})
    out = OUT if store == "folder" else OUT.with_name(f"generality-{store_label(store)}")
    out.mkdir(parents=True, exist_ok=True)
    with (out / f"{corpus.name}_{split}.jsonl").open("w", encoding="utf-8") as f:
        for r in rows + refused:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    n, m = max(1, len(rows)), max(1, len(refused))

    def share(pred) -> float:
        return round(sum(1 for r in rows if pred(r)) / n, 4)

    return {
        "corpus": corpus.name, "split": split, "store": store_label(store),
        "answerable": len(rows), "unanswerable": len(refused),
        "hit@1": share(lambda r: r["rank"] == 1), "hit@5": share(lambda r: r["rank"] is not None and r["rank"] <= 5),
        "mrr": round(sum(1 / r["rank"] for r in rows if r["rank"]) / n, 4),
        "evidence@1": share(lambda r: r["evidence_at"] == 1),
        "evidence@3": share(lambda r: r["evidence_at"] is not None and r["evidence_at"] <= 3),
        "answerable_refused": share(lambda r: not r["answered"]),
        "unanswerable_refused": round(sum(r["refused"] for r in refused) / m, 4) if refused else None,
        "refusal_auc": refusal_auc([r["confidence"] for r in rows], [r["confidence"] for r in refused]),
        "quote_mismatches": sum(r["mismatches"] for r in rows),
        "ask_p50_ms": round(1000 * percentile(times, 50), 1) if times else None,
    }


def refusal_auc(answerable: list[float | None], unanswerable: list[float | None]) -> float | None:
    """How well the confidence alone tells the two kinds apart, whatever the threshold: the chance
    that an answerable question gets more than an unanswerable one (ties count half)."""
    a = np.array([c for c in answerable if c is not None])
    u = np.array([c for c in unanswerable if c is not None])
    if not len(a) or not len(u):
        return None
    return round(float(((a[:, None] > u[None, :]).sum() + 0.5 * (a[:, None] == u[None, :]).sum()) / (len(a) * len(u))), 4)


def table(results: list[dict]) -> str:
    head = ("| corpus | split | n (answerable / not) | hit@1 | hit@5 | MRR | evidence@1 | evidence@3 | answerable refused "
            "| not answerable refused | refusal AUC | ask p50 ms |\n|---|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in results:
        if "ndcg@10" in r:
            lines.append(f"| {r['corpus']} | {r['split']} | {r['queries']} queries | | | | | | | | | nDCG@10 **{r['ndcg@10']:.3f}**, "
                         f"recall@100 {r['recall@100']:.3f} |")
            continue
        ur = "" if r["unanswerable_refused"] is None else f"{r['unanswerable_refused']:.3f}"
        auc = "" if r.get("refusal_auc") is None else f"{r['refusal_auc']:.3f}"
        lines.append(f"| {r['corpus']} | {r['split']} | {r['answerable']} / {r['unanswerable']} | {r['hit@1']:.3f} | "
                     f"{r['hit@5']:.3f} | {r['mrr']:.3f} | {r['evidence@1']:.3f} | {r['evidence@3']:.3f} | "
                     f"{r['answerable_refused']:.3f} | {ur} | {auc} | {r['ask_p50_ms']} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="heldout", choices=("tune", "heldout"))
    ap.add_argument("--corpora", help="comma-separated names (default: all): " + ", ".join(c.name for c in CORPORA))
    ap.add_argument("--limit", type=int, help="at most this many questions of each kind (a quick look)")
    ap.add_argument("--store", default="folder", choices=("folder", "milvus-lite"),
                    help="where each corpus's index lives (milvus-lite: benchmarks/out/idx-milvus/<name>, "
                         "results in generality_milvus.json)")
    ap.add_argument("--no-write", action="store_true", help="do not write the results file")
    args = ap.parse_args()
    names = args.corpora.split(",") if args.corpora else None
    m = machine(() if args.store == "folder" else ("pymilvus", "milvus-lite"))
    print(describe(m))
    print(f"store: {store_label(args.store)}")
    results = []
    for corpus in corpora(names):
        t0 = time.perf_counter()
        results.append(measure(corpus, args.split, args.limit, args.store))
        print(f"{corpus.name}: {time.perf_counter() - t0:.0f} s", flush=True)
    print(table(results))
    if not args.no_write and not args.limit:
        path = RESULTS if args.store == "folder" else RESULTS.with_name("generality_milvus.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        old = json.loads(path.read_text()) if path.is_file() else {}
        key = lambda r: "/".join((r["corpus"], r["split"]) + (() if args.store == "folder" else (r["store"],)))  # noqa: E731
        runs = {key(r): r for r in old.get("results", [])}
        runs.update({key(r): {**r, "commit": m["commit"]} for r in results})
        path.write_text(json.dumps({"machine": m, "results": list(runs.values())}, indent=2) + "\n")


if __name__ == "__main__":
    main()
