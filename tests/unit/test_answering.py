from types import SimpleNamespace

import numpy as np
import pytest

from assistant import Answer, Assistant
from assistant import answering
from assistant.answering import Candidate, is_follow_up, resolve_question, select_evidence
from assistant.types import Document, Passage

P1 = Passage("a", "Doc A", "S", "x", 0, 100)
P2 = Passage("b", "Doc B", "S", "y", 0, 100)


def cand(p, start, cos, vec, terms=0.0):
    v = np.asarray(vec, dtype=np.float32)
    return Candidate(p, start, start + 10, cos, terms, 1.0, 0, v / np.linalg.norm(v))


def check_for(question):
    """The test a sentence must pass to answer ``question``, with the question's own key terms."""
    return answering.quantity_check(question, answering.key_terms(question))

def test_near_duplicates_in_two_documents_merge_into_one_point_with_two_markers():
    groups = select_evidence([cand(P1, 0, 0.9, [1, 0]), cand(P2, 0, 0.89, [1, 0.01]), cand(P1, 20, 0.85, [0, 1])])
    assert [[c.passage.doc_id for c in g] for g in groups] == [["a", "b"], ["a"]]


def test_weak_sentences_are_left_out_and_at_most_four_kept():
    paragraphs = Passage("a", "Doc A", "S", ("x" * 10 + "\n\n" + " " * 8) * 10, 0, 200)  # one sentence each
    cands = [cand(paragraphs, 20 * i, 0.9 - 0.001 * i, [np.cos(i), np.sin(i)]) for i in range(8)]
    cands.append(cand(P2, 0, 0.1, [1, 1]))  # below KEEP_RATIO of the best
    groups = select_evidence(cands)
    assert len(groups) == answering.MAX_QUOTES
    assert all(g[0].passage.doc_id == "a" for g in groups)


def test_a_sentence_next_to_a_chosen_one_takes_no_quote_of_its_own():
    # Side by side in one paragraph, build_answer joins them into one quote: they use one of the
    # four places, so a fifth sentence still gets in; the answer still shows at most four quotes.
    text = "One two. Three four. " + "".join(f"\n\nPoint {i} here." for i in range(5))
    p = Passage("a", "Doc A", "S", text, 0, len(text))
    doc = Document("a", "Doc A", ("X",), "2020", "src", text)
    starts = [0, 9] + [text.index(f"Point {i}") for i in range(5)]
    ends = [8, 20] + [text.index(f"Point {i}") + 13 for i in range(5)]
    cands = [Candidate(p, s, e, 0.9 - 0.01 * i, 0.0, 1.0, 0, np.array([np.cos(i), np.sin(i)], dtype=np.float32))
             for i, (s, e) in enumerate(zip(starts, ends))]
    groups = select_evidence(cands)
    assert len(groups) == answering.MAX_QUOTES + 1
    answer = answering.build_answer("q", groups, {"a": doc}, {}, [p], True)
    assert len(answer.citations) == answering.MAX_QUOTES
    assert answer.citations[0].quote == "One two. Three four."


def test_a_passage_already_quoted_waits_while_other_passages_have_their_turn():
    text = "First point here. " + "\n\n" + "Second point here."
    a = Passage("a", "Doc A", "S", text, 0, len(text))
    b = Passage("b", "Doc B", "S", "Other doc point.", 0, 16)
    second = text.index("Second")
    top, weaker_same_passage = (Candidate(a, 0, 17, 0.9, 0.0, 1.0, 0, np.array([1, 0], dtype=np.float32)),
                                Candidate(a, second, second + 18, 0.85, 0.0, 1.0, 0, np.array([0, 1], dtype=np.float32)))
    other = Candidate(b, 0, 16, 0.8, 0.0, 1.0, 0, np.array([0.6, -0.8], dtype=np.float32))
    groups = select_evidence([top, weaker_same_passage, other])
    assert [g[0] for g in groups] == [top, other, weaker_same_passage]  # it still comes, after
    # ... but a sentence that comes to stand beside a chosen one joins it at once
    text2 = "First point here. Next to it. Third, beside the second."
    p = Passage("a", "Doc A", "S", text2, 0, len(text2))
    at = text2.index("Next"), text2.index("Third")
    one, three, two = (Candidate(p, 0, 17, 0.9, 0.0, 1.0, 0, np.array([1, 0], dtype=np.float32)),
                       Candidate(p, at[1], len(text2), 0.85, 0.0, 1.0, 0, np.array([0, 1], dtype=np.float32)),
                       Candidate(p, at[0], at[1] - 1, 0.84, 0.0, 1.0, 0, np.array([0.6, 0.8], dtype=np.float32)))
    assert [g[0] for g in select_evidence([one, three, two, other])] == [one, two, three, other]


def test_stated_figures_and_meetings_are_what_a_quote_must_repeat():
    assert answering.stated_figures("the Third Plenary Session of the 18th CPC Central Committee") == (["third", "18th"], set())
    assert answering.stated_figures("cities of more than 5 million people in 2020?") == ([], {"5"})  # a year is not one
    assert answering.stated_figures("about 40,000 returnees?") == ([], {"40000"})
    # a document's number and a sum inside a word are not stated figures
    assert answering.stated_figures("What does the No. 1 Central Document say about RMB96.4 million?") == ([], set())
    assert answering.numbers_in("about 40,000 have come back, 92% of them") == {"40000", "92"}
    assert "3" in answering.numbers_in("facing three core challenges")  # "Which 3 challenges …?"
    assert answering.stated_figures("Which one of the two authors is a professor?") == ([], set())


def test_a_question_for_places_within_a_named_place_names_it():
    assert answering.names_not_years("Which counties in Zhejiang had the highest incomes in 2020?") == ["Zhejiang"]
    assert answering.names_not_years("Which district was a national pilot for returnees?") == []


def test_the_rules_read_what_s_as_what_is_and_skip_a_leading_hedge():
    assert answering.plain_question("What's the monthly payment under Shanghai's guarantee?") == \
        "What is the monthly payment under Shanghai's guarantee?"  # a possessive stays
    assert answering.plain_question("Roughly how many hollow villages are there?") == "how many hollow villages are there?"
    assert answering.asks_for_figure(answering.plain_question("What's the average monthly wage?"))
    assert answering.plain_question("And what about their children?") == "And what about their children?"  # a follow-up stays one


