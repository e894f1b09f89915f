"""``Assistant``: the one object every shell (CLI, HTTP, web chat) talks to.

It loads one generation of an index and runs the steps of an answer in order, holding no
answer rule of its own:

    question.parse -> sources.resolve -> retrieval -> candidates.gather -> scoring (evidence)
    -> selection.choose -> coverage (confidence) -> compose
"""

from __future__ import annotations

import datetime
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import candidates as candidates_step
from . import coverage, layout, locations, selection, sentences, store, vectors
from .chunking import ChunkSettings
from .compose import NOT_COVERED, compose
from .encoder import Encoder, build_encoder, default_encoder, query_encoder
from .errors import AssistantError, CorpusError, IndexIncompatibleError, IndexMissingError, InputError
from .indexing import BuildReport, add_documents, build_index, compatible, corpus_is_current, default_settings, remove_documents
from .ingest import read_corpus
from .lexical import LexicalIndex
from .locations import MilvusLocation
from .progress import Progress, ProgressFn, reporting
from .question import Question, parse
from .retrieval import SOURCE_DOCUMENT_WEIGHT, FusionSettings, Hit, Retriever
from .scoring import AnswerModel, Scores, default_model, score
from .sources import SourceIndex
from .types import Answer, Document, Passage
from .verifier import default_verifier

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MAX_QUERY_CHARS = 2000
MAX_K = 100
MIN_CONFIDENCE = 0.5  # the fitted threshold (scoring.AnswerModel.confidence); higher refuses more
CANDIDATE_PASSAGES = 20  # the hits whose sentences are scored: an answer may quote them, search reorders them

__all__ = ["Assistant", "Filters", "Gathered", "MIN_CONFIDENCE", "NOT_COVERED"]

def default_corpus() -> Path:
    return Path(os.environ.get("POLICYQA_CORPUS", PROJECT_ROOT / "seeds"))


def default_index() -> Path | MilvusLocation:
    """POLICYQA_INDEX (a folder or a Milvus URI, see locations.py), else index/ of the project."""
    return locations.parse(os.environ.get("POLICYQA_INDEX") or PROJECT_ROOT / "index")


def live_generation(where: str | Path | MilvusLocation, *, recent: bool = False):
    """The live generation of an index: a folder's generation folder, or a Milvus index's version
    (``recent``: as read up to half a second ago, for a server asking on every request)."""
    where = locations.parse(where)
    if isinstance(where, MilvusLocation):
        from . import milvus_store

        return milvus_store.recent_version(where) if recent else milvus_store.live_version(where)
    return store.resolve_generation(where)


def read_manifest(generation) -> dict:
    if isinstance(generation, Path):
        return store.read_manifest(generation)
    from . import milvus_store

    return milvus_store.read_manifest(generation)


def _check_query(query: str, k: int) -> str:
    if not isinstance(query, str):
        raise InputError("the question must be text")
    query = query.strip()
    if not query:
        raise InputError("the question is empty")
    try:
        query.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates: bytes that were not valid UTF-8 (a shell passing binary, a bad decoder).
        raise InputError("the question holds characters that are not valid text (bytes that are not UTF-8)") from None
    if len(query) > MAX_QUERY_CHARS:
        raise InputError(f"the question is {len(query)} characters long; the limit is {MAX_QUERY_CHARS}")
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K:
        raise InputError(f"k must be a whole number from 1 to {MAX_K}")
    return query


@dataclass(frozen=True)
class Filters:
    """Which documents a search may draw on; None means no limit."""

    documents: Sequence[str] | None = None
    since: str | None = None
    until: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.documents, str):
            object.__setattr__(self, "documents", [self.documents])
        if self.documents is not None:
            if not isinstance(self.documents, Sequence) or not all(isinstance(d, str) for d in self.documents):
                raise InputError("documents must be a list of document ids")
            if not self.documents:
                raise InputError("documents is an empty list: name at least one document, or leave it out to search all")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, str):
                raise InputError(f"{name} must be a date written as text, such as '2021' or '2021-06-30', not {value!r}")
            if not _ISO_DATE.match(value) or not _real_date(value):
                raise InputError(f"{name} must be a date like 2021, 2021-06 or 2021-06-30, not {value!r}")

    def describe(self) -> str:
        parts = [f"documents {', '.join(self.documents)}"] if self.documents is not None else []
        parts += [f"since {self.since}"] if self.since else []
        return ", ".join(parts + ([f"until {self.until}"] if self.until else []))

    def admits_date(self, date: str) -> bool:
        """A document dated ``date`` (maybe only a year or month) falls in [since, until]; undated ones don't."""
        if self.since is None and self.until is None:
            return True
        if not date:
            return False
        # Compare a partial date by its whole range: "2021" runs from 2021-01-01 to 2021-12-31.
        first, last = _pad(date, "-01-01"), _pad(date, "-12-31")
        if self.since is not None and last < _pad(self.since, "-01-01"):
            return False
        return not (self.until is not None and first > _pad(self.until, "-12-31"))


