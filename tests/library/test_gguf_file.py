"""Bad model files are refused before llama.cpp touches them, with a human message."""

from __future__ import annotations

import os
import shutil
import struct

import pytest

from app.core.errors import ModelFileError
from app.library.gguf_file import inspect_gguf


def test_the_default_model_reads_as_a_complete_gguf(default_model):
    info = inspect_gguf(default_model)
    assert info.architecture == "llama"
    assert info.quantization == "Q4_1"
    assert info.context_length == 8192
    assert info.has_chat_template
    assert 100_000_000 < info.parameters < 200_000_000


def test_truncated_download_is_called_incomplete(default_model, tmp_path):
    cut = tmp_path / "cut.gguf"
    with default_model.open("rb") as src, cut.open("wb") as dst:
        dst.write(src.read(default_model.stat().st_size // 2))
    with pytest.raises(ModelFileError, match=r"incomplete.*download it again"):
        inspect_gguf(cut)


def test_file_cut_inside_the_header_is_refused(default_model, tmp_path):
    cut = tmp_path / "header.gguf"
    with default_model.open("rb") as src:
        cut.write_bytes(src.read(4096))
    with pytest.raises(ModelFileError, match=r"damaged or incomplete"):
        inspect_gguf(cut)


def test_random_bytes_are_refused(tmp_path):
    junk = tmp_path / "random.gguf"
    junk.write_bytes(os.urandom(1 << 16))
    with pytest.raises(ModelFileError, match=r"not a GGUF model"):
        inspect_gguf(junk)


def test_text_file_renamed_to_gguf_is_refused(tmp_path):
    text = tmp_path / "notes.gguf"
    text.write_text("these are my notes, not a model\n" * 20)
    with pytest.raises(ModelFileError, match=r"is a text file"):
        inspect_gguf(text)


def test_html_error_page_saved_as_model_is_recognised(tmp_path):
    page = tmp_path / "model.gguf"
    page.write_text("<!DOCTYPE html><html><body>404 Not Found</body></html>")
    with pytest.raises(ModelFileError, match=r"web page"):
        inspect_gguf(page)


def test_wrong_magic_is_refused(default_model, tmp_path):
    wrong = tmp_path / "wrong.gguf"
    shutil.copyfile(default_model, wrong)
    with wrong.open("r+b") as fh:
        fh.write(b"GGUX")
    with pytest.raises(ModelFileError, match=r"GGUF signature"):
        inspect_gguf(wrong)


def test_unknown_gguf_version_is_refused(default_model, tmp_path):
    future = tmp_path / "future.gguf"
    with default_model.open("rb") as src:
        future.write_bytes(src.read(1 << 16))
    with future.open("r+b") as fh:
        fh.seek(4)
        fh.write(struct.pack("<I", 99))
    with pytest.raises(ModelFileError, match=r"version 99"):
        inspect_gguf(future)


def test_empty_and_missing_files_are_refused(tmp_path):
    empty = tmp_path / "empty.gguf"
    empty.touch()
    with pytest.raises(ModelFileError, match=r"empty"):
        inspect_gguf(empty)
    with pytest.raises(ModelFileError, match=r"does not exist"):
        inspect_gguf(tmp_path / "nowhere.gguf")


def test_fast_header_reader_agrees_with_the_gguf_package(default_model):
    import gguf

    reader = gguf.GGUFReader(default_model)
    info = inspect_gguf(default_model)
    assert info.parameters == sum(int(t.n_elements) for t in reader.tensors)
    assert info.architecture == reader.fields["general.architecture"].contents()
    assert info.context_length == reader.fields["llama.context_length"].contents()
    assert info.name == reader.fields["general.name"].contents()
