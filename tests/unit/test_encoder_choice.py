"""Which engine a build embeds with: ONNX unless bf16 through torch finishes sooner."""

from assistant.encoder import TORCH_WORTH_CHARS, torch_pays_off


def never(*_):
    raise AssertionError("asking torch about bf16 imports it: not when the answer is already no")


def test_a_small_build_in_a_fresh_process_stays_on_onnx_without_importing_torch():
    assert not torch_pays_off(80_000, loaded=False, has_bf16=never)


def test_torch_pays_off_when_already_loaded_or_the_corpus_is_big_and_the_cpu_has_bf16():
    assert torch_pays_off(80_000, loaded=True, has_bf16=lambda: True)
    assert torch_pays_off(TORCH_WORTH_CHARS, loaded=False, has_bf16=lambda: True)
    assert not torch_pays_off(TORCH_WORTH_CHARS * 10, loaded=True, has_bf16=lambda: False)


def test_a_broken_torch_path_falls_back_to_onnx(monkeypatch, capsys):
    import numpy as np

    from assistant import encoder as enc

    class Onnx:
        batch_size = 16

        def encode(self, texts, *, progress=False):
            return np.ones((len(texts), enc.MODEL_DIM), np.float32)

    class Broken:
        bf16 = True

        def encode(self, texts, *, progress=False):
            raise ImportError("no module named transformers")

    build = enc.BuildEncoder(Onnx(), Broken())
    assert build.encode(["a", "b"]).shape == (2, enc.MODEL_DIM)
    assert "embedding with onnxruntime" in capsys.readouterr().err
    monkeypatch.setattr(enc, "torch_pays_off", lambda *a: True)
    assert isinstance(build.engine(["c"]), Onnx)  # not tried again
