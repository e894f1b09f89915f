"""CLI errors: one line on stderr, a non-zero exit, no traceback (no model needed)."""

import json

import pytest

from assistant.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_missing_index(capsys, tmp_path):
    code, out, err = run(capsys, "search", "hukou", "--index", str(tmp_path / "none"))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("policyqa: error: no index at")
    assert "Traceback" not in err


def test_missing_corpus(capsys, tmp_path):
    code, _, err = run(capsys, "build", "--corpus", str(tmp_path / "none"), "--index", str(tmp_path / "i"))
    assert code == 1 and "no such file or folder" in err and err.count("\n") == 1


def test_incompatible_index(capsys, fake_index):
    code, _, err = run(capsys, "search", "hukou", "--index", str(fake_index))
    assert code == 1 and "built with the model 'test/hash-encoder'" in err


def test_corrupt_index(capsys, fake_index):
    from assistant import store

    (store.resolve_generation(fake_index) / "manifest.json").write_text("{")
    code, _, err = run(capsys, "search", "hukou", "--index", str(fake_index))
    assert code == 1 and "damaged" in err and "policyqa build" in err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["search"])
    assert e.value.code == 2
    assert main([]) == 2


def test_bad_questions_file(capsys, tmp_path, fake_index):
    code, _, err = run(capsys, "eval", str(tmp_path / "q.jsonl"), "--index", str(fake_index))
    assert code == 1 and err.count("\n") == 1


def test_search_json_with_fake_encoder(capsys, fake_index, monkeypatch, encoder):
    import assistant.core as core

    monkeypatch.setattr(core, "default_encoder", lambda: encoder)
    monkeypatch.setattr(core, "query_encoder", lambda root: encoder)
    code, out, _ = run(capsys, "search", "Huichuan micro loan", "--k", "3", "--index", str(fake_index), "--json")
    data = json.loads(out)
    assert code == 0 and len(data["passages"]) == 3
    assert set(data["passages"][0]) == {"doc_id", "title", "section", "text", "start", "end", "score", "page"}


@pytest.mark.parametrize("content, message", [
    (None, "no such"),
    (b"garbage\n", ":1: expected a JSON object"),
    (b'{"question": 5}\n', ':1: expected a JSON object with "question" (text)'),
    (b"\xff\xfe\x00\x81 not text", "not UTF-8"),
])
def test_eval_side_files_fail_with_file_and_line(tmp_path, content, message):
    from assistant import evaluation
    from assistant.errors import InputError

    path = tmp_path / "side.jsonl"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        evaluation.load_unanswerable(path)
    assert message in str(caught.value) and str(caught.value).count("\n") == 0
    for load in (evaluation.load_followups, evaluation.load_questions):
        with pytest.raises(InputError):
            load(path)
    with pytest.raises(InputError, match="a folder"):
        evaluation.load_questions(tmp_path)


def test_follow_up_history_must_be_a_list_of_questions(tmp_path):
    from assistant import evaluation
    from assistant.errors import InputError

    path = tmp_path / "f.jsonl"
    path.write_text('{"history": "notalist", "question": "x", "doc_id": "a", "evidence": "e"}\n')
    with pytest.raises(InputError, match=r"f.jsonl:1: expected a JSON object with \"history\" \(a list\)"):
        evaluation.load_followups(path)
    path.write_text('{"history": [3], "question": "x", "doc_id": "a", "evidence": "e"}\n')
    with pytest.raises(InputError, match="history must be a list of earlier questions"):
        evaluation.load_followups(path)


def test_serve_on_a_busy_port_or_a_bad_host_is_one_line(capsys, tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = run(capsys, "serve", "--port", str(port), "--index", str(tmp_path / "none"))
    assert code == 1 and out == "" and err.count("\n") == 1
    assert f"cannot listen on 127.0.0.1:{port}" in err and "choose another --port" in err
    code, _, err = run(capsys, "serve", "--host", "256.1.1.1", "--index", str(tmp_path / "none"))
    assert code == 1 and "not an address of this machine" in err


def test_a_failed_build_writes_nothing(capsys, tmp_path):
    code, _, err = run(capsys, "build", "--corpus", str(tmp_path / "typo"), "--index", str(tmp_path / "new"))
    assert code == 1 and "no such file or folder" in err and not (tmp_path / "new").exists()
    (tmp_path / "afile").write_text("x")
    code, _, err = run(capsys, "build", "--index", str(tmp_path / "afile"))
    assert code == 1 and err == f"policyqa: error: {tmp_path / 'afile'} is a file, not an index folder\n"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


def test_serving_other_machines_without_a_login_needs_saying_so(capsys, tmp_path):
    code, out, err = run(capsys, "serve", "--host", "0.0.0.0", "--port", str(_free_port()), "--index", str(tmp_path / "none"))
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "without a login anyone there could add, replace and remove documents" in err and "--no-login" in err


def test_auth_files_others_can_read_are_refused_and_passwords_can_be_stored_hashed(capsys, tmp_path, monkeypatch):
    import io

    from assistant.server import _Logins, read_auth_file

    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse\n"))
    code, hashed, _ = run(capsys, "hash-password")
    assert code == 0 and hashed.startswith("scrypt$") and "correct horse" not in hashed
    auth = tmp_path / "users.txt"
    auth.write_text(f"official:{hashed.strip()}\nclerk:plain words\n")
    auth.chmod(0o644)
    code, _, err = run(capsys, "serve", "--auth-file", str(auth), "--index", str(tmp_path / "none"))
    assert code == 1 and f"run `chmod 600 {auth}`" in err and err.count("\n") == 1
    auth.chmod(0o600)
    logins = _Logins(read_auth_file(auth))

    def basic(user: str, password: str) -> str:
        import base64

        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    assert logins.check(basic("official", "correct horse")) and logins.check(basic("clerk", "plain words"))
    assert not logins.check(basic("official", "wrong")) and not logins.check(basic("nobody", "correct horse"))
    assert not logins.check(basic("official", hashed.strip()))  # the hash itself is no password
