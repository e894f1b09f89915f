"""Extractive answers: evidence sentences, exact quotes, abstention, follow-ups.

No text generator is involved: an answer is 1-4 sentences quoted from the
corpus, each followed by its marker, so it cannot say what the corpus does not.

Evidence. Every sentence of the top passages is scored by

    evidence = W_COS · cos(question, sentence)          (the embedding model)
             + W_TERMS · IDF-weighted share of the question's key terms in the sentence
             + W_RANK · fused retrieval score of its passage (best = 1)
             + W_TYPE · 1 if it holds what a figure or date question asks for
                        (see ``quantity_check``)
             + W_POS · 1 / (1 + its passage's position in the retrieval ranking)
             + W_FORM · 1 if it has the shape the question asks for (a reason for
                        "why", a year for "when", a definition for "what is meant by")

A sentence that leans on the one before ("It …", "These …") is quoted with
that sentence. Sentences saying the same thing in two documents (cosine ≥
DUPLICATE_COS) become one quote with two markers.

Abstention, in order:
1. the question names something the corpus never mentions (a place, an
   acronym, a year: "Guangdong", "EU", "2019"; names inside a source phrase such
   as "the 2024 article" are not checked) → not covered;
2. it asks for a figure ("how many", "what share", "what is the … rate") and no
   chosen sentence has a figure (not a year; a percentage or fraction for a
   share, rate or ratio, and not an ordinal: "the third is …"; a sum of money
   for "how much funding", "what is the average income", "… in yuan"; not a
   figure the question itself states, nor "one" as in "one of") within 4
   content words of one of the question's key terms (for a share or rate, of
   what it counts: "women" in "what share of returnees are women?", "interest"
   in "what interest rate …"), with the places and
   bodies the question names in that sentence or the 400 characters before it;
   or it asks "what / which year" and no such sentence holds a year within 4
   content words of a key term (quantifiers such as "over" never count; the asking
   words may follow a leading clause: "According to …, how many …"); or
   it asks for a limit ("the maximum loan …") and no chosen quote states one
   ("up to", "no more than" …) with a number; or
   it asks for another quantity or a date ("how much", "when") and no chosen
   quote holds a number → not covered;
3. it names a year (outside its source phrase) that no chosen quote holds → not covered;
4. otherwise ``confidence``, a logistic function of the best sentence's cosine,
   the share of the question's key terms the corpus knows and the question's
   topicality (its cosine with the mean of all the corpus's sentence vectors),
   must reach ``min_confidence``.
The weights were fitted on answerable and unanswerable questions
(benchmarks/tune_answers.py). An abstention still offers the closest passages
as related reading.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from .lexical import content_stems, policy_stems, tokenize
from .types import Answer, Citation, Document, Passage

# W_COS, W_TERMS, W_RANK, W_TYPE, W_POS, W_FORM: a listwise logistic (softmax) model fitted on the "tune",
# "blind" and "blind3" splits (122 questions; "heldout" and "blind2" untouched), scaled so that W_COS = 1
# (benchmarks/tune_answers.py). W_KIND (Candidate.asked_kind: a sentence that ranks first what a "main
# obstacle / key factor / central aim" question asks for) came later: swept 0.26-1.8 on all 418
# labelled questions, its gains level off from 1.0 (BENCHMARKS.md, tenth session).
EVIDENCE_WEIGHTS = (1.0, 1.11, 0.45, 0.27, 0.69, 0.26, 1.0)
DUPLICATE_COS = 0.9
MAX_QUOTES = 4
KEEP_RATIO = 0.7  # further quotes must score at least this share of the best
EVIDENCE_PASSAGES = 5
MAX_JOINED_QUOTE = 800  # characters: side-by-side sentences join into one quote up to this length

# Abstention: logistic weights over (best sentence's cosine, known-term share, topicality).
# Fitted by benchmarks/tune_answers.py on the "tune", "blind", "blind3" and "offtopic" splits
# (after the rules below).
CONFIDENCE_WEIGHTS = (5.68, 4.13, 6.24)
CONFIDENCE_BIAS = -5.16
MIN_CONFIDENCE = 0.5

NOT_COVERED = "The documents do not cover this question."
# A sentence whose subject is a pronoun in its first few words ("In 2016 it was …")
# or that opens with a connective needs the sentence before it to be understood.
_LEANS_BACK = re.compile(
    r"^(?:[\w’'-]+[\s,]+){0,3}?(it|this|these|that|those|they|such|he|she|its|their)\b"
    r"|^(therefore|thus|hence|however|moreover|meanwhile|then|also)\b", re.I)


@dataclass(frozen=True)
class Evidence:
    """Everything ``ask`` decides on, exposed so that benchmarks can re-weigh it."""

    query: str  # the question as retrieved (a follow-up carries its context)
    focus: str  # the question without the words naming its source ("the Shandong authors", "Su, Jiao and Liu")
    hits: list  # retrieval hits, best first
    candidates: list["Candidate"]
    previous: dict[tuple[str, int], int]  # (doc_id, sentence start) -> previous sentence's start
    known_terms: float  # the question's key terms the corpus knows, over the focus's (see Assistant._evidence)
    topicality: float  # cosine of the question with the corpus's mean sentence vector
    unknown_names: list[str]  # names, acronyms, years in the question that the corpus never mentions
    following: dict[tuple[str, int], int] = field(default_factory=dict)  # (doc_id, start) -> next sentence's end
    # The question names a document's person and asks who they are ("What is Zhang Yi's post?"):
    # the sentences naming that document's people, by their start (doc_id, start).
    person_sentences: frozenset[tuple[str, int]] = frozenset()
    # Names in the question that are parts of the documents' people's names ("Pang" in "do Xin and
    # Pang cite …"): they say whose text, not what a figure's sentence must mention.
    people_named: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Candidate:
    """A sentence that may be quoted, with what it was scored on."""

    passage: Passage
    start: int
    end: int
    cos: float
    terms: float
    rank_score: float
    position: int  # of its passage in the retrieval ranking, 0 = first
    vector: np.ndarray
    fits_type: bool = False  # holds the figure or date the question asks for (see quantity_check)
    fits_form: bool = False  # has the shape the question asks for: a cause for "why", a year for "when", ...
    # Names the very kind of thing asked for: "… is the biggest obstacle" for "what is the main
    # obstacle …?" (ranked_first_form), or, for "which of the authors is a professor?", the byline.
    asked_kind: bool = False

    def features(self) -> tuple[float, float, float, float, float, float, float]:
        return (
            self.cos, self.terms, self.rank_score, float(self.fits_type), 1 / (1 + self.position),
            float(self.fits_form), float(self.asked_kind),
        )

    def score(self, weights: Sequence[float] = EVIDENCE_WEIGHTS) -> float:
        return float(sum(w * f for w, f in zip(weights, self.features(), strict=True)))


# A noun phrase that names where a statement comes from, not what it says: "the Shandong
# authors", "the 2024 article on productive forces", "the interviewee", "the 2018 research
# report". Questions often name the source; the sentence that answers rarely repeats it, while a
# byline or an interview's first sentence does. A plain "report" or "resolution" is left alone:
# in policy texts it is usually the subject ("the 20th Party Congress report put forward …").
# What a source is said to do: "the 2021 piece on talent flow recommends …".
_SOURCE_VERBS = (r"(say|said|says|think|thinks|see|sees|argue|argues|suggest|suggests|propose|proposes|recommend|recommends"
                 r"|expect|expects|identify|identifies|want|wants|mention|mentions|advocate|advocates|conclude|concludes)")
_SOURCE = re.compile(
    r"\b(according to\s+)?((the|this|these|that|those)\s+"
    # its modifiers, not across another "the" nor a preposition but "of" ("the Chengdu University of
    # Information Technology paper", "the labor mobility and new quality productive forces article")
    r"((?!(the|this|these|that|those|in|at|from|for|with|by|to|about|who|which)\b)[\w’'.-]+\s+){0,8}?"
    # or, in a terse query, names or a year right before the noun and nothing after it but a
    # colon or a dash: "hukou reform proposals Shandong paper", "Chengdu paper: three core
    # problems …" (not "the Chengdu University of Information Technology paper on …")
    r"|(?P<bare>((\d{4}|(?-i:[A-Z])[\w’'.-]*)\s+){1,3}))"
    r"(?P<noun>authors?|writers?|researchers?|scholars?|economists?|experts?|professor|interviewee|paper|article"
    r"|study|research report|piece|essay|commentary|interview|dean"
    # a plain "report" only after "according to" ("according to the returnee report")
    r"|(?(1)report|(?!)))(['’]s\b)?"  # "the paper's conclusion"
    r"(?(bare)(?=\s*([:—–)]|[?.!]?\s*$)))"
    rf"(\s+on\s+([\w’'-]+\s+){{0,3}}?[\w’'-]+(?=\s+{_SOURCE_VERBS}\b))?",
    re.I)


_SOURCE_GENERIC = re.compile(
    r"\b(according|to|the|this|these|that|those|authors?|writers?|researchers?|scholars?|economists?|experts?"
    rf"|professor|interviewee|paper|article|study|research|report|piece|essay|commentary|interview|dean|on|{_SOURCE_VERBS})\b",
    re.I)


def source_words(question: str) -> str:
    """What the question's source phrases say about which document is meant: "the Shandong
    authors" -> "Shandong", "the 2024 article on productive forces" -> "2024 productive forces";
    "" when they name no particular one ("the authors")."""
    named = " ".join(m.group(0) for m in _SOURCE.finditer(question))
    return " ".join(_SOURCE_GENERIC.sub(" ", named).split())


# "The (stated) purpose of the … paper" asks about the paper itself, so its words stay.
_OF_THE_SOURCE = re.compile(r"\b(purpose|aims?|goals?|objectives?|focus|subject|topic|theme|contribution|title) of $", re.I)


def without_source(question: str) -> str:
    """The question without the words that name its source (unchanged when too little would be left)."""
    people = asks_about_authors(question)  # "which of the authors is a professor?" is about them

    def drop(m: re.Match[str]) -> str:
        if people and _ASKS_AUTHOR.search(m.group("noun")) or _OF_THE_SOURCE.search(question[: m.start()]):
            return m.group(0)
        return " "

    focus = " ".join(_SOURCE.sub(drop, question).split())
    return focus if focus != question and len(key_terms(focus)) >= 2 else question


def metadata_terms(doc: Document) -> frozenset[str]:
    """The stems of a document's title, authors and source. Not its year: "the 2021 No. 1
    Document" names a document the corpus may not hold, while "the 2024 article" is a source
    phrase, which ``without_source`` removes before names are checked."""
    return key_terms(" ".join([doc.title, " ".join(doc.authors), doc.source]))


def name_parts(authors: Sequence[str]) -> set[str]:
    """The parts of the authors' names a question may use alone: "Su Hongwen" -> {"Su", "Hongwen"}.

    Chinese names put the family name first and English renderings often last, so every part
    counts. A part that is also an English stop word ("Will", "May") never does.
    """
    parts = [p for a in authors for p in capitalized_words(a) if len(p) > 1]
    return {p for p, stem in zip(parts, content_stems(parts), strict=True) if stem is not None}


_POSSESSIVE = re.compile(r"['’]s$")


def capitalized_words(text: str) -> list[str]:
    """The words of ``text`` that start with a capital, without a possessive: "Su's" is "Su"."""
    return [_POSSESSIVE.sub("", w) for w in re.findall(r"\b[A-Z][\w'’-]*", text)]


# A run of capitalized words, small words allowed inside: "Shanghai University of Finance and Economics".
_CAPITAL_RUN = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:(?:of|and|for|the|on|in)\s+)*[A-Z][\w'’-]*)*")


# The last word of a named law, plan or programme: "the Land Administration Law", "the EU's
# Common Agricultural Policy". The corpus either names such a document or does not cover it.
_TITLE_HEADS = frozenset(
    "law laws act regulations rules measures plan programme program policy strategy document "
    "opinions decision notice fund scheme initiative project campaign".split())


def titled_names(question: str) -> list[str]:
    """Named laws, plans and programmes in the question: two or more capitalized words ending in
    a title word, without a possessive before them ("China's Exit and Entry Administration Law"
    gives "Exit and Entry Administration Law")."""
    found: list[str] = []
    if question.isupper():
        return found  # typed in capitals: no title to tell apart
    for m in _CAPITAL_RUN.finditer(question):
        words = m.group(0).split()
        if words and words[0].endswith(("'s", "’s")):
            words = words[1:]
        if m.start() == 0 and len(words) < 3:
            continue  # "Land Policy" opening a question may be two ordinary capitalized words
        if sum(w[0].isupper() for w in words) >= 2 and words[-1].lower() in _TITLE_HEADS:
            found.append(" ".join(words))
    return found


def phrase_around(question: str, name: str) -> str | None:
    """The run of capitalized words of ``question`` that holds ``name``."""
    for m in _CAPITAL_RUN.finditer(question):
        if name in m.group(0).split():
            return m.group(0)
    return None


_WRITTEN_ACRONYM = re.compile(r"\b[A-Z]{2,}\b")


def acronyms(text: str) -> set[str]:
    """The acronyms a text writes out ("CPC"), and the initials of every run of two or more
    capitalized words and of each part of one: "Zhang of Shanghai University of Finance and
    Economics" gives "SUFE", and "the 19th CPC Central Committee" gives "CC"."""
    found = set(_WRITTEN_ACRONYM.findall(text))
    for m in _CAPITAL_RUN.finditer(text):
        initials = "".join(w[0] for w in m.group(0).split() if w[0].isupper())
        found.update(initials[i:j] for i in range(len(initials)) for j in range(i + 2, len(initials) + 1))
    return found


