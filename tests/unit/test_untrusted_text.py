"""Cluster and kubeconfig text is data: never rich markup, HTML, live Markdown, invalid XML,
or terminal control sequences (issue 12, "Data from the cluster is text, not markup")."""

from __future__ import annotations

import datetime
import io
import json
import re
import socket
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, cast

import msgspec
import pytest
import yaml
from rich.console import Console
from rich.text import Text

from kinspect import cli
from kinspect.audit import report as auditreport
from kinspect.audit.finding import Severity
from kinspect.model.edge import IngressRule
from kinspect.model.errors import ExitCode
from kinspect.model.values import NodeAddress
from kinspect.render import data, safe
from kinspect.render.audit import AuditFormat, RenderContext, prometheus
from kinspect.render.audit import render as render_audit
from kinspect.wire import snapshotfile
from tests.unit import builders as b
from tests.unit.runner import Result, invoke

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


# Issue 24, D1-D3: fields that still reached the terminal raw or rich's markup parser.
FORGED = "nginx\x1b[2J\x1b[H\x1b]0;owned\x07\r\n kinspect: error: FAKE [/][bold]x\u202e"


def _shows_escaped(r: Result, *, codes: tuple[ExitCode, ...] = (ExitCode.OK,)) -> str:
    assert r.code in codes, (r.code, r.stderr)
    out = r.stdout + r.stderr
    _no_raw_control(out)
    assert "\u202e" not in out  # a bidi override reorders what the terminal shows
    # The forged error line stays inside the line that quotes it.
    assert not any(line.lstrip().startswith("kinspect: error: FAKE") for line in out.splitlines())
    return "".join(out.split())


def _ingress_snapshot(tmp_path: Path, field: str) -> str:
    ns = FORGED if field == "namespace" else "ns"
    service = FORGED if field == "service" else "web"
    rule = IngressRule("shop.example.com", (b.ipath("/", service, 80),))
    ing = b.ingress(
        FORGED if field == "name" else "shop",
        rule,
        ns=ns,
        class_name=FORGED if field == "className" else None,
        annotation=FORGED if field == "annotation" else None,
        address="203.0.113.7",
    )
    snap = msgspec.structs.replace(
        b.snap(
            services=(b.svc("web", b.sport(80, 8080), ns=ns),),
            groups=(
                b.group("web", [(None, 8080, "TCP")], b.ep("10.244.0.5", "web-0", ns=ns), ns=ns),
            ),
            pods=(b.pod("web-0", "10.244.0.5", b.cport("main", 8080), ns=ns),),
        ),
        ingresses=(ing,),
    )
    path = tmp_path / "ingress.json"
    path.write_bytes(snapshotfile.dumps(snap, compress=False))
    return str(path)


@pytest.mark.parametrize("field", ["annotation", "className", "namespace", "name", "service"])
def test_trace_url_shows_ingress_text_escaped(tmp_path: Path, field: str) -> None:
    # D1: the class annotation (and, in a snapshot, className, namespace, name and the backend's
    # service) went to the terminal raw: a cleared screen, a new title, a forged error line.
    r = invoke(
        "trace", "http://shop.example.com/", "--snapshot", _ingress_snapshot(tmp_path, field)
    )
    joined = _shows_escaped(r, codes=(ExitCode.OK, ExitCode.NOT_FOUND))
    assert "\\x1b[2J\\x1b[H\\x1b]0;owned\\x07\\r\\nkinspect:error:FAKE[/][bold]x" in joined, (
        r.stdout
    )


HOSTILE_IP = "192.0.2.99[/][bold]x"  # what the API server accepts as a Node InternalIP


def _node_port_snapshot(tmp_path: Path) -> str:
    hostile = msgspec.structs.replace(
        b.node(0),
        name=FORGED,
        addresses=(NodeAddress("InternalIP", "192.0.2.10"), NodeAddress("InternalIP", HOSTILE_IP)),
    )
    snap = b.snap(
        nodes=(hostile,),
        services=(
            b.svc(
                "web",
                b.sport(80, FORGED, node_port=30080),
                type="NodePort",
                selector={"app": "web"},
            ),
        ),
        groups=(b.group("web", [(None, 8080, "TCP")], b.ep("10.244.0.5", "web-0", node=FORGED)),),
        pods=(b.pod("web-0", "10.244.0.5", b.cport("main", 8080, FORGED), node_name=FORGED),),
    )
    path = tmp_path / "nodes.json"
    path.write_bytes(snapshotfile.dumps(snap, compress=False))
    return str(path)


