"""Wire JSON (as the API server sends it) → domain values."""

from __future__ import annotations

import msgspec

from kinspect.model.values import ContainerPort, Endpoint, EndpointPort, Namespace, PodRef
from kinspect.wire import convert, raw

POD = b"""{
 "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"},
              "ownerReferences": [{"kind": "ReplicaSet", "name": "web-5d4f", "uid": "x"}],
              "managedFields": [{"manager": "kube-controller-manager"}]},
 "spec": {"nodeName": "n1",
          "initContainers": [
             {"name": "init", "image": "i", "ports": [{"containerPort": 1}]},
             {"name": "proxy", "image": "p", "restartPolicy": "Always",
              "ports": [{"name": "metrics", "containerPort": 15090}]}],
          "containers": [{"name": "app", "image": "a",
                          "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                                    {"containerPort": 53, "protocol": "UDP", "hostPort": 53}]}]},
 "status": {"phase": "Running", "podIP": "10.244.1.5",
            "podIPs": [{"ip": "10.244.1.5"}, {"ip": "fd00::5"}],
            "conditions": [{"type": "Ready", "status": "True"}]}
}"""


def test_pod_keeps_sidecar_ports_and_drops_plain_init_container_ports() -> None:
    p = convert.pod(msgspec.json.decode(POD, type=raw.Pod))
    assert p.pod_ips == ("10.244.1.5", "fd00::5")
    assert p.ready
    assert p.phase == "Running"
    assert p.node_name == "n1"
    assert p.owner == "ReplicaSet/web-5d4f"
    assert p.containers == ("proxy", "app")
    assert p.ports == (
        ContainerPort("app", 8080, "TCP", "http"),
        ContainerPort("app", 53, "UDP", None, 53),
        ContainerPort("proxy", 15090, "TCP", "metrics", sidecar=True),
    )


def test_endpoint_slice_null_conditions_follow_api_defaults() -> None:
    body = b"""{"metadata": {"name": "web-abc", "namespace": "shop",
                "labels": {"kubernetes.io/service-name": "web"}},
                "addressType": "IPv4",
                "endpoints": [
                  {"addresses": ["10.244.1.5"], "conditions": {},
                   "targetRef": {"kind": "Pod", "name": "web-1", "namespace": "shop"},
                   "nodeName": "n1"},
                  {"addresses": ["10.244.1.6"],
                   "conditions": {"ready": false, "serving": true, "terminating": true}}],
                "ports": [{"name": "", "port": 8080, "protocol": "TCP"}]}"""
    g = convert.endpoint_slice(msgspec.json.decode(body, type=raw.EndpointSlice))
    assert g is not None
    assert (g.service, g.ports) == ("web", (EndpointPort(8080, "TCP", None),))
    assert g.endpoints == (
        Endpoint("10.244.1.5", True, True, False, "n1", PodRef("shop", "web-1")),
        Endpoint("10.244.1.6", False, True, True, None, None),
    )


def test_empty_slice_and_slice_without_service_label() -> None:
    empty = b"""{"metadata": {"name": "s", "namespace": "n",
                 "labels": {"kubernetes.io/service-name": "web"}},
                 "addressType": "IPv4", "endpoints": null, "ports": null}"""
    g = convert.endpoint_slice(msgspec.json.decode(empty, type=raw.EndpointSlice))
    assert g is not None
    assert g.endpoints == ()
    assert g.ports == ()
    orphan = b"""{"metadata": {"name": "s", "namespace": "n"}, "addressType": "IPv4"}"""
    assert convert.endpoint_slice(msgspec.json.decode(orphan, type=raw.EndpointSlice)) is None


def test_legacy_endpoints_ready_and_not_ready_addresses() -> None:
    body = b"""{"metadata": {"name": "web", "namespace": "shop"},
      "subsets": [{"addresses": [{"ip": "10.244.1.5", "nodeName": "n1",
                                   "targetRef": {"kind": "Pod", "name": "web-1"}}],
                   "notReadyAddresses": [{"ip": "10.244.2.5"}],
                   "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]}"""
    (g,) = convert.endpoints(msgspec.json.decode(body, type=raw.Endpoints))
    assert g.service == "web"
    assert g.ports == (EndpointPort(8080, "TCP", "http"),)
    assert [(e.address, e.ready, e.pod) for e in g.endpoints] == [
        ("10.244.1.5", True, PodRef("shop", "web-1")),
        ("10.244.2.5", False, None),
    ]