# "Professor" as a title before a name ("what does Professor Zhang mention …") is not a question
# about who is a professor.
_ASKS_AUTHOR = re.compile(
    r"\b(authors?|wrote|written|writers?|professors?(?!\s+(?-i:[A-Z]))|affiliat\w*|researchers? behind)\b", re.I)


_SPEAKS = re.compile(
    r"\b(says?|said|think|thinks|argues?|suggests?|proposes?|expects?|identif(y|ies)|wants?|recommends?|see|sees"
    r"|views?|describes?|characteri[sz]es?|notes?|points? out|believes?|warns?|calls? for|stresses?|according"
    r"|defines?|considers?|regards?|explains?|means?|mentions?|mentioned|outlines?|highlights?|emphasi[sz]es?"
    r"|raises?|discuss(es)?|talks? about|judge?ments?|judges?|assess(es|ment)?|opinions?|evaluat\w*|conclu\w*)\b", re.I)


# What a question asks of a person it names: "Where do Xin Baoying and Pang Jiaping work?",
# "What university is Su Hongwen at?", "Who is Fan Shide?".
_ASKS_PERSON = re.compile(
    # "Who is Fan Shide?", not "who is Zhang Yi married to?"; where they work, not where they live
    r"^\s*(who (is|are|was|were)\s+((?-i:[A-Z])[\w.’'-]*,?\s*(and\s+)?){1,6}\??\s*$"
    r"|where (do|does|did|is|are|was|were)\b(?!.*\b(live|lives|lived|born|grow|grew|stay|stays|stayed)\b))"
    r"|\b(posts?|positions?|jobs?|occupations?|affiliations?|employers?|institutions?|institutes?|universit(y|ies)|based)\b",
    re.I)


def asks_about_authors(question: str, *, person_named: bool = False) -> bool:
    """"Which of the two authors is a professor?", or, of a question naming an author, "where do
    they work?": then a byline is the evidence, not noise. Not "what do the Shandong authors say
    …", where the authors are only the source."""
    about = _ASKS_AUTHOR.search(question) or (person_named and _ASKS_PERSON.search(question))
    return bool(about) and not _SPEAKS.search(question)


def names_a_person(sentence: str, people: Sequence[str]) -> bool:
    """Whether the sentence names one of its document's people, ``people`` (its authors, and
    the speakers of a transcript): a byline, a bio, an interviewee's introduction."""
    return any(len(a) > 3 and a in sentence for a in people)


# The speaker's tag of a turn in a transcript: "Zhang" in "Zhang: I think the main challenge …".
_TAG = re.compile(r"[A-Z][\w.’'-]*(?:[ \t]+[A-Z][\w.’'-]*){0,2}")
_TITLES = frozenset("professor prof dr mr mrs ms sir president premier minister secretary dean director".split())


def speakers(text: str) -> list[str]:
    """The people a transcript lets speak, by the name the text gives them in full.

    A speaker is a tag that opens at least two turns, most of them not questions (that is the
    interviewer); "Zhang:" becomes "Zhang Yi", the first run of capitalized words holding the
    tag, without titles ("Professor Zhang Yi, Deputy Dean of …"), when it has at most 3 words.
    """
    turns: dict[str, list[int]] = {}
    for line in text.splitlines():  # line by line: a regex over a whole corpus costs seconds at load
        tag, colon, said = line.strip().partition(": ")
        if colon and said.strip() and len(tag) <= 40 and _TAG.fullmatch(tag):
            counts = turns.setdefault(tag, [0, 0])
            counts[0] += 1
            counts[1] += said.rstrip().endswith("?")
    found = []
    for tag, (n, asks) in turns.items():
        if n < 2 or 2 * asks >= n:
            continue
        name = tag
        for run in _CAPITAL_RUN.finditer(text):
            words = [w for w in run.group(0).split() if w.lower().rstrip(".") not in _TITLES]
            if tag.split()[-1] in words and len(tag.split()) < len(words) <= 3:
                name = " ".join(words)
                break
        found.append(name)
    return found


