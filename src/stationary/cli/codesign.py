"""`stationary codesign`: prune and quantize a real model, measure accuracy on held-out data, model the energy."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from stationary.cli import app
from stationary.cli.common import JsonOption, out_console, print_json
from stationary.errors import StationaryError


def parse_list(text: str, kind: type, field: str) -> list:
    """'0,0.5,0.8' -> [0.0, 0.5, 0.8] with one clear error for anything else."""
    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise StationaryError(f"expected comma-separated {kind.__name__}s, got {text!r}", field=field) from None
    if not values:
        raise StationaryError(f"expected at least one value, got {text!r}", field=field)
    return values


@app.command()
def codesign(
    model: Annotated[str, typer.Argument(help="a trainable model: lenet5_digits, mlp_digits, dwsep_digits, "
                                              "lenet5_small_digits, mlp_small_digits")],
    dataset: Annotated[str, typer.Option(help="bundled dataset (no downloads)")] = "digits",
    arch: Annotated[str, typer.Option(help="architecture preset or native arch YAML")] = "eyeriss",
    prune: Annotated[str, typer.Option(help="pruning ratios in [0, 1), comma-separated")] = "0,0.5,0.8",
    bits: Annotated[str, typer.Option(help="weight and activation widths in 1..16, comma-separated")] = "16,8,4",
    method: Annotated[str, typer.Option(help="pruning: magnitude | structured | energy")] = "magnitude",
    quant: Annotated[str, typer.Option(help="weight quantizers, comma-separated: uniform, log, log_scaled, kmeans, "
                                            "binary, ternary")] = "uniform",
    scheme: Annotated[str | None, typer.Option(help="one weight quantizer (older spelling of --quant)")] = None,
    huffman: Annotated[bool, typer.Option(help="Deep Compression storage, Huffman-coded off chip")] = False,
    log_activations: Annotated[bool, typer.Option(help="log-domain activations with log weights")] = False,
    decompose: Annotated[str | None, typer.Option(help="low-rank decomposition: cp | tucker | svd")] = None,
    rank: Annotated[int | None, typer.Option(help="rank of --decompose")] = None,
    distill_from: Annotated[str | None, typer.Option(help="train MODEL as a student of this teacher model")] = None,
    zero: Annotated[str, typer.Option(help="zero operands: gating | skipping | none")] = "gating",
    seed: Annotated[int, typer.Option(help="seed of the data split, initialisation and training")] = 0,
    as_json: JsonOption = False,
    detail: Annotated[bool, typer.Option(help="with --json: per-layer densities, sizes and energies")] = False,
    plot: Annotated[str | None, typer.Option(help="write accuracy vs energy with the Pareto front (PNG)")] = None,
) -> None:
    """For every (prune, bits) point: held-out accuracy, densities, compressed weights, modelled energy, cycles."""
    from stationary.codesign.cost import ZeroMode
    from stationary.codesign.prune import METHODS, Method
    from stationary.codesign.sweep import Settings, check_request, parse_quant, run_codesign

    prunes = parse_list(prune, float, "--prune")
    widths = parse_list(bits, int, "--bits")
    quants = tuple(parse_quant(q) for q in parse_list(scheme if scheme is not None else quant, str, "--quant"))
    if (decompose is None) != (rank is None):
        raise StationaryError("--decompose and --rank go together", field="--rank")
    decomposition = (decompose, rank) if decompose is not None and rank is not None else None
    settings = Settings(method=_choice(Method, method, "--method", METHODS), quants=quants,
                        zero_mode=_choice(ZeroMode, zero, "--zero"), seed=seed, huffman=huffman,
                        act_log=log_activations)
    architecture = check_request(model, dataset, arch, prunes, widths, settings, decomposition, distill_from)
    total = len(prunes) * len(widths) * len(quants) * (2 if decomposition else 1)
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(f"{model}: training, then {total} points", total=total)
        report = run_codesign(model, dataset, architecture, prunes, widths, settings,
                              on_point=lambda p: progress.advance(task), decomposition=decomposition,
                              distill_from=distill_from)
    if plot:
        from stationary.codesign.plot import plot_front

        plot_front(report, plot)
    if as_json:
        print_json(report.to_json(detail))
        return
    console = out_console()
    front = set(report.pareto)
    t = Table(title=f"{report.model} on {report.dataset}, {report.arch}, {report.method} pruning, "
                    f"zero {report.zero_mode} (float accuracy {report.baseline_accuracy:.2%}, "
                    f"dense 16-bit energy {report.dense_energy_pj / 1e6:,.3f} uJ)")
    for col in ("model", "quant", "prune", "bits", "accuracy", "weight density", "act density", "weights (B)",
                "ratio", "energy (uJ)", "cycles", "Pareto"):
        t.add_column(col, justify="right")
    for i, p in enumerate(report.points):
        t.add_row(p.variant, p.quant, f"{p.prune:g}", str(p.bits), f"{p.accuracy:.2%}", f"{p.weight_density:.3f}",
                  f"{p.activation_density:.3f}", f"{p.weights_bytes:,.0f}", f"{p.compression_ratio:.1f}x",
                  f"{p.energy_pj / 1e6:,.3f}", f"{p.cycles:,}", "*" if i in front else "")
    console.print(t)
    for key, facts in report.extra.items():
        console.print(f"{key}: " + ", ".join(f"{k} {v:.2%}" if "accuracy" in k else f"{k} {v}"
                                            for k, v in facts.items()))


def _choice(enum: type[Enum], value: str, field: str, names: tuple[str, ...] | None = None) -> Any:
    try:
        return enum(value)
    except ValueError:
        valid = names or tuple(e.value for e in enum)
        raise StationaryError(f"unknown value {value!r}; choose one of: {', '.join(valid)}", field=field) from None
