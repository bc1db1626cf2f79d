"""Consumer checks: the API server's own callers of a service, admission webhooks and APIServices.

A consumer whose service is missing or has no ready endpoint fails writes or a whole API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from kinspect.audit.check import AuditInput, Check
from kinspect.audit.finding import Finding
from kinspect.model.values import ServiceConsumer


def _consumer_outages(
    check: Check, a: AuditInput, kinds: tuple[str, ...], effect: Callable[[ServiceConsumer], str]
) -> Iterator[Finding]:
    """One finding per service port that consumers of these kinds call and that cannot answer."""
    chains = {(c.service.namespace, c.service.name): c for c in a.chains}
    # Namespaces this audit read: a service missing elsewhere may just be out of scope (-n).
    covered = {ns for ns, _ in chains} | {n.name for n in a.snapshot.namespaces}
    calls: dict[tuple[str, str, int], list[ServiceConsumer]] = {}
    for u in a.snapshot.consumers:
        if u.kind in kinds:
            calls.setdefault((u.namespace, u.service, u.port), []).append(u)
    for (ns, name, port), users in sorted(calls.items()):
        who = "; ".join(f"{u.label}: {effect(u)}{_says(u)}" for u in users)
        c = chains.get((ns, name))
        if c is None:
            if ns in covered:
                yield check.finding_at(ns, name, f"service {ns}/{name} does not exist. {who}")
            continue
        pc = next((pc for pc in c.ports if pc.port.port == port), None)
        if pc is None:
            yield check.finding(c, f"the service has no port {port}. {who}")
        elif not any(b.ready for b in pc.backends):
            yield check.finding(c, f"no ready endpoint on port {port}. {who}", pc)
        else:
            # The service looks able to answer, yet the API server, which dials it, says the
            # API is unavailable (FailedDiscoveryCheck: the pods do not answer, TLS fails).
            for u in users:
                if u.unavailable:
                    yield check.finding(
                        c,
                        f"{u.label} is Available=False although port {port} has a ready "
                        f"endpoint ({u.unavailable}): {effect(u)}",
                        pc,
                    )


def _says(u: ServiceConsumer) -> str:
    """What the API server itself says of the consumer, where its status says anything."""
    return f" (Available=False: {u.unavailable})" if u.unavailable else ""


def _webhook_effect(u: ServiceConsumer) -> str:
    verb = "mutating" if u.kind == "MutatingWebhookConfiguration" else "validating"
    if u.failure_policy == "Ignore":
        return f"failurePolicy Ignore: matching writes pass without this {verb} webhook"
    return (
        "failurePolicy Fail: every write its rules match is rejected, cluster-wide, until the "
        "service answers"
    )


def webhook_service_unavailable(check: Check, a: AuditInput) -> Iterator[Finding]:
    """An admission webhook whose service is missing or has no ready endpoint: writes fail."""
    yield from _consumer_outages(
        check,
        a,
        ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"),
        _webhook_effect,
    )


def _api_service_effect(u: ServiceConsumer) -> str:
    # An APIService is named <version>.<group>.
    version, _, group = u.name.partition(".")
    return (
        f"every request to {group}/{version} fails (503), API discovery reports it "
        "unavailable, and namespace deletion waits for it"
    )


def apiservice_unavailable(check: Check, a: AuditInput) -> Iterator[Finding]:
    """An APIService whose service is missing or has no ready endpoint: its API is down."""
    yield from _consumer_outages(check, a, ("APIService",), _api_service_effect)
