"""(a) The floor: the four LISTs kinspect needs, fetched raw, bytes read and dropped.

Same page size, the same transport (`kinspect.wire.transport.fetch_page`) and the same 4-way
concurrency as kinspect, so the ratio (b)/(a) is kinspect's own cost: decoding, joining,
rendering. By default each kind is one paged LIST, as the issue defines the floor;
`--per-namespace` reads pods namespace by namespace, 4 at a time, as kinspect does on a big
cluster (`wire_lists.SPLIT_PAGES_PER_NAMESPACE`): the floor of kinspect's own requests.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor

import msgspec

from kinspect.wire import connection, kinds, raw, transport
from kinspect.wire import lists as wire_lists


def fetch(conn: connection.Connection, path: str) -> int:
    total, token = 0, None
    while True:
        body = transport.fetch_page(conn, path, path, "", token)
        total += len(body)
        # Only the continue token is needed: kinspect's own reader takes it from the head of
        # the body without decoding the page.
        token = wire_lists.head_continue(body)
        if not token:
            return total


def pods_per_namespace(conn: connection.Connection) -> int:
    body = transport.fetch_page(conn, f"{kinds.CORE}/namespaces", "namespaces", "", None)
    names = [n.metadata.name for n in msgspec.json.decode(body, type=raw.NamespaceList).items or ()]
    with ThreadPoolExecutor(wire_lists.SPLIT_WORKERS) as pool:
        return sum(pool.map(lambda n: fetch(conn, f"{kinds.CORE}/namespaces/{n}/pods"), names))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kubeconfig", required=True)
    ap.add_argument("--per-namespace", action="store_true", help="pods namespace by namespace")
    a = ap.parse_args()
    conn = connection.connect(a.kubeconfig, None, 120)
    with ThreadPoolExecutor(4) as pool:
        lists = [
            pool.submit(fetch, conn, f"{kinds.CORE}/nodes"),
            pool.submit(fetch, conn, f"{kinds.CORE}/services"),
            pool.submit(fetch, conn, f"{kinds.DISCOVERY}/endpointslices"),
            pool.submit(pods_per_namespace, conn)
            if a.per_namespace
            else pool.submit(fetch, conn, f"{kinds.CORE}/pods"),
        ]
        sizes = [f.result() for f in lists]
    json.dump({"bytes": sum(sizes)}, sys.stdout)


if __name__ == "__main__":
    main()
