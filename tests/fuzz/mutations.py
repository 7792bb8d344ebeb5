"""Hypothesis strategies that turn a valid spec into a hostile one: a deleted key, a changed type, an
out-of-range or evil value, a misspelt or unknown key, deep nesting, YAML bombs, broken syntax."""

from __future__ import annotations

import copy
import math
from typing import Any

import yaml
from hypothesis import strategies as st

EVIL_TEXT = ["", " ", "abc", "1e400", "nan", "inf", "-1", "0", "2.5", "1_000", "0x10", "\uff18", "Weights",
             "DRAM", "None", "true", "x" * 300, "a" * 70_000, "%(x)s", "\x00", "../../etc/passwd", "é"]
EVIL_NUMBERS = [0, -1, 1, 2, 2**31, 2**63, 2**64 + 1, 10**30, 0.5, 2.5, -0.0, 1e-300, 1e308, math.inf, -math.inf,
                math.nan]

evil_scalars = st.one_of(
    st.none(), st.booleans(), st.sampled_from(EVIL_NUMBERS), st.sampled_from(EVIL_TEXT),
    st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
evil_values = st.one_of(
    evil_scalars, st.lists(evil_scalars, max_size=3),
    st.dictionaries(st.text(max_size=6), evil_scalars, max_size=2),
    st.integers(65, 120).map(lambda n: _deep(n)))


def _deep(n: int) -> Any:
    v: Any = 1
    for i in range(n):
        v = [v] if i % 2 else {"k": v}
    return v


def _paths(doc: Any, limit: int = 4000) -> list[tuple[Any, ...]]:
    """Paths to every node (dict keys / list indices), breadth first, at most `limit`."""
    out: list[tuple[Any, ...]] = [()]
    queue: list[tuple[tuple[Any, ...], Any]] = [((), doc)]
    while queue and len(out) < limit:
        path, node = queue.pop(0)
        children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in children:
            out.append((*path, key))
            queue.append(((*path, key), child))
    return out


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _typo(key: str, choice: int) -> str:
    if not key:
        return "x"
    return [key.upper(), key + "s", key[:-1], key.replace("_", ""), key.capitalize() + "_", "_" + key][choice % 6]


@st.composite
def mutated_documents(draw: st.DrawFn, doc: Any) -> Any:
    """`doc` with one to three mutations applied at random nodes."""
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)))
        op = draw(st.sampled_from(["delete", "replace", "replace", "number", "rename", "add_key", "wrap", "string",
                                   "duplicate"]))
        node = _get(doc, path)
        parent = _get(doc, path[:-1]) if path else None
        key = path[-1] if path else None
        if op == "delete":
            if parent is None:
                doc = draw(st.sampled_from([None, {}, [], "x"]))
            else:
                del parent[key]
            continue
        if op == "rename" and isinstance(parent, dict) and isinstance(key, str):
            parent[_typo(key, draw(st.integers(0, 5)))] = parent.pop(key)
            continue
        if op == "add_key" and isinstance(node, dict):
            names = [k for k in node if isinstance(k, str)]
            new = _typo(draw(st.sampled_from(names)), draw(st.integers(0, 5))) if names else "bogus"
            node[draw(st.sampled_from([new, "bogus", "_tag"]))] = draw(evil_values)
            continue
        if op == "duplicate" and isinstance(node, list) and node:
            node.append(copy.deepcopy(node[draw(st.integers(0, len(node) - 1))]))
            continue
        if op == "number" and isinstance(node, int | float) and not isinstance(node, bool):
            value = draw(st.sampled_from([node * 0, -node, node + 0.5, node * 10**9, node * 2, node - 1, float(node)]
                                         + EVIL_NUMBERS))
        elif op == "wrap":
            value = draw(st.sampled_from([[node], {"value": node}]))
        elif op == "string" and not isinstance(node, dict | list):
            value = str(node)
        else:
            value = draw(evil_values)
        if parent is None:
            doc = value
        else:
            parent[key] = value
    return doc


def bomb(levels: int) -> str:
    text = "zz_l0: &zz0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for i in range(1, levels):
        text += f"zz_l{i}: &zz{i} [" + ", ".join([f"*zz{i - 1}"] * 9) + "]\n"
    return text


