"""Warm ``ask`` and ``search`` on the seeds: the folder store against Milvus Lite, in one process.

    .venv/bin/python benchmarks/milvus_parity.py [--questions 80] [--rounds 2]

Loads the seeds' folder index (benchmarks/out/idx/seeds) and the seeds' Milvus Lite index
(milvus-lite:benchmarks/out/idx-milvus/seeds, as ``generality.py --store milvus-lite`` builds it;
both are built or brought up to date first), warms both, then asks the same held-out questions
(evenly spaced over the seeds' held-out answerable set, corpora.py) ``--rounds`` times each,
the two stores interleaved question by question (which goes first alternates), so that the
machine's load falls on both alike. Times ``ask`` and ``search(rerank=False)`` (retrieval
alone) per store: p50, p95 and Milvus Lite's p50 over the folder's (the issue's bar: ask ≤ 2×).
Also counts the questions whose answers differ between the stores.

Figures go to benchmarks/results/milvus_parity.json with the machine and the load.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from common import ROOT, describe, machine, percentile
from corpora import CORPORA, load_index

SEEDS = next(c for c in CORPORA if c.name == "seeds")
LITE = f"milvus-lite:{ROOT / 'benchmarks' / 'out' / 'idx-milvus' / 'seeds'}"
RESULTS = ROOT / "benchmarks" / "results" / "milvus_parity.json"


def stats(times: list[float]) -> dict:
    return {"p50_ms": round(1000 * percentile(times, 50), 1), "p95_ms": round(1000 * percentile(times, 95), 1),
            "n": len(times)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=80)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args()
    m = machine(("pymilvus", "milvus-lite"))
    print(describe(m))
    pool = SEEDS.questions("heldout").answerable
    step = max(1, len(pool) // args.questions)
    questions = [q.question for q in pool[::step][: args.questions]]
    stores = {"folder": load_index(SEEDS), "milvus-lite": load_index(SEEDS, index=LITE)}
    for qa in stores.values():  # warm: models, the answer verifier, the corpus profile
        qa.ask(questions[0])
        qa.search(questions[0], rerank=False)
    ask: dict[str, list[float]] = {s: [] for s in stores}
    search: dict[str, list[float]] = {s: [] for s in stores}
    answers: dict[str, list[tuple]] = {s: [] for s in stores}
    for r in range(args.rounds):
        for i, question in enumerate(questions):
            order = list(stores) if (i + r) % 2 == 0 else list(reversed(stores))
            for name in order:
                qa = stores[name]
                t0 = time.perf_counter()
                a = qa.ask(question)
                ask[name].append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                qa.search(question, rerank=False)
                search[name].append(time.perf_counter() - t0)
                if r == 0:
                    answers[name].append((a.answered, a.text, tuple((c.doc_id, c.start, c.end) for c in a.citations)))
    different = sum(x != y for x, y in zip(answers["folder"], answers["milvus-lite"]))
    result = {
        "questions": len(questions), "rounds": args.rounds,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "ask": {s: stats(t) for s, t in ask.items()},
        "search_rerank_false": {s: stats(t) for s, t in search.items()},
        "answers_different": different,
    }
    result["ask_ratio_p50"] = round(result["ask"]["milvus-lite"]["p50_ms"] / result["ask"]["folder"]["p50_ms"], 2)
    result["search_ratio_p50"] = round(result["search_rerank_false"]["milvus-lite"]["p50_ms"]
                                       / result["search_rerank_false"]["folder"]["p50_ms"], 2)
    print(json.dumps(result, indent=2))
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(json.dumps({"machine": m, "indexes": {"folder": str(SEEDS.index.relative_to(ROOT)),
                                                      "milvus-lite": LITE.replace(str(ROOT) + "/", "")},
                            **result}, indent=2) + "\n")


if __name__ == "__main__":
    main()
