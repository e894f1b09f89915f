#!/usr/bin/env python3
"""Sanity checks for the labelled evaluation data (standard library only).

Usage: python3 tests/data/check_data.py [--seeds DIR]
Exits non-zero if any problem is found.
"""
import argparse
import collections
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NGRAM = 6


def words(s):
    return re.findall(r"[a-z0-9]+", s.lower())


def ngrams(ws, n):
    return {tuple(ws[i:i + n]) for i in range(len(ws) - n + 1)}


def load(path, problems):
    rows = []
    with open(path, encoding="utf-8") as f:
        for ln, line in enumerate(f, 1):
            if not line.strip():
                problems.append(f"{os.path.basename(path)}:{ln}: blank line")
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                problems.append(f"{os.path.basename(path)}:{ln}: bad JSON: {e}")
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "seeds"))
    args = ap.parse_args()

    docs = {}
    for fn in sorted(os.listdir(args.seeds)):
        if fn.endswith(".txt"):
            with open(os.path.join(args.seeds, fn), encoding="utf-8") as f:
                docs[fn[:-4]] = f.read()

    problems = []
    q = load(os.path.join(HERE, "questions.jsonl"), problems)
    u = load(os.path.join(HERE, "unanswerable.jsonl"), problems)
    fu = load(os.path.join(HERE, "followups.jsonl"), problems)
    # Follow-ups written blind by a helper in the eighth session (ids fb01-fb30).
    fu += load(os.path.join(HERE, "blind7_followups.jsonl"), problems)
    # And by a helper in the ninth session (ids mf01-mf20).
    fu += load(os.path.join(HERE, "blind8_followups.jsonl"), problems)
    fu += load(os.path.join(HERE, "blind9_followups.jsonl"), problems)
    fu += load(os.path.join(HERE, "blind10_followups.jsonl"), problems)
    fu += load(os.path.join(HERE, "blind11_followups.jsonl"), problems)
    fu += load(os.path.join(HERE, "blind12_followups.jsonl"), problems)
    fu += load(os.path.join(HERE, "blind13_followups.jsonl"), problems)
    fu += load(os.path.join(HERE, "blind14_followups.jsonl"), problems)
    fu += load(os.path.join(HERE, "blind15_followups.jsonl"), problems)
    # Written after all tuning, by a session that never saw the system's answers (BENCHMARKS.md).
    bq = load(os.path.join(HERE, "blind_questions.jsonl"), problems)
    bu = load(os.path.join(HERE, "blind_unanswerable.jsonl"), problems)
    # A second blind set, written the same way after the first had been used for fitting.
    bq += load(os.path.join(HERE, "blind2_questions.jsonl"), problems)
    bu += load(os.path.join(HERE, "blind2_unanswerable.jsonl"), problems)
    # A third, written by another helper session after the first two had been used.
    bq += load(os.path.join(HERE, "blind3_questions.jsonl"), problems)
    bu += load(os.path.join(HERE, "blind3_unanswerable.jsonl"), problems)
    # A fourth, written blind by another helper session after the first three had been used.
    bq += load(os.path.join(HERE, "blind4_questions.jsonl"), problems)
    bu += load(os.path.join(HERE, "blind4_unanswerable.jsonl"), problems)
    # A sixth, written blind by a helper in the seventh session, measured once before any change.
    bq += load(os.path.join(HERE, "blind6_questions.jsonl"), problems)
    bu += load(os.path.join(HERE, "blind6_unanswerable.jsonl"), problems)
    # A seventh, written blind by a helper in the eighth session, measured once before any change.
    bq += load(os.path.join(HERE, "blind7_questions.jsonl"), problems)
    bu += load(os.path.join(HERE, "blind7_unanswerable.jsonl"), problems)
    # An eighth, written blind by a helper in the ninth session, measured once before any change.
    bq += load(os.path.join(HERE, "blind8_questions.jsonl"), problems)
    bu += load(os.path.join(HERE, "blind8_unanswerable.jsonl"), problems)
    # A ninth, written blind by another helper in the ninth session after its changes, measured once.
    bq += load(os.path.join(HERE, "blind9_questions.jsonl"), problems)
    bu += load(os.path.join(HERE, "blind9_unanswerable.jsonl"), problems)
    # A tenth, written blind by a third helper of the ninth session after its last change, measured once.
    bq += load(os.path.join(HERE, "blind10_questions.jsonl"), problems)
    bu += load(os.path.join(HERE, "blind10_unanswerable.jsonl"), problems)
    # An eleventh, written blind by a helper at the start of the tenth session, measured once
    # after the session's first two changes.
    bq += load(os.path.join(HERE, "blind11_questions.jsonl"), problems)
    bu += load(os.path.join(HERE, "blind11_unanswerable.jsonl"), problems)
    # A twelfth, written blind by another helper of the tenth session, measured once after its
    # retrieval boost for "main obstacle" questions.
    bq += load(os.path.join(HERE, "blind12_questions.jsonl"), problems)
    bu += load(os.path.join(HERE, "blind12_unanswerable.jsonl"), problems)
    # A thirteenth, written blind by a third helper of the tenth session, measured once at 15f2b56.
    bq += load(os.path.join(HERE, "blind13_questions.jsonl"), problems)
    bu += load(os.path.join(HERE, "blind13_unanswerable.jsonl"), problems)
    # A fourteenth, written blind by a fourth helper of the tenth session, measured once at 20dd9d4.
    bq += load(os.path.join(HERE, "blind14_questions.jsonl"), problems)
    bu += load(os.path.join(HERE, "blind14_unanswerable.jsonl"), problems)
    # A fifteenth, written blind by a fifth helper of the tenth session, measured once at 8dc8645.
    bq += load(os.path.join(HERE, "blind15_questions.jsonl"), problems)
    bu += load(os.path.join(HERE, "blind15_unanswerable.jsonl"), problems)

    seen = set()
    for name, rows, keys in (
        ("questions", q, {"id", "question", "doc_id", "evidence", "split"}),
        ("unanswerable", u, {"id", "question", "kind", "split"}),
        ("followups", fu, {"id", "history", "question", "doc_id", "evidence"}),
        ("blind_questions", bq, {"id", "question", "doc_id", "evidence", "split"}),
        ("blind_unanswerable", bu, {"id", "question", "kind", "split"}),
    ):
        for r in rows:
            if set(r) != keys:
                problems.append(f"{name} {r.get('id')}: keys {sorted(r)} != {sorted(keys)}")
            rid = r.get("id")
            if rid in seen:
                problems.append(f"{name}: duplicate id {rid}")
            seen.add(rid)
            allowed = ("blind", "blind2", "blind3", "blind4", "blind6", "blind7", "blind8", "blind9", "blind10", "blind11", "blind12", "blind13", "blind14", "blind15") if name.startswith("blind") else ("tune", "heldout")
            if "split" in keys and r.get("split") not in allowed:
                problems.append(f"{name} {rid}: bad split {r.get('split')!r}")
            if not str(r.get("question", "")).strip():
                problems.append(f"{name} {rid}: empty question")

    dup_q = [k for k, v in collections.Counter(r["question"].lower() for r in q + u + bq + bu).items() if v > 1]
    for d in dup_q:
        problems.append(f"duplicate question text: {d!r}")

    for name, rows in (("questions", q), ("followups", fu), ("blind_questions", bq)):
        for r in rows:
            rid, doc, ev = r.get("id"), r.get("doc_id"), r.get("evidence", "")
            if doc not in docs:
                problems.append(f"{name} {rid}: unknown doc_id {doc!r}")
                continue
            n = docs[doc].count(ev)
            if not ev or n == 0:
                problems.append(f"{name} {rid}: evidence is not an exact substring of {doc}")
            elif n > 1:
                problems.append(f"{name} {rid}: evidence occurs {n} times in {doc}")
            if ev != ev.strip():
                problems.append(f"{name} {rid}: evidence has leading/trailing whitespace")
            shared = ngrams(words(r["question"]), NGRAM) & ngrams(words(ev), NGRAM)
            if shared:
                problems.append(f"{name} {rid}: question shares {NGRAM}-word run with evidence: "
                                f"{' '.join(sorted(shared)[0])!r}")
    for r in fu:
        if not isinstance(r.get("history"), list) or not r["history"]:
            problems.append(f"followups {r.get('id')}: history must be a non-empty list")
    for r in u + bu:
        if r.get("kind") not in ("near", "off_topic"):
            problems.append(f"unanswerable {r.get('id')}: bad kind {r.get('kind')!r}")

    # ---- report counts
    print(f"questions: {len(q)}  unanswerable: {len(u)}  followups: {len(fu)}  blind: {len(bq)} + {len(bu)} unanswerable")
    print("\nanswerable questions per document (tune / heldout / total, words in doc):")
    per = collections.defaultdict(collections.Counter)
    for r in q:
        per[r["doc_id"]][r["split"]] += 1
    for d in docs:
        c = per[d]
        print(f"  {d}: {c['tune']:3d} / {c['heldout']:3d} / {sum(c.values()):3d}   ({len(docs[d].split())} words)")
    sp = collections.Counter(r["split"] for r in q)
    print(f"  all: tune={sp['tune']} heldout={sp['heldout']}")
    print("\nunanswerable by kind x split:")
    ks = collections.Counter((r["kind"], r["split"]) for r in u)
    for k in ("near", "off_topic"):
        print(f"  {k}: tune={ks[(k, 'tune')]} heldout={ks[(k, 'heldout')]}")
    print("\nfollowups per document:")
    for d, c in sorted(collections.Counter(r["doc_id"] for r in fu).items()):
        print(f"  {d}: {c}")

    # ---- requirements from the brief
    if len(q) < 60:
        problems.append(f"only {len(q)} answerable questions (< 60)")
    for d in docs:
        if sum(per[d].values()) < 7:
            problems.append(f"only {sum(per[d].values())} questions for {d} (< 7)")
    if len(u) < 40:
        problems.append(f"only {len(u)} unanswerable questions (< 40)")
    if len(fu) < 16:
        problems.append(f"only {len(fu)} followups (< 16)")

    print()
    if problems:
        print(f"{len(problems)} PROBLEM(S):")
        for p in problems:
            print("  - " + p)
        return 1
    print("OK: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
