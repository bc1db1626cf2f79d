"""Pure helpers of the cluster module."""

from __future__ import annotations

from kinspect import cluster
from kinspect.errors import ForbiddenError


def test_head_continue_reads_the_token_before_items() -> None:
    body = (
        b'{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9",'
        b'"continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ","remainingItemCount":5},"items":[]}'
    )
    assert cluster.head_continue(body) == "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ"
    last = b'{"kind":"PodList","metadata":{"resourceVersion":"9"},"items":[{"continue":"x"}]}'
    assert cluster.head_continue(last) is None


def test_api_errors_keep_401_apart_from_403() -> None:
    conn = cluster.Connection("c", "https://127.0.0.1:6443", None, "default", 5)
    rejected = cluster._api_error(conn, 401, "", "list", "pods", "in all namespaces")
    refused = cluster._api_error(conn, 403, "", "list", "pods", "in all namespaces")
    assert isinstance(rejected, ForbiddenError)
    assert isinstance(refused, ForbiddenError)
    assert (rejected.status, refused.status) == (401, 403)
    assert refused.message == "context c may not list pods in all namespaces (403 Forbidden)"
