"""Kubernetes label selectors, matched exactly as the API server and its controllers match them.

Owns the selector value types (`LabelSelector`, `Requirement`), their matching, their string
forms (kubectl's, and the API's `labelSelector` query), and `SelectorIndex`, which answers "which
items of this namespace does this selector pick" from dict lookups instead of a scan.

The semantics are those of k8s.io/apimachinery: `metav1.LabelSelectorAsSelector`
(pkg/apis/meta/v1/helpers.go) turns the API's structured selector into `labels.Selector`
(pkg/labels/selector.go), whose requirements are ANDed:

- a null selector (None here) matches nothing; an empty one (no matchLabels, no
  matchExpressions) matches everything;
- a matchLabels pair `k: v` matches when the label `k` is present and equals `v`;
- `In` needs the key present with one of the values; `NotIn` matches when the key is absent or
  its value is none of the values; `Exists` and `DoesNotExist` test the key alone.

Services use the map form (`from_map`); NetworkPolicy and the Gateway API use the full form.
Pure: stdlib and msgspec only, nothing from the rest of kinspect.
"""

from __future__ import annotations

import heapq
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Generic, Literal, Protocol, TypeVar

import msgspec

Operator = Literal["In", "NotIn", "Exists", "DoesNotExist"]

_OPERATORS: frozenset[str] = frozenset(("In", "NotIn", "Exists", "DoesNotExist"))


class _Value(msgspec.Struct, frozen=True, rename="camel", gc=False):
    """Base of this module's values: immutable, camelCase when encoded (like the API).

    gc=False: they hold only strings, tuples and dicts of strings, so they cannot form cycles.
    """


