"""User-facing errors.

A `UserError` is a problem with the user's input (a bad file, an unknown bib, …). The CLI prints its
message on stderr and exits 1 without a traceback; the app shows it in a dialog.
"""

from __future__ import annotations


class UserError(Exception):
    """An error caused by input the user can fix; the message must say what and where."""


class CommandError(UserError):
    """A domain command refused: `template` (English, `{name}` placeholders) filled with `params`.

    `field` names the input at fault (the CLI prints `--field: message`); the app shows the template's
    translation filled with the same values, so one refusal reads right in both front doors."""

    def __init__(self, field: str, template: str, **params: object) -> None:
        self.field = field
        self.template = template
        self.params = params
        super().__init__(template.format(**params))


class InputErrors(UserError):
    """Several problems found in one input file, each already formatted as `file:line: column: problem`."""

    def __init__(self, problems: list[str], summary: str = "") -> None:
        self.problems = list(problems)
        head = summary or f"{len(self.problems)} problem(s); nothing was imported"
        super().__init__(head + "\n" + "\n".join(self.problems))
