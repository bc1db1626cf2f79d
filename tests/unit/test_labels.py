from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

import msgspec
import pytest

from kinspect.model.labels import (
    LabelSelector,
    Operator,
    Requirement,
    SelectorIndex,
    describe,
    from_map,
    matches,
    to_query,
)


def sel(
    match_labels: Mapping[str, str] | None = None, *exprs: tuple[str, Operator, tuple[str, ...]]
) -> LabelSelector:
    """A selector from matchLabels and (key, operator, values) triples."""
    return LabelSelector(
        dict(match_labels or {}),
        tuple(Requirement(k, op, vs) for k, op, vs in exprs),
    )


def req(key: str, op: Operator, *values: str) -> tuple[str, Operator, tuple[str, ...]]:
    return (key, op, values)


# --- matching ------------------------------------------------------------------------------

# Rows transcribed from k8s.io/apimachinery: pkg/labels/selector_test.go (TestSelectorMatches,
# TestSetMatches, TestRequirementSelectorMatching: the rows whose operators a LabelSelector
# can express; "x=y" becomes matchLabels {x: y}) and pkg/apis/meta/v1/helpers_test.go
# (TestLabelSelectorAsSelector's selectors), then the API's documented edge cases.
MATCH_CASES: list[tuple[str, LabelSelector | None, dict[str, str], bool]] = [
    # selector_test.go TestSelectorMatches
    ("empty matches", sel(), {"x": "y"}, True),
    ("x=y", sel({"x": "y"}), {"x": "y"}, True),
    ("x=y,z=w", sel({"x": "y", "z": "w"}), {"x": "y", "z": "w"}, True),
    ("notin=in", sel({"notin": "in"}), {"notin": "in"}, True),
    ("x exists", sel(None, req("x", "Exists")), {"x": "z"}, True),
    ("!x", sel(None, req("x", "DoesNotExist")), {"y": "z"}, True),
    ("x=z on no labels", sel({"x": "z"}), {}, False),
    ("x=y on x=z", sel({"x": "y"}), {"x": "z"}, False),
    ("x=y,z=w on x=w", sel({"x": "y", "z": "w"}), {"x": "w", "z": "w"}, False),
    ("x exists on y", sel(None, req("x", "Exists")), {"y": "z"}, False),
    ("!x on x", sel(None, req("x", "DoesNotExist")), {"x": "z"}, False),
    ("foo=bar", sel({"foo": "bar"}), {"foo": "bar", "baz": "blah"}, True),
    ("baz=blah", sel({"baz": "blah"}), {"foo": "bar", "baz": "blah"}, True),
    ("foo=bar,baz=blah", sel({"foo": "bar", "baz": "blah"}), {"foo": "bar", "baz": "blah"}, True),
    ("foo=blah", sel({"foo": "blah"}), {"foo": "bar", "baz": "blah"}, False),
    ("baz=bar", sel({"baz": "bar"}), {"foo": "bar", "baz": "blah"}, False),
    (
        "foo=bar,foobar=bar,baz=blah",
        sel({"foo": "bar", "foobar": "bar", "baz": "blah"}),
        {"foo": "bar", "baz": "blah"},
        False,
    ),
    # selector_test.go TestRequirementSelectorMatching
    (
        "x in (foo),y notin (alpha)",
        sel(None, req("x", "In", "foo"), req("y", "NotIn", "alpha")),
        {"x": "foo", "y": "baz"},
        True,
    ),
    (
        "x in (foo),y in (alpha)",
        sel(None, req("x", "In", "foo"), req("y", "In", "alpha")),
        {"x": "foo", "y": "baz"},
        False,
    ),
    (
        "x notin (),y: NotIn on a missing key",
        sel(None, req("x", "NotIn", ""), req("y", "Exists")),
        {"y": ""},
        True,
    ),
    (
        "!x,y",
        sel(None, req("x", "DoesNotExist"), req("y", "Exists")),
        {"y": ""},
        True,
    ),
    (
        "x notin (),!y",
        sel(None, req("x", "NotIn", ""), req("y", "DoesNotExist")),
        {"y": ""},
        False,
    ),
    ("x in () on a missing key", sel(None, req("x", "In", "")), {"y": "baz"}, False),
    # helpers_test.go TestLabelSelectorAsSelector: null, empty, matchLabels AND expressions
    ("null matches nothing", None, {"foo": "bar"}, False),
    ("null, no labels", None, {}, False),
    ("empty, no labels", sel(), {}, True),
    (
        "baz in (norf,qux),foo=bar",
        sel({"foo": "bar"}, req("baz", "In", "qux", "norf")),
        {"foo": "bar", "baz": "norf"},
        True,
    ),
    (
        "baz in (norf,qux),foo=bar: matchLabels fails",
        sel({"foo": "bar"}, req("baz", "In", "qux", "norf")),
        {"foo": "other", "baz": "norf"},
        False,
    ),
    (
        "baz in (norf,qux),foo=bar: expression fails",
        sel({"foo": "bar"}, req("baz", "In", "qux", "norf")),
        {"foo": "bar", "baz": "nope"},
        False,
    ),
    # NotIn
    ("NotIn, other value", sel(None, req("env", "NotIn", "prod", "stage")), {"env": "dev"}, True),
    (
        "NotIn, listed value",
        sel(None, req("env", "NotIn", "prod", "stage")),
        {"env": "stage"},
        False,
    ),
    ("NotIn, key absent", sel(None, req("env", "NotIn", "prod")), {"app": "web"}, True),
    ("NotIn, no labels at all", sel(None, req("env", "NotIn", "prod")), {}, True),
    # In with several values; the empty string is a value like any other
    ("In, first value", sel(None, req("env", "In", "a", "b", "c")), {"env": "a"}, True),
    ("In, last value", sel(None, req("env", "In", "a", "b", "c")), {"env": "c"}, True),
    ("In, no value listed", sel(None, req("env", "In", "a", "b", "c")), {"env": "d"}, False),
    ("In, key absent", sel(None, req("env", "In", "a", "b")), {}, False),
    ("In (''), empty value", sel(None, req("env", "In", "")), {"env": ""}, True),
    ("x='' needs the key", sel({"env": ""}), {}, False),
    ("x='' on empty value", sel({"env": ""}), {"env": ""}, True),
    ("Exists on empty value", sel(None, req("env", "Exists")), {"env": ""}, True),
    # values with every character a label value allows
    (
        "values with . - _",
        sel({"version": "v1.2.3-rc_1"}, req("hash", "In", "A-b_C.9", "x")),
        {"version": "v1.2.3-rc_1", "hash": "A-b_C.9"},
        True,
    ),
    ("value case matters", sel({"app": "Web"}), {"app": "web"}, False),
    # prefixed keys, as in selector_test.go TestSetSelectorParser
    (
        "example.com/key",
        sel({"example.com/key": "v"}, req("app.kubernetes.io/name", "Exists")),
        {"example.com/key": "v", "app.kubernetes.io/name": "shop"},
        True,
    ),
    ("prefix is part of the key", sel({"example.com/key": "v"}), {"key": "v"}, False),
    (
        "this-is-a-dns.domain.com/key-with-dash",
        sel(None, req("this-is-a-dns.domain.com/key-with-dash", "Exists")),
        {"this-is-a-dns.domain.com/key-with-dash": "x"},
        True,
    ),
    (
        "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)",
        sel(None, req("0.1.2.domain/99", "NotIn", "10.10.100.1", "tick.tack.clock")),
        {"0.1.2.domain/99": "10.10.100.1"},
        False,
    ),
    (
        "a in (x,y,notin,z,in): keywords are plain values",
        sel(None, req("a", "In", "x", "y", "notin", "z", "in")),
        {"a": "in"},
        True,
    ),
    # the same key twice: both requirements must hold
    (
        "x=a and x notin (a)",
        sel({"x": "a"}, req("x", "NotIn", "a")),
        {"x": "a"},
        False,
    ),
    (
        "x in (a,b) and x notin (b)",
        sel(None, req("x", "In", "a", "b"), req("x", "NotIn", "b")),
        {"x": "a"},
        True,
    ),
]


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [c[1:] for c in MATCH_CASES],
    ids=[c[0] for c in MATCH_CASES],
)
def test_matches_as_the_api_server(
    selector: LabelSelector | None, labels: dict[str, str], expected: bool
) -> None:
    assert matches(selector, labels) is expected
    if selector is not None:
        assert selector.matches(labels) is expected