class Requirement(_Value, frozen=True):
    """One matchExpressions entry: `key` related to `values` by `operator`."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        return _requirement_string(self.key, self.operator, self.values)


class LabelSelector(_Value, frozen=True):
    """The API's structured selector (metav1.LabelSelector): matchLabels AND matchExpressions.

    Malformed selectors: the API server refuses, on write, an operator outside the four, `In`
    or `NotIn` with no values, `Exists` or `DoesNotExist` with values, and keys or values
    that are not valid label syntax. Such a selector can still be read back from a cluster
    (a custom resource whose schema does not validate it, a snapshot file edited by hand). For
    those, `LabelSelectorAsSelector` returns an error for the *whole* selector, even when only
    one expression is wrong, and Kubernetes' own callers treat the error as "matches nothing"
    (the scheduler's preemption, on PodDisruptionBudgets: "This object has an invalid selector,
    it does not match the pod"). kinspect does the same: `matches` and `SelectorIndex.select`
    answer no match, `describe` prints kubectl's `<error>`, `to_query` raises, and
    `invalid_reason` says why.
    """

    # Sources, k8s.io/apimachinery: pkg/apis/meta/v1/helpers.go (LabelSelectorAsSelector: nil
    # -> labels.Nothing(), no requirement -> labels.Everything(), checked before any validation;
    # an unknown operator -> `"%q is not a valid pod selector operator"`; otherwise the first
    # error of labels.NewRequirement), pkg/labels/selector.go (NewRequirement's rules,
    # Requirement.Matches, String), pkg/util/validation (IsQualifiedName, IsValidLabelValue).

    match_labels: Mapping[str, str] = msgspec.field(default_factory=dict)
    match_expressions: tuple[Requirement, ...] = ()

    @property
    def empty(self) -> bool:
        """True when the selector has no requirement at all, and so matches everything."""
        return not self.match_labels and not self.match_expressions

    def invalid_reason(self) -> str | None:
        """Why the API server would refuse this selector, or None when it is valid.

        The checks of `labels.NewRequirement`, which `LabelSelectorAsSelector` applies to
        every matchLabels pair (as operator Equals) and every expression.
        """
        for key, value in self.match_labels.items():
            reason = _invalid_key(key) or _invalid_value(key, value)
            if reason:
                return reason
        for r in self.match_expressions:
            reason = _invalid_requirement(r)
            if reason:
                return reason
        return None

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True when `labels` satisfy every requirement (always, for an empty selector).

        A malformed selector matches nothing (see the class docstring).
        """
        if self.empty:
            return True
        if self.invalid_reason() is not None:
            return False
        return _all_hold(labels, _terms(self))

    def __str__(self) -> str:
        return describe(self)


def matches(selector: LabelSelector | None, labels: Mapping[str, str]) -> bool:
    """`selector.matches(labels)`, where a null selector matches nothing."""
    return selector is not None and selector.matches(labels)


def from_map(mapping: Mapping[str, str]) -> LabelSelector:
    """The selector of a Service (or a ReplicationController): a plain map of label pairs.

    Note that for a Service an empty or absent map selects no pods (its endpoints are managed
    by hand), while the `LabelSelector` built here from an empty map matches everything: that
    rule belongs to the caller, which knows the resource kind.
    """
    return LabelSelector(match_labels=dict(mapping))


def describe(selector: LabelSelector | None) -> str:
    """The selector as kubectl prints it, `a=b,c in (x,y),!d,e`, for messages.

    As kubectl's `metav1.FormatLabelSelector`: `<none>` for an empty selector and also for a
    null one (check for None first where the difference matters), `<error>` for a malformed
    one.
    """
    if selector is None or selector.empty:
        return "<none>"
    if selector.invalid_reason() is not None:
        return "<error>"
    return _selector_string(selector)


def to_query(selector: LabelSelector) -> str:
    """The `labelSelector` query parameter that makes the API server select the same objects.

    The string `labels.Selector.String()` gives for `LabelSelectorAsSelector(selector)`:
    requirements sorted by key, matchLabels as `key=value`, then `key in (a,b)`,
    `key notin (a,b)`, `key`, `!key`, values sorted. Unescaped: the HTTP client encodes it.
    An empty selector gives "" (no restriction). A null selector matches nothing and has no
    query form, so it is not accepted; a malformed one raises ValueError, since the API server
    would answer 400.
    """
    if selector.empty:
        return ""
    reason = selector.invalid_reason()
    if reason is not None:
        raise ValueError(f"invalid label selector: {reason}")
    return _selector_string(selector)


# --- string forms -------------------------------------------------------------------------


def _selector_string(selector: LabelSelector) -> str:
    reqs: list[tuple[str, str, Sequence[str]]] = [
        (k, "=", (v,)) for k, v in selector.match_labels.items()
    ]
    reqs.extend((r.key, r.operator, r.values) for r in selector.match_expressions)
    # internalSelector.Add sorts the requirements by key with sort.Sort, which is an insertion
    # sort (stable) below 13 elements: matchLabels (appended first) stay ahead of expressions
    # on the same key, and expressions keep their order. Python's stable sort does the same.
    reqs.sort(key=lambda r: r[0])
    return ",".join(_requirement_string(k, op, vs) for k, op, vs in reqs)


def _requirement_string(key: str, op: str, values: Sequence[str]) -> str:
    # Requirement.String(): values are sorted only when there are several (safeSort), and
    # duplicates are kept; Go sorts bytes, Python code points, which order UTF-8 alike.
    if op == "=":
        return f"{key}={values[0]}"
    if op == "Exists":
        return key
    if op == "DoesNotExist":
        return f"!{key}"
    word = {"In": "in", "NotIn": "notin"}.get(op, op)
    return f"{key} {word} ({','.join(sorted(values))})"


# --- validation (labels.NewRequirement) ---------------------------------------------------

# k8s.io/apimachinery/pkg/util/validation: IsQualifiedName and IsValidLabelValue. fullmatch,
# not `$`: Python's `$` also matches before a trailing newline, Go's does not.
_NAME = re.compile(r"(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS1123_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = re.compile(rf"{_DNS1123_LABEL}(?:\.{_DNS1123_LABEL})*")
_NAME_MAX = 63  # also the maximum length of a label value
_PREFIX_MAX = 253


def _invalid_key(key: str) -> str | None:
    parts = key.split("/")
    if len(parts) > 2:
        return f"key {key!r}: at most one '/' (an optional DNS subdomain prefix)"
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            return f"key {key!r}: prefix part must be non-empty"
        if len(prefix) > _PREFIX_MAX or not _DNS1123_SUBDOMAIN.fullmatch(prefix):
            return f"key {key!r}: prefix part must be a DNS-1123 subdomain"
    name = parts[-1]
    if not name:
        return f"key {key!r}: name part must be non-empty"
    if len(name) > _NAME_MAX:
        return f"key {key!r}: name part must be no more than {_NAME_MAX} characters"
    if not _NAME.fullmatch(name):
        return (
            f"key {key!r}: name part must consist of alphanumerics, '-', '_' or '.', "
            "and start and end with an alphanumeric"
        )
    return None


def _invalid_value(key: str, value: str) -> str | None:
    if len(value) > _NAME_MAX:
        return f"value {value!r} of key {key!r}: must be no more than {_NAME_MAX} characters"
    if value and not _NAME.fullmatch(value):
        return (
            f"value {value!r} of key {key!r}: must be empty or consist of alphanumerics, "
            "'-', '_' or '.', and start and end with an alphanumeric"
        )
    return None


def _invalid_requirement(r: Requirement) -> str | None:
    op: str = r.operator  # read from a cluster, it may be any string
    if op not in _OPERATORS:
        return f"{op!r} is not a valid label selector operator"
    reason = _invalid_key(r.key)
    if reason:
        return reason
    if op in ("In", "NotIn") and not r.values:
        return f"{op} on key {r.key!r} needs at least one value"
    if op in ("Exists", "DoesNotExist") and r.values:
        return f"{op} on key {r.key!r} takes no values"
    for v in r.values:
        reason = _invalid_value(r.key, v)
        if reason:
            return reason
    return None


# --- matching -----------------------------------------------------------------------------

# A requirement ready to test: (key, operator, values). matchLabels pairs become single-value
# In terms, which match exactly as the Equals requirements apimachinery builds for them.
_Term = tuple[str, str, frozenset[str]]


def _terms(selector: LabelSelector) -> list[_Term]:
    terms: list[_Term] = [(k, "In", frozenset((v,))) for k, v in selector.match_labels.items()]
    terms.extend((r.key, r.operator, frozenset(r.values)) for r in selector.match_expressions)
    return terms


def _all_hold(labels: Mapping[str, str], terms: Sequence[_Term]) -> bool:
    for key, op, values in terms:
        # labels.get(key) is None when the key is absent, and None is in no set of strings:
        # so In needs the key, and NotIn holds without it (Requirement.Matches, case 4).
        if op == "In":
            if labels.get(key) not in values:
                return False
        elif op == "NotIn":
            if labels.get(key) in values:
                return False
        elif op == "Exists":
            if key not in labels:
                return False
        elif op == "DoesNotExist":
            if key in labels:
                return False
        else:  # an unknown operator matches nothing (Requirement.Matches' default)
            return False
    return True


# --- index --------------------------------------------------------------------------------


class Labelled(Protocol):
    """What `SelectorIndex` needs of an item: a namespace and labels (a Pod, for instance)."""

    @property
    def namespace(self) -> str: ...

    @property
    def labels(self) -> Mapping[str, str]: ...


T = TypeVar("T", bound=Labelled)


class SelectorIndex(Generic[T]):
    """Items by namespace and label, built once, to answer many selectors without scans.

    `select` returns the matching items in their input order (callers sort as they need), as
    a new list each time. Every candidate list holds input positions in ascending order, so
    filtering one, or merging several, keeps that order.
    """

    def __init__(self, items: Iterable[T] = ()) -> None:
        self._items: list[T] = []
        by_value: defaultdict[tuple[str, str, str], list[int]] = defaultdict(list)
        by_namespace: defaultdict[str, list[int]] = defaultdict(list)
        for pos, item in enumerate(items):
            self._items.append(item)
            ns = item.namespace
            by_namespace[ns].append(pos)
            for k, v in item.labels.items():
                by_value[(ns, k, v)].append(pos)
        self._by_value = dict(by_value)
        self._by_namespace = dict(by_namespace)
        # (namespace, key) -> positions of the items carrying the key, for Exists. Built on
        # first use by one scan of the namespace: most selectors never need it, and building
        # it up front would cost one more append per label of every item.
        self._by_key: dict[tuple[str, str], list[int]] = {}

    def select(
        self, namespace: str, selector: LabelSelector, *, prevalidated: bool = False
    ) -> list[T]:
        """The items of `namespace` that `selector` matches, in input order.

        A malformed selector selects nothing, as `LabelSelector.matches` says, unless
        `prevalidated`: then it is matched as written, like apimachinery's
        `SelectorFromValidatedSet`/`AsSelectorPreValidated`, which the endpoints and
        endpointslice controllers use for Service selectors (validated on write).
        """
        if not prevalidated and not selector.empty and selector.invalid_reason() is not None:
            return []
        terms = _terms(selector)
        candidates = self._candidates(namespace, terms)
        items = self._items
        return [items[pos] for pos in candidates if _all_hold(items[pos].labels, terms)]

    def _candidates(self, namespace: str, terms: Sequence[_Term]) -> Iterable[int]:
        """The shortest list of positions sure to hold every match: one term's own list.

        A term with values (matchLabels, In) narrows to the items with that value, or to the
        union over its values; Exists to the items with the key. NotIn and DoesNotExist narrow
        nothing: without a positive term the whole namespace is scanned (and all of it
        matches, for an empty selector).
        """
        everything = self._by_namespace.get(namespace, [])
        best: list[list[int]] = [everything]
        best_size = len(everything)
        exists: list[str] = []
        for key, op, values in terms:
            if op == "In":
                lists = [self._by_value.get((namespace, key, v), []) for v in values]
                size = sum(map(len, lists))
                if size == 0:
                    return ()
                if size < best_size:
                    best, best_size = lists, size
            elif op == "Exists":
                exists.append(key)
        narrowed = best[0] is not everything
        for key in exists:
            # The key list costs a scan of the namespace the first time: worth it only when
            # no value narrowed the search (the scan would happen anyway) or once it is built.
            with_key = self._by_key.get((namespace, key))
            if with_key is None and not narrowed:
                with_key = self._with_key(namespace, key)
            if with_key is not None and len(with_key) < best_size:
                best, best_size = [with_key], len(with_key)
        if len(best) == 1:
            return best[0]
        # Each item has one value per key and the values are distinct, so the lists are
        # disjoint: merging them by position yields every candidate once, in input order.
        return heapq.merge(*best)

    def _with_key(self, namespace: str, key: str) -> list[int]:
        items = self._items
        found = [pos for pos in self._by_namespace.get(namespace, ()) if key in items[pos].labels]
        self._by_key[(namespace, key)] = found
        return found
