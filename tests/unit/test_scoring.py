"""The fitted answer models: plain JSON, checked on load, read the same as they were fitted."""

import json

import numpy as np
import pytest

from assistant.candidates import EVIDENCE_FEATURES
from assistant.errors import AssistantError
from assistant.scoring import COVERAGE_FEATURES, MODEL_FILE, AnswerModel, Network, load_model


def test_the_bundled_model_loads_and_matches_the_code():
    model = load_model()
    assert model.evidence.mean.shape == (len(EVIDENCE_FEATURES),)
    assert model.coverage.mean.shape == (len(COVERAGE_FEATURES),)
    assert 0 < model.threshold < 1 and 0 < model.keep_ratio <= 1
    assert "command" in model.fitted and "tune_out_of_fold" in model.fitted


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
        moved = AnswerModel(model.evidence, cover, model.keep_ratio, t, {})
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
