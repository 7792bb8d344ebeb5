"""`stationary codesign`: prune and quantize a real model, measure accuracy on held-out data, model the energy."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from stationary.api.codesign import codesign as run_codesign
from stationary.cli import app
from stationary.cli.common import JsonOption, out_console, print_json


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
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(f"{model}: checking", total=None)
        result = run_codesign(model, dataset=dataset, arch=arch, prune=prune, bits=bits, method=method,
                              quant=scheme if scheme is not None else quant, huffman=huffman,
                              log_activations=log_activations, decompose=decompose, rank=rank,
                              distill_from=distill_from, zero=zero, seed=seed,
                              progress=lambda k, n: progress.update(
                                  task, completed=k, total=n, description=f"{model}: training, then {n} points"))
    if plot:
        result.plot(plot)
    if as_json:
        print_json(result.to_json(detail))
        return
    report = result.report
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

