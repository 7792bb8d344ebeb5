"""Read a Timeloop v0.4 architecture (`nodes` with !Container / !Component / !Parallel) into an Architecture.

As Timeloop's v0.4 front end does, a container with a `spatial` mesh becomes a virtual storage level
`inter_<container>_spatial` that holds nothing and costs nothing; mapping directives may target it or the
container's name. Parallel components (e.g. separate per-PE scratchpads) become consecutive levels; each keeps
only the data spaces its own `dataspace` constraint keeps (timeloopfe's rule) and a data space kept by two
branches of one `!Parallel` is an error.

Every constraint written inside a node (`constraints: {temporal, spatial, dataspace, max_overbooked_proportion}`)
applies to that node's level and travels with the architecture (`TimeloopArchitecture.constraints`), so the
mapper obeys it. Keys are checked: an unknown node key, attribute or constraint key is one error naming the
nearest known one (the accepted attribute names: `ATTRIBUTES_USED`, `ATTRIBUTES_NEUTRAL`, `ATTRIBUTES_ENERGY`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stationary.arch.ert import EnergyTable
from stationary.arch.spec import ActionEnergy, Architecture, ComputeUnit, StorageLevel
from stationary.errors import StationaryError
from stationary.mapping.constraints import Constraint, constraint_from_dict, constraints_from_data
from stationary.schema import MAX_INT, check_keys, short_repr
from stationary.yamlio import load_yaml

COMPUTE_CLASS = re.compile(r"mac|mult|alu|adder|compute", re.IGNORECASE)

#: attributes the model reads
ATTRIBUTES_USED = ("depth", "entries", "sizeKB", "width", "datawidth", "word_bits", "block_size",
                   "read_bandwidth", "write_bandwidth", "global_cycle_seconds", "technology")
#: Timeloop attributes the model does not follow: accepted only at the value that changes nothing
ATTRIBUTES_NEUTRAL = {"multiple_buffering": 1, "cluster_size": 1, "allow_overbooking": False,
                      "min_utilization": 0, "reduction_supported": True}
#: Accelergy attributes that only shape the energy table (the ERT already holds their effect)
ATTRIBUTES_ENERGY = ("n_banks", "n_rdwr_ports", "n_rd_ports", "n_wr_ports", "latency", "type", "update_fifo_depth",
                     "has_power_gating", "power_gated_at", "memory_width", "memory_depth", "multiplier_width",
                     "adder_width", "n_bits", "precision", "version")
ATTRIBUTES = (*ATTRIBUTES_USED, *ATTRIBUTES_NEUTRAL, *ATTRIBUTES_ENERGY)
CONTAINER_KEYS = ("name", "attributes", "spatial", "constraints", "_tag")
COMPONENT_KEYS = ("name", "class", "attributes", "spatial", "constraints", "required_actions", "enabled", "_tag")
PARALLEL_KEYS = ("nodes", "_tag")
INLINE_KINDS = ("temporal", "spatial", "dataspace", "max_overbooked_proportion")


@dataclass(frozen=True)
class TimeloopArchitecture(Architecture):
    """An Architecture read from a Timeloop spec, with the constraints written inside its nodes."""

    constraints: tuple[Constraint, ...] = ()
    parallel_groups: tuple[tuple[str, ...], ...] = ()  # level names of each !Parallel node's branches


def load_timeloop_arch(path: str | Path, ert: EnergyTable | None) -> Architecture:
    """Parse a Timeloop v0.4 arch file; energies come from the ERT (required for a Timeloop spec)."""
    file = str(path)
    return arch_from_dict(load_yaml(path), ert, file, name=Path(path).stem)


@dataclass
class _Node:
    """One flattened node, with the `!Parallel` group it belongs to (None: not in one)."""

    data: dict
    where: str
    group: int | None


def _flatten(nodes: Any, file: str, where: str, out: list[_Node], group: int | None = None) -> list[_Node]:
    if not isinstance(nodes, list):
        raise StationaryError(f"expected a list of nodes, got {short_repr(nodes)}", file=file, field=where)
    for i, node in enumerate(nodes):
        w = f"{where}[{i}]"
        if not isinstance(node, dict):
            raise StationaryError(f"expected a !Container/!Component/!Parallel node, got {short_repr(node)}",
                                  file=file, field=w)
        if node.get("_tag") in ("Parallel", "Hierarchical") or ("nodes" in node and "name" not in node):
            check_keys(node, PARALLEL_KEYS, file, w)
            if "nodes" not in node:
                raise StationaryError("missing `nodes:`", file=file, field=w)
            sub = len(out) if node.get("_tag") == "Parallel" else group
            _flatten(node["nodes"], file, f"{w}.nodes", out, sub)
        else:
            out.append(_Node(node, w, group))
    return out


def arch_from_dict(data: Any, ert: EnergyTable | None, file: str = "<arch>", name: str = "arch") -> Architecture:
    check_keys(data, ("architecture", "architecture_constraints", "compound_components"), file, "")
    arch = data.get("architecture")
    check_keys(arch, ("version", "nodes", "subtree"), file, "architecture")
    if "subtree" in arch:
        raise StationaryError("the v0.3 `subtree` layout is not supported; use v0.4 `nodes`", file=file,
                              field="architecture.subtree")
    if "nodes" not in arch:
        raise StationaryError("missing `nodes:`", file=file, field="architecture")
    nodes = _flatten(arch["nodes"], file, "architecture.nodes", [])
    mx = my = 1
    levels: list[StorageLevel] = []
    aliases: list[tuple[str, int]] = []
    constraints: list[Constraint] = []
    group_keeps: dict[int, dict[str, str]] = {}
    compute: ComputeUnit | None = None
    clock_mhz, technology = 1000.0, ""
    for node in nodes:
        raw, where = node.data, node.where
        is_container = raw.get("_tag") == "Container" or "class" not in raw
        check_keys(raw, CONTAINER_KEYS if is_container else COMPONENT_KEYS, file, where)
        node_name = raw.get("name")
        if not isinstance(node_name, str) or not node_name:
            raise StationaryError("each node needs a `name`", file=file, field=f"{where}.name")
        attrs = _attributes(raw.get("attributes"), file, f"{where}.attributes")
        if "global_cycle_seconds" in attrs:
            seconds = _number(attrs["global_cycle_seconds"], file, f"{where}.attributes.global_cycle_seconds")
            if not 0 < seconds < 1:
                raise StationaryError(f"global_cycle_seconds must be in (0, 1) s, got {seconds}", file=file,
                                      field=f"{where}.attributes.global_cycle_seconds")
            clock_mhz = 1e-6 / seconds
        if "technology" in attrs:
            technology = str(attrs["technology"])
        spatial = raw.get("spatial", {})
        check_keys(spatial, ("meshX", "meshY"), file, f"{where}.spatial")
        nx = _int(spatial.get("meshX", 1), file, f"{where}.spatial.meshX")
        ny = _int(spatial.get("meshY", 1), file, f"{where}.spatial.meshY")
        inline = raw.get("constraints", {})
        check_keys(inline, INLINE_KINDS, file, f"{where}.constraints")
        own = [constraint_from_dict(c, file, f"{where}.constraints.{kind}", target=node_name, kind=kind)
               for kind, c in inline.items()]
        if is_container:
            if "spatial" in raw and nx * ny > 1:
                aliases.append((node_name, len(levels)))
                levels.append(StorageLevel(f"inter_{node_name}_spatial", depth=0, instances=mx * my, mesh_x=mx,
                                           mesh_y=my, virtual=True, cls="virtual", word_bits=8))
                constraints.extend(own)
            elif own:
                raise StationaryError(f"container {node_name} has no spatial mesh, so no level its constraints "
                                      f"could apply to", file=file, field=f"{where}.constraints")
            mx, my = mx * nx, my * ny
            continue
        if compute is not None:
            raise StationaryError("the compute component must be the last node", file=file, field=where)
        mx, my = mx * nx, my * ny
        cls = raw["class"]
        if not isinstance(cls, str) or not cls:
            raise StationaryError(f"`class` must be a name, got {short_repr(cls)}", file=file, field=f"{where}.class")
        if COMPUTE_CLASS.search(cls):
            if own:
                raise StationaryError("a compute component takes no constraints", file=file,
                                      field=f"{where}.constraints")
            energy = ert.compute(node_name) if ert else 0.0
            bits_key = next((k for k in ("datawidth", "multiplier_width", "width") if k in attrs), None)
            bits = _int(attrs[bits_key], file, f"{where}.attributes.{bits_key}") if bits_key else 16
            compute = ComputeUnit(node_name, mx * my, mx, my, energy_pj=energy, word_bits=bits)
            continue
        level = _storage(node_name, cls, attrs, mx, my, ert, file, where)
        keep, bypass, keep_only = _dataspace(own)
        if node.group is not None:  # a !Parallel branch keeps only what it says it keeps
            owners = group_keeps.setdefault(node.group, {})
            for t in keep or frozenset():
                if t in owners:
                    raise StationaryError(f"data space {t} is kept in two branches of one !Parallel node "
                                          f"({owners[t]} and {node_name}); each may be kept in one branch only",
                                          file=file, field=f"{where}.constraints.dataspace")
                owners[t] = node_name
            keep_only = keep or frozenset()
            own = [c for c in own if c.kind != "dataspace"] + [Constraint(
                node_name, "dataspace", keep=keep_only, bypass=bypass, keep_only=True,
                source=f"{file}: {where} (a !Parallel branch keeps only its own data spaces)")]
        levels.append(StorageLevel(
            **level, keep_always=keep or frozenset(), bypass_always=bypass, keep_only=keep_only))
        constraints.extend(own)
    if compute is None:
        raise StationaryError("no compute component (class intmac/mac/...) found", file=file,
                              field="architecture.nodes")
    if "architecture_constraints" in data:
        constraints.extend(constraints_from_data({"architecture_constraints": data["architecture_constraints"]},
                                                 file))
    try:
        groups = tuple(tuple(n.data["name"] for n in nodes if n.group == g and "class" in n.data)
                       for g in sorted({n.group for n in nodes if n.group is not None}))
        return TimeloopArchitecture(name, tuple(levels), compute, clock_mhz=clock_mhz, technology=technology,
                                    spatial_aliases=tuple(aliases), constraints=tuple(constraints),
                                    parallel_groups=groups)
    except StationaryError as exc:
        raise StationaryError(exc.message, file=file, field=exc.field) from None


def _attributes(attrs: Any, file: str, where: str) -> dict[str, Any]:
    """The attributes mapping, every name known, every neutral one at its neutral value."""
    attrs = {} if attrs is None else attrs
    check_keys(attrs, ATTRIBUTES, file, where)
    for key, neutral in ATTRIBUTES_NEUTRAL.items():
        if key in attrs and attrs[key] != neutral:
            raise StationaryError(f"{key}: {short_repr(attrs[key])} is not modelled; only {neutral!r} (its "
                                  f"default) is accepted", file=file, field=f"{where}.{key}")
    return attrs


def _storage(name: str, cls: str, attrs: dict[str, Any], mx: int, my: int, ert: EnergyTable | None, file: str,
             where: str) -> dict[str, Any]:
    """The StorageLevel fields of one storage component (sizes in words, `block_size` = width / datawidth)."""
    a = f"{where}.attributes"
    if "datawidth" in attrs and "word_bits" in attrs:
        raise StationaryError("give datawidth or word_bits, not both", file=file, field=a)
    bits_key = "datawidth" if "datawidth" in attrs else "word_bits"
    word_bits = _int(attrs.get(bits_key, attrs.get("width", 8)), file, f"{a}.{bits_key}")
    width = _int(attrs.get("width", word_bits), file, f"{a}.width")
    if "block_size" in attrs:
        block = _int(attrs["block_size"], file, f"{a}.block_size")
    else:
        if width % word_bits:
            raise StationaryError(f"width {width} is not a multiple of datawidth {word_bits}; give block_size",
                                  file=file, field=f"{a}.width")
        block = width // word_bits
    given = [k for k in ("depth", "entries", "sizeKB") if k in attrs]
    if len(given) > 1:
        raise StationaryError(f"give one of depth, entries, sizeKB, not {given}", file=file, field=a)
    depth: int | None = None
    if given == ["depth"]:
        depth = _int(attrs["depth"], file, f"{a}.depth", lo=0)
    elif given:
        words = (_int(attrs["entries"], file, f"{a}.entries", lo=0) if given == ["entries"] else
                 _words_from_kb(attrs["sizeKB"], word_bits, file, f"{a}.sizeKB"))
        if words % block:
            raise StationaryError(f"{words} words is not a whole number of {block}-word rows", file=file,
                                  field=f"{a}.{given[0]}")
        depth = words // block
    return {"name": name, "depth": depth, "block_size": block, "word_bits": word_bits, "instances": mx * my,
            "mesh_x": mx, "mesh_y": my, "energy": ert.storage(name) if ert else ActionEnergy(),
            "read_bandwidth": _bw(attrs.get("read_bandwidth"), file, f"{a}.read_bandwidth"),
            "write_bandwidth": _bw(attrs.get("write_bandwidth"), file, f"{a}.write_bandwidth"), "cls": cls}


def _words_from_kb(value: Any, word_bits: int, file: str, field: str) -> int:
    kb = _number(value, file, field)
    words = kb * 1024 * 8 / word_bits
    if not words >= 0 or words != int(words) or words > MAX_INT:
        raise StationaryError(f"sizeKB {kb} is not a whole number of {word_bits}-bit words", file=file, field=field)
    return int(words)


def _dataspace(own: list[Constraint]) -> tuple[frozenset[str] | None, frozenset[str], frozenset[str] | None]:
    """(must keep, must bypass, keep only) of a component from its inline dataspace constraint."""
    ds = [c for c in own if c.kind == "dataspace"]
    if not ds:
        return None, frozenset(), None
    c = ds[0]
    keep = None if c.keep is None else frozenset(c.keep - {"*"})
    return keep, c.bypass, keep if c.keep_only else None


def _int(value: Any, file: str, field: str, lo: int = 1) -> int:
    """An integer in [lo, 2^40]: no booleans, no 2.5, no strings."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise StationaryError(f"expected an integer, got {short_repr(value)}", file=file, field=field)
    if not lo <= value <= MAX_INT:
        raise StationaryError(f"expected an integer from {lo} to {MAX_INT}, got {value}", file=file, field=field)
    return value


def _number(value: Any, file: str, field: str) -> float:
    """A finite number; YAML 1.1 reads `1e-9` (no dot) as a string, so a numeric string is accepted."""
    if isinstance(value, bool):
        raise StationaryError(f"expected a number, got {value!r}", file=file, field=field)
    if isinstance(value, str) and len(value) <= 40:
        try:
            value = float(value)
        except ValueError:
            pass
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise StationaryError(f"expected a finite number, got {short_repr(value)}", file=file, field=field)
    return float(value)


def _bw(value: Any, file: str, field: str) -> float | None:
    if value is None:
        return None
    v = _number(value, file, field)
    if not 0 < v <= 1e18:
        raise StationaryError(f"bandwidth must be a positive number of words per cycle, got {v}", file=file,
                              field=field)
    return v
