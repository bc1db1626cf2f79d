"""The program around the typer surface: one handler maps every error to its exit code.

`run` parses and runs a command of the typer app against a fresh `Session` and returns its exit
status (public API, docs/exit-codes.md): a usage error is 2, a `KinspectError` its own code,
anything else 1 (a kinspect bug), each as one line on stderr, never a traceback unless
`--debug`. `main` is the only place the process exits.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Mapping
from contextlib import suppress
from typing import Any, TextIO

import typer

# typer vendors its own click; its exception base and Context are not re-exported publicly.
from typer._click.core import Context
from typer._click.exceptions import ClickException
from typer.core import TyperGroup

from kinspect.commands.session import Session
from kinspect.model.errors import ExitCode, KinspectError
from kinspect.render.safe import plain


class _OutputClosed(Exception):
    """stdout's reader went away (`kinspect map -o json | head -c 100`): nothing left to say."""


class Group(TyperGroup):
    """The root command (`typer.Typer(cls=Group)`): a closed stdout reaches `run` as itself.

    Click's `main` turns an EPIPE `OSError` into `sys.exit(1)` even when not standalone: a
    closed pipe would be exit 1, kinspect's "bug", with no message. Parsing (which prints
    `--help` and `--version`) and the command run here, inside click's handler, so the pipe
    error is carried past it as an exception click does not know.
    """

    def make_context(
        self, info_name: str | None, args: list[str], parent: Context | None = None, **extra: Any
    ) -> Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except BrokenPipeError as e:
            raise _OutputClosed from e

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as e:
            raise _OutputClosed from e


def _fail(session: Session, message: str, hint: str) -> None:
    # Messages carry kubeconfig and server text: control characters are shown escaped.
    line = plain(f"kinspect: error: {message}" + (f" (try: {hint})" if hint else ""))
    with suppress(BrokenPipeError):  # a closed stderr (`2>&1 | true`): the exit code says it
        session.err.print(line, soft_wrap=True)


def _traceback(session: Session) -> None:
    if session.debug:
        with suppress(BrokenPipeError):
            traceback.print_exc(file=session.stderr)


def run(
    app: typer.Typer,
    argv: list[str],
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
    prog: str = "kinspect",
) -> ExitCode:
    """Parse `argv`, run the command of `app`, map any error to its exit code."""
    env = os.environ if environ is None else environ
    session = Session(stdout or sys.stdout, stderr or sys.stderr, env)
    session.debug = bool(env.get("KINSPECT_DEBUG"))
    cmd = typer.main.get_command(app)
    try:
        rv = cmd.main(args=argv, prog_name=prog, standalone_mode=False, obj=session)
    except ClickException as e:  # bad flags or arguments
        _fail(session, e.format_message() or "no command given", "kinspect --help")
        return ExitCode.USAGE
    except (typer.Abort, KeyboardInterrupt):
        _fail(session, "interrupted", "")
        return ExitCode.INTERRUPTED
    except KinspectError as e:
        _traceback(session)
        _fail(session, e.message, e.hint)
        return e.exit_code
    except (BrokenPipeError, _OutputClosed):
        # Like `cat` and kubectl: the reader left, which is no error of anyone's.
        return ExitCode.OK
    except Exception as e:
        _traceback(session)
        _fail(session, f"unexpected {type(e).__name__}", "rerun with --debug and report it")
        return ExitCode.ERROR
    # A command returns its ExitCode; typer.Exit (--version, --help) returns its code as an int,
    # and typer turns Ctrl-C inside a command into Exit(130).
    code = ExitCode(rv) if isinstance(rv, int) else ExitCode.OK
    if code is ExitCode.INTERRUPTED:
        _fail(session, "interrupted", "")
    return code


def main(app: typer.Typer) -> None:
    """Console-script entry point: run, flush, and leave without the interpreter's teardown."""
    # A short-lived process that builds millions of acyclic objects: the cyclic collector's
    # repeated full passes over them cost seconds on 100k pods and free nothing.
    import gc

    gc.disable()
    # Installed twice: as `kinspect`, and as `kubectl-kinspect`, which kubectl runs for
    # `kubectl kinspect ...` (its help then names the command as the user typed it).
    plugin = os.path.basename(sys.argv[0]).startswith("kubectl-")
    code = run(app, sys.argv[1:], prog="kubectl kinspect" if plugin else "kinspect")
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = ExitCode.OK  # the reader left: no error of anyone's
    with suppress(BrokenPipeError):
        sys.stderr.flush()  # no one to tell: the exit code still says what happened
    # Skip the interpreter's teardown: it frees the millions of objects of a big cluster one by
    # one (half a second on 100k pods) and returns nothing the OS would not reclaim at once.
    os._exit(code)