TEXT_ATTACKS = {
    "bomb": lambda text, n: text + bomb(6 + n % 6),
    "bomb_reused": lambda text, n: bomb(8) + text.replace(": 1\n", ": *zz7\n", 1),
    "deep_list": lambda text, n: text + "zz_deep: " + "[" * (60 + n) + "]" * (60 + n) + "\n",
    "deep_map": lambda text, n: text + "zz_deep:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(60 + n))
    + "  " * (61 + n) + "v\n",
    "duplicate_key": lambda text, n: text + text.splitlines()[0] + "\n" if text.strip() else text,
    "truncate": lambda text, n: text[: max(0, len(text) * (n % 97) // 97)],
    "garbage": lambda text, n: text[: n % (len(text) + 1)] + ["\t", "\x00", "{", "]", ":", "- ", "&a", "*b", "!x",
                                                             "\ufeff", "'", "\\"][n % 12] + text[n % (len(text) + 1):],
    "python_tag": lambda text, n: text + "zz_exec: !!python/object/apply:os.system ['true']\n",
    "bad_timestamp": lambda text, n: text + "zz_when: !!timestamp 2020-99-99\n",
    "bad_scalar_tag": lambda text, n: text + ["zz: !!float abc\n", "zz: !!int 1.5\n", "zz: !!binary zz\n",
                                             "zz: !!bool maybe\n"][n % 4],
    "huge_int": lambda text, n: text + "zz_big: " + "9" * (4000 + n * 50) + "\n",
    "recursive_alias": lambda text, n: text + "zz_self: &zz_self [1, *zz_self]\n",
    "undefined_alias": lambda text, n: text + "zz_undef: *nowhere\n",
    "long_scalar": lambda text, n: text + "zz_long: " + "x" * 70_000 + "\n",
}


def dump(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


@st.composite
def hostile_yaml(draw: st.DrawFn, seeds: list[tuple[str, Any]]) -> tuple[int, str]:
    """(seed index, YAML text): a seed's document mutated and dumped, then (sometimes) attacked as text."""
    index = draw(st.integers(0, len(seeds) - 1))
    text, doc = seeds[index]
    if draw(st.booleans()):
        text = dump(draw(mutated_documents(doc)))
    if draw(st.integers(0, 2)) == 0:
        attack = draw(st.sampled_from(sorted(TEXT_ATTACKS)))
        text = TEXT_ATTACKS[attack](text, draw(st.integers(0, 300)))
    return index, text


# ----- line formats (SCALE-Sim .cfg and topology CSV) ----------------------------------------------------

CFG_VALUES = EVIL_TEXT + ["0", "1", "7", "65536", "65537", "999999999999", "-5", "ws", "os", "is", "rs", "USER",
                          "CALC", "True", "False", "10,20", "1e3", "32 # comment"]


@st.composite
def hostile_cfg(draw: st.DrawFn, text: str) -> str:
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["value", "value", "delete", "rename", "duplicate", "section", "garbage", "long"]))
        line = lines[i]
        sep = ":" if ":" in line else "=" if "=" in line else None
        if op == "value" and sep:
            lines[i] = line.split(sep, 1)[0] + sep + " " + draw(st.sampled_from(CFG_VALUES))
        elif op == "delete":
            del lines[i]
        elif op == "rename" and sep:
            key, rest = line.split(sep, 1)
            lines[i] = _typo(key.strip(), draw(st.integers(0, 5))) + sep + rest
        elif op == "duplicate":
            lines.insert(i, line)
        elif op == "section":
            lines.insert(i, draw(st.sampled_from(["[bogus]", "[general]", "[", "[layout", "ArrayHeight: 8"])))
        elif op == "garbage":
            lines[i] = line + draw(st.sampled_from(["\x00", "%", "%(a)s", "\\", "\t", "]["]))
        elif op == "long":
            lines[i] = line + "9" * draw(st.sampled_from([100, 5000, 300_000]))
    return "\n".join(lines) + "\n"


CSV_CELLS = EVIL_TEXT + ["0", "1", "3", "11", "224", "4096", "100000", "1.5", " 7 ", "+3", "-3", "9" * 40]


@st.composite
def hostile_csv(draw: st.DrawFn, text: str) -> str:
    rows = [ln.split(",") for ln in text.splitlines()]
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["cell", "cell", "cell", "drop_cell", "add_cell", "drop_row", "dup_row", "header",
                                   "empty", "many_rows", "long_line"]))
        if not rows:
            break
        r = draw(st.integers(0, len(rows) - 1))
        c = draw(st.integers(0, max(0, len(rows[r]) - 1)))
        if op == "cell" and rows[r]:
            rows[r][c] = draw(st.sampled_from(CSV_CELLS))
        elif op == "drop_cell" and rows[r]:
            del rows[r][c]
        elif op == "add_cell":
            rows[r].insert(c, draw(st.sampled_from(CSV_CELLS)))
        elif op == "drop_row":
            del rows[r]
        elif op == "dup_row":
            rows.insert(r, list(rows[r]))
        elif op == "header":
            rows[0] = draw(st.sampled_from([["Layer", " M", " N", " K", ""], ["x"], []]))
        elif op == "empty":
            rows = []
        elif op == "many_rows":
            rows += [["L", "4", "4", "1", "1", "1", "1", "1", ""]] * draw(st.sampled_from([50, 10_001]))
        elif op == "long_line":
            rows[r].append("7" * 5000)
    return "\n".join(",".join(row) for row in rows) + "\n"


vary_items = st.lists(
    st.one_of(
        st.builds(lambda k, vs: f"{k}=" + ",".join(vs),
                  st.sampled_from(["pe_rows", "pe_cols", "glb_kb", "rf_bytes", "bits", "clock_mhz", "pe_rowz", ""]),
                  st.lists(st.sampled_from(["8", "12", "0", "-4", "2.5", "nan", "inf", "1e400", "1e3", "abc", "",
                                            "0x10", "64", "108", "16", "200", "1" * 30, "4000000"]),
                           min_size=1, max_size=3)),
        st.text(max_size=20)),
    min_size=1, max_size=3)
