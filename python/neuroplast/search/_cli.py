"""Command-line helpers shared by the controllers of ``neuroplast optimize``."""

from __future__ import annotations

from typing import Any

__all__ = ["add_once"]


def add_once(group: Any, flag: str, **kw: Any) -> None:
    """Adds ``flag`` unless another controller already defined it (shared generic options).

    Every controller adds its options to the one ``optimize`` parser; generic ones such as
    ``--run-dir`` must mean the same for all of them and exist once.
    """
    # An argument group shares its parser's table of option strings.
    if flag not in group._option_string_actions:
        group.add_argument(flag, **kw)
