"""Cluster and kubeconfig text made safe for each kind of output. Pure.

Names, addresses and messages come from whoever may write an object (the API server does not
validate an EndpointSlice's `targetRef.name`) or a kubeconfig: they are data, never markup.
Text outputs pass each piece through `plain` (control characters shown escaped, so a name
cannot move the cursor, retitle a terminal or forge a line) and hand rich `Text`, never a
markup string. Markdown and JUnit reports have their own escapes below. JSON and YAML keep the
exact data: their encoders escape it.

Every text output goes through `console`, which makes both rules hold whatever a renderer
forgets: it parses no markup (a `[/]` in a str is text) and shows a control character that
reaches it escaped.
"""

from __future__ import annotations

import errno
import html
import os
import re
from collections.abc import Iterable
from typing import IO

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment

# C0 and C1 controls, DEL, line/paragraph separators, bidi overrides (they reorder what a
# terminal shows) and lone surrogates (not encodable as UTF-8).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# The same but the newline, which rich's own layout puts in what it renders (a cluster
# newline is escaped by `plain` before it gets there).
_UNSAFE_RENDERED = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# XML 1.0 allows only #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD and #x10000-#x10FFFF.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Markdown punctuation that would make a link, an image, emphasis or a new table cell.
_SURROGATE = re.compile("[\ud800-\udfff]")
_MARKDOWN_PUNCT = re.compile(r"([\\*_\[\]~|])")


def _escape(m: re.Match[str]) -> str:
    c = m.group()
    if c in _NAMED:
        return _NAMED[c]
    n = ord(c)
    return f"\\x{n:02x}" if n <= 0xFF else f"\\u{n:04x}"


def plain(s: str) -> str:
    r"""`s` for a terminal or a text file: control characters shown escaped (ESC as `\x1b`)."""
    return _UNSAFE.sub(_escape, s) if _UNSAFE.search(s) else s


def markdown(s: str) -> str:
    """`s` inside a Markdown table cell or list item: no HTML, no syntax, one line."""
    s = s.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    s = _MARKDOWN_PUNCT.sub(r"\\\1", s)
    return plain(html.escape(s, quote=False).replace("`", "&#96;"))


def xml(s: str) -> str:
    """`s` as XML 1.0 text or attribute: the characters XML forbids shown escaped."""
    return _NOT_XML.sub(_escape, s) if _NOT_XML.search(s) else s


def utf8(s: str) -> str:
    """`s` encodable as UTF-8: a lone surrogate (from a kubeconfig) becomes U+FFFD."""
    return _SURROGATE.sub("\ufffd", s) if _SURROGATE.search(s) else s


def utf8_deep(value: object) -> object:
    """`value` (JSON-like builtins) with `utf8` applied to every string, keys included."""
    if isinstance(value, str):
        return utf8(value)
    if isinstance(value, dict):
        return {utf8_deep(k): utf8_deep(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [utf8_deep(v) for v in value]
    return value


class _TextConsole(Console):
    """A rich console for cluster text: see `console`."""

    def on_broken_pipe(self) -> None:
        # rich's own answer to a BrokenPipeError is to point file descriptor 1 at /dev/null
        # and raise SystemExit(1): exit 1 (kinspect's "bug") and, in-process, the real stdout
        # of whoever runs `cli.run` silenced. The program's handler ends quietly instead.
        self.quiet = True  # nothing more is written to a stream whose reader left
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        # rich renders nested renderables through this method too: the escape is idempotent.
        for seg in super().render(renderable, options):
            text = seg.text
            if seg.control or text.isprintable() or not _UNSAFE_RENDERED.search(text):
                yield seg
            else:
                yield Segment(_UNSAFE_RENDERED.sub(_escape, text), seg.style)


def console(
    file: IO[str],
    *,
    width: int | None = None,
    force_terminal: bool | None = None,
    soft_wrap: bool = False,
    record: bool = False,
) -> Console:
    r"""A rich console that every text output prints through (stdout's, stderr's, a report's).

    It parses no markup and replaces no `:emoji:` codes in a str (rich's defaults read a node IP
    like `192.0.2.9[/]` as a closing tag: a MarkupError), highlights nothing, and shows a
    control character that reaches it escaped (ESC as `\x1b`), rich's own escape sequences
    aside. Renderers still pass cluster text through `plain`: only it escapes a newline, so a
    name cannot start a line of its own.
    """
    return _TextConsole(
        file=file,
        width=width,
        force_terminal=force_terminal,
        soft_wrap=soft_wrap,
        record=record,
        markup=False,
        emoji=False,
        highlight=False,
    )