def test_confidence_is_monotone_in_cosine():
    assert answering.confidence(0.8, 1.0, 0.3) > answering.confidence(0.3, 1.0, 0.3)


def test_quantity_questions_and_names():
    assert answering.asks_for_quantity("How many returnees started businesses?")
    assert answering.asks_for_quantity("When did Shanghai merge its pensions?")
    assert not answering.asks_for_quantity("Why do few migrants return?")
    assert answering.holds_quantity("about 120,000 people") and not answering.holds_quantity("many people")
    assert answering.named_terms("What is the minimum wage in Guangdong in 2019?") == ["Guangdong", "2019"]
    assert answering.named_terms("What does the EU do?") == ["EU"]


def test_figure_questions_need_a_figure_next_to_what_they_ask_about():
    assert answering.asks_for_figure("How many returnees started businesses?")
    assert answering.asks_for_figure("What is Shanghai's old-age dependency ratio?")
    assert answering.asks_for_figure("What is Huang Tianzhou's age?")  # a possessive of two words
    assert answering.asks_for_figure("What was the employment rate of the trained workers?")
    assert answering.asks_for_figure("What share of trainees found jobs?")
    assert not answering.asks_for_figure("What is the key to rural revitalization?")
    assert not answering.asks_for_figure("How much progress has been made?")  # abstract: the looser rule
    assert answering.asks_for_figure("How much annual funding does the platform receive?")
    assert answering.asks_for_figure("How big is the construction land quota?")
    assert answering.asks_for_figure("What urbanization target does the plan set?")
    assert answering.asks_for_figure("What is the monthly minimum livelihood guarantee payment in Shanghai?")
    assert answering.asks_for_figure("What was the per capita disposable income of rural residents?")
    # A verb or preposition before the noun: the noun is not what is asked for.
    assert not answering.asks_for_figure("What role can quotas for new construction land play?")
    assert not answering.asks_for_figure("What is the role of quotas in settling migrants?")
    assert answering.asks_for_figure("What is the average monthly wage of migrant workers?")
    terms = answering.key_terms("How many returnees went on to launch businesses?")
    # Stop words do not count towards the distance: 25,000 [that] have started [their] own business.
    assert answering.figure_near("including 25,000 that have started their own business", terms)
    assert not answering.figure_near("the 2016 forum on business", terms)  # a year is not a count
    assert not answering.figure_near("25,000 people came back. Much later the business park opened.", terms)
    assert answering.figure_near("ninety-two percent found jobs", answering.key_terms("What share found jobs?"))
    ratio = answering.key_terms("What is Shanghai's old-age dependency ratio?")
    check = answering.quantity_check("What is Shanghai's old-age dependency ratio?", ratio)
    assert check is not None and not check("Shanghai pioneered reforms in 2015 and 2016.")
    assert answering.quantity_check("When did Shanghai merge its pensions?", set())("merged in 2020")
    assert answering.quantity_check("Why do few migrants return?", set()) is None


def test_a_count_stands_next_to_what_is_counted():
    q = "How many counties were designated in the third batch of pilot areas for migrant workers?"
    known = answering.key_terms(q)
    assert answering.counted_terms(q, known) == {"counti"}
    check = answering.quantity_check(q, known, known)
    assert not check("The third batch of pilot areas trained 120,000 migrant workers.")
    assert check("The third batch named 341 counties as pilot areas.")
    # What is counted is a word the corpus does not know: any key term will do, as before.
    q = "How many returnees were trained in Huichuan in 2016?"
    known = answering.key_terms(q) - {"returne"}
    assert answering.counted_terms(q, known) == set()
    assert answering.quantity_check(q, answering.key_terms(q), known)("Huichuan trained 6,726 people in 2016.")
    # The head is unknown but a place before it is known: the place does not say what is counted.
    q = "How many Huichuan returnees have set up their own businesses?"
    known = answering.key_terms(q) - {"returne"}
    assert answering.counted_terms(q, known) == set()
    check = answering.quantity_check(q, answering.key_terms(q), known)
    assert check("Huichuan district is a downtown district of Zunyi, where about 40,000 have started businesses.")


def test_a_question_for_a_maximum_needs_a_stated_limit():
    q = "What is the maximum micro loan an individual returnee entrepreneur can get in Huichuan?"
    terms = answering.key_terms(q)
    check = answering.quantity_check(q, terms, terms)
    assert answering.asks_for_limit(q)
    assert not check("The district coordinated to secure RMB96.4 million loans for 561 SMEs in 2016.")
    assert check("Each returnee may borrow up to RMB100,000 at a subsidised rate.")
    assert not answering.asks_for_limit("What is the Minimum Livelihood Guarantee System?")
    assert not answering.asks_for_limit("What is the biggest barrier to rural revitalization?")
    assert not answering.asks_for_limit("How can villages make the maximum use of returning talent?")
    assert not answering.asks_for_limit("Do rural women face a glass ceiling in county towns?")
    assert answering.asks_for_limit("Is there a ceiling on start-up loans for returnees?")


def test_a_share_question_needs_a_share_and_a_year_question_a_year():
    share = "What percentage of returnees' businesses survive three years?"
    check = check_for(share)
    assert not check("About 120,000 returnees have started businesses.")  # a count is not a share
    assert check("Some 45% of the businesses survive the first years.")
    assert check("Only half of the businesses survive beyond three years.")
    assert answering.asks_for_figure("By what percentage should rural doctors' wages rise?")
    asked = "By what year should pension pooling be complete?"
    year = check_for(asked)
    assert year("Pooling is to be complete by 2025.") and not year("Pooling will be completed in three steps.")
    # The year must stand by what is asked about, not by another reform in the same sentence.
    funds = "In which year did Shanghai merge its housing provident funds?"
    year = check_for(funds)
    assert not year("They merged the Minimum Livelihood Guarantee System in 2015, health insurance in 2016, and pensions in 2020.")
    assert year("They merged the housing provident funds in 2018.")
    over = "What share of migrant workers are over 50 years old?"
    share = check_for(over)
    assert not share("In 2016, over 92% of the trained workers found jobs.")  # "over" stands by any figure


def test_a_figure_question_after_a_leading_clause_is_still_one():
    assert answering.asks_for_figure("According to official statistics, how many hollow villages are there?")
    assert answering.asks_for_year("In the interview, in which year did Shanghai merge its pensions?")
    assert not answering.asks_for_figure("In Huichuan, why did workers come back?")


