"""Cluster and kubeconfig text is data: never rich markup, HTML, live Markdown, invalid XML,
or terminal control sequences (issue 12, "Data from the cluster is text, not markup")."""

from __future__ import annotations

import datetime
import io
import json
import socket
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import cast

import msgspec
import pytest
import yaml
from rich.console import Console

from kinspect import cli
from kinspect.audit import report as auditreport
from kinspect.audit.finding import Severity
from kinspect.model.errors import ExitCode
from kinspect.render import data, safe
from kinspect.render.audit import AuditFormat, RenderContext, prometheus
from kinspect.render.audit import render as render_audit
from kinspect.wire import snapshotfile
from tests.unit import builders as b
from tests.unit.runner import invoke

# What the API server accepts in an EndpointSlice targetRef.name (TESTBED-FACTS).
NASTY = (
    "x[/]y[bold]z<script>alert(1)</script><img src=x onerror=alert(2)>|`a`=b,c\\"
    "\x1b]0;pwned\x07\x1b[2J\rFORGED\x9b"
)


def _nasty_snapshot(tmp_path: Path) -> str:
    web = b.pod("web-0", "10.244.0.5", b.cport("main", 8080))
    snap = b.snap(
        nodes=(b.node(0),),
        services=(
            b.svc("web", b.sport(80, 8080), selector={"app": "web"}),
            b.svc("odd", b.sport(80, 8080), cluster_ips=("10.96.0.11",), selectorless=True),
        ),
        groups=(
            b.group("web", [(None, 8080, "TCP")], b.ep("10.244.0.5", "web-0")),
            # A hand-made slice whose targetRef names a pod that does not exist.
            b.group("odd", [(None, 8080, "TCP")], b.ep("10.244.0.9", NASTY)),
        ),
        pods=(web,),
    )
    path = tmp_path / "nasty.json"
    path.write_bytes(snapshotfile.dumps(snap, compress=False))
    return str(path)


def _no_raw_control(text: str) -> None:
    # Only newline may remain: ESC, BEL, CR and C1 controls arrive escaped.
    bad = [c for c in text if (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F]
    assert not bad, [hex(ord(c)) for c in bad]


@pytest.mark.parametrize(
    "args",
    [
        ("map",),
        ("map", "-A"),
        ("map", "-A", "-o", "wide"),
        ("map", "-A", "-o", "tree"),
        ("trace", "10.96.0.11:80"),
        ("explain",),
        ("audit",),
        ("audit", "-A"),
    ],
)
def test_text_outputs_show_cluster_text_escaped(tmp_path: Path, args: tuple[str, ...]) -> None:
    scope = () if "-A" in args else ("-n", "ns")
    r = invoke(*args, *scope, "--snapshot", _nasty_snapshot(tmp_path))
    assert r.code in (ExitCode.OK, ExitCode.NOT_FOUND), r.stderr
    assert "unexpected" not in r.stderr
    out = r.stdout + r.stderr
    _no_raw_control(out)
    # Brackets are shown as they are, not parsed as markup.
    assert "x[/]y[bold]z" in out.replace("\n", ""), out
    assert "\\x1b" in out


def _strings(doc: object) -> list[str]:
    if isinstance(doc, str):
        return [doc]
    if isinstance(doc, dict):
        return [x for v in doc.values() for x in _strings(v)]
    if isinstance(doc, list):
        return [x for v in doc for x in _strings(v)]
    return []


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_machine_outputs_keep_the_exact_data(tmp_path: Path, fmt: str) -> None:
    r = invoke("map", "-n", "ns", "-o", fmt, "--snapshot", _nasty_snapshot(tmp_path))
    assert r.code == ExitCode.OK, r.stderr
    doc = json.loads(r.stdout) if fmt == "json" else yaml.safe_load(r.stdout)
    assert any(NASTY in x for x in _strings(doc))


def test_markdown_report_escapes_html_and_table_syntax(tmp_path: Path) -> None:
    r = invoke("audit", "-o", "markdown", "-n", "ns", "--snapshot", _nasty_snapshot(tmp_path))
    assert r.code == ExitCode.OK, r.stderr
    assert "<script>" not in r.stdout
    assert "<img" not in r.stdout
    assert "&lt;script&gt;" in r.stdout
    _no_raw_control(r.stdout)
    for line in r.stdout.splitlines():
        if line.startswith("| ") and "odd" in line:
            # The name's pipe does not add a column.
            assert line.replace("\\|", "").count("|") == 6, line


def test_junit_report_is_valid_xml(tmp_path: Path) -> None:
    r = invoke("audit", "-o", "junit", "-n", "ns", "--snapshot", _nasty_snapshot(tmp_path))
    assert r.code == ExitCode.OK, r.stderr
    root = ET.fromstring(r.stdout.encode())
    assert "x[/]y" in ET.tostring(root, encoding="unicode")


@pytest.mark.parametrize("fmt", ["html", "prometheus", "json"])
def test_other_reports_render(tmp_path: Path, fmt: str) -> None:
    r = invoke("audit", "-o", fmt, "-n", "ns", "--snapshot", _nasty_snapshot(tmp_path))
    assert r.code == ExitCode.OK, r.stderr
    assert "<script>" not in r.stdout or fmt == "json"


def test_safe_helpers() -> None:
    assert safe.plain("a\x1b[31mb\x07\r\n\x9b\x7f") == "a\\x1b[31mb\\x07\\r\\n\\x9b\\x7f"
    assert safe.plain("ok [/] ünïcode") == "ok [/] ünïcode"
    assert safe.plain("\ud800") == "\\ud800"
    assert safe.markdown("<b>|`x`\n") == "&lt;b&gt;\\|&#96;x&#96; "
    assert safe.xml("a\x1b\x07\tb\ud800\ufffe") == "a\\x1b\\x07\tb\\ud800\\ufffe"


def _two_context_kubeconfig(tmp_path: Path, names: tuple[str, str]) -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing answers there
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": n, "context": {"cluster": "c", "user": "u"}} for n in names],
        "current-context": names[0],
    }
    p = tmp_path / "kubeconfig"
    p.write_text(json.dumps(doc))  # JSON is YAML: escapes survive
    return str(p)


