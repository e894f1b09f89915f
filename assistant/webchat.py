"""The web chat (Gradio): answers with clickable markers, a sources panel, filters, export.

Every string that came from a user or a document is escaped here before it
reaches the page: HTML-escaped, and in the chat (which renders Markdown) its
Markdown punctuation backslash-escaped too, so text shows as text and no
link, image or script can be made of it.
"""

from __future__ import annotations

import html
import os
import re
import secrets
import shutil
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from . import catalog, render
from .render import md_escape, split_markers
from .core import MAX_QUERY_CHARS, Assistant
from .errors import AssistantError
from .ingest import MAX_FILE_BYTES
from .progress import Progress
from .types import Answer
from .uploads import MAX_FILES, UPLOAD_SUFFIXES, add_files, server_temp

# Example questions about the bundled seeds, each with the document that answers it: shown only
# when that document is in the index, so a page over other documents offers none that miss them.
# The last one the seeds do not answer (it shows a refusal); it comes with the others.
EXAMPLES = (
    ("What obstacles block migrant citizenization?", "000_00d9ca38244840a4"),
    ("Why do few migrant workers return to the countryside?", "004_89f843d6a7ca3e66"),
    ("How did Huichuan support returning migrants who start businesses?", "004_89f843d6a7ca3e66"),
    ("What is the minimum wage in Guangdong?", None),
)

MAX_DOWNLOADS = 16  # answer files kept on our side (Gradio serves its own copy of each)
CONTEXT_CHARS = 500  # of the quote's paragraph shown around it in the sources panel
SHOWN_CHARS = 200_000  # of a document opened in the Documents tab (the API gives the whole text)


def examples_for(doc_ids: set[str]) -> list[str]:
    """The example questions that fit an index holding ``doc_ids``."""
    fit = [q for q, doc in EXAMPLES if doc in doc_ids]
    return fit + [q for q, doc in EXAMPLES if doc is None] if fit else []


# What the chat's Markdown renderer would turn into a link by itself (GFM autolinks).
_AUTOLINK = re.compile(r"(?i)\b(https?|ftp)(:)(?=//)|\b(www)(\.)|(@)")


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def chat_escape(text: str) -> str:
    """Text the chat shows as written: no markup, and no link made of a URL in a document."""
    return _AUTOLINK.sub(lambda m: "".join(f"\\{g}" if g in (":", ".", "@") else g for g in m.groups() if g),
                         md_escape(text))


def chat_message(answer: Answer, turn: int) -> str:
    """The assistant's message: escaped quotes, markers as links to the sources panel."""
    if not answer.answered:
        related = "The closest passages are listed under Sources, as related reading, not as an answer." \
            if answer.passages else "No passage comes close."
        return f"**{chat_escape(answer.text)}**\n\n{related}"
    paragraphs = []
    for para in answer.text.split("\n\n"):
        body, markers = split_markers(para)
        links = "".join(f'<a href="#src-{turn}-{n}" class="cite">[{n}]</a>' for n in markers)
        paragraphs.append(f"{chat_escape(body)} {links}".strip())
    return "\n\n".join(paragraphs)


def _context(text: str, start: int, end: int) -> tuple[str, str]:
    """The rest of the quote's paragraph on each side, bounded, cut only between words."""
    a = text.rfind("\n\n", max(0, start - CONTEXT_CHARS), start)
    if a >= 0:
        a += 2
    else:
        a = max(0, start - CONTEXT_CHARS)
        if a > 0:
            space = text.find(" ", a, start)
            a = space + 1 if space >= 0 else start
    b = text.find("\n\n", end, end + CONTEXT_CHARS)
    if b < 0:
        b = min(len(text), end + CONTEXT_CHARS)
        if b < len(text):
            space = text.rfind(" ", end, b)
            b = space if space >= 0 else end
    cut_before = a > 0 and text[a - 1] != "\n"
    cut_after = b < len(text) and text[b] != "\n"
    return ("… " if cut_before else "") + text[a:start], text[end:b] + (" …" if cut_after else "")


def _meta(qa: Assistant, doc_id: str) -> str:
    doc = qa.document(doc_id)
    who = ", ".join(doc.authors) or "author not stated"
    parts = [who, doc.date or "undated", doc.source]
    return " · ".join(_esc(p) for p in parts if p)


