"""Tune evidence weights and fit the abstention model on the "tune" split.

    .venv/bin/python benchmarks/tune_answers.py [--index DIR]

1. Grid over the evidence weights (cosine, key-term share, passage rank,
   paragraph lead) for evidence@1 / evidence@3 on answerable "tune" questions.
2. Logistic regression of answerable vs unanswerable on the confidence
   features of "tune" questions; prints the weights to paste into
   assistant/answering.py and the false/correct abstention rates per split
   at several thresholds.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Assistant, answering  # noqa: E402
from assistant.evaluation import citation_matches, evidence_span, load_jsonl, load_questions  # noqa: E402


def features(qa: Assistant, question: str) -> answering.Evidence:
    return qa._evidence(question, None, 5, None)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", default=None)
    args = ap.parse_args()
    qa = Assistant.load(args.index) if args.index else Assistant.load()
    questions = load_questions(ROOT / "tests/data/questions.jsonl")
    unanswerable = load_jsonl(ROOT / "tests/data/unanswerable.jsonl")
    evs = [features(qa, q.question) for q in questions]
    spans = [evidence_span(qa.document(q.doc_id).text, q.evidence) for q in questions]

    print("evidence weights (cos, terms, rank, lead) | tune e@1 e@3 | heldout e@1 e@3")
    rows = []
    for w in itertools.product([1.0], [0.0, 0.2, 0.35, 0.5], [0.0, 0.1, 0.25, 0.4], [0.0, 0.03, 0.06]):
        res = {"tune": [], "heldout": []}
        for q, ev, span in zip(questions, evs, spans):
            groups = answering.select_evidence(ev.candidates, w)
            firsts = [g[0] for g in groups]
            ok = [citation_matches(q.doc_id, span, c.passage.doc_id, (c.start, c.end)) for c in firsts]
            res[q.split].append((bool(ok[:1] and ok[0]), any(ok[:3])))
        r = [sum(x[i] for x in res[s]) / len(res[s]) for s in ("tune", "heldout") for i in (0, 1)]
        rows.append((w, *r))
    rows.sort(key=lambda r: (r[1], r[2]), reverse=True)
    for r in rows[:10]:
        print(r[0], " ".join(f"{x:.3f}" for x in r[1:]))

    # Abstention features, with the chosen evidence weights.
    def feats(ev):
        groups = answering.select_evidence(ev.candidates)
        if not groups:
            return [0.0, 0.0, 0.0, 0.0]
        best = groups[0][0]
        return [best.cos, best.terms, ev.known_terms, min(ev.hits[0].lexical / 10, 1.5)]

    def rule_refuses(question, ev):
        groups = answering.select_evidence(ev.candidates)
        return not answering.covers(question, ev, groups, 0.0)

    X, y, split, refused = [], [], [], []
    for q, ev in zip(questions, evs):
        X.append(feats(ev)), y.append(1), split.append(q.split), refused.append(rule_refuses(q.question, ev))
    for u in unanswerable:
        ev = features(qa, u["question"])
        X.append(feats(ev)), y.append(0), split.append(u.get("split", "tune")), refused.append(rule_refuses(u["question"], ev))
    X, y, split, refused = np.array(X), np.array(y, dtype=float), np.array(split), np.array(refused)
    print("refused by the rules (unknown name, missing number): answerable",
          int(refused[y == 1].sum()), "of", int((y == 1).sum()), "; unanswerable", int(refused[y == 0].sum()), "of", int((y == 0).sum()))
    tune = (split == "tune") & ~refused  # the logistic model only sees what the rules let through
    # Logistic regression by gradient descent (no extra dependency); answerable weighted up
    # because a wrong refusal costs the user more than a weak answer.
    w, b = np.zeros(X.shape[1]), 0.0
    weight = np.where(y == 1, 2.0, 1.0)
    for _ in range(20000):
        p = 1 / (1 + np.exp(-(X[tune] @ w + b)))
        g = (p - y[tune]) * weight[tune]
        w -= 0.5 * (X[tune].T @ g / tune.sum() + 1e-3 * w)
        b -= 0.5 * g.mean()
    print("\nconfidence weights", np.round(w, 2).tolist(), "bias", round(b, 2))
    conf = 1 / (1 + np.exp(-(X @ w + b)))
    for t in (0.2, 0.3, 0.4, 0.5, 0.6):
        for s in ("tune", "heldout"):
            m = split == s
            no = (conf < t) | refused
            false_abst = (no & (y == 1) & m).sum() / max(1, ((y == 1) & m).sum())
            correct_abst = (no & (y == 0) & m).sum() / max(1, ((y == 0) & m).sum())
            print(f"threshold {t:.1f} {s:8}: false abstentions {false_abst:.3f}  correct abstentions {correct_abst:.3f}")


if __name__ == "__main__":
    main()
