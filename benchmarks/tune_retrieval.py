"""Sweep chunking and fusion settings on the labelled questions (tune vs held-out).

    .venv/bin/python benchmarks/tune_retrieval.py [--questions tests/data/questions.jsonl]

Everything is computed in memory with the real bundled model, so a sweep of
chunk sizes x fusion variants takes a minute. The product's defaults
(ChunkSettings, retrieval weights) were chosen from this table on the "tune"
split only; the "heldout" column is reported, not tuned on.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.chunking import ChunkSettings, chunk_document, embed_text  # noqa: E402
from assistant.encoder import MiniLMEncoder  # noqa: E402
from assistant.evaluation import evidence_span, holds, load_questions  # noqa: E402
from assistant.indexing import weighted_means  # noqa: E402
from assistant.ingest import read_corpus  # noqa: E402
from assistant.lexical import LexicalIndex  # noqa: E402
from assistant.sentences import is_question, split_spans  # noqa: E402


def scores_for(ranks: list[int | None]) -> tuple[float, float, float]:
    n = len(ranks)
    h1 = sum(1 for r in ranks if r == 1) / n
    h5 = sum(1 for r in ranks if r is not None and r <= 5) / n
    mrr = sum(1 / r for r in ranks if r is not None and r <= 10) / n
    return h1, h5, mrr


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", default=str(ROOT / "tests/data/questions.jsonl"))
    ap.add_argument("--corpus", default=str(ROOT / "seeds"))
    args = ap.parse_args()
    enc = MiniLMEncoder()
    parsed = read_corpus(args.corpus)
    texts = {p.document.doc_id: p.document.text for p in parsed}
    questions = load_questions(args.questions)
    qvecs = enc.encode([q.question for q in questions])
    spans = [evidence_span(texts[q.doc_id], q.evidence) for q in questions]
    rows = []
    doc_ids = [p.document.doc_id for p in parsed]
    doc_lex = LexicalIndex.build([p.document.title + "\n" + p.document.text for p in parsed])
    doc_scores = np.stack([doc_lex.scores(q.question, len(parsed)) for q in questions])
    doc_norm_all = doc_scores / np.maximum(doc_scores.max(axis=1, keepdims=True), 1e-9)
    for chunk_tokens, prefix in itertools.product([96, 128, 160, 200], [False]):
        cs = ChunkSettings(chunk_tokens=chunk_tokens, context_prefix=prefix)
        passages = [p for d in parsed for p in chunk_document(d, enc.count_tokens, enc.max_tokens, cs)]
        ptexts = [embed_text(p.title, p.section, p.text, cs) for p in passages]
        sent_owner, stexts, asks = [], [], []
        for i, p in enumerate(passages):
            doc_text = texts[p.doc_id]
            for s, e in split_spans(doc_text, p.start, p.end):
                sent_owner.append(i)
                stexts.append(embed_text(p.title, p.section, doc_text[s:e], cs))
                asks.append(is_question(doc_text[s:e]))
        svec = enc.encode(stexts)
        sent_owner_arr = np.array(sent_owner)
        asks_arr = np.array(asks, dtype=bool)
        # As the build does: a passage's vector is the length-weighted mean of its sentences'
        # (a passage without sentences is embedded itself).
        alone = [i for i in range(len(passages)) if i not in set(sent_owner)]
        pvec = weighted_means(
            len(passages),
            np.array(sent_owner + alone, dtype=np.int64),
            np.array([len(t) for t in stexts] + [1.0] * len(alone), dtype=np.float32),
            np.concatenate([svec, enc.encode([ptexts[i] for i in alone]).reshape(-1, svec.shape[1])]),
        )
        lex = LexicalIndex.build(ptexts)
        dense_p = qvecs @ pvec.T  # (q, passages)
        sent_sim = qvecs @ svec.T
        dense_s = np.full_like(dense_p, -1.0)
        for j in range(len(passages)):
            mask = sent_owner_arr == j
            if mask.any():  # as the retriever does, a question never stands for its passage
                dense_s[:, j] = np.where(asks_arr[mask], -1.0, sent_sim[:, mask]).max(axis=1)
        lexical = np.stack([lex.scores(q.question, len(passages)) for q in questions])
        doc_col = np.array([doc_ids.index(p.doc_id) for p in passages])
        doc_norm = doc_norm_all[:, doc_col]
        for sent_w, lex_w, doc_w in itertools.product([0.3, 0.5, 0.7, 0.85], [0.2, 0.3, 0.4, 0.5], [0.0, 0.1, 0.2, 0.3]):
            dense = (1 - sent_w) * dense_p + sent_w * dense_s
            d_norm = np.clip(dense, 0, None) / np.maximum(dense.max(axis=1, keepdims=True), 1e-9)
            l_norm = lexical / np.maximum(lexical.max(axis=1, keepdims=True), 1e-9)
            fused = (1 - lex_w) * d_norm + lex_w * l_norm + doc_w * doc_norm
            ranks: dict[str, list] = {"tune": [], "heldout": []}
            for qi, q in enumerate(questions):
                order = np.argsort(-fused[qi])[:10]
                rank = next((r + 1 for r, j in enumerate(order) if holds(passages[j], q.doc_id, spans[qi])), None)
                ranks[q.split or "tune"].append(rank)
            rows.append(
                (chunk_tokens, doc_w, sent_w, lex_w, *scores_for(ranks["tune"]), *scores_for(ranks["heldout"]), len(passages))
            )
        print(f"chunk {chunk_tokens} prefix {prefix}: {len(passages)} passages", file=sys.stderr)
    rows.sort(key=lambda r: (r[6], r[4], r[5]), reverse=True)
    print("chunk doc_w sent_w lex_w | tune h@1 h@5 MRR | heldout h@1 h@5 MRR | passages")
    for r in rows[:25]:
        print(f"{r[0]:5} {r[1]:.2f} {r[2]:.2f} {r[3]:.1f} | {r[4]:.3f} {r[5]:.3f} {r[6]:.3f} | {r[7]:.3f} {r[8]:.3f} {r[9]:.3f} | {r[10]}")


if __name__ == "__main__":
    t0 = time.time()
    main()
    print(f"({time.time() - t0:.0f} s)", file=sys.stderr)