@pytest.mark.parametrize(
    "args",
    [
        ("map", "-A", "-o", "tree"),
        ("map", "-A"),
        ("map", "-A", "-o", "wide"),
        ("trace", "192.0.2.10:30080"),
        ("trace", "192.0.2.10"),
        ("trace", "10.96.0.10:80"),
        ("explain", "-A"),
        ("audit", "-A"),
    ],
)
def test_node_addresses_node_names_and_target_ports_are_text(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    # D2: a node InternalIP like 192.0.2.99[/][bold]x was parsed as markup (MarkupError, exit 1)
    # in map -o tree; snapshot node names and targetPort names too, and in trace NODE:NODEPORT.
    r = invoke(*args, "--snapshot", _node_port_snapshot(tmp_path))
    joined = _shows_escaped(r)
    if args[0] != "audit":  # the audit names no node here
        assert "[/][bold]x" in joined, r.stdout


def test_audit_text_shows_namespace_names_escaped(tmp_path: Path) -> None:
    # D3: a snapshot's namespace names reached the audit's text report raw (NUL, ESC, U+202E).
    ns = "team\x00a\x1b[2J\u202eevil[/]"
    web = b.svc("web", b.sport(80, 8080), ns=ns)
    snap = b.snap(
        services=(web,),
        groups=(b.group("web", [(None, 8080, "TCP")], b.ep("10.244.0.5", "web-0", ns=ns), ns=ns),),
        pods=(b.pod("web-0", "10.244.0.5", b.cport("main", 8080), ns=ns),),
    )
    path = tmp_path / "s.json"
    path.write_bytes(snapshotfile.dumps(snap, compress=False))
    other = tmp_path / "other.json"
    other.write_bytes(snapshotfile.dumps(snap, compress=False))
    for extra in ((), ("--snapshot", str(other))):  # one place per namespace, or per context
        joined = _shows_escaped(invoke("audit", "-A", "--snapshot", str(path), *extra))
        assert "team\\x00a\\x1b[2J\\u202eevil[/]" in joined


# Appended to every free-text string of a snapshot: markup, a cleared screen, a new title, a
# forged line, an emoji code, a bidi override.
SUFFIX = "[/][bold]\x1b[2J\x1b]0;t\x07\r\n kinspect: error: FAKE :smile:\u202e"
_ADDRESS = re.compile(r"[0-9a-fA-F.:/]+")
HOST = "shop.example.com"
# The URL traced, and the closed sets the model keeps as plain strings (API groups and kinds).
KEEP = {HOST, "", "HTTP", "Exact", "Gateway", "Service", "gateway.networking.k8s.io"}


def _hostile_everywhere(snap: object) -> bytes:
    """`snap` with SUFFIX after every string a snapshot file may hold as free text.

    Addresses and KEEP stay (trace must find them); a string the decoder refuses (a protocol,
    a type) is put back, path by path, until the file decodes.
    """
    doc = json.loads(snapshotfile.dumps(snap, compress=False))  # type: ignore[arg-type]

    def mutate(v: object) -> object:
        if isinstance(v, str):
            return v if _ADDRESS.fullmatch(v) or v in KEEP else v + SUFFIX
        if isinstance(v, dict):
            return {k: mutate(x) for k, x in v.items()}  # keys: field names, label keys
        if isinstance(v, list):
            return [mutate(x) for x in v]
        return v

    hostile = {**doc, "snapshot": mutate(doc["snapshot"])}
    for _ in range(500):
        data = json.dumps(hostile).encode()
        try:
            msgspec.json.decode(data, type=snapshotfile.SnapshotFile)
            return data
        except msgspec.ValidationError as e:  # the message names the refused path
            refused = str(e)
        where = re.search(r"at `\$((?:\.\w+|\[\d+\])*)`", refused)
        assert where, refused
        steps = [key or int(index) for key, index in re.findall(r"\.(\w+)|\[(\d+)\]", where[1])]
        parent: Any = hostile
        original: Any = doc
        for step in steps[:-1]:
            parent, original = parent[step], original[step]
        parent[steps[-1]] = original[steps[-1]]
    raise AssertionError("the hostile snapshot never decoded")


@pytest.fixture(scope="module")
def hostile_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from kinspect.model.edge import ParentRef
    from tests.unit.test_audit_golden import _prod
    from tests.unit.test_gateway import gw, listener, prefix, ref, route, rule

    ing = b.ingress("shop", IngressRule(HOST, (b.ipath("/", "web", 80),)), ns="shop")
    web = rule(prefix("/"), refs=(ref("web", ns="shop"), ref("gone", ns="shop")))
    snap = msgspec.structs.replace(
        _prod(),
        ingresses=(msgspec.structs.replace(ing, class_annotation="nginx"),),
        gateways=(gw(listener(hostname=HOST), ns="shop"),),
        routes=(
            route("r", web, ns="shop", hostnames=(HOST,), parents=(ParentRef("shop", "gw"),)),
            route(
                "stray", ns="shop", hostnames=("other.example",), parents=(ParentRef("shop", "gw"),)
            ),
        ),
    )
    path = tmp_path_factory.mktemp("hostile") / "hostile.json"
    path.write_bytes(_hostile_everywhere(snap))
    return path


@pytest.mark.parametrize(
    "args",
    [
        ("map", "-A"),
        ("map", "-A", "-o", "wide"),
        ("map", "-A", "-o", "tree"),
        ("ips",),
        ("explain", "-A"),
        ("audit", "-A"),
        ("trace", "10.244.0.5"),
        ("trace", "10.244.0.5:8080"),
        ("trace", "192.0.2.10:30080"),
        ("trace", "192.0.2.10"),
        ("trace", f"http://{HOST}/"),
        ("policy", "--matrix", "-n", "shop" + SUFFIX),
    ],
)
def test_every_text_output_of_a_snapshot_hostile_everywhere(
    hostile_snapshot: Path, args: tuple[str, ...]
) -> None:
    # The sweep behind D1-D3: every string of a snapshot that every check fires on, hostile.
    path = hostile_snapshot
    # Wide enough that explain's prose does not wrap: a line starts only where the output does.
    r = invoke(*args, "--snapshot", str(path), env={"COLUMNS": "100000"})
    joined = _shows_escaped(r, codes=(ExitCode.OK, ExitCode.NOT_FOUND))
    assert ":smile:" in joined or r.code == ExitCode.NOT_FOUND, r.stdout


@pytest.mark.parametrize("tty", [False, True])
def test_the_console_of_every_text_output_parses_no_markup_and_escapes_what_a_renderer_forgot(
    tty: bool,
) -> None:
    # The mechanism under D1-D3: a str is text, never markup or an :emoji: code, and a control
    # character that reaches the console without `plain` is shown escaped, at a terminal too.
    from rich.tree import Tree

    from kinspect.commands.session import Session

    out = io.StringIO()
    s = Session(out, io.StringIO(), {}, stdout_tty=tty)
    tree = Tree("192.0.2.99[/][bold]x :smile:")
    tree.add(Text("forgot plain: \x1b]0;owned\x07\x1b[2J\u202e", style="red"))
    s.console().print(tree)
    shown = out.getvalue()
    assert "192.0.2.99[/][bold]x :smile:" in shown
    assert "forgot plain: \\x1b]0;owned\\x1b[2J\\u202e" in shown  # rich drops BEL itself
    assert "\x1b]" not in shown
    assert "\u202e" not in shown
    assert ("\x1b[31m" in shown) is tty  # rich's own styling still reaches a terminal


def test_tree_labels_are_text_for_consoles_that_parse_markup(hostile_snapshot: Path) -> None:
    # kinspect ui draws render.tree's trees with Textual's console, which parses markup in a
    # str label: every label is `Text` (a `str` label was D2's MarkupError).
    from rich.tree import Tree

    from kinspect.edge import entry
    from kinspect.path import chain, trace
    from kinspect.render import tree

    snap = snapshotfile.load(str(hostile_snapshot))
    idx = chain.Index.of(snap)
    drawn: list[object] = [tree.map_tree(chain.build(snap, idx))]
    for target in ("10.244.0.5", "10.244.0.5:8080", "192.0.2.10:30080", "192.0.2.10"):
        drawn.append(tree.trace_tree(trace.trace(idx, trace.parse_target(target))))
    drawn.append(tree.entry_tree(entry.resolve(idx, entry.parse_request(f"http://{HOST}/"))))

    def labels(t: Tree) -> list[object]:
        return [t.label, *(x for c in t.children for x in labels(c))]

    trees = [t for d in drawn for t in (d.renderables if hasattr(d, "renderables") else [d])]
    found = [x for t in trees if isinstance(t, Tree) for x in labels(t)]
    assert len(found) > 100
    assert [x for x in found if not isinstance(x, Text)] == []
