"""The map space: every way to factor each dimension over the levels, order the loops, spread dims over the
mesh and keep or bypass tensors — within the constraints — as arrays the fast model scores in batches.

Pruning: factors are perfect (each dimension's factors multiply to its bound); a spatial factor never
exceeds its fan-out; virtual levels take no temporal loops; loop orders that give identical counts are
one (only the relative order of a loop irrelevant to a tensor and one relevant to it matters, plus the
order of two dims sharing a sliding-window axis); the outermost level keeps every tensor; a tile that
overflows its level is scored invalid (capacity first: the search never returns it).

Constraints (mapping/constraints.py) bound each slot's factors, fix innermost/outermost loops and mesh axes;
rules that tie dims together (a spatial permutation, a utilization minimum) are checked per row: sampling
draws rows that break them again, local moves that break them are undone. Work is bounded by what it
computes: factorizations walk divisors (never the integers up to a bound), and a dimension with more than
MAX_OPTIONS factorizations, or a level with more than MAX_ORDERS loop orders, gets a deterministic sample.

Imperfect factorizations (opt in: `imperfect=True`) add, per dimension of bound N, the Timeloop 3 remainder
rows (`D=n,r`, docs/counting-rules.md section 9) whose factors multiply to a padded product P with
N < P <= N + max(IMPERFECT_MIN_PAD, floor(N x IMPERFECT_PAD)): the loops (outermost first) run the mixed-radix
digits of N - 1, so each loop's tile is the product of the factors inside it and only the last global tile is
partial (55 as 5 x 3,2 x 4,3: tiles 12 and 4). Kept only where the loop walk counts them: a remainder sits on a
temporal loop, never on a spatial one, never inside a spatial loop of its dimension, never on the dimension's
outermost loop. At most IMPERFECT_OPTIONS such rows per dimension, least padding first (past it the dimension
counts as sampled: no certificate claims the whole space).
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.mapping.constraints import Constraint, LevelRules, arch_constraints, merge, min_utilization
from stationary.model.fast import IMPERFECT_ITERATIONS, MappingArrays
from stationary.workload.loopnest import LoopNest

MAX_OPTIONS = 200_000  # factorizations of one dimension listed as rows; above it a deterministic sample ...
SAMPLED_OPTIONS = 5_000  # ... of this many rows
MAX_DIVISORS_FOR_COUNT = 2_000  # the exact pre-flight count of bounded factorizations runs up to this
MAX_ORDERS = 40_320  # loop orders of one level enumerated (8!); above it a deterministic sample
IMPERFECT_PAD = 0.125  # imperfect rows: the padded product P of the factors is at most N + N x this ...
IMPERFECT_MIN_PAD = 2  # ... or N + this, whichever is larger
IMPERFECT_OPTIONS = 20_000  # imperfect rows of one dimension at most (least padding first)
SAMPLE_TRIES = 8  # rounds of re-drawing the rows of a sample that break an order/utilization rule


def primes(n: int) -> list[int]:
    """Prime factors of n with multiplicity, ascending (trial division up to sqrt(n): fine for n <= 2^40)."""
    out: list[int] = []
    for p in (2, 3):
        while n % p == 0:
            out.append(p)
            n //= p
    p = 5
    while n > 1 and p * p <= n:
        for q in (p, p + 2):  # 6k - 1, 6k + 1
            while n % q == 0:
                out.append(q)
                n //= q
        p += 6
    if n > 1:
        out.append(n)
    return out


@functools.lru_cache(maxsize=4096)
def divisors(n: int) -> tuple[int, ...]:
    """Every divisor of n, ascending, built from its prime factors (cost: the number of divisors)."""
    divs = [1]
    counts: dict[int, int] = {}
    for p in primes(n):
        counts[p] = counts.get(p, 0) + 1
    for p, e in counts.items():
        divs = [d * p ** j for d in divs for j in range(e + 1)]
    return tuple(sorted(divs))


def count_factorizations(n: int, k: int) -> int:
    """How many ordered k-tuples multiply to n (no bounds): the product over primes of C(e + k - 1, k - 1)."""
    counts: dict[int, int] = {}
    for p in primes(n):
        counts[p] = counts.get(p, 0) + 1
    return math.prod(math.comb(e + k - 1, k - 1) for e in counts.values()) if k else int(n == 1)


class TooMany(Exception):
    """More factorizations than the limit (internal: the caller samples instead)."""


def bounded_factorizations(n: int, bounds: list[tuple[int, int]], limit: int | None = None) -> list[tuple[int, ...]]:
    """Every tuple (f_1..f_k) with product n and lo_j <= f_j <= hi_j, by walking n's divisors (never the
    integers up to n); raises TooMany past `limit` rows."""
    out: list[tuple[int, ...]] = []
    k = len(bounds)
    # the largest product the slots from j on can still take: prunes dead ends early
    room = [1] * (k + 1)
    for j in range(k - 1, -1, -1):
        room[j] = min(room[j + 1] * bounds[j][1], n)

    def walk(rest: int, j: int, prefix: tuple[int, ...]) -> None:
        if j == k - 1:
            lo, hi = bounds[j]
            if lo <= rest <= hi:
                out.append((*prefix, rest))
                if limit is not None and len(out) > limit:
                    raise TooMany
            return
        lo, hi = bounds[j]
        for f in divisors(rest):
            if f > hi:
                break
            if f >= lo and rest // f <= room[j + 1]:
                walk(rest // f, j + 1, (*prefix, f))

    if k == 0:
        return [()] if n == 1 else []
    walk(n, 0, ())
    return out


def ordered_factorizations(n: int, k: int) -> list[tuple[int, ...]]:
    """All k-tuples of positive integers whose product is n (perfect factorizations over k slots)."""
    return bounded_factorizations(n, [(1, n)] * k)


def sample_factorizations(n: int, bounds: list[tuple[int, int]], count: int, seed: int) -> list[tuple[int, ...]]:
    """Up to `count` distinct bounded factorizations of n, drawn slot by slot from the divisors of what is left
    (deterministic for a seed), plus each one-slot-takes-all tuple that fits: a map space too large to list."""
    rng = np.random.default_rng(seed)
    k = len(bounds)
    found: set[tuple[int, ...]] = set()
    for j in range(k):  # everything in one slot, the rest 1
        whole = tuple(n if i == j else 1 for i in range(k))
        if all(lo <= f <= hi for f, (lo, hi) in zip(whole, bounds)):
            found.add(whole)
    choices: dict[tuple[int, int], list[int]] = {}
    for _ in range(count * 4):
        if len(found) >= count:
            break
        rest, row = n, []
        for j in range(k - 1):
            options = choices.get((rest, j))
            if options is None:
                lo, hi = bounds[j]
                options = choices[(rest, j)] = [f for f in divisors(rest) if lo <= f <= hi]
            if not options:
                break
            f = options[int(rng.integers(len(options)))]
            row.append(f)
            rest //= f
        else:
            lo, hi = bounds[-1]
            if lo <= rest <= hi:
                found.add((*row, rest))
    return sorted(found)


def count_bounded(n: int, bounds: tuple[tuple[int, int], ...]) -> int:
    """How many bounded factorizations of n there are, without listing them: a count over (what is left, slot)
    pairs where n has at most MAX_DIVISORS_FOR_COUNT divisors, else the unbounded count (an upper bound)."""
    if len(divisors(n)) > MAX_DIVISORS_FOR_COUNT:
        return count_factorizations(n, len(bounds))

    @functools.cache
    def ways(rest: int, j: int) -> int:
        lo, hi = bounds[j]
        if j == len(bounds) - 1:
            return int(lo <= rest <= hi)
        return sum(ways(rest // f, j + 1) for f in divisors(rest) if lo <= f <= hi)

    return ways(n, 0) if bounds else int(n == 1)


@functools.lru_cache(maxsize=1024)
def _factor_rows(n: int, bounds: tuple[tuple[int, int], ...], seed: int) -> tuple[list[tuple[int, ...]], bool]:
    """(rows, sampled): every bounded factorization of n, or a deterministic sample when there are more than
    MAX_OPTIONS (the pre-flight count decides before any is listed). Cached: dataflow seeds share them."""
    if count_bounded(n, bounds) <= MAX_OPTIONS:
        try:
            return bounded_factorizations(n, list(bounds), MAX_OPTIONS), False
        except TooMany:
            pass
    return sample_factorizations(n, list(bounds), SAMPLED_OPTIONS, seed), True


def remainders(rows: np.ndarray, n: int) -> np.ndarray:
    """Residual trip count of every slot of factor rows (outermost slot first) whose loops visit exactly
    0..n-1: one plus the mixed-radix digits of n - 1 (Timeloop 3's rule, `mapping.covered`); equal to the
    factor where a loop has no remainder. Rows whose product is below n have no such residuals (not checked)."""
    res = np.empty_like(rows)
    rem = np.full(len(rows), n - 1, np.int64)
    for j in range(rows.shape[1] - 1, -1, -1):
        res[:, j] = rem % rows[:, j] + 1
        rem = rem // rows[:, j]
    return res


def walk_counts(rows: np.ndarray, res: np.ndarray, spatial: np.ndarray) -> np.ndarray:
    """(n,) True where factor rows with residuals `res` (slots outermost first, `spatial` marks spatial slots)
    are of the form the loop walk counts: no remainder on a spatial loop, none inside a spatial loop of the same
    dimension, none on the dimension's outermost loop (model/evaluate.py, mapping.validate)."""
    short = res < rows
    loops = rows > 1
    spatial_outside = np.cumsum(loops & spatial[None, :], axis=1) - (loops & spatial[None, :])
    ok = ~(short & spatial[None, :]).any(axis=1) & ~(short & (spatial_outside > 0)).any(axis=1)
    first = np.argmax(loops, axis=1)
    idx = np.arange(len(rows))
    return ok & (res[idx, first] == rows[idx, first])


def imperfect_pad(n: int) -> int:
    """How far the product of an imperfect row's factors may exceed the bound n (see the module docstring)."""
    return max(IMPERFECT_MIN_PAD, int(n * IMPERFECT_PAD))


@dataclass(frozen=True)
class Slot:
    """One place a factor can go: a level's temporal loops, or its spatial fan-out."""

    level: int
    spatial: bool


class MapSpace:
    """The constrained map space of one loop nest on one architecture."""

    def __init__(self, nest: LoopNest, arch: Architecture, constraints: list[Constraint] | None = None,
                 explain: bool = True, imperfect: bool = False) -> None:
        self.nest, self.arch = nest, arch
        self.imperfect = imperfect  # also Timeloop 3 remainder rows (D=n,r; see the module docstring)
        self.constraints = list(constraints or [])
        self.rules: list[LevelRules] = merge(self.constraints, nest, arch)
        self.min_macs = math.ceil(min_utilization(self.constraints, arch) * arch.compute.instances - 1e-9)
        self.dims = nest.dims
        D, L, T = len(self.dims), len(arch.levels), len(nest.tensors)
        self.n_dims, self.n_levels, self.n_tensors = D, L, T
        self.fanout = [arch.fanout(i) for i in range(L)]
        self.slots: list[Slot] = []
        for i, lv in enumerate(arch.levels):
            if not lv.virtual:
                self.slots.append(Slot(i, False))
            if self.fanout[i][0] * self.fanout[i][1] > 1:
                self.slots.append(Slot(i, True))
        self._check_rules_have_slots()
        # per dim: the factorizations over slots that the rules allow
        self.sampled_dims: list[str] = []  # dims with too many factorizations to list: a sample of them
        self.options: list[np.ndarray] = []
        self.residuals: list[np.ndarray] = []  # per dim, per option row: each slot's residual (= factor: none)
        for d in self.dims:
            opts = self._dim_options(d)
            res = opts.copy()
            if imperfect:
                more, more_res = self._imperfect_options(d)
                opts, res = np.concatenate([opts, more]), np.concatenate([res, more_res])
            if not len(opts):
                raise StationaryError(self._why_no_factorization(d) if explain else f"{d} cannot be factored")
            self.options.append(opts)
            self.residuals.append(res)
        # keep: fixed (L, T) mask and values
        self.keep_fixed = np.zeros((L, T), bool)
        self.keep_value = np.ones((L, T), bool)
        top = next((i for i, lv in enumerate(arch.levels) if not lv.virtual), 0)
        for i, (lv, r) in enumerate(zip(arch.levels, self.rules)):
            for t, tensor in enumerate(nest.tensors):
                if lv.virtual or tensor.name in r.bypass:
                    self.keep_fixed[i, t], self.keep_value[i, t] = True, False
                elif tensor.name in r.keep or i == top:
                    self.keep_fixed[i, t], self.keep_value[i, t] = True, True
        # spatial axis per (level, dim): allowed on X / Y
        self.allow_x = np.ones((L, D), bool)
        self.allow_y = np.ones((L, D), bool)
        for i, r in enumerate(self.rules):
            fx, fy = self.fanout[i]
            for k, d in enumerate(self.dims):
                self.allow_x[i, k] = fx > 1 and (r.spatial_x is None or d in r.spatial_x)
                self.allow_y[i, k] = fy > 1 and (r.spatial_y is None or d in r.spatial_y)
        self._prepare_order_rules()
        self._free_loops = [0] * L
        self._order_pairs = self._pairs()  # the same for every level: computed once
        self.perm_classes = [self._order_classes(i) for i in range(L)]
        self._prepare_moves()

    # ----- construction ---------------------------------------------------------------------------------
    def _check_rules_have_slots(self) -> None:
        """A factor > 1 fixed where the level has no such loops (a virtual level's temporal loops) is an error."""
        for i, (r, lv) in enumerate(zip(self.rules, self.arch.levels)):
            if lv.virtual and any(f > 1 for f in r.temporal.values()):
                raise StationaryError(f"constraints fix temporal factors at {lv.name}, which holds no loops")
            if self.fanout[i] == (1, 1) and any(f > 1 for f in r.spatial.values()):
                raise StationaryError(f"constraints fix spatial factors at {lv.name}, which has no fan-out")

    def _slot_rule(self, s: Slot, d: str) -> tuple[int | None, int, int]:
        """(fixed factor or None, smallest, largest factor allowed) for dim d in slot s."""
        r = self.rules[s.level]
        bound = self.nest.bounds[d]
        if s.spatial:
            fx, fy = self.fanout[s.level]
            ok_x = fx > 1 and (r.spatial_x is None or d in r.spatial_x)
            ok_y = fy > 1 and (r.spatial_y is None or d in r.spatial_y)
            cap = min(max(fx if ok_x else 1, fy if ok_y else 1), r.spatial_max.get(d, bound), bound)
            return r.spatial.get(d), r.spatial_min.get(d, 1), cap
        return r.temporal.get(d), r.temporal_min.get(d, 1), min(r.temporal_max.get(d, bound), bound)

    def _dim_options(self, d: str, product: int | None = None) -> np.ndarray:
        """Rows (one per allowed factorization of d over the slots, or of `product` instead of its bound); a
        deterministic sample past MAX_OPTIONS."""
        bound = self.nest.bounds[d] if product is None else product
        S = len(self.slots)
        fixed: dict[int, int] = {}
        free: list[tuple[int, int, int]] = []
        for j, s in enumerate(self.slots):
            f, lo, hi = self._slot_rule(s, d)
            if f is not None:
                if not lo <= f <= max(hi, 1) or (f > 1 and f > hi):
                    return np.zeros((0, S), np.int64)
                fixed[j] = f
            elif hi > 1:
                free.append((j, lo, hi))
            elif lo > 1:
                return np.zeros((0, S), np.int64)
        rest = bound
        for f in fixed.values():
            if rest % f:
                return np.zeros((0, S), np.int64)
            rest //= f
        bounds = [(lo, hi) for _, lo, hi in free]
        combos, sampled = _factor_rows(rest, tuple(bounds), bound % (1 << 32))
        if sampled and d not in self.sampled_dims:
            self.sampled_dims.append(d)
        out = np.ones((len(combos), S), np.int64)
        for j, f in fixed.items():
            out[:, j] = f
        if combos and free:
            out[:, [j for j, _, _ in free]] = np.array(combos, np.int64).reshape(len(combos), len(free))
        return out

    def _imperfect_options(self, d: str) -> tuple[np.ndarray, np.ndarray]:
        """(factors, residuals) of d's imperfect rows: the allowed factorizations of each padded product
        P = N+1 .. N + imperfect_pad(N) (least padding first) whose remainders cover exactly N and sit where
        the walk counts them; at most IMPERFECT_OPTIONS rows (past it d counts as sampled)."""
        n, S = self.nest.bounds[d], len(self.slots)
        spatial = np.array([s.spatial for s in self.slots], bool)
        rows, res, total = [], [], 0
        for product in range(n + 1, n + imperfect_pad(n) + 1):
            opts = self._dim_options(d, product)
            if not len(opts):
                continue
            r = remainders(opts, n)
            ok = walk_counts(opts, r, spatial)
            rows.append(opts[ok])
            res.append(r[ok])
            total += int(ok.sum())
            if total > IMPERFECT_OPTIONS:
                if d not in self.sampled_dims:
                    self.sampled_dims.append(d)
                break
        if not rows:
            return np.zeros((0, S), np.int64), np.zeros((0, S), np.int64)
        return np.concatenate(rows)[:IMPERFECT_OPTIONS], np.concatenate(res)[:IMPERFECT_OPTIONS]

    def _why_no_factorization(self, d: str) -> str:
        """Name the constraint that leaves dimension d no perfect factorization."""
        for k in range(1, len(self.constraints) + 1):
            try:
                MapSpace(self.nest, self.arch, self.constraints[:k], explain=False)
            except StationaryError:
                return (f"no valid mapping: dimension {d}={self.nest.bounds[d]} cannot be factored under "
                        f"constraint {self.constraints[k - 1].describe()}")
        inline = [c.describe() for c in arch_constraints(self.arch)]
        return (f"no valid mapping: dimension {d}={self.nest.bounds[d]} cannot be factored over the levels"
                + (f" under the architecture's constraints ({'; '.join(inline)})" if inline else ""))

    def _order_classes(self, i: int) -> np.ndarray:
        """Loop orders of level i, one per class of orders with identical counts (innermost first)."""
        slot = next((j for j, s in enumerate(self.slots) if s.level == i and not s.spatial), None)
        r = self.rules[i]
        if slot is None:
            active: list[str] = []
        else:
            active = [d for k, d in enumerate(self.dims) if self.options[k][:, slot].max() > 1]
        inner = tuple(d for d in r.inner_order if d in self.dims)
        outer = tuple(d for d in r.outer_order if d in self.dims and d not in inner)
        free = tuple(d for d in active if d not in inner and d not in outer)
        # the swap move's span: the free loops, or (no fixed outermost loops) every position after the fixed
        # innermost ones, whose extra dims have no loop here and are harmless to swap
        self._free_loops[i] = len(free) if outer else len(self.dims) - len(inner)
        return _classes(inner, free, outer, self._order_pairs, tuple(self.dims))

    def _pairs(self) -> tuple[tuple[str, str], ...]:
        """Ordered dim pairs whose relative order can change counts (see the module docstring)."""
        pairs: set[tuple[str, str]] = set()
        for t in self.nest.tensors:
            for x in self.dims:
                for y in self.dims:
                    if x not in t.dims and y in t.dims:
                        pairs.add((x, y))
            for axis in t.axes:
                ds = sorted(d for _, d in axis if self.nest.bounds[d] > 1)
                pairs.update(itertools.combinations(ds, 2))
        return tuple(sorted(pairs))

    def _prepare_order_rules(self) -> None:
        """Per level with a spatial permutation: the order position of each dim and the split rule, as arrays."""
        D = self.n_dims
        self._order_levels: list[tuple[int, np.ndarray, np.ndarray, int | None, int, int]] = []
        for i, r in enumerate(self.rules):
            o = r.spatial_order
            if o is None or self.fanout[i] == (1, 1):
                continue
            pos = np.array([o.position(d) for d in self.dims], np.int64)
            infix = np.array([d in o.infix for d in self.dims], bool)
            nx, ny = o.infix_slots() if o.split is not None else (D, D)
            if o.split is not None and (nx == 0 or ny == 0):
                continue  # every dim's axis is fixed: allow_x / allow_y already say it all
            self._order_levels.append((i, pos, infix, o.split, nx, ny))

    # ----- rules that tie dims together (checked per row) ------------------------------------------------
    @property
    def row_rules(self) -> bool:
        """Whether some rule is checked per row (`legal`): a spatial permutation, a utilization minimum, or the
        remainder rows' simulation limit."""
        return bool(self._order_levels) or self.min_macs > 1 or self.imperfect

    def legal(self, m: MappingArrays) -> np.ndarray:
        """(B,) True where the spatial permutation/split rules and the utilization minimum hold, and a row with
        remainders needs at most half the fast model's IMPERFECT_ITERATIONS simulated iterations (4 per temporal
        loop, multiplied: rows past it are outside the imperfect space)."""
        ok = np.ones(m.size, bool)
        if self.imperfect:
            sims = np.prod(np.minimum(m.temporal, 4).astype(np.float64), axis=(1, 2))
            # half the limit: the fast model's per-level cost adds at most 2 x 2^7 x 4 to this product
            ok &= ~m.imperfect_rows() | (sims <= IMPERFECT_ITERATIONS // 2)
        for i, pos, infix, split, nx, ny in self._order_levels:
            live = m.spatial[:, i, :] > 1
            x = m.spatial_x[:, i, :]
            if split is not None:
                ok &= ((live & x & infix).sum(axis=1) <= nx) & ((live & ~x & infix).sum(axis=1) <= ny)
                forced_x = pos < split
                ok &= ~(live & ~infix & (x != forced_x)).any(axis=1)
            else:
                max_x = np.where(live & x, pos, -1).max(axis=1)
                min_y = np.where(live & ~x, pos, D_BIG).min(axis=1)
                ok &= max_x <= min_y
        if self.min_macs > 1:
            ok &= np.prod(m.spatial, axis=(1, 2)) >= self.min_macs
        return ok

    def _arranged_axes(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Axis bits (n, L, D): random, except on levels with a spatial permutation, where a random order of
        the free dims (and a random cut where no split is given) decides X/Y as Timeloop's mapper would."""
        bits = rng.random((n, self.n_levels, self.n_dims)) < 0.5
        for i, pos, infix, split, _, _ in self._order_levels:
            key = pos[None, :] + np.where(infix[None, :], rng.random((n, self.n_dims)) * 0.999, 0.0)
            rank = np.argsort(np.argsort(key, axis=1, kind="stable"), axis=1)
            cut = np.full((n, 1), split) if split is not None else rng.integers(0, self.n_dims + 1, (n, 1))
            bits[:, i, :] = rank < cut
        return bits

    # ----- size and sampling ---------------------------------------------------------------------------
    @property
    def free_keeps(self) -> list[tuple[int, int]]:
        return [(i, t) for i in range(self.n_levels) for t in range(self.n_tensors) if not self.keep_fixed[i, t]]

    def size(self) -> int:
        """Mappings in the (pruned) space, counting axis choices as at most 2 per spatial dim."""
        n = math.prod(len(o) for o in self.options) * math.prod(len(p) for p in self.perm_classes)
        n *= 2 ** len(self.free_keeps)
        both = int((self.allow_x & self.allow_y).sum())
        return n * 2 ** both

    def _assemble(self, choice: np.ndarray, perm_idx: np.ndarray, axis_bits: np.ndarray,
                  keep_bits: np.ndarray) -> MappingArrays:
        """Arrays from chosen option rows per dim (B, D), order classes (B, L), axis and keep choices."""
        B = choice.shape[0]
        L, D = self.n_levels, self.n_dims
        tf = np.ones((B, L, D), np.int64)
        sf = np.ones((B, L, D), np.int64)
        tr = np.ones((B, L, D), np.int64) if self.imperfect else None
        for k in range(D):
            rows = self.options[k][choice[:, k]]  # (B, n_slots)
            res = self.residuals[k][choice[:, k]] if tr is not None else None
            for j, s in enumerate(self.slots):
                (sf if s.spatial else tf)[:, s.level, k] = rows[:, j]
                if res is not None and tr is not None and not s.spatial:
                    tr[:, s.level, k] = res[:, j]
        perm = np.stack([self.perm_classes[i][perm_idx[:, i]] for i in range(L)], axis=1)
        x = np.where(self.allow_x & self.allow_y, axis_bits, self.allow_x[None])
        keep = np.broadcast_to(self.keep_value, (B, L, self.n_tensors)).copy()
        for n, (i, t) in enumerate(self.free_keeps):
            keep[:, i, t] = keep_bits[:, n]
        return MappingArrays(tf, sf, x, perm, keep, temporal_residual=tr)

    def _draw(self, rng: np.random.Generator, n: int) -> MappingArrays:
        choice = np.stack([rng.integers(len(o), size=n) for o in self.options], axis=1)
        perm_idx = np.stack([rng.integers(len(p), size=n) for p in self.perm_classes], axis=1)
        axis_bits = self._arranged_axes(rng, n)
        keep_bits = rng.random((n, len(self.free_keeps))) < 0.5
        return self._assemble(choice, perm_idx, axis_bits, keep_bits)

    def sample(self, rng: np.random.Generator, n: int) -> MappingArrays:
        """n random mappings (uniform over each dim's factorizations, orders, axes and keeps), every one within
        the constraints: rows that break a rule tying dims together are drawn again (or replaced by a legal one)."""
        m = self._draw(rng, n)
        if not self.row_rules:
            return m
        ok = self.legal(m)
        for _ in range(SAMPLE_TRIES):
            if ok.all():
                return m
            bad = np.nonzero(~ok)[0]
            fresh = self._draw(rng, len(bad))
            m = _put(m, bad, fresh)
            ok[bad] = self.legal(fresh)
        good = np.nonzero(ok)[0]
        if not len(good):
            raise StationaryError(f"no mapping of {self.nest.name} on {self.arch.name} found within the "
                                  f"spatial-permutation and utilization constraints in {n * (SAMPLE_TRIES + 1)} "
                                  f"random draws")
        bad = np.nonzero(~ok)[0]
        return _put(m, bad, m.take(good[rng.integers(len(good), size=len(bad))]))

    def enumerate(self, batch: int = 8192) -> itertools.chain:
        """Every mapping of the space, in batches (only for small spaces); rows breaking a rule are left out."""
        radices = ([len(o) for o in self.options] + [len(p) for p in self.perm_classes]
                   + [2] * len(self.free_keeps))
        both = np.argwhere(self.allow_x & self.allow_y)
        radices += [2] * len(both)
        total = math.prod(radices)

        def gen():
            for start in range(0, total, batch):
                idx = np.arange(start, min(total, start + batch), dtype=np.int64)
                digits = []
                for r in radices:
                    digits.append(idx % r)
                    idx = idx // r
                dg = np.stack(digits, axis=1) if digits else np.zeros((len(idx), 0), np.int64)
                D, L, K = self.n_dims, self.n_levels, len(self.free_keeps)
                axis_bits = np.zeros((dg.shape[0], L, D), bool)
                for n, (i, k) in enumerate(both):
                    axis_bits[:, i, k] = dg[:, D + L + K + n] == 1
                m = self._assemble(dg[:, :D], dg[:, D:D + L], axis_bits, dg[:, D + L:D + L + K] == 1)
                if self.row_rules:
                    m = m.take(np.nonzero(self.legal(m))[0])
                if m.size:
                    yield m

        return gen()

    # ----- local moves ---------------------------------------------------------------------------------
    def mutate(self, rng: np.random.Generator, m: MappingArrays) -> MappingArrays:
        """One random local move per row (vectorized): move a prime factor of one dim between two of its
        free slots, swap two free loops of a level, flip a spatial dim's mesh axis, or toggle a free keep.
        A move that would break a constraint leaves the row unchanged."""
        tf, sf, sx = m.temporal.copy(), m.spatial.copy(), m.spatial_x.copy()
        perm, keep = m.permutation.copy(), m.keep.copy()
        B = int(tf.shape[0])  # an int, so numpy's stubs type the draws below as arrays
        rows = np.arange(B)
        kind = rng.random(B)
        # 1) move a prime factor (60%)
        mv = kind < 0.6
        k = rng.integers(self.n_dims, size=B)
        n_mov = self._n_movable[k]
        src_i = (rng.random(B) * np.maximum(n_mov, 1)).astype(np.int64)
        dst_i = (rng.random(B) * np.maximum(n_mov, 1)).astype(np.int64)
        src = self._movable[k, src_i]
        dst = self._movable[k, dst_i]
        ok = mv & (n_mov >= 2) & (src != dst)
        both = np.stack([tf, sf], axis=1)  # (B, 2, L, D)
        s_kind, s_lev = self._slot_kind[src], self._slot_level[src]
        d_kind, d_lev = self._slot_kind[dst], self._slot_level[dst]
        s_val = both[rows, s_kind, s_lev, k]
        d_val = both[rows, d_kind, d_lev, k]
        p = self._smallest_prime(s_val)
        ok &= (s_val > 1) & (d_val * p <= self._cap[dst, k]) & (s_val // p >= self._lo[src, k])
        tr = m.temporal_residuals().copy() if self.imperfect else None
        redraw = np.zeros(B, bool)
        if tr is not None:  # a prime move keeps a perfect dim perfect; other rows draw the dim's row afresh
            dim_perfect = (tr[rows, :, k] == tf[rows, :, k]).all(axis=1)
            redraw = mv & ((rng.random(B) < 0.5) | ~dim_perfect)
            ok &= ~redraw
        both[rows[ok], s_kind[ok], s_lev[ok], k[ok]] = s_val[ok] // p[ok]
        both[rows[ok], d_kind[ok], d_lev[ok], k[ok]] = d_val[ok] * p[ok]
        tf, sf = both[:, 0].copy(), both[:, 1].copy()
        if tr is not None:
            tr[rows[ok], :, k[ok]] = tf[rows[ok], :, k[ok]]
            for kk in range(self.n_dims):
                sel = np.nonzero(redraw & (k == kk))[0]
                if not len(sel):
                    continue
                pick = rng.integers(len(self.options[kk]), size=len(sel))
                f_rows, r_rows = self.options[kk][pick], self.residuals[kk][pick]
                for j, s in enumerate(self.slots):
                    if s.spatial:
                        sf[sel, s.level, kk] = f_rows[:, j]
                    else:
                        tf[sel, s.level, kk] = f_rows[:, j]
                        tr[sel, s.level, kk] = r_rows[:, j]
        # 2) swap two free loops of one level (20%); the constrained innermost/outermost loops stay
        sw = (kind >= 0.6) & (kind < 0.8)
        lev = rng.integers(self.n_levels, size=B)
        lo = self._fixed_inner[lev]
        span = self._n_free[lev]
        a = np.minimum(lo + (rng.random(B) * span).astype(np.int64), self.n_dims - 1)
        c = np.minimum(lo + (rng.random(B) * span).astype(np.int64), self.n_dims - 1)
        sw &= span >= 2
        ia, ic = perm[rows, lev, a], perm[rows, lev, c]
        perm[rows[sw], lev[sw], a[sw]] = ic[sw]
        perm[rows[sw], lev[sw], c[sw]] = ia[sw]
        # 3) flip the mesh axis of a dim at a level (10%)
        fl = (kind >= 0.8) & (kind < 0.9)
        fk = rng.integers(self.n_dims, size=B)
        fl &= (self.allow_x & self.allow_y)[lev, fk]
        sx[rows[fl], lev[fl], fk[fl]] = ~sx[rows[fl], lev[fl], fk[fl]]
        # 4) toggle a free keep (10%)
        if self.free_keeps:
            tg = kind >= 0.9
            fk2 = np.array(self.free_keeps)[rng.integers(len(self.free_keeps), size=B)]
            keep[rows[tg], fk2[tg, 0], fk2[tg, 1]] = ~keep[rows[tg], fk2[tg, 0], fk2[tg, 1]]
        out = MappingArrays(tf, sf, sx, perm, keep, temporal_residual=tr)
        if self.row_rules:
            bad = np.nonzero(~self.legal(out))[0]
            if len(bad):
                out = _put(out, bad, m.take(bad))
        return out

    def neighbours(self, m: MappingArrays) -> MappingArrays:
        """Every mapping one move from the single perfect row `m`, within the constraints: a prime factor of a
        dim, or its whole factor, moved from one free slot to another; two free loops of a level swapped (once
        per distinct order of the loops that iterate: a loop of one iteration changes no count); a spatial dim's
        mesh axis flipped; a free keep toggled (one turned on also with the tensor's factors lifted out of its
        tile, `_lifted`). A move may overflow a level or a fan-out, as the random moves may: the model says so.
        The search's last phase descends through them (mapper/search.py `_descent_steps`)."""
        tf0, sf0, sx0, pm0, kp0 = (a[0] for a in (m.temporal, m.spatial, m.spatial_x, m.permutation, m.keep))
        both0 = np.stack([tf0, sf0])  # (2, L, D): temporal, spatial
        moves = []  # (dim, source slot, destination slot, factor moved)
        for k in range(self.n_dims):
            movable = self._movable[k, :self._n_movable[k]]
            now = both0[self._slot_kind[movable], self._slot_level[movable], k]
            for src, value in zip(movable, now):
                if value <= 1:
                    continue
                ps = sorted(set(primes(int(value))))
                for p in ps + ([int(value)] if value not in ps else []):
                    if value // p >= self._lo[src, k]:
                        moves += [(k, src, dst, p) for dst, there in zip(movable, now)
                                  if dst != src and there * p <= self._cap[dst, k]]
        mv = np.array(moves, np.int64).reshape(-1, 4)
        n = len(mv)
        both = np.repeat(both0[None], n, axis=0)
        at = np.arange(n)
        both[at, self._slot_kind[mv[:, 1]], self._slot_level[mv[:, 1]], mv[:, 0]] //= mv[:, 3]
        both[at, self._slot_kind[mv[:, 2]], self._slot_level[mv[:, 2]], mv[:, 0]] *= mv[:, 3]
        perms, flips = [], []
        for i in range(self.n_levels):
            lo, span = int(self._fixed_inner[i]), int(self._n_free[i])
            top = min(lo + span, self.n_dims)
            start, iterates = pm0[i].tolist(), (tf0[i] > 1).tolist()
            seen = {tuple(d for d in start if iterates[d])}  # a loop of one iteration changes nothing
            for a in range(lo, top):
                for c in range(a + 1, top):
                    if not (iterates[start[a]] or iterates[start[c]]):
                        continue
                    order = start.copy()
                    order[a], order[c] = order[c], order[a]
                    key = tuple(d for d in order if iterates[d])
                    if key not in seen:
                        seen.add(key)
                        perms.append((i, order))
            flips += [(i, k) for k in range(self.n_dims) if self.allow_x[i, k] and self.allow_y[i, k] and sf0[i, k] > 1]
        pm = np.repeat(pm0[None], len(perms), axis=0)
        for r, (i, order) in enumerate(perms):
            pm[r, i] = order
        sx = np.repeat(sx0[None], len(flips), axis=0)
        fl = np.array(flips, np.int64).reshape(-1, 2)
        sx[np.arange(len(fl)), fl[:, 0], fl[:, 1]] ^= True
        fk = np.array(self.free_keeps, np.int64).reshape(-1, 2)
        kp = np.repeat(kp0[None], len(fk), axis=0)
        kp[np.arange(len(fk)), fk[:, 0], fk[:, 1]] ^= True
        on = np.flatnonzero(kp[np.arange(len(fk)), fk[:, 0], fk[:, 1]])
        lifted = self._lifted(np.repeat(tf0[None], len(on), axis=0), fk[on, 0], fk[on, 1])
        sizes = [n, len(pm), len(sx), len(kp), len(on)]
        if not sum(sizes):
            return m.take(np.zeros(0, np.int64))
        sel = np.repeat(np.arange(5), sizes)
        total = sum(sizes)

        def column(base: np.ndarray, parts: dict[int, np.ndarray]) -> np.ndarray:
            out = np.repeat(base[None], total, axis=0)
            for part, values in parts.items():
                out[sel == part] = values
            return out

        out = MappingArrays(column(tf0, {0: both[:, 0], 4: lifted}), column(sf0, {0: both[:, 1]}),
                            column(sx0, {2: sx}), column(pm0, {1: pm}), column(kp0, {3: kp, 4: kp[on]}))
        return out.take(np.flatnonzero(self.legal(out))) if self.row_rules else out

    def _lifted(self, tf: np.ndarray, level: np.ndarray, tensor: np.ndarray) -> np.ndarray:
        """Temporal factors (n, L, D) with, per row, every movable factor of a dim its `tensor` depends on taken
        from the temporal loops of `level` and the levels below it to the nearest movable slot above `level`:
        the tile a keep just turned on must hold shrinks to the spatial part, so a small level (a 1-word
        register) that starts to keep a tensor fits without the several factor moves it would need one prime at
        a time. A row whose lift would break a slot's bounds keeps its factors."""
        out = tf.copy()
        n = len(level)
        ok = np.ones(n, bool)
        for k in range(self.n_dims):
            dest = self._lift_to[level, k]  # (n,) destination level, -1: none
            sel = self._relevant[tensor, k] & (dest >= 0)
            if not sel.any():
                continue
            moved = np.ones(n, np.int64)
            for lv in range(self.n_levels):
                src = sel & (lv >= level) & self._lift_from[lv, k]
                moved = np.where(src, moved * out[:, lv, k], moved)
                out[src, lv, k] = 1
            r = np.flatnonzero(sel)
            value = out[r, dest[r], k] * moved[r]
            ok[r] &= value <= self._cap[self._temporal_slot[dest[r]], k]
            out[r, dest[r], k] = value
        return np.where(ok[:, None, None], out, tf)

    def _prepare_lifts(self) -> None:
        """Tables for `_lifted`: per tensor the dims it depends on; per (level, dim) whether its temporal slot's
        factor may move (free, no lower bound above 1) and the nearest level above with a slot that may take it."""
        L, D = self.n_levels, self.n_dims
        self._relevant = np.array([[d in t.dims for d in self.dims] for t in self.nest.tensors], bool)
        self._temporal_slot = np.zeros(L, np.int64)
        self._lift_from = np.zeros((L, D), bool)
        takes = np.zeros((L, D), bool)
        for j, s in enumerate(self.slots):
            if s.spatial:
                continue
            self._temporal_slot[s.level] = j
            for k, d in enumerate(self.dims):
                fixed, lo, cap = self._slot_rule(s, d)
                self._lift_from[s.level, k] = fixed is None and lo <= 1
                takes[s.level, k] = fixed is None and cap > 1
        self._lift_to = np.full((L, D), -1, np.int64)
        for lv in range(L):
            for k in range(D):
                above = [a for a in range(lv) if takes[a, k]]
                self._lift_to[lv, k] = above[-1] if above else -1

    def _prepare_moves(self) -> None:
        """Tables for vectorized moves: free slots per dim, their bounds, smallest prime factors of every
        divisor of every bound (a lookup table over divisors, not over the integers up to the bound)."""
        S, D = len(self.slots), self.n_dims
        self._slot_kind = np.array([1 if s.spatial else 0 for s in self.slots], np.int64)
        self._slot_level = np.array([s.level for s in self.slots], np.int64)
        self._cap = np.ones((S, D), np.int64)
        self._lo = np.ones((S, D), np.int64)
        movable = []
        for k, d in enumerate(self.dims):
            row = []
            for j, s in enumerate(self.slots):
                fixed, lo, cap = self._slot_rule(s, d)
                self._cap[j, k] = cap if fixed is None else 0
                self._lo[j, k] = lo
                if fixed is None and cap > 1:
                    row.append(j)
            movable.append(row)
        self._n_movable = np.array([len(r) for r in movable], np.int64)
        self._movable = np.zeros((D, max(1, max(len(r) for r in movable))), np.int64)
        for k, r in enumerate(movable):
            self._movable[k, :len(r)] = r
        values = sorted({v for b in self.nest.bounds.values() for v in divisors(b)})
        self._spf_keys = np.array(values, np.int64)
        self._spf_vals = np.array([primes(v)[0] if v > 1 else 1 for v in values], np.int64)
        self._fixed_inner = np.array([len([d for d in r.inner_order if d in self.dims]) for r in self.rules],
                                     np.int64)
        self._n_free = np.array(self._free_loops, np.int64)
        self._prepare_lifts()

    def _smallest_prime(self, values: np.ndarray) -> np.ndarray:
        """Smallest prime factor of each value (each a divisor of a bound; 1 for 1)."""
        idx = np.clip(np.searchsorted(self._spf_keys, values), 0, len(self._spf_keys) - 1)
        found = self._spf_keys[idx] == values
        return np.where(found, self._spf_vals[idx], 1)

    def minimal(self) -> MappingArrays:
        """The mapping with the smallest tiles: every free factor at the outermost slot, bypass where free."""
        choice = np.zeros((1, self.n_dims), np.int64)
        for k, o in enumerate(self.options):
            choice[0, k] = int(np.lexsort(o.T[::-1])[-1])  # most weight in slot 0 (outermost)
        perm_idx = np.zeros((1, self.n_levels), np.int64)
        axis_bits = self._arranged_axes(np.random.default_rng(0), 1)
        keep_bits = np.zeros((1, len(self.free_keeps)), bool)
        return self._assemble(choice, perm_idx, axis_bits, keep_bits)


D_BIG = 1 << 30


def _put(m: MappingArrays, rows: np.ndarray, new: MappingArrays) -> MappingArrays:
    """m with `rows` replaced by the rows of `new` (a copy)."""
    parts = {}
    for f in ("temporal", "spatial", "spatial_x", "permutation", "keep"):
        a = getattr(m, f).copy()
        a[rows] = getattr(new, f)
        parts[f] = a
    if m.temporal_residual is not None or new.temporal_residual is not None:
        res = m.temporal_residuals().copy()
        res[rows] = new.temporal_residuals()
        parts["temporal_residual"] = res
    return MappingArrays(**parts)


@functools.lru_cache(maxsize=512)
def _classes(fixed: tuple[str, ...], free: tuple[str, ...], outer: tuple[str, ...],
             pairs: tuple[tuple[str, str], ...], dims: tuple[str, ...]) -> np.ndarray:
    """One representative order (as dim indices, innermost first) per class of equivalent orders: the fixed
    innermost loops, then the free ones in every order (a deterministic sample past MAX_ORDERS orders), then the
    fixed outermost loops, then the dims without loops at this level."""
    k_of = {d: k for k, d in enumerate(dims)}
    active = set(fixed) | set(free) | set(outer)
    used = [(x, y) for x, y in pairs if x in active and y in active]
    seen: dict[tuple[bool, ...], list[str]] = {}
    if math.factorial(len(free)) <= MAX_ORDERS:
        perms: Any = itertools.permutations(free)
    else:
        rng = np.random.default_rng(len(free))
        perms = [free] + [tuple(free[j] for j in rng.permutation(len(free))) for _ in range(MAX_ORDERS)]
    for perm in perms:
        order = list(fixed) + list(perm) + list(outer)
        pos = {d: n for n, d in enumerate(order)}
        seen.setdefault(tuple(pos[x] < pos[y] for x, y in used), order)
    rows = []
    for order in seen.values():
        full = order + [d for d in dims if d not in order]
        rows.append([k_of[d] for d in full])
    return np.array(rows, np.int64)
