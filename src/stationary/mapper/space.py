"""The map space: every way to factor each dimension over the levels, order the loops, spread dims over the
mesh and keep or bypass tensors — within the constraints — as arrays the fast model scores in batches.

Pruning: factors are perfect (each dimension's factors multiply to its bound); a spatial factor never
exceeds its fan-out; virtual levels take no temporal loops; loop orders that give identical counts are
one (only the relative order of a loop irrelevant to a tensor and one relevant to it matters, plus the
order of two dims sharing a sliding-window axis); the outermost level keeps every tensor; a tile that
overflows its level is scored invalid (capacity first: the search never returns it).
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np

from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.mapping.constraints import Constraint, LevelRules, merge
from stationary.model.fast import MappingArrays
from stationary.workload.loopnest import LoopNest


def primes(n: int) -> list[int]:
    """Prime factors of n with multiplicity, ascending."""
    out, p = [], 2
    while n > 1 and p * p <= n:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    if n > 1:
        out.append(n)
    return out


def ordered_factorizations(n: int, k: int) -> list[tuple[int, ...]]:
    """All k-tuples of positive integers whose product is n (perfect factorizations over k slots)."""
    if k == 1:
        return [(n,)]
    out = []
    for f in range(1, n + 1):
        if n % f == 0:
            out.extend((f, *rest) for rest in ordered_factorizations(n // f, k - 1))
    return out


@dataclass(frozen=True)
class Slot:
    """One place a factor can go: a level's temporal loops, or its spatial fan-out."""

    level: int
    spatial: bool