def sources_html(turns: list[dict[str, Any]], qa: Assistant) -> str:
    """Every turn's sources, newest first; each is a <details> a marker can open."""
    if not turns:
        return ('<div class="pqa-empty">Sources appear here. Each marker [n] in an answer opens the passage '
                "it quotes, with the quote highlighted.</div>")
    out = []
    for turn in range(len(turns), 0, -1):
        answer: Answer = turns[turn - 1]["answer"]
        out.append(f'<section class="pqa-turn"><h4>Q{turn}: {_esc(answer.question)}</h4>')
        if answer.answered:
            for c in answer.citations:
                try:
                    text = qa.document(c.doc_id).text
                    meta = _meta(qa, c.doc_id)
                except AssistantError:  # the document was removed since this answer
                    text, meta = c.quote, "no longer in the index"
                if text[c.start:c.end] == c.quote:
                    c_start, c_end = c.start, c.end
                else:  # replaced since this answer: the quote alone, not someone else's context
                    text, c_start, c_end = c.quote, 0, len(c.quote)
                    meta = meta if meta == "no longer in the index" else "changed since this answer; the quote as it was"
                before, after = _context(text, c_start, c_end)
                where = " — ".join(_esc(x) for x in (c.title, c.section, f"p. {c.page_label or c.page}" if c.page else "") if x)
                out.append(
                    f'<details class="pqa-source" id="src-{turn}-{c.n}"><summary><b>[{c.n}]</b> {where}</summary>'
                    f'<div class="pqa-meta">{meta} · characters {c.start}–{c.end} of <code>{_esc(c.doc_id)}</code></div>'
                    f'<blockquote>{_esc(before)}<mark>{_esc(c.quote)}</mark>{_esc(after)}</blockquote></details>'
                )
        else:
            out.append('<div class="pqa-abstain">Not covered by the documents. Related passages, not an answer:</div>')
            for i, p in enumerate(answer.passages[:3], start=1):
                where = " — ".join(_esc(x) for x in (p.title, p.section) if x)
                preview = _esc(textwrap.shorten(" ".join(p.text.split()), width=110))
                out.append(
                    f'<details class="pqa-related" id="rel-{turn}-{i}"><summary>{where}'
                    f'<div class="pqa-preview">{preview}</div></summary>'
                    f'<div class="pqa-meta">characters {p.start}–{p.end} of <code>{_esc(p.doc_id)}</code></div>'
                    f'<blockquote>{_esc(p.text)}</blockquote></details>'
                )
        out.append("</section>")
    return "".join(out)


def documents_html(rows: list[dict[str, Any]]) -> str:
    """The Documents tab's table (catalog.summaries rows), every cell escaped."""
    added = sum(r["added"] for r in rows)
    head = (f'<div class="pqa-meta">{len(rows)} documents: {len(rows) - added} bundled with the corpus, '
            f'{added} added. Open one below to read its text.</div>')
    cells = []
    for r in rows:
        who = ", ".join(r["authors"]) or "—"
        cells.append(
            f'<tr data-doc="{_esc(r["doc_id"])}"><td><b>{_esc(r["title"])}</b><br><code>{_esc(r["doc_id"])}</code></td>'
            f'<td>{_esc(who)}</td><td>{_esc(r["date"] or "undated")}</td><td class="pqa-num">{r["passages"]:,}</td>'
            f'<td>{"added" if r["added"] else "bundled"}</td></tr>'
        )
    return (f'{head}<table class="pqa-doctable"><thead><tr><th>Title</th><th>Authors</th><th>Date</th>'
            f'<th>Passages</th><th>How</th></tr></thead><tbody>{"".join(cells)}</tbody></table>')