# The same sentences come back question after question: stemming each once saves about
# 0.27 of the 0.98 ms an answer otherwise adds to encoding its question.
@lru_cache(maxsize=1 << 14)
def key_terms(text: str) -> frozenset[str]:
    """The stems BM25 indexes for ``text`` (stop words and question words left out)."""
    return frozenset(tokenize([text])[0])


def term_share(question_terms: dict[str, float], text: str) -> float:
    """IDF-weighted share of the question's key terms that the sentence contains, an everyday
    term counting when the sentence has its policy word ("villages" by "rural", lexical.EVERYDAY_TERMS)."""
    total = sum(question_terms.values())
    if total <= 0:
        return 0.0
    present, policy = key_terms(text), policy_stems()
    return sum(w for t, w in question_terms.items() if t in present or policy.get(t, frozenset()) & present) / total


# Questions that ask for a number or a date need evidence that holds one.
_QUANTITY = re.compile(
    r"^\s*((by )?how (many|much|long|often|old|big|large|high|fast|far)|what (percentage|proportion|share|number|amount|rate|ratio|year|date)"
    r"|(in|by|since|until) (what|which) (year|date|time)|when (did|was|were|had)\b|what is the (total|average|exact|current)|exactly how)", re.I)
_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion|half|dozen)\b", re.I)
_NAME = re.compile(r"(?<!^)(?<![.?!]\s)\b([A-Z][A-Za-z-]+|[A-Z]{2,}|\d{4})\b")


# The shape of an answer to a "why", "when" or "what is meant by" question. The embedding model
# rates a sentence that restates the question as highly as the one that answers it; the answer
# is the one that gives a reason, a year or a definition (all 79: evidence@3 0.835 -> 0.861, evidence@1 unchanged).
_YEAR = re.compile(r"(1[89]|20)\d\d")  # a year, not a count
_GIVES_YEAR = re.compile(rf"\b{_YEAR.pattern}\b")
# (after a leading "According to the interview," or "In Zhang Yi's view,")
_ASKS_WHY = re.compile(
    r"^\s*((according to|in|for|from)\b[^,?]{0,80},\s*)?(why\b|what (is|are|was|were) the (main )?reasons?\b|for what reason|how come\b)", re.I)
_WHICH_YEAR = r"^\s*((in|by|since|until|from) )?(what|which) year"
# or at the end, as a non-native speaker or a search box puts it: "Shanghai unify pensions in
# what year?", "year Gansu launched its labor platform"
_YEAR_AT_END = r"\b(in|by|since|until|from) (what|which) year\s*\??\s*$|^\s*(the )?(years?|deadline)\b(?! of\b)"
_ASKS_YEAR = re.compile(rf"{_WHICH_YEAR}\b", re.I)
# "In which years did Shanghai unify its schemes?" asks for dates too, but of several things, each
# named in its own words: the quote needs years, not one next to the question's own terms.
_ASKS_WHEN = re.compile(rf"^\s*when\b|{_WHICH_YEAR}s?\b|{_YEAR_AT_END}", re.I)
_ASKS_MEANING = re.compile(r"\b(define[sd]?|definition of|what does .+ mean(?! (for|to)\b)|what is meant by)\b", re.I)  # not "what does that mean for X"
_GIVES_REASON = re.compile(
    r"\b(because|due to|owing to|as a result|result(s|ed|ing)? in|lead(s|ing)? to|led to|caus(e|es|ed|ing)"
    r"|since|so that|therefore|thus|hence|reasons?)\b", re.I)
_GIVES_MEANING = re.compile(r"\b(is|are|means|refers to|is defined as)\s+(a|an|the)\b", re.I)
# "What is the biggest obstacle / the key factor / the central aim …" (not "how many main …")
# asks for the one thing a text ranks first; the sentence that answers says so of the same kind of
# thing ("the lack of talent is the biggest obstacle", "talent holds the key", "the core of … is"),
# while its neighbours only describe it.
_RANKS_FIRST = (r"(main|biggest|greatest|largest|chief|primary|principal|foremost|central|core|key|crucial|decisive"
                r"|top|overriding|(single )?most (important|serious|pressing|common|critical|prominent)"
                r"|single (greatest|biggest|largest))")
_OBSTACLES = (r"(obstacles?|barriers?|hurdles?|impediments?|bottlenecks?|constraints?|problems?|challenges?"
              r"|difficult(y|ies)|weakness(es)?|shortcomings?|setbacks?|sticking points?|stumbling blocks?|roadblocks?"
              r"|snags?|pain points?)")
_AIMS = r"(aims?|goals?|objectives?|purposes?|tasks?|priorit(y|ies)|missions?)"
_FACTORS = r"(factors?|drivers?|determinants?|forces?|issues?)"
_KEY_TO = (r"|\b(holds?|is|are|was) the key\b|\bthe key (is|was|lies)\b|\bkey to\b|\b(lies?|lying) in\b"
           r"|\b(hinges?|depends?) on\b|\b(core|crux|heart) of\b")


def _ranked_first(nouns: str, also: str = "") -> re.Pattern[str]:
    # "the most important thing is …" ranks first whatever kind of thing the question asks for
    return re.compile(rf"\b{_RANKS_FIRST}\s+([\w-]+\s+){{0,2}}?({nouns}|things?)\b{also}", re.I)


def _asks_first(nouns: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!many )\b{_RANKS_FIRST}\s+([\w-]+\s+)?{nouns}\b", re.I)


_ANY_FIRST = rf"({_OBSTACLES}|{_AIMS}|{_FACTORS})"
_HOLDS_BACK = (r"(holds?|holding|held) back|hinders?|hindering|hampers?|hampering|impedes?|impeding|obstructs?"
               r"|constrains?|constraining|restricts?|restricting|blocks?|blocking|stands? in the way")
_CHIEF_FORMS = (
    (_asks_first(_OBSTACLES), _ranked_first(_OBSTACLES)),
    # "What most holds back rural revitalization?", "what hinders it most?"; and "the typical /
    # common difficulties", which a text answers with "the most common obstacles are …"
    (re.compile(rf"\bwhat\s+((\w+\s+)?(most|mainly|chiefly|primarily)\s+({_HOLDS_BACK})\b|({_HOLDS_BACK})\b.*\bmost\b)"
                rf"|\b(typical|common|usual|frequent|recurring)\s+([\w-]+\s+)?{_OBSTACLES}\b", re.I),
     _ranked_first(_OBSTACLES)),
    # "the main thing holding back / stopping …" is an obstacle
    (_asks_first(r"things?\s+(that\s+)?(holds?|holding|held|stops?|stopping|blocks?|blocking|hinders?|hindering"
                 r"|prevents?|preventing|keeps?|keeping|stands?|standing|impedes?|impeding|restricts?|restricting)"),
     _ranked_first(_OBSTACLES)),
    (_asks_first(_AIMS), _ranked_first(_AIMS, r"|\b(core|essence|crux|heart) of\b|\bultimate (aim|goal)\b")),
    (_asks_first(_FACTORS), _ranked_first(_FACTORS, _KEY_TO)),
    # "the main thing holding them back": whatever it is, the sentence ranks it first; so for
    # "what does he think matters most?"
    (re.compile(rf"{_asks_first(r'things?').pattern}|\b(matters?|counts?) (the )?most\b"
                r"|\b(single )?most (important|critical|crucial|essential) [\w-]+", re.I),
     _ranked_first(_ANY_FIRST, _KEY_TO)),
    # "On what does its success ultimately depend?", "what basis must it rest on?"
    (re.compile(r"\b(depends?|depending|hinges?|rests?|relies?)( \w+)? on\b|\bon what\b.*\b(depend|hinge|rest|rely)\b", re.I),
     _ranked_first(_FACTORS, _KEY_TO + r"|\b(based|rests?|relies?|built|founded) on\b|\b(basis|foundation) (of|for)\b")),
)


_ASKS_OBSTACLE = re.compile(
    rf"\b(get(s|ting)?|stand(s|ing)?) in the way\b|\b{_OBSTACLES}\b|\bhold(s|ing)? (\w+ )?back\b", re.I)
_GIVES_OBSTACLE = re.compile(
    rf"\b{_OBSTACLES}\b|\b(hard|difficult) to\b|\b(lack(s|ing)?|shortages?|insufficient|inadequate|restrict\w*|hinder\w*"
    r"|imped\w*|constrain\w*|struggl\w*|barely|fail(s|ed)? to)\b", re.I)


