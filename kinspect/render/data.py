"""Serialise the machine documents of `kinspect.render.report` as JSON or YAML text."""

from __future__ import annotations

from typing import Any

import msgspec
import yaml


def json_bytes(doc: dict[str, Any]) -> bytes:
    """Indented JSON as UTF-8 bytes (no str copy: reports of 100k pods are large)."""
    return msgspec.json.format(msgspec.json.encode(doc), indent=2) + b"\n"


def to_json(doc: dict[str, Any]) -> str:
    """Indented JSON text."""
    return json_bytes(doc).decode()


def to_yaml(doc: dict[str, Any]) -> str:
    """YAML text, keys in document order."""
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
