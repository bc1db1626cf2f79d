"""Validate kinspect's JSON documents against the schemas shipped in kinspect/schemas/."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema


def validate(doc: Any, name: str) -> None:
    schema = json.loads(resources.files("kinspect").joinpath("schemas", name).read_text())
    jsonschema.Draft202012Validator(schema).validate(doc)
