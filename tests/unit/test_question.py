"""The question parsed once: kind of answer, figures, years, names, source words, follow-ups."""

import pytest

from assistant.question import answer_kind, parse


@pytest.mark.parametrize("text, kind", [
    ("How many migrant workers returned home?", "number"),
    ("What percentage of households own a car?", "number"),
    ("what is the average monthly pension in yuan", "number"),
    ("When did the reform start?", "date"),
    ("In what year was the act passed?", "date"),
    ("Who chaired the committee?", "person"),
    ("Where is the company based?", "place"),
    ("Which provinces abolished the quota?", "place"),
    ("Why do few migrants settle in cities?", "reason"),
    ("What does 'citizenization' mean?", "definition"),
    ("What does Article 17 require of employers?", "other"),
    ("What obstacles block migrant citizenization?", "other"),
])
def test_the_kind_of_answer_a_question_asks_for(text, kind):
    assert answer_kind(text) == kind


def test_figures_years_and_names_are_read_once():
    q = parse("What did Section 4.2 of the 2021 Shanghai plan say about the 30,000 new flats?")
    assert q.figures == ("4.2", "30000")
    assert q.years == ("2021",)
    assert "Shanghai" in q.names and "Section" in q.names
    assert "What" not in q.names
    # a list's size is not a figure a quote must state
    assert parse("Which 3 provinces piloted the scheme?").figures == ()


def test_a_source_phrase_names_the_document_and_leaves_the_focus():
    q = parse("What do the Shandong authors say about residence permits?")
    assert q.source == "Shandong"
    assert "Shandong" not in q.focus and "residence permits" in q.focus
    # "the purpose of the paper" asks about the paper itself
    q = parse("What is the purpose of the Chengdu paper?")
    assert "paper" in q.focus
    # too little would be left: the question stays whole
    assert parse("What does the report say?").focus == "What does the report say?"


def test_wording_is_plain():
    assert parse("What's the #1 obstacle?").wording == "What is the top obstacle?"
    assert parse("Roughly how many villages are hollow?").asks == "number"


def test_questions_about_authors():
    assert parse("Who wrote the paper on talent flow?").about_authors
    assert parse("Which university are the authors from?").about_authors
    assert not parse("What do the authors say about land?").about_authors
    assert parse("What is Zhang Yi's title and which school is he at?").about_authors
    assert not parse("What is the program's role in funding?").about_authors


def test_a_follow_up_borrows_the_topic_of_the_conversation():
    q = parse("and their children?", history=[("What do migrant workers lack in cities?", None)])
    assert q.follow_up and "migrant" in q.query and q.focus == "and their children?"
    # a question that stands alone borrows nothing
    q = parse("What is the pension gap between cities and villages?", history=["What do migrants lack?"])
    assert not q.follow_up and q.query == q.focus
    # history as dicts of a chat, and plain strings
    q = parse("why is that?", history=[{"role": "user", "content": "Rural land cannot be sold"}])
    assert "land" in q.context


def test_names_in_a_question_typed_in_capitals_are_not_names():
    assert parse("WHAT IS THE HUKOU SYSTEM?").names == ()


def test_a_question_pasted_with_ligatures_reads_as_typed():
    pasted, typed = parse("What beneﬁts ﬂow to ﬁrms?"), parse("What benefits flow to firms?")
    assert pasted.text == "What beneﬁts ﬂow to ﬁrms?"  # shown as the user wrote it
    assert (pasted.wording, pasted.focus, pasted.query) == (typed.wording, typed.focus, typed.query)
