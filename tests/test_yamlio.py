"""Bounded YAML reading: every limit is one StationaryError naming the file and line, before any value is built."""

from __future__ import annotations

import pytest

from stationary import yamlio
from stationary.errors import StationaryError
from stationary.yamlio import load_yaml, parse_yaml


def refused(text: str, match: str, **limits: float) -> StationaryError:
    with pytest.raises(StationaryError, match=match) as exc:
        parse_yaml(text, "spec.yaml", **limits)  # type: ignore[arg-type]
    assert exc.value.file == "spec.yaml"
    return exc.value


def laughs(levels: int, width: int = 9) -> str:
    text = "a0: &a0 [" + ", ".join(["lol"] * width) + "]\n"
    for i in range(1, levels):
        text += f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]\n"
    return text


def test_billion_laughs_is_refused_before_anything_is_built(monkeypatch) -> None:
    def no_construction(*args: object, **kw: object) -> None:
        raise AssertionError("a value was constructed")

    monkeypatch.setattr(yamlio._SpecLoader, "construct_object", no_construction)
    refused(laughs(10), "expands to more than 100,000 nodes")


def test_alias_expansion_is_counted_exactly() -> None:
    # 3 levels of 9 x 9 x 9 'lol's: 9 + 81 + 729 scalars plus the lists and keys, far from the limit ...
    assert parse_yaml(laughs(3))["a2"][0][0] == ["lol"] * 9
    # ... and the count is what the document expands to: 3 keys + 3 root lists + 9 + 81 + 729 + 1 + 9 + 81 (lists)
    expanded = 1 + 3 + (1 + 9) + (1 + 9 + 81) + (1 + 9 + 81 + 729)
    assert parse_yaml(laughs(3), max_nodes=expanded)
    refused(laughs(3), "expands to more than", max_nodes=expanded - 1)


def test_merge_key_bomb_is_refused() -> None:
    text = "a0: &a0 {k: 1}\n" + "".join(f"a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}]}}\n" for i in range(1, 40))
    refused(text, "expands to more than")


@pytest.mark.parametrize("text", ["[" * 5000 + "]" * 5000,
                                  "".join("  " * i + f"k{i}:\n" for i in range(3000)) + "  " * 3000 + "v\n",
                                  "{a: " * 3000 + "1" + "}" * 3000])
def test_deep_nesting_is_one_error_not_a_recursion_error(text: str) -> None:
    refused(text, "nested deeper than 64 levels")


def test_depth_counts_what_aliases_expand_to() -> None:
    inner = "[" * 40 + "]" * 40
    refused(f"a: &a {inner}\nb: [[[[[[[[[[[[[[[[[[[[[[[[[[*a]]]]]]]]]]]]]]]]]]]]]]]]]\n", r"\(aliases expanded\)")


def test_recursive_alias_is_refused() -> None:
    refused("a: &a [1, *a]\n", "contains it")


def test_duplicate_keys_name_the_key_and_lines() -> None:
    err = refused("name: x\nlevels: []\nname: y\n", "duplicate key `name`")
    assert "first at line 1" in str(err) and "at line 3" in str(err)
    refused("a: {b: 1, 'b': 2}\n", "duplicate key `b`")


def test_merge_keys_override_without_being_duplicates() -> None:
    text = "base: &b {x: 1, y: 1}\na: {d: &d {<<: *b, x: 2}}\ne: {<<: *d, y: 3}\n"
    assert parse_yaml(text)["e"] == {"x": 2, "y": 3}


@pytest.mark.parametrize("text, match", [
    ("a: !!timestamp 2020-99-99\n", "invalid timestamp"),
    ("a: 2021-13-45\n", "invalid timestamp"),
    ("a: " + "9" * 5000 + "\n", "integer of 5,000 digits"),
    ("a: !!int " + "1" * 4400 + "\n", "integer of 4,400 digits"),
    ("a: !!bool maybe\n", "invalid bool value 'maybe'"),
    ("a: !!int 1.5\n", "invalid int value '1.5'"),
    ("a: !!float abc\n", "invalid float value 'abc'"),
])
def test_bad_scalars_are_one_error(text: str, match: str) -> None:
    err = refused(text, match)
    assert "line 1" in str(err)


def test_scalar_length_and_time_are_bounded() -> None:
    refused("a: " + "x" * 70_000 + "\n", "scalar of 70,000 characters")
    refused("a: 1\n", "took longer than 0 s", max_seconds=0.0)  # the clock is checked on the first event


def test_a_large_file_of_anchors_is_refused_at_the_node_limit(tmp_path) -> None:
    path = tmp_path / "anchors.yaml"
    with path.open("w") as fh:
        size, i = 0, 0
        while size < 3_900_000:
            line = f"k{i}: &a{i} [v]\nr{i}: *a{i}\n"
            fh.write(line)
            size, i = size + len(line), i + 1
    with pytest.raises(StationaryError, match="expands to more than") as exc:
        load_yaml(path)
    assert exc.value.file == str(path)


def test_timeloop_tags_and_plain_specs_still_load() -> None:
    data = parse_yaml("arch: !Container {name: PE, attributes: {depth: 16}}\ngroup: !Parallel [a, b]\n"
                      "plain: {x: 1.5, y: [1, 2], z: null, w: true}\n")
    assert data["arch"] == {"name": "PE", "attributes": {"depth": 16}, "_tag": "Container"}
    assert data["group"] == ["a", "b"]
    assert data["plain"] == {"x": 1.5, "y": [1, 2], "z": None, "w": True}


def test_code_execution_tags_and_malformed_files(tmp_path) -> None:
    refused("a: !!python/object/apply:os.system ['true']\n", "could not determine a constructor")
    refused("a: [1, 2\n", "malformed YAML at line")
    refused("a: 1\n---\nb: 2\n", "malformed YAML")
    raw = tmp_path / "latin1.yaml"
    raw.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(StationaryError, match="not a UTF-8 text file"):
        load_yaml(raw)
    with pytest.raises(StationaryError, match="file not found"):
        load_yaml(tmp_path / "missing.yaml")


def test_exponent_floats_are_numbers_as_in_yaml_1_2() -> None:
    """PyYAML's YAML 1.1 rules read `1e-3` as a string; Timeloop (yaml-cpp) and YAML 1.2 read a number."""
    assert parse_yaml("a: [1e-3, 2E3, -1.5e+2, 1e, 12, 0x1f]") == {"a": [0.001, 2000.0, -150.0, "1e", 12, 31]}
