"""Run the CLI in-process through `cli.run`, with captured streams and a chosen environment."""

from __future__ import annotations

import io
from dataclasses import dataclass

from kinspect import cli
from kinspect.model.errors import ExitCode


@dataclass(frozen=True)
class Result:
    code: ExitCode
    stdout: str
    stderr: str


def _stream() -> io.TextIOWrapper:
    # A text stream with a binary buffer underneath, like sys.stdout (JSON is written as bytes).
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)


def _text(s: io.TextIOWrapper) -> str:
    s.flush()
    buf = s.buffer
    assert isinstance(buf, io.BytesIO)
    return buf.getvalue().decode()


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    """`kinspect ARGS` in this process; the environment is only `env` (no KUBECONFIG, no HOME)."""
    out, err = _stream(), _stream()
    code = cli.run(list(args), stdout=out, stderr=err, environ=env or {})
    return Result(code, _text(out), _text(err))


def one_line_error(r: Result, code: ExitCode, *needles: str) -> None:
    """The error contract: one line on stderr, the documented code, no traceback."""
    assert r.code == code, r.stderr
    assert r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("kinspect: error: ")
    assert "Traceback" not in r.stderr
    for n in needles:
        assert n in r.stderr
