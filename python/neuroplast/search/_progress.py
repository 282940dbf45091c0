"""Progress bars of the search controllers (tqdm), or a no-op when disabled."""

from __future__ import annotations

from typing import Any

__all__ = ["Progress", "progress_bar"]


class Progress:
    """A progress bar with the few methods the controllers use; silent when disabled.

    Args:
        total: Number of steps (``None`` when unknown, e.g. a time budget).
        desc: Label shown before the bar.
        enabled: ``False`` gives a bar that does nothing.
        unit: Unit name shown by tqdm.
        leave: Keep the bar on screen when closed.
    """

    def __init__(
        self,
        total: int | None,
        desc: str,
        *,
        enabled: bool = True,
        unit: str = "it",
        leave: bool = True,
    ) -> None:
        self._bar: Any = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=unit, leave=leave, dynamic_ncols=True)

    def update(self, n: int = 1, **postfix: Any) -> None:
        """Advances by ``n`` and shows ``postfix`` values (floats with 4 digits)."""
        if self._bar is None:
            return
        if postfix:
            shown = {k: f"{v:.4g}" if isinstance(v, float) else v for k, v in postfix.items()}
            self._bar.set_postfix(shown, refresh=False)
        self._bar.update(n)

    def close(self) -> None:
        """Closes the bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress_bar(total: int | None, desc: str, enabled: bool, **kw: Any) -> Progress:
    """A :class:`Progress` (shorthand)."""
    return Progress(total, desc, enabled=enabled, **kw)
