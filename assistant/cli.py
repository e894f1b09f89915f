"""``policyqa``: build, search and evaluate from the shell.

Output is for people unless ``--json`` asks for JSON. Errors are one line on
stderr and a non-zero exit: 1 for a problem to fix, 2 for a wrong command line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from pathlib import Path

from .errors import AssistantError
from .progress import Progress

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
DEFAULT_QUESTIONS = DATA / "questions.jsonl"
DEFAULT_UNANSWERABLE = DATA / "unanswerable.jsonl"
DEFAULT_FOLLOWUPS = DATA / "followups.jsonl"


def _index_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", metavar="DIR|URI",
                   help="index folder, or a Milvus index: milvus-lite:PATH, milvus://HOST:PORT[/DB], https://HOST:PORT[/DB] "
                        "(default: index/ of the bundled seeds/, built if missing)")


def _filter_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--doc", action="append", metavar="DOC_ID", help="only this document (repeat for several)")
    p.add_argument("--since", metavar="DATE", help="only documents dated on or after DATE (2021, 2021-06, 2021-06-30)")
    p.add_argument("--until", metavar="DATE", help="only documents dated on or before DATE")


def _filters(args) -> dict:
    return {"documents": args.doc, "since": args.since, "until": args.until}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="policyqa",
        description="Search a corpus of policy documents; every result is an exact, citable passage.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("build", help="build or update an index from documents")
    p.add_argument("--corpus", metavar="PATH", help="folder of .txt .md .html .pdf .docx files, one such file, or a BEIR corpus.jsonl (default: seeds/)")
    _index_arg(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the build report as JSON")

    p = sub.add_parser("search", help="find the passages that best match a question")
    p.add_argument("query", metavar="QUERY")
    p.add_argument("--k", type=int, default=5, help="how many passages (default 5)")
    _index_arg(p)
    _filter_args(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of text")

    p = sub.add_parser("ask", help="answer a question with quoted, numbered evidence")
    p.add_argument("question", metavar="QUESTION")
    p.add_argument("--k", type=int, default=5, help="passages to draw on (default 5)")
    _index_arg(p)
    _filter_args(p)
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the Answer as JSON")
    out.add_argument("--markdown", action="store_true", help="print a report-ready Markdown block")

    p = sub.add_parser("add", help="add documents (files or folders) to an index; only they are embedded")
    p.add_argument("paths", nargs="+", metavar="PATH", help=".txt .md .html .pdf .docx files, folders, or a corpus.jsonl")
    p.add_argument("--replace", action="store_true",
                   help="replace a document the index holds under the same id (the file's stem); without it, refuse")
    _index_arg(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the report as JSON")

    p = sub.add_parser("remove", help="remove documents from an index by id")
    p.add_argument("doc_ids", nargs="+", metavar="DOC_ID")
    _index_arg(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON")

    p = sub.add_parser("list", help="list the documents of an index")
    _index_arg(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    p = sub.add_parser("serve", help="start the web chat and the JSON API")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    _index_arg(p)
    p.add_argument("--auth-file", metavar="FILE", default=os.environ.get("POLICYQA_AUTH_FILE"),
                   help="require a login: a file of user:password lines (or set POLICYQA_AUTH_FILE)")
    p.add_argument("--no-login", action="store_true",
                   help="serve an address other machines reach without a login (anyone there may change the index)")
    p.add_argument("--read-only", action="store_true",
                   help="nobody may add or remove documents through the server (the chat hides its upload and remove)")

    p = sub.add_parser("mcp", help="serve the index to AI assistants over MCP on stdin/stdout (tools search, ask, document)")
    _index_arg(p)

    sub.add_parser("hash-password", help="read a password on stdin, print it hashed for an --auth-file line")

    p = sub.add_parser("eval", help="measure retrieval (and answers) on labelled questions, or a BEIR folder")
    p.add_argument("questions", nargs="?", metavar="QUESTIONS.jsonl",
                   help="labelled questions: {question, doc_id, evidence} or {question, doc, answers} per line "
                        "(default: tests/data/questions.jsonl)")
    p.add_argument("--split", help="only questions of this split (labelled: tune|heldout; BEIR: test|train|dev)")
    p.add_argument("--beir", metavar="DIR", help="evaluate on a BEIR folder (corpus.jsonl, queries.jsonl, qrels/)")
    p.add_argument("--answers", action="store_true", help="also measure answers: evidence@1/3 and abstention")
    p.add_argument("--unanswerable", metavar="FILE",
                   help="questions the corpus does not answer (default: tests/data/unanswerable.jsonl for the bundled "
                        "questions; for another file, its own records marked \"answerable\": false)")
    p.add_argument("--followups", metavar="FILE", help="follow-up questions with their history (default: tests/data/followups.jsonl)")
    _index_arg(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the figures as JSON (no progress bar)")
    return parser


def _load(index: str | None):
    from .core import Assistant

    if index is None:
        return Assistant.load()
    return Assistant.load(index)


def _cmd_build(args) -> int:
    from .core import Assistant, default_corpus, default_index

    from .locations import parse

    corpus = Path(args.corpus) if args.corpus else default_corpus()
    index = parse(args.index) if args.index else default_index()
    report = Assistant.build(corpus, index, progress=not args.quiet and not args.json)
    if args.json:
        print(json.dumps({**report.__dict__, "index": str(report.index)}))
    elif report.changed:
        print(
            f"Built {index}: {report.documents} documents, {report.passages} passages "
            f"({report.embedded} embedded, {report.passages - report.embedded} reused) in {report.seconds:.1f} s."
        )
    else:
        print(f"{index} is up to date: {report.documents} documents, {report.passages} passages; nothing to do.")
    return 0


def _cmd_search(args) -> int:
    qa = _load(args.index)
    hits = qa.search(args.query, k=args.k, **_filters(args))
    if args.json:
        print(json.dumps({"query": args.query, "passages": [h.to_dict() for h in hits]}, ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print("No passage matches.")
        return 0
    width = min(100, max(60, os.get_terminal_size(sys.stdout.fileno()).columns if sys.stdout.isatty() else 100))
    for i, h in enumerate(hits, start=1):
        doc = qa.document(h.doc_id)
        where = " · ".join(x for x in (doc.title, h.section, doc.date) if x)
        print(f"[{i}] {where}")
        print(f"    {h.doc_id} chars {h.start}-{h.end}  score {h.score:.3f}")
        print(textwrap.fill(" ".join(h.text.split()), width=width, initial_indent="    ", subsequent_indent="    "))
        print()
    return 0


class _Tally:
    """Counts the calls of the functions it wraps as questions done, for the progress bar."""

    def __init__(self, report, total: int) -> None:
        self.report, self.total, self.done = report, total, 0
        report(Progress("questions", 0, total, "question"))

    def wrap(self, fn):
        def call(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            finally:
                self.done += 1
                self.report(Progress("questions", self.done, self.total, "question"))

        return call


def _cmd_eval(args) -> int:
    from .progress import reporting

    with reporting(not args.quiet and not args.json) as report:  # the bar ends before the figures print
        measured = _measure_beir(args, report) if args.beir else _measure(args, report)
    if not args.beir:
        return _print_eval(args, *measured)
    if args.json:
        print(json.dumps(measured))
    else:
        print(f"BEIR {args.beir} ({args.split or 'test'}, {measured['queries']} queries): "
              f"nDCG@10 {measured['ndcg@10']:.3f}  recall@100 {measured['recall@100']:.3f}")
    return 0


def _measure_beir(args, report) -> dict:
    from . import evaluation

    qa = _load(args.index)
    queries, qrels = evaluation.load_beir(args.beir, args.split or "test")
    return evaluation.evaluate_beir(queries, qrels, _Tally(report, len(queries)).wrap(qa.search_documents))


def _measure(args, report):
    from . import evaluation

    qa = _load(args.index)
    questions = evaluation.load_questions(args.questions or DEFAULT_QUESTIONS, args.split)
    unanswerable: list[str] = []
    followups: list[dict] = []
    if args.answers:
        # Without --unanswerable: the bundled set for the bundled questions; for another file, the
        # questions it marks unanswerable itself (the benchmarks' training pools mix both kinds).
        source = args.unanswerable or (DEFAULT_UNANSWERABLE if args.questions is None else args.questions)
        unanswerable = [r["question"] for r in evaluation.load_unanswerable(source, args.split)]
        # the bundled follow-ups go with the bundled questions only; another file's come with --followups
        followups_file = args.followups or (DEFAULT_FOLLOWUPS if args.questions is None else None)
        followups = evaluation.load_followups(followups_file) if followups_file and args.split is None else []
    # Each question is searched once, and with --answers asked once more; a follow-up is asked
    # with its conversation and without.
    calls = len(questions) + (len(questions) + len(unanswerable) + 2 * len(followups) if args.answers else 0)
    tally = _Tally(report, calls)
    search, ask = tally.wrap(lambda q, k: qa.search(q, k=k)), tally.wrap(qa.ask)
    scores = evaluation.evaluate_questions(questions, search, lambda d: qa.document(d).text)
    answers = None
    if args.answers:
        answers = evaluation.evaluate_answers(questions, unanswerable, ask, lambda d: qa.document(d).text)
        if followups:  # a set of its own, without splits
            answers.update(evaluation.evaluate_followups(followups, ask, lambda d: qa.document(d).text))
    return scores, answers


def _print_eval(args, scores, answers) -> int:
    if args.json:
        print(json.dumps({**scores.to_dict(), **({"answers": answers} if answers else {})}))
        return 0
    if answers:
        print(f"answers: evidence@1 {answers['evidence@1']:.3f}  evidence@3 {answers['evidence@3']:.3f}  "
              f"false abstentions {answers['false_abstentions']:.3f}  correct abstentions "
              f"{answers['correct_abstentions']:.3f} ({answers['unanswerable']} unanswerable)  "
              f"quote mismatches {answers['quote_mismatches']}")
        print(f"quotes: the first {answers['first_quote_chars']:.0f} characters on average, "
              f"{answers['citations_per_answer']:.2f} citations per answer")
        if "followups" in answers:
            print(f"follow-ups ({answers['followups']}): evidence in the first 3 passages "
                  f"{answers['passage@3_with_history']:.3f} with the conversation, "
                  f"{answers['passage@3_without_history']:.3f} without; cited "
                  f"{answers['cited_with_history']:.3f} with, {answers['cited_without_history']:.3f} without")
    print(f"{scores.n} questions: hit@1 {scores.hit_at_1:.3f}  hit@3 {scores.hit_at_3:.3f}  "
          f"hit@5 {scores.hit_at_5:.3f}  MRR {scores.mrr:.3f}")
    if scores.misses:
        print("not in the top 5: " + ", ".join(scores.misses))
    return 0


def _cmd_ask(args) -> int:
    from . import render

    qa = _load(args.index)
    answer = qa.ask(args.question, k=args.k, **_filters(args))
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    elif args.markdown:
        print(render.markdown(answer))
    else:
        print(render.plain(answer))
    return 0


def _report(report, verb: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps({**report.__dict__, "index": str(report.index), "replaced": list(report.replaced)}))
    elif not report.changed:
        print(f"{report.index}: nothing to {verb}; {report.documents} documents, {report.passages} passages.")
    else:
        replaced = f"; replaced {', '.join(report.replaced)}" if report.replaced else ""
        print(f"{report.index}: {report.documents} documents, {report.passages} passages "
              f"({report.embedded} embedded) in {report.seconds:.1f} s{replaced}.")


def _cmd_add(args) -> int:
    qa = _load(args.index)
    _report(qa.add(args.paths, progress=not args.quiet and not args.json, replace=args.replace), "add", args.json)
    return 0


def _cmd_remove(args) -> int:
    qa = _load(args.index)
    report = qa.remove(args.doc_ids)
    if args.json:
        _report(report, "remove", True)
    else:
        print(f"{report.index}: removed {', '.join(args.doc_ids)}; {report.documents} documents, "
              f"{report.passages} passages remain.")
    return 0


def _cmd_list(args) -> int:
    from . import catalog

    qa = _load(args.index)
    keep = ("doc_id", "title", "authors", "date", "source", "passages", "added")
    rows = [{k: row[k] for k in keep} for row in catalog.summaries(qa)]
    if args.json:
        print(json.dumps({"index": str(qa.root), "documents": rows}, ensure_ascii=False, indent=2))
        return 0
    print(f"{len(rows)} documents in {qa.root}:")
    width = max((len(r["doc_id"]) for r in rows), default=0)
    for r in rows:
        how = "added" if r["added"] else "corpus"
        print(f"  {r['doc_id']:{width}}  {r['date'] or 'undated':10}  {r['passages']:4} passages  {how:6}  "
              + textwrap.shorten(r["title"], width=70))
    return 0


def _cmd_serve(args) -> int:
    from . import server

    users = server.read_auth_file(args.auth_file) if args.auth_file else None
    if not 0 < args.port < 65536:
        raise AssistantError(f"--port {args.port} is not a port number (1-65535)")
    sock = server.listening_socket(args.host, args.port)  # a busy port is said at once, not after loading
    if users is None and not args.no_login and args.host not in server.LOOPBACK:
        sock.close()
        could = "read every document" if args.read_only else "add, replace and remove documents"
        raise AssistantError(f"on {args.host} other machines can reach the server, and without a login anyone there could "
                             f"{could}: give --auth-file FILE, or --no-login to allow that")
    server.serve(_load(args.index), args.host, args.port, users, sock=sock, read_only=args.read_only)
    return 0


def _cmd_mcp(args) -> int:
    from . import mcp_server

    # stdout carries the protocol: the index is loaded (and the default one built) before it starts,
    # and anything said goes to stderr.
    mcp_server.serve_stdio(_load(args.index))
    return 0


def _cmd_hash_password(args) -> int:
    import getpass

    from . import server

    password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    if not password:
        raise AssistantError("no password given")
    print(server.hash_password(password))
    return 0


COMMANDS = {"hash-password": _cmd_hash_password, "mcp": _cmd_mcp, "add": _cmd_add, "remove": _cmd_remove, "list": _cmd_list, "serve": _cmd_serve, "build": _cmd_build, "search": _cmd_search, "ask": _cmd_ask, "eval": _cmd_eval}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command](args)
    except AssistantError as exc:
        print(f"policyqa: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("policyqa: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `policyqa … | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug: still one line, with a way to see more
        if os.environ.get("POLICYQA_DEBUG"):
            raise
        print(f"policyqa: unexpected error: {type(exc).__name__}: {exc} (set POLICYQA_DEBUG=1 for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