# "What does the paper propose / how can … / what steps …": a sentence that proposes ("we should",
# "it is necessary to", "strengthen …").
_ASKS_MEASURE = re.compile(
    r"\b(propos\w*|recommend\w*|suggest\w*|advocat\w*|calls? for|measures?|steps?|what should|how (can|could|should)"
    r"|what can|ways? to|how to|solutions?|remed\w*|fix(es)?|do about)\b", re.I)
_GIVES_MEASURE = re.compile(
    r"\b(should|needs? to|must|necessary|we will|(it is|is) (important|essential|crucial) to|encourag\w*|promot\w*"
    r"|establish\w*|improv\w*|strengthen\w*|deepen\w*|optimi[sz]\w*|build|set up)\b", re.I)


def answer_form(question: str) -> re.Pattern[str] | None:
    """What an answer to this question looks like, when its wording says (why / when / define /
    what gets in the way / what is proposed)."""
    for asks, gives in ((_ASKS_WHY, _GIVES_REASON), (_ASKS_WHEN, _GIVES_YEAR), (_ASKS_MEANING, _GIVES_MEANING),
                        (_ASKS_OBSTACLE, _GIVES_OBSTACLE), (_ASKS_MEASURE, _GIVES_MEASURE)):
        if asks.search(question):
            return gives
    return None


def ranked_first_form(question: str) -> re.Pattern[str] | None:
    """For "what is the main obstacle / key factor / central aim …?", what a sentence that ranks
    such a thing first says. MiniLM rates the sentences around the answer as close to the question
    as the one that names it the biggest (33 of 418 labelled questions ask this way; with this
    feature evidence@1 0.830 -> 0.849, evidence@3 0.880 -> 0.911, none lost)."""
    return next((gives for asks, gives in _CHIEF_FORMS if asks.search(question)), None)


# "How many …", "what share …", "what is the … rate": the answer is a figure about the thing
# asked, so a sentence qualifies only with a figure (not a year) within FIGURE_WINDOW content words of
# one of the question's key terms. A year or an unrelated count elsewhere in a sentence does not
# answer "what is Shanghai's old-age dependency ratio?" (correct abstentions 0.773 -> 0.864,
# no new false ones, BENCHMARKS.md).
# The words between "what (is the)" and the figure's noun qualify it ("what average monthly wage"):
# a verb or preposition there means the noun is not what is asked ("what role can quotas play",
# "what is the role of quotas").
# What a terse query puts before a figure's name: "average monthly wage of …".
_PER_WHAT = r"(average|mean|median|typical|monthly|annual|yearly|per[ -]capita|hourly|daily)"
_QUALIFIER = r"(?!(of|for|in|on|to|by|with|from|can|could|do|does|did|is|are|was|were|should|will|would|may|might|must|has|have|had)\b)[\w-]+ "
_ASKS_FIGURE = re.compile(
    r"^\s*((by|at|to) )?(how (many|big|large|high|fast)\b"
    # "how much money/funding" asks for a figure; "how much progress/attention" does not
    r"|how much (?!(progress|attention|emphasis|importance|influence|impact|effort|support|difference|change|role|"
    r"weight|priority|say|power|freedom|room|time)\b)"
    rf"|what ({_QUALIFIER}){{0,2}}?(percent|percentage|proportion|share|number|amount|rates?|ratios?|quotas?|targets?|scores?)\b"
    rf"|what (is|was|are|were) (the |([\w-]+ ){{0,2}}[\w-]+['’]s )?({_QUALIFIER}){{0,4}}?(rates?|ratios?|incomes?|wages?|salar(y|ies)|pensions?"
    r"|age|population|percentage|proportion|share|amount|number|costs?|prices?|size|total|average|budget|gdp"
    r"|figures?|quotas?|targets?)\b"
    # "what is the monthly … payment": a sum by the month or year is a figure, whatever it is called
    r"|what (is|was|are|were) (the |[\w-]+['’]s )?(monthly|annual|yearly|per[ -]capita)\b"
    # a terse query that is only the figure's name: "average monthly wage of migrant workers?",
    # "number of returnees in Huichuan?", "share of rural residents with pensions?"
    rf"|(the )?((total|{_PER_WHAT}) ){{1,3}}"
    r"(wages?|incomes?|salar(y|ies)|pensions?|earnings|rates?|ratios?|costs?|prices?|budgets?|spending|population)\b"
    r"|(the )?(total )?(number|share|percentage|proportion|amount) of\b)", re.I)
# Asked for last, as a non-native speaker or a search box puts it: "Total population of Huichuan
# is how many?", "… pays back exactly what percent of the bill?"; or a query with no question
# word at all that names a figure: "monthly basic pension amount rural residents yuan",
# "survival rate of returnee-founded businesses".
_SHARE_OR_SUM = r"(percent|percentage|share|proportion|amount|number)"
_FIGURE_ASKED_LATE = re.compile(
    rf"\b(is|are|was|were|be) (how (many|much)|(exactly )?what {_SHARE_OR_SUM})\b|\bexactly what {_SHARE_OR_SUM}\b"
    r"|\bhow (many|much)\s*\??\s*$", re.I)
_QUESTION_WORD = re.compile(
    r"\b(what|which|who|whom|whose|when|where|why|how)\b|^\s*(is|are|was|were|do|does|did|can|could|should|would|will"
    r"|has|have|had|tell|explain|describe|list|give|name|compare|summari[sz]e|show)\b", re.I)
_TERSE_FIGURE = re.compile(
    r"\b(amount|rates?|ratios?|percent|percentage|proportion|number of|figures?|total|count|per mu|per[ -]capita|score"
    r"|in (yuan|rmb|dollars))\b", re.I)
# "… income rank among Yangtze River Delta", "reimbursement rate vs urban insurance": a comparison,
# which a text makes in words ("rank only ninth", "much lower than").
_COMPARES = re.compile(r"\b(ranks?|ranking|ranked|vs|versus|compar\w*|against|lower|higher|gap)\b", re.I)
_WORD = re.compile(r"\d[\d,.]*\d%?|\d%?|\w+")
# "What share / percentage / rate …": only a share answers it, not a count ("120,000 workers").
_ASKS_SHARE = re.compile(r"\b(percent|percentages?|proportions?|shares?|rates?|ratios?)\b", re.I)
_FRACTIONS = frozenset("half halves third thirds quarter quarters fifth fifths tenth tenths percent".split())
_ORDINAL_FRACTIONS = frozenset("third thirds quarter quarters fifth fifths tenth tenths".split())
# Not "one": "one of the leaders" is no figure.
_NUMBER_WORDS = frozenset(
    "two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty hundred "
    "thousand million billion half dozen percent".split())
# "How much funding / what is the average income / … in yuan": only a sum of money answers it.
_ASKS_MONEY = re.compile(
    r"\b(in (yuan|rmb|dollars)|how (many|much) (yuan|rmb|dollars)|how much ([\w-]+ ){0,2}?(money|fund(s|ing)|loans?|lending|credit|capital|financing|subsid(y|ies)|grants?"
    r"|investment|budget|spending|expenditure|revenue|income|wages?|salar(y|ies)|pensions?|allowances?|compensation|costs?"
    r"|fees?|tax(es)?)"
    r"|how much ([\w-]+ ){0,3}?(lent|loaned|borrowed|spent|invested|raised|paid|allocated|earned)\b"
    r"|(what|how much|how high) (is|are|was|were) the ([\w-]+ ){0,3}?(incomes?|wages?|salar(y|ies)|pensions?|budget"
    r"|funding|costs?|prices?|fees?)\b"
    rf"|^\s*(the )?({_PER_WHAT} ){{1,3}}"
    r"(incomes?|wages?|salar(y|ies)|pensions?|earnings|budgets?|spending|costs?|prices?|fees?)\b)", re.I)
_MONEY = re.compile(
    r"(rmb|¥|\$|us\$|yuan)\s?\d|\d[\d,.]*\s*(yuan|rmb|dollars?|(million|billion|trillion)\s+(yuan|rmb|dollars?))\b", re.I)
_MONEY_NOUNS = frozenset(content_stems("money funds funding loans credit capital financing subsidies grants investment".split())) - {None}
FIGURE_WINDOW = 4
# Words that stand next to any figure ("over 92%"), so they tell nothing about what it counts.
_QUALIFIERS = frozenset(content_stems("over under about around nearly almost more less than least most some".split())) - {None}


# "How many challenges does the paper name, and what are they?" counts items the text lists:
# the list answers it, and there need not be a figure.
_COUNTS_ITEMS = re.compile(
    r"^\s*how many\b.*\b((are|were|is)\s+(named|listed|mentioned|identified|given|proposed|set out)"
    r"|(does|do|did)\b.*\b(name|list|mention|identify|give|propose|set out))\b", re.I)


