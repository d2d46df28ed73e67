"""A GGUF model (the format local models are shared in) made into a CTranslate2 model, once, so that the
local engine runs on CTranslate2's Generator, which faster-whisper already brings (wheels for Windows
and Linux, no compiler). docs/minutes.md says why this runtime.

The tensors are read and dequantized by the ``gguf`` package (llama.cpp's own reader); they are laid out
as CTranslate2's own Transformers converter lays out a Llama or Qwen2 model; the tokenizer (byte-level
BPE) is rebuilt from the vocabulary and merges the file holds, with the ``tokenizers`` library. Llama
GGUF files keep Q and K in the interleaved rotary layout (llama.cpp permutes them on conversion), Qwen2
files in Hugging Face's half-split one.

    folder = convert(Path("SmolLM2-135M-Instruct.Q4_1.gguf"), cache / "smollm2", progress)
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

SUPPORTED = ("llama", "qwen2")
GGUF_MAGIC = b"GGUF"
_QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|"
                r"\s+(?!\S)|\s+")


class ModelFileError(ValueError):
    """The file is not a model this engine can use; the message says why and what to do."""


def check_gguf(path: Path) -> None:
    """A quick look before any work: the file is there, is GGUF, and is not cut short."""
    if not path.is_file():
        raise ModelFileError(f"the model file {path} does not exist. Set [minutes] model_file to a GGUF file "
                             "(e.g. a Qwen2.5 or Llama 3.2 instruct model at Q4_K_M).")
    with open(path, "rb") as fh:
        if fh.read(4) != GGUF_MAGIC:
            raise ModelFileError(f"{path} is not a GGUF model file (it does not start with GGUF). Download a .gguf "
                                 "model, or point [minutes] model_file at a converted CTranslate2 folder.")
    from gguf import GGUFReader  # ImportError: the llm extra is missing (the caller says so)

    try:
        reader = GGUFReader(str(path))
        last = max(reader.tensors, key=lambda t: t.data_offset)
        if last.data_offset + last.n_bytes > path.stat().st_size:
            raise ValueError("tensor data past the end of the file")
    except ModelFileError:
        raise
    except Exception as exc:  # the reader raises many kinds of errors on a cut file
        raise ModelFileError(f"{path} is damaged or truncated ({exc}). Download it again.") from exc


def _field(reader, key: str, default=None):
    field = reader.fields.get(key)
    if field is None:
        return default
    return field.contents()


def _tokenizer(reader):
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

    kind = _field(reader, "tokenizer.ggml.model")
    if kind != "gpt2":
        raise ModelFileError(f"this engine reads byte-level BPE tokenizers (gpt2), not {kind!r}")
    tokens = list(_field(reader, "tokenizer.ggml.tokens"))
    types = list(_field(reader, "tokenizer.ggml.token_type", [1] * len(tokens)))
    merges = [tuple(m.split(" ", 1)) for m in _field(reader, "tokenizer.ggml.merges", [])]
    tok = Tokenizer(models.BPE({t: i for i, t in enumerate(tokens)}, merges, fuse_unk=False))
    pre = _field(reader, "tokenizer.ggml.pre", "default")
    steps = []
    if pre == "smollm":
        steps.append(pre_tokenizers.Digits(individual_digits=True))
    if pre in ("qwen2", "llama-bpe", "llama3"):
        steps += [pre_tokenizers.Split(Regex(_QWEN2_SPLIT), behavior="isolated"),
                  pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
    else:
        steps.append(pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence(steps)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t, k in zip(tokens, types) if k == 3])
    return tok, tokens


def _weights(reader) -> dict[str, np.ndarray]:
    from gguf import GGMLQuantizationType, dequantize

    out = {}
    for t in reader.tensors:
        data = t.data if t.tensor_type in (GGMLQuantizationType.F32, GGMLQuantizationType.F16) else \
            dequantize(t.data, t.tensor_type)
        out[t.name] = np.ascontiguousarray(np.asarray(data, dtype=np.float32).reshape(
            tuple(int(n) for n in reversed(t.shape))))
    return out


def convert(path: Path, folder: Path, progress: Callable[[str], None] | None = None) -> Path:
    """Write the CTranslate2 model (int8) and its tokenizer into ``folder`` (replaced whole when done).
    Raises ModelFileError."""
    from ctranslate2.specs import common_spec, transformer_spec
    from gguf import GGUFReader

    say = progress or (lambda text: None)
    check_gguf(path)
    reader = GGUFReader(str(path))
    arch = _field(reader, "general.architecture")
    if arch not in SUPPORTED:
        raise ModelFileError(f"{path.name} is a {arch!r} model; this engine converts {', '.join(SUPPORTED)} GGUF "
                             "models. Convert another one with ct2-transformers-converter and set model_file to "
                             "its folder, or use engine = \"openai\" with Ollama or llama-server.")
    n_layers = int(_field(reader, f"{arch}.block_count"))
    n_heads = int(_field(reader, f"{arch}.attention.head_count"))
    n_kv = int(_field(reader, f"{arch}.attention.head_count_kv", n_heads))
    say(f"reading {path.name}")
    tok, tokens = _tokenizer(reader)
    w = _weights(reader)
    say("building the CTranslate2 model")
    spec = transformer_spec.TransformerDecoderModelSpec.from_config(
        n_layers, n_heads, activation=common_spec.Activation.SWISH, pre_norm=True, ffn_glu=True, rms_norm=True,
        rotary_dim=0, rotary_interleave=arch == "llama",
        rotary_base=float(_field(reader, f"{arch}.rope.freq_base", 10000.0)),
        num_heads_kv=None if n_kv == n_heads else n_kv)
    dec = spec.decoder
    dec.scale_embeddings = False
    dec.embeddings.weight = w["token_embd.weight"]
    dec.layer_norm.gamma = w["output_norm.weight"]
    dec.projection.weight = w.get("output.weight", w["token_embd.weight"])
    for n, layer in enumerate(dec.layer):
        p = f"blk.{n}."
        layer.self_attention.layer_norm.gamma = w[p + "attn_norm.weight"]
        layer.ffn.layer_norm.gamma = w[p + "ffn_norm.weight"]
        qkv = layer.self_attention.linear[0]
        qkv.weight = np.concatenate([w[p + "attn_q.weight"], w[p + "attn_k.weight"], w[p + "attn_v.weight"]])
        if p + "attn_q.bias" in w:
            qkv.bias = np.concatenate([w[p + "attn_q.bias"], w[p + "attn_k.bias"], w[p + "attn_v.bias"]])
        layer.self_attention.linear[1].weight = w[p + "attn_output.weight"]
        layer.ffn.linear_0.weight = w[p + "ffn_gate.weight"]
        layer.ffn.linear_0_noact.weight = w[p + "ffn_up.weight"]
        layer.ffn.linear_1.weight = w[p + "ffn_down.weight"]
    spec.register_vocabulary(tokens)
    eos = tokens[int(_field(reader, "tokenizer.ggml.eos_token_id", 0))]
    spec.config.bos_token = tokens[int(_field(reader, "tokenizer.ggml.bos_token_id", 0))]
    spec.config.eos_token = eos
    spec.config.unk_token = tokens[int(_field(reader, "tokenizer.ggml.unknown_token_id", 0) or 0)]
    spec.config.layer_norm_epsilon = float(_field(reader, f"{arch}.attention.layer_norm_rms_epsilon", 1e-6))
    spec.validate()
    spec.optimize(quantization="int8")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        spec.save(str(tmp))
        tok.save(str(tmp / "tokenizer.json"))
        info = {"source": str(path), "architecture": arch, "eos": eos,
                "context_length": int(_field(reader, f"{arch}.context_length", 2048)),
                "chat_template": _field(reader, "tokenizer.chat_template", "")}
        (tmp / "meeting-tui.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    say("converted")
    return folder
