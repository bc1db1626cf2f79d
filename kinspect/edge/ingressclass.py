"""Which IngressClass serves an Ingress, where that came from, and whether it exists. Pure.

The class: spec.ingressClassName, else the legacy kubernetes.io/ingress.class annotation, else
the IngressClass annotated ingressclass.kubernetes.io/is-default-class=true
(https://kubernetes.io/docs/concepts/services-networking/ingress/#default-ingress-class and
#deprecated-annotation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kinspect.model.edge import Ingress, IngressClass


@dataclass(frozen=True, slots=True)
class ClassOf:
    """Which IngressClass an Ingress belongs to, where that came from, and whether it exists."""

    name: str | None
    source: Literal["ingressClassName", "annotation", "default", "none"]
    defined: bool
    controller: str | None = None

    @property
    def text(self) -> str:
        match self.source:
            case "none":
                return "no class (no ingressClassName, annotation or default IngressClass)"
            case "default":
                return f"class {self.name} (the default IngressClass)"
            case "annotation":
                return f"class {self.name} (kubernetes.io/ingress.class annotation)"
            case "ingressClassName":
                return f"class {self.name}"


def served_by(c: ClassOf, read: bool) -> str:
    """The class, marked when no IngressClass defines it (or IngressClasses were not read)."""
    if c.source == "none" and not read:
        return "class unknown (IngressClasses were not read: a default class may exist)"
    if c.source == "none" or c.defined:
        return c.text
    if not read:
        return f"{c.text} (IngressClasses were not read: unknown whether it exists)"
    if c.source == "annotation":
        # Controllers predating networking.k8s.io/v1 read the annotation without an object.
        return (
            f"{c.text[:-1]}; no IngressClass defines it: only a controller that reads the "
            "annotation serves it)"
        )
    return f"{c.text} (no such IngressClass: no controller serves it)"


def class_of(ing: Ingress, classes: tuple[IngressClass, ...]) -> ClassOf:
    """The class an Ingress is served by: ingressClassName, the annotation, or the default."""
    by_name = {c.name: c for c in classes}
    if ing.class_name or ing.class_annotation:
        name = ing.class_name or ing.class_annotation or ""
        source: Literal["ingressClassName", "annotation"] = (
            "ingressClassName" if ing.class_name else "annotation"
        )
        c = by_name.get(name)
        return ClassOf(name, source, c is not None, c.controller if c else None)
    defaults = [c for c in classes if c.default]
    if len(defaults) == 1:
        return ClassOf(defaults[0].name, "default", True, defaults[0].controller)
    return ClassOf(None, "none", False)