def _asking_clause(question: str, asks: re.Pattern[str]) -> re.Match[str] | None:
    """``asks`` matched at the start of the question or of a clause after a comma ("According to
    official statistics, how many …")."""
    for m in re.finditer(r"^|,\s*", question):
        found = asks.match(question[m.end() :])
        if found:
            return found
    return None


def _figure_asked(question: str) -> re.Match[str] | None:
    """The words that ask for a figure: first in the question or a clause, last, or in a terse query."""
    found = _asking_clause(question, _ASKS_FIGURE) or _FIGURE_ASKED_LATE.search(question)
    if found is None and _QUESTION_WORD.search(question) is None and _COMPARES.search(question) is None:
        found = _TERSE_FIGURE.search(question)
    return found


def asks_for_figure(question: str) -> bool:
    return _figure_asked(question) is not None and not _COUNTS_ITEMS.match(question)


def asks_for_year(question: str) -> bool:
    return _asking_clause(question, _ASKS_YEAR) is not None or re.search(_YEAR_AT_END, question, re.I) is not None


def figure_near(
    text: str,
    terms: set[str],
    window: int = FIGURE_WINDOW,
    *,
    share: bool = False,
    year: bool = False,
    given: frozenset[str] = frozenset(),
) -> bool:
    """A figure (digits, a percentage or a number word; not a year, nor one of the ``given``
    figures the question itself states) within ``window`` content words (stop words are not
    counted) of one of the question's key terms. With ``share``, only a percentage or a fraction
    counts; with ``year``, only a year."""
    words = _WORD.findall(text.lower())
    if not any(w[0].isdigit() or w in _NUMBER_WORDS or w in _FRACTIONS for w in words):
        return False
    stemmed = content_stems(words)
    # (word, stem, the word before it, stop words included)
    content = [
        (w, st, words[k - 1] if k else "")
        for k, (w, st) in enumerate(zip(words, stemmed, strict=True)) if st is not None or w[0].isdigit()
    ]

    def is_figure(i: int) -> bool:
        w = content[i][0]
        if w in given or content[i][2] == "no":  # "No. 1 Central Document" is a name, not a figure
            return False
        if year:
            return bool(_YEAR.fullmatch(w))
        if share:
            after = content[i + 1][0] if i + 1 < len(content) else ""
            if w in _ORDINAL_FRACTIONS:  # "a third of", "two-fifths", not "the third is to …"
                return content[i][2] in _NUMBER_WORDS or content[i][2] in ("a", "one")
            return w.endswith("%") or w in _FRACTIONS or (w[0].isdigit() and after in ("percent", "per"))
        return (w[0].isdigit() and not _YEAR.fullmatch(w)) or w in _NUMBER_WORDS

    at = [i for i in range(len(content)) if is_figure(i)]
    terms = terms - _QUALIFIERS
    return any(
        content[j][1] in terms for i in at for j in range(max(0, i - window), min(len(content), i + window + 1)) if j != i
    )


# What a share is a share of, and what it counts: in "what share of returnees are women?" the
# figure must stand by "women"; in "what is the interest rate?" by "interest". A percentage about
# the returnees who found jobs answers neither.
_SHARE_OF = re.compile(
    r"\b(share|percentage|proportion|fraction)\s+of\s+.+?\s(are|is|were|was|have|has|had|do|does|did|will|would)\s+"
    r"(?P<part>[^?]+)", re.I)
_RATE_OF = re.compile(r"\b(?P<what>[\w-]+)\s+(rates?|ratios?)\b", re.I)


def _share_terms(question: str, asking: str) -> set[str]:
    """The key terms a share or rate figure must stand next to ("women", "interest"); empty when unclear."""
    m = _SHARE_OF.search(question)
    if m is not None:
        return set(key_terms(m.group("part")))
    m = _RATE_OF.search(asking)
    return set(key_terms(m.group("what"))) if m is not None else set()


# "How many counties …": the figure must stand next to what is counted, not next to any key
# term ("the third batch of pilot areas … 120,000 workers" does not say how many counties).
_COUNTED = re.compile(r"\bhow many\s+(?P<what>(?:[\w’'-]+\s+){0,2}[\w’'-]+)", re.I)
_ENDS_COUNTED = frozenset(
    "did do does are were have has had was is will would can could in of at on from per for by to than with and or".split())


def counted_terms(question: str, known: Container[str]) -> set[str]:
    """The key terms of what a "how many" question counts, among those the corpus knows.

    "How many returnees …" counts a word the corpus never uses (it says "returning migrant
    workers"): then nothing is returned and the figure may stand next to any key term.
    """
    counted: set[str] = set()
    # Each "how many" of the question: "how many are working elsewhere, how many returnees founded
    # businesses?" counts both, and a figure next to either answers it.
    for m in _COUNTED.finditer(question):
        words = []
        for w in m.group("what").split():
            if w.lower() in _ENDS_COUNTED:
                break
            words.append(w)
        # What is counted is the phrase's head, its last word. When the corpus does not know the head,
        # the phrase's other words say where, not what: "how many Huichuan returnees" counts
        # returnees, not Huichuan (a place the figure's sentence may name several words away).
        if not words or not all(t in known for t in key_terms(words[-1])):
            return set()
        counted |= {t for t in key_terms(" ".join(words)) if t in known}
    return counted


# "What is the maximum loan a returnee can get?" asks for a limit: a total lent ("RMB96.4 million
# loans for 561 SMEs") does not answer it; "up to RMB 100,000" does. ("Minimum" is left out:
# the corpus's "Minimum Livelihood Guarantee" is a name, and a minimum wage is a plain figure.)
# Not "make the maximum use of …" nor a "glass ceiling": those ask for no figure.
_ASKS_LIMIT = re.compile(
    r"\b((the|a) maximum(?!\s+(use|effect|extent|benefit|potential|efficiency|advantage|impact)\b)"
    r"|upper limit|(?<!glass )ceiling|cap on|at most)\b", re.I)
_GIVES_LIMIT = re.compile(
    r"\b(maximum|up to|at most|no more than|not (to )?exceed\w*|ceiling|capped|cap of|upper limit|limit of)\b", re.I)


def asks_for_limit(question: str) -> bool:
    return _ASKS_LIMIT.search(question) is not None


def asks_for_exact(question: str) -> bool:
    """A figure, a year or a limit: what some quote must hold (``quantity_check``) for an answer."""
    return asks_for_figure(question) or asks_for_year(question) or asks_for_limit(question)


def quantity_check(question: str, terms: set[str], known: Container[str] = frozenset()) -> Callable[[str], bool] | None:
    """The test a sentence must pass to hold what a figure or date question asks for (None: no such question).

    ``known``: the question's key terms that the corpus knows (for what a "how many" counts).
    """
    if asks_for_limit(question):
        return lambda text: bool(_GIVES_LIMIT.search(text)) and holds_quantity(text)
    if asks_for_figure(question):
        asking = _figure_asked(question)
        # the words that ask, or the head noun right after them: "what was China's urban-rural income ratio"
        share = bool(_ASKS_SHARE.search(asking.group(0)) or _ASKS_SHARE.match(question[asking.end() :].lstrip()))
        # "the 400 hotline": a figure the question states is not its answer
        given = frozenset(w for w in _WORD.findall(question.lower()) if w[0].isdigit())
        if _ASKS_MONEY.search(question) and not share:
            # "How much money did that bring in?": a sum of money next to what money is called
            # ("RMB96.4 million loans") is about the thing asked for, whatever word the question used.
            money_terms = set(terms) | _MONEY_NOUNS
            return lambda text: bool(_MONEY.search(text)) and figure_near(text, money_terms, given=given)
        if share:
            terms = _share_terms(question, asking.group(0)) or terms
        else:
            terms = counted_terms(question, known) or terms
        return lambda text: figure_near(text, terms, share=share, given=given)
    if asks_for_year(question):
        # "In which year did Shanghai merge its housing funds?" is not answered by the year it merged pensions.
        return lambda text: figure_near(text, terms, year=True)
    if asks_for_quantity(question):
        return holds_quantity
    return None


def named_years(question: str) -> list[str]:
    """Years the question names outside its source phrase ("in 2016", not "the 2024 article")."""
    return [m.group(0) for m in _GIVES_YEAR.finditer(without_source(question))]


# "The Third Plenary Session of the 18th CPC Central Committee": which meeting, by its ordinals.
_MEETING_ORDINAL = re.compile(
    r"\b(\d+(st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth)\b"
    r"(?=(\s+[\w-]+){0,2}?\s+(plenary|plenum|session|congress|central committee|cpc|party))", re.I)
# A number as written ("5", "40,000", "96.4"), not inside a word ("RMB96"), an ordinal ("18th") or
# a document's number ("No. 1") or a rank ("the #1 obstacle").
_NUMBER_TOKEN = re.compile(r"(?<![\w.,#])(?<!No\. )(?<!No )\d+([.,]\d+)*(?!\d|(st|nd|rd|th)\b)")