# --- malformed selectors -------------------------------------------------------------------

# A selector the API server would refuse on write selects nothing as a whole (helpers.go
# LabelSelectorAsSelector returns an error; its callers skip the object). Rows after
# selector_test.go TestRequirementConstructor and helpers_test.go (Exists with values).
MALFORMED: list[tuple[LabelSelector, str]] = [
    (sel(None, req("x", "In")), "In on key 'x' needs at least one value"),
    (sel(None, req("x", "NotIn")), "NotIn on key 'x' needs at least one value"),
    (
        sel(None, req("baz", "Exists", "qux", "norf")),
        "Exists on key 'baz' takes no values",
    ),
    (sel(None, req("x", "DoesNotExist", "")), "DoesNotExist on key 'x' takes no values"),
    (sel(None, req("x", "Gt", "1")), "'Gt' is not a valid label selector operator"),  # type: ignore[arg-type]
    (sel(None, req("x", "in", "a")), "'in' is not a valid label selector operator"),  # type: ignore[arg-type]
    (
        sel(None, req("a" * 254, "Exists")),
        f"key {'a' * 254!r}: name part must be no more than 63 characters",
    ),
    (
        sel({"a b": "c"}),
        "key 'a b': name part must consist of alphanumerics, '-', '_' or '.', "
        "and start and end with an alphanumeric",
    ),
    (sel({"": "c"}), "key '': name part must be non-empty"),
    (sel({"/x": "c"}), "key '/x': prefix part must be non-empty"),
    (sel({"x/": "c"}), "key 'x/': name part must be non-empty"),
    (sel({"a/b/c": "d"}), "key 'a/b/c': at most one '/' (an optional DNS subdomain prefix)"),
    (sel({"Example.com/x": "c"}), "key 'Example.com/x': prefix part must be a DNS-1123 subdomain"),
    (
        sel({"-x": "c"}),
        "key '-x': name part must consist of alphanumerics, '-', '_' or '.', "
        "and start and end with an alphanumeric",
    ),
    (
        sel({"x\n": "c"}),
        "key 'x\\n': name part must consist of alphanumerics, '-', '_' or '.', "
        "and start and end with an alphanumeric",
    ),
    (
        sel({"x": "a b"}),
        "value 'a b' of key 'x': must be empty or consist of alphanumerics, '-', '_' or '.', "
        "and start and end with an alphanumeric",
    ),
    (
        sel(None, req("x", "In", "ok", "v" * 64)),
        f"value {'v' * 64!r} of key 'x': must be no more than 63 characters",
    ),
    # one bad expression spoils the whole selector, the valid parts included
    (
        sel({"app": "web"}, req("tier", "Exists"), req("x", "NotIn")),
        "NotIn on key 'x' needs at least one value",
    ),
]