def test_a_figure_the_question_states_is_not_its_answer():
    question = "How many migrant workers have used the 400 free service hotline?"
    check = check_for(question)
    assert not check("Migrant workers can call the 400 free service hotline.")
    assert check("Some 3,000 migrant workers called the 400 free service hotline.")


def _figure_candidate(text):
    p = Passage("a", "Doc A", "S", text, 0, len(text))
    return Candidate(p, 0, len(text), 0.9, 0.9, 1.0, 0, np.ones(2) / np.sqrt(2), fits_type=True)


def test_a_figure_answers_only_for_the_place_the_question_names():
    huichuan = [[_figure_candidate("Huichuan District trained 6,726 returning migrant workers in 2016.")]]

    def evidence(focus):
        return answering.Evidence("q", focus, [SimpleNamespace(lexical=5.0)], [], {}, 1.0, 0.3, [])

    elsewhere = "How many returning migrant workers were trained in Gansu?"
    assert not answering.covers(elsewhere, evidence(elsewhere), huichuan, min_confidence=0.0)
    here = "How many returning migrant workers were trained in Huichuan?"
    assert answering.covers(here, evidence(here), huichuan, 0.0)
    # The names that say which document is meant (an author's, taken out of the focus) are not
    # places the figure must be about.
    by_authors = "According to Su and Jiao, how many returning migrant workers were trained in Huichuan?"
    assert answering.covers(by_authors, evidence("how many returning migrant workers were trained in Huichuan?"), huichuan, 0.0)


def test_a_past_when_question_needs_a_quote_that_dates_something():
    def evidence(q):
        return answering.Evidence(q, q, [SimpleNamespace(lexical=5.0)], [], {}, 1.0, 0.3, [])

    undated = [[_figure_candidate("We need to start coordinated reform of the residence permit system for 100 million people.")]]
    q = "When did the province launch its residence permit reform?"
    assert not answering.covers(q, evidence(q), undated, 0.0)  # a number, but no date
    for dated in ("The residence permit reform began in 2014.", "The reform was adopted in July.",
                  "The 19th CPC National Congress put forth the reform of residence permits."):
        assert answering.covers(q, evidence(q), [[_figure_candidate(dated)]], 0.0)


def test_counting_what_the_text_lists_is_not_a_figure_question():
    assert not answering.asks_for_figure("How many main challenges are named in the conclusion, and what are they?")
    assert not answering.asks_for_figure("How many reasons does the paper give for the gap?")
    assert answering.asks_for_figure("How many support measures did Huichuan adopt?")


def test_a_year_the_question_names_must_be_in_the_quotes_but_not_a_source_year():
    assert answering.named_years("What did the 2018 No. 1 Central Document say about talent?") == ["2018"]
    assert answering.named_years("What does the 2024 article on productive forces say about ageing?") == []


def test_acronyms_and_phrases_that_name_a_source():
    found = answering.acronyms("Professor Zhang Yi of Shanghai University of Finance and Economics said")
    assert "SUFE" in found and "P" not in found
    assert answering.acronyms("the report of the 19th CPC National Congress") >= {"CPC"}
    question = "What is the purpose of the Chengdu University of Information Technology paper?"
    assert answering.phrase_around(question, "Chengdu") == "Chengdu University of Information Technology"
    assert answering.phrase_around("How many Sichuan migrants moved?", "Sichuan") == "Sichuan"


def test_named_laws_and_plans():
    assert answering.titled_names("What does China's Exit and Entry Administration Law say about visas?") == [
        "Exit and Entry Administration Law"]
    assert answering.titled_names("How does the EU's Common Agricultural Policy fund farms?") == ["Common Agricultural Policy"]
    assert answering.titled_names("What did the No. 1 Central Document say about talent?") == ["Central Document"]
    assert answering.titled_names("What does Zhang Yi say about pensions?") == []  # a name, not a title
    assert answering.titled_names("WHAT DOES THE LAND ADMINISTRATION LAW SAY?") == []


def test_a_question_about_the_authors_keeps_them_and_one_quoting_them_does_not():
    about = "Of the two authors of the 2024 CSST piece on labor mobility, which one is a professor?"
    assert answering.asks_about_authors(about)
    focus = answering.without_source(about)
    assert "authors" in focus and "2024" not in focus
    assert not answering.asks_about_authors("What do the Shandong authors say about hukou perks?")


def test_a_question_naming_an_author_may_ask_about_the_person():
    where = "Where do Xin Baoying and Pang Jiaping work?"
    assert not answering.asks_about_authors(where)  # nothing says these are authors ...
    assert answering.asks_about_authors(where, person_named=True)  # ... unless the index knows them
    assert answering.asks_about_authors("What university is Su Hongwen at?", person_named=True)
    assert answering.asks_about_authors("Who is Fan Shide?", person_named=True)
    # Naming an author only to ask what they say: the byline is still not the answer.
    assert not answering.asks_about_authors("What does Su Hongwen say about talent?", person_named=True)
    assert not answering.asks_about_authors("Where does Su Hongwen see the biggest obstacle?", person_named=True)
    assert not answering.asks_about_authors("Why do migrant workers go home?", person_named=True)
    # Who they are, not anything about them: a byline says where one works, not where one lives.
    assert answering.asks_about_authors("Who are Xin Baoying and Pang Jiaping?", person_named=True)
    assert not answering.asks_about_authors("Who is Zhang Yi married to?", person_named=True)
    assert not answering.asks_about_authors("Where does Zhang Yi live?", person_named=True)
    # "Professor" as his title, in a question about what he says: not "which author is a professor?"
    assert not answering.asks_about_authors("How does Professor Zhang Yi define integration?", person_named=True)
    assert not answering.asks_about_authors("What second goal does Professor Zhang mention?", person_named=True)
    assert not answering.asks_about_authors("How effective is the campaign, in the Chengdu authors' judgement?")
    assert answering.asks_about_authors("Which of the two authors is a professor?")


def test_the_words_naming_a_source_are_not_what_the_question_is_about():
    focus = answering.without_source("What do the Shandong authors say about the perks of a hukou?")
    assert "Shandong" not in focus and "perks" in focus and "hukou" in focus
    assert "2024" not in answering.without_source("What does the 2024 article on productive forces say about ageing?")
    assert "interviewee" not in answering.without_source("Why does the interviewee mention Zhejiang so often?")
    assert "dean" not in answering.without_source("According to the SUFE deputy dean, what is the main challenge?")
    # Not across another noun phrase, and not a plain "report": in policy texts it is the subject.
    assert "two groups" in answering.without_source("Who are the two groups the authors want to recruit?")
    question = "What policy was set out in the 20th Party Congress report?"
    assert answering.without_source(question) == question
    assert answering.without_source("What do the authors say?") == "What do the authors say?"  # nothing left


