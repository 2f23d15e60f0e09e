"""Read and check a GGUF file before llama.cpp ever touches it.

A file that is truncated, random, text renamed to `.gguf`, or of another format is
refused here with a message a person understands.
"""

from __future__ import annotations

import logging
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from app.core.errors import ModelFileError
from app.core.files import NotRegularFileError, open_regular

logger = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
_HEADER_BYTES = 24  # magic, version, tensor count, metadata count


@dataclass(frozen=True, slots=True)
class GGUFInfo:
    path: Path
    size_bytes: int
    architecture: str
    name: str | None
    quantization: str | None
    context_length: int | None
    parameters: int
    has_chat_template: bool
    # What the memory estimate needs (see app/library/hardware.py); None when unknown.
    layers: int | None = None
    kv_heads: int | None = None
    key_length: int | None = None
    value_length: int | None = None
    license: str | None = None
    chat_template: str | None = field(default=None, repr=False, compare=False)

    @property
    def kv_bytes_per_token(self) -> int | None:
        """Bytes of f16 KV cache one token of context takes, or None when unknown."""
        if not (self.layers and self.kv_heads and self.key_length and self.value_length):
            return None
        return self.layers * self.kv_heads * (self.key_length + self.value_length) * 2


def _describe_foreign(head: bytes) -> str:
    stripped = head.lstrip()
    if stripped[:1] == b"<" and b"html" in stripped[:200].lower():
        return (
            "is a web page (HTML), not a model; the download probably saved an error "
            "page. Download the model again"
        )
    if head[:4] in (b"lmgg", b"ggml", b"ggjt", b"ggmf", b"tjgg", b"fmgg", b"lmgg"):
        return "is an old GGML model; Tandem needs a GGUF file. Get the GGUF version"
    if head[:2] == b"PK":
        return "is a ZIP archive, not a GGUF model. Unpack it, or get the .gguf file"
    if (
        len(head) >= 8
        and struct.unpack("<Q", head[:8])[0] < len(head) * 1_000_000
        and head[8:9] == b"{"
    ):
        return "is a safetensors file, not GGUF. Convert it with llama.cpp or get the GGUF"
    try:
        if b"\x00" in head:
            raise UnicodeDecodeError("utf-8", head, 0, 1, "binary")
        head.decode("utf-8")
    except UnicodeDecodeError:
        return (
            "does not start with the GGUF signature, so it is not a GGUF model "
            "(or it is damaged). Download it again"
        )
    return "is a text file, not a GGUF model. Choose the .gguf model file itself"


def _open(path: Path) -> BinaryIO:
    """The model file opened for reading: a regular file only, and never waiting on one
    that is a pipe or a device."""
    try:
        return open_regular(path)
    except FileNotFoundError:
        raise ModelFileError(
            f"The model file {path} does not exist. Choose another model or download it again."
        ) from None
    except IsADirectoryError:
        raise ModelFileError(f"{path} is a folder, not a model file.") from None
    except NotRegularFileError as exc:
        raise ModelFileError(
            f"{path} is not a model file: {exc.strerror}. Choose the .gguf model file itself."
        ) from None
    except PermissionError:
        raise ModelFileError(
            f"Tandem may not read the model file {path}. Check its permissions."
        ) from None
    except OSError as exc:
        raise ModelFileError(f"Could not read the model file {path}: {exc.strerror}.") from exc


def _quantization_name(file_type: int | None) -> str | None:
    if file_type is None:
        return None
    import gguf

    try:
        return str(gguf.LlamaFileType(int(file_type)).name).removeprefix("MOSTLY_")
    except ValueError:
        return f"type {file_type}"


class _Incomplete(Exception):
    def __init__(self, needed_bytes: int) -> None:
        super().__init__(needed_bytes)
        self.needed_bytes = needed_bytes


class _Damaged(Exception):
    pass


# Scalar value types of GGUF metadata: struct format by type id.
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q",
            12: "d"}  # fmt: skip
_STRING, _ARRAY = 8, 9
_MAX_COUNT = 1 << 24
_U64 = struct.Struct("<Q")


@dataclass(frozen=True, slots=True)
class _Parsed:
    metadata: dict[str, Any]  # scalars and strings; arrays only by length
    tensor_elements: list[int]
    needed_bytes: int


