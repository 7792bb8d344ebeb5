"""What each token of an LLM inference step costs on an architecture: the mapper's best mapping per distinct
layer shape (as `evaluate` does), bytes moved by kind (weights, KV cache, activations), energy, time, the
roofline verdict per operator, and the physical limit tokens/s <= DRAM bandwidth / bytes that must be read.

Layers run one after another, each reading its operands from and writing its result to DRAM (the mapper's
model of a layer). Non-MAC operators (norms, softmax, activations, RoPE, residual adds) are taken as fused
with their producer on a vector unit that overlaps the MAC array: they add their operations' energy (one MAC's
energy per operation) but no time and no DRAM traffic. Embedding lookups read their table rows from DRAM at
the DRAM's bandwidth and energy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from stationary.arch.components.stacked_dram import words_per_cycle
from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.mapper.network import LayerPlan, dram_words, map_network
from stationary.mapper.search import SearchOptions
from stationary.workload.llm.blocks import ACTIVATION, KV_CACHE, WEIGHT, Operator
from stationary.workload.llm.phases import LLMWorkload, mac_operators
from stationary.workload.network import Network

ROLES = (WEIGHT, KV_CACHE, ACTIVATION)


def with_dram_bandwidth(arch: Architecture, gbps: float | None) -> Architecture:
    """The architecture with its DRAM read and write bandwidth set to `gbps` (GB/s), or as it is when None."""
    if gbps is None:
        return arch
    if not isinstance(gbps, (int, float)) or not 0 < gbps < 1e9:
        raise StationaryError(f"DRAM bandwidth must be a positive number of GB/s, got {gbps!r}", field="--dram-gbps")
    w = words_per_cycle(float(gbps), arch.clock_mhz, arch.levels[0].word_bits)
    return arch.with_level(0, read_bandwidth=w, write_bandwidth=w)


def dram_bytes_per_s(arch: Architecture) -> float:
    """The outermost level's read bandwidth in bytes per second (needed for tokens/s and its limit)."""
    top = arch.levels[0]
    if top.read_bandwidth is None:
        raise StationaryError(f"architecture {arch.name} gives its {top.name} no bandwidth, so tokens/s have no "
                              f"limit; pass --dram-gbps (or use a preset with one, e.g. tpu_v4_like)",
                              field="--dram-gbps")
    return top.read_bandwidth * top.word_bits / 8 * arch.clock_mhz * 1e6


def ridge_macs_per_byte(arch: Architecture) -> float:
    """Where the roofline bends: peak MACs per second over DRAM bytes per second."""
    return arch.compute.instances * arch.clock_mhz * 1e6 / dram_bytes_per_s(arch)


def map_steps(steps: Sequence[LLMWorkload], arch: Architecture, dataflow: str = "free",
              options: SearchOptions | None = None, jobs: int | None = None,
              progress: Callable[[int, int], None] | None = None) -> list[list[LayerPlan]]:
    """The best mapping of every MAC operator of every step, each distinct shape searched once over all steps."""
    layers = []
    for k, step in enumerate(steps):
        layers += [replace(o.layer, name=f"{k}/{o.layer.name}", inputs=()) for o in mac_operators(step)]
    plans = map_network(Network("steps", tuple(layers)), arch, dataflow, options, jobs=jobs, progress=progress)
    out, start = [], 0
    for step in steps:
        n = len(mac_operators(step))
        out.append(plans[start:start + n])
        start += n
    return out