def test_a_terse_query_names_its_source_without_an_article():
    assert answering.source_words("hukou reform proposals Shandong paper") == "Shandong"
    assert answering.without_source("hukou reform proposals Shandong paper") == "hukou reform proposals"
    assert answering.source_words("Chengdu paper: three core problems holding back integration") == "Chengdu"
    assert answering.source_words("Shanghai interview — pension gaps") == "Shanghai"
    # Only at the end or before a colon or dash: inside a sentence the noun may be its topic.
    assert answering.source_words("What do Chengdu University of Information Technology paper mills make?") == ""
    assert answering.source_words("How do Shandong paper mills treat waste water?") == ""
    assert answering.source_words("hukou reform proposals in the paper") == ""  # names no particular one


def test_titles_are_not_names_and_a_possessive_source_goes_whole():
    assert answering.named_terms("Why does Dr Zhang caution against raising benefits?") == ["Zhang"]
    assert "Prof" not in answering.named_terms("Why does Prof. Zhang caution against raising benefits?")
    assert answering.without_source("What basis does the paper's conclusion give for integration policy?") == \
        "What basis does conclusion give for integration policy?"


def test_a_long_source_name_is_taken_out_whole():
    family = "What does the labor mobility and new quality productive forces article propose for migrant families?"
    assert answering.source_words(family) == "labor mobility and new quality productive forces"
    assert answering.without_source(family) == "What does propose for migrant families?"
    talent = "What does the 2021 CSST piece on talent flow recommend for the schooling of migrant workers' kids?"
    assert answering.without_source(talent) == "What does recommend for the schooling of migrant workers' kids?"
    # ... but not across a preposition: "the workers in the study" are not a source's name
    assert answering.without_source("What do the workers in the study earn each month?") == "What do the workers in earn each month?"
    # "The purpose of the paper" asks about the paper: its words stay in the question.
    purpose = "What is the purpose of the Chengdu University of Information Technology paper on integration?"
    assert answering.source_words(purpose) == "Chengdu University of Information Technology"
    assert answering.without_source(purpose) == purpose


def test_source_words_say_which_document_is_meant():
    assert answering.source_words("What do the Shandong authors say about hukou perks?") == "Shandong"
    assert answering.source_words("What does the 2024 article on productive forces say about ageing?") == "2024 productive forces"
    assert answering.source_words("According to the SUFE deputy dean, what is the main challenge?") == "SUFE deputy"
    assert answering.source_words("What do the authors say about hukou perks?") == ""
    assert answering.source_words("Why are villages losing skilled people?") == ""


def test_every_part_of_an_authors_name_may_name_the_document():
    parts = answering.name_parts(("Su Hongwen", "Jiao Xudong", "Yuchi Zhou", "Will May"))
    assert {"Su", "Hongwen", "Jiao", "Xudong", "Yuchi", "Zhou"} <= parts
    assert "Will" not in parts and "May" not in parts  # English words, not names to match
    assert answering.capitalized_words("What do Su, Jiao and Liu regard as key?") == ["What", "Su", "Jiao", "Liu"]
    assert answering.capitalized_words("What does Su’s report and O'Brien's say?") == ["What", "Su", "O'Brien"]


def test_the_speakers_of_a_transcript_are_its_people_by_their_full_names():
    text = ("In an interview with City Daily, Professor Zhang Yi, Deputy Dean of a school, talks about reform.\n\n"
            "City Daily: What does integration mean?\n\nZhang: It means one system. Pensions converge.\n\n"
            "City Daily: And the main challenge?\n\nZhang: Rural industry.\n\nNote: one line is no turn.\n")
    assert answering.speakers(text) == ["Zhang Yi"]  # not the interviewer, whose turns ask; titles dropped
    assert answering.speakers("Zhang: once is not a transcript.") == []
    assert answering.speakers("Wang: one.\nWang: two.\n") == ["Wang"]  # no fuller name in the text
    assert answering.names_a_person("Professor Zhang Yi, Deputy Dean, talks about reform.", ("X Y", "Zhang Yi"))


def test_a_byline_names_an_author_of_its_own_document():
    from assistant.types import Document

    doc = Document("d", "T", ("Xin Baoying", "Pang Jiaping"), "2021-02-18", "src", "text")
    assert answering.names_a_person("Xin Baoying and Pang Jiaping are from the Shandong Institute.", doc.authors)
    assert not answering.names_a_person("Talent holds the key to integrated development.", doc.authors)
    terms = answering.metadata_terms(doc)
    assert "xin" in terms and "pang" in terms and "2021" not in terms  # a year alone names no document


def test_answer_form_matches_why_when_definition_and_obstacle_questions():
    why = answering.answer_form("Why do farmers find it hard to get loans?")
    assert why is not None and why.search("Agriculture faces high risks, leading to financing difficulties.")
    assert not why.search("Farmers find it hard to get loans.")  # a restatement is not a reason
    when = answering.answer_form("When did Shanghai merge its pension schemes?")
    assert when is not None and when.search("pensions were merged in 2020") and not when.search("pensions were merged")
    years = answering.answer_form("In which years did Shanghai unify its schemes?")  # several dates: a "when"
    assert years is not None and years.search("merged in 2015, 2016 and 2020") and not answering.asks_for_year(
        "In which years did Shanghai unify its schemes?")
    meaning = answering.answer_form("How does Zhang Yi define urban-rural integration?")
    assert meaning is not None and meaning.search("Integration is a way to create a unified system.")
    assert answering.answer_form("What does integration mean?") is meaning
    # "what does that mean for X" asks about consequences, not for a definition
    assert answering.answer_form("Few migrants return: what does that mean for rural revitalization?") is not meaning
    # Obstacles: a sentence that names a difficulty, not one that only names the topic.
    for q in ("What obstacles block migrant citizenization?", "What's getting in the way of spreading rural culture?"):
        hurdle = answering.answer_form(q)
        assert hurdle is not None and hurdle.search("Its spread is facing many difficulties, such as unsmooth channels.")
        assert not hurdle.search("Rural culture contains the profound tradition of agricultural civilization.")
    measure = answering.answer_form("What does the paper propose for rural culture?")
    assert measure is not None and measure.search("We should promote cultural exchanges between town and country.")
    assert not measure.search("Rural culture contains the profound tradition of agricultural civilization.")
    assert answering.answer_form("Who wrote the CSST piece on talent flow?") is None


