import json
from pathlib import Path

import pytest

from assistant.errors import CorpusError
from assistant.ingest import parse_date, read_corpus, read_file

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


@pytest.fixture(scope="module")
def seeds():
    return {p.document.doc_id: p for p in read_corpus(SEEDS)}


def test_seed_metadata_is_parsed_from_the_heads(seeds):
    d = seeds["000_00d9ca38244840a4"].document
    assert d.title == "Talent flow drives integrated urban-rural development"
    assert d.authors == ("Xin Baoying", "Pang Jiaping")
    assert d.date == "2021-02-18"
    assert d.source == "Chinese Social Sciences Today"
    d = seeds["002_39880fb65be5e4c4"].document
    assert d.authors == ("Fan Shide", "Huang Tianzhou") and d.date == "2024-11-21"
    d = seeds["003_7b280bcd34d210ec"].document
    assert d.title == "Research on the Urban-rural Integration Development in China"
    assert d.authors == ("Yuchi Zhou", "Wen Bao") and d.date == ""
    d = seeds["004_89f843d6a7ca3e66"].document
    assert d.authors == ("Su Hongwen", "Jiao Xudong", "Liu Zheng")
    assert d.date == "2018-02-15" and d.source == "Research Report Vol.20 No.1, 2018"
    assert seeds["001_3e4fe2d8ef67bf05"].document.authors == ("Li Xueqing", "Ma Xuefeng", "Wang Xinzhou")


def test_furniture_is_blanked_without_shifting_offsets(seeds):
    for doc_id, parsed in seeds.items():
        raw = (SEEDS / f"{doc_id}.txt").read_text(encoding="utf-8")
        text = parsed.document.text
        assert len(text) == len(raw)
        # Every kept character is where it was in the file.
        assert all(a == b or a == " " for a, b in zip(text, raw))
    assert "E-mail Alert" not in seeds["004_89f843d6a7ca3e66"].document.text
    assert "If you need the full text" not in seeds["004_89f843d6a7ca3e66"].document.text
    assert "Edited by" not in seeds["002_39880fb65be5e4c4"].document.text
    assert "Photo:" not in seeds["000_00d9ca38244840a4"].document.text
    assert "> topics" not in seeds["000_00d9ca38244840a4"].document.text
    assert "Special Reports" not in seeds["001_3e4fe2d8ef67bf05"].document.text


def test_sections_are_detected(seeds):
    titles = [s.title for s in seeds["003_7b280bcd34d210ec"].sections]
    assert titles[0] == "Abstract"
    assert "2.1. The Two-way Flow of Urban and Rural Elements is not Smooth" in titles
    assert titles[-1] == "4. Conclusion"  # References are back matter, not chunked
    assert [s.title for s in seeds["000_00d9ca38244840a4"].sections] == [
        "", "Urban citizenship", "Incentive mechanism", "Public services for all",
    ]
    assert seeds["004_89f843d6a7ca3e66"].sections[-1].title.endswith("› 2. Building good platforms")
    for parsed in seeds.values():
        for s in parsed.sections:
            assert 0 <= s.start < s.end <= len(parsed.document.text)


@pytest.mark.parametrize(
    "text,iso",
    [("2021-02-18 | Hits:", "2021-02-18"), ("BY X | 11-21-2024", "2024-11-21"), ("Feb 15,2018", "2018-02-15"),
     ("15 March 2019", "2019-03-15"), ("September 3, 2020", "2020-09-03"), ("no date here", "")],
)
def test_dates(text, iso):
    assert parse_date(text) == iso


def test_markdown_with_front_matter(tmp_path):
    f = tmp_path / "note.md"
    f.write_text("---\ntitle: Hukou note\nauthor: A. Writer\ndate: 2023-05-01\n---\n# Hukou note\n\n## Background\n\n"
                 + "The hukou system ties public services to the place of registration, which matters a great deal. " * 3 + "\n")
    (parsed,) = read_file(f)
    assert parsed.document.title == "Hukou note"
    assert parsed.document.authors == ("A. Writer",) and parsed.document.date == "2023-05-01"
    assert [s.title for s in parsed.sections] == ["Background"]