def test_service_fields() -> None:
    body = b"""{"metadata": {"name": "web", "namespace": "shop"},
      "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
               "externalTrafficPolicy": "Local", "selector": {"app": "web"},
               "ports": [{"name": "http", "port": 80, "targetPort": "http", "nodePort": 30080,
                          "protocol": "TCP"}]},
      "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.10"},
                                              {"hostname": "lb.example"}]}}}"""
    s = convert.service(msgspec.json.decode(body, type=raw.Service))
    assert s.ports[0].target_port == "http"
    assert s.ports[0].node_port == 30080
    assert [i.address for i in s.load_balancer_ingress] == ["203.0.113.10", "lb.example"]
    assert s.selector == {"app": "web"}
    assert not s.headless


def test_service_fields_of_issue_22() -> None:
    body = b"""{"metadata": {"name": "web", "namespace": "shop", "annotations": {
        "service.kubernetes.io/topology-mode": "Auto",
        "service.beta.kubernetes.io/load-balancer-source-ranges": "192.0.2.0/24"}},
      "spec": {"type": "LoadBalancer", "clusterIPs": ["10.96.0.10", "fd00:10:96::a"],
               "ipFamilyPolicy": "PreferDualStack", "ipFamilies": ["IPv4", "IPv6"],
               "trafficDistribution": "PreferSameZone", "sessionAffinity": "ClientIP",
               "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}},
               "loadBalancerSourceRanges": ["203.0.113.0/24"]}}"""
    s = convert.service(msgspec.json.decode(body, type=raw.Service))
    assert (s.traffic_distribution, s.topology_mode) == ("PreferSameZone", "Auto")
    assert (s.session_affinity, s.session_affinity_timeout) == ("ClientIP", 60)
    assert s.load_balancer_source_ranges == ("203.0.113.0/24",)
    assert s.source_ranges_annotation == "192.0.2.0/24"
    assert (s.ip_family_policy, s.ip_families) == ("PreferDualStack", ("IPv4", "IPv6"))


def test_session_affinity_none_and_the_default_timeout() -> None:
    def aff(spec: bytes) -> tuple[str | None, int | None]:
        body = b'{"metadata": {"name": "w", "namespace": "n"}, "spec": ' + spec + b"}"
        s = convert.service(msgspec.json.decode(body, type=raw.Service))
        return s.session_affinity, s.session_affinity_timeout

    assert aff(b'{"sessionAffinity": "None"}') == (None, None)
    assert aff(b"{}") == (None, None)
    assert aff(b'{"sessionAffinity": "ClientIP"}') == ("ClientIP", 10800)


def test_slice_hints() -> None:
    body = b"""{"metadata": {"name": "web-x", "namespace": "shop",
                              "labels": {"kubernetes.io/service-name": "web"}},
      "addressType": "IPv4", "ports": [{"port": 8080}],
      "endpoints": [
        {"addresses": ["10.244.0.5"], "hints": {"forZones": [{"name": "zone-0"}],
                                                "forNodes": [{"name": "node-0"}]}},
        {"addresses": ["10.244.1.5"], "hints": {}},
        {"addresses": ["10.244.2.5"]}]}"""
    g = convert.endpoint_slice(msgspec.json.decode(body, type=raw.EndpointSlice))
    assert g is not None
    assert [(e.for_zones, e.for_nodes) for e in g.endpoints] == [
        (("zone-0",), ("node-0",)),
        ((), ()),
        ((), ()),
    ]


def test_namespaces_keep_their_labels() -> None:
    body = b"""{"kind": "NamespaceList", "metadata": {"resourceVersion": "7"}, "items": [
      {"metadata": {"name": "shop", "labels": {"kubernetes.io/metadata.name": "shop",
                                                "team": "payments"},
                    "annotations": {"a": "b"}},
       "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}},
      {"metadata": {"name": "bare"}}]}"""
    page = msgspec.json.decode(body, type=raw.NamespaceList)
    assert [convert.namespace(n) for n in page.items or ()] == [
        Namespace("shop", {"kubernetes.io/metadata.name": "shop", "team": "payments"}),
        Namespace("bare", {}),
    ]


