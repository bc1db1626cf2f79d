"""Serialise the machine documents of `kinspect.render.report` as JSON or YAML text."""

from __future__ import annotations

from typing import Any, BinaryIO

import msgspec
import yaml

from kinspect.render.safe import utf8_deep

_encoder = msgspec.json.Encoder()


def _encode(value: object) -> bytes:
    """JSON bytes of `value`; a lone surrogate, which UTF-8 cannot hold, becomes U+FFFD."""
    try:
        return _encoder.encode(value)
    except UnicodeEncodeError:
        return _encoder.encode(utf8_deep(msgspec.to_builtins(value)))


def json_bytes(doc: dict[str, Any]) -> bytes:
    """Indented JSON as UTF-8 bytes (no str copy: reports of 100k pods are large)."""
    return msgspec.json.format(_encode(doc), indent=2) + b"\n"


def _indented(value: object, depth: int) -> bytes:
    text = msgspec.json.format(_encode(value), indent=2)
    return text.replace(b"\n", b"\n" + b"  " * depth) if depth else text


def write_json(doc: dict[str, Any], out: BinaryIO, stream: str, pretty: bool = True) -> None:
    """Write `doc` as JSON, the list under key `stream` one item at a time.

    Byte for byte what `json_bytes` (pretty) or `msgspec.json.encode` plus a newline gives,
    without ever holding the whole text: the JSON of a 100k-pod cluster is hundreds of MB, and
    building it at once would double peak memory.
    """
    colon = b": " if pretty else b":"

    def newline(depth: int) -> bytes:
        return b"\n" + b"  " * depth if pretty else b""

    def encode(value: object, depth: int) -> bytes:
        return _indented(value, depth) if pretty else _encode(value)

    out.write(b"{")
    for i, (key, value) in enumerate(doc.items()):
        out.write((b"," if i else b"") + newline(1) + _encode(key) + colon)
        if key == stream and isinstance(value, list | tuple) and value:
            out.write(b"[")
            for j, item in enumerate(value):
                out.write((b"," if j else b"") + newline(2) + encode(item, 2))
            out.write(newline(1) + b"]")
        else:
            out.write(encode(value, 1))
    out.write((newline(0) if doc else b"") + b"}\n")


def json_line(doc: dict[str, Any]) -> bytes:
    """Compact JSON and a newline: one line of a JSON Lines stream (`--watch -o json`)."""
    return _encode(doc) + b"\n"


def to_json(doc: dict[str, Any]) -> str:
    """Indented JSON text."""
    return json_bytes(doc).decode()


def to_yaml(doc: dict[str, Any]) -> str:
    """YAML text, keys in document order."""
    return yaml.safe_dump(
        utf8_deep(msgspec.to_builtins(doc)), sort_keys=False, default_flow_style=False
    )
