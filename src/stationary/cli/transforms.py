"""`stationary transforms MODEL` and `stationary transforms bench`: computation transforms per layer.

A command group whose first word is either a subcommand (`bench`, `model`) or a model: `transforms vgg16`
is read as `transforms model vgg16`, so the literal `bench` is never taken for a model name. A model file
really named `bench` is reachable as `transforms model bench` (or `./bench`).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperGroup

from stationary.cli import app
from stationary.cli.common import JsonOption, out_console, parse_shape, print_json
from stationary.transforms.bench import bench as run_bench
from stationary.transforms.methods import DEFAULT_METHODS, Options
from stationary.transforms.roofline import measure_cpu, measure_gpu
from stationary.transforms.select import LayerResult, evaluate_network
from stationary.transforms.strassen import DEFAULT_CUTOFF
from stationary.workload.load import load_network


class _ModelOrCommand(TyperGroup):
    """A group whose first argument, when it is not a subcommand, is the MODEL of `model`."""

    # typer's stubs type ctx as its vendored click Context, of which typer.Context is the subclass it passes
    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["model", *args]
        return super().parse_args(ctx, args)


transforms_app = typer.Typer(
    cls=_ModelOrCommand, no_args_is_help=True,
    help="Toeplitz (im2col), Winograd, FFT and Strassen per layer: counted, checked, timed. "
         "`transforms MODEL` reports a network; `transforms bench` compares the kernels with PyTorch.",
)
app.add_typer(transforms_app, name="transforms")


def _methods(text: str | None) -> tuple[str, ...]:
    return tuple(m.strip() for m in text.split(",") if m.strip()) if text else DEFAULT_METHODS


def _si(v: float | None) -> str:
    if v is None:
        return "-"
    for div, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:.2f}{suffix}"
    return f"{v:.3g}"


@transforms_app.command("model")
def model_cmd(
    model: Annotated[str, typer.Argument(help="zoo name, .onnx file, or path/to/file.py:factory")],
    batch: Annotated[int, typer.Option(help="batch size N the counts are for")] = 1,
    input_shape: Annotated[str | None, typer.Option(help="input shape for imported models, e.g. 1,3,224,224")] = None,
    method: Annotated[str | None, typer.Option(
        help="comma-separated methods (direct, im2col, strassen, fft, winograd-<m>); every selected layer "
             "must support each named method")] = None,
    layer: Annotated[list[str] | None, typer.Option(help="only this layer (repeatable)")] = None,
    dtype: Annotated[str, typer.Option(help="float64, float32 or float16 (bytes, error, timing)")] = "float32",
    measure: Annotated[bool, typer.Option("--measure/--no-measure",
                                          help="run each method to measure error and seconds")] = True,
    slice_channels: Annotated[int, typer.Option(help="timed slice: at most this many channels per group")] = 16,
    repeats: Annotated[int, typer.Option(help="timing runs per method (best is kept)")] = 3,
    budget: Annotated[float, typer.Option(help="seconds of timing per method and layer before stopping")] = 2.0,
    strassen_cutoff: Annotated[int, typer.Option(help="Strassen falls back to GEMM at this size")] = DEFAULT_CUTOFF,
    roofline: Annotated[bool, typer.Option("--roofline/--no-roofline", help="measure and place on a roofline")] = True,
    detail: Annotated[bool, typer.Option(help="one row per layer and method")] = False,
    as_json: JsonOption = False,
) -> None:
    """Per layer: multiplications, additions, workspace, error and seconds of every method, and the best."""
    net = load_network(model, batch=batch, input_shape=parse_shape(input_shape))
    import numpy as np

    from stationary.transforms.select import DTYPES

    roof = measure_cpu(DTYPES.get(dtype, np.float32)) if roofline else None
    gpu = measure_gpu() if roofline else None
    opts = Options(strassen_cutoff=strassen_cutoff)
    gen = evaluate_network(net, _methods(method), dtype, measure=measure, slice_channels=slice_channels,
                           repeats=repeats, budget_s=budget, layers=tuple(layer or ()), roofline=roof,
                           options=opts, strict=method is not None)
    results: list[LayerResult] = []
    total = len([m for m in net.mac_layers() if not layer or m.name in layer])
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(f"{net.name}: transforms", total=total)
        for res in gen:
            results.append(res)
            progress.update(task, advance=1, description=f"{net.name}: {res.name}")
    if as_json:
        out: dict[str, Any] = {
            "model": net.name, "batch": batch, "dtype": dtype, "measured": measure,
            "timing_note": "max_abs_error and seconds are measured on timed_slice (N<=1, channels <= "
                           f"{slice_channels} per group); counts are for the full layer",
            "roofline": roof.to_json() if roof else None, "gpu_roofline": gpu.to_json() if gpu else None,
            "layers": [r.to_json() for r in results]}
        print_json(out)
        return
    _print(net.name, results, detail, roof, gpu, slice_channels, measure)


def _print(name: str, results: list[LayerResult], detail: bool, roof: Any, gpu: Any, channels: int,
           measured: bool) -> None:
    console = out_console()
    if detail:
        t = Table(title=f"{name}: methods per layer (counts: full layer; error and seconds: slice)")
        for col in ("layer", "method", "mults", "const mults", "adds", "workspace B", "max |err|", "seconds",
                    "bound"):
            t.add_column(col, justify="left" if col in ("layer", "method", "bound") else "right")
        for r in results:
            for m, mr in r.methods.items():
                c = mr.counts
                t.add_row(r.name, m, _si(c.multiplications), _si(c.transform_multiplications), _si(c.additions),
                          _si(c.workspace_bytes), "-" if mr.max_abs_error is None else f"{mr.max_abs_error:.1e}",
                          "-" if mr.seconds is None else f"{mr.seconds:.4f}", str(mr.roofline.get("bound", "-")))
        console.print(t)
    t = Table(title=f"{name}: best method per layer")
    for col in ("layer", "shape", "by total ops", "by mults", "by seconds (slice)", "not applicable"):
        t.add_column(col)
    for r in results:
        t.add_row(r.name, r.shape, r.best_by_ops or "-", r.best_by_multiplications or "-",
                  r.best_by_time or "-", ", ".join(r.not_applicable) or "")
    console.print(t)
    if measured:
        console.print(f"error and seconds measured on a slice: batch 1, at most {channels} channels per group")
    for rf in (roof, gpu):
        if rf is not None:
            console.print(f"roofline {rf.device}: {rf.peak_macs_per_s / 1e9:.1f} GMAC/s ({rf.dtype}), "
                          f"{rf.bandwidth_bytes_per_s / 1e9:.1f} GB/s, ridge {rf.ridge_macs_per_byte:.1f} MAC/B",
                          highlight=False)


@transforms_app.command("bench")
def bench_cmd(
    method: Annotated[str | None, typer.Option(help="comma-separated methods")] = None,
    dtype: Annotated[str, typer.Option(help="float32 or float64")] = "float32",
    repeats: Annotated[int, typer.Option(help="timing runs (best is kept)")] = 5,
    as_json: JsonOption = False,
) -> None:
    """Time each NumPy kernel and torch.nn.functional.conv2d on the same inputs; print the ratios."""
    import torch

    rows = run_bench(methods=_methods(method), dtype=dtype, repeats=repeats)
    if as_json:
        print_json({"dtype": dtype, "torch_threads": torch.get_num_threads(), "rows": [r.to_json() for r in rows]})
        return
    t = Table(title=f"NumPy kernels vs torch conv2d ({dtype}, torch threads {torch.get_num_threads()})")
    for col in ("layer", "method", "numpy s", "torch s", "numpy/torch", "max |err| vs torch"):
        t.add_column(col, justify="left" if col in ("layer", "method") else "right")
    for r in rows:
        t.add_row(r.layer, r.method, f"{r.numpy_seconds:.5f}", f"{r.torch_seconds:.5f}",
                  f"{r.ratio_vs_torch:.2f}x", f"{r.max_abs_error_vs_torch:.1e}")
    out_console().print(t)
