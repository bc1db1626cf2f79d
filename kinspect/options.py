"""The flags several commands share, each declared once: the same name, help and type everywhere.

Typer copies an option for each parameter that uses it, so one declaration serves every
command. Flags that only one command takes are declared beside that command in `cli`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from kinspect.commands.session import DataFormat, MapFormat
from kinspect.commands.snapshot import DiffFormat

ContextOpt = Annotated[str | None, typer.Option("--context", help="kubeconfig context to use.")]
KubeconfigOpt = Annotated[
    str | None, typer.Option("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG).")
]
NamespaceOpt = Annotated[str | None, typer.Option("-n", "--namespace", help="Namespace.")]
AllNsOpt = Annotated[bool, typer.Option("-A", "--all-namespaces", help="All namespaces.")]
SelectorOpt = Annotated[
    str | None, typer.Option("-l", "--selector", help="Label selector on services.")
]
TimeoutOpt = Annotated[
    float, typer.Option("--request-timeout", help="Seconds to wait for each API request.")
]
REQUEST_TIMEOUT = 30.0  # --request-timeout's default
SnapshotOpt = Annotated[
    str | None,
    typer.Option(
        "--snapshot", help="Read a file from `kinspect snapshot save` instead of a cluster."
    ),
]
OUTPUT = typer.Option("-o", "--output", help="Output format.")  # typer copies it for each use
DataOutputOpt = Annotated[DataFormat, OUTPUT]
MapOutputOpt = Annotated[MapFormat, OUTPUT]
DiffOutputOpt = Annotated[DiffFormat, OUTPUT]
WatchOpt = Annotated[
    bool,
    typer.Option(
        "--watch", "-w", help="Follow the cluster: update in place, or JSON Lines with -o json."
    ),
]
WatchTimeoutOpt = Annotated[
    int,
    typer.Option("--watch-timeout", help="Seconds each WATCH lasts on the server (--watch)."),
]
EvidenceOpt = Annotated[
    bool,
    typer.Option(
        "--evidence",
        help="Under each hop or finding: the object and field that show it, and the read-only "
        "kubectl command that prints it.",
    ),
]
