"""The About box's text: the version, this computer, the loaded model, the licences."""

from __future__ import annotations

from app import __version__
from app.backends.local.supervisor import LoadedModel
from app.library.hardware import detect_hardware
from app.ui.widgets.plain import escape


def about_text(loaded: LoadedModel | None) -> str:
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
            f"{loaded.path.name}: {loaded.description or 'model'}, {where}, "
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
