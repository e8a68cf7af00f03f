"""The slim bar under the text: progress, speed, time left, where it runs and context use; details on demand."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from ..engine.events import Progress
from ..units import format_duration


class StatusStrip(QWidget):
    """One line of figures; the Details button opens the full run details."""

    detailsRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = QLabel("Ready.")
        self.state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setFixedWidth(170)
        self.progress.setMaximumHeight(18)
        self.speed = QLabel()
        self.remaining = QLabel()
        self.device = QLabel()
        self.context = QLabel()
        self.details_button = QToolButton()
        self.details_button.setText("Details")
        self.details_button.setToolTip("The run's figures: model, speed, elapsed time, each section's words")
        self.details_button.setAutoRaise(True)
        self.details_button.clicked.connect(self.detailsRequested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(12)
        layout.addWidget(self.state, 1)
        for widget in (self.progress, self.speed, self.remaining, self.device, self.context, self.details_button):
            layout.addWidget(widget)
        self.set_words(0, 0)

    def set_state(self, text: str) -> None:
        self.state.setText(text)
        self.state.setToolTip(text)

    def set_words(self, words: int, target: int, unit: str = "words") -> None:
        if target <= 0:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("No document")
            return
        self.progress.setRange(0, max(1, target))
        self.progress.setValue(min(words, target))
        self.progress.setFormat(f"{words:,} / {target:,} {unit}")

    def show_progress(self, progress: Progress) -> None:
        self.set_words(progress.words, progress.target_words, progress.unit)
        self.speed.setText(f"{progress.tokens_per_second:.0f} tok/s" if progress.tokens_per_second else "")
        self.remaining.setText(f"{format_duration(progress.eta_s)} left" if progress.eta_s is not None else "")
        if progress.context_size:
            share = 100 * progress.context_used / progress.context_size
            self.context.setText(f"context {share:.0f}%")
            self.context.setToolTip(f"{progress.context_used:,} of {progress.context_size:,} tokens of the "
                                    "model's context in use")

    def show_model(self, name: str, device: str, n_ctx: int) -> None:
        self.device.setText(device)
        self.device.setToolTip(f"{name} runs on {device}, context {n_ctx:,} tokens")
        self.context.setText("context 0%")

    def clear_run(self) -> None:
        """Forget the last run's live figures (another project shown, or a new one)."""
        self.speed.clear()
        self.remaining.clear()
        self.context.clear()
        self.context.setToolTip("")
