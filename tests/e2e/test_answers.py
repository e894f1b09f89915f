"""Cited answers with the real model and the bundled answer models: floors on the labelled sets,
and behaviour that holds on any corpus (exact quotes, refusals, sources named, follow-ups)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.compose import MAX_JOINED_QUOTE
from assistant.evaluation import evaluate_answers, load_jsonl, load_questions

pytestmark = pytest.mark.e2e
DATA = Path(__file__).resolve().parents[1] / "data"

# Floors a little under the figures measured at the committed answer model (BENCHMARKS.md): a fall
# below one is a regression to explain, not noise. Pooled over the 51 blind sets (1,946 answerable,
# 1,226 unanswerable: 0.832 / 0.883 / 0.047 / 0.790 at 36e0f20), and a looser floor for each set,
# whose 40 or so questions move a figure by 0.025 each.
BLIND_SETS = [f"blind{n}" for n in ("", 2, 3, 4, *range(6, 52))]
POOLED_FLOORS = {"evidence@1": 0.80, "evidence@3": 0.85, "false_abstentions": 0.07, "correct_abstentions": 0.75}
SET_FLOORS = {"evidence@1": 0.5, "evidence@3": 0.6, "false_abstentions": 0.3, "correct_abstentions": 0.5}


def _short(m):
    return (m["false_abstentions"] > SET_FLOORS["false_abstentions"]
            or m["correct_abstentions"] < SET_FLOORS["correct_abstentions"]
            or any(m[k] < SET_FLOORS[k] for k in ("evidence@1", "evidence@3")))


def _measure(qa, name):
    questions = load_questions(DATA / f"{name}_questions.jsonl")
    unanswerable = [r["question"] for r in load_jsonl(DATA / f"{name}_unanswerable.jsonl")]
    return evaluate_answers(questions, unanswerable, qa.ask, lambda d: qa.document(d).text)


def test_answer_metrics_floor(real_qa):
    questions = load_questions(DATA / "questions.jsonl")
    unanswerable = [r["question"] for r in load_jsonl(DATA / "unanswerable.jsonl")]
    m = evaluate_answers(questions, unanswerable, real_qa.ask, lambda d: real_qa.document(d).text)
    assert m["quote_mismatches"] == 0
    assert m["false_abstentions"] <= 0.10, m
    assert m["correct_abstentions"] >= 0.8, m
    assert m["evidence@1"] >= 0.8 and m["evidence@3"] >= 0.82, m
    # Joined quotes stay quotations: evidence@1 must not come from quoting whole passages.
    assert 100 < m["first_quote_chars"] <= MAX_JOINED_QUOTE and m["citations_per_answer"] >= 1.5, m


def test_blind_sets_floor(real_qa):
    """Questions written apart from tuning: pooled floors over every set, and a floor per set."""
    measured = {name: _measure(real_qa, name) for name in BLIND_SETS}
    assert all(m["quote_mismatches"] == 0 for m in measured.values())
    answerable = sum(m["answerable"] for m in measured.values())
    unanswerable = sum(m["unanswerable"] for m in measured.values())
    pooled = {k: sum(m[k] * m["answerable"] for m in measured.values()) / answerable
              for k in ("evidence@1", "evidence@3", "false_abstentions")}
    pooled["correct_abstentions"] = sum(m["correct_abstentions"] * m["unanswerable"] for m in measured.values()) / unanswerable
    assert pooled["evidence@1"] >= POOLED_FLOORS["evidence@1"], pooled
    assert pooled["evidence@3"] >= POOLED_FLOORS["evidence@3"], pooled
    assert pooled["false_abstentions"] <= POOLED_FLOORS["false_abstentions"], pooled
    assert pooled["correct_abstentions"] >= POOLED_FLOORS["correct_abstentions"], pooled
    assert not {name: m for name, m in measured.items() if _short(m)}


def test_answerable(real_qa):
    a = real_qa.ask("what obstacles block migrant citizenization?")
    assert a.answered and a.citations and a.generation
    for c in a.citations:
        assert real_qa.document(c.doc_id).text[c.start:c.end] == c.quote


def test_a_question_that_names_its_source_searches_that_document(real_qa):
    a = real_qa.ask("What do the Shandong authors say about the perks that come with a hukou versus a residence permit?")
    assert a.answered and a.citations[0].doc_id == "000_00d9ca38244840a4"
    # named by its authors: their document only, and their names are not what the question is about
    a = real_qa.ask("What do Su, Jiao and Liu regard as the single greatest barrier to reviving villages?")
    assert a.answered and a.citations[0].doc_id == "004_89f843d6a7ca3e66"


@pytest.mark.parametrize("q", ["What is the current minimum wage in Guangdong province?",
                               "How do I make a sourdough starter?", "Who won the 2018 FIFA World Cup?",
                               "What are the rules of basketball?"])
def test_unanswerable(real_qa, q):
    a = real_qa.ask(q)
    assert not a.answered and a.citations == () and len(a.passages) > 0


@pytest.mark.parametrize("name", ["offtopic", "blind5"])
def test_sets_of_unanswerable_questions_are_refused(real_qa, name):
    questions = [r["question"] for r in load_jsonl(DATA / f"{name}_unanswerable.jsonl")]
    refused = sum(not real_qa.ask(q).answered for q in questions)
    assert refused / len(questions) >= 0.6, (refused, len(questions))


def test_follow_ups_retrieve_better_with_history(real_qa):
    """Evidence in the first 3 passages or among the first 3 citations, with the conversation and
    without, over every follow-up set (BENCHMARKS.md gives the figures)."""
    with_history = without = n = 0
    for path in sorted(DATA.glob("*followups.jsonl")):
        for r in load_jsonl(path):
            text = real_qa.document(r["doc_id"]).text
            at = text.find(r["evidence"])
            span = (at, at + len(r["evidence"]))

            def found(answer, r=r, span=span):
                return any(p.doc_id == r["doc_id"] and p.start < span[1] and span[0] < p.end
                           for p in [*answer.passages[:3], *answer.citations[:3]])

            with_history += found(real_qa.ask(r["question"], history=[(h, "") for h in r["history"]], min_confidence=0))
            without += found(real_qa.ask(r["question"], min_confidence=0))
            n += 1
    assert with_history > without
    assert with_history / n >= 0.7, (with_history, without, n)


def test_cli_ask_json_and_markdown(real_index):
    cmd = [sys.executable, "-m", "assistant.cli", "ask", "Which district was a national pilot for returning migrant entrepreneurs?",
           "--index", str(real_index)]
    r = subprocess.run(cmd + ["--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["answered"] and "Huichuan" in " ".join(c["quote"] for c in data["citations"])
    r = subprocess.run(cmd + ["--markdown"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "**References**" in r.stdout and "[1]" in r.stdout
