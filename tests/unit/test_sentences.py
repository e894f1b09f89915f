import pytest

from assistant.sentences import is_question, split, split_spans


def test_abbreviations_and_numbers_do_not_end_sentences():
    text = (
        "China’s No. 1 Central Document for 2020 pointed out that talent matters. "
        "Wages rose 3.5% in 2019. Dr. Wang agreed. See Vol. 20 of the report. "
        "Yang, Y.L. and Lin, X.L. wrote it. The U.S. case differs."
    )
    assert split(text) == [
        "China’s No. 1 Central Document for 2020 pointed out that talent matters.",
        "Wages rose 3.5% in 2019.",
        "Dr. Wang agreed.",
        "See Vol. 20 of the report.",
        "Yang, Y.L. and Lin, X.L. wrote it.",
        "The U.S. case differs.",
    ]


def test_quotes_questions_and_line_breaks():
    text = 'He said "it is fine." Then he left! Did he?\nA new paragraph\nNext line.'
    assert split(text) == ['He said "it is fine."', "Then he left!", "Did he?", "A new paragraph", "Next line."]


def test_a_sentence_broken_across_a_page_runs_on():
    text = "We should improve the level of modern agricultural development,\n\ncontinuously consolidate the base. Next."
    assert split(text) == [
        "We should improve the level of modern agricultural development,\n\ncontinuously consolidate the base.",
        "Next.",
    ]


def test_numbered_heading_is_not_split_after_its_number():
    assert split("3.1. Pay Attention to the Flow\nFirst, we act.") == ["3.1. Pay Attention to the Flow", "First, we act."]
    assert split("Five statuses:\n\n- 1. Honorable Discharge. Good service.\n- b. Other.") == [
        "Five statuses:", "- 1. Honorable Discharge.", "Good service.", "- b. Other."]


def test_spans_are_exact_and_inside_the_window():
    text = "  Alpha one. Beta two.  Gamma three.  "
    spans = split_spans(text, 2, 22)
    assert [text[s:e] for s, e in spans] == ["Alpha one.", "Beta two."]
    assert all(2 <= s < e <= 22 for s, e in spans)


def test_empty_and_whitespace():
    assert split_spans("") == []
    assert split_spans(" \n\t ") == []


@pytest.mark.parametrize("sentence,asks", [
    ("Shanghai Daily: What does this policy mean for cities?", True),
    ('He asked, "Why now?"', True),
    ("Why now? (laughs)", False),
    ("The question is why.", False),
    ("", False),
])
def test_is_question(sentence, asks):
    assert is_question(sentence) is asks


def test_citations_of_laws_bills_and_courts_do_not_end_sentences():
    text = (
        "The Senate adopted S.Con.Res. 33 by a vote of 50-48. See 34 Stat. 768 (1906). "
        "The court agreed (1st Cir. 2025). The President issued Executive Order (E.O.) 14285 in April. "
        "It rose in 2019. 33 people came. The U.S. case differs."
    )
    assert split(text) == [
        "The Senate adopted S.Con.Res. 33 by a vote of 50-48.",
        "See 34 Stat. 768 (1906).",
        "The court agreed (1st Cir. 2025).",
        "The President issued Executive Order (E.O.) 14285 in April.",
        "It rose in 2019.",
        "33 people came.",
        "The U.S. case differs.",
    ]


def test_a_footnote_number_after_a_full_stop_ends_the_sentence_with_it():
    text = ('They are styled "national memorials."9 Some are not. It prevents defaults.18 Relationships vary. '
            "See No.12 The rule holds. Read pp.3 The end. It cost 3.2 The end.")
    assert [text[s:e] for s, e in split_spans(text)] == [
        'They are styled "national memorials."9', "Some are not.", "It prevents defaults.18", "Relationships vary.",
        "See No.12 The rule holds.", "Read pp.3 The end.", "It cost 3.2 The end.",
    ]


def test_a_raised_footnote_number_after_a_full_stop_ends_the_sentence_with_it():
    text = "Counties¹² lost people in 2020.³ The wave of 2009⁴ ended. Then “it ended.”¹² Later."
    assert [text[s:e] for s, e in split_spans(text)] == [
        "Counties¹² lost people in 2020.³", "The wave of 2009⁴ ended.", "Then “it ended.”¹²", "Later.",
    ]