_ISO_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")


def _real_date(value: str) -> bool:
    """A day that exists: 2021-02-30 matches the pattern but is no date."""
    if len(value) < 10:
        return True
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _pad(date: str, fill: str) -> str:
    """A YYYY or YYYY-MM date completed with the tail of ``fill`` (its range's first or last day)."""
    return date + fill[len(date) - 4 :] if len(date) < 10 else date



@dataclass(frozen=True)
class Gathered:
    """Everything an answer is decided on before any fitted model reads it (``Assistant.gather``):
    benchmarks fit the answer models on exactly what ``ask`` sees."""

    question: Question
    vector: np.ndarray  # the question's focus, embedded
    hits: list[Hit]
    candidates: candidates_step.Candidates




class Assistant:
    """A loaded index of documents that answers questions with cited passages.

    >>> qa = Assistant.load()                      # doctest: +SKIP
    >>> qa.search("what obstacles block migrant citizenization?", k=5)  # doctest: +SKIP
    """

    def __init__(self, generation: Path, encoder: Encoder | None = None, model: AnswerModel | None = None) -> None:
        self._encoder = encoder
        self._model = model
        self._refused: Path | None = None  # a newer generation that failed to load
        self._open(generation)

    def _open(self, generation: Path) -> None:
        """Load one generation of the index (all or nothing: on error the old state stays)."""
        encoder = self._encoder
        manifest = read_manifest(generation)
        model = manifest.get("model", {})
        encoder_name = encoder.name if encoder is not None else default_encoder().name
        if model.get("name") != encoder_name:
            raise IndexIncompatibleError(
                f"the index at {generation} was built with the model {model.get('name')!r}, "
                f"but this assistant embeds questions with {encoder_name!r}: rebuild it with `policyqa build`"
            )
        if isinstance(generation, Path):
            try:
                loaded = store.read_generation(generation)
                dense = vectors.load(generation / "vectors.faiss")
                lexical = LexicalIndex.load(generation / "bm25")
                doc_lexical = LexicalIndex.load(generation / "bm25_documents")
            except (OSError, ValueError, KeyError, RuntimeError) as exc:
                raise store.corrupt(generation, exc) from None
        else:  # a Milvus version (milvus_store.py): the same parts, the dense search in Milvus
            from . import milvus_store

            loaded = milvus_store.load(generation)
            dense, lexical, doc_lexical = loaded.dense, loaded.lexical, loaded.doc_lexical
        passages = loaded.passages
        if dense.ntotal != len(passages) or dense.d != model.get("dim"):
            raise store.corrupt(generation, f"{dense.ntotal} vectors for {len(passages)} passages")
        doc_row = {d: i for i, d in enumerate(loaded.documents)}
        passage_doc = np.array([doc_row[p.doc_id] for p in passages], dtype=np.int64)
        ranges = np.zeros((len(passages), 2), dtype=np.int64)
        asks = np.zeros(len(loaded.sentences), dtype=bool)  # the sentence is a question (retrieval.py)
        for srow, (prow, s, e) in enumerate(loaded.sentences):
            if ranges[prow, 1] == 0:
                ranges[prow, 0] = srow
            ranges[prow, 1] = srow + 1
            asks[srow] = sentences.is_question(loaded.documents[passages[prow].doc_id].text[s:e])
        rows_by_doc: dict[str, list[int]] = {}
        for row, p in enumerate(passages):
            rows_by_doc.setdefault(p.doc_id, []).append(row)
        # A table row, footnote, reference entry or bare link stays searchable but is never quoted.
        quotable = ~asks
        for doc_id, rows in rows_by_doc.items():
            srows = np.concatenate([np.arange(ranges[r, 0], ranges[r, 1]) for r in rows])
            quotable[srows] &= layout.quotable(loaded.documents[doc_id].text, [loaded.sentences[r][1:] for r in srows])
        sources = SourceIndex(loaded.documents, doc_lexical)
        # Everything is read; switch in one go.
        self.path = generation
        # The folder that holds CURRENT (and the exported query model), when there is one; or the Milvus location.
        if isinstance(generation, Path):
            self.root = generation.parent if (generation.parent / store.CURRENT).is_file() else generation
        else:
            self.root = generation.location
        self.manifest = manifest
        self._documents = loaded.documents
        self._passages = passages
        self._retriever = Retriever(dense, lexical, doc_lexical, passage_doc, loaded.sentence_vectors, ranges, asks)
        self._rows_by_doc = rows_by_doc
        self._sources = sources
        self._library = candidates_step.Library(
            loaded.documents, passages, loaded.sentences, ranges, loaded.sentence_vectors, quotable, lexical, sources.people)
        self._sections = [p.section for p in passages]
        self._profile: coverage.CorpusProfile | None = None  # measured on the first question that needs it

    @classmethod
    def load(cls, path: str | Path | None = None, *, encoder: Encoder | None = None) -> "Assistant":
        """Load a built index; with no path, the default index of ``seeds/``, built if missing or stale."""
        if path is None:
            root, corpus = default_index(), default_corpus()
            if not _is_current(root, corpus, encoder):
                cls.build(corpus, root, encoder=encoder, progress=True)
            path = root
        return cls(live_generation(path), encoder)

    @classmethod
    def build(
        cls,
        corpus: str | Path,
        index: str | Path,
        *,
        encoder: Encoder | None = None,
        settings: ChunkSettings | None = None,
        progress: bool | ProgressFn = False,
    ) -> BuildReport:
        """Build or update the index at ``index`` from a folder, file or corpus.jsonl.

        ``progress``: True shows a bar on a terminal (a line every few seconds elsewhere); a
        callable is given a ``Progress`` for each step instead."""
        # Before the encoder writes its model files into the index folder:
        if not Path(corpus).exists():
            raise CorpusError(f"{corpus}: no such file or folder")
        where = locations.parse(index)
        if isinstance(where, Path) and where.exists() and not where.is_dir():
            raise IndexMissingError(f"{index} is a file, not an index folder")
        with reporting(progress) as report:
            if encoder is None:
                report(Progress("model"))  # a new index exports the model first: seconds
                encoder = build_encoder(where.local_root if isinstance(where, MilvusLocation) else where)
            return build_index(corpus, where, encoder, settings, progress=report)

    def add(
        self, paths: str | Path | Sequence[str | Path], *, progress: bool | ProgressFn = False, switch: bool = True,
        replace: bool = False,
    ) -> BuildReport:
        """Add files or folders of documents; a document's id is its file's stem.

        Only the new documents are embedded; the index gets a new generation. With
        ``switch`` this assistant moves to it; without, it stays on the one it has
        (a server answering other requests with it moves later, via ``reloaded``).
        A bad file is refused before anything is written, and so is an id the index already
        holds for different text, unless ``replace`` (``BuildReport.replaced`` lists those).
        ``progress`` as for ``build``.
        """
        paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
        report = add_documents(paths, self.root, self._build_encoder(), progress=progress, replace=replace)
        if switch:
            self._open(live_generation(self.root))
        return report

    def remove(self, doc_ids: str | Sequence[str], *, switch: bool = True) -> BuildReport:
        """Remove documents by id (a later build of the corpus will not bring them back)."""
        doc_ids = [doc_ids] if isinstance(doc_ids, str) else list(doc_ids)
        report = remove_documents(doc_ids, self.root, self._build_encoder())
        if switch:
            self._open(live_generation(self.root))
        return report

    def _build_encoder(self) -> Encoder:
        if self.root == self.path:
            raise InputError(f"{self.path} is a single generation folder; add to or remove from its index folder")
        # The question encoder embeds new documents too: the same vectors, and the server
        # that takes an upload never has to load torch.
        return self.encoder

    def as_langchain_retriever(self, k: int = 5, **filters: Any):
        """A LangChain ``BaseRetriever`` over this index (filters: ``documents``, ``since``, ``until``)."""
        from .langchain_retriever import PolicyRetriever

        return PolicyRetriever(assistant=self, k=k, **filters)

    # ------------------------------------------------------------ queries

    @property
    def encoder(self) -> Encoder:
        """The question encoder, made on first use (ONNX when the index has it)."""
        if self._encoder is None:
            self._encoder = query_encoder(self._local_root())
        return self._encoder

    def _local_root(self) -> Path:
        """Where the exported query model is: the index folder, or a Milvus index's folder on this machine
        (exported there on first use, from the per-machine cache)."""
        if not isinstance(self.root, MilvusLocation):
            return self.root
        from .encoder import has_onnx, install_query_model, onnx_folder

        local = self.root.local_root
        if not has_onnx(onnx_folder(local)):
            try:
                install_query_model(onnx_folder(local))
            except (ImportError, OSError) as exc:
                print(f"policyqa: no fast query model for {self.root} ({exc})", file=sys.stderr)
        return local

    def reloaded(self) -> "Assistant":
        """This assistant, or a new one on the index's newer generation if a writer has switched it.

        A server calls this per request: readers keep the generation they
        started with, so each request sees one whole index, old or new.
        """
        if self.root == self.path:
            return self
        try:
            live = live_generation(self.root, recent=True)
        except AssistantError:
            return self  # CURRENT is mid-swap or damaged (or Milvus unreachable): keep serving what we have
        if live in (self.path, self._refused):
            return self
        try:
            return Assistant(live, self._encoder, self._model)
        except AssistantError as exc:  # a damaged new generation: keep answering from the whole one we have
            print(f"policyqa: not switching to {live.name}: {exc}", file=sys.stderr)
            self._refused = live  # said once, not on every request
            return self

    def _allowed(self, where: "Filters") -> np.ndarray | None:
        """Boolean mask of the passage rows the filters let through (None: no filter)."""
        if where.documents is None and where.since is None and where.until is None:
            return None
        chosen = list(self._documents)
        if where.documents is not None:
            unknown = [d for d in where.documents if d not in self._documents]
            if unknown:
                raise InputError(f"unknown document id: {', '.join(map(str, unknown))}")
            chosen = list(where.documents)
        chosen = [d for d in chosen if where.admits_date(self._documents[d].date)]
        allowed = np.zeros(len(self._passages), dtype=bool)
        for d in chosen:
            allowed[self._rows_by_doc.get(d, [])] = True
        return allowed

    def _retrieve(
        self, question: Question, k: int, allowed: np.ndarray | None, fusion: FusionSettings = FusionSettings()
    ) -> tuple[Question, np.ndarray, list[Hit]]:
        """The question with the documents it names applied, its query's vector, and the hits.

        ``allowed`` is ``_allowed``'s mask of the rows the filters let through. A question that
        names one document by its people or a source phrase searches only that document (the
        user named it); a source phrase that fits several documents makes the document-level
        BM25 read only its words, at a higher weight.
        """
        question, scope = self._sources.resolve(question)
        if scope.documents is not None:
            named = scope.documents[self._retriever.passage_doc]
            if allowed is None or (allowed & named).any():
                allowed = named if allowed is None else allowed & named
        doc_query = question.wording
        if scope.doc_query is not None:
            doc_query = scope.doc_query
            fusion = replace(fusion, document_weight=SOURCE_DOCUMENT_WEIGHT)
        if allowed is not None and not allowed.any():
            return question, np.zeros(0, dtype=np.float32), []
        vector = self.encoder.encode([question.query])[0]
        return question, vector, self._retriever.search(vector, question.query, k, fusion, allowed, doc_query=doc_query)

    def _hits(self, query: str, k: int, documents: Sequence[str] | None, fusion: FusionSettings) -> list[Hit]:
        return self._retrieve(parse(query), k, self._allowed(Filters(documents)), fusion)[2]

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        documents: Sequence[str] | None = None,
        since: str | None = None,
        until: str | None = None,
        fusion: FusionSettings = FusionSettings(),
        rerank: bool = True,
    ) -> list[Passage]:
        """The ``k`` passages that best match ``query``, best first.

        ``documents`` limits the search to those ids; ``since``/``until`` (ISO dates,
        ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, inclusive) to documents dated in that range.
        With ``rerank`` (the default) the best CANDIDATE_PASSAGES hits are reordered by the
        evidence their sentences hold, as ``ask`` reads them; without, the retrieval order stands
        (a few milliseconds faster).
        """
        query = _check_query(query, k)
        allowed = self._allowed(Filters(documents, since, until))
        if not rerank:
            return [self._scored(hit) for hit in self._retrieve(parse(query), k, allowed, fusion)[2]]
        gathered, scores = self._evidence(query, None, k, allowed, fusion)
        return self._shown(gathered, scores, k)

    def _shown(self, gathered: Gathered, scores: Scores, k: int) -> list[Passage]:
        by_row = {h.row: h for h in gathered.hits}
        rows = selection.passage_order(list(by_row), gathered.candidates, scores.probability, k)
        return [self._scored(by_row[r]) for r in rows]

    def _scored(self, hit: Hit) -> Passage:
        p = self._passages[hit.row]
        return replace(p, score=round(hit.score, 6))

    @property
    def model(self) -> AnswerModel:
        """The fitted answer models (scoring.py), read on the first question that needs them."""
        if self._model is None:
            self._model = default_model()
        return self._model

    def gather(self, question: str, history: Sequence[Any] | None = None, *, k: int = 5,
               allowed: np.ndarray | None = None, fusion: FusionSettings = FusionSettings()) -> Gathered:
        """Parse, retrieve and gather the candidate sentences with their features."""
        q = parse(question, history)
        q, vector, hits = self._retrieve(q, max(k, CANDIDATE_PASSAGES), allowed, fusion)
        sims = [h.sentence_sims for h in hits]
        if q.follow_up and len(vector):
            # A follow-up retrieves with the conversation's topic words, but its own words pick
            # the sentence: "how much loan money did it line up?" wants the loan figure.
            vector, sims = self.encoder.encode([q.focus])[0], None
        found = candidates_step.gather(q, vector, hits, self._library, CANDIDATE_PASSAGES, sims)
        return Gathered(q, vector, hits, found)

    def _evidence(self, question: str, history: Sequence[Any] | None, k: int, allowed: np.ndarray | None,
                  fusion: FusionSettings = FusionSettings()) -> tuple[Gathered, Scores]:
        gathered = self.gather(question, history, k=k, allowed=allowed, fusion=fusion)
        return gathered, score(self.model, default_verifier(), gathered.question.focus, gathered.candidates)

    def coverage_features(self, gathered: Gathered, scores: Scores) -> np.ndarray:
        """The question's coverage features (coverage.py) given its candidates' scores."""
        if self._profile is None:
            self._profile = coverage.CorpusProfile.measure(self._retriever.sentence_vectors)
        return coverage.features(gathered.question, gathered.vector, gathered.candidates, scores,
                                 self._retriever.lexical, self._profile, self._sources.known_names)

    def ask(
        self,
        question: str,
        history: Sequence[Any] | None = None,
        *,
        k: int = 5,
        documents: Sequence[str] | None = None,
        since: str | None = None,
        until: str | None = None,
        min_confidence: float = MIN_CONFIDENCE,
    ) -> Answer:
        """An extractive answer with numbered citations, or an abstention with related passages.

        ``history`` holds the earlier turns, as (question, answer) pairs or plain
        questions; a follow-up question is read in their light. Below
        ``min_confidence`` (0-1) the answer says the documents do not cover it.
        """
        question = _check_query(question, k)
        if isinstance(min_confidence, bool) or not isinstance(min_confidence, (int, float)) or not 0 <= min_confidence <= 1:
            raise InputError(f"min_confidence must be a number from 0 to 1, not {min_confidence!r}")
        where = Filters(documents, since, until)
        allowed = self._allowed(where)
        if allowed is not None and not allowed.any():
            return Answer(question=question, answered=False, text=f"No document matches the filters ({where.describe()}).",
                          generation=self.path.name)
        gathered, scores = self._evidence(question, history, k, allowed)
        points = selection.choose(gathered.candidates, scores.probability, self.model.keep_ratio)
        confidence = self.model.confidence(self.coverage_features(gathered, scores))
        passages = self._shown(gathered, scores, k)
        answered = bool(points) and confidence >= min_confidence
        # The generation the citations index into: GET /api/documents/{id}?generation= returns that text.
        return replace(compose(question, points, self._documents, passages, answered, self._sections),
                       generation=self.path.name, confidence=float(confidence))

    def search_documents(self, query: str, k: int = 10, fusion: FusionSettings = FusionSettings()) -> list[str]:
        """Document ids ranked by their best passage (for document-level benchmarks such as BEIR)."""
        query = _check_query(query, 1)
        ranked: list[str] = []
        for hit in self._hits(query, min(len(self._passages), k * 4), None, fusion):
            doc_id = self._passages[hit.row].doc_id
            if doc_id not in ranked:
                ranked.append(doc_id)
        return ranked[:k]

    def document(self, doc_id: str) -> Document:
        """The whole document a passage came from."""
        try:
            return self._documents[doc_id]
        except KeyError:
            raise InputError(f"unknown document id: {doc_id}") from None

    def documents(self) -> list[Document]:
        return list(self._documents.values())

    @property
    def passages(self) -> list[Passage]:
        return list(self._passages)


def _is_current(root: Path | MilvusLocation, corpus: Path, encoder: Encoder | None) -> bool:
    """True when the index at ``root`` was built from exactly the files now in ``corpus``."""
    try:
        manifest = read_manifest(live_generation(root))
    except AssistantError:
        return False
    # Another model, chunking or ingest version: a build would rebuild it, so it is stale.
    if not compatible(manifest, encoder if encoder is not None else default_encoder(), default_settings(corpus)):
        return False
    try:
        parsed = read_corpus(corpus)
    except AssistantError:
        return True  # corpus unreadable: keep serving the index we have
    return corpus_is_current(parsed, manifest)