class _Cursor:
    """Reads GGUF's little-endian fields from a buffer, refusing to run past its end."""

    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> Any:
        size = struct.calcsize("<" + fmt)
        if self.pos + size > len(self.data):
            raise _Damaged("the header runs past the end of the file")
        value = struct.unpack_from("<" + fmt, self.data, self.pos)[0]
        self.pos += size
        return value

    def string(self) -> str:
        length = self.take("Q")
        if self.pos + length > len(self.data):
            raise _Damaged("a text field runs past the end of the file")
        raw = bytes(self.data[self.pos : self.pos + length])
        self.pos += length
        return raw.decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        length = self.take("Q")
        self.pos += length
        if self.pos > len(self.data):
            raise _Damaged("a text field runs past the end of the file")

    def _skip_strings(self, count: int) -> None:
        # Vocabularies hold 50k-250k strings: one tight loop, not a call per string.
        data, pos, end = self.data, self.pos, len(self.data) - 8
        unpack = _U64.unpack_from
        for _ in range(count):
            if pos > end:
                raise _Damaged("a text field runs past the end of the file")
            pos += 8 + unpack(data, pos)[0]
        if pos > len(data):
            raise _Damaged("a text field runs past the end of the file")
        self.pos = pos

    def value(self, kind: int) -> Any:
        if kind in _SCALARS:
            return self.take(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item_kind, count = self.take("I"), self.take("Q")
            if count > _MAX_COUNT:
                raise _Damaged("an array is impossibly long")
            if item_kind == _STRING:
                self._skip_strings(count)
            elif item_kind in _SCALARS:
                self.pos += struct.calcsize("<" + _SCALARS[item_kind]) * count
            else:
                for _ in range(count):
                    self.value(item_kind)
            return count
        raise _Damaged(f"unknown metadata type {kind}")


def _parse(data: memoryview, size: int) -> _Parsed:
    """Header, metadata and tensor table; array contents are skipped, not read."""
    import gguf

    cur = _Cursor(data)
    cur.pos = 8
    n_tensors, n_kv = cur.take("Q"), cur.take("Q")
    if n_tensors > _MAX_COUNT or n_kv > _MAX_COUNT:
        raise _Damaged("the header counts are impossible")
    metadata: dict[str, Any] = {}
    for _ in range(n_kv):
        key = cur.string()
        metadata[key] = cur.value(cur.take("I"))
    infos = []
    for _ in range(n_tensors):
        cur.skip_string()
        n_dims = cur.take("I")
        if n_dims > 8:
            raise _Damaged("a tensor has impossible dimensions")
        dims = [cur.take("Q") for _ in range(n_dims)]
        infos.append((dims, cur.take("I"), cur.take("Q")))
    alignment = int(metadata.get("general.alignment") or 32)
    data_start = (cur.pos + alignment - 1) // alignment * alignment
    needed = data_start
    elements = []
    for dims, kind, offset in infos:
        count = 1
        for d in dims:
            count *= int(d)
        try:
            block, type_size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType(kind)]
        except (ValueError, KeyError):
            raise _Damaged(f"unknown tensor type {kind}") from None
        elements.append(count)
        needed = max(needed, data_start + int(offset) + count * type_size // block)
    if needed > size:
        raise _Incomplete(needed)
    return _Parsed(metadata, elements, needed)


def inspect_gguf(path: Path) -> GGUFInfo:
    """Check that `path` is a complete GGUF model and read its metadata.

    Raises ModelFileError with a human message when it is not.
    """
    path = Path(path)
    with _open(path) as fh:
        return _inspect(path, fh)


def _inspect(path: Path, fh: BinaryIO) -> GGUFInfo:
    try:
        size = os.fstat(fh.fileno()).st_size
        head = fh.read(512)
    except OSError as exc:
        raise ModelFileError(f"Could not read the model file {path}: {exc.strerror}.") from exc
    if size == 0:
        raise ModelFileError(f"The model file {path.name} is empty. Download it again.")
    if head[:4] != GGUF_MAGIC:
        raise ModelFileError(f"The model file {path.name} {_describe_foreign(head)}.")
    if size < _HEADER_BYTES:
        raise ModelFileError(
            f"The model file {path.name} is cut short ({size} bytes). Download it again."
        )
    version = struct.unpack("<I", head[4:8])[0]
    if version not in SUPPORTED_VERSIONS:
        raise ModelFileError(
            f"The model file {path.name} is GGUF version {version}, which this version "
            "of Tandem cannot read. Update Tandem or get a current GGUF of the model."
        )

    import mmap

    try:
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            view = memoryview(mm)
            try:
                parsed = _parse(view, size)
            finally:
                view.release()
    except _Incomplete as exc:
        raise ModelFileError(
            f"The model file {path.name} is incomplete: it should be at least "
            f"{exc.needed_bytes:,} bytes but is {size:,}. The download was probably cut "
            "short; download it again."
        ) from None
    except (_Damaged, OSError, ValueError) as exc:
        logger.info("GGUF parse of %s failed: %s", path, exc)
        raise ModelFileError(
            f"The model file {path.name} is damaged or incomplete ({exc}). Download it again."
        ) from None

    meta = parsed.metadata
    if not parsed.tensor_elements:
        raise ModelFileError(f"The model file {path.name} holds no tensors; it is not a model.")
    arch = meta.get("general.architecture")
    if not isinstance(arch, str) or not arch:
        raise ModelFileError(
            f"The model file {path.name} does not say which architecture it is, so it "
            "cannot be loaded."
        )
    ctx = meta.get(f"{arch}.context_length")
    name = meta.get("general.name")
    file_type = meta.get("general.file_type")
    template = meta.get("tokenizer.chat_template")
    licence = meta.get("general.license")
    shape = _attention_shape(meta, arch)
    return GGUFInfo(
        path=path,
        size_bytes=size,
        architecture=arch,
        name=name if isinstance(name, str) else None,
        quantization=_quantization_name(file_type if isinstance(file_type, int) else None),
        context_length=int(ctx) if isinstance(ctx, int) else None,
        parameters=sum(parsed.tensor_elements),
        has_chat_template=bool(template),
        layers=shape[0],
        kv_heads=shape[1],
        key_length=shape[2],
        value_length=shape[3],
        license=licence if isinstance(licence, str) else None,
        chat_template=template if isinstance(template, str) else None,
    )


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _attention_shape(
    meta: dict[str, Any], arch: str
) -> tuple[int | None, int | None, int | None, int | None]:
    """Layers, KV heads, key and value width per head, from the architecture's keys."""
    layers = _positive(meta.get(f"{arch}.block_count"))
    heads = _positive(meta.get(f"{arch}.attention.head_count"))
    # Per-layer KV head counts are stored as arrays, which the reader only counts; the
    # full head count is then the cautious figure.
    kv_heads = _positive(meta.get(f"{arch}.attention.head_count_kv")) or heads
    width = _positive(meta.get(f"{arch}.embedding_length"))
    per_head = width // heads if width and heads else None
    key = _positive(meta.get(f"{arch}.attention.key_length")) or per_head
    value = _positive(meta.get(f"{arch}.attention.value_length")) or key
    return layers, kv_heads, key, value
