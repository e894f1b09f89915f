"""The fitted answer models: plain JSON, checked on load, read the same as they were fitted."""

import json

import numpy as np
import pytest

from assistant.candidates import EVIDENCE_FEATURES
from assistant.errors import AssistantError
from assistant.scoring import COVERAGE_FEATURES, MODEL_FILE, RERANK_FEATURES, AnswerModel, Network, load_model, reranked, verified


def test_the_bundled_model_loads_and_matches_the_code():
    model = load_model()
    assert model.evidence.mean.shape == (len(EVIDENCE_FEATURES),)
    assert model.coverage.mean.shape == (len(COVERAGE_FEATURES),)
    assert model.rerank.mean.shape == (len(RERANK_FEATURES),) and model.verify_top >= 1
    assert 0 < model.threshold < 1 and 0 < model.keep_ratio <= 1
    assert "command" in model.fitted and "stack_in_sample" in model.fitted


def test_a_network_computes_relu_layers_and_a_logistic_output():
    net = Network(np.array([1.0, 0.0]), np.array([2.0, 1.0]),
                  ((np.array([[1.0, -1.0], [0.5, 0.5]]), np.array([0.0, 0.1])), (np.array([[2.0], [3.0]]), np.array([-1.0]))))
    x = np.array([[3.0, 2.0]])
    h = np.maximum(((x - [1.0, 0.0]) / [2.0, 1.0]) @ [[1.0, -1.0], [0.5, 0.5]] + [0.0, 0.1], 0)
    z = float((h @ [[2.0], [3.0]] + [-1.0])[0, 0])
    assert net.logit(x)[0] == pytest.approx(z)
    assert net.probability(x)[0] == pytest.approx(1 / (1 + np.exp(-z)))
    again = Network.from_dict(json.loads(json.dumps(net.to_dict())), 2)
    assert again.logit(x)[0] == pytest.approx(z)


def test_confidence_puts_the_fitted_threshold_at_one_half():
    model = load_model()
    t = model.threshold
    for p, expected in ((t, 0.5), (0.0, 0.0), (1.0, 1.0)):
        logit = np.log(max(p, 1e-12) / max(1 - p, 1e-12))
        cover = Network(np.zeros(1), np.ones(1), ((np.array([[1.0]]), np.array([0.0])),))
        moved = AnswerModel(model.evidence, model.rerank, cover, model.verify_top, model.keep_ratio, t, {})
        assert moved.confidence(np.array([[logit]])) == pytest.approx(expected, abs=1e-6)


def test_a_damaged_or_foreign_model_file_says_how_to_refit(tmp_path):
    good = json.loads(MODEL_FILE.read_text())
    cases = {
        "missing.json": None,
        "garbage.json": "{not json",
        "old.json": json.dumps({**good, "version": 0}),
        "features.json": json.dumps({**good, "evidence_features": ["cos"]}),
        "shape.json": json.dumps({**good, "coverage": {**good["coverage"], "mean": [0.0]}}),
    }
    for name, content in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_text(content)
        with pytest.raises(AssistantError, match="make fit|reinstall"):
            load_model(path)


def test_the_verifier_reads_only_the_first_rankings_best_and_the_rest_score_nothing():
    class Reader:
        def __init__(self):
            self.read = []

        def logits(self, question, quotes):
            self.read.append(list(quotes))
            return np.array([float(len(q)) for q in quotes])

    from assistant.candidates import Candidate, Candidates

    sentences = ("a", "bbb", "cc", "dddd")
    items = tuple(Candidate(i, 0, "d", 0, len(x), 0, 0, len(x)) for i, x in enumerate(sentences))
    cands = Candidates(items, np.zeros((4, len(EVIDENCE_FEATURES))), np.zeros((4, 2)), sentences)
    first = np.array([0.1, 3.0, 2.0, -1.0])
    reader = Reader()
    logits = verified(first, reader, "q", cands, 2)
    assert reader.read == [["bbb", "cc"]]
    assert logits[1] == 3.0 and logits[2] == 2.0 and np.isneginf(logits[[0, 3]]).all()
    plus = Network(np.zeros(2), np.ones(2), ((np.array([[1.0], [1.0]]), np.array([0.0])),))
    p = reranked(plus, first, logits)
    assert p[0] == 0 and p[3] == 0 and p[1] > p[2] > 0.5


def test_the_bundled_verifier_prefers_the_quote_that_answers():
    from assistant.verifier import Verifier

    logits = Verifier().logits("When did the White House launch the 15 Days to Slow the Spread program?", [
        "On March 16, the White House launched the 15 Days to Slow the Spread program.",
        "Hospitals should screen visitors for fever and respiratory symptoms.",
        "x " * 400,  # longer than the model's window: cut, not refused
    ])
    assert logits.shape == (3,) and logits[0] > 0 > logits[1]
    # a question pasted at length is cut too
    assert Verifier().logits("why " * 300, ["A quote."]).shape == (1,)


def test_a_verifier_reads_pairs_as_long_as_it_was_trained_on(tmp_path):
    """The pair length is the model's, written beside it, not the code's current default."""
    import json
    import os

    from assistant.verifier import MAX_PAIR_TOKENS, VERIFIER_FILE, Verifier

    model = tmp_path / "verifier.onnx"
    os.symlink(VERIFIER_FILE, model)
    assert Verifier(model).max_pair_tokens == MAX_PAIR_TOKENS  # nothing beside it: the default
    model.with_suffix(".json").write_text(json.dumps({"max_pair_tokens": 24}), encoding="utf-8")
    short = Verifier(model)
    assert short.max_pair_tokens == 24 and Verifier(model, 40).max_pair_tokens == 40
    long_sentence = "On March 16, the White House launched the 15 Days to Slow the Spread program. " * 4
    # cut at 24 tokens, the sentence reads as its first words only: same logit as those words alone
    cut = short.logits("When was the program launched?", [long_sentence])
    same = short.logits("When was the program launched?", [long_sentence[:200]])
    assert np.allclose(cut, same, atol=1e-5)
