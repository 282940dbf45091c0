"""Griffe extension: render the package's Google-style docstrings well in MkDocs.

The docstrings are written for both ``help()`` and the documentation site. Before griffe
parses a docstring, this extension

* reads a singular ``Example:`` heading as an ``Examples:`` section (Google style allows both;
  griffe renders only ``Examples:`` as an examples section, with doctest lines as code);
* turns Sphinx roles (``:func:`name```, ``:class:`~pkg.Name```) into inline code (the
  ``~`` form shows the last component, as Sphinx does);
* drops the reStructuredText ``::`` that introduces an indented literal block (Markdown
  renders the indented block as code by itself).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE_HEADING = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)
_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj|const|term):`([^`]+)`")
_LITERAL_ONLY = re.compile(r"^[ \t]*::[ \t]*$", re.MULTILINE)
_LITERAL_END = re.compile(r"(\S)::[ \t]*$", re.MULTILINE)


def _role(match: re.Match[str]) -> str:
    target = match.group(1).strip()
    if target.startswith("~"):
        target = target[1:].rsplit(".", 1)[-1]
    return f"`{target}`"


def markdown_docstring(text: str) -> str:
    """The docstring ``text`` with the rewrites described in the module docstring."""
    text = _EXAMPLE_HEADING.sub(r"\1Examples:", text)
    text = _ROLE.sub(_role, text)
    text = _LITERAL_ONLY.sub("", text)
    return _LITERAL_END.sub(r"\1:", text)


class MarkdownDocstrings(griffe.Extension):
    """Applies :func:`markdown_docstring` to every docstring before it is parsed."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrites the docstring of ``obj`` (if any)."""
        if obj.docstring is not None:
            obj.docstring.value = markdown_docstring(obj.docstring.value)
