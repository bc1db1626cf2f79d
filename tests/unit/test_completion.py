"""Shell completion: typer's bash script is generated, and bash completes `kinspect ma` to map."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_bash_completes_a_command_name(tmp_path: Path) -> None:
    bindir = os.path.dirname(sys.executable)
    env = {"PATH": f"{bindir}{os.pathsep}/usr/bin:/bin", "HOME": str(tmp_path)}
    script = subprocess.run(
        [os.path.join(bindir, "kinspect"), "--show-completion", "bash"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    assert "complete -o default -F _kinspect_completion kinspect" in script
    (tmp_path / "kinspect.bash").write_text(script)
    complete = (
        f"source {tmp_path / 'kinspect.bash'}\n"
        "COMP_WORDS=(kinspect ma); COMP_CWORD=1\n"
        "_kinspect_completion kinspect\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    out = subprocess.run(
        ["bash", "--norc", "-c", complete], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert out.split() == ["map"]
