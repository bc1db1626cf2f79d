"""What each command does, between the typer surface (`kinspect.cli`) and the pipeline.

A command reads a snapshot (the cluster through `kinspect.wire`, or a file), runs the pure
core (chain, trace, inventory, audit), hands the result to a renderer and writes what it
returns to the session's streams. Everything a command needs from outside (streams, terminal,
environment, --debug) arrives in a `Session`, so the tests run every command in-process.
Errors are raised as `KinspectError`s; `program.run` turns them into one line and an exit code.

One module per command family (map, trace, policy, audit, snapshot), over `watch` (map and
trace --watch), over `session` (what they all share).
"""
