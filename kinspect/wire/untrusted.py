"""What the API server or a credential plugin says, made fit to quote in a one-line error.

Such text may hold terminal control sequences or run to pages; an error quotes a Status body's
message or a plugin's first line of stderr, never headers or whole bodies.
"""

from __future__ import annotations

from typing import Any

import msgspec

from kinspect.wire import raw

MESSAGE_CHARS = 200  # of a server's message, in an error line
# JSON nested deeper than msgspec recurses (it checks Python's recursion limit, 1,000 frames by
# default: about 990 levels) raises RecursionError, in linear time; every decoder of a body or
# a file turns it into its one-line error with these words. What kinspect reads nests about 15.
TOO_DEEP = "nested too deeply (past about 1,000 levels)"


def one_line(text: str, limit: int = MESSAGE_CHARS) -> str:
    """Server or plugin text made one line: control characters dropped, cut with an ellipsis."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def status_message(body: Any) -> str:
    """The message of a metav1.Status error body; "" when the body is not one."""
    try:
        return msgspec.json.decode(body or b"{}", type=raw.Status).message
    except (msgspec.DecodeError, TypeError, RecursionError):
        return ""
