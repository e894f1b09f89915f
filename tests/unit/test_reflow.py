"""assistant.reflow: a PDF's text layer back into paragraphs, without its running heads and feet."""

from pathlib import Path

from assistant.formats import extract
from assistant.reflow import reflow

WIDE = "x" * 60  # a full line of this test's pages


def page(*lines: str) -> str:
    return "\n".join(lines)


def test_running_heads_feet_and_page_numbers_are_dropped():
    bodies = ["Rents rose in every one of the forty cities that the survey of this year covers.",
              "Wages rose more than rents did, in every city but two of the forty in the survey.",
              "Both are measured once a year, in the spring, by the statistics office of each city.",
              "The survey covers 40 cities, and it will cover 60 from next year on, the office says."]
    pages = [page("Annual Housing Report", f"Ministry of Housing   {n}", body, str(n))
             for n, body in enumerate(bodies, start=1)]
    texts, _ = reflow(pages)
    assert texts == ["Annual Housing Report\n" + bodies[0], *bodies[1:]]  # the first line: the title


def test_a_title_under_a_running_head_that_repeats_it_stays():
    body = "Rents rose in every one of the forty cities that the survey of this year covers."
    pages = [page("Annual Housing Report", "Annual Housing Report", body, "1"),
             page("Annual Housing Report", body.replace("Rents", "Wages"), "2"),
             page("Annual Housing Report", body.replace("Rents", "Prices"), "3")]
    texts, _ = reflow(pages)
    assert texts[0] == "Annual Housing Report\n" + body  # the repeated title, once
    assert texts[1] == body.replace("Rents", "Wages")
    wrapped = [page("Annual Housing Report of the Ministry", "1", "Annual Housing Re-", "port of the Ministry", body),
               *pages[1:]]
    assert reflow(wrapped)[0][0].startswith("Annual Housing Re-\nport of the Ministry")  # the head went, not the title


def test_a_document_whose_title_is_its_running_head_keeps_its_first_line():
    body = "The database is read by every application that needs to know the type of a file."
    pages = [page("Shared MIME-info Database", "X Desktop Group", body),
             page("Shared MIME-info Database", body.replace("every", "each"), "2"),
             page("Shared MIME-info Database", body.replace("every", "any"), "3")]
    texts, _ = reflow(pages)
    assert texts[0].startswith("Shared MIME-info Database\nX Desktop Group")
    assert texts[1] == body.replace("every", "each") and texts[2] == body.replace("every", "any")


def test_a_line_that_recurs_on_few_pages_or_inside_the_page_is_text():
    pages = [page("Summary of findings", "Body one."), page("Other head", "Body two."),
             page("Another head", "Body three."), page("Fourth head", "Summary of findings", "Body four.", "Last")]
    texts, _ = reflow(pages)
    assert texts[0].startswith("Summary of findings") and "Summary of findings" in texts[3]


def test_wrapped_lines_join_and_short_lines_keep_their_breaks():
    lines = [
        "Background",
        "The programme pays a subsidy to households that rent in the city and to the",
        "American Community Survey respondents who moved in the last year, at a rate",
        "set each year.",
        "- first item of a list that is long enough to fill a whole line of this page",
        "- second item",
        "Costs",
        "The cost is shared between the two levels of government in equal parts so",
        "that neither bears it alone.",
    ]
    (text,), joints = reflow([page(*lines)])
    assert joints == []
    assert text.split("\n") == [
        "Background",
        "The programme pays a subsidy to households that rent in the city and to the American Community Survey "
        "respondents who moved in the last year, at a rate set each year.",
        "- first item of a list that is long enough to fill a whole line of this page",
        "- second item",
        "Costs",
        "The cost is shared between the two levels of government in equal parts so that neither bears it alone.",
    ]


def test_a_hyphen_at_a_line_end_goes_when_the_document_spells_the_word_without_one():
    lines = [
        "Local government budgets were cut in the year of the reform, and the govern-",
        "ment of each province reported on its well-known programmes, which were well-",
        "known before the reform began and well after it, as every report has said so.",
        "The government of each province and each city filed its own report on time.",
        "Short line.",
    ]
    (text,), _ = reflow([page(*lines)])
    assert "the government of each province" in text
    assert "which were well-known before" in text


def test_a_word_hyphenated_at_a_line_end_is_whole_when_its_pieces_are_no_words_of_the_document():
    lines = [
        "Bridges on the roads that carry the heaviest loads, and particular-",
        "ly the Interstate bridges, are in better condition than the long-",
        "term plans of the states had expected, over the long term and the short.",
        "The inspectors found that most bridges of the state were safe enough to use.",
    ]
    (text,), _ = reflow([page(*lines)])
    assert "particularly the Interstate" in text  # "ly" is no word here
    assert "the long-term plans" in text  # "long" and "term" are


def test_a_sentence_running_over_a_page_into_a_lower_case_word_joins_with_a_space():
    first = page(WIDE, "The council decided that the new rules apply to every district in the")
    second = page("province from the first of March, and that no district may opt out of them.", "Short line.")
    texts, joints = reflow([first, second, page("Last page.")])
    assert joints == [" ", None]
    assert texts[0].endswith("every district in the") and texts[1].startswith("province from")
    capital = page("Province from the first of March, and that no district may opt out of them.", "Short line.")
    assert reflow([first, capital, page("Last page.")])[1] == [None, None]
    broken = page(WIDE, "The council decided that the new rules apply to every district of the prov-")
    texts, joints = reflow([broken, second.replace("province ", "ince "), page("Last page.")])
    assert joints == ["", None] and texts[0].endswith("district of the prov") and texts[1].startswith("ince from")


