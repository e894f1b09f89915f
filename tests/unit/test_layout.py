"""Lines that are not prose are recognised by their form, on any document."""

from assistant.layout import quotable, unquotable_spans

REPORT = """Highway Bridges: Conditions and Funding

Product Type: Reports
Report No.: R47194
Author(s): Kirk, Robert S.

Summary

About 7% of the nation's bridges are in poor condition. Congress funds their repair through formula programs.

Table 1. Bridge Conditions, 2024

| Condition | Bridges | Share
| Good | 290,000 | 47%
| Poor | 42,000 | 7%
Interstate only

Note: Figures are rounded.
https://www.fhwa.dot.gov/bridge/nbi.cfm

1. The Bridge Investment Program received $12.5 billion.
2. States must spend the funds within four years.

# Footnotes

| 1. | FHWA, National Bridge Inventory, 2024, https://www.fhwa.dot.gov/bridge/.
Some wrapped footnote text without a link.

# Conclusion

Repair needs exceed funding.
[12] Smith J, et al. Bridge decay. Eng J. 2020;4:1-9.
14 U.S. Department of Transportation, "Bridge Conditions," accessed April 14, 2026, https://www.bts.gov/.
12 States repaired more bridges than they built in 2024, the department reported.
"""


def _unquotable_lines(text):
    return [text[a:b] for a, b in unquotable_spans(text)]


def test_tables_notes_links_captions_and_labels_are_not_prose():
    lines = _unquotable_lines(REPORT)
    for expected in ("Product Type: Reports", "Report No.: R47194", "Table 1. Bridge Conditions, 2024",
                     "| Good | 290,000 | 47%", "Interstate only", "https://www.fhwa.dot.gov/bridge/nbi.cfm",
                     "| 1. | FHWA, National Bridge Inventory, 2024, https://www.fhwa.dot.gov/bridge/.",
                     "Some wrapped footnote text without a link.",
                     "[12] Smith J, et al. Bridge decay. Eng J. 2020;4:1-9.",
                     '14 U.S. Department of Transportation, "Bridge Conditions," accessed April 14, 2026, https://www.bts.gov/.'):
        assert expected in lines, expected


def test_prose_numbered_lists_bylines_and_notes_stay_quotable():
    lines = _unquotable_lines(REPORT)
    for prose in ("About 7% of the nation's bridges are in poor condition. Congress funds their repair through formula programs.",
                  "1. The Bridge Investment Program received $12.5 billion.", "Author(s): Kirk, Robert S.",
                  "Note: Figures are rounded.", "Repair needs exceed funding.", "Highway Bridges: Conditions and Funding",
                  "12 States repaired more bridges than they built in 2024, the department reported."):
        assert prose not in lines, prose


def test_sentence_spans_are_judged_by_the_lines_they_lie_in():
    row = REPORT.index("| Good")
    prose = REPORT.index("About 7%")
    assert quotable(REPORT, [(row, row + 10), (prose, prose + 40)]).tolist() == [False, True]
    assert quotable("Plain text only.", [(0, 16)]).tolist() == [True]
