"""Users' own documents: add and remove, every format, bad files, filters, the LangChain retriever."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from assistant import Assistant, render
from assistant import store
from assistant.errors import CorpusError, DocumentExistsError, IndexBusyError, InputError

WATER = (
    "Rural water supply projects reached ninety percent of villages, according to the water ministry. "
    "Tap water coverage in the countryside is a key part of rural revitalization."
)


def make_pdf(path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("Rural Water Report")
    pdf.set_author("Jane Roe")
    pdf.set_creation_date(__import__("datetime").datetime(2023, 5, 1))
    pdf.set_font("helvetica", size=12)
    for text in (WATER, "Sewage treatment in villages lags behind the towns by a decade."):
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    pdf.output(str(path))


def make_docx(path: Path) -> None:
    import docx

    d = docx.Document()
    d.core_properties.title = "Village Clinics Memo"
    d.core_properties.author = "Li Wei"
    d.add_heading("Clinic staffing", level=1)
    d.add_paragraph("Village clinics lack qualified doctors, and rural patients travel to county hospitals for care.")
    d.save(str(path))


HTML = """<!doctype html><html><head><title>School buses in the countryside</title>
<meta name="author" content="Wang Fang"><meta name="date" content="2022-09-01"></head>
<body><nav><a href="/">Home</a> | <a href="/news">News</a></nav>
<article><h1>School buses in the countryside</h1>
<p>Rural school bus routes were extended so that children of migrant workers can attend boarding schools in towns.</p>
<p>The routes are funded by county education budgets under the rural revitalization plan.</p></article>
<script>document.title = "pwned"; var secretToken = 1;</script><footer>Copyright notice</footer></body></html>"""


def write_all_formats(folder: Path) -> dict[str, Path]:
    folder.mkdir(exist_ok=True)
    files = {
        "notes": folder / "notes.txt",
        "memo": folder / "memo.md",
        "buses": folder / "buses.html",
        "water": folder / "water.pdf",
        "clinics": folder / "clinics.docx",
    }
    files["notes"].write_text("Housing notes\n\nPublic rental housing is now open to migrant workers in many cities.\n")
    files["memo"].write_text("# Land memo\n\nAuthor: Zhao Lei\n\nRural homestead land may be leased but not sold to urban buyers.\n")
    files["buses"].write_text(HTML)
    make_pdf(files["water"])
    make_docx(files["clinics"])
    return files


def test_add_every_format_then_search_and_cite(fake_index, encoder, tmp_path):
    qa = Assistant.load(fake_index, encoder=encoder)
    before = {d.doc_id for d in qa.documents()}
    files = write_all_formats(tmp_path / "mine")
    report = qa.add(list(files.values()))
    assert report.changed and report.documents == len(before) + 5
    assert report.embedded == sum(1 for p in qa.passages if p.doc_id in files)  # only the new ones
    assert {d.doc_id for d in qa.documents()} == before | set(files)
    for p in qa.passages:
        assert qa.document(p.doc_id).text[p.start : p.end] == p.text

    pdf = qa.document("water")
    assert (pdf.title, pdf.authors, pdf.date) == ("Rural Water Report", ("Jane Roe",), "2023-05-01")
    pages = {p.page for p in qa.passages if p.doc_id == "water"}
    assert pages == {1, 2}
    hit = qa.search("sewage treatment villages", k=1, documents=["water"])[0]
    assert hit.page == 2 and "Sewage" in hit.text
    answer = qa.ask("sewage treatment in villages", documents=["water"], min_confidence=0.0)
    assert [(c.doc_id, c.page) for c in answer.citations][:1] == [("water", 2)]  # the page its quote is on
    assert answer.references[0]["pages"][0] == "2" and "p. 2" in render.plain(answer)

    html = qa.document("buses")
    assert html.title == "School buses in the countryside" and html.date == "2022-09-01"
    assert "secretToken" not in html.text and "Home" not in html.text and "Copyright" not in html.text
    assert qa.document("clinics").title == "Village Clinics Memo"
    assert qa.search("clinic doctors", k=1)[0].doc_id == "clinics"
    assert qa.document("memo").authors == ("Zhao Lei",)


def test_adding_the_same_files_again_changes_nothing(fake_index, encoder, tmp_path):
    qa = Assistant.load(fake_index, encoder=encoder)
    files = write_all_formats(tmp_path / "mine")
    qa.add(list(files.values()))
    gen = store.resolve_generation(fake_index)
    again = qa.add(tmp_path / "mine")  # a folder works too
    assert not again.changed and again.embedded == 0
    assert store.resolve_generation(fake_index) == gen


def test_a_changed_file_replaces_its_document(fake_index, encoder, tmp_path):
    qa = Assistant.load(fake_index, encoder=encoder)
    f = tmp_path / "policy.txt"
    f.write_text("Old policy\n\nThe old rule capped rural pensions at a low level for every resident.\n")
    qa.add(f)
    f.write_text("New policy\n\nThe new rule raises rural pensions every year for every resident.\n")
    # Another text under a held id is refused: it may be someone else's "policy.txt".
    with pytest.raises(DocumentExistsError, match="already holds a different document with the id policy"):
        qa.add(f)
    assert "capped" in qa.document("policy").text
    report = qa.add(f, replace=True)
    assert report.changed and report.embedded == 1 and report.replaced == ("policy",)
    assert "raises" in qa.document("policy").text


def test_build_keeps_added_documents_and_removed_ones_stay_removed(corpus, fake_index, encoder, tmp_path):
    qa = Assistant.load(fake_index, encoder=encoder)
    f = tmp_path / "extra.md"
    f.write_text("# Extra\n\nCounty towns absorb most returning migrant workers.\n")
    qa.add(f)
    seed = sorted(p.stem for p in corpus.iterdir())[0]
    qa.remove(seed)
    assert seed not in {d.doc_id for d in qa.documents()}
    # A corpus build neither drops the added document nor brings the removed one back.
    report = Assistant.build(corpus, fake_index, encoder=encoder)
    assert not report.changed
    (corpus / sorted(p.name for p in corpus.iterdir())[1]).write_text("Changed\n\nA changed seed document about hukou.\n")
    report = Assistant.build(corpus, fake_index, encoder=encoder)
    assert report.changed and report.embedded == 1
    ids = {d.doc_id for d in Assistant.load(fake_index, encoder=encoder).documents()}
    assert "extra" in ids and seed not in ids
    # Adding it back by hand is allowed.
    qa = Assistant.load(fake_index, encoder=encoder)
    qa.add(next(corpus.glob(seed + ".*")))
    assert seed in {d.doc_id for d in qa.documents()}


def test_remove_refuses_unknown_ids_and_removing_everything(fake_index, encoder):
    qa = Assistant.load(fake_index, encoder=encoder)
    gen = store.resolve_generation(fake_index)
    with pytest.raises(InputError, match="unknown document id: nope"):
        qa.remove(["nope"])
    with pytest.raises(InputError, match="every document"):
        qa.remove([d.doc_id for d in qa.documents()])
    assert store.resolve_generation(fake_index) == gen


def _bad_files(folder: Path) -> dict[str, Path]:
    from fpdf import FPDF

    folder.mkdir()
    bad = {
        "empty": folder / "empty.txt",
        "binary": folder / "binary.txt",
        "not utf-8": folder / "latin.txt",
        "unknown extension": folder / "sheet.xlsx",
        "not a pdf": folder / "fake.pdf",
        "not a docx": folder / "fake.docx",
        "image-only pdf": folder / "scan.pdf",
        "encrypted pdf": folder / "locked.pdf",
        "missing": folder / "gone.md",
        "too big": folder / "huge.txt",
    }
    bad["empty"].write_bytes(b"")
    bad["binary"].write_bytes(b"\x00\x01\x02PK\x03\x04" * 100)
    bad["not utf-8"].write_bytes("Café politique rurale\n\nLa réforme".encode("latin-1"))
    bad["unknown extension"].write_bytes(b"PK\x03\x04 spreadsheet")
    bad["not a pdf"].write_text("just text pretending")
    bad["not a docx"].write_bytes(b"plain bytes, not a zip")
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(10, 10, 50, 50, style="F")  # a page with a drawing and no text layer
    pdf.output(str(bad["image-only pdf"]))
    import pypdf

    writer = pypdf.PdfWriter()
    reader = pypdf.PdfReader(str(_text_pdf(folder / "plain.pdf")))
    for page in reader.pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner")
    with open(bad["encrypted pdf"], "wb") as f:
        writer.write(f)
    (folder / "plain.pdf").unlink()
    with open(bad["too big"], "wb") as f:
        f.truncate(21 * 1024 * 1024)  # sparse: over the 20 MB limit without writing it
    return bad


def _text_pdf(path: Path) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, WATER)
    pdf.output(str(path))
    return path


def test_bad_files_get_one_line_each_and_change_nothing(fake_index, encoder, tmp_path):
    qa = Assistant.load(fake_index, encoder=encoder)
    gen = store.resolve_generation(fake_index)
    files_before = sorted(p.name for p in gen.iterdir())
    good = _text_pdf(tmp_path / "good.pdf")
    messages = {}
    for what, path in _bad_files(tmp_path / "bad").items():
        with pytest.raises(CorpusError) as info:
            qa.add([good, path])  # a good file beside a bad one: still nothing is written
        message = str(info.value)
        assert "\n" not in message and str(path.name) in message, (what, message)
        messages[what] = message
    assert store.resolve_generation(fake_index) == gen
    assert sorted(p.name for p in gen.iterdir()) == files_before
    assert "good" not in {d.doc_id for d in qa.documents()}
    assert "password" in messages["encrypted pdf"] and "text" in messages["image-only pdf"]
    assert "MB" in messages["too big"] and "unsupported" in messages["unknown extension"]


def test_filters_by_document_and_date(fake_index, encoder, tmp_path):
    qa = Assistant.load(fake_index, encoder=encoder)
    files = write_all_formats(tmp_path / "mine")
    qa.add([files["water"], files["buses"]])  # dated 2023-05-01 and 2022-09-01
    dated = {d.doc_id: d.date for d in qa.documents()}
    hits = qa.search("rural", k=50, since="2022-06", until="2022-12-31")
    assert hits and {h.doc_id for h in hits} == {d for d, date in dated.items() if date and "2022-06" <= date <= "2022-12-31"}
    assert {h.doc_id for h in qa.search("rural", k=50, since="2023")} == {d for d, date in dated.items() if date >= "2023"}
    assert qa.search("rural", k=5, since="2030") == []
    empty = qa.ask("what share of villages have tap water?", since="2030")
    assert not empty.answered and empty.text == "No document matches the filters (since 2030)." and empty.confidence is None
    assert all(h.doc_id == "water" for h in qa.search("rural", k=5, documents=["water"]))
    answer = qa.ask("what share of villages have tap water?", documents=["buses"])
    assert all(c.doc_id == "buses" for c in answer.citations)
    with pytest.raises(InputError, match="since must be a date"):
        qa.search("rural", since="last year")
    with pytest.raises(InputError, match="unknown document id"):
        qa.search("rural", documents=["nope"])
    with pytest.raises(InputError, match="since must be a date"):
        qa.search("rural", since="2021-02-30")  # the pattern fits, but there is no such day
    with pytest.raises(InputError, match="written as text"):
        qa.search("rural", until=2021)
    with pytest.raises(InputError, match="empty list"):
        qa.ask("rural water", documents=[])
    with pytest.raises(InputError, match="list of document ids"):
        qa.search("rural", documents=5)


def test_bad_arguments_are_input_errors_not_crashes(fake_index, encoder):
    qa = Assistant.load(fake_index, encoder=encoder)
    for bad in ("hukou \udc80 reform", "\ud800"):  # lone surrogates: bytes that were not UTF-8
        with pytest.raises(InputError, match="not valid text"):
            qa.ask(bad)
        with pytest.raises(InputError, match="not valid text"):
            qa.search(bad)
    for bad in (2, -0.1, "x", None, True):
        with pytest.raises(InputError, match="min_confidence"):
            qa.ask("rural water", min_confidence=bad)
    assert qa.ask("rural water", min_confidence=0).answered


def test_a_second_writer_is_told_the_index_is_being_updated(fake_index, encoder, tmp_path):
    qa = Assistant.load(fake_index, encoder=encoder)
    f = tmp_path / "x.txt"
    f.write_text("Title\n\nSome text about village roads and their upkeep.\n")
    with store.writer_lock(fake_index):
        with pytest.raises(IndexBusyError, match="being updated"):
            qa.add(f)
        with pytest.raises(IndexBusyError):
            qa.remove([qa.documents()[0].doc_id])


def test_readers_see_old_or_new_never_a_mix(fake_index, encoder, tmp_path):
    """A server's requests keep running on their generation while writers switch it underneath."""
    from assistant.server import LiveAssistant

    live = LiveAssistant(Assistant.load(fake_index, encoder=encoder))
    files = write_all_formats(tmp_path / "mine")
    errors: list[BaseException] = []
    seen_counts: set[int] = set()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                qa = live.get()
                seen_counts.add(len(qa.documents()))
                for p in qa.search("rural water school clinics", k=10):
                    assert qa.document(p.doc_id).text[p.start : p.end] == p.text
            except BaseException as exc:  # noqa: BLE001 - collected, then failed below
                errors.append(exc)
                return

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    writer = Assistant.load(fake_index, encoder=encoder)
    for name in ("notes", "memo", "buses"):
        writer.add(files[name])
        writer.remove([name])
    writer.add(files["clinics"])
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(live.get().documents()) == 6  # and the reader moved to the newest generation
    assert seen_counts <= {5, 6}


