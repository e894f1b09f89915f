"""A question, parsed once into what every later step of an answer reads.

``parse`` turns the text a person typed (and the questions asked before it) into a
``Question``: its plain wording, the kind of answer it asks for, the figures, years and
names it states, the words that name its source ("the 2018 report", "the Shandong
authors"), and, for a follow-up, the topic words it borrows from the conversation.

Everything here is English grammar, not any corpus's vocabulary: which documents a name
or a source phrase points to is decided against the loaded index (``sources.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .lexical import matching_text, tokenize

# The kinds of answer a question may ask for; the candidates' features say whether a
# sentence holds one (candidates.py).
ASKS = ("number", "date", "person", "place", "reason", "definition", "other")


@dataclass(frozen=True)
class Question:
    text: str  # as asked, stripped
    wording: str  # the plain form the rules read: "what's" as "what is", no leading "roughly"
    focus: str  # what it asks about: without the phrase naming its source
    source: str  # the words of that phrase that say which document ("Shandong", "2018 returnees"), or ""
    asks: str  # one of ASKS
    figures: tuple[str, ...]  # numbers it states, as digits, not its years ("17" of "Article 17")
    years: tuple[str, ...]  # years it states outside its source phrase
    names: tuple[str, ...]  # capitalized names and acronyms, without a possessive ("Su's" -> "Su")
    about_authors: bool  # asks who wrote a text or where its authors work
    ranked: bool  # asks for what ranks first: "the main obstacle", "the biggest thing", "most important"
    context: str = ""  # for a follow-up: topic words carried from the conversation

    @property
    def query(self) -> str:
        """What retrieval searches with: the focus, and for a follow-up its borrowed context."""
        return f"{self.focus} ({self.context})" if self.context else self.focus

    @property
    def follow_up(self) -> bool:
        return bool(self.context)


@lru_cache(maxsize=1 << 14)
def key_terms(text: str) -> frozenset[str]:
    """The stems BM25 indexes for ``text`` (stop words and question words left out)."""
    return frozenset(tokenize([text])[0])


# ---------------------------------------------------------------- wording

_WH_IS = re.compile(r"\b(what|how|who|where|when|why|which)['’]s\b", re.I)
_HEDGE = re.compile(r"^\s*((roughly|approximately|about|around|exactly|precisely|just|please|quickly|briefly),?\s+)+", re.I)
_NUMBER_ONE = re.compile(r"#\s?1\b|\bnumber[- ]one\b", re.I)


def plain(text: str) -> str:
    """"what's" as "what is", "the #1 obstacle" as "the top obstacle" (a rank, not a figure), and
    without a leading "roughly" or "please" ("Roughly how many …?" asks for a figure); ligatures
    spelt out as in the documents' matching text (a question pasted from a PDF has them)."""
    text = matching_text(text)
    return _HEDGE.sub("", _NUMBER_ONE.sub("top", _WH_IS.sub(lambda m: f"{m.group(1)} is", text)))


# ---------------------------------------------------------------- what kind of answer

_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_ASKS = (
    ("date", re.compile(
        r"^\s*when\b|\b(what|which) (year|years|date|day|month|decade|century|time)\b|\bin what year\b"
        r"|\b(since|until|by) when\b|\bhow long ago\b|\b(year|date)\s*\??\s*$", re.I)),
    ("number", re.compile(
        r"\bhow (many|much|long|far|old|large|big|high|often|fast|tall|wide|deep)\b"
        r"|\b(what|which) (is|are|was|were) the (\w+ )?(number|amount|percentage|percent|share|proportion|rate|ratio"
        r"|cost|price|size|population|total|sum|value|level|length|duration|average|median)\b"
        r"|\b(what|which) (number|amount|percentage|percent|share|proportion|rate|ratio|cost|price|size|sum|fraction)\b"
        r"|\bwhat (percent|per ?cent|%)|\bhow (many|much)\s*\??\s*$", re.I)),
    ("person", re.compile(r"^\s*(who|whom|whose)\b|\b(which|what) (person|people|author|authors|official|officials"
                          r"|scientist|scientists|researcher|researchers|leader|president|individual)\b|\bwho\s*\??\s*$",
                          re.I)),
    ("place", re.compile(r"^\s*where\b|\b(which|what) (city|cities|country|countries|province|provinces|state|states"
                         r"|region|regions|county|counties|district|districts|town|towns|place|places|continent"
                         r"|location|locations)\b|\bwhere\s*\??\s*$", re.I)),
    ("reason", re.compile(r"^\s*why\b|\b(what|which) (is|are|was|were) the (main |key |primary )?(reasons?|causes?)\b"
                          r"|\bwhat (caused|causes|led to|leads to|explains)\b|\bfor what reason\b|\bwhy\b", re.I)),
    ("definition", re.compile(r"\b(define|definition of|what does .+ (mean|stand for)|what is meant by|meaning of)\b"
                              r"|^\s*what (is|are) (a|an)\s+\w+(\s+\w+)?\s*\??\s*$", re.I)),
)


