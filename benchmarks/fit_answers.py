"""Fit the answer models on pooled public data: assistant/data/answer_model.json (and, with
--train-verifier, the answer verifier assistant/data/verifier.onnx first).

    make fit              # or: .venv/bin/python benchmarks/fit_answers.py
    make train-verifier   # or: .venv/bin/python benchmarks/fit_answers.py --train-verifier

Data: the ``tune`` questions of every corpus with labelled questions (benchmarks/corpora.py: the
seeds' older sets, covidqa's and squad2's tune splits and train pools), answerable and not.
Heldout questions are never read. Every question goes through ``Assistant.gather``: the same
candidates and features ``ask`` sees. A candidate is positive when its quote holds the answer.

1. The evidence model (a small network over EVIDENCE_FEATURES) is fitted on the candidates of
   all answerable tune questions, each corpus weighing the same; its out-of-fold logits (5 folds by
   document) stand in for it on questions it never saw.
2. With --train-verifier: the verifier is trained on the ``pool`` part (verifier_training.py).
3. On the ``stack`` part, which the verifier never saw: the verifier reads each question's best
   candidates; the rerank model (a logistic regression over RERANK_FEATURES) is fitted on them; the
   coverage model (a logistic regression over COVERAGE_FEATURES) on answerable against
   unanswerable questions, each corpus and each class weighing the same.
4. ``keep_ratio`` is the highest whose mean evidence@3 over the corpora is within 0.005 of the
   best; the threshold the highest whose mean false refusal is at most TARGET_FALSE_REFUSAL.

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

from assistant.evaluation import AnswerTarget
from assistant.scoring import AnswerModel, Network, Scores, reranked, verified
from assistant.selection import choose

FIT_CORPORA = ("seeds", "covidqa", "squad2")
TARGET_FALSE_REFUSAL = 0.04
HIDDEN = (16,)
FOLDS = 5
HARD_PASSAGES = 5
NEGATIVES = 20


@dataclass
class Item:
    corpus: str
    part: str  # "pool" or "stack" (corpora.py)
    group: str  # the document a question was written on (folds never split one)
    answerable: bool
    gathered: object
    labels: np.ndarray  # per candidate: its quote holds the answer
    qa: object
    sentence_labels: np.ndarray  # per candidate: the sentence itself holds it (what the verifier is taught)
    answers: tuple[str, ...] = ()  # the labelled answer strings, or the evidence quote
    first: np.ndarray | None = None  # out-of-fold evidence logits
    verifier: np.ndarray | None = None
    scores: Scores | None = None


def collect(names: tuple[str, ...], limit: int | None) -> list[Item]:
    items: list[Item] = []
    for corpus in corpora(list(names)):
        qa = load_index(corpus)
        t0 = time.perf_counter()
        for part in ("pool", "stack"):
            qs = corpus.questions(part)
            for q in qs.answerable[:limit]:
                g = qa.gather(q.question)
                target = AnswerTarget(q, lambda d, qa=qa: qa.document(d).text)
                text = {c.doc_id: qa.document(c.doc_id).text for c in g.candidates.items}
                labels = np.array([target.in_citation(c.doc_id, c.quote_start, c.quote_end, text[c.doc_id][c.quote_start:c.quote_end])
                                   for c in g.candidates.items], dtype=bool)
                own = np.array([target.in_citation(c.doc_id, c.start, c.end, text[c.doc_id][c.start:c.end])
                                for c in g.candidates.items], dtype=bool)
                items.append(Item(corpus.name, part, q.doc_id, True, g, labels, qa, own,
                                  tuple(q.answers) or ((q.evidence,) if q.evidence else ())))
            for i, u in enumerate(qs.unanswerable[:limit]):
                g = qa.gather(u)
                none = np.zeros(len(g.candidates), bool)
                items.append(Item(corpus.name, part, f"u{i % FOLDS}", False, g, none, qa, none))
        n = sum(1 for it in items if it.corpus == corpus.name)
        print(f"{corpus.name}: {n} questions gathered, {time.perf_counter() - t0:.0f} s", flush=True)
    return items


def fold_of(item: Item) -> int:
    return sum(map(ord, item.group)) % FOLDS


def standardised(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x.mean(axis=0), np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)


def balanced(items: list[Item], by) -> np.ndarray:
    """Sample weights under which every group (``by(item)``) weighs the same, mean 1."""
    counts: dict = {}
    for it in items:
        counts[by(it)] = counts.get(by(it), 0) + 1
    w = np.array([1.0 / counts[by(it)] for it in items])
    return w * len(w) / w.sum()


def fit_evidence(items: list[Item], seed: int = 0) -> Network:
    from sklearn.neural_network import MLPClassifier

    rows = [it for it in items if it.answerable and len(it.gathered.candidates)]
    rng = np.random.default_rng(seed)
    # every positive and every candidate of the first HARD_PASSAGES passages; of the rest, which
    # are mostly easy, NEGATIVES at random
    keep = [np.flatnonzero(it.labels | (np.array([c.rank for c in it.gathered.candidates.items]) < HARD_PASSAGES)
                           | (rng.permutation(len(it.labels)) < NEGATIVES)) for it in rows]
    x = np.concatenate([it.gathered.candidates.features[k] for it, k in zip(rows, keep, strict=True)]).astype(np.float64)
    y = np.concatenate([it.labels[k] for it, k in zip(rows, keep, strict=True)])
    # each question weighs the same within its corpus, each corpus the same overall
    per_question = balanced(rows, lambda it: it.corpus)
    w = np.concatenate([np.full(len(k), wq / len(k)) for k, wq in zip(keep, per_question, strict=True)])
    w *= len(w) / w.sum()
    mean, scale = standardised(x)
    mlp = MLPClassifier(hidden_layer_sizes=HIDDEN, alpha=1e-3, max_iter=150, random_state=seed)
    mlp.fit((x - mean) / scale, y, sample_weight=w)
    return Network(mean, scale, tuple((np.asarray(a), np.asarray(b)) for a, b in zip(mlp.coefs_, mlp.intercepts_, strict=True)))


def logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> Network:
    from sklearn.linear_model import LogisticRegression

    mean, scale = standardised(x)
    lr = LogisticRegression(C=1.0, max_iter=2000)
    lr.fit((x - mean) / scale, y, sample_weight=w)
    return Network(mean, scale, ((lr.coef_.T.copy(), lr.intercept_.copy()),))


def fit_rerank(items: list[Item]) -> Network:
    rows = [it for it in items if it.answerable and len(it.gathered.candidates)]
    x, y, w = [], [], []
    for it, wq in zip(rows, balanced(rows, lambda it: it.corpus), strict=True):
        read = np.isfinite(it.verifier)
        x.append(np.stack([it.first[read], it.verifier[read]], axis=1))
        y.append(it.labels[read])
        w.append(np.full(int(read.sum()), wq / max(1, int(read.sum()))))
    w = np.concatenate(w)
    return logistic(np.concatenate(x), np.concatenate(y), w * len(w) / w.sum())


def evidence_at(items: list[Item], ratio: float) -> dict[str, tuple[float, float]]:
    """Per corpus: evidence@1 and @3 of the selection at ``ratio``."""
    out: dict[str, list[tuple[bool, bool]]] = {}
    for it in items:
        if not it.answerable:
            continue
        points = choose(it.gathered.candidates, it.scores.probability, ratio) if len(it.labels) else []
        index = {c: i for i, c in enumerate(it.gathered.candidates.items)}
        hits = [any(it.labels[index[c]] for c in point) for point in points]
        out.setdefault(it.corpus, []).append((bool(hits[:1] and hits[0]), any(hits[:3])))
    return {c: (float(np.mean([a for a, _ in v])), float(np.mean([b for _, b in v]))) for c, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train-verifier", action="store_true", help="train the answer verifier on the pool part first")
    ap.add_argument("--epochs", type=float, default=2.0, help="verifier training epochs (default 2)")
    ap.add_argument("--seed", type=int, help="verifier training seed (default: verifier_training.SEED)")
    ap.add_argument("--span-weight", type=float, help="weight of the answer-span loss in verifier training "
                    "(default: verifier_training.SPAN_WEIGHT, 0: the one-unit head alone)")
    ap.add_argument("--verify-top", type=int, help="candidates the verifier reads at question time (default: as it was trained)")
    ap.add_argument("--limit", type=int, help="at most this many questions of each kind per corpus and part (a quick look)")
    ap.add_argument("--dry-run", action="store_true", help="print the figures, write nothing")
    args = ap.parse_args()
    t0 = time.perf_counter()
    items = collect(FIT_CORPORA, args.limit)

    # 1. the evidence model, and its out-of-fold logits
    for fold in range(FOLDS):
        net = fit_evidence([it for it in items if fold_of(it) != fold])
        for it in items:
            if fold_of(it) == fold:
                it.first = net.logit(it.gathered.candidates.features) if len(it.labels) else np.zeros(0)
    evidence = fit_evidence(items)

    # 2. the verifier, trained on the pool part
    from verifier_training import VERIFY_TOP

    if args.train_verifier:
        from verifier_training import pairs_from, train

        options = {k: v for k, v in (("seed", args.seed), ("span_weight", args.span_weight)) if v is not None}
        train(pairs_from([it for it in items if it.part == "pool"], evidence), epochs=args.epochs, **options)
    from assistant.verifier import Verifier

    verifier = Verifier()
    verify_top = args.verify_top or VERIFY_TOP

    # 3. on the stack part: the verifier reads; rerank and coverage are fitted
    stack = [it for it in items if it.part == "stack"]
    for it in stack:
        it.verifier = verified(it.first, verifier, it.gathered.question.focus, it.gathered.candidates, verify_top)
    rerank = fit_rerank(stack)
    for it in stack:
        it.scores = Scores(reranked(rerank, it.first, it.verifier), it.verifier) if len(it.labels) else Scores(np.zeros(0), np.zeros(0))

    ratios = [round(r, 2) for r in np.arange(0.05, 0.95, 0.05)]
    by_ratio = {r: evidence_at(stack, r) for r in ratios}
    macro3 = {r: float(np.mean([v[1] for v in by_ratio[r].values()])) for r in ratios}
    keep_ratio = max(r for r in ratios if macro3[r] >= max(macro3.values()) - 0.005)

    x = np.concatenate([it.qa.coverage_features(it.gathered, it.scores) for it in stack])
    y = np.array([it.answerable for it in stack])
    cover = logistic(x, y, balanced(stack, lambda it: (it.corpus, it.answerable)))
    p_cover = cover.probability(x)
    names = sorted({it.corpus for it in stack})

    def refusal(t: float) -> tuple[dict[str, float], dict[str, float]]:
        false, correct = {}, {}
        for c in names:
            a = [p for it, p in zip(stack, p_cover, strict=True) if it.corpus == c and it.answerable]
            u = [p for it, p in zip(stack, p_cover, strict=True) if it.corpus == c and not it.answerable]
            false[c] = float(np.mean(np.array(a) < t)) if a else 0.0
            correct[c] = float(np.mean(np.array(u) < t)) if u else 0.0
        return false, correct

    grid = np.linspace(0.01, 0.99, 197)
    threshold = max((t for t in grid if np.mean(list(refusal(t)[0].values())) <= TARGET_FALSE_REFUSAL), default=0.01)
    false, correct = refusal(threshold)
    ev = by_ratio[keep_ratio]
    fitted = {
        "command": "make fit (benchmarks/fit_answers.py)",
        "data": {c: {part: {"answerable": sum(1 for it in items if it.corpus == c and it.part == part and it.answerable),
                            "unanswerable": sum(1 for it in items if it.corpus == c and it.part == part and not it.answerable)}
                     for part in ("pool", "stack")} for c in names},
        "evidence_hidden_layers": list(HIDDEN),
        "target_false_refusal": TARGET_FALSE_REFUSAL,
        "stack_in_sample": {c: {"evidence@1": round(ev[c][0], 4), "evidence@3": round(ev[c][1], 4),
                                "false_refusal": round(false[c], 4), "correct_refusal": round(correct[c], 4)}
                            for c in names},
        "machine": {k: machine()[k] for k in ("date", "commit")},
        "seconds": round(time.perf_counter() - t0),
    }
    print(json.dumps(fitted, indent=1))
    print(f"keep_ratio {keep_ratio}, threshold {threshold:.3f}")
    model = AnswerModel(evidence, rerank, cover, verify_top, float(keep_ratio), float(threshold), fitted)
    if not args.dry_run and not args.limit:
        model.save()
        print("wrote assistant/data/answer_model.json")


if __name__ == "__main__":
    main()
