"""Topology hint checks: where kube-proxy's hints (trafficDistribution) do not do what they say.

kube-proxy's rules (path/topology.py, docs/kube-proxy.md "Topology hints") make two failures
silent: a zone none of whose endpoints is hinted for it uses every endpoint, and one ready
endpoint without a hint turns topology off for the whole service port. Both read only what was
read: without nodes (forbidden) there are no zones and no per-node answers, and the checks stay
quiet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from kinspect.audit.check import AuditInput, Check, proxied
from kinspect.audit.finding import Finding
from kinspect.path.topology import endpoint_name, uses_hints


def topology_zone_without_endpoint(check: Check, a: AuditInput) -> Iterator[Finding]:
    """Zone hints in force, but no endpoint is hinted for a zone: its nodes use every endpoint."""
    for c in proxied(a):
        for pc in c.ports:
            ready = [b for b in pc.backends if b.ready]
            if not pc.topology or not ready or not all(b.for_zones for b in ready):
                continue
            hinted = {z for b in ready for z in b.for_zones}
            falls: defaultdict[str, list[str]] = defaultdict(list)
            for t in pc.topology:
                if t.zone is not None and t.zone not in hinted and t.mode is None:
                    falls[t.zone].append(t.node)
            for zone, nodes in sorted(falls.items()):
                yield check.finding(
                    c,
                    f"no endpoint is hinted for zone {zone}: kube-proxy on its node(s) "
                    f"{', '.join(nodes)} uses every endpoint, in every zone",
                    pc,
                )


def topology_hints_incomplete(check: Check, a: AuditInput) -> Iterator[Finding]:
    """Some ready endpoints carry hints and others none: topology is off for the whole port."""
    for c in proxied(a):
        if not uses_hints(c.service):
            continue
        for pc in c.ports:
            ready = [b for b in pc.backends if b.ready]
            for kind, hints in (
                ("zone", [bool(b.for_zones) for b in ready]),
                ("node", [bool(b.for_nodes) for b in ready]),
            ):
                if not any(hints) or all(hints):
                    continue
                missing = [b for b, h in zip(ready, hints, strict=True) if not h]
                names = ", ".join(endpoint_name(b) for b in missing[:3])
                more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
                what = "topology" if kind == "zone" else "same-node topology"
                yield check.finding(
                    c,
                    f"{len(missing)} of {len(ready)} ready endpoints have no {kind} hint "
                    f"({names}{more}): kube-proxy turns {what} off for the whole service port",
                    pc,
                    pods=sorted({str(b.pod) for b in missing if b.pod}),
                )
