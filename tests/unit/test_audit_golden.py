"""Every audit output format, compared whole with a golden file in tests/unit/golden/.

One rich report (three contexts, one failed; every check firing; ignore rules; a baseline written
by kinspect 0.1.0, tests/unit/golden/baseline-0.1.0.json) and one report without findings. The
golden files were written by the code before the audit refactor, so they pin today's bytes.

After an intended change of output, regenerate them and review the diff:

    KINSPECT_REGEN_GOLDEN=1 .venv/bin/pytest tests/unit/test_audit_golden.py
"""

from __future__ import annotations

import datetime
import io
import os
from pathlib import Path

import msgspec
import pytest
from rich.console import Console

from kinspect.audit import checks as audit
from kinspect.audit.finding import Severity
from kinspect.audit.report import AuditResult, ContextResult, combine
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import Endpoint, EndpointGroup, Pod, ProbePort, Protocol
from kinspect.path import chain
from kinspect.render.audit import AuditFormat, RenderContext, render
from kinspect.wire import auditfiles

from .builders import cport, ep, group, node, pod, snap, sport, svc

GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("KINSPECT_REGEN_GOLDEN") == "1"
# Fractional seconds: the JSON stamp truncates them, the Prometheus timestamp rounds them.
NOW = datetime.datetime(2026, 11, 26, 0, 10, 0, 600000, tzinfo=datetime.UTC)
STAGING = 'staging "b"'  # quotes: escaped in HTML and in Prometheus labels


def _p(name: str, ip: str | None, *ports: object, ns: str = "shop", **kw: object) -> Pod:
    return pod(name, ip, *ports, ns=ns, **kw)  # type: ignore[arg-type]