def test_langchain_retriever(fake_index, encoder, tmp_path):
    from langchain_core.documents import Document as LCDocument
    from langchain_core.retrievers import BaseRetriever

    qa = Assistant.load(fake_index, encoder=encoder)
    retriever = qa.as_langchain_retriever(k=3)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("migrant workers hukou")
    assert len(docs) == 3 and all(isinstance(d, LCDocument) for d in docs)
    for d in docs:
        m = d.metadata
        assert set(m) == {"doc_id", "title", "section", "start", "end", "score", "page"}
        assert qa.document(m["doc_id"]).text[m["start"] : m["end"]] == d.page_content
    only = qa.documents()[0].doc_id
    filtered = qa.as_langchain_retriever(k=2, documents=[only]).invoke("rural")
    assert {d.metadata["doc_id"] for d in filtered} == {only}
    assert len(qa.as_langchain_retriever(k=1).invoke("rural", k=4)) == 4  # per-call k, as LangChain allows


def test_a_damaged_new_generation_does_not_take_a_server_down(fake_index, encoder, tmp_path, capsys):
    from assistant.server import LiveAssistant

    live = LiveAssistant(Assistant.load(fake_index, encoder=encoder))
    before = live.get().path
    f = tmp_path / "x.txt"
    f.write_text("Roads\n\nVillage roads are now paved in most counties of the province.\n")
    Assistant.load(fake_index, encoder=encoder).add(f)
    (store.resolve_generation(fake_index) / "manifest.json").write_text("{broken")
    qa = live.get()
    assert qa.path == before and qa.search("village roads", k=1)
    assert "not switching" in capsys.readouterr().err
