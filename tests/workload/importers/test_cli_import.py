"""`stationary stats` end to end on an ONNX file and a `file.py:factory`, and bad input exiting 2 with
one line (run as a subprocess, as a user would)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import export_onnx
from importer_nets import ConvZoo

from stationary.cli import err_console, main
from stationary.workload.importers.torch_fx import import_module
from stationary.workload.stats import network_stats
from tests.clirun import cli_env, run_cli

FACTORY = """
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, groups=1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        y = torch.cumsum(self.conv(x), dim=1)
        return self.fc(y.mean(dim=(2, 3)))

def build():
    return Net()
"""


WIDE = cli_env({"COLUMNS": "1000"})  # rich wraps the CLI's error line at the console width (80 when not a terminal)


def test_stats_of_factory(tmp_path: Path) -> None:
    (tmp_path / "net.py").write_text(FACTORY)
    res = run_cli("stats", "net.py:build", "--input-shape", "1,3,32,32", "--batch", "2", "--json", cwd=tmp_path,
                  env=WIDE, timeout_s=120)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["model"] == "build" and out["batch"] == 2
    assert out["total"]["macs"] == 2 * (8 * 3 * 9 * 32 * 32 + 8 * 10)
    assert [layer["name"] for layer in out["layers"]] == ["conv", "mean", "fc"]
    assert out["warnings"] == ["unsupported operator 'cumsum' (1 call: cumsum): skipped (no layer, nothing counted)"]
    assert "warning: unsupported operator 'cumsum'" in res.stderr


def test_table_and_warnings_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "net.py").write_text(FACTORY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["stationary", "stats", "net.py:build", "--input-shape", "1,3,32,32"])
    with pytest.raises(SystemExit) as info:  # main() always exits with its status (0 on success)
        main()
    assert info.value.code == 0
    out, err = capsys.readouterr()
    assert "build, batch 1" in out and "total" in out and "cumsum" in err


def test_stats_of_onnx(tmp_path: Path) -> None:
    path = export_onnx(ConvZoo(), (1, 3, 32, 32), tmp_path / "zoo.onnx", dynamic_batch=True)
    res = run_cli("stats", str(path), "--json", "--batch", "3", cwd=tmp_path, env=WIDE, timeout_s=120)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    want = network_stats(import_module(ConvZoo(), (3, 3, 32, 32)))
    assert out["batch"] == 3 and out["total"]["macs"] == want.macs and out["total"]["weights"] == want.weights
    assert out["warnings"] == []


def test_bad_onnx_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.onnx").write_bytes(b"\x08garbage\xff\xff")
    res = run_cli("stats", "bad.onnx", cwd=tmp_path, env=WIDE, timeout_s=120)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.strip().splitlines() == [res.stderr.strip()]
    assert "bad.onnx: not a readable ONNX model" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("args, message", [
    (("missing.onnx",), "missing.onnx: no such file"),
    (("net.py:build",), "needs --input-shape"),
    (("net.py:build", "--input-shape", "1,5,32,32"), "does not fit build at 'conv': Given groups=1"),
    (("net.py:nothing", "--input-shape", "1,3,32,32"), "defines no callable 'nothing'"),
    (("missing.py:build", "--input-shape", "1,3,32,32"), "missing.py: no such file"),
])
def test_bad_input_exits_2_with_one_line(tmp_path: Path, args: tuple[str, ...], message: str,
                                         monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """In process (the CLI's own entry point, as `python -m stationary` runs it), to keep the suite fast."""
    (tmp_path / "net.py").write_text(FACTORY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["stationary", "stats", *args])
    monkeypatch.setattr(err_console, "width", 1000)
    with pytest.raises(SystemExit) as info:
        main()
    out, err = capsys.readouterr()
    assert info.value.code == 2 and out == ""
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


BILINEAR = """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.bl = nn.Bilinear(8, 8, 4)

    def forward(self, x):
        y = self.fc(x)
        return self.bl(y, y)

def build():
    return Net()
"""


def test_allow_skip_turns_the_refusal_into_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "bl.py").write_text(BILINEAR)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(err_console, "width", 1000)
    monkeypatch.setattr(sys, "argv", ["stationary", "stats", "bl.py:build", "--input-shape", "3,8", "--json"])
    with pytest.raises(SystemExit) as info:
        main()
    out, err = capsys.readouterr()
    assert info.value.code == 2 and out == ""
    assert "cannot count operator 'bilinear' (1 call: bl) holds 260 of 332 parameters (78.31 %)" in err
    monkeypatch.setattr(sys, "argv", ["stationary", "stats", "bl.py:build", "--input-shape", "3,8", "--json",
                                      "--allow-skip"])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["total"]["macs"] == 3 * 8 * 8
    assert result["warnings"] == ["unsupported operator 'bilinear' (1 call: bl): skipped (no layer): its 260 of 332 "
                                  "parameters (78.31 %) are not counted"]
    assert "warning: unsupported operator 'bilinear'" in err
