"""Speed on the seeds: cold CLI, warm answer against one encode, embedding throughput, full build.

    .venv/bin/python benchmarks/speed.py [--runs 7] [--json benchmarks/results/speed.json]

Targets: cold `policyqa ask --json` ≤ 1.5 s; warm `qa.ask` p50 ≤ 60 ms (issue 22: the answer
verifier made speed pay for quality; before it, ask was held to 1.5 × one query encode, a ratio
still printed); build embedding ≥ 90% of raw `model.encode` throughput on the same texts.
Medians of several runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from common import ROOT, describe, machine, median, percentile

QUESTION = "what obstacles block migrant citizenization?"


def cold_cli(index: Path, runs: int) -> dict:
    """Wall time of whole `policyqa` processes, as a laptop user starts them."""
    exe = ROOT / ".venv" / "bin" / "policyqa"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root"), "HF_HUB_OFFLINE": "1"}
    out = {}
    for name, args in {
        "ask --json": ["ask", QUESTION, "--json", "--index", str(index)],
        "search --json": ["search", QUESTION, "--json", "--index", str(index)],
    }.items():
        times = []
        for _ in range(runs + 1):
            t0 = time.perf_counter()
            subprocess.run([str(exe), *args], env=env, check=True, capture_output=True)
            times.append(time.perf_counter() - t0)
        out[name] = {"median_s": round(median(times[1:]), 3), "max_s": round(max(times[1:]), 3),
                     "first_s": round(times[0], 3)}
    return out


def warm_answer(index: Path, runs: int) -> dict:
    """In one process: p50 of qa.ask and qa.search against p50 of one raw query encode."""
    from assistant import Assistant
    from assistant.evaluation import load_questions

    qa = Assistant.load(index)
    questions = [q.question for q in load_questions(ROOT / "tests" / "data" / "questions.jsonl")]
    encoder = qa.encoder
    for q in questions[:10]:
        qa.ask(q)

    def timed(fn) -> list[float]:
        out = []
        for _ in range(runs):
            for q in questions:
                t0 = time.perf_counter()
                fn(q)
                out.append(time.perf_counter() - t0)
        return out

    encode = timed(lambda q: encoder.encode([q]))
    search = timed(lambda q: qa.search(q, k=5))
    ask = timed(lambda q: qa.ask(q))
    p50 = {name: median(xs) * 1000 for name, xs in (("encode", encode), ("search", search), ("ask", ask))}
    return {
        "encoder": type(encoder).__name__,
        "questions": len(questions) * runs,
        "encode_p50_ms": round(p50["encode"], 2),
        "search_p50_ms": round(p50["search"], 2),
        "ask_p50_ms": round(p50["ask"], 2),
        "ask_p95_ms": round(percentile(ask, 95) * 1000, 2),
        "ask_over_encode": round(p50["ask"] / p50["encode"], 2),
    }


def embedding_throughput(runs: int, index: Path) -> dict:
    """Our build's embedding step against raw `model.encode` on exactly the texts a build embeds."""

    from assistant.chunking import ChunkSettings, chunk_document, embed_text
    from assistant.encoder import MiniLMEncoder, build_encoder
    from assistant.ingest import read_corpus
    from assistant.sentences import split_spans

    encoder = MiniLMEncoder()
    ours_encoder = build_encoder(index)
    settings = ChunkSettings()
    texts = []
    for doc in read_corpus(ROOT / "seeds"):
        passages = chunk_document(doc, encoder.count_tokens, encoder.max_tokens, settings)
        texts += [embed_text(p.title, p.section, p.text, settings) for p in passages]
        texts += [doc.document.text[s:e] for p in passages for s, e in split_spans(doc.document.text, p.start, p.end)]
    model = encoder._model  # the raw SentenceTransformer
    model.encode(texts[:64])  # warm-up
    ours_encoder.encode(texts[:64])

    raw, ours = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        a = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        raw.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        b = ours_encoder.encode(texts, progress=True)
        ours.append(time.perf_counter() - t0)
    # The same vectors: only the schedule differs, and bf16 products when the build runs through torch.
    assert (a * b).sum(axis=1).min() > 0.9999
    engine = getattr(ours_encoder, "engine", lambda _t: ours_encoder)(texts)
    return {
        "ours": type(engine).__name__ + (" bf16" if getattr(engine, "bf16", False) else ""),
        "texts": len(texts),
        "raw_texts_per_s": round(len(texts) / median(raw), 1),
        "ours_texts_per_s": round(len(texts) / median(ours), 1),
        "ours_over_raw": round(median(raw) / median(ours), 3),
    }


def full_build(runs: int, query_model: Path) -> dict:
    from assistant import Assistant
    from assistant.encoder import onnx_folder

    times, report = [], None
    for _ in range(runs):
        folder = Path(tempfile.mkdtemp(prefix="policyqa-bench-"))
        shutil.copytree(query_model, onnx_folder(folder / "index"))  # the one-off ONNX export is not a build cost
        t0 = time.perf_counter()
        report = Assistant.build(ROOT / "seeds", folder / "index")
        times.append(time.perf_counter() - t0)
        shutil.rmtree(folder)
    t0 = time.perf_counter()
    noop = Assistant.build(ROOT / "seeds", ROOT / "index")
    noop_s = time.perf_counter() - t0
    assert not noop.changed
    return {"passages": report.passages, "median_s": round(median(times), 2),
            "passages_per_s": round(report.passages / median(times), 1), "noop_s": round(noop_s, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "speed.json")
    args = parser.parse_args()

    from assistant import Assistant
    from assistant.encoder import onnx_folder

    index = ROOT / "index"
    Assistant.load()  # builds index/ from seeds/ if missing or stale
    info = machine()
    print(describe(info))
    result = {"machine": info}
    result["cold_cli"] = cold_cli(index, args.runs)
    print("cold CLI:", json.dumps(result["cold_cli"]))
    result["warm"] = warm_answer(index, max(1, args.runs // 2))
    print("warm:", json.dumps(result["warm"]))
    result["embedding"] = embedding_throughput(max(1, args.runs // 2), index)
    print("embedding:", json.dumps(result["embedding"]))
    result["build"] = full_build(max(1, args.runs // 2), onnx_folder(index))
    print("build:", json.dumps(result["build"]))
    result["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
