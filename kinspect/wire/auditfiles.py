"""Reading the audit's input files: an ignore file (YAML) and a baseline (a former JSON report).

The I/O side of the audit. Each file is decoded into lean typed msgspec structs, then turned
into kinspect.audit.report's domain values. Every failure is a `UsageError`: one line naming the
file (and the entry), with a hint showing what a good file looks like.
"""

from __future__ import annotations

import difflib
from typing import Any, Literal

import msgspec
import yaml

from kinspect.audit.checks import CHECKS
from kinspect.audit.finding import Identity, PortKey, Severity
from kinspect.audit.report import BaselineFinding, IgnoreRule
from kinspect.model.errors import UsageError
from kinspect.wire.untrusted import TOO_DEEP

IGNORE_HINT = "each entry: {check: ID, reason: WHY, namespace?: NS, service?: NAME, context?: CTX}"
BASELINE_HINT = "pass a report written by: kinspect audit -o json"
_CHECK_IDS = frozenset({c.id for c in CHECKS} | {"*"})
# An ignore file is a short list written by hand: 4 MiB is tens of thousands of entries, and
# PyYAML (pure Python) reads it in about a second. Its entries nest two levels (a list of
# maps of strings); 32 leaves room for anything YAML lets one write there, and stops a file
# nested to PyYAML's recursion limit (about 330 levels) with a one-line error.
IGNORE_MAX_BYTES = 4 * 2**20
IGNORE_MAX_DEPTH = 32
# A baseline is a report that kinspect wrote: the snapshot cap (KINSPECT_MAX_SNAPSHOT_BYTES)
# is its cap too.
BASELINE_MAX_BYTES = 2 * 1024**3


class _TooDeep(yaml.YAMLError):
    pass


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with a cap on nesting: its composer recurses once per level."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > IGNORE_MAX_DEPTH:
                raise _TooDeep
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_CHUNK = 1 << 20


def _read_capped(path: str, max_bytes: int) -> bytes | None:
    """The file's bytes, or None past `max_bytes` (a pipe or a FIFO as well: no seek, no stat).

    A chunk at a time: `read(max_bytes + 1)` would first reserve a buffer of the whole cap
    (2 GiB for a baseline; a MemoryError, exit 1, for a cap set larger than memory).
    """
    out = bytearray()
    with open(path, "rb") as f:
        while chunk := f.read(min(_CHUNK, max_bytes + 1 - len(out))):
            out += chunk
            if len(out) > max_bytes:
                return None
    return bytes(out)


