"""`stationary llm`: what each token of a transformer's prefill or decode costs on an architecture."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from stationary.arch.load import load_arch
from stationary.cli import app
from stationary.cli.common import (
    ArchOption,
    DataflowOption,
    JobsOption,
    JsonOption,
    ObjectiveOption,
    SeedOption,
    parse_shape,
    print_json,
)
from stationary.mapper.search import SearchOptions, check_objective


@app.command()
def llm(
    config: Annotated[str, typer.Argument(help="Hugging Face config.json (or its folder), or a shipped name: "
                                               "gpt2, llama3_8b, mistral_7b, mixtral_8x7b, bert_base, vit_b_16")],
    arch: ArchOption = "tpu_v4_like",
    phase: Annotated[str, typer.Option(help="prefill (L tokens) or decode (one token against a KV cache of L)")]
    = "prefill",
    seq: Annotated[int | None, typer.Option(help="sequence length L (ViT: fixed by the image)")] = None,
    batch: Annotated[int, typer.Option(help="sequences per step B")] = 1,
    logits: Annotated[str, typer.Option(help="prefill LM head over all positions or the last only")] = "all",
    dram_gbps: Annotated[float | None, typer.Option(help="DRAM bandwidth in GB/s (default: the arch's)")] = None,
    dataflow: DataflowOption = "free",
    objective: ObjectiveOption = "edp",
    budget: Annotated[int, typer.Option(help="fast-model evaluations per distinct layer shape")] = 5_000,
    seed: SeedOption = 0,
    jobs: JobsOption = None,
    sweep_seq: Annotated[str | None, typer.Option(help="sweep these lengths, e.g. 128,512,2048")] = None,
    sweep_batch: Annotated[str | None, typer.Option(help="sweep these batch sizes, e.g. 1,16")] = None,
    plot: Annotated[str | None, typer.Option(help="write energy/token and tokens/s vs L and B here (PNG)")] = None,
    as_json: JsonOption = False,
) -> None:
    """MACs, bytes moved (weights, KV cache, activations), energy, latency and tokens/s per token; the roofline
    verdict per operator and how close decode gets to DRAM bandwidth / bytes that must be read per token."""
    from stationary.inference.cost import dram_bytes_per_s, map_steps, step_costs, with_dram_bandwidth
    from stationary.workload.llm import build_step, load_config

    objective = check_objective(objective)
    if budget < 1:
        from stationary.errors import StationaryError

        raise StationaryError(f"budget must be a positive number of evaluations, got {budget}", field="--budget")
    cfg = load_config(config)
    architecture = with_dram_bandwidth(load_arch(arch), dram_gbps)
    dram_bytes_per_s(architecture)  # tokens/s need a DRAM bandwidth: refuse before any mapping
    seqs = parse_shape(sweep_seq, "--sweep-seq") or (seq,)
    batches = parse_shape(sweep_batch, "--sweep-batch") or (batch,)
    steps = [build_step(cfg, phase, s, b, logits) for s in seqs for b in batches]
    err = Console(stderr=True, soft_wrap=True)
    for w in {m for step in steps for m in step.warnings}:
        err.print(f"[yellow]warning:[/] {w}", highlight=False)
    start = time.perf_counter()
    # the budget bounds every shape's search: enumerate a space only when it fits the budget
    options = SearchOptions(objective=objective, seed=seed, budget=budget, batch=min(2048, budget),
                            exhaustive_limit=budget)
    with Progress(console=err, transient=True, disable=as_json) as bar:
        task = bar.add_task(f"mapping {cfg.name} ({phase})", total=None)
        all_plans = map_steps(steps, architecture, dataflow, options, jobs,
                              progress=lambda k, n: bar.update(task, completed=k, total=n))
    results = [step_costs(w, p, architecture) for w, p in zip(steps, all_plans)]
    wall = time.perf_counter() - start
    shapes = sum(not p.cached for plans in all_plans for p in plans)
    if plot:
        from stationary.inference.plot import plot_sweep

        plot_sweep(results, plot)
    if as_json:
        print_json(results[0] if len(results) == 1 else {"model": cfg.name, "phase": phase, "arch": architecture.name,
                                                         "points": results})
        return
    console = Console()
    if len(results) == 1:
        _print_layers(console, results[0])
    _print_totals(console, results)
    console.print(f"{shapes} distinct layer shapes mapped ({objective}, budget {budget:,} each) in {wall:.1f} s")


def _g(v: float) -> str:
    """A compact number: 3 significant digits with thousands separators."""
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def _print_layers(console: Console, r: dict[str, Any]) -> None:
    t = Table(title=f"{r['model']} {r['phase']} L={r['seq']} B={r['batch']} on {r['arch']}, per token "
                    "(W/KV/A: weight, KV-cache, activation bytes from DRAM)")
    for col in ("operator", "n", "MMAC", "µJ", "µs", "W kB", "KV kB", "A kB", "util", "MAC/B", "bound"):
        t.add_column(col, justify="left" if col in ("operator", "bound") else "right",
                     no_wrap=col in ("operator", "bound"))
    for row in r["layers"]:
        intensity = row["macs_per_dram_byte"]
        t.add_row(row["name"], str(row["count"]), _g(row["macs_per_token"] / 1e6),
                  _g(row["energy_pj_per_token"] * 1e-6), _g(row["seconds_per_token"] * 1e6),
                  _g(row["weight_bytes_per_token"] / 1e3), _g(row["kv_cache_bytes_per_token"] / 1e3),
                  _g(row["activation_bytes_per_token"] / 1e3),
                  f"{row['utilization']:.0%}", "-" if intensity is None else _g(intensity), row["bound"])
    console.print(t)


def _print_totals(console: Console, results: list[dict[str, Any]]) -> None:
    t = Table(title="per token" if len(results) == 1 else f"{results[0]['model']} {results[0]['phase']} sweep "
                    f"on {results[0]['arch']} (per token)")
    for col in ("L", "B", "GMAC", "mJ", "ms", "tokens/s", "limit", "%limit", "DRAM MB", "KV MB"):
        t.add_column(col, justify="right")
    for r in results:
        x = r["total"]
        t.add_row(str(r["seq"]), str(r["batch"]), _g(x["macs_per_token"] / 1e9), _g(x["energy_pj_per_token"] * 1e-9),
                  _g(x["seconds_per_token"] * 1e3), _g(x["tokens_per_s"]), _g(x["bandwidth_bound_tokens_per_s"]),
                  f"{x['tokens_per_s'] / x['bandwidth_bound_tokens_per_s']:.1%}", _g(x["dram_bytes_per_token"] / 1e6),
                  _g(x["kv_cache_bytes"] / 1e6))
    console.print(t)
    console.print("per token: per step ÷ tokens in the step (B·L prefill, B decode: a decode step takes B times the "
                  "ms shown); limit: DRAM bandwidth ÷ bytes every token must read (weights used, embedding rows, and "
                  "in decode the KV cache)")
