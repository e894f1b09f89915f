"""Retrieval and answer quality on labelled questions and on BEIR folders.

Two formats of labelled questions (JSONL) are read:

* the project's own: ``question``, ``doc_id``, ``evidence`` (an exact quote of
  that document) and optionally ``id`` and ``split``. A retrieved passage holds the
  evidence when it is in the same document and covers at least half of the
  evidence's characters (evidence may straddle two passages); a citation matches
  when it overlaps half of the shorter of the two spans.
* the public benchmarks' (``../shared/bench``): ``question``, ``doc``, ``answers``
  (strings that occur verbatim in the document), ``split``, and in training pools
  ``answerable``. A passage or a citation holds the answer when its text contains one
  of the answer strings, ignoring case and white space. Records with
  ``"answerable": false`` or a ``source_doc`` (an article left out of the corpus) are
  questions the corpus does not answer.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import AssistantError, InputError
from .types import Answer, Passage


@dataclass(frozen=True)
class LabelledQuestion:
    id: str
    question: str
    doc_id: str
    evidence: str  # an exact quote of the document (the project's format), or ""
    split: str = ""
    answers: tuple[str, ...] = ()  # answer strings (the benchmarks' format), matched by containment


def _records(path: str | Path, what: str, required: dict[str, type]) -> list[tuple[int, dict]]:
    """(line number, object) for each non-blank line of a JSONL file of ``what``; any line that is
    not a JSON object with the ``required`` fields of the right types stops with file:line."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: a folder, not a {what} file (JSONL, one object per line)")
    if not path.is_file():
        raise InputError(f"{path}: no such {what} file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; expected a {what} file (JSONL, one object per line)") from None
    fields = ", ".join(f'"{k}" ({"a list" if t is list else "text"})' for k, t in required.items())
    out = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            rec = None
        if not isinstance(rec, dict) or not all(isinstance(rec.get(k), t) for k, t in required.items()):
            raise InputError(f"{path}:{n}: expected a JSON object" + (f" with {fields}" if fields else ""))
        out.append((n, rec))
    return out


def _is_unanswerable(rec: dict) -> bool:
    return rec.get("answerable") is False or "source_doc" in rec or not (rec.get("evidence") or rec.get("answers"))


def _labelled(path: str | Path, n: int, rec: dict) -> LabelledQuestion:
    """One answerable record of either format, or an error naming its line."""
    doc_id, evidence, answers = rec.get("doc_id", rec.get("doc")), rec.get("evidence", ""), rec.get("answers", [])
    if not isinstance(doc_id, str) or not isinstance(evidence, str) or not isinstance(answers, list) \
            or not all(isinstance(a, str) and a.strip() for a in answers):
        raise InputError(f'{path}:{n}: expected "doc_id" and "evidence" (text), or "doc" (text) and "answers" (a list of text)')
    return LabelledQuestion(str(rec.get("id", n)), rec["question"], doc_id, evidence, str(rec.get("split", "")),
                            tuple(a.strip() for a in answers))


def load_questions(path: str | Path, split: str | None = None) -> list[LabelledQuestion]:
    """The answerable questions of a labelled file (either format), of one split or all."""
    out = []
    for n, rec in _records(path, "questions", {"question": str}):
        if _is_unanswerable(rec) or (split is not None and str(rec.get("split", "")) != split):
            continue
        out.append(_labelled(path, n, rec))
    if not out:
        raise InputError(f"{path}: no answerable questions" + (f" in split {split!r}" if split else ""))
    return out


# Typographic variants a labeller's copy may not keep: curly quotes, dashes, non-breaking and
# doubled spaces (the seeds have all of them); and hyphens, which a typeset PDF adds where it
# breaks a word across lines ("sys-⏎temic"; kept by reflow.py when the word is not spelt whole
# elsewhere in the document).
_PLAIN = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"})
_HYPHENS = "-\u00ad"
_NO_HYPHENS = str.maketrans("", "", "-\u00ad–—")


