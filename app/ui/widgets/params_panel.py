"""The parameters the user can set for answers."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.messages import (
    AUTO_GPU_LAYERS,
    FlashAttention,
    GenerationParams,
    KVCacheType,
    load_settings_problem,
)
from app.ui.widgets.plain import show_plain

# Prompt lookup: the model's own setting (None), or on/off for these answers.
_LOOKUP_CHOICES = (("as set for the model", None), ("on", True), ("off", False))


class ParamsPanel(QWidget):
    """Signals:
    changed(GenerationParams): any generation field changed.
    costs_changed(str, float, float): reference cloud model, USD per kWh, CPU watts.
    """

    changed = Signal(object)
    costs_changed = Signal(str, float, float)

    def __init__(self, params: GenerationParams, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._base = params  # what the panel does not show (top-k, min-p, …) is kept
        outer = QVBoxLayout(self)
        form = QFormLayout()
        outer.addLayout(form)
        # The rest, folded away until asked for: most people never need it.
        self.advanced_toggle = QToolButton()
        self.advanced_toggle.setText("&Advanced")
        self.advanced_toggle.setAccessibleName("Advanced parameters")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.setAutoRaise(True)
        self.advanced = QWidget()
        self.advanced.setAccessibleName("Advanced")
        advanced = QVBoxLayout(self.advanced)
        advanced.setContentsMargins(0, 0, 0, 0)
        advanced_form = QFormLayout()
        advanced.addLayout(advanced_form)
        self.advanced.hide()
        self.advanced_toggle.toggled.connect(self._on_advanced)
        outer.addWidget(self.advanced_toggle)
        outer.addWidget(self.advanced)
        outer.addStretch(1)
        self.setMaximumWidth(340)
        self.system_prompt = QPlainTextEdit(params.system_prompt)
        self.system_prompt.setPlaceholderText("Optional instructions for every answer")
        self.system_prompt.setTabChangesFocus(True)
        self.system_prompt.setFixedHeight(80)
        self.temperature = self._double(0.0, 2.0, 0.05, params.temperature)
        self.top_p = self._double(0.0, 1.0, 0.05, params.top_p)
        self.max_tokens = self._int(1, 32768, params.max_tokens)
        self.context_length = self._int(256, 131072, params.context_length)
        self.context_length.setSingleStep(512)
        self.threads = self._int(0, 256, params.threads or 0)
        self.threads.setSpecialValueText("auto")
        self.gpu_layers = self._int(-1, 999, params.gpu_layers)
        self.gpu_layers.setSpecialValueText("auto")
        self.seed = self._int(-1, 2**31 - 1, -1 if params.seed is None else params.seed)
        self.seed.setSpecialValueText("random")
        basics = [
            ("System prompt", self.system_prompt),
            ("Temperature", self.temperature),
            ("Max tokens", self.max_tokens),
            ("Context length", self.context_length),
        ]
        self.kv_cache = self._choice([(str(k), k) for k in KVCacheType], params.kv_cache_type)
        self.flash_attention = self._choice(
            [(str(f), f) for f in FlashAttention], params.flash_attention
        )
        self.prompt_lookup = self._choice(list(_LOOKUP_CHOICES), params.speculative)
        self.kv_cache.setToolTip("q8_0 takes about half the memory of f16, q4_0 a quarter")
        self.prompt_lookup.setToolTip(
            "Drafts tokens from the prompt: faster when the answer repeats it (a rewrite)"
        )
        self.load_problem = QLabel()
        self.load_problem.setWordWrap(True)
        self.load_problem.setAccessibleName("Load settings problem")
        self.load_problem.hide()
        rest = [
            ("Top-p", self.top_p),
            ("CPU threads", self.threads),
            ("GPU layers", self.gpu_layers),
            ("Seed", self.seed),
            ("KV cache", self.kv_cache),
            ("Flash attention", self.flash_attention),
            ("Prompt lookup", self.prompt_lookup),
        ]
        for rows, into in ((basics, form), (rest, advanced_form)):
            for label, widget in rows:
                widget.setAccessibleName(label)
                into.addRow(label, widget)
        advanced_form.addRow(self.load_problem)
        self.system_prompt.textChanged.connect(self._emit)
        costs = advanced_form
        self.reference = QComboBox()
        self.electricity = QDoubleSpinBox()
        self.electricity.setRange(0.0, 10.0)
        self.electricity.setDecimals(3)
        self.electricity.setSingleStep(0.01)
        self.electricity.setSuffix(" $/kWh")
        self.watts = QDoubleSpinBox()
        self.watts.setRange(0.0, 5000.0)
        self.watts.setSuffix(" W")
        for label, widget in (
            ("Price as", self.reference),
            ("Electricity", self.electricity),
            ("CPU power", self.watts),
        ):
            widget.setAccessibleName(label)
            costs.addRow(label, widget)
        self.reference.setToolTip("The cloud model whose prices show what a local answer saved")

    def set_costs(self, models: list[str], reference: str, usd_per_kwh: float,
                  watts: float) -> None:  # fmt: skip
        for widget in (self.reference, self.electricity, self.watts):
            widget.blockSignals(True)
        self.reference.clear()
        self.reference.addItems(models)
        self.reference.setCurrentText(reference)
        self.electricity.setValue(usd_per_kwh)
        self.watts.setValue(watts)
        for widget in (self.reference, self.electricity, self.watts):
            widget.blockSignals(False)
        self.reference.currentTextChanged.connect(self._emit_costs)
        self.electricity.valueChanged.connect(self._emit_costs)
        self.watts.valueChanged.connect(self._emit_costs)

    def _on_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        arrow = Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        self.advanced_toggle.setArrowType(arrow)

    def _emit_costs(self, *_args: object) -> None:
        self.costs_changed.emit(
            self.reference.currentText(), self.electricity.value(), self.watts.value()
        )

    def _double(self, low: float, high: float, step: float, value: float) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setRange(low, high)
        box.setSingleStep(step)
        box.setDecimals(2)
        box.setValue(value)
        box.valueChanged.connect(self._emit)
        return box

    def _choice(self, items: list[tuple[str, object]], value: object) -> QComboBox:
        box = QComboBox()
        for label, data in items:
            box.addItem(label, data)
        box.setCurrentIndex(max(0, box.findData(value)))
        box.currentIndexChanged.connect(self._emit)
        return box

    def _int(self, low: int, high: int, value: int) -> QSpinBox:
        box = QSpinBox()
        box.setRange(low, high)
        box.setValue(value)
        box.valueChanged.connect(self._emit)
        return box

    def params(self) -> GenerationParams:
        seed = self.seed.value()
        gpu = self.gpu_layers.value()
        return self._base.with_(
            system_prompt=self.system_prompt.toPlainText(),
            temperature=self.temperature.value(),
            top_p=self.top_p.value(),
            max_tokens=self.max_tokens.value(),
            context_length=self.context_length.value(),
            threads=self.threads.value() or None,
            gpu_layers=AUTO_GPU_LAYERS if gpu < 0 else gpu,
            seed=None if seed < 0 else seed,
            kv_cache_type=KVCacheType(self.kv_cache.currentData()),
            flash_attention=FlashAttention(self.flash_attention.currentData()),
            speculative=self.prompt_lookup.currentData(),
        )

    def set_params(self, params: GenerationParams) -> None:
        """Show `params` (a preset chosen), then say so once."""
        self._base = params
        fields = (self.system_prompt, self.temperature, self.top_p, self.max_tokens,
                  self.context_length, self.threads, self.gpu_layers, self.seed,
                  self.kv_cache, self.flash_attention, self.prompt_lookup)  # fmt: skip
        for widget in fields:
            widget.blockSignals(True)
        try:
            self.system_prompt.setPlainText(params.system_prompt)
            self.temperature.setValue(params.temperature)
            self.top_p.setValue(params.top_p)
            self.max_tokens.setValue(params.max_tokens)
            self.context_length.setValue(params.context_length)
            self.threads.setValue(params.threads or 0)
            self.gpu_layers.setValue(params.gpu_layers)
            self.seed.setValue(-1 if params.seed is None else params.seed)
            for box, value in (
                (self.kv_cache, params.kv_cache_type),
                (self.flash_attention, params.flash_attention),
                (self.prompt_lookup, params.speculative),
            ):
                box.setCurrentIndex(max(0, box.findData(value)))
        finally:
            for widget in fields:
                widget.blockSignals(False)
        self._emit()

    def _emit(self, *_args: object) -> None:
        params = self.params()
        self._show_load_problem(params)
        self.changed.emit(params)

    def _show_load_problem(self, params: GenerationParams) -> None:
        """Say at once when the KV cache type and flash attention cannot load together."""
        problem = load_settings_problem(str(params.kv_cache_type), str(params.flash_attention))
        show_plain(self.load_problem, problem or "")
        self.load_problem.setVisible(problem is not None)