def make_report_pdf(pages: int) -> bytes:
    from fpdf import FPDF

    class Report(FPDF):
        def header(self) -> None:
            self.set_font("Helvetica", size=8)
            self.cell(0, 8, "Regulation on Urban Housing Subsidies", new_x="LMARGIN", new_y="NEXT")

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("Helvetica", size=8)
            self.cell(0, 8, f"Ministry of Housing - page {self.page_no()}")

    pdf = Report()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    sentence = ("Article {n}. A household that has rented a home in {city} for {years} years may apply for the "
                "monthly subsidy, which the District Housing Office pays until the household buys a home. ")
    cities = ["Anshan", "Baotou", "Changde", "Dalian", "Enshi", "Foshan", "Ganzhou", "Handan", "Jilin", "Kaifeng"]
    for n in range(1, pages * 20):
        text = sentence.format(n=n, city=cities[n % 10], years=["two", "three", "four"][n % 3])
        pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def test_a_typeset_report_reads_as_its_author_wrote_it():
    got = extract(Path("regulation.pdf"), make_report_pdf(pages=3))
    assert len(got.pages) >= 3
    assert "Ministry of Housing" not in got.text
    assert got.text.count("Regulation on Urban Housing Subsidies") == 1 and got.text.startswith("Regulation on")
    assert "Article 1. A household" in got.text and "Article 40. A household" in got.text
    assert "years may apply for the monthly subsidy, which the District Housing Office pays" in got.text
    assert all(line.startswith("Article ") for line in got.text.split("\n")[1:] if line.strip())


def test_a_full_line_that_ends_a_sentence_keeps_its_break_unless_an_abbreviation_ends_it():
    lines = [
        "The first paragraph of this report ends on a line that is full to its margin.",
        "The second paragraph begins here and is about the survey run in the U.S.",
        "Census Bureau's own districts, which cover every county of every state today.",
        "Short line.",
    ]
    (text,), _ = reflow([page(*lines)])
    assert text.split("\n") == [
        lines[0],
        lines[1] + " " + lines[2],
        "Short line.",
    ]
    marked = [lines[0].replace("margin.", "margins.¹²"), *lines[1:]]  # a raised footnote number after the stop
    assert reflow([page(*marked)])[0][0].split("\n")[0] == marked[0]


def test_a_bare_number_is_a_page_number_only_when_a_page_could_bear_it():
    texts, _ = reflow([page("Rents rose.", "2020"), page("Wages rose.", "- 2 -"), page("iii", "Prices fell.")])
    assert texts == ["Rents rose.\n2020", "Wages rose.", "Prices fell."]


def test_hyphens_and_dashes_at_a_line_end_join_without_a_space():
    lines = [
        "The SARS-CoV-2 virus and the earlier SARS-CoV virus were compared in the SARS-",
        "CoV-2 study of the year 2020, run over the whole of the period of the 2010–",
        "2020 decade, as reported at https://example.org/reports/housing/annual-",
        "short.",
    ]
    (text,), _ = reflow([page(*lines, "A second, longer line of text to set the measure of this page.")])
    assert "the SARS-CoV-2 study" in text and "the 2010–2020 decade" in text


def test_a_footnote_at_the_foot_of_a_page_is_not_run_into_the_text():
    body = "The grant programme was first funded in the appropriations act for the year and it"
    note = "12 U.S. Census Bureau, Small Area Income and Poverty Estimates, accessed April 14, 2026, at https://"
    texts, joints = reflow([page(WIDE, body, note, "www.census.gov/saipe"),
                            page("Congress extended it twice since then.", WIDE + "."), page("Last.")])
    assert texts[0].split("\n")[1:] == [body, note + "www.census.gov/saipe"]
    assert joints == [None, None]  # the next page opens with a capital: the footnote does not run on


def test_a_running_head_that_changes_with_the_chapter_is_told_by_the_page_number_it_bears():
    pages = [page("Title page"), page("1", "1 Introduction", "Rents rose in every city."),
             page("Chapter 1: Introduction 2", "Wages rose more."),
             page("3", "2 Handling", "2.1 Syntax", "The parser is strict."),
             page("Chapter 2: Handling 4", "Comments are allowed."),
             page("Chapter 2: Handling 5", "Tags are explicit."),
             page("6", "3 Appendix", "Nothing more.")]
    texts, _ = reflow(pages)
    assert texts == ["Title page", "1 Introduction\nRents rose in every city.", "Wages rose more.",
                     "2 Handling\n2.1 Syntax\nThe parser is strict.", "Comments are allowed.", "Tags are explicit.",
                     "3 Appendix\nNothing more."]


def test_the_numbers_printed_on_the_pages_are_read_from_their_heads_and_feet():
    from assistant.reflow import printed_numbers

    pages = [page("Cover"), page("Contents"), page("Rents rose.", "1"), page("Chapter 1: Rents 2", "Wages rose."),
             page("Prices fell.", "3"), page("Chapter 2: Prices 4", "Costs rose.")]
    assert printed_numbers(pages) == ("", "", "1", "2", "3", "4")
    assert printed_numbers([page("Rents rose."), page("Wages rose."), page("Prices fell.")]) == ()


def test_a_chapter_heading_that_bears_its_pages_number_is_kept_where_pages_show_bare_numbers():
    pages = [page("Cover"), page("1 Introduction", "Rents rose.", "Short."),
             page("2", "Wages rose."), page("3", "Prices fell."), page("4", "Costs rose.")]
    texts, _ = reflow(pages)
    assert texts[1].startswith("1 Introduction")
