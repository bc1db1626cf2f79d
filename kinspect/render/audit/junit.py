"""The JUnit XML report, for CI dashboards: a testsuite per context, a testcase per service."""

from __future__ import annotations

from collections import defaultdict
from xml.etree import ElementTree as ET

from kinspect.audit.finding import Finding
from kinspect.audit.report import AuditResult
from kinspect.render.audit.common import RenderContext, pods, port_text
from kinspect.render.safe import xml


def _failure(f: Finding) -> str:
    who = pods(f)
    return xml(
        f"[{f.severity.label}] {f.check} {port_text(f.port) or ''}: {f.message}"
        + (f" (pods: {', '.join(who)})" if who else "")
    )


def render(result: AuditResult, ctx: RenderContext) -> str:
    """JUnit XML: a testsuite per context, a testcase per service.

    Findings at or above `ctx.threshold` are failures, the rest go to system-out. A context that
    could not be read is one errored case.
    """
    suites = ET.Element("testsuites", name="kinspect audit")
    for c in result.contexts:
        mine = [f for f in result.findings if f.context == c.context]
        suite = ET.SubElement(suites, "testsuite", name=xml(c.context))
        if not c.ok:
            case = ET.SubElement(suite, "testcase", classname=xml(c.context), name="read cluster")
            ET.SubElement(case, "error", message=xml(c.error or "failed"))
            suite.set("tests", "1")
            suite.set("errors", "1")
            suite.set("failures", "0")
            continue
        by_service: defaultdict[str, list[Finding]] = defaultdict(list)
        for f in mine:
            by_service[f"{f.namespace}/{f.service}" if f.service else f.namespace].append(f)
        names = sorted(set(c.services) | set(by_service))
        failures = 0
        for name in names:
            ns, _, svc = name.partition("/")
            case = ET.SubElement(
                suite, "testcase", classname=xml(f"{c.context}.{ns}"), name=xml(svc or ns)
            )
            bad = [f for f in by_service.get(name, []) if f.severity >= ctx.threshold]
            if bad:
                failures += 1
                fail = ET.SubElement(
                    case, "failure", message=xml(bad[0].message), type=bad[0].check
                )
                fail.text = "\n".join(_failure(f) for f in bad)
            rest = [f for f in by_service.get(name, []) if f.severity < ctx.threshold]
            if rest:
                ET.SubElement(case, "system-out").text = "\n".join(
                    xml(f"[{f.severity.label}] {f.check}: {f.message}") for f in rest
                )
        suite.set("tests", str(len(names)))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )
