"""The "Print results" choices: which list (overall, by gender, by category, awards), how many awards per
list, one prize per runner, official or not.

Why a dialog of its own: the race director prints several lists from the same screen on race day (the
provisional overall list for the notice board, then the award lists for the ceremony), and the
command line's options (`report results --by … --top … --exclusive --official`) should all be one
click away. Marking a list official asks for the supervisor PIN, like corrections: an official list is
the race's verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QSpinBox,
    QWidget,
)

from ui.i18n import tr


@dataclass(frozen=True)
class PrintOptions:
    """What `station.reports.results_pdf.render_results` is asked for."""

    mode: str = "overall"
    top: int = 3
    exclusive: bool = False
    official: bool = False


class PrintResultsDialog(QDialog):
    """Pick the list; `options()` reads the choice back."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Print results"))
        form = QFormLayout(self)
        self.kind = QComboBox()
        for mode, label in (("overall", tr("Overall")), ("gender", tr("By gender")),
                            ("category", tr("By category")), ("awards", tr("Award lists"))):
            self.kind.addItem(label, mode)
        self.kind.setAccessibleName(tr("Which results list"))
        form.addRow(tr("List:"), self.kind)
        self.top = QSpinBox()
        self.top.setRange(1, 50)
        self.top.setValue(3)
        self.top.setAccessibleName(tr("Awards per list"))
        form.addRow(tr("Awards per list:"), self.top)
        self.exclusive = QCheckBox(tr("One prize per runner (overall winners leave the category lists)"))
        form.addRow(self.exclusive)
        self.official = QCheckBox(tr("Official results (supervisor)"))
        form.addRow(self.official)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(tr("Print…"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self._kind_changed()

    def _kind_changed(self) -> None:
        awards = self.kind.currentData() == "awards"
        self.top.setEnabled(awards)
        self.exclusive.setEnabled(awards)

    def options(self) -> PrintOptions:
        mode = str(self.kind.currentData())
        awards = mode == "awards"
        return PrintOptions(mode, self.top.value() if awards else 3,
                            awards and self.exclusive.isChecked(), self.official.isChecked())
