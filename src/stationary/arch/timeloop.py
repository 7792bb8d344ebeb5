"""Read a Timeloop v0.4 architecture (`nodes` with !Container / !Component / !Parallel) into an Architecture.

As Timeloop's v0.4 front end does, a container with a `spatial` mesh becomes a virtual storage level
`inter_<container>_spatial` that holds nothing and costs nothing; mapping directives may target it or the
container's name. Parallel components (e.g. separate per-PE scratchpads) become consecutive levels.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from stationary.arch.ert import EnergyTable
from stationary.arch.spec import ActionEnergy, Architecture, ComputeUnit, StorageLevel
from stationary.errors import StationaryError
from stationary.yamlio import load_yaml, require

COMPUTE_CLASS = re.compile(r"mac|mult|alu|adder|compute", re.IGNORECASE)


def load_timeloop_arch(path: str | Path, ert: EnergyTable | None) -> Architecture:
    """Parse a Timeloop v0.4 arch file; energies come from the ERT (required for a Timeloop spec)."""
    file = str(path)
    return arch_from_dict(load_yaml(path), ert, file, name=Path(path).stem)


def _flatten(nodes: list, file: str, where: str) -> list[dict]:
    out: list[dict] = []
    for i, node in enumerate(nodes):
        if not isinstance(node, dict):
            raise StationaryError(f"expected a !Container/!Component node, got {node!r}", file=file,
                                  field=f"{where}[{i}]")
        if node.get("_tag") == "Parallel" or ("nodes" in node and "name" not in node):
            out.extend(_flatten(require(node, "nodes", file, list, f"{where}[{i}]"), file, f"{where}[{i}].nodes"))
        else:
            out.append(node)
    return out


def arch_from_dict(data: Any, ert: EnergyTable | None, file: str = "<arch>", name: str = "arch") -> Architecture:
    arch = require(data, "architecture", file, dict)
    if "subtree" in arch and "nodes" not in arch:
        raise StationaryError("the v0.3 `subtree` layout is not supported; use v0.4 `nodes`", file=file,
                              field="architecture.subtree")
    nodes = _flatten(require(arch, "nodes", file, list, "architecture"), file, "architecture.nodes")
    mx = my = 1
    levels: list[StorageLevel] = []
    aliases: list[tuple[str, int]] = []
    compute: ComputeUnit | None = None
    clock_mhz, technology = 1000.0, ""
    for i, node in enumerate(nodes):
        where = f"architecture.nodes[{i}]"
        node_name = str(require(node, "name", file, str, where))
        attrs = node.get("attributes") or {}
        if "global_cycle_seconds" in attrs:
            clock_mhz = 1e-6 / float(attrs["global_cycle_seconds"])
        technology = str(attrs.get("technology", technology))
        spatial = node.get("spatial") or {}
        nx, ny = _pos(spatial.get("meshX", 1), file, f"{where}.spatial.meshX"), \
            _pos(spatial.get("meshY", 1), file, f"{where}.spatial.meshY")
        if node.get("_tag") == "Container" or "class" not in node:
            if "spatial" in node:
                aliases.append((node_name, len(levels)))
                levels.append(StorageLevel(f"inter_{node_name}_spatial", depth=0, instances=mx * my, mesh_x=mx,
                                           mesh_y=my, virtual=True, cls="virtual", word_bits=8))
            mx, my = mx * nx, my * ny
            continue
        if compute is not None:
            raise StationaryError("the compute component must be the last node", file=file, field=where)
        mx, my = mx * nx, my * ny
        cls = str(node["class"])
        if COMPUTE_CLASS.search(cls):
            energy = ert.compute(node_name) if ert else 0.0
            bits = int(attrs.get("datawidth", attrs.get("multiplier_width", attrs.get("width", 16))))
            compute = ComputeUnit(node_name, mx * my, mx, my, energy_pj=energy, word_bits=bits)
            continue
        word_bits = _pos(attrs.get("datawidth", attrs.get("word_bits", attrs.get("width", 8))), file,
                         f"{where}.attributes.datawidth")
        width = _pos(attrs.get("width", word_bits), file, f"{where}.attributes.width")
        block = _pos(attrs.get("block_size", max(1, width // word_bits)), file, f"{where}.attributes.block_size")
        depth = attrs.get("depth")
        if depth is not None:
            depth = _pos(depth, file, f"{where}.attributes.depth", lo=0)
        must_keep, bypass = _dataspace_constraints(node.get("constraints"), file, where)
        levels.append(StorageLevel(
            node_name, depth=depth, block_size=block, word_bits=word_bits,
            instances=mx * my, mesh_x=mx, mesh_y=my,
            energy=ert.storage(node_name) if ert else ActionEnergy(),
            read_bandwidth=_bw(attrs.get("read_bandwidth"), file, f"{where}.attributes.read_bandwidth"),
            write_bandwidth=_bw(attrs.get("write_bandwidth"), file, f"{where}.attributes.write_bandwidth"),
            cls=cls, keep_always=must_keep or frozenset(), bypass_always=bypass,
        ))
    if compute is None:
        raise StationaryError("no compute component (class intmac/mac/...) found", file=file,
                              field="architecture.nodes")
    try:
        return Architecture(name, tuple(levels), compute, clock_mhz=clock_mhz, technology=technology,
                            spatial_aliases=tuple(aliases))
    except StationaryError as exc:
        raise StationaryError(exc.message, file=file, field=exc.field) from None


def _pos(value: Any, file: str, field: str, lo: int = 1) -> int:
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise StationaryError(f"expected an integer, got {value!r}", file=file, field=field) from None
    if v < lo or v > (1 << 40):
        raise StationaryError(f"expected an integer >= {lo}, got {v}", file=file, field=field)
    return v


def _bw(value: Any, file: str, field: str) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise StationaryError(f"expected a number of words per cycle, got {value!r}", file=file,
                              field=field) from None
    if not v > 0:
        raise StationaryError("bandwidth must be positive", file=file, field=field)
    return v


def _dataspace_constraints(constraints: Any, file: str, where: str) -> tuple[frozenset[str] | None, frozenset[str]]:
    ds = (constraints or {}).get("dataspace") if isinstance(constraints, dict) else None
    if not ds:
        return None, frozenset()
    keep = ds.get("keep")  # Timeloop: listed data spaces must be kept, listed bypasses must be bypassed
    return (frozenset(map(str, keep)) if keep is not None else None), frozenset(map(str, ds.get("bypass") or []))