def test_answer_form_lifts_the_sentence_that_answers():
    # A restatement with a slightly higher cosine loses to the sentence that gives the reason.
    v = np.array([1.0, 0.0], dtype=np.float32)
    restates = Candidate(P1, 0, 10, 0.70, 0.5, 1.0, 0, v, fits_form=False)
    answers = Candidate(P1, 20, 30, 0.62, 0.5, 1.0, 0, v, fits_form=True)
    assert [g[0] for g in select_evidence([restates, answers])][0] is answers


# (question, a sentence that ranks first what it asks for)
_RANKS_IT_FIRST = [
    ("What is the single greatest barrier to reviving the countryside?",
     "Therefore, the lack of talent is the biggest obstacle to rural revitalization."),
    ("What is the central aim of the countryside revival strategy?",
     "The core of rural revitalization is to help the farmers live an affluent life."),
    ("On what does the success of the strategy ultimately depend?", "The key to implementing the strategy lies in people."),
    ("What theoretical basis must integrated development rest on?",
     "Integration needs to be based on the deep soil of the Marxist theory."),
    ("What is the most critical thing for integration, per Zhang?", "the lack of talent is the biggest obstacle"),
    ("What is the most critical thing for integration, per Zhang?", "The key is balancing efficiency with fairness."),
    ("What is the main thing holding back rural revitalization?", "the lack of talent is the biggest obstacle"),
    ("What does Zhang consider the top priority for young workers?", "I think the most important thing is to reduce the barriers."),
    ("What is the decisive factor in integrating urban and rural development?",
     "Talent holds the key to an integrated urban-rural development."),
    ("What most holds back rural revitalization?", "the lack of talent is the biggest obstacle"),
    ("what hinders the countryside most?", "the lack of talent is the biggest obstacle"),
    ("And what does he see as the single most important response?", "I think the most important thing is to reduce the barriers."),
    ("So what does he think matters most in response?", "I think the most important thing is to reduce the barriers."),
    ("What typical difficulties do migrants run into in cities?", "The most common obstacles are: one can find work, but …"),
    ("What are the usual sticking points for migrants in cities?", "The most common obstacles are: one can find work, but …"),
]


@pytest.mark.parametrize("question, sentence", _RANKS_IT_FIRST)
def test_ranked_first_form_matches_the_same_kind_of_thing(question, sentence):
    form = answering.ranked_first_form(question)
    assert form is not None and form.search(sentence)


def test_ranked_first_form_does_not_match_what_only_names_or_ranks_another_kind():
    obstacle = answering.ranked_first_form("What is the single greatest barrier to reviving the countryside?")
    assert not obstacle.search("First, there are barriers to the mobility of the workforce.")  # names, does not rank
    assert not obstacle.search("Migrants are the main force for building a new countryside.")  # first, but no obstacle
    # what holds something back is an obstacle: not "the key to it lies in people"
    holding = answering.ranked_first_form("What is the main thing holding back rural revitalization?")
    assert not holding.search("The key to implementing the strategy lies in people.")
    typical = answering.ranked_first_form("What typical difficulties do migrants run into in cities?")
    assert not typical.search("There are obstacles to settling down.")
    # Counting main challenges, or asking about a thing without ranking it, is another question.
    assert answering.ranked_first_form("How many main challenges are named in the conclusion?") is None
    assert answering.ranked_first_form("What obstacles block migrant citizenization?") is None


def test_ranked_first_outweighs_a_closer_neighbour_from_a_better_passage():
    v = np.array([1.0, 0.0], dtype=np.float32)
    neighbour = Candidate(P1, 0, 10, 0.64, 0.1, 1.0, 0, v)
    ranks_it_first = Candidate(P1, 20, 30, 0.58, 0.0, 0.86, 1, v, asked_kind=True)
    assert [g[0] for g in select_evidence([neighbour, ranks_it_first])][0] is ranks_it_first


def test_a_follow_up_on_the_authors_asked_about_is_recognized():
    who = ["Who wrote the CSST piece on talent flow?"]
    assert answering.follows_up_on_authors("Where do they work?", who)
    assert answering.follows_up_on_authors("Which school are they at?", [(who[0], "an answer")])
    assert not answering.follows_up_on_authors("What do they propose for rural schools?", who)  # asks what they say
    assert not answering.follows_up_on_authors("Where do migrant workers settle?", who)  # no "they": a new question
    assert not answering.follows_up_on_authors("Where do they work?", None)
    interviewed = ["Who did Shanghai Daily interview about social security?"]
    assert answering.follows_up_on_authors("What is his job title?", interviewed)
    assert not answering.follows_up_on_authors("Which schemes does he say Shanghai began first?", interviewed)


def test_follow_up_detection_and_rewriting():
    history = [("What support did Huichuan give returning migrant workers?", "...")]
    assert is_follow_up("and what about their children's schooling?")
    assert is_follow_up("why is that?")
    assert not is_follow_up("How can rural pensions be improved for elderly farmers?")
    assert is_follow_up("Say more about the weak industrial foundation.")  # it names no source: the one talked about
    assert is_follow_up("What should poorer rural regions do in response?")  # in response to what was said
    rewritten = resolve_question("how many of them started businesses?", history)
    assert "Huichuan" in rewritten and rewritten.startswith("how many of them")
    assert resolve_question("How can rural pensions be improved for elderly farmers?", history) == \
        "How can rural pensions be improved for elderly farmers?"
    # A terse query may name its source in brackets.
    assert answering.source_words("reasons agriculture struggles to attract finance (Chengdu paper)") == "Chengdu"
    # A source the conversation named goes along whole, so that it still names its document.
    carried = resolve_question("do people have to go to an office for it?",
                               ["What is the One-Stop Service mentioned in the Shanghai Daily interview?"])
    assert "the Shanghai Daily interview" in carried and "One-Stop Service" in carried
    assert answering.source_words(carried).strip() == "Shanghai Daily"
    # "the authors", naming no one, are the ones the conversation was about
    fix = resolve_question("What tech-based fix do the authors suggest?", ["How does the Chengdu paper find aid recipients?"])
    assert "the Chengdu paper" in fix and answering.source_words(fix).strip() == "Chengdu"
    assert not is_follow_up("What tech-based fix do the Chengdu authors suggest?")
    # Dict and plain-string histories work the same way.
    assert "Huichuan" in resolve_question("why?", [{"question": history[0][0]}])
    assert "Huichuan" in resolve_question("why?", [history[0][0]])


