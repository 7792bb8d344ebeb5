"""Printed tables never cut a number, also when stdout is a pipe (rich's default there is 80 columns; before,
ResNet-50's total energy printed as `56,446,435,8…`)."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from tests.clirun import run_cli, run_cli_json

CFG = Path(__file__).parents[1] / "cases" / "scalesim" / "alexnet_a32_os_CALC" / "a32_os_CALC.cfg"


def test_wide_console_fits_the_table(capsys) -> None:
    from stationary.cli.common import out_console

    t = Table(title="wide")
    numbers = [f"{56_446_435_812_345 + k:,}" for k in range(14)]
    for k in range(14):
        t.add_column(f"energy {k} (pJ)", justify="right")
    t.add_row(*numbers)
    out_console().print(t)  # capsys: not a terminal
    text = capsys.readouterr().out
    assert "…" not in text
    assert all(n in text for n in numbers)


def test_piped_systolic_table_prints_every_digit(tmp_path: Path) -> None:
    cfg = tmp_path / "wide.cfg"  # the widest array the reader takes: long cycle counts in every row
    cfg.write_text("\n".join("ArrayWidth: 65536" if ln.startswith("ArrayWidth") else ln
                             for ln in CFG.read_text().splitlines()) + "\n")
    topo = tmp_path / "t.csv"
    topo.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
                    "Strides,\n" + "".join(f"a_rather_long_layer_name_{k}, 15, 15, 3, 3, 16, 32, 1,\n"
                                           for k in range(3)))
    args = ["systolic", "--config", str(cfg), "--topology", str(topo)]
    table = run_cli(*args, timeout_s=300)
    assert table.returncode == 0, table.stderr
    layers = run_cli_json(*args, "--json", timeout_s=300)["layers"]
    assert "…" not in table.stdout
    for r in layers:
        assert r["name"] in table.stdout
        for key in ("total_cycles", "sram_ofmap_writes", "dram_ofmap_writes"):
            assert f"{r[key]:,}" in table.stdout


def test_piped_resnet50_systolic_table_is_whole() -> None:
    # before: 4 cells of this table ended in "…" when piped (a fixed 160-column console)
    args = ["systolic", "--config", str(CFG), "--model", "resnet50", "--dram", "estimate"]
    table = run_cli(*args, timeout_s=300)
    assert table.returncode == 0, table.stderr
    layers = run_cli_json(*args, "--json", timeout_s=300)["layers"]
    assert "…" not in table.stdout
    for r in layers:
        assert r["name"] in table.stdout and f"{r['total_cycles']:,}" in table.stdout
    total = sum(r["energy_total_pj"] for r in layers) / 1e6
    assert f"{total:.2f} uJ" in table.stdout
