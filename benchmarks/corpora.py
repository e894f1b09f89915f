"""The corpora every change to retrieval or answering is judged on, and their labelled questions.

One definition serves the generality table (``benchmarks/generality.py``) and the fitting of the
answer models (``benchmarks/fit_answers.py``), so that what is fitted on and what is reported
can never overlap by accident:

* ``tune``: fit anything here (the benchmarks' ``tune`` split and ``train.jsonl`` pools; for
  the seeds, the older labelled sets);
* ``heldout``: report only (the benchmarks' ``heldout`` split; for the seeds, the sets written
  last, blind27 to blind51, and ``questions.jsonl``'s heldout split).

The public benchmarks live in ``../shared/bench`` (``POLICYQA_BENCH`` overrides); their indexes
are built once into ``benchmarks/out/idx/<name>`` and reused while the code's index format holds.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from common import ROOT

from assistant.evaluation import LabelledQuestion, load_questions, load_unanswerable

BENCH = Path(os.environ.get("POLICYQA_BENCH", ROOT.parent / "shared" / "bench"))
DATA = ROOT / "tests" / "data"
INDEXES = ROOT / "benchmarks" / "out" / "idx"
SEEDS_HELDOUT_FROM = 27  # blind27 … blind51: the seeds' sets written last


@dataclass(frozen=True)
class Questions:
    """A corpus's labelled questions of one split."""

    answerable: list[LabelledQuestion]
    unanswerable: list[str]
    follow_ups: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class Corpus:
    name: str
    documents: Path  # a folder of files, or a BEIR corpus.jsonl
    beir: Path | None = None  # BEIR folder (queries, qrels) for retrieval-only corpora
    what: str = ""

    @property
    def index(self) -> Path:
        return INDEXES / self.name

    def available(self) -> bool:
        return self.documents.exists()

    def questions(self, split: str) -> Questions:
        """The labelled questions of ``split`` ("tune" or "heldout")."""
        if self.name == "seeds":
            return _seed_questions(split)
        if self.beir is not None:
            return Questions([], [])
        folder = BENCH / self.name
        answerable = load_questions(folder / "questions.jsonl", split)
        unanswerable = [r["question"] for f in ("unanswerable.jsonl", "outofcorpus.jsonl") if (folder / f).is_file()
                        for r in load_unanswerable(folder / f, split)]
        if split == "tune" and (folder / "train.jsonl").is_file():
            # the training pool is drawn from tune documents only (bench README)
            answerable += load_questions(folder / "train.jsonl")
            unanswerable += [r["question"] for r in load_unanswerable(folder / "train.jsonl")]
        return Questions(answerable, unanswerable)


def _seed_set_number(path: Path) -> int:
    m = re.match(r"blind(\d*)_", path.name)
    return int(m.group(1) or 1) if m else 0


def _seed_questions(split: str) -> Questions:
    answerable: list[LabelledQuestion] = []
    unanswerable: list[str] = []
    follow_ups: list[dict] = []
    from assistant.evaluation import load_followups

    answerable += load_questions(DATA / "questions.jsonl", split)
    unanswerable += [r["question"] for r in load_unanswerable(DATA / "unanswerable.jsonl", split)]
    for path in sorted(DATA.glob("*.jsonl")):
        n = _seed_set_number(path)
        if not n and not path.name.startswith("offtopic"):
            continue
        if (n >= SEEDS_HELDOUT_FROM) != (split == "heldout"):
            continue
        kind = path.stem.rsplit("_", 1)[-1]
        if kind == "questions":
            answerable += load_questions(path)
        elif kind == "unanswerable":
            unanswerable += [r["question"] for r in load_unanswerable(path)]
        elif kind == "followups":
            follow_ups += load_followups(path)
    if split == "tune":
        follow_ups += load_followups(DATA / "followups.jsonl")
    return Questions(answerable, unanswerable, follow_ups)


CORPORA = (
    Corpus("seeds", ROOT / "seeds", what="5 policy articles; labelled sets of the project"),
    Corpus("covidqa", BENCH / "covidqa" / "docs", what="75 long CORD-19 papers; out-of-corpus questions refused"),
    Corpus("squad2", BENCH / "squad2" / "docs", what="35 Wikipedia articles; gold unanswerable questions"),
    Corpus("scifact", BENCH / "scifact" / "corpus.jsonl", beir=BENCH / "scifact", what="5,183 abstracts; nDCG@10"),
)


def corpora(names: list[str] | None = None) -> Iterator[Corpus]:
    for c in CORPORA:
        if (names is None or c.name in names) and c.available():
            yield c


def load_index(corpus: Corpus, quiet: bool = True):
    """The corpus's built index (built, or brought up to date, first)."""
    from assistant import Assistant

    Assistant.build(corpus.documents, corpus.index, progress=not quiet)
    return Assistant.load(corpus.index)