def test_beir_corpus(tmp_path):
    f = tmp_path / "corpus.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in [
        {"_id": "d1", "title": "One", "text": "First abstract text."},
        {"_id": "d2", "title": "", "text": "Second abstract."},
    ]) + "\n")
    docs = read_corpus(f)
    assert [d.document.doc_id for d in docs] == ["d1", "d2"]
    assert docs[0].document.title == "One" and docs[1].document.title == "d2"
    assert docs[0].sections[0].start == 0 and docs[0].sections[0].end == len("First abstract text.")


@pytest.mark.parametrize(
    "name,content,message",
    [("empty.txt", b"", "empty"), ("blank.txt", b"  \n\n ", "empty"), ("bin.txt", b"\x00\x01\x02abc", "binary"),
     ("latin.txt", "caf\xe9 au lait".encode("latin-1"), "UTF-8"), ("sheet.xlsx", b"PK", "unsupported")],
)
def test_bad_files_get_a_clear_error(tmp_path, name, content, message):
    f = tmp_path / name
    f.write_bytes(content)
    with pytest.raises(CorpusError, match=message):
        read_file(f)


def test_missing_paths_and_bad_beir(tmp_path):
    with pytest.raises(CorpusError, match="no such file"):
        read_corpus(tmp_path / "nope")
    with pytest.raises(CorpusError, match="no .txt"):
        read_corpus(tmp_path)
    bad = tmp_path / "corpus.jsonl"
    bad.write_text('{"title": "no id"}\n')
    with pytest.raises(CorpusError, match="not a BEIR record"):
        read_corpus(bad)


def test_a_beir_corpus_is_indexed_with_its_titles_and_files_without(tmp_path, encoder):
    from assistant import Assistant

    beir = tmp_path / "beir"
    beir.mkdir()
    (beir / "corpus.jsonl").write_text("\n".join(json.dumps(r) for r in [
        {"_id": "d1", "title": "Zebrafish regeneration", "text": "Cells in the fin grow back after injury."},
        {"_id": "d2", "title": "", "text": "Soil bacteria fix nitrogen for plants."},
        {"_id": "d3", "title": "Urban wages", "text": "Pay rose in large cities last year."},
    ]) + "\n")
    Assistant.build(beir, tmp_path / "index", encoder=encoder)
    qa = Assistant.load(tmp_path / "index", encoder=encoder)
    # The words are only in the title, which both BM25 and the passage vector take in.
    assert qa.search("zebrafish regeneration", k=1)[0].doc_id == "d1"
    assert qa.search("zebrafish regeneration", k=1)[0].text == "Cells in the fin grow back after injury."  # spans stay the text's
    retriever = qa._retriever
    assert retriever.lexical.scores("zebrafish", retriever.n).argmax() == 0
    title, body = encoder.encode(["Zebrafish regeneration", "Cells in the fin grow back after injury."])
    passage = retriever.dense_index.reconstruct(0)
    assert float(passage @ title) > 0.3 and float(passage @ body) > 0.3
    # An untitled record's id, its stand-in title, is not indexed as words.
    assert not retriever.lexical.scores("d2", retriever.n).any()
    assert not retriever.doc_lexical.scores("d2", retriever.n_docs).any()
    manifest = json.loads((tmp_path / "index" / (tmp_path / "index" / "CURRENT").read_text().strip() / "manifest.json").read_text())
    assert manifest["chunking"]["context_prefix"] is True


def test_a_folder_of_files_is_indexed_without_title_prefixes(fake_index):
    gen = fake_index / (fake_index / "CURRENT").read_text().strip()
    assert json.loads((gen / "manifest.json").read_text())["chunking"]["context_prefix"] is False