def test_ask_with_fake_encoder_quotes_exact_spans(fake_index, encoder):
    qa = Assistant.load(fake_index, encoder=encoder)
    answer = qa.ask("Huichuan district micro loan financing for SMEs", min_confidence=0.0)
    assert isinstance(answer, Answer) and answer.answered
    assert 1 <= len(answer.citations) <= 4
    for c in answer.citations:
        assert qa.document(c.doc_id).text[c.start : c.end] == c.quote
        assert f"[{c.n}]" in answer.text
        assert not c.quote.rstrip().endswith("?")
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    refs = answer.references
    assert len({r["doc_id"] for r in refs}) == len(refs)
    assert set(answer.to_dict()) >= {"question", "answered", "text", "citations", "passages"}


def test_abstention_threshold(fake_index, encoder):
    qa = Assistant.load(fake_index, encoder=encoder)
    never = qa.ask("Huichuan micro loan", min_confidence=1.0)
    assert not never.answered and never.citations == () and never.passages
    assert never.text == answering.NOT_COVERED
    unknown_name = qa.ask("What is the minimum wage in Guangdong?", min_confidence=0.0)
    assert not unknown_name.answered


def test_quotes_never_cut_words(fake_index, encoder):
    qa = Assistant.load(fake_index, encoder=encoder)
    for q in ["rural pension insurance", "talent flow incentive", "hukou household registration barriers"]:
        for c in qa.ask(q, min_confidence=0.0).citations:
            text = qa.document(c.doc_id).text
            assert c.start == 0 or not text[c.start - 1].isalnum()
            assert c.end == len(text) or not text[c.end].isalnum()


def test_a_sentence_leaning_on_an_already_quoted_one_joins_its_quote():
    text = "Huichuan promoted this work. In 2017 it was named a national base. Other things followed."
    doc = Document("a", "Doc A", ("X",), "2020", "src", text)
    p = Passage("a", "Doc A", "S", text, 0, len(text))
    v = np.ones(2) / np.sqrt(2)
    first, leaning = Candidate(p, 0, 28, 0.9, 0.5, 1.0, 0, v), Candidate(p, 29, 66, 0.8, 0.5, 1.0, 0, v)
    answer = answering.build_answer("q", [[first], [leaning]], {"a": doc}, {("a", 29): 0}, [p], True)
    assert [c.quote for c in answer.citations] == [text[:66]]  # once, not the first sentence twice
    # Quoted first, the leaning sentence brings the one before it along.
    answer = answering.build_answer("q", [[leaning]], {"a": doc}, {("a", 29): 0}, [p], True)
    assert [c.quote for c in answer.citations] == [text[:66]]


def test_a_question_for_places_by_name_needs_a_quote_that_names_one():
    asks = answering._ASKS_PLACE.match
    assert asks("Which Chinese cities have completely abolished hukou restrictions on settling?")
    assert asks("Which district was a national pilot for returning-migrant entrepreneurship?")
    assert asks("In which provinces do returnees get tax breaks?") and asks("What countries have done the same?")
    assert not asks("Which city professionals should be sent to work in villages?")  # "city" qualifies them
    assert asks("Which cities under 3 million people have fully scrapped settlement restrictions?")
    assert asks("Which Shandong city piloted an online residency registration platform?")  # a past verb
    assert asks("Which province first introduced the scheme?")
    assert not asks("What obstacles block migrant citizenization?")
    question = "Which provinces have put them into practice?"
    assert answering.names_a_place("Provinces such as Guizhou, Jiangxi and Gansu introduced practices.", question)
    assert not answering.names_a_place("Many provinces have relaxed restrictions on settling.", question)
    # Not a capital that only opens the sentence, nor a name the question gave itself.
    assert not answering.names_a_place("Reform has spread across the country.", question)
    assert not answering.names_a_place("Since 2014, Shanghai has led the reform.", "Which cities besides Shanghai did so?")
    assert not answering.names_a_place("It is a city in China.", "Which Chinese cities did so?")  # the question's own
    # A place stands after "in", "from", a comma …, or before "District"; not inside a title.
    assert answering.names_a_place("In 2016 Huichuan District was designated a pilot.", question)
    assert answering.names_a_place("Seizing the opportunity, Huichuan has promoted this work.", question)
    assert answering.names_a_place("Young workers outside the city want to settle in Shanghai.", question)
    assert not answering.names_a_place(
        'It says the "Resolution of the Central Committee of the Communist Party of China on Further Deepening '
        'Reform Comprehensively to Advance Chinese Modernization," issued on July 21.', "Which Chinese cities did so?")
    assert not answering.names_a_place("He is Deputy Dean at Shanghai University of Finance and Economics.", question)


def test_a_why_answer_that_only_restates_the_question_quotes_the_reason_after_it():
    text = ("Too fast an increase could be a problem. Farmers have lower incomes. Subsidies have limits.\n\n"
            "Pensions rose because funds were pooled. Cities grew.")
    doc = Document("a", "Doc A", ("X",), "2020", "src", text)
    p = Passage("a", "Doc A", "S", text, 0, len(text))
    v = np.ones(2) / np.sqrt(2)
    restates, reason = Candidate(p, 0, 40, 0.9, 0.5, 1.0, 0, v), Candidate(p, 41, 68, 0.5, 0.5, 1.0, 0, v)
    last, pooled = Candidate(p, 69, 91, 0.5, 0.5, 1.0, 0, v), Candidate(p, 93, 133, 0.9, 0.5, 1.0, 0, v)
    following = {("a", 0): 68, ("a", 41): 91, ("a", 69): 133, ("a", 93): 146}
    why = "Why could raising benefits too fast cause problems?"
    answer = answering.build_answer(why, [[restates]], {"a": doc}, {}, [p], True, following)
    assert [c.quote for c in answer.citations] == [text[:68]]
    # The reason is not quoted twice; a later quote that gives no reason grows too.
    answer = answering.build_answer(why, [[restates], [reason]], {"a": doc}, {}, [p], True, following)
    assert [c.quote for c in answer.citations] == [text[:68]]
    answer = answering.build_answer(why, [[pooled], [restates]], {"a": doc}, {}, [p], True, following)
    assert [c.quote for c in answer.citations] == [text[93:133], text[:68]]
    # Not for other questions, not for a quote that gives its own reason, not past a paragraph.
    answer = answering.build_answer("What could be a problem?", [[restates]], {"a": doc}, {}, [p], True, following)
    assert [c.quote for c in answer.citations] == [text[:40]]
    answer = answering.build_answer("Why did pensions rise?", [[pooled]], {"a": doc}, {}, [p], True, following)
    assert [c.quote for c in answer.citations] == [text[93:133]]
    answer = answering.build_answer(why, [[last]], {"a": doc}, {}, [p], True, following)
    assert [c.quote for c in answer.citations] == [text[69:91]]