_SMALL_NUMBERS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}


def _in_digits(text: str) -> set[str]:
    """The numbers a text writes in digits, without thousands separators: "40,000" -> "40000"."""
    return {m.group(0).replace(",", "") for m in _NUMBER_TOKEN.finditer(text)}


def numbers_in(text: str) -> set[str]:
    """The numbers a text writes, small ones in words too: "three core challenges" -> "3"."""
    return _in_digits(text) | {_SMALL_NUMBERS[w] for w in re.findall(r"[a-z]+", text.lower()) if w in _SMALL_NUMBERS}


# "Which 3 types of rights …?": how many items the answer lists, which a text need not count.
_LIST_SIZE = re.compile(r"(?<=\bwhich )\d+\b|(?<=\bwhat )\d+\b", re.I)


def stated_figures(question: str) -> tuple[list[str], set[str]]:
    """The meetings (by ordinal) and the numbers other than years that the question states, which
    an answer's quotes must hold too: what the Fifth Plenary Session said does not answer "what did
    the Third … decide?", nor does a quote without "5" answer "… cities of more than 5 million?"."""
    focus = _LIST_SIZE.sub(" ", without_source(question))
    ordinals = [m.group(0).lower() for m in _MEETING_ORDINAL.finditer(focus)]
    return ordinals, {n for n in _in_digits(focus) if not _GIVES_YEAR.fullmatch(n)}  # "which one" states none


def asks_for_quantity(question: str) -> bool:
    return _asking_clause(question, _QUANTITY) is not None


def holds_quantity(text: str) -> bool:
    return bool(_NUMBER.search(text))


def named_terms(question: str) -> list[str]:
    """Names, acronyms and years the question mentions (not its first word, nor a title: "Prof.")."""
    return [m.group(1) for m in _NAME.finditer(question.strip()) if m.group(1).lower() not in _TITLES]


def confidence(best_cos: float, known_terms: float, topicality: float) -> float:
    """Probability-like confidence that the corpus answers the question.

    The best sentence's cosine says one sentence is close; topicality says whether the question
    is about what the corpus is about at all. "What are the rules of basketball?" finds a sentence
    on micro-loan "rules" and knows half its words, but it points away from the corpus as a whole.
    """
    w = CONFIDENCE_WEIGHTS
    z = CONFIDENCE_BIAS + w[0] * best_cos + w[1] * known_terms + w[2] * topicality
    return 1 / (1 + math.exp(-z))


def select_evidence(
    candidates: Sequence[Candidate], weights: Sequence[float] = EVIDENCE_WEIGHTS
) -> list[list[Candidate]]:
    """Groups for up to MAX_QUOTES quotes; a group is one point, quoted once, cited by 1-2 markers.

    * A sentence beside a chosen one in its paragraph takes no quote of its own: build_answer
      joins the two (the 497 labelled questions: evidence@3 0.930 -> 0.936).
    * One quote per passage first: a second sentence from a passage already quoted waits until
      the others above KEEP_RATIO have had theirs, unless it comes to stand beside a chosen one.
      The passage ranked first lends every sentence its rank, so without this its weaker
      sentences crowd out the answer in the next passage (613 labelled questions: evidence@1
      0.876 -> 0.889, evidence@3 0.938 -> 0.941, none lost).
    """
    ranked = sorted(((c.score(weights), c) for c in candidates), key=lambda sc: -sc[0])  # stable: ties keep retrieval order
    if not ranked:
        return []
    best = ranked[0][0]
    groups: list[list[Candidate]] = []
    quoted: set[tuple[str, int]] = set()  # passages (doc_id, start) with a quote of their own
    waiting: list[Candidate] = []
    slots = 0  # quotes the answer will show

    def place(c: Candidate, waited: bool) -> bool:
        """Add ``c`` to the groups; False when it must wait (its passage is quoted already)."""
        nonlocal slots
        same = next((g for g in groups if float(g[0].vector @ c.vector) >= DUPLICATE_COS), None)
        if same is not None:
            if all(x.passage.doc_id != c.passage.doc_id for x in same) and len(same) < 2:
                same.append(c)  # the same point made in another document: one more marker
            return True
        if any(x.passage.doc_id == c.passage.doc_id and x.start < c.end and c.start < x.end for g in groups for x in g):
            return True
        if not any(len(g) == 1 and _side_by_side(g[0], c) for g in groups):
            passage = (c.passage.doc_id, c.passage.start)
            if slots >= MAX_QUOTES:
                return True
            if passage in quoted and not waited:
                return False
            quoted.add(passage)
            slots += 1
        groups.append([c])
        return True

    for score, c in ranked:
        if slots >= MAX_QUOTES or score < KEEP_RATIO * best:
            break
        if not place(c, waited=False):
            waiting.append(c)
            continue
        for w in [w for w in waiting if any(len(g) == 1 and _side_by_side(g[0], w) for g in groups)]:
            waiting.remove(w)  # now beside a chosen sentence: it joins that quote
            place(w, waited=True)
    for c in waiting:
        place(c, waited=True)
    return groups


def _side_by_side(a: Candidate, b: Candidate) -> bool:
    """Neighbouring sentences of one passage and paragraph: build_answer quotes them as one."""
    if a.passage is not b.passage and (a.passage.doc_id, a.passage.start) != (b.passage.doc_id, b.passage.start):
        return False
    first, second = (a, b) if a.start < b.start else (b, a)
    return _next_in_paragraph(a.passage.text[first.end - a.passage.start : second.start - a.passage.start])


def _next_in_paragraph(gap: str) -> bool:
    """Whether the text between two spans is only the space between sentences of one paragraph."""
    return not gap.strip() and "\n\n" not in gap


# "When did …?", and without the inversion: "When Nanjing Audit University was founded?"
_ASKS_PAST_DATE = re.compile(
    r"^\s*when ((did|was|were|had)\b|((?!(do|does|will|can|could|should|would|is|are|may|might|must|has|have)\b)"
    r"[\w’'.-]+\s+){1,6}(was|were|had)\b)", re.I)
# What dates a past event: a year, a month, or the meeting it came from ("the 19th CPC National
# Congress", "the Fifth Plenary Session").
_GIVES_TIME = re.compile(
    rf"{_GIVES_YEAR.pattern}|\b(january|february|march|april|may|june|july|august|september|october|november|december)\b"
    r"|\b(\d+(st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh)\b[\w\s]{0,40}?\b(congress|plenary|plenum|session)\b",
    re.I)


_WROTE = re.compile(r"\b(wrote|written|authored)\b", re.I)


def lead_with_what_is_asked(question: str, groups: list[list[Candidate]]) -> None:
    """For a question that asks for a figure, a limit or a date ("how many …", "what year …",
    "when did …"), the quotes that hold it go first, in their order, so the answer opens with it;
    for one that asks who the authors are or where they work, the byline goes first.

    "When does he think city dwellers will gain?" asks for a time, but not a date ("in the long
    run"), so only a past "when" counts.
    """
    if asks_for_exact(question) or _ASKS_PAST_DATE.match(question):
        groups.sort(key=lambda g: not any(c.fits_type for c in g))
    elif asks_who_the_authors_are(question):
        # "Who wrote the paper on talent flow?", "… authors and their university": the byline
        # answers, however little it shares with the question's words; quotes from other
        # texts say nothing of its authors
        groups.sort(key=lambda g: not any(c.asked_kind for c in g))
        if groups and any(c.asked_kind for c in groups[0]):
            doc = groups[0][0].passage.doc_id
            groups[:] = [g for g in groups if g[0].passage.doc_id == doc]


def _quote_span(c: Candidate, prev_start: int | None) -> tuple[int, int]:
    """The cited span: the sentence, or the sentence before it too when it leans back on it."""
    if prev_start is not None and _LEANS_BACK.match(c.passage.text[c.start - c.passage.start : c.end - c.passage.start]):
        return prev_start, c.end
    return c.start, c.end


# A sentence that adds one more item to the reasons just given: "Government subsidies also
# have limits. Plus, there's a risk of …".
_GOES_ON = re.compile(
    r"^(also|plus|moreover|furthermore|besides|in addition|what[’']?s more|another|finally)\b|^([\w’'-]+[\s,]+){1,4}?also\b", re.I)


