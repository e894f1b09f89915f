"""Fit the answer models on pooled public data and write assistant/data/answer_model.json.

    make fit          # or: .venv/bin/python benchmarks/fit_answers.py

Data: the ``tune`` questions of every corpus with labelled questions (benchmarks/corpora.py:
the seeds' older sets, covidqa's tune split and train pool, squad2's tune split and train pool),
answerable and not. Heldout questions are never read.

1. Every question goes through ``Assistant.gather``: the same candidates and features ``ask`` sees.
   A candidate is positive when its quote holds the question's answer.
2. The evidence model (a small network over EVIDENCE_FEATURES) is fitted on the candidates of the
   answerable questions, each corpus weighing the same. Its probabilities for the coverage step are
   out-of-fold (5 folds by document), as they will be on questions it never saw.
3. The coverage model (a logistic regression over COVERAGE_FEATURES) is fitted on answerable
   against unanswerable questions, each corpus and each class weighing the same.
4. The threshold is the highest whose mean false refusal over the corpora is at most
   TARGET_FALSE_REFUSAL; ``keep_ratio`` the highest whose mean evidence@3 is within 0.005 of the best.

Deterministic: the same data and code give the same file.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass

import numpy as np
from common import machine
from corpora import corpora, load_index

from assistant.candidates import EVIDENCE_FEATURES
from assistant.evaluation import AnswerTarget
from assistant.scoring import COVERAGE_FEATURES, AnswerModel, Network
from assistant.selection import choose

FIT_CORPORA = ("seeds", "covidqa", "squad2")
TARGET_FALSE_REFUSAL = 0.04
HIDDEN = (16,)
FOLDS = 5


@dataclass
class Item:
    corpus: str
    group: str  # the document a question was written on (folds never split one)
    answerable: bool
    gathered: object
    labels: np.ndarray  # per candidate: its quote holds the answer
    qa: object


def collect(names: tuple[str, ...], limit: int | None) -> list[Item]:
    items: list[Item] = []
    for corpus in corpora(list(names)):
        qa = load_index(corpus)
        qs = corpus.questions("tune")
        t0 = time.perf_counter()
        for q in qs.answerable[:limit]:
            g = qa.gather(q.question)
            target = AnswerTarget(q, lambda d, qa=qa: qa.document(d).text)
            labels = np.array([target.in_citation(c.doc_id, c.quote_start, c.end,
                                                  qa.document(c.doc_id).text[c.quote_start:c.end])
                               for c in g.candidates.items], dtype=bool)
            items.append(Item(corpus.name, q.doc_id, True, g, labels, qa))
        for i, u in enumerate(qs.unanswerable[:limit]):
            g = qa.gather(u)
            items.append(Item(corpus.name, f"u{i % FOLDS}", False, g, np.zeros(len(g.candidates), bool), qa))
        print(f"{corpus.name}: {len(qs.answerable[:limit])} answerable, {len(qs.unanswerable[:limit])} not, "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
    return items


def fold_of(item: Item) -> int:
    return sum(map(ord, item.group)) % FOLDS


def standardised(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x.mean(axis=0), np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)


def fit_evidence(items: list[Item], seed: int = 0) -> Network:
    from sklearn.neural_network import MLPClassifier

    rows = [it for it in items if it.answerable and len(it.gathered.candidates)]
    x = np.concatenate([it.gathered.candidates.features for it in rows]).astype(np.float64)
    y = np.concatenate([it.labels for it in rows])
    per_corpus = {c: sum(1 for it in rows if it.corpus == c) for c in {it.corpus for it in rows}}
    # each question weighs the same within its corpus, each corpus the same overall
    w = np.concatenate([np.full(len(it.labels), 1.0 / (per_corpus[it.corpus] * len(it.labels))) for it in rows])
    w *= len(w) / w.sum()
    mean, scale = standardised(x)
    mlp = MLPClassifier(hidden_layer_sizes=HIDDEN, alpha=1e-3, max_iter=400, random_state=seed)
    mlp.fit((x - mean) / scale, y, sample_weight=w)
    return Network(mean, scale, tuple((np.asarray(a), np.asarray(b)) for a, b in zip(mlp.coefs_, mlp.intercepts_, strict=True)))


def probabilities(net: Network, it: Item) -> np.ndarray:
    return net.probability(it.gathered.candidates.features) if len(it.gathered.candidates) else np.zeros(0)


def fit_coverage(items: list[Item], probs: list[np.ndarray]) -> tuple[Network, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    x = np.concatenate([it.qa.coverage_features(it.gathered, p) for it, p in zip(items, probs, strict=True)])
    y = np.array([it.answerable for it in items])
    counts: dict[tuple[str, bool], int] = {}
    for it in items:
        counts[(it.corpus, it.answerable)] = counts.get((it.corpus, it.answerable), 0) + 1
    w = np.array([1.0 / counts[(it.corpus, it.answerable)] for it in items])
    w *= len(w) / w.sum()
    mean, scale = standardised(x)
    lr = LogisticRegression(C=1.0, max_iter=2000)
    lr.fit((x - mean) / scale, y, sample_weight=w)
    net = Network(mean, scale, ((lr.coef_.T.copy(), lr.intercept_.copy()),))
    return net, net.probability(x)


def evidence_at(items: list[Item], probs: list[np.ndarray], ratio: float) -> dict[str, tuple[float, float]]:
    """Per corpus: evidence@1 and @3 of the selection at ``ratio`` (labels of chosen candidates)."""
    out: dict[str, list[tuple[bool, bool]]] = {}
    for it, p in zip(items, probs, strict=True):
        if not it.answerable:
            continue
        points = choose(it.gathered.candidates, p, ratio) if len(p) else []
        index = {c: i for i, c in enumerate(it.gathered.candidates.items)}
        hits = [any(it.labels[index[c]] for c in point) for point in points]
        out.setdefault(it.corpus, []).append((bool(hits[:1] and hits[0]), any(hits[:3])))
    return {c: (float(np.mean([a for a, _ in v])), float(np.mean([b for _, b in v]))) for c, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, help="at most this many questions of each kind per corpus (a quick look)")
    ap.add_argument("--dry-run", action="store_true", help="print the figures, write nothing")
    args = ap.parse_args()
    t0 = time.perf_counter()
    items = collect(FIT_CORPORA, args.limit)

    # out-of-fold evidence probabilities, as on unseen questions
    oof: list[np.ndarray] = [np.zeros(0)] * len(items)
    for fold in range(FOLDS):
        net = fit_evidence([it for it in items if fold_of(it) != fold])
        for i, it in enumerate(items):
            if fold_of(it) == fold:
                oof[i] = probabilities(net, it)
    evidence = fit_evidence(items)

    ratios = [round(r, 2) for r in np.arange(0.3, 0.95, 0.05)]
    by_ratio = {r: evidence_at(items, oof, r) for r in ratios}
    macro3 = {r: float(np.mean([v[1] for v in by_ratio[r].values()])) for r in ratios}
    keep_ratio = max(r for r in ratios if macro3[r] >= max(macro3.values()) - 0.005)

    cover, p_cover = fit_coverage(items, oof)
    corpora_fit = sorted({it.corpus for it in items})

    def refusal(t: float) -> tuple[dict[str, float], dict[str, float]]:
        false, correct = {}, {}
        for c in corpora_fit:
            a = [p for it, p in zip(items, p_cover, strict=True) if it.corpus == c and it.answerable]
            u = [p for it, p in zip(items, p_cover, strict=True) if it.corpus == c and not it.answerable]
            false[c] = float(np.mean(np.array(a) < t)) if a else 0.0
            correct[c] = float(np.mean(np.array(u) < t)) if u else 0.0
        return false, correct

    grid = np.linspace(0.01, 0.99, 197)
    threshold = max((t for t in grid if np.mean(list(refusal(t)[0].values())) <= TARGET_FALSE_REFUSAL), default=0.01)
    false, correct = refusal(threshold)
    ev = by_ratio[keep_ratio]
    fitted = {
        "command": "make fit (benchmarks/fit_answers.py)",
        "data": {c: {"answerable": sum(1 for it in items if it.corpus == c and it.answerable),
                     "unanswerable": sum(1 for it in items if it.corpus == c and not it.answerable)} for c in corpora_fit},
        "evidence_hidden_layers": list(HIDDEN),
        "target_false_refusal": TARGET_FALSE_REFUSAL,
        "tune_out_of_fold": {c: {"evidence@1": round(ev[c][0], 4), "evidence@3": round(ev[c][1], 4),
                                 "false_refusal": round(false[c], 4), "correct_refusal": round(correct[c], 4)}
                             for c in corpora_fit},
        "machine": {k: machine()[k] for k in ("date", "commit")},
        "seconds": round(time.perf_counter() - t0),
    }
    print(json.dumps(fitted, indent=1))
    print(f"keep_ratio {keep_ratio}, threshold {threshold:.3f}")
    model = AnswerModel(evidence, cover, float(keep_ratio), float(threshold), fitted)
    if not args.dry_run and not args.limit:
        model.save()
        print("wrote assistant/data/answer_model.json")
    print("features:", ", ".join(EVIDENCE_FEATURES), "|", ", ".join(COVERAGE_FEATURES))


if __name__ == "__main__":
    main()