def test_a_why_quote_runs_on_through_the_sentences_that_add_reasons():
    text = ("Too fast an increase could be a problem. Farmers have lower incomes. Subsidies also have limits. "
            "Plus, there is a risk of dependence. Despite this, integration goes on.")
    doc = Document("a", "Doc A", ("X",), "2020", "src", text)
    p = Passage("a", "Doc A", "S", text, 0, len(text))
    starts = [0] + [text.index(w) for w in ("Farmers", "Subsidies", "Plus", "Despite")]
    ends = [text.index(".", st) + 1 for st in starts]
    following = {("a", st): ends[i + 1] for i, st in enumerate(starts[:-1])}
    restates = Candidate(p, 0, ends[0], 0.9, 0.5, 1.0, 0, np.ones(2) / np.sqrt(2))
    # the leading clause does not hide the "why"
    answer = answering.build_answer("According to the interview, why could fast increases cause problems?",
                                    [[restates]], {"a": doc}, {}, [p], True, following)
    assert [c.quote for c in answer.citations] == [text[: ends[3]]]  # not "Despite this, …"


@pytest.mark.parametrize("question, not_an_answer, an_answer", [
    # A money question needs a sum of money.
    ("How much annual funding does the labour platform receive?",
     "The labour platform integrates five functions: recruitment, training and more.",
     "The labour platform receives RMB 12 million in annual funding."),
    ("How much credit did Huichuan arrange for small firms in 2016?",
     "Huichuan put forth 18 supportive policies for small firms in 2016.",
     "Huichuan secured RMB96.4 million of credit for 561 small firms in 2016."),
    # The sum stands next to what money is called, not the question's word for it.
    ("How much money did that bring in, and for how many firms?",
     "Huichuan trained 6,726 migrant workers in 2016.",
     "The district coordinated to secure RMB96.4 million loans for 561 SMEs in 2016."),
    ("How much lending did Huichuan line up for small businesses in 2016?",
     "Huichuan trained 6,726 migrant workers in 2016.",
     "The district coordinated to secure RMB96.4 million loans for 561 SMEs in 2016."),
    ("How much was lent, and to how many firms?",
     "The district set up 6 platforms for 561 SMEs.",
     "The district coordinated to secure RMB96.4 million loans for 561 SMEs in 2016."),
    ("What is the average monthly income of migrant workers?",
     "Huichuan trained 6,726 migrant workers, and their income rose.",
     "Migrant workers' average monthly income reached 4,961 yuan."),
    # A terse query that is only the figure's name asks for it too.
    ("average monthly wage of migrant workers in construction?",
     "Huichuan trained 6,726 returning migrant workers, over 92% of whom found jobs.",
     "Migrant workers in construction earn an average monthly wage of 5,200 yuan."),
    ("number of returnees who started businesses in Huichuan?",
     "Huichuan supported returnees who started businesses.",
     "In Huichuan 25,000 returnees have started businesses."),
    # "No. 1" names a document; "ratio" after the asking words still asks for a share.
    ("What was China's urban-rural income ratio in 2020?",
     "China's No. 1 Central Document for 2020 pointed out that new talent should be encouraged.",
     "In 2020 the urban-rural income ratio in China fell to 40% of its 2000 level."),
    # A share must be a share of what is asked.
    ("What share of the returning migrant entrepreneurs in Huichuan are women?",
     "Huichuan trained 6,726 returning migrant workers, over 92% of whom found jobs.",
     "Among returning migrant entrepreneurs, 38% are women."),
    ("What interest rate is charged on micro loans to returnees?",
     "Micro loans reached 92% of returnees.",
     "Micro loans carry an interest rate of 4.35%."),
])
def test_the_figure_must_be_the_kind_asked_for(question, not_an_answer, an_answer):
    check = check_for(question)
    assert not check(not_an_answer) and check(an_answer)


def test_ordinals_and_one_of_are_not_figures():
    rate = "What is the contribution rate for pension insurance?"
    terms = answering.key_terms(rate)
    assert not answering.figure_near("The third is to raise pension insurance coverage.", terms, share=True)
    assert answering.figure_near("About a third of pension insurance is paid by employers.", terms, share=True)
    pension = answering.key_terms("How many pension schemes does Shanghai run?")
    assert not answering.figure_near("Shanghai is one of the pioneers of pension reform.", pension)


def test_side_by_side_sentences_are_quoted_once_in_the_documents_order(monkeypatch):
    text = "Alpha is first. Beta comes next.\n\nGamma opens a paragraph. Delta ends it."
    doc = Document("a", "Doc A", ("X",), "2020", "src", text)
    p = Passage("a", "Doc A", "S", text, 0, len(text))
    v = np.ones(2) / np.sqrt(2)

    def at(sentence, cos):
        s = text.index(sentence)
        return Candidate(p, s, s + len(sentence), cos, 0.5, 1.0, 0, v)

    beta, alpha, gamma = at("Beta comes next.", 0.9), at("Alpha is first.", 0.8), at("Gamma opens a paragraph.", 0.7)
    answer = answering.build_answer("q", [[beta], [alpha], [gamma]], {"a": doc}, {}, [p], True)
    # Alpha joins Beta's quote (before it, as in the text); Gamma, past the blank line, stays apart.
    assert [c.quote for c in answer.citations] == ["Alpha is first. Beta comes next.", "Gamma opens a paragraph."]
    assert [c.n for c in answer.citations] == [1, 2]
    assert answer.text == "Alpha is first. Beta comes next. [1]\n\nGamma opens a paragraph. [2]"
    assert all(text[c.start:c.end] == c.quote for c in answer.citations)
    monkeypatch.setattr(answering, "MAX_JOINED_QUOTE", 20)  # too long to join: three quotes
    answer = answering.build_answer("q", [[beta], [alpha], [gamma]], {"a": doc}, {}, [p], True)
    assert [c.quote for c in answer.citations] == ["Beta comes next.", "Alpha is first.", "Gamma opens a paragraph."]


