"""Sweep the retrieval fusion weights on every corpus's tune questions.

    .venv/bin/python benchmarks/tune_retrieval.py [--split tune] [--corpora seeds,covidqa,squad2]

For each setting of (sentence weight σ, lexical weight λ, document weight γ) it prints hit@1,
hit@5 and MRR@10 per corpus and their mean over the corpora, through the product's own
``Assistant.search`` (questions are embedded once and reused). The defaults in
assistant/retrieval.py are the setting with the best mean MRR on ``tune``.
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
from corpora import corpora, load_index

from assistant.evaluation import AnswerTarget
from assistant.retrieval import FusionSettings


class _Memo:
    """The question encoder, each text embedded once."""

    def __init__(self, encoder) -> None:
        self.encoder, self.seen = encoder, {}
        self.name, self.dim, self.max_tokens = encoder.name, encoder.dim, encoder.max_tokens

    def encode(self, texts, *, progress=False):
        missing = [t for t in texts if t not in self.seen]
        if missing:
            for t, v in zip(missing, self.encoder.encode(missing), strict=True):
                self.seen[t] = v
        return np.stack([self.seen[t] for t in texts])

    def count_tokens(self, texts):
        return self.encoder.count_tokens(texts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="tune")
    ap.add_argument("--corpora", default="seeds,covidqa,squad2")
    ap.add_argument("--limit", type=int, default=400)
    args = ap.parse_args()
    grid = list(itertools.product((0.3, 0.5, 0.7), (0.2, 0.3, 0.45, 0.6), (0.0, 0.1, 0.2)))
    table: dict[tuple, dict[str, tuple[float, float, float]]] = {}
    for corpus in corpora(args.corpora.split(",")):
        qa = load_index(corpus)
        qa._encoder = _Memo(qa.encoder)
        questions = corpus.questions(args.split).answerable[: args.limit]
        targets = [AnswerTarget(q, lambda d, qa=qa: qa.document(d).text) for q in questions]
        for sigma, lam, gamma in grid:
            fusion = FusionSettings(sentence_weight=sigma, lexical_weight=lam, document_weight=gamma)
            ranks = []
            for q, t in zip(questions, targets, strict=True):
                hits = qa.search(q.question, k=10, fusion=fusion)
                ranks.append(next((i + 1 for i, p in enumerate(hits) if t.in_passage(p)), None))
            n = len(ranks)
            table.setdefault((sigma, lam, gamma), {})[corpus.name] = (
                sum(r == 1 for r in ranks) / n, sum(r is not None and r <= 5 for r in ranks) / n,
                sum(1 / r for r in ranks if r) / n)
        print(f"{corpus.name}: {len(questions)} questions", flush=True)
    names = sorted({c for v in table.values() for c in v})
    rows = sorted(table.items(), key=lambda kv: -np.mean([m[2] for m in kv[1].values()]))
    print("| σ | λ | γ | " + " | ".join(f"{c} hit@1 / hit@5 / MRR" for c in names) + " | mean MRR |")
    for (sigma, lam, gamma), per in rows:
        cells = " | ".join(f"{per[c][0]:.3f} / {per[c][1]:.3f} / {per[c][2]:.3f}" for c in names)
        print(f"| {sigma} | {lam} | {gamma} | {cells} | {np.mean([m[2] for m in per.values()]):.4f} |")


if __name__ == "__main__":
    main()