@pytest.mark.parametrize(("selector", "reason"), MALFORMED, ids=[m[1][:60] for m in MALFORMED])
def test_malformed_selector_matches_nothing(selector: LabelSelector, reason: str) -> None:
    everything = {"x": "a", "baz": "qux", "app": "web", "tier": "fe", "a b": "c", "": "c"}
    assert selector.invalid_reason() == reason
    assert selector.matches(everything) is False
    assert selector.matches({}) is False
    assert describe(selector) == "<error>"
    with pytest.raises(ValueError, match=r"^invalid label selector: ") as info:
        to_query(selector)
    assert str(info.value) == f"invalid label selector: {reason}"


@pytest.mark.parametrize(
    "selector",
    [
        # selector_test.go TestRequirementConstructor's valid rows, and limits
        sel(None, req("x", "In", "foo")),
        sel(None, req("x", "NotIn", "foo")),
        sel(None, req("x", "Exists")),
        sel(None, req("x", "DoesNotExist")),
        sel(None, req("1foo", "In", "bar")),
        sel(None, req("1234", "In", "bar")),
        sel({"k" * 63: "v" * 63}),
        sel({"x": ""}),
        sel({"a.b_c-d": "A.b_C-9"}),
        sel({f"{'p' * 253}/x": "v"}),
        sel({"example.com/key": "v", "kubernetes.io/metadata.name": "default"}),
    ],
)
def test_valid_selectors_have_no_invalid_reason(selector: LabelSelector) -> None:
    assert selector.invalid_reason() is None


