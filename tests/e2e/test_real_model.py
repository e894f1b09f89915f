"""End to end with the real bundled model: build the seeds, ask the golden questions."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant
from assistant.evaluation import evaluate_questions, load_questions

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = ROOT / "tests" / "data" / "questions.jsonl"


def test_every_passage_is_an_exact_span(real_qa):
    assert len(real_qa.documents()) == 5
    for p in real_qa.passages:
        assert real_qa.document(p.doc_id).text[p.start : p.end] == p.text


def test_golden_questions(real_qa):
    """A regression floor well under the measured figures (BENCHMARKS.md)."""
    scores = evaluate_questions(load_questions(QUESTIONS), lambda q, k: real_qa.search(q, k=k),
                                lambda d: real_qa.document(d).text)
    assert scores.n >= 40
    assert scores.hit_at_1 >= 0.80, scores
    assert scores.hit_at_5 >= 0.90, scores
    assert scores.mrr >= 0.85, scores


def test_example_question(real_qa):
    hits = real_qa.search("what obstacles block migrant citizenization?", k=5)
    assert any("hard to settle down" in h.text for h in hits[:2])


def test_query_vectors_are_unit_length(real_qa):
    v = real_qa.encoder.encode(["hukou reform"])
    assert v.shape == (1, 384) and abs(float(np.linalg.norm(v)) - 1) < 1e-5


def policyqa(*args, env=None):
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def test_cli_search_json(real_index):
    r = policyqa("search", "which district helped small firms get micro loans?", "--index", str(real_index), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["passages"][0]["doc_id"] == "004_89f843d6a7ca3e66"
    assert "Micro Loan" in data["passages"][0]["text"]


def test_beir_folder_build_and_eval(tmp_path):
    """A tiny BEIR folder: build from corpus.jsonl, passage doc_id == _id, eval prints nDCG."""
    beir = tmp_path / "beir"
    (beir / "qrels").mkdir(parents=True)
    docs = {
        "d1": ("Rice yields", "Irrigation raised rice yields in the delta by a fifth over ten years."),
        "d2": ("Hukou reform", "Household registration reform lets migrant workers settle in smaller cities."),
        "d3": ("Rural pensions", "Rural residents receive much lower pensions than urban employees."),
        "d4": ("Bird migration", "Swallows fly thousands of kilometres south every autumn."),
    }
    (beir / "corpus.jsonl").write_text("".join(json.dumps({"_id": k, "title": t, "text": x}) + "\n" for k, (t, x) in docs.items()))
    queries = {"q1": "which reform helps migrants settle in cities", "q2": "pension gap between rural and urban people"}
    (beir / "queries.jsonl").write_text("".join(json.dumps({"_id": k, "text": t}) + "\n" for k, t in queries.items()))
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td2\t1\nq2\td3\t1\n")
    index = tmp_path / "index"
    r = policyqa("build", "--corpus", str(beir / "corpus.jsonl"), "--index", str(index), "--quiet")
    assert r.returncode == 0, r.stderr
    qa = Assistant.load(index)
    assert {p.doc_id for p in qa.passages} == set(docs)
    r = policyqa("eval", "--beir", str(beir), "--split", "test", "--index", str(index), "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["queries"] == 2 and result["ndcg@10"] == 1.0 and result["recall@100"] == 1.0


def test_onnx_query_model_gives_the_same_vectors(real_index, real_qa):
    """The fast query path (ONNX, no torch) and the build path agree to float precision."""
    from assistant.encoder import MiniLMEncoder, OnnxEncoder, onnx_folder

    assert isinstance(real_qa.encoder, OnnxEncoder)
    texts = [
        "what obstacles block migrant citizenization?",
        "hukou",
        real_qa.passages[0].text,  # long: padding and the 256-token window both matter
        "户籍制度改革 and land rights",
    ]
    fast = OnnxEncoder(onnx_folder(real_index)).encode(texts)
    slow = MiniLMEncoder().encode(texts)
    assert fast.shape == slow.shape == (4, 384)
    assert np.abs(fast - slow).max() < 1e-5
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    # Both count wordpieces the same way (the chunker's budget depends on it), long texts included.
    assert OnnxEncoder(onnx_folder(real_index)).count_tokens(texts + ["word " * 400]) == MiniLMEncoder().count_tokens(
        texts + ["word " * 400])


def test_the_torch_build_path_gives_sentence_transformers_vectors(real_qa):
    """float32 through torch matches exactly; bf16 (used for big builds on CPUs that have it) to cosine 0.9999."""
    from assistant.encoder import MiniLMEncoder, TorchEncoder, native_bf16

    texts = ["hukou", real_qa.passages[0].text, "what obstacles block migrant citizenization?"]
    reference = MiniLMEncoder().encode(texts)
    exact = TorchEncoder(bf16=False).encode(texts)
    assert np.abs(exact - reference).max() < 1e-5
    if native_bf16():
        fast = TorchEncoder(bf16=True).encode(texts)
        assert fast.dtype == np.float32 and np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
        assert (fast * reference).sum(axis=1).min() > 0.9999


def test_without_the_onnx_file_questions_fall_back_to_sentence_transformers(real_index, tmp_path, capsys):
    import shutil

    from assistant.encoder import MiniLMEncoder, onnx_folder

    copy = tmp_path / "index"
    shutil.copytree(real_index, copy)
    shutil.rmtree(onnx_folder(copy))
    qa = Assistant.load(copy)
    hits = qa.search("what obstacles block migrant citizenization?", k=3)
    assert isinstance(qa.encoder, MiniLMEncoder)
    assert "using sentence-transformers for questions" in capsys.readouterr().err
    assert any("hard to settle down" in h.text for h in hits)
