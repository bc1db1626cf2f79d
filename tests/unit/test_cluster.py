"""Pure helpers of the wire's transport, connection and list modules."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from kinspect.model.errors import ExitCode, ForbiddenError, ServerError
from kinspect.wire import cluster, connection, lists, raw, transport

from .builders import ep, group


def test_head_continue_reads_the_token_before_items() -> None:
    body = (
        b'{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9",'
        b'"continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ","remainingItemCount":5},"items":[]}'
    )
    assert lists.head_continue(body) == "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ"
    last = b'{"kind":"PodList","metadata":{"resourceVersion":"9"},"items":[{"continue":"x"}]}'
    assert lists.head_continue(last) is None


def test_api_errors_keep_401_apart_from_403() -> None:
    conn = connection.Connection("c", "https://127.0.0.1:6443", None, "default", 5)
    rejected = transport.api_error(conn, 401, "", "list", "pods", "in all namespaces")
    refused = transport.api_error(conn, 403, "", "list", "pods", "in all namespaces")
    assert isinstance(rejected, ForbiddenError)
    assert isinstance(refused, ForbiddenError)
    assert (rejected.status, refused.status) == (401, 403)
    assert refused.message == "context c may not list pods in all namespaces (403 Forbidden)"


def test_a_server_error_is_one_line_cut_with_an_ellipsis_without_control_characters() -> None:
    conn = connection.Connection("c", "https://127.0.0.1:6443", None, "default", 5)
    msg = "etcd\x1b]0;pwned\x07 failed\r\nsecond line " + "x" * 500
    e = transport.api_error(conn, 500, msg, "list", "pods", "in all namespaces")
    assert isinstance(e, ServerError)
    assert e.exit_code == ExitCode.SERVER_ERROR
    assert e.message.startswith(
        "the API server https://127.0.0.1:6443 failed to list pods in all namespaces: HTTP 500: "
    )
    assert e.message.endswith("…")
    assert not any(not c.isprintable() for c in e.message)
    assert "second line" in e.message  # joined, not cut at the newline
    assert len(e.message) < 300
    assert "API server failed" in e.hint


def _decode(body: bytes) -> tuple[raw.PodList, list[str]]:
    warned: list[str] = []
    conn = connection.Connection("c", "https://s", None, "default", 5, warn=warned.append)
    page = lists.decode_page(conn, msgspec.json.Decoder(raw.PodList), body, "pods in ns a")
    return page, warned


def _pod(name: str, port: object = 80) -> dict[str, object]:
    return {
        "metadata": {"name": name, "namespace": "a"},
        "spec": {"containers": [{"name": "c", "ports": [{"containerPort": port}]}]},
    }


def test_a_page_that_fits_is_decoded_without_warnings() -> None:
    page, warned = _decode(msgspec.json.encode({"items": [_pod("p-0"), _pod("p-1")]}))
    assert [p.metadata.name for p in page.items or ()] == ["p-0", "p-1"]
    assert warned == []


def test_an_odd_item_is_skipped_with_a_warning_naming_it() -> None:
    body = {"metadata": {"continue": "t"}, "items": [_pod("p-0", "80"), {"spec": 1}, _pod("p-2")]}
    page, warned = _decode(msgspec.json.encode(body))
    assert [p.metadata.name for p in page.items or ()] == ["p-2"]
    assert page.metadata.continue_ == "t"
    assert len(warned) == 2
    assert warned[0].startswith("skipped a/p-0 in pods in ns a: the API server sent it malformed")
    assert warned[1].startswith("skipped item 1 in pods in ns a")


@pytest.mark.parametrize(
    "body", [b'{"items": [', b"<html>", b'{"items": {"a": 1}}', b"[]", b'{"metadata": 3}']
)
def test_a_body_that_is_not_a_list_is_a_server_error(body: bytes) -> None:
    with pytest.raises(ServerError, match="sent a malformed response for pods in ns a"):
        _decode(body)


def test_items_null_with_more_to_come_is_a_warning() -> None:
    page, warned = _decode(b'{"metadata": {"continue": "t"}, "items": null}')
    assert page.items is None
    assert warned == [
        "the API server sent a page of pods in ns a with no items but more to come; "
        "that page's objects are missing"
    ]
    assert _decode(b'{"metadata": {}, "items": null}')[1] == []


def _kubeconfig(tmp_path: Path, server: str) -> str:
    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: k, cluster: {{server: '{server}'}}}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
    )
    return str(path)


@pytest.mark.parametrize("server", ["https://127.0.0.1:6443", "https://203.0.113.7:6443"])
def test_gzip_is_asked_for_unless_told_not_to(tmp_path: Path, server: str) -> None:
    kubeconfig = _kubeconfig(tmp_path, server)
    assert connection.connect(kubeconfig, None, 5).gzip is True
    assert connection.connect(kubeconfig, None, 5, gzip=False).gzip is False


# --- issue 24 D7: JSON nested past the decoder's depth ----------------------------------------

_DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    "body",
    [
        b'{"metadata": {}, "items": [{"x": ' + _DEEP + b"}]}",  # inside an item
        b'{"metadata": {"x": ' + _DEEP + b'}, "items": []}',  # beside the items
        b'{"metadata": {}, "items": [{"spec": {"containers": 5}}, {"x": ' + _DEEP + b"}]}",
    ],
)
def test_a_page_nested_too_deeply_is_a_malformed_response(body: bytes) -> None:
    with pytest.raises(ServerError) as e:
        _decode(body)
    assert e.value.message == (
        "the API server https://s sent a malformed response for pods in ns a "
        "(nested too deeply (past about 1,000 levels))"
    )


def test_a_watch_event_nested_too_deeply_breaks_the_watch() -> None:
    from kinspect.wire import kinds, watch

    kind = next(k for k in kinds.KINDS if k.plural == "pods")
    conn = connection.Connection("c", "https://s", None, "default", 5)
    line = b'{"type": "ADDED", "object": {"metadata": {"name": "p"}, "x": ' + _DEEP + b"}}"
    decoder = msgspec.json.Decoder(lists.item_type(kind.list_type))
    with pytest.raises(watch.WatchBroken, match="nested too deeply"):
        watch._event(conn, kind, "pods", decoder, line, "pods in ns a")


def test_a_status_body_nested_too_deeply_has_no_message() -> None:
    from kinspect.wire.untrusted import status_message

    assert status_message(b'{"message": "m", "details": ' + _DEEP + b"}") == ""


def test_endpoints_naming_pods_that_cannot_exist_are_warned_about_a_few_by_name() -> None:
    odd = [ep(f"10.0.0.{i}", "ghost", ns=f"odd/{i}") for i in range(5)]
    fine = group("fine", [(None, 80, "TCP")], ep("10.0.1.1", "a"), ep("10.0.1.2"))
    lines = cluster.impossible_pods([fine, group("web", [(None, 80, "TCP")], *odd, *odd)])
    assert len(lines) == cluster.ODD_REFS_NAMED + 1
    assert lines[0] == (
        "endpoint slice ns/web-80 of service ns/web names a pod that cannot exist (its "
        "namespace 'odd/0' is not a namespace name); its endpoint is shown with its pod missing"
    )
    assert lines[-1] == "2 more endpoints name pods that cannot exist"
    assert cluster.impossible_pods([fine]) == []
