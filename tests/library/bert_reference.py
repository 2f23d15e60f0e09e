"""A NumPy forward pass of a BERT sentence-embedding model, independent of llama.cpp.

Tokenization is BERT's basic tokenizer (lower case, split on spaces and punctuation)
followed by greedy longest-match WordPiece, enough for plain ASCII sentences.
"""

from __future__ import annotations

import math
import string

import numpy as np

from app.library.bert_gguf import BertSource


def wordpiece_ids(text: str, source: BertSource) -> list[int]:
    vocab: dict[str, int] = source.tokenizer["model"]["vocab"]
    words: list[str] = []
    for raw in text.lower().split():
        current = ""
        for ch in raw:
            if ch in string.punctuation:
                if current:
                    words.append(current)
                words.append(ch)
                current = ""
            else:
                current += ch
        if current:
            words.append(current)
    ids = [vocab["[CLS]"]]
    for word in words:
        start, pieces = 0, []
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in vocab:
                    pieces.append(vocab[piece])
                    break
                end -= 1
            else:
                pieces = [vocab["[UNK]"]]
                break
            start = end
        ids.extend(pieces)
    ids.append(vocab["[SEP]"])
    return ids


def _layer_norm(x, weight, bias, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


_erf = np.vectorize(math.erf)


def embed(text: str, source: BertSource) -> np.ndarray:
    w = {k.removeprefix("bert."): v.astype(np.float64) for k, v in source.weights.items()}
    cfg = source.config
    eps = float(cfg.get("layer_norm_eps", 1e-12))
    heads = int(cfg["num_attention_heads"])
    ids = wordpiece_ids(text, source)
    n = len(ids)
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:n]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    d = x.shape[1]
    hd = d // heads
    for i in range(int(cfg["num_hidden_layers"])):
        p = f"encoder.layer.{i}."

        def lin(name, v, p=p):
            return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        q = lin("attention.self.query", x).reshape(n, heads, hd).transpose(1, 0, 2)
        k = lin("attention.self.key", x).reshape(n, heads, hd).transpose(1, 0, 2)
        v = lin("attention.self.value", x).reshape(n, heads, hd).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        attn = (scores @ v).transpose(1, 0, 2).reshape(n, d)
        x = _layer_norm(
            x + lin("attention.output.dense", attn),
            w[p + "attention.output.LayerNorm.weight"],
            w[p + "attention.output.LayerNorm.bias"],
            eps,
        )
        h = lin("intermediate.dense", x)
        h = 0.5 * h * (1.0 + _erf(h / math.sqrt(2.0)))
        x = _layer_norm(
            x + lin("output.dense", h),
            w[p + "output.LayerNorm.weight"],
            w[p + "output.LayerNorm.bias"],
            eps,
        )
    pooled = x[0] if source.pooling == "cls" else x.mean(0)
    return pooled / np.linalg.norm(pooled)