def test_prefix_longer_than_a_dns_subdomain_is_refused() -> None:
    key = f"{'p' * 254}/x"
    assert sel({key: "v"}).invalid_reason() == (
        f"key {key!r}: prefix part must be a DNS-1123 subdomain"
    )


# --- string forms --------------------------------------------------------------------------

# Expected strings from selector_test.go TestToString and helpers_test.go
# TestLabelSelectorAsSelector (the rows a LabelSelector can express), then kinspect's own.
QUERY_CASES: list[tuple[LabelSelector, str]] = [
    (
        sel(None, req("x", "In", "abc", "def"), req("y", "NotIn", "jkl"), req("z", "Exists")),
        "x in (abc,def),y notin (jkl),z",
    ),
    (
        sel(None, req("x", "NotIn", "abc", "def"), req("z", "DoesNotExist")),
        "x notin (abc,def),!z",
    ),
    (
        sel(None, req("x", "NotIn", "abc"), req("y", "In", "jkl", "mno"), req("z", "NotIn", "")),
        "x notin (abc),y in (jkl,mno),z notin ()",
    ),
    (sel({"foo": "bar"}), "foo=bar"),
    (sel(None, req("baz", "In", "qux", "norf")), "baz in (norf,qux)"),
    (sel({"foo": "bar"}, req("baz", "In", "qux", "norf")), "baz in (norf,qux),foo=bar"),
    # requirements sorted by key, whatever the order written
    (sel({"z": "1", "a": "2", "m": "3"}), "a=2,m=3,z=1"),
    (sel(None, req("b", "Exists"), req("a", "DoesNotExist")), "!a,b"),
    # a single In value keeps its parentheses (it is not matchLabels' `=`)
    (sel(None, req("env", "In", "prod")), "env in (prod)"),
    # values sorted, duplicates kept (Requirement.String's safeSort); '' sorts first
    (sel(None, req("x", "In", "b", "a", "b")), "x in (a,b,b)"),
    (sel(None, req("x", "In", "abc", "")), "x in (,abc)"),
    (sel({"x": ""}), "x="),
    # same key: matchLabels first, then expressions in their order (a stable sort)
    (
        sel({"x": "a"}, req("x", "NotIn", "b"), req("x", "Exists")),
        "x=a,x notin (b),x",
    ),
    (
        sel({"example.com/key": "v"}, req("app.kubernetes.io/name", "In", "web", "api")),
        "app.kubernetes.io/name in (api,web),example.com/key=v",
    ),
]


@pytest.mark.parametrize(("selector", "query"), QUERY_CASES, ids=[q[1] for q in QUERY_CASES])
def test_to_query_and_describe_print_the_api_form(selector: LabelSelector, query: str) -> None:
    assert to_query(selector) == query
    assert describe(selector) == query
    assert str(selector) == query


def test_empty_and_null_selectors_print_as_kubectl_does() -> None:
    assert to_query(sel()) == ""
    assert describe(sel()) == "<none>"
    assert describe(None) == "<none>"
    assert str(sel()) == "<none>"


def test_requirement_prints_alone() -> None:
    assert [str(Requirement("k", op, ("b", "a"))) for op in ("In", "NotIn")] == [
        "k in (a,b)",
        "k notin (a,b)",
    ]
    assert str(Requirement("k", "Exists")) == "k"
    assert str(Requirement("k", "DoesNotExist")) == "!k"


