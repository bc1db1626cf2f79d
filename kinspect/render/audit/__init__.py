"""Audit reports: one module per output format, each `render(result, ctx)`, and a dispatcher.

Every format renders an `AuditResult` with the same small `RenderContext` (when the audit ran,
the JUnit threshold), so the CLI never learns a format's private arguments. Text returns a rich
renderable, the others a string. Format modules never import each other (import-linter); what
they share is in `common`. They are imported when a report is rendered, not with this package:
the CLI imports `AuditFormat` at start-up, and most commands never render an audit.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, assert_never

from kinspect.render.audit.common import Chart, RenderContext

if TYPE_CHECKING:
    from rich.console import RenderableType

    from kinspect.audit.report import AuditResult

__all__ = ["AuditFormat", "Chart", "RenderContext", "render"]


class AuditFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"
    html = "html"
    junit = "junit"
    prometheus = "prometheus"


def render(fmt: AuditFormat, result: AuditResult, ctx: RenderContext) -> str | RenderableType:
    """The report in format `fmt`: a rich renderable for text, a string for the others."""
    from kinspect.render.audit import html, json, junit, markdown, prometheus, text

    match fmt:
        case AuditFormat.text:
            return text.render(result, ctx)
        case AuditFormat.json:
            return json.render(result, ctx)
        case AuditFormat.markdown:
            return markdown.render(result, ctx)
        case AuditFormat.html:
            return html.render(result, ctx)
        case AuditFormat.junit:
            return junit.render(result, ctx)
        case AuditFormat.prometheus:
            return prometheus.render(result, ctx)
        case _:
            assert_never(fmt)