def _with_reason(doc: Document, s: int, e: int, sentence: int, following: dict[tuple[str, int], int]) -> int:
    """The end of a quote answering a "why" question: the sentence after it too, when the quote
    itself gives no reason, and the sentences after that which add to it ("… also …", "Plus, …").
    The sentence closest to "why could raising rural benefits too fast cause problems?" restates
    it ("… too fast an increase … could also be a problem"); the reasons come next ("Farmers have
    lower incomes … Government subsidies also have limits. Plus, there's a risk …").

    ``sentence`` is the start of the quote's last sentence; ``following`` maps a sentence's
    (doc_id, start) to the end of the sentence after it, within its passage."""
    if _GIVES_REASON.search(doc.text[s:e]):
        return e
    end, at = e, sentence
    while (next_end := following.get((doc.doc_id, at))) is not None:
        gap = doc.text[end:next_end]
        at = end + len(gap) - len(gap.lstrip())  # where the next sentence starts
        if "\n\n" in doc.text[end:at] or next_end - s > MAX_JOINED_QUOTE or (end > e and not _GOES_ON.match(doc.text[at:next_end])):
            break
        end = next_end
    return end


# "Which (Chinese) cities have abolished …?" asks for places by name; "which city professionals
# should …" does not (the noun must be the head: a verb or preposition follows it).
_ASKS_PLACE = re.compile(
    r"^\s*((in|from|to) )?(which|what) ([\w-]+ )?(cit(y|ies)|provinces?|countr(y|ies)|districts?|regions?|count(y|ies)"
    r"|towns?|municipalit(y|ies)|localit(y|ies))\s+(is|are|was|were|has|have|had|did|do|does|will|would|can|could"
    r"|should|in|of|on|across|under|over|with|without|that|where|outside|near|above|below|besides|except"
    r"|first|still|already|now|[a-z]+ed)\b", re.I)  # "which city piloted …", "which province first …"
# Where a place's name stands in a sentence: after "in", "from", "of" … or a comma ("in Shanghai",
# "Strategy, Huichuan has …"), or before "District", "Province" … ("Huichuan District"). A capitalized
# word next to another is part of a title or an institution's name ("the Central Committee of the
# Communist Party of China on … to Advance Chinese Modernization"), not a place.
_BEFORE_PLACE = frozenset("in from to across of at as including like and than".split())
_PLACE_NOUNS = frozenset("Province City District County Municipality Prefecture Village Town Township".split())
_NOT_PLACES = frozenset(
    "january february march april may june july august september october november december "
    "party committee council congress resolution document plan session plenum state people government "
    "ministry bureau department university school institute academy professor dr mr ms the this these that "
    "it its in on at for from as by with and but or so we our they their he she his her".split())
_CAPITALIZED = re.compile(r"(?-i:[A-Z][a-z]+)")


def names_not_years(question: str) -> list[str]:
    """The names and acronyms a question mentions, not its years: the places and bodies a figure's
    quote must name, or the place a question for places asks within ("Zhejiang" in "which counties
    in Zhejiang …?")."""
    return [n for n in named_terms(question) if not _YEAR.fullmatch(n)]


def asks_for_place(question: str) -> bool:
    """"Which cities / provinces / district …?"."""
    return _ASKS_PLACE.match(question) is not None


def names_a_place(sentence: str, question: str) -> bool:
    """Whether the sentence names a place the question does not: for "which cities …?", a
    sentence on hukou restrictions that names no city is no answer. A name sharing its first four
    letters with a word of the question is the question's own ("China" for "Chinese cities").

    Only a name where places stand counts (see _BEFORE_PLACE), so one opening the sentence does
    not ("Shanghai is one of the pioneers …"). Counting every place name the corpus uses, wherever
    it stands, let two more unanswerable "which Chinese cities …?" questions through (of 458).
    """
    asked = {w.lower()[:4] for w in re.findall(r"[\w’'-]+", question)}
    tokens = re.findall(r"[\w’'-]+|,", sentence)
    for i in range(1, len(tokens)):
        word = tokens[i]
        if not _CAPITALIZED.fullmatch(word) or word.lower() in _NOT_PLACES or word.lower()[:4] in asked:
            continue
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        if after in _PLACE_NOUNS:
            return True
        if _CAPITALIZED.fullmatch(after):
            continue  # "Chinese Modernization", "Shanghai University": part of a longer name
        before = tokens[i - 1]
        if before == "," or (before.lower() in _BEFORE_PLACE and (i < 2 or not _CAPITALIZED.fullmatch(tokens[i - 2]))):
            return True
    return False


def covers(question: str, ev: Evidence, groups: list[list[Candidate]], min_confidence: float) -> bool:
    """Whether to answer: confident enough, no unknown name asked about, a number where one is asked for."""
    if not groups or ev.unknown_names:
        return False
    if asks_for_exact(question):
        # A quoted sentence holds the figure, year or limit, and is about the places and bodies the
        # question names: Huichuan's training figure does not answer "how many … in Gansu?".
        names = [n.lower() for n in names_not_years(ev.focus) if n not in ev.people_named]
        if not any(c.fits_type and all(n in _context(c).lower() for n in names) for g in groups for c in g):
            return False
    elif _ASKS_PAST_DATE.match(question):
        # "When did Shandong launch its residence permit reform?" is not answered by a quote that dates nothing.
        if not any(_GIVES_TIME.search(_group_text(g)) for g in groups):
            return False
    elif asks_for_quantity(question) and not any(holds_quantity(_group_text(g)) for g in groups):
        return False
    # The answer's lead quote must name one: a place named in some later quote answers little.
    # "Which counties in Zhejiang …?" asks for places within Zhejiang: the lead quote, or what
    # comes just before it, is about Zhejiang ("Chinese" is found as "China").
    if asks_for_place(question) and not any(
            names_a_place(_quoted(c, ev.previous), question)
            and all(re.search(rf"\b{re.escape(n[: max(4, len(n) - 3)])}", _context(c), re.I) for n in names_not_years(ev.focus))
            for c in groups[0]):
        return False
    # "What did the 2018 No. 1 Document say …" is not answered by what the 2020 one said.
    if any(all(year not in _group_text(g) for g in groups) for year in named_years(ev.focus)):
        return False
    ordinals, numbers = stated_figures(ev.focus)
    if ordinals or numbers:
        quoted = " ".join(_group_text(g) for g in groups)
        if any(o not in quoted.lower() for o in ordinals) or not numbers <= numbers_in(quoted):
            return False
    best = groups[0][0]
    if _names_its_text(question, groups):
        return True
    if (best.passage.doc_id, best.start) in ev.person_sentences:
        # A byline or an interviewee's introduction answers "what is Zhang Yi's post?", a question
        # that shares no topic with the corpus, so the confidence model rates it low.
        return True
    return confidence(best.cos, ev.known_terms, ev.topicality) >= min_confidence


# What a question about a text's authors says besides naming the text: "talent flow article
# authors, which institute" names the text by "talent flow".
_ABOUT_PEOPLE = frozenset(key_terms(
    "authors author wrote written writers institute institution university school department faculty affiliation "
    "affiliated article paper piece study research report interview essay professor job title post position work works based "
    "from who which where their they"))


def asks_who_the_authors_are(question: str) -> bool:
    """"Who wrote the paper on talent flow?", "… authors and their university": the byline answers."""
    return asks_about_authors(question) and bool(
        _ASKS_WHO.match(question) or _WROTE.search(question) or _ASKS_PERSON.search(question)
        or _ASKS_WHERE_THEY_WORK.search(question))


def _names_its_text(question: str, groups: list[list[Candidate]]) -> bool:
    """A question for a text's authors that names the text by words of its title is answered by
    its byline ("talent flow article authors, which institute"), though it shares too little with
    the corpus for the confidence model; "who wrote the World Bank study on hukou?" names no title."""
    if not asks_who_the_authors_are(question):
        return False
    byline = next((c for g in groups for c in g if c.asked_kind), None)
    return byline is not None and names_by_title(question, byline.passage.title)


def names_by_title(question: str, title: str) -> bool:
    """Whether every key term of a question about a text's authors that does not ask about them
    is a word of ``title`` ("talent flow article authors" and "Talent flow drives …")."""
    topic = set(key_terms(question)) - _ABOUT_PEOPLE
    return bool(topic) and topic <= set(key_terms(title))


def _context(c: Candidate) -> str:
    """The sentence with up to 400 characters of its passage before it, where its subject is often named."""
    return c.passage.text[max(0, c.start - c.passage.start - 400) : c.end - c.passage.start]


def _quoted(c: Candidate, previous: dict[tuple[str, int], int]) -> str:
    """The words an answer quotes for the candidate (``_quote_span``: "In 2016 it was designated
    …" brings the sentence before it, which is in the same passage)."""
    s, e = _quote_span(c, previous.get((c.passage.doc_id, c.start)))
    return c.passage.text[s - c.passage.start : e - c.passage.start]


def _group_text(group: list[Candidate]) -> str:
    return _context(group[0])


