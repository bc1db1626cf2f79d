"""`make same-output`'s comparison: what it normalises, and that a difference is reported.

The command runs against a cluster (dev/same_output.py); these cases prove on plain files that
normalising hides only times and the run's folder, and that one changed byte fails it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dev import same_output


def test_times_and_the_run_folder_are_normalised(tmp_path: Path) -> None:
    text = (
        f'readAt "2026-12-07T21:52:58.123456Z" in {tmp_path}/demo.json '
        'kinspect_audit_last_run_timestamp_seconds 1796680378.5 <testcase time="0.013"/>'
    )
    assert same_output.normalise(text, tmp_path) == (
        'readAt "<TIME>" in <RUN>/demo.json '
        'kinspect_audit_last_run_timestamp_seconds <EPOCH> <testcase time="<T>"/>'
    )


def test_what_a_change_can_cause_is_kept(tmp_path: Path) -> None:
    # Ports, counts, addresses and exit codes are never masked.
    text = "web 80→8080 10.244.0.5:8080 30080 exit 6 2 ready 192.0.2.10"
    assert same_output.normalise(text, tmp_path) == text


def _tree(root: Path, files: dict[str, str]) -> Path:
    root.mkdir()
    for name, body in files.items():
        (root / name).write_text(body)
    return root


def test_identical_outputs_compare_equal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {"map.stdout": "a\n", "map.rc": "0\n"}
    old, new = _tree(tmp_path / "old", files), _tree(tmp_path / "new", files)
    assert same_output.compare(old, new) == []
    assert capsys.readouterr().out == "same-output: 2 files compared, 0 differ\n"


def test_one_changed_byte_or_a_missing_file_is_a_difference(tmp_path: Path) -> None:
    old = _tree(tmp_path / "old", {"map.stdout": "CONTAINER\n", "map.rc": "0\n", "x.rc": "0\n"})
    new = _tree(tmp_path / "new", {"map.stdout": "CONTAINERS\n", "map.rc": "0\n"})
    assert same_output.compare(old, new) == ["map.stdout", "x.rc"]
