"""The About box's text: the version, this computer, the loaded model, the licences."""

from __future__ import annotations

from app import __version__
from app.backends.local.supervisor import LoadedModel
from app.core import units
from app.library.gguf_file import GGUFInfo
from app.library.hardware import detect_hardware
from app.ui.widgets.plain import escape


def model_description(loaded: LoadedModel, info: object = None) -> str:
    """`llama 135M Q4_1`: the architecture, the parameter count the file's tensors add up
    to, the quantization (llama.cpp's own description rounds the count to a size class)."""
    if not isinstance(info, GGUFInfo):
        return loaded.description or "model"
    parts = [info.architecture, units.parameters(info.parameters), info.quantization or ""]
    return " ".join(p for p in parts if p)


def about_text(loaded: LoadedModel | None, info: object = None) -> str:
    """`info` is the loaded file's GGUFInfo, when the engine checked it."""
    offload = loaded.gpu_offload_supported if loaded else None
    hardware = escape(detect_hardware(offload).describe())
    if loaded is None:
        model = "No model loaded."
    else:
        where = "on the CPU" if loaded.gpu_layers == 0 else (
            "every layer on the GPU" if loaded.gpu_layers < 0
            else f"{loaded.gpu_layers} layers on the GPU"
        )  # fmt: skip
        model = escape(
            f"{loaded.path.name}: {model_description(loaded, info)}, {where}, "
            f"{loaded.threads} threads, context {loaded.context_length:,} tokens."
        )
    return (
        f"<h3>Tandem {__version__}</h3>"
        "<p>Private local chat, with the speed, privacy and cost of every answer.</p>"
        f"<p><b>This computer:</b> {hardware}<br><b>Loaded:</b> {model}</p>"
        "<p>Built on Qt and PySide6 (LGPL-3.0), llama.cpp and llama-cpp-python (MIT). "
        "Default model: SmolLM2-135M-Instruct (Apache-2.0). Python (PSF-2.0). Every "
        "bundled part and its licence is listed in THIRD-PARTY-NOTICES.txt.</p>"
    )
