"""How far the heuristic search lands from each layer's bound, seed by seed, on eight layers where it spreads
most (docs/mapper.md "Descent"): found energy / layer energy bound per seed, the mean per layer and over all.

    python3 benchmarks/search_spread.py [--seeds 4] [--budget 20000] [--set descent_share=0] [--set ...]

`--set NAME=VALUE` overrides one `SearchOptions` field (an int, float or bool field, parsed as that type), so
two runs compare a change on the same seeds. Never run in CI (about a minute at the defaults).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from stationary.arch.load import load_arch
from stationary.errors import StationaryError
from stationary.mapper.bounds.layer import layer_bound
from stationary.mapper.search import SearchOptions, search
from stationary.workload.load import zoo_layer

CASES = (("alexnet", "conv2", "simba_like"), ("resnet50", "layer3_0_downsample", "simba_like"),
         ("resnet50", "layer2_0_downsample", "eyeriss"), ("vgg16", "conv3_2", "simba_like"),
         ("vgg16", "conv2_1", "eyeriss"), ("resnet50", "layer1_0_conv2", "simba_like"),
         ("resnet50", "layer3_0_conv1", "eyeriss"), ("vgg16", "conv4_1", "simba_like"))


def override(text: str) -> tuple[str, object]:
    """NAME=VALUE for a numeric or boolean SearchOptions field, VALUE parsed as the field's type."""
    name, _, value = text.partition("=")
    fields = {f.name: f for f in dataclasses.fields(SearchOptions)}
    default = getattr(SearchOptions(), name, None) if name in fields else None
    if not isinstance(default, (bool, int, float)):
        raise SystemExit(f"--set {text!r}: not a numeric or boolean SearchOptions field")
    if isinstance(default, bool):
        if value not in ("0", "1", "true", "false"):
            raise SystemExit(f"--set {text!r}: a boolean is 0, 1, true or false")
        return name, value in ("1", "true")
    try:
        return name, type(default)(value)
    except ValueError:
        raise SystemExit(f"--set {text!r}: {value!r} is not a {type(default).__name__}") from None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--budget", type=int, default=20_000)
    ap.add_argument("--set", action="append", default=[], type=override, metavar="NAME=VALUE")
    args = ap.parse_args()
    if args.seeds < 1 or args.budget < 1:
        raise SystemExit(f"--seeds and --budget are positive counts, got {args.seeds} and {args.budget}")
    opts = dataclasses.replace(SearchOptions(budget=args.budget), **dict(args.set))
    print(f"load average {os.getloadavg()[0]:.2f}; found / bound per seed 0..{args.seeds - 1}", flush=True)
    means = []
    for model, layer, arch_name in CASES:
        arch, nest = load_arch(arch_name), zoo_layer(model, layer).layers[0].loop_nest()
        bound = layer_bound(nest, arch, imperfect=False).energy_lower_bound_pj
        start = time.perf_counter()
        try:
            ratios = [search(nest, arch, [], dataclasses.replace(opts, seed=s)).result.energy_pj / bound
                      for s in range(args.seeds)]
        except StationaryError as err:  # an option --set out of range: one line, no traceback
            raise SystemExit(str(err)) from None
        means.append(sum(ratios) / len(ratios))
        print(f"{model}:{layer} / {arch_name}: " + " ".join(f"{r:.3f}" for r in ratios)
              + f"  mean {means[-1]:.3f}  {(time.perf_counter() - start) / args.seeds:.1f} s wall per seed",
              flush=True)
    print(f"mean over the layers {sum(means) / len(means):.4f}")


if __name__ == "__main__":
    main()