def _operator_cost(o: Operator, plan: LayerPlan | None, arch: Architecture) -> dict[str, Any]:
    """Per-step energy, cycles and DRAM bytes by role of one operator (a mapped MAC layer or a non-MAC one)."""
    top = arch.levels[0]
    word_bytes = top.word_bits / 8
    moved = dict.fromkeys(ROLES, 0.0)
    if plan is not None:
        r = plan.found.result
        for tensor, words in dram_words(r).items():
            moved[o.role(tensor)] += words * word_bytes
        return {"macs": r.macs, "other_ops": 0, "energy_pj": r.energy_pj, "cycles": r.cycles,
                "compute_cycles": r.compute_cycles, "bytes": moved}
    energy = o.layer.other_ops * arch.compute.energy_pj
    cycles = 0
    if o.lookup_elements:
        moved[WEIGHT] = o.lookup_elements * word_bytes
        energy += math.ceil(o.lookup_elements / top.block_size) * top.energy.read_pj
        cycles = math.ceil(o.lookup_elements / top.read_bandwidth) if top.read_bandwidth else 0
    return {"macs": 0, "other_ops": o.layer.other_ops, "energy_pj": energy, "cycles": cycles, "compute_cycles": 0,
            "bytes": moved}


def step_costs(step: LLMWorkload, plans: list[LayerPlan], arch: Architecture) -> dict[str, Any]:
    """The step's cost per token (the JSON contract of `stationary llm`), with one row per operator kind."""
    macs_ops = mac_operators(step)
    if len(plans) != len(macs_ops):
        raise StationaryError(f"{len(plans)} mappings for {len(macs_ops)} MAC operators")
    by_layer = {o.layer.name: p for o, p in zip(macs_ops, plans)}
    bandwidth = dram_bytes_per_s(arch)
    clock_hz = arch.clock_mhz * 1e6
    ridge = ridge_macs_per_byte(arch)
    rows: dict[str, dict[str, Any]] = {}
    for o in step.operators:
        c = _operator_cost(o, by_layer.get(o.layer.name), arch)
        row = rows.setdefault(o.op, {"name": o.op, "kind": o.layer.kind.value, "count": 0, "macs": 0,
                                     "other_ops": 0, "energy_pj": 0.0, "cycles": 0, "compute_cycles": 0,
                                     "bytes": dict.fromkeys(ROLES, 0.0)})
        row["count"] += 1
        for key in ("macs", "other_ops", "energy_pj", "cycles", "compute_cycles"):
            row[key] += c[key]
        for role in ROLES:
            row["bytes"][role] += c["bytes"][role]
    n = step.tokens
    layers = []
    for row in rows.values():
        dram = sum(row["bytes"].values())
        intensity = row["macs"] / dram if dram else math.inf
        if row["macs"] == 0 and dram == 0:
            bound = "fused"
        else:
            bound = "compute" if intensity >= ridge else "bandwidth"
        layers.append({
            "name": row["name"], "kind": row["kind"], "count": row["count"],
            "macs_per_token": row["macs"] / n, "other_ops_per_token": row["other_ops"] / n,
            "energy_pj_per_token": row["energy_pj"] / n, "seconds_per_token": row["cycles"] / clock_hz / n,
            "weight_bytes_per_token": row["bytes"][WEIGHT] / n,
            "kv_cache_bytes_per_token": row["bytes"][KV_CACHE] / n,
            "activation_bytes_per_token": row["bytes"][ACTIVATION] / n,
            "utilization": (row["macs"] / (row["cycles"] * arch.compute.instances) if row["cycles"] else 0.0),
            "macs_per_dram_byte": intensity if dram else None, "bound": bound})
    cycles = sum(r["cycles"] for r in rows.values())
    seconds = cycles / clock_hz
    word_bytes = arch.levels[0].word_bits / 8
    dram = sum(sum(r["bytes"].values()) for r in rows.values())
    total = {
        "macs_per_token": step.macs / n,
        "energy_pj_per_token": sum(r["energy_pj"] for r in rows.values()) / n,
        "seconds_per_token": seconds / n,
        "tokens_per_s": n / seconds if seconds else math.inf,
        "dram_bytes_per_token": dram / n,
        "kv_cache_bytes": step.kv_cache_elements * word_bytes,
        "bandwidth_bound_tokens_per_s": n * bandwidth / (step.compulsory_read_elements * word_bytes),
    }
    return {"model": step.config.name, "phase": step.phase, "seq": step.seq, "batch": step.batch,
            "arch": arch.name, "layers": layers, "total": total}
