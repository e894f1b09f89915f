"""The corpora every change to retrieval or answering is judged on, and their labelled questions.

One definition serves the generality table (``benchmarks/generality.py``) and the fitting of the
answer models (``benchmarks/fit_answers.py``), so that what is fitted on and what is reported
can never overlap by accident:

* ``tune``: fit anything here (the benchmarks' ``tune`` split and ``train.jsonl`` pools; for
  the seeds, the older labelled sets);
* ``heldout``: report only (the benchmarks' ``heldout`` split; for the seeds, the sets written
  last, blind27 to blind51, and ``questions.jsonl``'s heldout split).

``tune`` is two disjoint parts, so that a model trained on one can be stacked on the other with
scores it never trained on: ``pool`` (the ``train.jsonl`` pools; the seeds' sets blind1 to
blind14), which trains the answer verifier, and ``stack`` (the rest of ``tune``), which fits the
models that read the verifier's scores.

``crs`` (28 CRS reports from ``../shared/bench``) has no questions of its own there; a blind set was
written for it in ``benchmarks/data`` (a helper who never saw the system), heldout only.

The public benchmarks live in ``../shared/bench`` (``POLICYQA_BENCH`` overrides); their indexes
are built once into ``benchmarks/out/idx/<name>`` and reused while the code's index format holds.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from common import ROOT

from assistant.evaluation import LabelledQuestion, load_questions, load_unanswerable

BENCH = Path(os.environ.get("POLICYQA_BENCH", ROOT.parent / "shared" / "bench"))
DATA = ROOT / "tests" / "data"
INDEXES = ROOT / "benchmarks" / "out" / "idx"
PDFS = ROOT / "benchmarks" / "out" / "pdf"
SEEDS_HELDOUT_FROM = 27  # blind27 … blind51: the seeds' sets written last
SEEDS_STACK_FROM = 15  # blind15 … blind26 (and the first labelled set, and the off-topic set): the seeds' stack part
SPLITS = ("tune", "heldout", "pool", "stack")


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
    labels: Path | None = None  # where its labelled questions are (default: its benchmark folder)
    typeset_from: Path | None = None  # text files this corpus's PDFs are typeset from (benchmarks/typeset_pdf.py)
    questions_of: str | None = None  # the corpus whose labelled questions it is asked (default: its own)

    @property
    def index(self) -> Path:
        return INDEXES / self.name

    def available(self) -> bool:
        if self.typeset_from is not None:
            return self.typeset_from.exists() and all(importlib.util.find_spec(m) for m in ("reportlab", "pyphen"))
        return self.documents.exists()

    def prepare(self) -> None:
        """Make the documents where they are made here (a PDF corpus typesets its text files)."""
        if self.typeset_from is not None:
            from typeset_pdf import typeset_corpus

            typeset_corpus(self.documents, self.typeset_from)

    def questions(self, split: str) -> Questions:
        """The labelled questions of ``split`` (SPLITS)."""
        if split not in SPLITS:
            raise ValueError(f"split {split!r}: one of {SPLITS}")
        name = self.questions_of or self.name
        if name == "seeds":
            return _seed_questions(split)
        if self.beir is not None:
            return Questions([], [])
        if self.labels is not None:  # a heldout-only set of this project's: nothing in it is for fitting
            if split != "heldout":
                return Questions([], [])
            return Questions(load_questions(self.labels / f"{name}_questions.jsonl", "heldout"),
                             [r["question"] for r in load_unanswerable(self.labels / f"{name}_unanswerable.jsonl")])
        folder = BENCH / name
        answerable: list[LabelledQuestion] = []
        unanswerable: list[str] = []
        if split != "pool":
            answerable += load_questions(folder / "questions.jsonl", "heldout" if split == "heldout" else "tune")
            unanswerable += [r["question"] for f in ("unanswerable.jsonl", "outofcorpus.jsonl") if (folder / f).is_file()
                             for r in load_unanswerable(folder / f, "heldout" if split == "heldout" else "tune")]
        if split in ("tune", "pool") and (folder / "train.jsonl").is_file():
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

    def part(n: int) -> str:  # the split a set numbered n (0: the off-topic set) belongs to
        return "heldout" if n >= SEEDS_HELDOUT_FROM else "stack" if n >= SEEDS_STACK_FROM or n == 0 else "pool"

    if split != "pool":  # the first labelled set: its own tune and heldout splits
        own = "heldout" if split == "heldout" else "tune"
        answerable += load_questions(DATA / "questions.jsonl", own)
        unanswerable += [r["question"] for r in load_unanswerable(DATA / "unanswerable.jsonl", own)]
    for path in sorted(DATA.glob("*.jsonl")):
        n = _seed_set_number(path)
        if not n and not path.name.startswith("offtopic"):
            continue
        if part(n) != split and not (split == "tune" and part(n) != "heldout"):
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
    Corpus("crs", BENCH / "crs" / "docs", labels=ROOT / "benchmarks" / "data",
           what="28 CRS reports; a blind set written for this project (benchmarks/data), heldout only"),
    # The same reports and papers typeset as PDFs (running header and footer, lines ended by the
    # page, words hyphenated): what a user's PDFs give the reader. Needs reportlab and pyphen (make bench-setup).
    Corpus("crs-pdf", PDFS / "crs", labels=ROOT / "benchmarks" / "data", typeset_from=BENCH / "crs" / "docs",
           questions_of="crs", what="the 28 CRS reports as PDFs; the crs questions"),
    Corpus("covidqa-pdf", PDFS / "covidqa", typeset_from=BENCH / "covidqa" / "docs", questions_of="covidqa",
           what="the 75 covidqa papers as PDFs; the covidqa questions"),
    Corpus("scifact", BENCH / "scifact" / "corpus.jsonl", beir=BENCH / "scifact", what="5,183 abstracts; nDCG@10"),
)


def corpora(names: list[str] | None = None) -> list[Corpus]:
    """The corpora named (default: all that are here), in table order. A corpus named but not
    here stops the run before any work, saying what is missing, rather than being left out of
    the table unsaid."""
    unknown = sorted(set(names or ()) - {c.name for c in CORPORA})
    if unknown:
        raise SystemExit(f"unknown corpus {', '.join(unknown)}: choose from {', '.join(c.name for c in CORPORA)}")
    wanted = [c for c in CORPORA if names is None or c.name in names]
    missing = [c for c in wanted if names is not None and not c.available()]
    if missing:
        raise SystemExit("; ".join(f"{c.name}: not here ({c.typeset_from or c.documents} missing, or reportlab and "
                                   "pyphen not installed: make bench-setup)" for c in missing))
    return [c for c in wanted if c.available()]


def load_index(corpus: Corpus, quiet: bool = True, index: str | Path | None = None):
    """The corpus's built index (built, or brought up to date, first): in ``corpus.index``, or in
    ``index`` (any location the product takes, e.g. ``milvus-lite:PATH``)."""
    from assistant import Assistant

    where = corpus.index if index is None else index
    corpus.prepare()
    Assistant.build(corpus.documents, where, progress=not quiet)
    return Assistant.load(where)