def answer_kind(wording: str) -> str:
    """The kind of answer asked for, by the question's own words (ASKS)."""
    for kind, pattern in _ASKS:
        if pattern.search(wording):
            return kind
    return "other"


# "What is the main / biggest / single most important …?": the answer ranks a thing first.
RANKS_FIRST = re.compile(
    r"\b(main|biggest|greatest|largest|chief|primary|principal|foremost|central|core|key|top|major|leading|crucial"
    r"|decisive|essential|fundamental|most\s+\w+|least\s+\w+|single\s+\w+est|\w+est)\b", re.I)
_NOT_RANKS = re.compile(r"\b(interest|forest|test|rest|request|suggest|honest|modest|west|protest|contest|harvest|"
                        r"digest|invest|latest|earliest|manifest|arrest|quest|guest|nest|chest|pest|best[- ]practice)\b",
                        re.I)


def ranks_first(text: str) -> bool:
    """Whether ``text`` puts something first: a superlative or a word for what matters most."""
    return any(not _NOT_RANKS.fullmatch(m.group(0)) for m in RANKS_FIRST.finditer(text))


# ---------------------------------------------------------------- figures, years, names

_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)s?\b")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])")
_SMALL_NUMBERS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}
# "which 3 provinces …", "what 2 reasons": a list's size, not a figure a quote must state
_LIST_SIZE = re.compile(r"(?<=\bwhich )\d+\b|(?<=\bwhat )\d+\b|(?<=\bthe )\d+(?= (main|key|major|top)\b)", re.I)


def figures_in(text: str) -> tuple[str, ...]:
    """Numbers stated in ``text``, as digits without separators, not years."""
    out = []
    for m in _NUMBER.finditer(_LIST_SIZE.sub(" ", text)):
        digits = m.group(0).replace(",", "")
        if not _YEAR.fullmatch(digits):
            out.append(digits)
    return tuple(dict.fromkeys(out))


def years_in(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m.group(1) for m in _YEAR.finditer(text)))


_POSSESSIVE = re.compile(r"['’]s$")
_NAME = re.compile(r"\b[A-Z][\w'’.-]*[\w]|\b[A-Z]\b")
# Capitalized words that open clauses or are titles, not names
_NOT_NAMES = frozenset(
    "what which who whom whose when where why how is are was were do does did can could should would will may might "
    "must has have had the a an in on at of for from to by with and or but if as according i it its this these that "
    "those there their they please tell give list name describe explain compare".split())


def names_in(text: str) -> tuple[str, ...]:
    """Capitalized names and acronyms: "Shanghai", "CPC", "Su" of "Su's"; not the words that open a
    question ("What", "According"), and none for a question typed all in capitals."""
    if text.isupper():
        return ()
    found = []
    for m in _NAME.finditer(text):
        word = _POSSESSIVE.sub("", m.group(0)).rstrip(".")
        if len(word) < 2 or word.lower() in _NOT_NAMES:
            continue
        found.append(word)
    return tuple(dict.fromkeys(found))


# ---------------------------------------------------------------- the source a question names

# What a source is said to do: "the 2021 piece on talent flow recommends …".
_SOURCE_VERBS = (r"(say|said|says|think|thinks|see|sees|argue|argues|suggest|suggests|propose|proposes|recommend|recommends"
                 r"|expect|expects|identify|identifies|want|wants|mention|mentions|advocate|advocates|conclude|concludes"
                 r"|find|finds|found|report|reports|state|states|note|notes|describe|describes)")
_SOURCE_NOUNS = (r"authors?|writers?|researchers?|scholars?|economists?|experts?|interviewee|paper|article|study|"
                 r"research report|piece|essay|commentary|interview|review|survey|analysis|report|document|memo|brief")
# "the Shandong authors", "the 2024 article on productive forces", "according to the returnee report":
# a noun for a text or its writers, with up to eight modifiers before it (not across another
# article or a preposition but "of"), and a topic after it when a verb of saying follows.
_SOURCE = re.compile(
    r"\b(according to\s+)?(the|this|these|that|those)\s+"
    r"((?!(the|this|these|that|those|in|at|from|for|with|by|to|about|who|which)\b)[\w’'.-]+\s+){0,8}?"
    rf"(?P<noun>{_SOURCE_NOUNS})(['’]s\b)?"
    rf"(\s+on\s+([\w’'-]+\s+){{0,3}}?[\w’'-]+(?=\s+{_SOURCE_VERBS}\b))?",
    re.I)
_SOURCE_GENERIC = re.compile(rf"\b(according|to|the|this|these|that|those|{_SOURCE_NOUNS}|research|on|{_SOURCE_VERBS})\b",
                             re.I)