def test_a_point_made_in_two_documents_keeps_its_own_quote():
    text = "Alpha is first. Beta comes next."
    docs = {d: Document(d, f"Doc {d}", ("X",), "2020", "src", text) for d in "ab"}
    pa, pb = (Passage(d, f"Doc {d}", "S", text, 0, len(text)) for d in "ab")
    v = np.ones(2) / np.sqrt(2)
    beta_a, beta_b = Candidate(pa, 16, 32, 0.9, 0.5, 1.0, 0, v), Candidate(pb, 16, 32, 0.9, 0.5, 1.0, 0, v)
    alpha_a = Candidate(pa, 0, 15, 0.8, 0.5, 1.0, 0, v)
    answer = answering.build_answer("q", [[beta_a, beta_b], [alpha_a]], docs, {}, [pa, pb], True)
    assert [(c.doc_id, c.quote) for c in answer.citations] == [
        ("a", "Beta comes next."), ("b", "Beta comes next."), ("a", "Alpha is first.")]


@pytest.mark.parametrize("question, leads", [
    ("How many returnees started businesses?", True),
    ("In what year were the pensions merged?", True),
    ("When did Shanghai merge its pensions?", True),
    ("What is the maximum loan a returnee can get?", True),
    ("When does Zhang think city dwellers will gain?", False),  # a time, not a date
    ("Why do few migrants return?", False),
])
def test_a_figure_or_date_question_opens_with_the_quote_that_holds_it(question, leads):
    v = np.array([1.0, 0.0], dtype=np.float32)
    plain = Candidate(P1, 0, 10, 0.9, 0.5, 1.0, 0, v)
    figure = Candidate(P1, 50, 60, 0.7, 0.5, 1.0, 0, v, fits_type=True)
    groups = [[plain], [figure]]
    answering.lead_with_what_is_asked(question, groups)
    assert groups == ([[figure], [plain]] if leads else [[plain], [figure]])


def test_an_interviewers_question_is_never_quoted(fake_index, encoder):
    qa = Assistant.load(fake_index, encoder=encoder)
    # Worded as the interviewer asked it, so that with the fake encoder the question sentence is
    # the closest of all; the answer must quote statements only.
    question = "What does this policy mean for cities, rural areas, and individuals respectively"
    answer = qa.ask(question, min_confidence=0.0)
    assert answer.citations
    assert not any(c.quote.rstrip().endswith("?") for c in answer.citations)
    ev = qa._evidence(question, None, 5, None)
    assert all(not c.passage.text[c.start - c.passage.start : c.end - c.passage.start].rstrip().endswith("?")
               for c in ev.candidates)


def test_a_figure_or_year_asked_for_last_or_in_a_terse_query_is_still_asked_for():
    # asked last, as a non-native speaker puts it
    assert answering.asks_for_figure("Total population of Huichuan district is how many?")
    assert answering.asks_for_figure("New rural cooperative medical scheme pays back exactly what percent of hospital bill?")
    assert answering.asks_for_year("Shanghai unify pensions of city and village in what year?")
    # a search-box query naming a figure or a year, with no question word
    assert answering.asks_for_figure("monthly basic pension amount rural residents yuan")
    assert answering.asks_for_figure("survival rate of returnee-founded businesses Huichuan")
    assert answering.asks_for_year("year Gansu launched labor big data platform")
    assert answering.asks_for_year("Deadline for unifying urban-rural medical insurance nationwide?")
    assert answering.asks_for_figure("Rural per capita disposable income in Zhejiang?")
    assert answering.asks_for_figure("What score does someone need under Shanghai's points system?")
    assert not answering.asks_for_year("date the resolution on deepening reform came out?")  # "in July" answers it
    # a percent is a share; yuan asks for money
    check = answering.quantity_check("NCMS hospitalization reimbursement percentage rural", {"reimburs"})
    assert check is not None and not check("It reimbursed 1,200 patients.") and check("It reimburses 45% of costs.")
    # but a comparison or a rank is answered in words, and a query with a question word is read as before
    assert not answering.asks_for_figure("Shanghai rural per capita income ranking in YRD vs urban")
    assert not answering.asks_for_figure("NCMS reimbursement rate vs urban employee medical insurance")
    assert not answering.asks_for_figure("hukou reform proposals Shandong paper")
    assert not answering.asks_for_year("years of reform in Shanghai")
    assert not answering.asks_for_figure("What role can the interest rate play?")


def test_a_rank_written_with_a_hash_is_no_figure_and_when_without_inversion_asks_for_a_date():
    q = answering.plain_question("what's the #1 obstacle to reviving the countryside?")
    assert q == "what is the top obstacle to reviving the countryside?"
    assert answering.stated_figures(q) == ([], set()) and answering.ranked_first_form(q) is not None
    assert not answering.asks_for_figure(answering.plain_question("What is the number one obstacle?"))
    assert answering._ASKS_PAST_DATE.match("When Nanjing Audit University was founded?")
    assert not answering._ASKS_PAST_DATE.match("When should returning workers get training?")


def test_according_to_a_report_names_the_source_but_a_report_that_acts_does_not():
    q = "Why are migrants being displaced, according to the returnee report?"
    assert "report" not in answering.without_source(q)
    assert "report" in answering.without_source("What did the 20th Party Congress report put forward about talent?")


def test_how_many_items_a_which_question_wants_is_no_figure_to_quote():
    assert answering.stated_figures("rural land contract reform - it separates which 3 types of rights?") == ([], set())
    assert answering.stated_figures("What are the 3 types of rights in cities of more than 5 million?") == ([], {"3", "5"})


def test_each_how_many_of_a_question_says_what_a_figure_may_count():
    known = {"resid", "busi", "found", "returne"}
    q = "Huichuan: how many residents are working elsewhere, and how many returnees founded businesses?"
    assert answering.counted_terms(q, known) >= {"resid", "busi"}
    # a "how many" whose noun the corpus does not know leaves the figure free (all key terms)
    assert answering.counted_terms("How many residents, and how many hukou-holders?", {"resid"}) == set()
