"""The first hop of entry traffic (edge.controller): what receives an Ingress's published
address and port, and which Service is its controller's (issue 23 item 2).

The shape is ingress-nginx's baremetal manifest (deploy/static/provider/baremetal): the
controller's Service is type NodePort (http 80 → http, https 443 → https), its pods declare
containerPorts http 80 and https 443, and the Ingress status holds a node's IP.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from kinspect.edge import controller, entry
from kinspect.model.edge import IngressClass, IngressRule
from kinspect.model.errors import ExitCode
from kinspect.model.snapshot import Snapshot
from kinspect.model.values import LoadBalancerIngress, Service
from kinspect.path import chain
from kinspect.wire import snapshotfile

from ..schema import validate
from .builders import cport, ep, group, ingress, ipath, node, pod, snap, sport, svc
from .runner import invoke

CTL = {"app.kubernetes.io/name": "ingress-nginx"}
NGINX = IngressClass("nginx", "k8s.io/ingress-nginx")


def _controller_svc(name: str = "ingress-nginx-controller", http: int = 32335) -> Service:
    return svc(
        name,
        sport(80, "http", "http", node_port=http),
        sport(443, "https", "https", node_port=http + 1),
        ns="ingress-nginx",
        type="NodePort",
        cluster_ips=("10.96.0.50",),
        selector=CTL,
    )


def _baremetal(
    *extra: Service, host_port: int | None = None, status: str = "192.0.2.10"
) -> Snapshot:
    page = svc(
        "productpage",
        sport(9080, 9080, "http"),
        ns="bookinfo",
        cluster_ips=("10.96.0.60",),
        selector={"app": "productpage"},
    )
    s = snap(
        nodes=(node(0), node(1)),
        services=(_controller_svc(), page, *extra),
        groups=(
            group(
                "ingress-nginx-controller",
                [("http", 80, "TCP"), ("https", 443, "TCP")],
                ep("10.244.0.9", "ctl-0", ns="ingress-nginx"),
                ns="ingress-nginx",
            ),
            group(
                "productpage",
                [("http", 9080, "TCP")],
                ep("10.244.1.5", "productpage-0", node="n1", ns="bookinfo"),
                ns="bookinfo",
            ),
        ),
        pods=(
            pod(
                "ctl-0",
                "10.244.0.9",
                cport("controller", 80, "http", host_port=host_port),
                cport("controller", 443, "https"),
                ns="ingress-nginx",
                labels=CTL,
            ),
            pod(
                "productpage-0",
                "10.244.1.5",
                cport("productpage", 9080, "http"),
                ns="bookinfo",
                node_name="n1",
                labels={"app": "productpage"},
            ),
        ),
    )
    ing = ingress(
        "bookinfo",
        IngressRule("bookinfo.example.com", (ipath("/productpage", "productpage", 9080),)),
        ns="bookinfo",
        address=status,
    )
    return msgspec.structs.replace(s, ingresses=(ing,), ingress_classes=(NGINX,))


def _resolve(s: Snapshot, url: str, host: str | None = None) -> entry.EntryResult:
    return entry.resolve(chain.Index.of(s), entry.parse_request(url, host))


def _save(tmp_path: Path, s: Snapshot) -> str:
    path = str(tmp_path / "snap.json.gz")
    snapshotfile.save(path, s)
    return path


def test_a_node_ip_status_finds_the_only_nodeport_service_with_an_http_nodeport() -> None:
    c = controller.controller_of(chain.Index.of(_baremetal()), ("192.0.2.10",))
    assert [(s.namespace, s.name) for s in c.services] == [
        ("ingress-nginx", "ingress-nginx-controller")
    ]
    assert c.unknown is None
    assert c.rule == (
        "192.0.2.10 is a node IP; ingress-nginx/ingress-nginx-controller is the only NodePort "
        "Service with an HTTP(S) nodePort that no Ingress or route names as a backend"
    )


def test_a_nodeport_backend_of_an_ingress_is_not_a_controller() -> None:
    # productpage exposed on a nodePort as well: it is served by the Ingress, not serving it.
    page = svc(
        "productpage",
        sport(9080, 9080, "http", node_port=31080),
        ns="bookinfo",
        type="NodePort",
        cluster_ips=("10.96.0.60",),
        selector={"app": "productpage"},
    )
    s = _baremetal()
    s = msgspec.structs.replace(s, services=(s.services[0], page))
    c = controller.controller_of(chain.Index.of(s), ("192.0.2.10",))
    assert [s.name for s in c.services] == ["ingress-nginx-controller"]


def test_two_candidates_leave_the_controller_unknown_never_guessed() -> None:
    other = _controller_svc("traefik", http=31000)
    c = controller.controller_of(chain.Index.of(_baremetal(other)), ("192.0.2.10",))
    assert c.services == ()
    assert c.unknown == (
        "controller unknown: 2 candidate services (ingress-nginx/ingress-nginx-controller, "
        "ingress-nginx/traefik) have an HTTP(S) nodePort on node IP 192.0.2.10"
    )


def test_a_load_balancer_address_names_the_service_holding_it() -> None:
    lb = svc("edge", sport(80), ns="ingress-nginx", type="LoadBalancer", lb=("203.0.113.7",))
    c = controller.controller_of(chain.Index.of(_baremetal(lb)), ("203.0.113.7",))
    assert [s.name for s in c.services] == ["edge"]
    assert c.rule == "ingress-nginx/edge holds 203.0.113.7 as load-balancer ingress"
    out = controller.controller_of(chain.Index.of(_baremetal()), ("203.0.113.99",))
    assert out.unknown == "controller unknown: no Service or node holds 203.0.113.99"


def test_url_on_the_node_ip_port_80_is_answered_by_the_rule_but_nothing_receives_it() -> None:
    r = _resolve(_baremetal(), "http://bookinfo.example.com/productpage")
    assert r.answered
    assert r.first_hop is not None
    [rc] = r.first_hop.receivers
    assert (rc.address, rc.port, rc.known, rc.received) == ("192.0.2.10", 80, True, False)
    assert r.first_hop.received is False
    assert not r.found


def test_url_on_the_nodeport_enters_the_controller_pods_then_the_rule() -> None:
    r = _resolve(_baremetal(), "http://192.0.2.10:32335/productpage", "bookinfo.example.com")
    assert r.found
    assert r.first_hop is not None
    assert r.first_hop.received is True
    assert r.first_hop.pods() == [
        (
            "the controller's service ingress-nginx/ingress-nginx-controller port 80 "
            "(NodePort 192.0.2.10:32335)",
            r.first_hop.pods()[0][1],
            80,
            "TCP",
        )
    ]
    assert str(r.first_hop.pods()[0][1]) == "ingress-nginx/ctl-0"
    assert r.hit is not None
    assert r.hit.hop.service is not None
    assert r.hit.hop.service.name == "productpage"


def test_a_hostport_controller_receives_the_node_ip_port_80() -> None:
    r = _resolve(_baremetal(host_port=80), "http://bookinfo.example.com/productpage")
    assert r.found
    assert r.first_hop is not None
    [(via, ref, port, proto)] = r.first_hop.pods()
    assert (via, str(ref), port, proto) == (
        "the controller's pod by HostPort 192.0.2.10:80",
        "ingress-nginx/ctl-0",
        80,
        "TCP",
    )


def test_another_nodes_nodeport_reaches_the_ingresses_of_that_controller() -> None:
    # 192.0.2.11 is not in the Ingress's status, but its nodePort enters the controller.
    r = _resolve(_baremetal(), "http://192.0.2.11:32335/productpage", "bookinfo.example.com")
    assert r.behind == (
        "192.0.2.11:32335 enters ingress-nginx/ingress-nginx-controller, the controller of "
        "1 Ingress"
    )
    assert r.hit is not None
    assert r.hit.ingress.name == "bookinfo"
    assert r.found


def test_an_address_nothing_read_holds_is_unknown_and_keeps_found() -> None:
    r = _resolve(_baremetal(status="203.0.113.99"), "http://bookinfo.example.com/productpage")
    assert r.first_hop is not None
    assert r.first_hop.received is None
    assert r.found


def test_trace_url_text_json_and_exit_codes(tmp_path: Path) -> None:
    path = _save(tmp_path, _baremetal())
    miss = invoke("trace", "http://bookinfo.example.com/productpage", "--snapshot", path)
    assert miss.code == ExitCode.NOT_FOUND, miss.stderr
    assert "nothing receives port 80 on this address" in miss.stdout
    assert (
        "hint: the controller's service ingress-nginx/ingress-nginx-controller receives on "
        "the nodes' nodePorts (80→nodePort 32335, 443→nodePort 32336)"
    ) in miss.stdout
    ok = invoke(
        "trace", "http://192.0.2.10:32335/productpage", "--host", "bookinfo.example.com",
        "--snapshot", path,
    )  # fmt: skip
    assert ok.code == ExitCode.OK, ok.stderr
    out = ok.stdout
    # The controller hop comes before the rule, the rule before productpage's endpoints.
    first = out.index("NodePort 192.0.2.10:32335 → service ingress-nginx/ingress-nginx-controller")
    assert first < out.index("Ingress bookinfo/bookinfo") < out.index("10.244.1.5:9080")
    assert "10.244.0.9:80" in out
    doc_run = invoke(
        "trace", "http://192.0.2.10:32335/productpage", "--host", "bookinfo.example.com",
        "--snapshot", path, "-o", "json",
    )  # fmt: skip
    doc = json.loads(doc_run.stdout)
    validate(doc, "entry-trace-report.json")
    fh = doc["firstHop"]
    assert fh["received"] is True
    assert fh["controller"]["services"] == [
        {"namespace": "ingress-nginx", "name": "ingress-nginx-controller"}
    ]
    [rc] = fh["receivers"]
    assert rc["trace"]["routes"][0]["entry"]["kind"] == "NodePort"


def test_from_judges_the_hop_into_the_controller_pods(tmp_path: Path) -> None:
    path = _save(tmp_path, _baremetal())
    r = invoke(
        "trace", "http://192.0.2.10:32335/productpage", "--host", "bookinfo.example.com",
        "--from", "outside", "--snapshot", path,
    )  # fmt: skip
    assert r.code == ExitCode.OK, r.stderr
    assert (
        "ingress-nginx/ctl-0:80/TCP  via the controller's service "
        "ingress-nginx/ingress-nginx-controller port 80 (NodePort 192.0.2.10:32335)"
    ) in r.stdout
    assert "bookinfo/productpage-0:9080/TCP" in r.stdout


def test_map_entrypoints_name_the_controller(tmp_path: Path) -> None:
    eps = entry.entrypoints(chain.Index.of(_baremetal()))
    [e] = eps
    assert e.controller is not None
    assert [s.name for s in e.controller.services] == ["ingress-nginx-controller"]
    path = _save(tmp_path, _baremetal())
    doc = json.loads(invoke("map", "--snapshot", path, "-A", "-o", "json").stdout)
    validate(doc, "chain-report.json")
    [j] = doc["entrypoints"]
    assert j["controller"]["services"] == [
        {"namespace": "ingress-nginx", "name": "ingress-nginx-controller"}
    ]
    out = invoke("map", "--snapshot", path, "-A", "--entrypoints")
    lines = [ln.split() for ln in out.stdout.splitlines()]
    assert lines[1] == [
        "bookinfo.example.com", "/productpage", "(Prefix)", "Ingress", "bookinfo/bookinfo",
        "class", "nginx", "ingress-nginx/ingress-nginx-controller", "bookinfo/productpage:9080",
        "-", "1/1",
    ]  # fmt: skip
    ambiguous = _baremetal(_controller_svc("traefik", http=31000))
    [e] = entry.entrypoints(chain.Index.of(ambiguous))
    assert e.controller is not None
    assert e.controller.unknown is not None
    assert e.controller.unknown.startswith("controller unknown: 2 candidate services")


def test_pictures_start_at_the_host_and_path_through_the_controller(tmp_path: Path) -> None:
    from kinspect.render import dot, graph, mermaid

    s = _baremetal()
    idx = chain.Index.of(s)
    g = graph.graph(chain.build(s, idx), entry.entrypoints(idx))
    label = {n.id: n.label for n in g.nodes}
    kind = {n.id: n.kind for n in g.nodes}
    edges = {(label[e.source], label[e.target], e.label) for e in g.edges}
    route = "Ingress bookinfo/bookinfo: bookinfo.example.com /productpage (Prefix)"
    ctl = "controller ingress-nginx/ingress-nginx-controller"
    assert (ctl, route, "class nginx") in edges
    assert (route, "bookinfo/productpage http 9080→9080", "9080") in edges
    # The controller's own service ports (its nodePorts lead there) lead to the controller.
    assert ("ingress-nginx/ingress-nginx-controller http 80→http", ctl, "its pods proxy") in edges
    assert sorted(kind[i] for i in label if label[i] in (route, ctl)) == ["controller", "route"]
    path = _save(tmp_path, s)
    mmd = invoke("map", "-A", "--snapshot", path, "-o", "mermaid").stdout
    assert '{{"controller ingress-nginx/ingress-nginx-controller"}}' in mmd
    assert "Ingress bookinfo/bookinfo: bookinfo.example.com /productpage #40;Prefix#41;" in mmd
    gv = invoke("map", "-A", "--snapshot", path, "-o", "dot").stdout
    assert 'label="controller ingress-nginx/ingress-nginx-controller", shape=hexagon' in gv
    assert dot.render(chain.build(s, idx), entry.entrypoints(idx)) == gv
    assert mermaid.render(chain.build(s, idx), entry.entrypoints(idx)) == mmd


def test_pictures_name_the_addresses_when_the_controller_is_unknown() -> None:
    from kinspect.render import graph

    s = _baremetal(_controller_svc("traefik", http=31000))
    idx = chain.Index.of(s)
    g = graph.graph(chain.build(s, idx), entry.entrypoints(idx))
    assert [n.label for n in g.nodes if n.kind == "route"] == [
        "Ingress bookinfo/bookinfo: bookinfo.example.com /productpage (Prefix) at 192.0.2.10"
    ]
    assert [n for n in g.nodes if n.kind == "controller"] == []


def test_the_audit_charts_start_at_the_host_and_path(tmp_path: Path) -> None:
    # productpage without a ready endpoint: an error, so the report draws its chain.
    s = _baremetal()
    groups = tuple(
        msgspec.structs.replace(g, endpoints=()) if g.service == "productpage" else g
        for g in s.endpoint_groups
    )
    path = _save(tmp_path, msgspec.structs.replace(s, endpoint_groups=groups))
    r = invoke("audit", "--snapshot", path, "-o", "markdown")
    section = r.stdout.split("## Chains of the services with errors\n", 1)[1]
    assert "\n### bookinfo/productpage\n" in section
    assert '{{"controller ingress-nginx/ingress-nginx-controller"}}' in section
    assert "Ingress bookinfo/bookinfo: bookinfo.example.com /productpage #40;Prefix#41;" in section


def test_a_gateways_status_address_held_by_a_load_balancer_is_its_first_hop() -> None:
    from kinspect.model.edge import Gateway, Listener, ParentRef, Route, RouteRule

    from .test_gateway import ref

    envoy = svc(
        "envoy",
        sport(80, 8080, "http"),
        ns="gw-system",
        type="LoadBalancer",
        cluster_ips=("10.96.0.70",),
        lb=("203.0.113.30",),
        selector={"app": "envoy"},
    )
    s = _baremetal(envoy)
    envoy_ep = group(
        "envoy", [("http", 8080, "TCP")], ep("10.244.0.20", "envoy-0", ns="gw-system"),
        ns="gw-system",
    )  # fmt: skip
    envoy_pod = pod(
        "envoy-0", "10.244.0.20", cport("envoy", 8080, "http"), ns="gw-system",
        labels={"app": "envoy"},
    )  # fmt: skip
    gw = Gateway("bookinfo", "gw", "cls", (Listener("http", 80, "HTTP", None),), ("203.0.113.30",))
    rt = Route(
        "HTTPRoute", "bookinfo", "r", (ParentRef("bookinfo", "gw"),), ("shop.example",),
        (RouteRule((), (ref("productpage", 9080, ns="bookinfo"),)),), "2026-01-01T00:00:00Z",
        (),
    )  # fmt: skip
    s = msgspec.structs.replace(
        s,
        endpoint_groups=(*s.endpoint_groups, envoy_ep),
        pods=(*s.pods, envoy_pod),
        gateways=(gw,),
        routes=(rt,),
    )
    r = _resolve(s, "http://shop.example/")
    assert r.gateway.found
    assert r.first_hop is not None
    assert r.first_hop.received is True
    assert [x.name for x in r.first_hop.controller.services] == ["envoy"]
    [(via, pod_ref, port, _)] = r.first_hop.pods()
    assert (via, str(pod_ref), port) == (
        "the controller's service gw-system/envoy port 80 (LoadBalancer 203.0.113.30:80)",
        "gw-system/envoy-0",
        8080,
    )


def test_map_names_the_controller_beside_the_ingress_entering_a_port(tmp_path: Path) -> None:
    path = _save(tmp_path, _baremetal())
    table = invoke("map", "-A", "--snapshot", path).stdout
    assert (
        "← ingress bookinfo bookinfo.example.com/productpage through controller "
        "ingress-nginx/ingress-nginx-controller"
    ) in table
    tree = invoke("map", "-A", "--snapshot", path, "-o", "tree").stdout
    assert (
        "entered by ingress bookinfo bookinfo.example.com/productpage (class nginx) through "
        "controller ingress-nginx/ingress-nginx-controller"
    ) in tree


def test_a_host_network_controller_receives_the_node_ip_port_80() -> None:
    # ingress-nginx's baremetal hostNetwork option: the pod's IP is the node's.
    s = _baremetal()
    ctl = pod(
        "ctl-0", "192.0.2.10", cport("controller", 80, "http"), cport("controller", 443, "https"),
        ns="ingress-nginx", labels=CTL, host_network=True,
    )  # fmt: skip
    s = msgspec.structs.replace(s, pods=(ctl, *s.pods[1:]))
    r = _resolve(s, "http://bookinfo.example.com/productpage")
    assert r.found
    assert r.first_hop is not None
    assert [(via, str(p), port) for via, p, port, _ in r.first_hop.pods()] == [
        ("the controller's pod by HostNetwork 192.0.2.10:80", "ingress-nginx/ctl-0", 80)
    ]


def test_with_one_namespace_read_nothing_received_is_unknown_not_missing() -> None:
    s = msgspec.structs.replace(_baremetal(), read_namespace="bookinfo")
    r = _resolve(s, "http://bookinfo.example.com/productpage")
    assert r.first_hop is not None
    assert r.first_hop.received is None
    assert r.first_hop.unread == (
        "unknown, because only namespace bookinfo was read (-n bookinfo): a Service or a "
        "hostPort pod of another namespace may receive it (-A reads them all)"
    )
    assert r.found


def test_a_load_balancer_host_name_an_external_name_service_points_to_is_unknown() -> None:
    # status.loadBalancer.ingress[].hostname (a cloud LB), and a CNAME service to it.
    cname = svc("lb-alias", ns="bookinfo", type="ExternalName", external_name="lb.example.net")
    s = _baremetal(cname)
    ing = s.ingresses[0]
    lb = LoadBalancerIngress(hostname="lb.example.net")
    s = msgspec.structs.replace(s, ingresses=(msgspec.structs.replace(ing, addresses=(lb,)),))
    r = _resolve(s, "http://bookinfo.example.com/productpage")
    assert r.first_hop is not None
    [rc] = r.first_hop.receivers
    assert rc.address == "lb.example.net"
    assert not rc.known
    assert r.first_hop.received is None
    assert r.found


def test_each_ingress_with_its_own_load_balancer_names_its_own_controller() -> None:
    # One load balancer per Ingress (as some cloud controllers make): one index, many answers.
    lbs = tuple(
        svc(f"alb-{i}", sport(80), ns="ingress-nginx", type="LoadBalancer",
            cluster_ips=(f"10.96.1.{i}",), lb=(f"203.0.113.{i}",))
        for i in range(1, 4)
    )  # fmt: skip
    s = _baremetal(*lbs)
    ings = tuple(
        ingress(
            f"app-{i}",
            IngressRule(f"app{i}.example.com", (ipath("/", "productpage", 9080),)),
            ns="bookinfo",
            address=f"203.0.113.{i}",
        )
        for i in range(1, 4)
    )
    s = msgspec.structs.replace(s, ingresses=ings)
    got = {
        e.name: [x.name for x in e.controller.services]
        for e in entry.entrypoints(chain.Index.of(s))
        if e.controller is not None
    }
    assert got == {"app-1": ["alb-1"], "app-2": ["alb-2"], "app-3": ["alb-3"]}


def test_a_plain_trace_of_the_controllers_nodeport_suggests_host(tmp_path: Path) -> None:
    # It stopped at the controller's pods, without a word of the Ingresses behind them.
    path = _save(tmp_path, _baremetal())
    r = invoke("trace", "192.0.2.11:32335", "--snapshot", path)
    assert r.code == ExitCode.OK, r.stderr
    assert (
        "hint: ingress-nginx/ingress-nginx-controller is the ingress controller of 1 Ingress "
        "(hosts bookinfo.example.com): add --host HOST to follow a request through its rules"
    ) in " ".join(r.stdout.split())
    doc = json.loads(invoke("trace", "192.0.2.11:32335", "--snapshot", path, "-o", "json").stdout)
    assert [h["port"] for h in doc["hints"]] == [32335]
    # Not the controller's: no such hint.
    other = invoke("trace", "10.96.0.60:9080", "--snapshot", path).stdout
    assert "--host HOST" not in other