def _plain(text: str) -> tuple[str, list[int]]:
    """``text`` with quotes made plain, dashes and hyphens left out and each run of white space one
    space, lower case; and for each character of the result, its offset in ``text``."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text.translate(_PLAIN)):
        if ch in _HYPHENS:
            continue
        if ch.isspace():
            if out and out[-1] == " ":
                continue
            ch = " "
        low = ch.lower()
        out.append(low if len(low) == 1 else ch)
        where.append(i)
    return "".join(out), where


def evidence_span(text: str, evidence: str) -> tuple[int, int]:
    """Where the labelled evidence is in its document: exactly, or else up to quotes, dashes,
    white space and case (a labeller's "rural residents' income" for the text's "rural
    residents’ income")."""
    at = text.find(evidence)
    if at >= 0:
        return at, at + len(evidence)
    flat, where = _plain(text)
    needle = _plain(evidence)[0].strip()
    at = flat.find(needle) if needle else -1
    if at < 0:
        raise InputError(f"evidence not found in its document: {evidence[:60]!r}")
    return where[at], where[at + len(needle) - 1] + 1


def _labelled_span(q: LabelledQuestion, document_text: Callable[[str], str]) -> tuple[int, int]:
    """The question's evidence span; a labelling error names the question it is in."""
    try:
        return evidence_span(document_text(q.doc_id), q.evidence)
    except InputError as exc:
        raise InputError(f"question {q.id}: {exc}") from None


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return min(a[1], b[1]) - max(a[0], b[0])


def holds(p: Passage, doc_id: str, span: tuple[int, int]) -> bool:
    """The passage covers at least half of the evidence span."""
    return p.doc_id == doc_id and _overlap((p.start, p.end), span) * 2 >= span[1] - span[0]


def _flat(text: str) -> str:
    return " ".join(text.translate(_NO_HYPHENS).split()).lower()


def contains_answer(text: str, answers: Sequence[str]) -> bool:
    """Whether ``text`` holds one of the answer strings, ignoring case, white space and hyphens."""
    flat = _flat(text)
    return any(_flat(a) in flat for a in answers)


class AnswerTarget:
    """Where a labelled question's answer is: its evidence span, or its answer strings."""

    def __init__(self, q: LabelledQuestion, document_text: Callable[[str], str]) -> None:
        self.q = q
        self.span = _labelled_span(q, document_text) if q.evidence else None

    def in_passage(self, p: Passage) -> bool:
        if self.span is not None:
            return holds(p, self.q.doc_id, self.span)
        return p.doc_id == self.q.doc_id and contains_answer(p.text, self.q.answers)

    def in_citation(self, doc_id: str, start: int, end: int, quote: str) -> bool:
        if self.span is not None:
            return citation_matches(self.q.doc_id, self.span, doc_id, (start, end))
        return doc_id == self.q.doc_id and contains_answer(quote, self.q.answers)


@dataclass(frozen=True)
class RetrievalScores:
    n: int
    hit_at_1: float
    hit_at_3: float
    hit_at_5: float
    mrr: float  # over the top 10
    misses: tuple[str, ...]  # ids whose evidence was not in the top 5

    def to_dict(self) -> dict:
        return {
            "n": self.n, "hit@1": round(self.hit_at_1, 4), "hit@3": round(self.hit_at_3, 4),
            "hit@5": round(self.hit_at_5, 4), "mrr": round(self.mrr, 4), "misses": list(self.misses),
        }


def evaluate_questions(
    questions: Sequence[LabelledQuestion],
    search: Callable[[str, int], list[Passage]],
    document_text: Callable[[str], str],
) -> RetrievalScores:
    """hit@1/3/5 and MRR@10 of ``search`` on labelled questions."""
    ranks: list[int | None] = []
    misses = []
    for q in questions:
        target = AnswerTarget(q, document_text)
        hits = search(q.question, 10)
        rank = next((i + 1 for i, p in enumerate(hits) if target.in_passage(p)), None)
        ranks.append(rank)
        if rank is None or rank > 5:
            misses.append(q.id)
    n = len(ranks)

    def at(k: int) -> float:
        return sum(1 for r in ranks if r is not None and r <= k) / n

    mrr = sum(1.0 / r for r in ranks if r is not None) / n
    return RetrievalScores(n, at(1), at(3), at(5), mrr, tuple(misses))


# ---------------------------------------------------------------- BEIR


def load_beir(folder: str | Path, split: str) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """(queries by id, qrels query → doc → relevance) of a BEIR folder's split."""
    folder = Path(folder)
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not (folder / "queries.jsonl").is_file() or not qrels_path.is_file():
        raise AssistantError(f"{folder}: not a BEIR folder with queries.jsonl and qrels/{split}.tsv")
    qrels: dict[str, dict[str, int]] = {}
    with qrels_path.open(encoding="utf-8") as f:
        for row in csv.reader(f, delimiter="\t"):
            if len(row) < 3 or row[0] in ("query-id", "query_id"):
                continue
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    queries = {}
    with (folder / "queries.jsonl").open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rec = json.loads(line)
                if str(rec["_id"]) in qrels:
                    queries[str(rec["_id"])] = rec["text"]
    return queries, qrels


def ndcg_at(ranked: Sequence[str], relevant: dict[str, int], k: int = 10) -> float:
    dcg = sum((2 ** relevant.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked: Sequence[str], relevant: dict[str, int], k: int = 100) -> float:
    rel = {d for d, g in relevant.items() if g > 0}
    return len(rel & set(ranked[:k])) / len(rel) if rel else 0.0


def evaluate_beir(
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    search_docs: Callable[[str, int], list[str]],
) -> dict[str, float]:
    """nDCG@10 and recall@100 over documents (passages folded to their best-scoring document)."""
    ndcg, recall = [], []
    for qid, text in queries.items():
        ranked = search_docs(text, 100)
        ndcg.append(ndcg_at(ranked, qrels[qid], 10))
        recall.append(recall_at(ranked, qrels[qid], 100))
    n = max(1, len(ndcg))
    return {"queries": len(ndcg), "ndcg@10": round(sum(ndcg) / n, 4), "recall@100": round(sum(recall) / n, 4)}


def load_jsonl(path: str | Path) -> list[dict]:
    """The objects of a JSONL file (any fields)."""
    return [rec for _, rec in _records(path, "JSONL", {})]


def load_unanswerable(path: str | Path, split: str | None = None) -> list[dict]:
    """Questions the corpus does not answer: objects with a ``question`` (and optionally ``id``,
    ``kind``, ``split``); in a file that mixes both kinds, those marked ``"answerable": false``
    or with a ``source_doc`` (the benchmarks' formats)."""
    rows = [rec for _, rec in _records(path, "unanswerable questions", {"question": str})]
    has_answerable = any(not _is_unanswerable(r) for r in rows)
    return [r for r in rows if (not has_answerable or _is_unanswerable(r)) and (split is None or str(r.get("split", "")) == split)]


def load_followups(path: str | Path) -> list[dict]:
    """Follow-ups: ``history`` (earlier questions), ``question``, ``doc_id`` and ``evidence``."""
    rows = _records(path, "follow-ups", {"history": list, "question": str, "doc_id": str, "evidence": str})
    for n, rec in rows:
        if not all(isinstance(h, str) for h in rec["history"]):
            raise InputError(f"{path}:{n}: history must be a list of earlier questions (text)")
    return [rec for _, rec in rows]


def citation_matches(doc_id: str, span: tuple[int, int], cited_doc: str, cited: tuple[int, int]) -> bool:
    """A citation is the labelled evidence when it overlaps half of the shorter of the two spans."""
    shorter = min(span[1] - span[0], cited[1] - cited[0])
    return cited_doc == doc_id and _overlap(span, cited) * 2 >= shorter


def evaluate_answers(
    questions: Sequence[LabelledQuestion],
    unanswerable: Sequence[str],
    ask: Callable[[str], Answer],
    document_text: Callable[[str], str],
) -> dict:
    """evidence@1/@3, false and correct abstentions, quotes that differ from their source span,
    and how long the answers' quotes are (a longer first quote is likelier to hold the evidence:
    evidence@1 is read beside it)."""
    e1 = e3 = refused = mismatches = 0
    first_quotes, citations = [], []
    for q in questions:
        answer = ask(q.question)
        target = AnswerTarget(q, document_text)
        ok = [target.in_citation(c.doc_id, c.start, c.end, c.quote) for c in answer.citations]
        e1 += bool(ok[:1] and ok[0])
        e3 += any(ok[:3])
        refused += not answer.answered
        mismatches += sum(document_text(c.doc_id)[c.start : c.end] != c.quote for c in answer.citations)
        if answer.citations:
            first_quotes.append(len(answer.citations[0].quote))
            citations.append(len(answer.citations))
    abstained = sum(not ask(u).answered for u in unanswerable)
    n, m = max(1, len(questions)), max(1, len(unanswerable))
    return {
        "answerable": len(questions), "unanswerable": len(unanswerable),
        "evidence@1": round(e1 / n, 4), "evidence@3": round(e3 / n, 4),
        "false_abstentions": round(refused / n, 4), "correct_abstentions": round(abstained / m, 4),
        "quote_mismatches": mismatches,
        "first_quote_chars": round(sum(first_quotes) / max(1, len(first_quotes)), 1),
        "citations_per_answer": round(sum(citations) / max(1, len(citations)), 2),
    }


def evaluate_followups(rows: Sequence[dict], ask: Callable[..., Answer], document_text: Callable[[str], str]) -> dict:
    """Follow-up questions asked with and without their conversation: how often is the
    labelled evidence among the first 3 passages, and among the citations?"""
    found = {"with": [0, 0], "without": [0, 0]}
    for r in rows:
        span = evidence_span(document_text(r["doc_id"]), r["evidence"])
        for mode, history in (("with", [(h, "") for h in r["history"]]), ("without", None)):
            answer = ask(r["question"], history=history, min_confidence=0.0)
            found[mode][0] += any(holds(p, r["doc_id"], span) for p in answer.passages[:3])
            found[mode][1] += any(citation_matches(r["doc_id"], span, c.doc_id, (c.start, c.end)) for c in answer.citations)
    n = max(1, len(rows))
    return {
        "followups": len(rows),
        "passage@3_with_history": round(found["with"][0] / n, 4),
        "passage@3_without_history": round(found["without"][0] / n, 4),
        "cited_with_history": round(found["with"][1] / n, 4),
        "cited_without_history": round(found["without"][1] / n, 4),
    }