class _Terminal(io.TextIOWrapper):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("tty", [False, True])
def test_multi_context_audit_with_markup_in_context_names(tmp_path: Path, tty: bool) -> None:
    names = ("a[/]b", "c[bold]\x1b]0;t\x07d")
    kc = _two_context_kubeconfig(tmp_path, names)
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    err = _Terminal(io.BytesIO(), encoding="utf-8", write_through=True)
    args = ["audit", "--kubeconfig", kc, "--context", names[0], "--context", names[1]]
    code = cli.run([*args, "--request-timeout", "2"], stdout=out, stderr=err if tty else None)
    assert code == ExitCode.PARTIAL
    report = out.buffer.getvalue().decode()
    assert "context a[/]b: FAILED" in report
    assert "context c[bold]\\x1b]0;t\\x07d: FAILED" in report
    if tty:
        shown = cast(io.BytesIO, err.buffer).getvalue().decode()
        assert "\x07" not in shown  # the spinner and the warnings show the name escaped
        assert "c[bold]\\x1b]0;t\\x07d" in shown


def test_error_lines_show_kubeconfig_text_escaped(tmp_path: Path) -> None:
    kc = _two_context_kubeconfig(tmp_path, ("a[/]b\x1b]0;t\x07", "ok"))
    r = invoke("map", "--kubeconfig", kc, "--context", "nope[/]")
    assert r.code == ExitCode.CONFIG
    assert r.stderr.count("\n") == 1, r.stderr
    assert "a[/]b\\x1b]0;t\\x07" in r.stderr, r.stderr
    assert "nope[/]" in r.stderr


def test_prometheus_survives_a_lone_surrogate() -> None:
    ctx = RenderContext(datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC), Severity.WARNING)
    result = auditreport.combine([auditreport.ContextResult("a\ud800b", error="x")], [], None)
    text = prometheus.render(result, ctx)
    text.encode()  # raised UnicodeEncodeError
    assert 'context="a\ufffdb"' in text


@pytest.mark.parametrize("fmt", list(AuditFormat))
def test_every_audit_format_survives_a_lone_surrogate(fmt: AuditFormat) -> None:
    # PyYAML reads "\ud800" in a kubeconfig as a lone surrogate, which UTF-8 cannot encode.
    ctx = RenderContext(datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC), Severity.WARNING)
    result = auditreport.combine([auditreport.ContextResult("a\ud800b", error="e")], [], None)
    out = render_audit(fmt, result, ctx)
    if not isinstance(out, str):
        console = Console(file=io.StringIO(), width=100)
        console.print(out)
        out = cast(io.StringIO, console.file).getvalue()
    out.encode()


def test_json_and_yaml_survive_a_lone_surrogate() -> None:
    doc = {"context": "a\ud800b", "services": [{"name": "\udfff"}]}
    assert b"a\xef\xbf\xbdb" in data.json_bytes(doc)
    buf = io.BytesIO()
    data.write_json(doc, buf, stream="services", pretty=False)
    assert json.loads(buf.getvalue()) == {"context": "a\ufffdb", "services": [{"name": "\ufffd"}]}
    data.to_yaml(doc).encode()


def test_ips_shows_cluster_text_escaped(tmp_path: Path) -> None:
    # Only a snapshot file can hold such a pod or node name; the tables must not care.
    odd = b.pod(NASTY, "10.244.0.9", b.cport(NASTY, 80), node_name=NASTY, labels={"x": "y"})
    n = msgspec.structs.replace(b.node(0), name=NASTY)
    path = tmp_path / "s.json"
    path.write_bytes(snapshotfile.dumps(b.snap(nodes=(n,), pods=(odd,)), compress=False))
    r = invoke("ips", "--snapshot", str(path))
    assert r.code == ExitCode.OK, r.stderr
    _no_raw_control(r.stdout + r.stderr)
    joined = "".join(r.stdout.split())
    assert "x[/]y[bold]z" in joined
    assert "\\x1b]0;pwned\\x07" in joined