# "The purpose / aim / focus of the … paper" asks about the paper itself: its words stay.
_OF_THE_SOURCE = re.compile(r"\b(purpose|aims?|goals?|objectives?|focus|subject|topic|theme|contribution|title|scope) of $",
                            re.I)


def source_phrases(text: str) -> list[re.Match[str]]:
    return [m for m in _SOURCE.finditer(text) if not _OF_THE_SOURCE.search(text[: m.start()])]


def source_words(text: str) -> str:
    """What the question's source phrases say about which document is meant: "the Shandong
    authors" -> "Shandong"; "" when they name no particular one ("the authors", "this report")."""
    named = " ".join(m.group(0) for m in source_phrases(text))
    return " ".join(_SOURCE_GENERIC.sub(" ", named).split())


_ASKS_AUTHOR = re.compile(
    r"\b(who (wrote|authored|is the author|are the authors)|authors?\b(?!\s+(say|says|argue|think|suggest|propose|find))"
    r"|written by|affiliat\w*|which (university|institute|institution|organi[sz]ation|school|college|department|faculty)"
    r"|where do (the )?authors|\b(?-i:[A-Z])\w*['’]s\s+(job |official |academic )?(title|position|post|role|job)\b)", re.I)


def without_source(text: str, about_authors: bool) -> str:
    """The question without the words naming its source, unless too little would be left or the
    authors are what it asks about."""
    if about_authors:
        return text
    out, at = [], 0
    for m in source_phrases(text):
        out += [text[at : m.start()], " "]
        at = m.end()
    focus = " ".join(("".join(out) + text[at:]).split())
    return focus if len(key_terms(focus)) >= 2 else text


# ---------------------------------------------------------------- follow-ups

_FOLLOW_UP_START = re.compile(
    r"^(and|but|also|so|what about|how about|what of|then|or|(please )?(say|tell me|explain) more|more (on|about)"
    r"|(please )?(elaborate|expand|go on|continue))\b", re.I)
_ANAPHORA = re.compile(r"\b(it|its|that|this|these|those|they|them|their|there|he|she|his|her|such|same|above"
                       r"|in (response|reply|that case))\b", re.I)


def is_follow_up(text: str) -> bool:
    """A question that leans on the conversation: "and their children?", "why is that?", or one
    naming a source by no name ("what fix do the authors suggest?")."""
    q = text.strip()
    generic_source = bool(source_phrases(q)) and not source_words(q)
    return bool(_FOLLOW_UP_START.match(q) or _ANAPHORA.search(q) or len(key_terms(q)) <= 2 or generic_source)


def history_questions(history: Sequence[Any] | None) -> list[str]:
    """Earlier questions from (question, answer) pairs, dicts or plain strings."""
    out = []
    for turn in history or ():
        if isinstance(turn, str):
            out.append(turn)
        elif isinstance(turn, dict):
            said = turn.get("question", turn.get("content"))
            if turn.get("role") in (None, "user") and isinstance(said, str):
                out.append(said)
        elif isinstance(turn, (list, tuple)) and turn and isinstance(turn[0], str):
            out.append(turn[0])
    return [q for q in out if q.strip()]


def _carried(text: str, previous: str) -> str:
    """The topic words of ``previous`` that ``text`` lacks, with its source phrase kept whole
    (so that it still names its document), unless ``text`` names a source of its own."""
    own = key_terms(text)
    phrases = source_phrases(previous)
    carried = phrases[0].group(0) if phrases and not source_words(text) else ""
    rest = previous.replace(carried, " ") if carried else previous
    words = " ".join(w for w in re.findall(r"[\w’'-]+", rest) if key_terms(w) and not key_terms(w) <= own)
    return "; ".join(part for part in (carried, words) if part)


def conversation_context(text: str, history: Sequence[Any] | None) -> str:
    """For a follow-up, what it borrows from the turns before (each follow-up in the history
    resolved in turn); "" for a question that stands alone."""
    resolved: str | None = None
    for earlier in history_questions(history):
        if resolved is not None and is_follow_up(earlier):
            extra = _carried(earlier, resolved)
            resolved = f"{earlier} ({extra})" if extra else earlier
        else:
            resolved = earlier
    if resolved is None or not is_follow_up(text):
        return ""
    return _carried(text, resolved)


# ---------------------------------------------------------------- parse


def parse(text: str, history: Sequence[Any] | None = None) -> Question:
    """The question read once: every later step takes what it needs from the result."""
    text = text.strip()
    wording = plain(text)
    about_authors = _ASKS_AUTHOR.search(wording) is not None
    focus = without_source(wording, about_authors)
    source = source_words(wording)
    return Question(
        text=text,
        wording=wording,
        focus=focus,
        source=source,
        asks=answer_kind(wording),
        figures=figures_in(focus),
        years=years_in(focus),
        names=names_in(wording),
        about_authors=about_authors,
        ranked=ranks_first(focus),
        context=conversation_context(wording, history),
    )