def document_html(doc: dict[str, Any] | None) -> str:
    """One document (catalog.full) for reading: its details, then its text, escaped."""
    if doc is None:
        return '<div class="pqa-empty">Choose a document above to read its text here.</div>'
    text = doc["text"]
    cut = len(text) > SHOWN_CHARS
    details = [", ".join(doc["authors"]) or "author not stated", doc["date"] or "undated", doc["source"],
               f"{doc['passages']:,} passages", f"{doc['characters']:,} characters",
               "added" if doc["added"] else "bundled with the corpus"]
    note = (f'<div class="pqa-meta">The first {SHOWN_CHARS:,} characters are shown; the whole text is at '
            f'<code>/api/documents/{_esc(doc["doc_id"])}</code>.</div>') if cut else ""
    return (f'<h4>{_esc(doc["title"])}</h4><div class="pqa-meta">{" · ".join(_esc(d) for d in details if d)}'
            f' · <code>{_esc(doc["doc_id"])}</code></div>{note}'
            f'<div class="pqa-doctext">{_esc(text[:SHOWN_CHARS])}</div>')


CSS = """
#pqa-sources { max-height: 640px; overflow-y: auto; }
#pqa-sources, #pqa-chat { overflow-wrap: anywhere; word-break: break-word; }
.pqa-turn h4 { margin: 0.8em 0 0.3em; }
.pqa-source, .pqa-related { border: 1px solid var(--border-color-primary); border-radius: 6px;
  padding: 0.3em 0.6em; margin: 0.3em 0; }
.pqa-source[open] { background: var(--background-fill-secondary); }
.pqa-source summary, .pqa-related summary { cursor: pointer; }
.pqa-meta { font-size: 0.85em; opacity: 0.8; margin: 0.3em 0; }
.pqa-source blockquote, .pqa-related blockquote { margin: 0.3em 0; white-space: pre-wrap; }
.pqa-source mark { background: #ffe58a; color: #000; padding: 0 2px; }
.pqa-abstain { font-weight: 600; margin: 0.3em 0; }
.pqa-preview { font-size: 0.85em; opacity: 0.75; margin-left: 1.2em; }
.pqa-flash { outline: 3px solid #f0a500; }
a.cite { text-decoration: none; font-weight: 600; }
#pqa-upload-status, #pqa-doc-status { min-height: 3.5em; }  /* room for Gradio's progress while a change runs */
#pqa-doc-view, .pqa-doctable td:first-child { overflow-wrap: anywhere; word-break: break-word; }
.pqa-doctable { width: 100%; border-collapse: collapse; font-size: 0.92em; }
.pqa-doctable th, .pqa-doctable td { text-align: left; vertical-align: top; padding: 0.35em 0.5em; border: none;
  border-bottom: 1px solid var(--border-color-primary); }
.pqa-doctable th:nth-child(n+3), .pqa-doctable td:nth-child(n+3) { white-space: nowrap; }
.pqa-doctable td.pqa-num { text-align: right; }
.pqa-doctable code { font-size: 0.85em; opacity: 0.75; }
.pqa-doctext { white-space: pre-wrap; max-height: 560px; overflow-y: auto; padding: 0.6em;
  border: 1px solid var(--border-color-primary); border-radius: 6px; background: var(--background-fill-secondary); }
"""

# A marker [n] opens and scrolls to its source. Capture phase, so it wins over the chat's own link handling.
HEAD = """
<script>
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest('a[href^="#src-"]');
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  var target = document.getElementById(link.getAttribute("href").slice(1));
  if (!target) return;
  target.open = true;
  target.scrollIntoView({block: "nearest", behavior: "smooth"});
  target.classList.add("pqa-flash");
  setTimeout(function () { target.classList.remove("pqa-flash"); }, 1500);
}, true);
</script>
"""