class MapSpace:
    """The constrained map space of one loop nest on one architecture."""

    def __init__(self, nest: LoopNest, arch: Architecture, constraints: list[Constraint] | None = None,
                 explain: bool = True) -> None:
        self.nest, self.arch = nest, arch
        self.constraints = list(constraints or [])
        self.rules: list[LevelRules] = merge(self.constraints, nest, arch)
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
        # per dim: the factorizations over slots that the rules allow
        self.options: list[np.ndarray] = []
        for d in self.dims:
            opts = self._dim_options(d)
            if not len(opts):
                raise StationaryError(self._why_no_factorization(d) if explain else f"{d} cannot be factored")
            self.options.append(opts)
        # keep: fixed (L, T) mask and values
        self.keep_fixed = np.zeros((L, T), bool)
        self.keep_value = np.ones((L, T), bool)
        for i, (lv, r) in enumerate(zip(arch.levels, self.rules)):
            for t, tensor in enumerate(nest.tensors):
                if lv.virtual or tensor.name in r.bypass:
                    self.keep_fixed[i, t], self.keep_value[i, t] = True, False
                elif tensor.name in r.keep or i == 0:
                    self.keep_fixed[i, t], self.keep_value[i, t] = True, True
        # spatial axis per (level, dim): allowed on X / Y
        self.allow_x = np.ones((L, D), bool)
        self.allow_y = np.ones((L, D), bool)
        for i, r in enumerate(self.rules):
            fx, fy = self.fanout[i]
            for k, d in enumerate(self.dims):
                self.allow_x[i, k] = fx > 1 and (r.spatial_x is None or d in r.spatial_x)
                self.allow_y[i, k] = fy > 1 and (r.spatial_y is None or d in r.spatial_y)
        self.perm_classes = [self._order_classes(i) for i in range(L)]
        self._prepare_moves()

    # ----- construction ---------------------------------------------------------------------------------
    def _slot_rule(self, s: Slot, d: str) -> tuple[int | None, int]:
        """(fixed factor or None, largest factor allowed) for dim d in slot s."""
        r = self.rules[s.level]
        if s.spatial:
            fx, fy = self.fanout[s.level]
            ok_x = fx > 1 and (r.spatial_x is None or d in r.spatial_x)
            ok_y = fy > 1 and (r.spatial_y is None or d in r.spatial_y)
            cap = max(fx if ok_x else 1, fy if ok_y else 1)
            return r.spatial.get(d), cap
        return r.temporal.get(d), self.nest.bounds[d]

    def _dim_options(self, d: str) -> np.ndarray:
        bound = self.nest.bounds[d]
        fixed, free = {}, []
        for j, s in enumerate(self.slots):
            f, cap = self._slot_rule(s, d)
            if f is not None:
                if f > cap:
                    return np.zeros((0, len(self.slots)), np.int64)
                fixed[j] = f
            elif cap > 1:
                free.append((j, cap))
        rest = bound
        for f in fixed.values():
            if rest % f:
                return np.zeros((0, len(self.slots)), np.int64)
            rest //= f
        rows = []
        if not free:
            if rest != 1:
                return np.zeros((0, len(self.slots)), np.int64)
            free_combos: list[tuple[int, ...]] = [()]
        else:
            free_combos = [c for c in ordered_factorizations(rest, len(free))
                           if all(f <= cap for f, (_, cap) in zip(c, free))]
        for combo in free_combos:
            row = [1] * len(self.slots)
            for j, f in fixed.items():
                row[j] = f
            for (j, _), f in zip(free, combo):
                row[j] = f
            rows.append(row)
        return np.array(rows, np.int64).reshape(-1, len(self.slots))

    def _why_no_factorization(self, d: str) -> str:
        """Name the constraint that leaves dimension d no perfect factorization."""
        for k in range(1, len(self.constraints) + 1):
            try:
                MapSpace(self.nest, self.arch, self.constraints[:k], explain=False)
            except StationaryError:
                return (f"no valid mapping: dimension {d}={self.nest.bounds[d]} cannot be factored under "
                        f"constraint {self.constraints[k - 1].describe()}")
        return f"no valid mapping: dimension {d}={self.nest.bounds[d]} cannot be factored over the levels"

    def _order_classes(self, i: int) -> np.ndarray:
        """Loop orders of level i, one per class of orders with identical counts (innermost first)."""
        {d: k for k, d in enumerate(self.dims)}
        slot = next((j for j, s in enumerate(self.slots) if s.level == i and not s.spatial), None)
        r = self.rules[i]
        if slot is None:
            active: list[str] = []
        else:
            active = [d for k, d in enumerate(self.dims) if self.options[k][:, slot].max() > 1]
        fixed = [d for d in r.inner_order if d in self.dims]
        free = [d for d in active if d not in fixed]
        return _classes(tuple(fixed), tuple(free), self._pairs(), tuple(self.dims))

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
        for k in range(D):
            rows = self.options[k][choice[:, k]]  # (B, n_slots)
            for j, s in enumerate(self.slots):
                (sf if s.spatial else tf)[:, s.level, k] = rows[:, j]
        perm = np.stack([self.perm_classes[i][perm_idx[:, i]] for i in range(L)], axis=1)
        x = np.where(self.allow_x & self.allow_y, axis_bits, self.allow_x[None])
        keep = np.broadcast_to(self.keep_value, (B, L, self.n_tensors)).copy()
        for n, (i, t) in enumerate(self.free_keeps):
            keep[:, i, t] = keep_bits[:, n]
        return MappingArrays(tf, sf, x, perm, keep)

    def sample(self, rng: np.random.Generator, n: int) -> MappingArrays:
        """n random mappings (uniform over each dim's factorizations, orders, axes and keeps)."""
        choice = np.stack([rng.integers(len(o), size=n) for o in self.options], axis=1)
        perm_idx = np.stack([rng.integers(len(p), size=n) for p in self.perm_classes], axis=1)
        axis_bits = rng.random((n, self.n_levels, self.n_dims)) < 0.5
        keep_bits = rng.random((n, len(self.free_keeps))) < 0.5
        return self._assemble(choice, perm_idx, axis_bits, keep_bits)

    def enumerate(self, batch: int = 8192) -> itertools.chain:
        """Every mapping of the space, in batches (only for small spaces)."""
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
                yield self._assemble(dg[:, :D], dg[:, D:D + L], axis_bits, dg[:, D + L:D + L + K] == 1)

        return gen()

    # ----- local moves ---------------------------------------------------------------------------------
    def mutate(self, rng: np.random.Generator, m: MappingArrays) -> MappingArrays:
        """One random local move per row (vectorized): move a prime factor of one dim between two of its
        free slots, swap two free loops of a level, flip a spatial dim's mesh axis, or toggle a free keep.
        A move that would break a constraint leaves the row unchanged."""
        tf, sf, sx = m.temporal.copy(), m.spatial.copy(), m.spatial_x.copy()
        perm, keep = m.permutation.copy(), m.keep.copy()
        B = tf.shape[0]
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
        p = self._spf[np.minimum(s_val, len(self._spf) - 1)]
        ok &= (s_val > 1) & (d_val * p <= self._cap[dst, k])
        both[rows[ok], s_kind[ok], s_lev[ok], k[ok]] = s_val[ok] // p[ok]
        both[rows[ok], d_kind[ok], d_lev[ok], k[ok]] = d_val[ok] * p[ok]
        tf, sf = both[:, 0].copy(), both[:, 1].copy()
        # 2) swap two loops of one level (20%)
        sw = (kind >= 0.6) & (kind < 0.8)
        lev = rng.integers(self.n_levels, size=B)
        lo = self._fixed_inner[lev]
        span = self.n_dims - lo
        a = lo + (rng.random(B) * span).astype(np.int64)
        c = lo + (rng.random(B) * span).astype(np.int64)
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
        return MappingArrays(tf, sf, sx, perm, keep)

    def _prepare_moves(self) -> None:
        """Tables for vectorized moves: free slots per dim, their caps, smallest prime factors."""
        S, D = len(self.slots), self.n_dims
        self._slot_kind = np.array([1 if s.spatial else 0 for s in self.slots], np.int64)
        self._slot_level = np.array([s.level for s in self.slots], np.int64)
        self._cap = np.ones((S, D), np.int64)
        movable = []
        for k, d in enumerate(self.dims):
            row = []
            for j, s in enumerate(self.slots):
                fixed, cap = self._slot_rule(s, d)
                self._cap[j, k] = cap if fixed is None else 0
                if fixed is None and cap > 1:
                    row.append(j)
            movable.append(row)
        self._n_movable = np.array([len(r) for r in movable], np.int64)
        self._movable = np.zeros((D, max(1, max(len(r) for r in movable))), np.int64)
        for k, r in enumerate(movable):
            self._movable[k, :len(r)] = r
        top = max(self.nest.bounds.values()) + 1
        spf = np.arange(top + 1)
        for q in range(2, int(top ** 0.5) + 1):
            hit = (spf[q * q::q] == np.arange(q * q, top + 1, q))
            spf[q * q::q][hit] = q
        self._spf = spf
        self._fixed_inner = np.array([len([d for d in r.inner_order if d in self.dims]) for r in self.rules],
                                     np.int64)

    def minimal(self) -> MappingArrays:
        """The mapping with the smallest tiles: every free factor at the outermost slot, bypass where free."""
        choice = np.zeros((1, self.n_dims), np.int64)
        for k, o in enumerate(self.options):
            choice[0, k] = int(np.lexsort(o.T[::-1])[-1])  # most weight in slot 0 (outermost)
        perm_idx = np.zeros((1, self.n_levels), np.int64)
        axis_bits = np.zeros((1, self.n_levels, self.n_dims), bool)
        keep_bits = np.zeros((1, len(self.free_keeps)), bool)
        return self._assemble(choice, perm_idx, axis_bits, keep_bits)


@functools.lru_cache(maxsize=512)
def _classes(fixed: tuple[str, ...], free: tuple[str, ...], pairs: tuple[tuple[str, str], ...],
             dims: tuple[str, ...]) -> np.ndarray:
    """One representative order (as dim indices, innermost first) per class of equivalent orders."""
    k_of = {d: k for k, d in enumerate(dims)}
    active = set(fixed) | set(free)
    used = [(x, y) for x, y in pairs if x in active and y in active]
    seen: dict[tuple[bool, ...], list[str]] = {}
    for perm in itertools.permutations(free):
        order = list(fixed) + list(perm)
        pos = {d: n for n, d in enumerate(order)}
        seen.setdefault(tuple(pos[x] < pos[y] for x, y in used), order)
    rows = []
    for order in seen.values():
        full = order + [d for d in dims if d not in order]
        rows.append([k_of[d] for d in full])
    return np.array(rows, np.int64)