# --- the map form and the wire form --------------------------------------------------------


def test_from_map_is_match_labels_only() -> None:
    assert from_map({"app": "web", "tier": "fe"}) == LabelSelector({"app": "web", "tier": "fe"})
    assert from_map({}) == LabelSelector()
    assert from_map({}).matches({"any": "thing"}) is True


def test_from_map_copies_its_argument() -> None:
    source = {"app": "web"}
    s = from_map(source)
    source["app"] = "changed"
    assert s.match_labels == {"app": "web"}


def test_selector_encodes_and_decodes_in_the_api_s_camel_case() -> None:
    s = sel({"app": "web"}, req("env", "NotIn", "prod"))
    wire = (
        b'{"matchLabels":{"app":"web"},'
        b'"matchExpressions":[{"key":"env","operator":"NotIn","values":["prod"]}]}'
    )
    assert msgspec.json.encode(s) == wire
    assert msgspec.json.decode(wire, type=LabelSelector) == s
    assert msgspec.json.decode(
        b'{"matchExpressions":[{"key":"k","operator":"Exists"}]}', type=LabelSelector
    ) == sel(None, req("k", "Exists"))


# --- the index -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    name: str
    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict)


def _names(items: list[Item]) -> list[str]:
    return [i.name for i in items]


ITEMS = [
    Item("a", "ns", {"app": "web", "env": "prod"}),
    Item("b", "ns", {"app": "web", "env": "dev", "canary": ""}),
    Item("other-ns", "other", {"app": "web", "env": "prod"}),
    Item("c", "ns", {"app": "db", "env": "prod"}),
    Item("d", "ns", {}),
    Item("e", "ns", {"app": "web"}),
]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (sel(), ["a", "b", "c", "d", "e"]),
        (sel({"app": "web"}), ["a", "b", "e"]),
        (sel({"app": "web", "env": "prod"}), ["a"]),
        (sel({"app": "nope"}), []),
        (sel(None, req("app", "In", "db", "web")), ["a", "b", "c", "e"]),
        (sel(None, req("app", "In", "web", "db"), req("env", "In", "prod")), ["a", "c"]),
        (sel(None, req("canary", "Exists")), ["b"]),
        (sel(None, req("app", "Exists"), req("env", "DoesNotExist")), ["e"]),
        (sel(None, req("env", "NotIn", "prod")), ["b", "d", "e"]),
        (sel(None, req("app", "DoesNotExist")), ["d"]),
        (
            sel({"app": "web"}, req("env", "NotIn", "dev"), req("canary", "DoesNotExist")),
            ["a", "e"],
        ),
        (sel(None, req("x", "In")), []),  # malformed: nothing
    ],
    ids=str,
)
def test_index_selects_in_input_order(selector: LabelSelector, expected: list[str]) -> None:
    assert _names(SelectorIndex(ITEMS).select("ns", selector)) == expected


def test_index_knows_no_items_of_an_unknown_namespace() -> None:
    idx = SelectorIndex(ITEMS)
    assert idx.select("nowhere", sel()) == []
    assert idx.select("nowhere", sel(None, req("app", "DoesNotExist"))) == []
    assert SelectorIndex[Item]().select("ns", sel()) == []


def test_index_returns_a_new_list_each_time() -> None:
    idx = SelectorIndex(ITEMS)
    first = idx.select("ns", sel({"app": "web"}))
    first.clear()
    assert _names(idx.select("ns", sel({"app": "web"}))) == ["a", "b", "e"]
    everything = idx.select("ns", sel())
    everything.clear()
    assert len(idx.select("ns", sel())) == 5


def test_prevalidated_matches_a_malformed_map_as_written() -> None:
    # As labels.SelectorFromValidatedSet does for Service selectors.
    items = [Item("odd", "ns", {"a b": "c"}), Item("plain", "ns", {"x": "y"})]
    idx = SelectorIndex(items)
    assert idx.select("ns", sel({"a b": "c"})) == []
    assert _names(idx.select("ns", sel({"a b": "c"}), prevalidated=True)) == ["odd"]