def build_chat(live, read_only: bool = False) -> gr.Blocks:
    """The chat page; ``live.get()`` is the assistant on the index's current generation.

    With ``read_only`` the page has no upload and no remove, and the events for them do not exist."""
    get_qa: Callable[[], Assistant] = live.get
    download_dir = server_temp() / "answers"
    download_dir.mkdir(exist_ok=True)

    def choices() -> list[tuple[str, str]]:
        return [(f"{d.title} ({d.date or 'undated'})", d.doc_id) for d in get_qa().documents()]

    def respond(question: str, chat: list, turns: list, documents: list[str] | None):
        question = (question or "").strip()
        if not question:
            gr.Warning("Type a question first.")
            return chat, turns, gr.skip(), gr.skip(), gr.skip(), question
        if len(question) > MAX_QUERY_CHARS:
            gr.Warning(f"The question is {len(question)} characters long; the limit is {MAX_QUERY_CHARS}.")
            return chat, turns, gr.skip(), gr.skip(), gr.skip(), question
        qa = get_qa()
        history = [t["question"] for t in turns]
        try:
            answer = qa.ask(question, history, documents=documents or None)
        except AssistantError as exc:
            chat = chat + [{"role": "user", "content": chat_escape(question)},
                           {"role": "assistant", "content": f"**Could not answer:** {chat_escape(str(exc))}"}]
            return chat, turns, gr.skip(), gr.skip(), gr.skip(), ""
        turns = turns + [{"question": question, "answer": answer}]
        chat = chat + [{"role": "user", "content": chat_escape(question)},
                       {"role": "assistant", "content": chat_message(answer, len(turns))}]
        report = render.markdown(answer)
        folder = download_dir / f"{time.time_ns()}-{secrets.token_hex(4)}"  # per answer: the file keeps a plain name
        folder.mkdir()
        for old in sorted(download_dir.iterdir())[:-MAX_DOWNLOADS]:  # a long-running server keeps the newest only
            shutil.rmtree(old, ignore_errors=True)
        path = folder / "policyqa-answer.md"
        path.write_text(report, encoding="utf-8")
        return chat, turns, sources_html(turns, qa), report, gr.update(value=str(path), interactive=True), ""

    def clear():
        return [], [], sources_html([], get_qa()), "", gr.update(value=None, interactive=False), ""

    def held():
        """The Documents tab as the index now is: its table, and the choices of both pickers."""
        qa = get_qa()
        return documents_html(catalog.summaries(qa)), gr.update(choices=choices()), gr.update(choices=choices())

    def open_document(doc_id: str | None):
        if not doc_id:
            return document_html(None), gr.update(visible=False), ""
        try:
            doc = catalog.full(get_qa(), doc_id)
        except AssistantError:  # removed since the list was drawn
            return document_html(None), gr.update(visible=False), "That document is no longer in the index."
        return document_html(doc), gr.update(visible=not read_only and doc["added"]), ""

    with gr.Blocks(title="Policy documents — cited answers", analytics_enabled=False) as demo:
        gr.Markdown(
            "## Ask the policy documents\n"
            "Answers are sentences quoted from the documents. Click a marker such as **[1]** to open its source, "
            "with the quote highlighted. When the documents do not answer, the chat says so."
        )
        turns = gr.State([])
        with gr.Tabs(elem_id="pqa-tabs"):
            with gr.Tab("Ask", id="ask", elem_id="pqa-tab-ask"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chat = gr.Chatbot(
                            label="Conversation", elem_id="pqa-chat", height=520, latex_delimiters=[],
                            sanitize_html=True, feedback_options=None, buttons=[], group_consecutive_messages=False,
                        )
                        with gr.Row():
                            box = gr.Textbox(
                                placeholder="Ask a question, or a follow-up such as “and their children?”",
                                show_label=False, scale=5, max_length=MAX_QUERY_CHARS, elem_id="pqa-question",
                                autofocus=True,
                            )
                            send = gr.Button("Ask", variant="primary", scale=1, elem_id="pqa-ask")
                        documents = gr.Dropdown(
                            choices=choices(), multiselect=True, value=[], elem_id="pqa-documents",
                            label="Search in", info="Leave empty to search all documents.",
                        )
                        examples = examples_for({d.doc_id for d in get_qa().documents()})
                        if examples:
                            gr.Examples(examples, inputs=box, label="Example questions")
                        with gr.Row():
                            clear_btn = gr.Button("Clear conversation", elem_id="pqa-clear")
                            download = gr.DownloadButton("Download answer (.md)", interactive=False, elem_id="pqa-download")
                        with gr.Accordion("Answer with references, as Markdown for a report", open=False):
                            report = gr.Textbox(show_label=False, lines=8, buttons=["copy"], interactive=False,
                                                elem_id="pqa-markdown")
                        if not read_only:
                            with gr.Accordion("Add your own documents", open=False):
                                uploads = gr.File(
                                    file_count="multiple", file_types=list(UPLOAD_SUFFIXES), type="filepath",
                                    elem_id="pqa-upload",
                                    label=f"{', '.join(UPLOAD_SUFFIXES)} — up to {MAX_FILES} files of "
                                          f"{MAX_FILE_BYTES // 2**20} MB",
                                )
                                add_btn = gr.Button("Add to the documents", elem_id="pqa-add")
                                upload_status = gr.Markdown(elem_id="pqa-upload-status")
                    with gr.Column(scale=2):
                        gr.Markdown("### Sources")
                        sources = gr.HTML(sources_html([], get_qa()), elem_id="pqa-sources")
            with gr.Tab("Documents", id="documents", elem_id="pqa-tab-documents") as documents_tab:
                doc_list = gr.HTML(documents_html(catalog.summaries(get_qa())), elem_id="pqa-doclist")
                with gr.Row(equal_height=True):
                    doc_pick = gr.Dropdown(choices=choices(), value=None, label="Open a document", scale=4,
                                           elem_id="pqa-doc-pick")
                    remove_btn = gr.Button("Remove this document", variant="stop", visible=False, scale=1,
                                           elem_id="pqa-remove")
                doc_status = gr.Markdown(elem_id="pqa-doc-status")
                doc_view = gr.HTML(document_html(None), elem_id="pqa-doc-view")

        outputs = [chat, turns, sources, report, download, box]
        inputs = [box, chat, turns, documents]
        send.click(respond, inputs, outputs, api_name="ask", concurrency_id="ask")
        box.submit(respond, inputs, outputs, api_visibility="private", concurrency_id="ask")
        clear_btn.click(clear, None, outputs, api_visibility="private", queue=False)
        demo.load(lambda: gr.update(choices=choices()), None, documents, api_visibility="private", queue=False)
        documents_tab.select(held, None, [doc_list, documents, doc_pick], api_visibility="private", queue=False)
        doc_pick.change(open_document, doc_pick, [doc_view, remove_btn, doc_status], api_visibility="private",
                        queue=False)
        if read_only:
            return demo

        def add(files, progress=gr.Progress()):
            if not files:
                return "Choose one or more files first.", gr.skip(), None, gr.skip(), gr.skip()
            # Gradio already refuses a file that was not uploaded to it; checked here once more,
            # since reading a server path into the index would publish it.
            uploaded = os.path.realpath(os.environ.get("GRADIO_TEMP_DIR") or server_temp() / "gradio")
            paths = [Path(f) for f in files]

            def shown(event: Progress) -> None:  # Gradio's bar over the status, with each step's name
                progress((event.done, event.total) if event.total else None, desc=event.label, unit=event.unit + "s")

            try:
                if not all(os.path.realpath(p).startswith(uploaded + os.sep) for p in paths):
                    return "Only files uploaded here can be added.", gr.skip(), None, gr.skip(), gr.skip()
                result = add_files(live, [(p.name, p) for p in paths], progress=shown)
            finally:
                for p in paths:  # the index keeps the extracted text; the uploaded file goes now
                    if os.path.realpath(p).startswith(uploaded + os.sep):
                        p.unlink(missing_ok=True)
            status = "\n\n".join(md_escape(line) for line in result.lines())
            table, *pickers = held()
            return status, pickers[0], None, table, pickers[1]

        def remove(doc_id: str | None):
            try:
                qa = get_qa()
                if not doc_id or not catalog.full(qa, doc_id)["added"]:
                    return "Only documents added here can be removed.", gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
                live.remove([doc_id])
            except AssistantError as exc:
                return f"Not removed: {md_escape(str(exc))}", gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            table, ask_picker, _ = held()
            return (f"Removed {md_escape(doc_id)}; the index now holds {len(get_qa().documents())} documents.",
                    table, ask_picker, gr.update(choices=choices(), value=None), document_html(None),
                    gr.update(visible=False))

        add_btn.click(add, uploads, [upload_status, documents, uploads, doc_list, doc_pick], api_visibility="private",
                      concurrency_id="add", concurrency_limit=1, show_progress_on=[upload_status])
        remove_btn.click(remove, doc_pick, [doc_status, doc_list, documents, doc_pick, doc_view, remove_btn],
                         api_visibility="private", concurrency_id="add")
    return demo