class _IgnoreEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One entry of an ignore file.

    Every field is a string: a YAML number or date (`namespace: 2024`) is refused rather than
    kept as a value that never equals a namespace or service name. An unknown key is refused
    too: a misspelt `namepsace:` would otherwise leave a rule for every namespace.
    """

    check: str | None = None  # required: missing ones get a message of their own
    reason: str | None = None  # required, not blank
    namespace: str | None = None
    service: str | None = None
    context: str | None = None


def read_ignore_file(path: str) -> list[IgnoreRule]:
    """The rules of the ignore file at `path`: a YAML list of entries."""
    try:
        data = _read_capped(path, IGNORE_MAX_BYTES)
        if data is None:
            raise UsageError(
                f"ignore file {path} is larger than {IGNORE_MAX_BYTES} bytes", IGNORE_HINT
            )
        doc: Any = yaml.load(data.decode("utf-8"), Loader=_BoundedLoader)  # a SafeLoader
    except UnicodeDecodeError:
        raise UsageError(f"cannot read ignore file {path}: not UTF-8", IGNORE_HINT) from None
    except OSError as e:
        raise UsageError(f"cannot read ignore file {path}: {e.strerror}", IGNORE_HINT) from None
    except (_TooDeep, RecursionError):
        raise UsageError(
            f"ignore file {path} is nested deeper than {IGNORE_MAX_DEPTH} levels", IGNORE_HINT
        ) from None
    except yaml.YAMLError as e:
        raise UsageError(
            f"cannot read ignore file {path}: {type(e).__name__}", IGNORE_HINT
        ) from None
    if doc is None:
        return []
    if not isinstance(doc, list):
        raise UsageError(f"ignore file {path} is not a list", IGNORE_HINT)
    rules = []
    for i, item in enumerate(doc, 1):
        where = f"ignore file {path}, entry {i}"
        if isinstance(item, dict):
            _known_keys(item, where)
        try:
            entry = msgspec.convert(item, _IgnoreEntry)
        except msgspec.ValidationError as e:
            if not isinstance(item, dict):
                raise UsageError(f"{where}: needs a check and a reason", IGNORE_HINT) from None
            raise UsageError(f"{where}: {e}", IGNORE_HINT) from None
        reason = entry.reason or ""
        if not entry.check:
            raise UsageError(f"{where}: needs a check and a reason", IGNORE_HINT)
        if not reason.strip():
            raise UsageError(f"{where}: needs a reason", IGNORE_HINT)
        if entry.check not in _CHECK_IDS:
            raise UsageError(f"{where}: unknown check {entry.check!r}", IGNORE_HINT)
        rules.append(IgnoreRule(entry.check, reason, entry.namespace, entry.service, entry.context))
    return rules


_IGNORE_KEYS = _IgnoreEntry.__struct_fields__


def _known_keys(item: dict[Any, Any], where: str) -> None:
    """A `UsageError` naming the first key that is not a field, and the field it may mean."""
    for key in item:
        if key not in _IGNORE_KEYS:
            name = repr(key)
            name = name if len(name) <= 60 else name[:59] + "…"
            close = difflib.get_close_matches(str(key), _IGNORE_KEYS, n=1)
            guess = f" (did you mean {close[0]}?)" if close else ""
            raise UsageError(f"{where}: unknown key {name}{guess}", IGNORE_HINT)


class _Finding(msgspec.Struct, frozen=True):
    """A finding of an AuditReport (docs/json.md), as far as a baseline needs it."""

    context: str
    check: str
    severity: Literal["info", "warning", "error"]
    namespace: str
    service: str
    port: str | None  # "name 80/TCP", "80/TCP"
    message: str
    new: bool | None = None


class _Report(msgspec.Struct, frozen=True):
    kind: Literal["AuditReport"]
    findings: list[_Finding]


def _port_key(text: str | None) -> PortKey | None:
    """A port as reports print it ("http 80/TCP", "80/TCP") back into its key.

    IANA port names have no spaces: the optional name is what precedes the last space.
    """
    if not text:
        return None
    name, _, rest = text.rpartition(" ")
    number, slash, protocol = rest.partition("/")
    if not (number.isascii() and number.isdigit() and slash and protocol):
        raise ValueError(text)
    return PortKey(name or None, int(number), protocol)


class _Context(msgspec.Struct, frozen=True):
    name: str


class _ReportContexts(msgspec.Struct, frozen=True):
    contexts: list[_Context] = []


def read_baseline(path: str, max_bytes: int = BASELINE_MAX_BYTES) -> list[BaselineFinding]:
    """The findings of the report at `path` (written by `kinspect audit -o json`)."""
    try:
        raw = _read_capped(path, max_bytes)
    except OSError as e:
        raise UsageError(f"cannot read baseline {path}: {e.strerror}", BASELINE_HINT) from None
    if raw is None:
        raise UsageError(
            f"baseline {path} is larger than {max_bytes} bytes",
            "set KINSPECT_MAX_SNAPSHOT_BYTES to read a bigger one",
        )
    return decode_report(raw, path, BASELINE_HINT)


def decode_report(raw: bytes, path: str, hint: str) -> list[BaselineFinding]:
    """The findings of an AuditReport's JSON bytes (`path` names it in errors)."""
    try:
        report = msgspec.json.decode(raw, type=_Report)
        return [
            BaselineFinding(
                Identity(f.context, f.check, f.namespace, f.service, _port_key(f.port)),
                Severity[f.severity.upper()],
                f.message,
                f.new,
            )
            for f in report.findings
        ]
    except (msgspec.DecodeError, ValueError):
        raise UsageError(f"{path} is not a kinspect audit report", hint) from None
    except RecursionError:
        raise UsageError(f"{path} is {TOO_DEEP}", hint) from None


def report_contexts(raw: bytes) -> list[str]:
    """The names of the contexts an AuditReport covers (empty when it does not say)."""
    try:
        return [c.name for c in msgspec.json.decode(raw, type=_ReportContexts).contexts]
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return []