def test_index_agrees_with_a_scan_on_random_labels_and_selectors() -> None:
    rng = random.Random(1234)
    namespaces = ["ns-a", "ns-b", "ns-c"]
    keys = ["app", "env", "tier", "example.com/team", "canary"]
    values = ["", "web", "db", "prod", "dev", "v1.2"]
    items = [
        Item(
            f"i{n}",
            rng.choice(namespaces),
            {k: rng.choice(values) for k in rng.sample(keys, rng.randint(0, len(keys)))},
        )
        for n in range(400)
    ]
    ops: list[Operator] = ["In", "NotIn", "Exists", "DoesNotExist"]

    def random_selector() -> LabelSelector:
        match_labels = {k: rng.choice(values) for k in rng.sample(keys, rng.randint(0, 2))}
        exprs = []
        for _ in range(rng.randint(0, 3)):
            op = rng.choice(ops)
            vs = tuple(rng.sample(values, rng.randint(1, 3))) if op in ("In", "NotIn") else ()
            exprs.append(Requirement(rng.choice(keys), op, vs))
        return LabelSelector(match_labels, tuple(exprs))

    idx = SelectorIndex(items)
    non_empty = 0
    for _ in range(600):
        s = random_selector()
        ns = rng.choice([*namespaces, "ns-none"])
        expected = [i for i in items if i.namespace == ns and s.matches(i.labels)]
        assert idx.select(ns, s) == expected, (ns, s)
        non_empty += bool(expected)
    # The draw must exercise real answers, not only empty ones.
    assert non_empty > 150


class Counted:
    """An item that counts how often its labels are read: the index must read few."""

    reads = 0

    def __init__(self, name: str, labels: dict[str, str]) -> None:
        self.name, self.namespace, self._labels = name, "ns", labels

    @property
    def labels(self) -> Mapping[str, str]:
        Counted.reads += 1
        return self._labels


def _reads(idx: SelectorIndex[Counted], selector: LabelSelector) -> tuple[list[str], int]:
    Counted.reads = 0
    found = [i.name for i in idx.select("ns", selector)]
    return found, Counted.reads


def test_index_reads_only_the_smallest_candidate_list() -> None:
    items = [Counted(f"p{n}", {"env": "prod", "app": "web"}) for n in range(50)]
    items[10] = Counted("rare-1", {"env": "prod", "app": "rare"})
    items[40] = Counted("rare-2", {"env": "prod", "app": "rare", "canary": "yes"})
    items.append(Counted("other", {"app": "other"}))
    idx = SelectorIndex(items)
    # matchLabels: the two items with app=rare, not the 50 with env=prod
    assert _reads(idx, sel({"env": "prod", "app": "rare"})) == (["rare-1", "rare-2"], 2)
    assert _reads(idx, sel({"app": "rare", "env": "prod"})) == (["rare-1", "rare-2"], 2)
    # In over several values: the union of their lists, in input order
    assert _reads(idx, sel(None, req("app", "In", "other", "rare"))) == (
        ["rare-1", "rare-2", "other"],
        3,
    )
    # a value narrowed the search: the key list of Exists is not built for it
    assert _reads(idx, sel({"app": "rare"}, req("canary", "Exists"))) == (["rare-2"], 2)
    # Exists alone: one scan of the namespace builds the key list, later selects use it
    assert _reads(idx, sel(None, req("canary", "Exists"))) == (["rare-2"], 51 + 1)
    assert _reads(idx, sel(None, req("canary", "Exists"))) == (["rare-2"], 1)
    # once built, the key list wins over a longer value list
    assert _reads(idx, sel({"env": "prod"}, req("canary", "Exists"))) == (["rare-2"], 1)
    # a value nobody has: no read at all
    assert _reads(idx, sel({"app": "web"}, req("app", "In", "nope"))) == ([], 0)
    # NotIn alone narrows nothing: the whole namespace
    assert _reads(idx, sel(None, req("app", "NotIn", "web")))[1] == 51
