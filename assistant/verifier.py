"""The answer verifier: a cross-encoder that reads a question and a candidate sentence together and
says how likely the sentence is to answer it.

It is the first four layers of the bundled all-MiniLM-L6-v2 with a one-unit head on their
mean-pooled output, fine-tuned here on pooled public data (``benchmarks/verifier_training.py``, ``make train-verifier``), exported
to ONNX with int8 weights (``assistant/data/verifier.onnx``) and run by onnxruntime: no torch at
question time. Only the few best candidates of the first-stage scorer are read by it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from .encoder import model_path
from .errors import AssistantError
from .lexical import matching_text

VERIFIER_FILE = Path(__file__).resolve().parent / "data" / "verifier.onnx"
# Question and sentence together, [CLS] and two [SEP] included: what a new training cuts pairs to.
# A trained verifier reads pairs as long as it was trained on (its JSON's "max_pair_tokens").
MAX_PAIR_TOKENS = 64


def pair_tokenizer(max_tokens: int = MAX_PAIR_TOKENS):
    """The bundled model's own tokenizer, set to encode (question, sentence) pairs within ``max_tokens``."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_path() / "tokenizer.json"))
    # the longer of the two is cut first: the sentence, as a rule, or a question pasted at length
    tok.enable_truncation(max_tokens, strategy="longest_first")
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    return tok


def as_pair(question: str, sentence: str) -> tuple[str, str]:
    """A (question, sentence) pair as the verifier reads it, in training and at question time alike."""
    return question, matching_text(sentence)


class Verifier:
    def __init__(self, path: Path = VERIFIER_FILE, max_pair_tokens: int | None = None) -> None:
        """``max_pair_tokens``: as the JSON beside ``path`` says (a verifier being written has none yet)."""
        import onnxruntime

        if not path.is_file():
            raise AssistantError(f"the answer verifier {path} is missing: reinstall policyqa or run `make train-verifier`")
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        try:
            self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own kinds for a damaged file
            raise AssistantError(f"the answer verifier {path} cannot be read ({exc}): run `make train-verifier`") from None
        self.max_pair_tokens = max_pair_tokens or int(_info_of(path).get("max_pair_tokens", MAX_PAIR_TOKENS))
        self._tokenizer = pair_tokenizer(self.max_pair_tokens)
        self._lock = threading.Lock()  # the tokenizer's padding settings are not shared between threads safely

    def logits(self, question: str, sentences: Sequence[str]) -> np.ndarray:
        """One logit per sentence: above 0, the verifier thinks the sentence answers the question."""
        if not sentences:
            return np.zeros(0, dtype=np.float32)
        with self._lock:
            encoded = self._tokenizer.encode_batch([as_pair(question, s) for s in sentences])
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        types = np.array([e.type_ids for e in encoded], dtype=np.int64)
        out = self._session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
        return np.asarray(out, dtype=np.float32).reshape(-1)


def _info_of(model: Path) -> dict:
    """What is written beside a verifier: how it was trained, and how long a pair it reads."""
    try:
        found = json.loads(model.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def info() -> dict:
    """How the bundled verifier was trained (shown in BENCHMARKS.md)."""
    return _info_of(VERIFIER_FILE)


@lru_cache(maxsize=1)
def default_verifier() -> Verifier:
    return Verifier()