def _joined_to_neighbour(
    points: list[list[tuple[Candidate, int, int]]], placed: list[tuple[Candidate, int, int]], documents: dict[str, Document]
) -> bool:
    """Join a one-document quote to an earlier one it directly precedes or follows, within a
    paragraph and up to MAX_JOINED_QUOTE characters.

    Two selected sentences side by side are one passage of the source: quoted once, in the
    document's order, with one marker, they read as the source reads and paste as one quotation.
    A point made in two documents keeps its own quote, so that both markers mean the same words.
    """
    if len(placed) != 1:
        return False
    c, s, e = placed[0]
    text = documents[c.passage.doc_id].text
    for i, point in enumerate(points):
        if len(point) != 1 or point[0][0].passage.doc_id != c.passage.doc_id:
            continue
        first, ps, pe = point[0]
        gap = text[pe:s] if pe <= s else text[e:ps]
        if _next_in_paragraph(gap) and max(pe, e) - min(ps, s) <= MAX_JOINED_QUOTE:
            points[i] = [(first, min(ps, s), max(pe, e))]
            return True
    return False


def build_answer(
    question: str,
    groups: list[list[Candidate]],
    documents: dict[str, Document],
    previous_sentence: dict[tuple[str, int], int],
    passages: Sequence[Passage],
    answered: bool,
    following: dict[tuple[str, int], int] | None = None,
) -> Answer:
    """Number the quotes, write the text with markers and the references.

    ``following`` maps (doc_id, sentence start) to the end of the sentence after it, for the
    quotes of an answer to "why" (see ``_with_reason``)."""
    if not answered or not groups:
        return Answer(question=question, answered=False, text=NOT_COVERED, passages=tuple(passages))
    taken: list[tuple[str, int, int]] = []

    def overlaps_taken(doc_id: str, s: int, e: int) -> bool:
        return any(d == doc_id and s < te and ts < e for d, ts, te in taken)

    points: list[list[tuple[Candidate, int, int]]] = []  # each point's quote in each document that makes it
    for group in groups:
        placed = []
        for c in group:
            doc = documents[c.passage.doc_id]
            s, e = _quote_span(c, previous_sentence.get((doc.doc_id, c.start)))
            if following and not placed and _ASKS_WHY.search(question):
                e = _with_reason(doc, s, e, c.start, following)
            # A quote widened to the sentence before it may now cover an earlier quote, which then
            # gives the context: quote the sentence alone (and nothing twice).
            if overlaps_taken(doc.doc_id, s, e):
                s, e = c.start, c.end
                if overlaps_taken(doc.doc_id, s, e):
                    continue
            taken.append((doc.doc_id, s, e))
            placed.append((c, s, e))
        if placed and not _joined_to_neighbour(points, placed, documents):
            if len(points) >= MAX_QUOTES:
                break  # a neighbour that could not join (too long a quote) does not make a fifth
            points.append(placed)
    citations: list[Citation] = []
    parts: list[str] = []
    for point in points:
        markers = []
        for c, s, e in point:
            doc = documents[c.passage.doc_id]
            citations.append(Citation(len(citations) + 1, doc.doc_id, doc.title, c.passage.section, s, e, doc.text[s:e]))
            markers.append(f"[{len(citations)}]")
        first = citations[-len(point)]
        parts.append(f"{shown_quote(first.quote)} {''.join(markers)}")
    return Answer(
        question=question,
        answered=True,
        text="\n\n".join(parts),
        citations=tuple(citations),
        passages=tuple(passages),
        references=tuple(references(citations, documents)),
    )


# A source's own reference numbers ("… economic support [3].", "[3, 4]", "[5-7]").
_SOURCE_REFERENCE = re.compile(r"\[(\d+(?:\s*[,–-]\s*\d+)*)\]")


def shown_quote(quote: str) -> str:
    """A quote as the answer's text shows it: on one line, and with the source's own reference
    numbers written "[ref. 3]", so that every "[n]" a reader sees is one of our markers. The
    citation keeps the exact span."""
    return _SOURCE_REFERENCE.sub(r"[ref. \1]", " ".join(quote.split()))


def references(citations: Sequence[Citation], documents: dict[str, Document]) -> list[dict[str, Any]]:
    """Each cited document once, with the markers and sections that point to it."""
    out: dict[str, dict[str, Any]] = {}
    for c in citations:
        doc = documents[c.doc_id]
        ref = out.setdefault(
            c.doc_id,
            {"markers": [], "doc_id": c.doc_id, "title": doc.title, "authors": list(doc.authors),
             "date": doc.date, "sections": [], "source": doc.source},
        )
        ref["markers"].append(c.n)
        if c.section and c.section not in ref["sections"]:
            ref["sections"].append(c.section)
    return list(out.values())


# ---------------------------------------------------------------- follow-ups

_WH_IS = re.compile(r"\b(what|how|who|where|when|why|which)['’]s\b", re.I)
_HEDGE = re.compile(r"^\s*((roughly|approximately|about|around|exactly|precisely|just|please|quickly|briefly),?\s+)+", re.I)


_NUMBER_ONE = re.compile(r"#\s?1\b|\bnumber[- ]one\b", re.I)


def plain_question(question: str) -> str:
    """The question as the wording rules read it: "what's" as "what is", "the #1 / number one
    obstacle" as "the top obstacle" (a rank, not a figure to find), and without a leading "roughly"
    or "please" ("Roughly how many hollow villages …?" asks for a figure)."""
    return _HEDGE.sub("", _NUMBER_ONE.sub("top", _WH_IS.sub(lambda m: f"{m.group(1)} is", question)))


_FOLLOW_UP_START = re.compile(
    r"^(and|but|also|so|what about|how about|what of|then|or|(please )?(say|tell me|explain) more|more (on|about)"
    r"|(please )?(elaborate|expand|go on|continue))\b", re.I)
_ANAPHORA = re.compile(r"\b(it|its|that|this|these|those|they|them|their|there|he|she|his|her|such|same|above"
                       r"|in (response|reply|that case))\b", re.I)


def is_follow_up(question: str) -> bool:
    """A question that leans on the conversation: 'and their children?', 'why is that?'."""
    q = question.strip()
    # "What fix do the authors suggest?": a source named by no name is the one already talked about.
    generic_source = _SOURCE.search(q) is not None and not source_words(q)
    return bool(_FOLLOW_UP_START.match(q) or _ANAPHORA.search(q) or len(key_terms(q)) <= 2 or generic_source)


def _history_questions(history: Sequence[Any] | None) -> list[str]:
    """Earlier questions from (question, answer) pairs, dicts or plain strings."""
    out = []
    for turn in history or ():
        if isinstance(turn, str):
            out.append(turn)
        elif isinstance(turn, dict):
            if turn.get("role") in (None, "user") and isinstance(turn.get("question", turn.get("content")), str):
                out.append(turn.get("question", turn.get("content")))
        elif isinstance(turn, (list, tuple)) and turn and isinstance(turn[0], str):
            out.append(turn[0])
    return [q for q in out if q.strip()]


# After "who wrote the CSST piece on talent flow?" or "who did Shanghai Daily interview?", "where
# do they work?", "which school are they at?" or "what is his job title?" asks about those people:
# their byline answers it.
_ASKS_WHO = re.compile(r"^\s*who\b", re.I)
_ASKS_WHERE_THEY_WORK = re.compile(
    r"\b(which|what) (schools?|departments?|facult(y|ies)|organi[sz]ations?)\b|\bwork(s|ed|ing)? (at|for)\b", re.I)


def follows_up_on_authors(question: str, history: Sequence[Any] | None) -> bool:
    """Whether a follow-up asks where the people the turn before asked about work, or their post."""
    earlier = _history_questions(history)
    asked_who = bool(earlier) and (_ASKS_AUTHOR.search(earlier[-1]) is not None or _ASKS_WHO.match(earlier[-1]) is not None)
    return (asked_who and _ANAPHORA.search(question) is not None
            and (_ASKS_PERSON.search(question) is not None or _ASKS_WHERE_THEY_WORK.search(question) is not None))


def resolve_question(question: str, history: Sequence[Any] | None) -> str:
    """The question to retrieve with: a follow-up borrows the topic words of the turn before."""
    resolved: str | None = None
    for earlier in _history_questions(history):
        resolved = _with_context(earlier, resolved)
    if resolved is None or not is_follow_up(question):
        return question
    return _with_context(question, resolved)


def _with_context(question: str, previous: str | None) -> str:
    if previous is None or not is_follow_up(question):
        return question
    own = key_terms(question)
    # The source the conversation named ("the Shanghai Daily interview") goes along whole, so
    # that it still names its document; its words alone, without "the", would not.
    source = _SOURCE.search(previous)
    carried = source.group(0) if source and not source_words(question) else ""  # unless the question names one
    rest = previous[: source.start()] + " " + previous[source.end() :] if carried else previous
    words = " ".join(w for w in re.findall(r"[\w’'-]+", rest) if key_terms(w) and not key_terms(w) <= own)
    context = "; ".join(part for part in (carried, words) if part)
    return f"{question} ({context})" if context else question
