"""Pure helpers of the cluster module."""

from __future__ import annotations

from kinspect import cluster


def test_head_continue_reads_the_token_before_items() -> None:
    body = (
        b'{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9",'
        b'"continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ","remainingItemCount":5},"items":[]}'
    )
    assert cluster.head_continue(body) == "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ"
    last = b'{"kind":"PodList","metadata":{"resourceVersion":"9"},"items":[{"continue":"x"}]}'
    assert cluster.head_continue(last) is None