def test_probes_carry_their_action_kind() -> None:
    body = b"""{"metadata": {"name": "p", "namespace": "n"},
     "spec": {"containers": [{"name": "app", "image": "a",
        "livenessProbe": {"grpc": {"port": 9090}},
        "readinessProbe": {"httpGet": {"port": "http"}},
        "startupProbe": {"tcpSocket": {"port": 8080}}}]},
     "status": {}}"""
    p = convert.pod(msgspec.json.decode(body, type=raw.Pod))
    assert [(pr.probe, pr.action, pr.port) for pr in p.probes] == [
        ("liveness", "grpc", 9090),
        ("readiness", "httpGet", "http"),
        ("startup", "tcpSocket", 8080),
    ]


def test_plain_init_containers_are_kept_apart_from_sidecars() -> None:
    p = convert.pod(msgspec.json.decode(POD, type=raw.Pod))
    assert p.init_containers == ("init",)
    assert p.containers == ("proxy", "app")


NOT_READY = b"""{
 "metadata": {"name": "w", "namespace": "shop"},
 "spec": {"nodeName": "n1", "containers": [
   {"name": "app", "ports": [{"name": "http", "containerPort": 8080}],
    "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}},
    "livenessProbe": {"grpc": {"port": 9000}}},
   {"name": "side", "readinessProbe": {"exec": {"command": ["true"]}}}]},
 "status": {"phase": "Running", "podIP": "10.244.1.6",
            "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                            "message": "containers with unready status: [app]"}]}
}"""


def test_pod_keeps_the_ready_condition_and_each_probe_kind() -> None:
    p = convert.pod(msgspec.json.decode(NOT_READY, type=raw.Pod))
    assert not p.ready
    assert (p.ready_reason, p.ready_message) == (
        "ContainersNotReady",
        "containers with unready status: [app]",
    )
    assert [(pr.probe, pr.action, pr.port) for pr in p.probes] == [
        ("liveness", "grpc", 9000),
        ("readiness", "httpGet", "http"),
    ]
    assert p.exec_readiness == ("side",)


def test_an_apiservice_keeps_why_it_is_unavailable() -> None:
    def conv(status: bytes) -> str | None:
        body = (
            b'{"metadata": {"name": "v1beta1.metrics.k8s.io"}, "spec": {"service": '
            b'{"namespace": "kube-system", "name": "metrics-server"}}, "status": ' + status + b"}"
        )
        u = convert.api_service(msgspec.json.decode(body, type=raw.APIService))
        assert u is not None
        return u.unavailable

    assert conv(b'{"conditions": [{"type": "Available", "status": "True"}]}') is None
    assert conv(b"{}") is None
    assert conv(
        b'{"conditions": [{"type": "Available", "status": "False", '
        b'"reason": "MissingEndpoints", "message": "endpoints for service/metrics-server in '
        b'\\"kube-system\\" have no addresses with port name \\"https\\""}]}'
    ) == (
        'MissingEndpoints: endpoints for service/metrics-server in "kube-system" have no '
        'addresses with port name "https"'
    )


def test_an_unscheduled_pod_keeps_the_schedulers_words() -> None:
    body = b"""{"metadata": {"name": "p", "namespace": "n"}, "spec": {"containers": []},
      "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
        "reason": "Unschedulable", "message": "0/3 nodes are available: 3 node(s) didn't match
 Pod's node affinity/selector."}]}}"""
    p = convert.pod(msgspec.json.decode(body.replace(b"\n", b""), type=raw.Pod))
    assert (p.unscheduled_reason, p.unscheduled_message) == (
        "Unschedulable",
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.",
    )
    scheduled = b"""{"metadata": {"name": "p", "namespace": "n"}, "spec": {"containers": []},
      "status": {"conditions": [{"type": "PodScheduled", "status": "True"}]}}"""
    p = convert.pod(msgspec.json.decode(scheduled, type=raw.Pod))
    assert (p.unscheduled_reason, p.unscheduled_message) == (None, None)


def test_service_reads_traffic_policies_health_check_port_and_app_protocol() -> None:
    s = convert.service(
        msgspec.json.decode(
            b"""{"metadata": {"name": "lb", "namespace": "x"},
                 "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.9",
                          "externalTrafficPolicy": "Local", "internalTrafficPolicy": "Local",
                          "healthCheckNodePort": 32000, "publishNotReadyAddresses": true,
                          "ports": [{"port": 443, "targetPort": 10250, "nodePort": 30443,
                                     "appProtocol": "https"}]}}""",
            type=raw.Service,
        )
    )
    assert s.internal_traffic_policy == "Local"
    assert s.health_check_node_port == 32000
    assert s.publish_not_ready_addresses
    assert s.ports[0].app_protocol == "https"