def _prod() -> Snapshot:
    """Every check fires at least once, most not-backend reasons appear."""
    app = {"app": "web"}
    web = (
        msgspec.structs.replace(
            _p("a", "10.244.0.5", cport("app", 8080, "http"), labels=app),
            probes=(ProbePort("app", "readiness", 8080),),
        ),
        _p("b", "10.244.1.5", cport("app", 8080, "http"), node_name="n1", labels=app),
        _p("c", "10.244.0.6", cport("app", 8080, "web"), labels=app),
        _p("d", None, cport("app", 8080, "http"), node_name=None, ready=False, phase="Pending"),
        _p("e", None, cport("app", 8080, "http"), ready=False, phase="Pending"),
        msgspec.structs.replace(
            _p("f", "10.244.0.7", cport("app", 8080, "http"), ready=False), deleting=True
        ),
        _p("g", "10.244.0.8", cport("app", 8080, "http"), phase="Succeeded", ready=False),
        _p("h", "10.244.1.8", cport("app", 8080, "http"), node_name="n1", ready=False),
        _p("i", "10.244.1.9", cport("app", 8080, "http"), node_name="n1"),
        _p("j", None, cport("app", 8080, "http"), node_name="n1", ready=False),
    )
    other = (
        _p("l", "10.244.0.20", cport("app", 8080), labels={"app": "lonely"}),
        _p("s1", "10.244.0.30", cport("app", 8080, "http"), labels={"app": "stuck"}, ready=False),
        _p("s2", "10.244.1.30", cport("app", 8080, "http"), labels={"app": "stuck"}, ready=False),
        _p("u1", "10.244.0.40", cport("app", 8080, "http"), labels={"app": "undeclared"}),
        _p("u2", "10.244.1.40", cport("app", 8080, "http"), labels={"app": "undeclared"}),
        _p("m", "10.244.0.50", cport("mdns", 5353, "mdns"), labels={"app": "mdns"}),
        _p("lo1", "10.244.0.60", cport("app", 8080, "http"), labels={"app": "local"}),
        _p("lb1", "10.244.0.70", cport("app", 8080, "http"), labels={"app": "lb"}),
        _p("lb2", "10.244.1.70", cport("app", 8080, "http"), labels={"app": "lb"}, node_name="n1"),
        _p("st1", "10.244.0.80", cport("app", 8080, "http"), labels={"app": "stale"}),
        _p("sp1", "10.244.0.90", cport("app", 8080, "http"), labels={"app": "split"}),
        _p("sp2", "10.244.1.90", cport("app", 8080, "http"), labels={"app": "split"}),
        Pod(
            "shop",
            "bare",
            {"app": "bare"},
            "n0",
            phase="Running",
            ready=True,
            pod_ips=("10.244.0.99",),
        ),
        # Pending and portless: no port's finding names it, so pod-declares-no-ports does.
        Pod("shop", "bare-next", {"app": "bare"}, None, phase="Pending"),
        _p(
            "dns-0",
            "10.244.1.53",
            cport("coredns", 53, "dns", "UDP"),
            cport("coredns", 53, "dns-tcp"),
            labels={"app": "dns"},
            node_name="n1",
        ),
    )
    system = (
        _p(
            "agent",
            "192.0.2.10",
            cport("agent", 30080),
            ns="kube-system",
            labels={},
            host_network=True,
        ),
        _p("h1", "10.244.0.101", cport("x", 80, host_port=80), ns="kube-system", labels={}),
        _p("h2", "10.244.0.102", cport("x", 80, host_port=80), ns="kube-system", labels={}),
        _p("h3", "10.244.0.103", cport("y", 443, host_port=443), ns="kube-system", labels={}),
        _p("h4", "10.244.0.104", cport("y", 443, host_port=443), ns="kube-system", labels={}),
        _p("h5", "10.244.1.105", cport("z", 9100, host_port=9100), ns="infra", node_name="n1"),
        _p("h6", "10.244.1.106", cport("z", 9100, host_port=9100), ns="infra", node_name="n1"),
    )
    services = (
        svc("web", sport(80, "http", name="http"), ns="shop"),
        svc("lonely", sport(80, 8080), ns="shop", selector={"app": "lonely"}),
        svc("ghost", sport(80, "http", name="http"), ns="shop", selector={"app": "nobody"}),
        svc("stuck", sport(80, "http", name="http"), ns="shop", selector={"app": "stuck"}),
        svc("undeclared", sport(80, 9999, name="http"), ns="shop", selector={"app": "undeclared"}),
        svc(
            "mdns",
            sport(5353, 5353, name="mdns", protocol="UDP"),
            ns="shop",
            selector={"app": "mdns"},
        ),
        svc(
            "local",
            sport(80, "http", name="http", node_port=30080),
            ns="shop",
            type="NodePort",
            etp="Local",
            selector={"app": "local"},
        ),
        svc(
            "local2",
            sport(80, "http", name="http", node_port=30080),
            ns="shop",
            type="NodePort",
            selector={"app": "local"},
        ),
        svc(
            "pending-lb",
            sport(443, "http", name="https", node_port=31000),
            ns="shop",
            type="LoadBalancer",
            selector={"app": "lb"},
        ),
        svc(
            "lb-ok",
            sport(443, "http", name="https", node_port=31001),
            ns="shop",
            type="LoadBalancer",
            lb=("203.0.113.7",),
            selector={"app": "lb"},
        ),
        svc("stale", sport(80, "http", name="http"), ns="shop", selector={"app": "stale"}),
        # numeric targetPort on a named container port: numeric-target-port fires here
        svc("split", sport(80, 8080, name="http"), ns="shop", selector={"app": "split"}),
        svc("orphan", sport(5432), ns="shop", selectorless=True),
        svc("bare", sport(80, 8080), ns="shop", selector={"app": "bare"}),
        svc(
            "dns",
            sport(53, "dns", name="dns", protocol="UDP"),
            sport(53, "dns-tcp", name="dns-tcp"),
            ns="shop",
            selector={"app": "dns"},
        ),
        svc("ext", ns="shop", type="ExternalName", cluster_ips=(), external_name="x.example"),
    )

    def g(
        service: str, ports: list[tuple[str | None, int, Protocol]], *eps: Endpoint
    ) -> EndpointGroup:
        return group(service, ports, *eps, ns="shop")

    def e(
        addr: str, name: str, n: str = "n0", ready: bool = True, terminating: bool = False
    ) -> Endpoint:
        return ep(addr, name, n, ready, terminating, ns="shop")

    groups = (
        g(
            "web",
            [("http", 8080, "TCP")],
            e("10.244.0.5", "a"),
            e("10.244.1.5", "b", "n1"),
            e("10.244.0.7", "f", ready=False, terminating=True),
        ),
        g("lonely", [(None, 8080, "TCP")], e("10.244.0.20", "l")),
        g(
            "stuck",
            [("http", 8080, "TCP")],
            e("10.244.0.30", "s1", ready=False),
            e("10.244.1.30", "s2", "n1", ready=False),
        ),
        g(
            "undeclared",
            [("http", 9999, "TCP")],
            e("10.244.0.40", "u1"),
            e("10.244.1.40", "u2", "n1"),
        ),
        g("mdns", [("mdns", 5353, "UDP")], e("10.244.0.50", "m")),
        g("local", [("http", 8080, "TCP")], e("10.244.0.60", "lo1")),
        g("local2", [("http", 8080, "TCP")], e("10.244.0.60", "lo1")),
        g(
            "pending-lb",
            [("https", 8080, "TCP")],
            e("10.244.0.70", "lb1"),
            e("10.244.1.70", "lb2", "n1"),
        ),
        g(
            "lb-ok",
            [("https", 8080, "TCP")],
            e("10.244.0.70", "lb1"),
            e("10.244.1.70", "lb2", "n1"),
        ),
        g("stale", [("http", 8080, "TCP")], e("10.244.0.80", "st1"), e("10.244.0.81", "gone")),
        g("split", [("http", 8080, "TCP")], e("10.244.0.90", "sp1"), e("10.244.1.90", "sp2", "n1")),
        g("bare", [(None, 8080, "TCP")], e("10.244.0.99", "bare")),
        g(
            "dns",
            [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")],
            e("10.244.1.53", "dns-0", "n1"),
        ),
    )
    legacy = (
        *(x for x in groups if x.service != "split"),
        g("split", [("http", 8080, "TCP")], e("10.244.0.90", "sp1"), e("10.244.2.90", "sp3", "n1")),
    )
    s = snap(
        nodes=(node(0, external=True), node(1)),
        services=services,
        groups=groups,
        pods=(*web, *other, *system),
    )
    return msgspec.structs.replace(s, context="prod", legacy_endpoint_groups=legacy)


def _staging() -> Snapshot:
    a = _p("api-0", "10.244.0.5", cport("api", 8080, "http"), ns="default", labels={"app": "api"})
    s = snap(
        nodes=(node(0),),
        services=(
            svc("api", sport(80, "http", name="http"), ns="default", selector={"app": "api"}),
            svc("ghost", sport(80, "http", name="http"), ns="default", selector={"app": "x"}),
        ),
        groups=(
            group(
                "api",
                [("http", 8080, "TCP")],
                ep("10.244.0.5", "api-0", ns="default"),
                ns="default",
            ),
        ),
        pods=(a,),
    )
    return msgspec.structs.replace(
        s,
        context=STAGING,
        warnings=("cannot list nodes (forbidden): nodePort checks see no node",),
    )


IGNORE_FILE = f"""\
- check: service-type-cost
  service: local2
  reason: "NodePort on purpose | see <OPS-1> & co"
- check: "*"
  namespace: infra
  service: ""
  reason: node agents collide by design
- check: single-ready-endpoint
  context: '{STAGING}'
  service: api
  reason: one replica in staging
"""


def _context(s: Snapshot) -> ContextResult:
    idx = chain.Index.of(s)
    return ContextResult(
        s.context,
        None,
        s.warnings,
        tuple(f"{x.namespace}/{x.name}" for x in s.services),
        tuple(audit.run(s, chain.build(s, idx), idx)),
    )


def _rich(tmp: Path) -> AuditResult:
    ignore = tmp / "ignore.yaml"
    ignore.write_text(IGNORE_FILE)
    rules = auditfiles.read_ignore_file(str(ignore))
    base = auditfiles.read_baseline(str(GOLDEN / "baseline-0.1.0.json"))
    failed = ContextResult("broken", error="cannot reach https://10.0.0.1:6443 <timeout> & | retry")
    return combine([_context(_prod()), _context(_staging()), failed], rules, base)


def _empty() -> AuditResult:
    s = _staging()
    s = msgspec.structs.replace(s, context="quiet", services=s.services[:1], warnings=())
    s = msgspec.structs.replace(
        s, pods=(*s.pods, msgspec.structs.replace(s.pods[0], name="api-1", pod_ips=("10.244.0.6",)))
    )
    s = msgspec.structs.replace(
        s,
        endpoint_groups=(
            group(
                "api",
                [("http", 8080, "TCP")],
                ep("10.244.0.5", "api-0", ns="default"),
                ep("10.244.0.6", "api-1", ns="default"),
                ns="default",
            ),
        ),
    )
    return combine([_context(s)], (), None)


EXTENSIONS = {
    AuditFormat.text: "txt",
    AuditFormat.json: "json",
    AuditFormat.markdown: "md",
    AuditFormat.html: "html",
    AuditFormat.junit: "xml",
    AuditFormat.prometheus: "prom",
}


def _render(fmt: AuditFormat, r: AuditResult) -> str:
    """The whole report; text as `--output-file` writes it (120 columns, no styles)."""
    out = render(fmt, r, RenderContext(NOW, Severity.WARNING))
    if isinstance(out, str):
        return out
    console = Console(record=True, width=120, file=io.StringIO())
    console.print(out)
    return console.export_text()


def _compare(name: str, ext: str, out: str) -> None:
    path = GOLDEN / f"{name}.{ext}"
    if REGEN:
        path.write_bytes(out.encode())
    assert out.encode() == path.read_bytes(), f"{path.name} differs (see the module docstring)"


@pytest.mark.parametrize("fmt", list(AuditFormat))
def test_rich_report(tmp_path: Path, fmt: AuditFormat) -> None:
    _compare("audit", EXTENSIONS[fmt], _render(fmt, _rich(tmp_path)))


@pytest.mark.parametrize("fmt", list(AuditFormat))
def test_report_without_findings(fmt: AuditFormat) -> None:
    _compare("audit.empty", EXTENSIONS[fmt], _render(fmt, _empty()))