# ---------------------------------------------------------------- the first line: title or body

REPRO = "The rural pension is paid monthly to farmers over sixty and is far lower than the urban pension in every province"
LONG_TITLE = ("The Impact of Household Registration Reform on Labor Market Outcomes of Rural Migrants: Evidence "
              "from the China Labor Force Dynamics Survey")
BODY = "Second paragraph says migrants lack hukou, so their children cannot enrol in city schools.\n"


def _passages(parsed):
    from fakes import HashEncoder

    from assistant.chunking import ChunkSettings, chunk_document

    enc = HashEncoder()
    passages = chunk_document(parsed, enc.count_tokens, enc.max_tokens, ChunkSettings())
    for p in passages:
        assert parsed.document.text[p.start : p.end] == p.text  # offsets stay exact
    return passages


@pytest.mark.parametrize(
    "first,rest",
    [
        # As long as a paragraph line and not in Title Case.
        (REPRO, "\n\n"),
        # Ends like a sentence.
        ("Rural pensions are low.", "\n\n"),
        ("Under the 2014 reform, cities ranked by size set their own rules,", "\n"),
        # Wrapped mid-sentence onto the next line, as PDF text often is.
        ("Land reform changed how farmers hold their", "\nplots and how much they earn from renting them out each year.\n\n"),
    ],
)
def test_a_first_line_of_body_text_stays_in_the_body(tmp_path, first, rest):
    f = tmp_path / "note.txt"
    f.write_text(first + rest + BODY)
    (parsed,) = read_file(f)
    assert parsed.document.title == "note"  # the file stem, as for a file with no title
    assert parsed.sections[0].start == 0  # the first line is searchable
    passages = _passages(parsed)
    assert passages[0].start == 0 and passages[0].text.startswith(first)
    assert any(first in p.text for p in passages)


@pytest.mark.parametrize(
    "first,title",
    [
        ("Research on the Urban-rural Integration Development in China", None),
        ("Talent flow drives integrated urban-rural development", None),
        ("# Hukou and the city", "Hukou and the city"),
        ("Is the hukou system still a barrier?", None),
        ("Rural migration in China and the U.S.", None),
        # A long title in Title Case is still a title.
        (LONG_TITLE, None),
    ],
)
def test_a_real_title_line_is_still_the_title(tmp_path, first, title):
    f = tmp_path / "note.md"
    f.write_text(f"{first}\n\n{BODY}")
    (parsed,) = read_file(f)
    assert parsed.document.title == (title or first)
    assert parsed.document.text[parsed.sections[0].start :].strip() == BODY.strip()


def test_a_title_with_a_lower_case_byline_under_it(tmp_path):
    f = tmp_path / "note.txt"
    head = "Talent flow drives integrated urban-rural development\nby Xin Baoying and Pang Jiaping\n\n"
    f.write_text(head + BODY.strip() * 2 + "\n")  # one line of 30 words: a paragraph
    (parsed,) = read_file(f)
    assert parsed.document.title == "Talent flow drives integrated urban-rural development"
    assert parsed.document.authors == ("Xin Baoying", "Pang Jiaping")


def test_a_pdf_whose_first_line_wraps_mid_sentence(tmp_path):
    from fpdf import FPDF

    sentence = ("Land reform in the countryside has changed how farmers hold and transfer their plots, and most "
                "households now prefer long leases to outright sale because leases keep the option to return.")
    pdf = FPDF()  # no title in the metadata either: the title falls back to the file stem
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 8, sentence)
    f = tmp_path / "leases.pdf"
    pdf.output(str(f))
    (parsed,) = read_file(f)
    assert parsed.document.text == sentence  # the PDF's wrapped lines read as the one line written
    assert parsed.document.title == "leases"
    assert parsed.sections[0].start == 0 and parsed.sections[0].title == ""
    assert " ".join(" ".join(p.text for p in _passages(parsed)).split()) == sentence
