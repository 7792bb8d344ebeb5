"""Safe, bounded YAML reading for user specs: one place that every spec reader goes through.

A spec is untrusted. Before any Python object is built, one pass over the parser's events (libyaml where
installed) counts what the document would become: nesting depth, nodes *after alias expansion* (so a
billion-laughs file is refused after a few thousand events, before any value exists to be printed or
hashed), scalar length and the time spent. Duplicate keys are refused (never last-wins), a malformed
`!!timestamp` or a 5,000-digit integer is a clear error, and Timeloop's `!Container`-style tags become dicts
with `_tag`. Every problem is one StationaryError naming the file and the line; RecursionError never escapes.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, Event, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from stationary.errors import StationaryError

MAX_SPEC_BYTES = 4 << 20  # a spec larger than 4 MiB is refused rather than parsed
MAX_DEPTH = 64  # nesting of mappings and sequences, aliases expanded (real specs stay under ~15)
MAX_NODES = 100_000  # nodes after alias expansion (the largest shipped spec has under 2,000)
MAX_SCALAR_CHARS = 65_536  # characters in one scalar (key or value)
MAX_INT_DIGITS = 100  # an integer scalar longer than this is no size, bound or count
MAX_PARSE_SECONDS = 20.0  # wall-clock bound on reading one spec; the counts above keep real files far below
_TICK = 1024  # check the clock every this many events / objects

_EventParser: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when installed


class _Limits:
    """The bounds one read runs under (tests shrink them; the defaults are the module constants)."""

    def __init__(self, max_depth: int, max_nodes: int, max_scalar_chars: int, max_seconds: float) -> None:
        self.max_depth, self.max_nodes, self.max_scalar_chars = max_depth, max_nodes, max_scalar_chars
        self.deadline = time.monotonic() + max_seconds
        self.max_seconds = max_seconds

    def check_time(self, mark: Any) -> None:
        if time.monotonic() > self.deadline:
            raise _Refused(f"reading took longer than {self.max_seconds:g} s", mark)


class _Refused(Exception):
    """A limit was hit: message and the parser mark (line) where it was."""

    def __init__(self, message: str, mark: Any = None) -> None:
        super().__init__(message)
        self.message, self.mark = message, mark


def _line(mark: Any) -> str:
    return f" at line {mark.line + 1}" if mark is not None else ""


def _count_events(text: str, limits: _Limits) -> list[Event]:
    """All parser events of `text`, refusing as soon as the document would exceed a limit.

    Each anchor remembers the nodes and the nesting height of its subtree, so an alias adds what it would
    expand to; an alias to a node that is still open (a recursive structure) is refused outright.
    """
    events: list[Event] = []
    anchors: dict[str, tuple[int, int] | None] = {}  # anchor -> (expanded nodes, height); None while open
    stack: list[list[Any]] = []  # per open collection: [nodes counted before it, height of children, anchor]
    expanded = 0

    def add(nodes: int, height: int, mark: Any, alias: bool = False) -> None:
        nonlocal expanded
        expanded += nodes
        if expanded > limits.max_nodes:
            raise _Refused(f"the document expands to more than {limits.max_nodes:,} nodes (an alias counts as "
                           f"all it repeats): refused before building it", mark)
        if len(stack) + height > limits.max_depth:
            raise _Refused(f"nested deeper than {limits.max_depth} levels" + (" (aliases expanded)" if alias else ""),
                           mark)

    for i, event in enumerate(yaml.parse(text, Loader=_EventParser)):
        if i % _TICK == 0:
            limits.check_time(event.start_mark)
        events.append(event)
        mark = event.start_mark
        if isinstance(event, ScalarEvent):
            if len(event.value) > limits.max_scalar_chars:
                raise _Refused(f"a scalar of {len(event.value):,} characters exceeds the limit of "
                               f"{limits.max_scalar_chars:,}", mark)
            add(1, 0, mark)
            if event.anchor is not None:
                anchors[event.anchor] = (1, 0)
        elif isinstance(event, CollectionStartEvent):
            add(1, 1, mark)
            stack.append([expanded - 1, 0, event.anchor])
            if event.anchor is not None:
                anchors[event.anchor] = None
        elif isinstance(event, CollectionEndEvent):
            before, height, anchor = stack.pop()
            if anchor is not None:
                anchors[anchor] = (expanded - before, height + 1)
            if stack:
                stack[-1][1] = max(stack[-1][1], height + 1)
        elif isinstance(event, AliasEvent):
            if event.anchor not in anchors:
                raise _Refused(f"undefined alias *{event.anchor}", mark)
            size = anchors[event.anchor]
            if size is None:
                raise _Refused(f"alias *{event.anchor} refers to a node that contains it (a recursive "
                               f"structure)", mark)
            add(size[0], size[1], mark, alias=True)
            if stack:
                stack[-1][1] = max(stack[-1][1], size[1])
    return events


class _EventFeed:
    """The parser interface the Composer needs, served from events already counted."""

    def __init__(self, events: list[Event]) -> None:
        self._events, self._next = events, 0

    def check_event(self, *choices: type) -> bool:
        if self._next >= len(self._events):
            return False
        return not choices or isinstance(self._events[self._next], choices)

    def peek_event(self) -> Event:
        return self._events[self._next]

    def get_event(self) -> Event:
        event = self._events[self._next]
        self._next += 1
        return event

    def dispose(self) -> None:
        self._events = []


class _SpecLoader(_EventFeed, Composer, SafeConstructor, Resolver):
    """Composer + SafeConstructor over counted events: duplicate keys refused, scalar errors located, any
    `!Tag` mapping turned into a dict with `_tag: "Tag"` (never constructs objects)."""

    def __init__(self, events: list[Event], limits: _Limits) -> None:
        _EventFeed.__init__(self, events)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._limits, self._built = limits, 0

    def compose_mapping_node(self, anchor: str | None) -> MappingNode:
        node = super().compose_mapping_node(anchor)
        seen: dict[tuple[str, str], Node] = {}
        for key, _ in node.value:
            if not isinstance(key, ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                continue
            first = seen.setdefault((key.tag, key.value), key)
            if first is not key:
                raise _Refused(f"duplicate key `{key.value[:80]}` (first at line {first.start_mark.line + 1})",
                               key.start_mark)
        return node

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        self._built += 1
        if self._built % _TICK == 0:
            self._limits.check_time(node.start_mark)
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError, TypeError, KeyError, IndexError) as exc:  # a value its tag cannot hold
            text = node.value if isinstance(node, ScalarNode) else ""
            tag = node.tag.rsplit(":", 1)[-1]
            reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
            raise _Refused(f"invalid {tag} value {text[:40]!r}: {reason}", node.start_mark) from None

    def construct_yaml_int(self, node: ScalarNode) -> int:
        if len(node.value) > MAX_INT_DIGITS:
            raise _Refused(f"an integer of {len(node.value):,} digits is out of range", node.start_mark)
        return super().construct_yaml_int(node)


def _tagged(loader: _SpecLoader, suffix: str, node: Node) -> Any:
    if isinstance(node, MappingNode):
        data = loader.construct_mapping(node, deep=True)
        data["_tag"] = suffix
        return data
    if isinstance(node, SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_SpecLoader.add_multi_constructor("!", _tagged)
_SpecLoader.add_constructor("tag:yaml.org,2002:int", _SpecLoader.construct_yaml_int)
# YAML 1.2 (and Timeloop's yaml-cpp) read `1e-3` as a number; PyYAML's YAML 1.1 rules would make it a string.
_SpecLoader.add_implicit_resolver("tag:yaml.org,2002:float",
                                  re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)[eE][-+]?[0-9]+$"),
                                  list("-+0123456789."))


def parse_yaml(text: str, file: str = "<yaml>", *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES,
               max_scalar_chars: int = MAX_SCALAR_CHARS, max_seconds: float = MAX_PARSE_SECONDS) -> Any:
    """Parse YAML text under the limits above; every problem is one StationaryError naming `file` and a line."""
    limits = _Limits(max_depth, max_nodes, max_scalar_chars, max_seconds)
    try:
        events = _count_events(text, limits)
        loader = _SpecLoader(events, limits)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except _Refused as exc:
        raise StationaryError(f"{exc.message}{_line(exc.mark)}", file=file) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise StationaryError(f"malformed YAML{where}: {problem}", file=file) from None
    except RecursionError:
        raise StationaryError(f"nested too deeply to read (limit {max_depth} levels)", file=file) from None


def load_yaml(path: str | Path) -> Any:
    """Parse a YAML file safely; missing, oversized, malformed or over-limit files raise StationaryError."""
    p = Path(path)
    if not p.is_file():
        raise StationaryError("file not found", file=str(p))
    if p.stat().st_size > MAX_SPEC_BYTES:
        raise StationaryError(f"spec is larger than {MAX_SPEC_BYTES >> 20} MiB", file=str(p))
    return parse_yaml(read_text(p, MAX_SPEC_BYTES), str(p))


def read_text(path: str | Path, max_bytes: int) -> str:
    """A UTF-8 text file of at most `max_bytes` (read no further than that), else one StationaryError."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise StationaryError(f"cannot read: {exc.strerror or exc}", file=str(p)) from None
    if len(raw) > max_bytes:
        raise StationaryError(f"file is larger than {max_bytes:,} bytes", file=str(p))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StationaryError("not a UTF-8 text file", file=str(p)) from None


def require(data: Any, key: str, file: str, kind: type | tuple[type, ...] = object, where: str = "") -> Any:
    """data[key] with a clear error naming the file and field when it is missing or of the wrong type."""
    field = f"{where}.{key}" if where else key
    if not isinstance(data, dict) or key not in data:
        raise StationaryError("missing", file=file, field=field)
    value = data[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise StationaryError(f"expected {names}, got {type(value).__name__}", file=file, field=field)
    return value
