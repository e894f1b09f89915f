"""Build throughput on a generated corpus: full build, no-op rebuild, adding one document.

    .venv/bin/python benchmarks/build_scale.py [--passages 50000] [--json benchmarks/results/build_scale.json]

The corpus is generated from the seeds' own paragraphs: each generated document takes a
random selection of real paragraphs, with their sentences shuffled and numbers changed, so
the text is varied, realistic in length and vocabulary, and not a copy of one document.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import tempfile
import time
from pathlib import Path

from common import ROOT, describe, machine, rss_mib


def paragraphs() -> list[list[str]]:
    from assistant.ingest import read_corpus
    from assistant.sentences import split_spans

    out = []
    for doc in read_corpus(ROOT / "seeds"):
        text = doc.document.text
        for para in re.split(r"\n\s*\n", text):
            at = text.find(para)
            sentences = [text[s:e] for s, e in split_spans(text, at, at + len(para))]
            if len(sentences) >= 2 and sum(len(s) for s in sentences) > 200:
                out.append(sentences)
    return out


def generate(folder: Path, passages: int, seed: int = 7) -> int:
    """About ``passages`` passages of generated documents (~9 each, measured); returns the document count."""
    rng = random.Random(seed)
    pool = paragraphs()
    folder.mkdir(parents=True, exist_ok=True)
    n_docs = max(1, round(passages / 8.7))
    for i in range(n_docs):
        paras = []
        for _ in range(rng.randint(4, 7)):
            sentences = list(rng.choice(pool))
            rng.shuffle(sentences)
            para = " ".join(sentences)
            para = re.sub(r"\d+", lambda m: str(rng.randint(1, 9999)), para)
            paras.append(para)
        title = f"Generated policy note {i}"
        (folder / f"gen{i:06d}.txt").write_text(f"{title}\n\n" + "\n\n".join(paras) + "\n", encoding="utf-8")
    return n_docs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=50_000)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "build_scale.json")
    args = parser.parse_args()

    from assistant import Assistant
    from assistant.encoder import onnx_folder

    info = machine()
    print(describe(info))
    work = Path(tempfile.mkdtemp(prefix="policyqa-buildscale-"))
    try:
        corpus, index = work / "corpus", work / "index"
        n_docs = generate(corpus, args.passages)
        Assistant.load()  # the default index, for its exported query model
        shutil.copytree(onnx_folder(ROOT / "index"), onnx_folder(index))  # the one-off export is not a build cost
        t0 = time.perf_counter()
        full = Assistant.build(corpus, index, progress=True)
        full_s = time.perf_counter() - t0
        rss = rss_mib()
        t0 = time.perf_counter()
        noop = Assistant.build(corpus, index)
        noop_s = time.perf_counter() - t0
        assert not noop.changed
        extra = work / "extra.txt"
        extra.write_text("One more note\n\n" + " ".join(paragraphs()[0]) + "\n", encoding="utf-8")
        qa = Assistant.load(index)
        t0 = time.perf_counter()
        added = qa.add(extra)
        add_s = time.perf_counter() - t0
        result = {
            "machine": info, "documents": n_docs, "passages": full.passages,
            "full_build_s": round(full_s, 1), "passages_per_s": round(full.passages / full_s, 1),
            "peak_rss_mib_after_build": round(rss, 1),
            "noop_rebuild_s": round(noop_s, 3), "noop_share_of_full": round(noop_s / full_s, 5),
            "add_one_document_s": round(add_s, 2), "add_embedded_passages": added.embedded,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
