"""Reading scheme files: bounded in size and in YAML alias expansion, every defect collected.

The service checks every shipped and operator scheme when it starts (``check_at_start``); a bad
file stops the start with every defect of every file named. After that the schemes are held in
memory (``schemes()``), never parsed again.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from pydantic import ValidationError

from services.evaluation.schemes.checks import Defect, check_scheme
from services.evaluation.schemes.model import KINDS, Scheme
from services.kernel.errors import not_found

DATA = Path(__file__).parents[1] / "data"
SCHEMES = DATA / "schemes"


@dataclass(frozen=True)
class Limits:
    """How large a scheme file may be: in bytes, and in YAML nodes once aliases are expanded."""

    max_bytes: int
    max_nodes: int


@lru_cache(maxsize=1)
def limits() -> Limits:
    """The ``schemes`` part of ``data/evaluation.yaml``."""
    data = yaml.safe_load((DATA / "evaluation.yaml").read_text("utf-8"))["schemes"]
    return Limits(max_bytes=int(data["max_bytes"]), max_nodes=int(data["max_nodes"]))


@dataclass(frozen=True)
class Catalogue:
    """What a set of folders holds: the valid schemes, and every defect found."""

    schemes: Mapping[tuple[str, int], Scheme]
    defects: tuple[Defect, ...]


# --- one file -------------------------------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (plain YAML keeps the last,
    silently: a second ``leading:`` would quietly replace the first). A key that overrides one
    brought in by a merge (``<<: *base``) is not a duplicate."""

    def construct_mapping(self, node: yaml.MappingNode,  # type: ignore[override]
                          deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # an unhashable key: the base loader says so
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"duplicate key {str(key)[:80]!r} (first given at line {first})",
                        key_node.start_mark)
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)



def _path(loc: tuple[int | str, ...]) -> str:
    """pydantic's error location → ``categories[2].indicators[5].leading``."""
    out = ""
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(previous, int) and part in KINDS:
            pass  # the discriminated union inserts the kind as a location step; not a key
        elif part in ("str", "dict[str,constrained-str]") and out.endswith("source"):
            pass  # the two forms of ``source:``; the message says which was expected
        else:
            out += f".{part}" if out else str(part)
        previous = part
    return out


def scheme_defects(raw: Any, *, file: str) -> tuple[Scheme | None, list[Defect]]:
    """A scheme from already-parsed YAML and every defect found in it."""
    if not isinstance(raw, dict):
        return None, [Defect(file, "", "a scheme file must be a mapping of keys")]
    try:
        scheme = Scheme.model_validate(raw)
    except ValidationError as exc:
        found: list[Defect] = []
        errors = exc.errors(include_url=False)
        for error in errors:
            loc = tuple(error["loc"])
            if error["type"] == "too_short" and any(
                    tuple(other["loc"])[:len(loc)] == loc and len(other["loc"]) > len(loc)
                    for other in errors):
                continue  # a list whose items failed is "empty after validation": not a defect
            path = _path(error["loc"])
            if error["type"] == "union_tag_invalid":
                path += ".kind"
                problem = (f"unknown kind {error['ctx']['tag']!r}; "
                           f"expected one of {', '.join(KINDS)}")
            elif error["type"] == "union_tag_not_found":
                path += ".kind"
                problem = f"missing kind; expected one of {', '.join(KINDS)}"
            else:
                problem = error["msg"]
            if not any(d.path == path for d in found):  # ``source:`` fails both its forms
                found.append(Defect(file, path, problem))
        return None, found
    found = check_scheme(scheme, file)
    return (None if found else scheme), found


def parse_scheme(raw: Any, *, file: str) -> Scheme:
    """A scheme from already-parsed YAML, or ``scheme.invalid`` naming its first defect."""
    scheme, found = scheme_defects(raw, file=file)
    if scheme is None:
        raise found[0].error()
    return scheme


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Nodes in the document once every alias is expanded, counted without expanding."""
    key = id(node)
    if key in sizes:
        if sizes[key] < 0:
            raise ValueError("an alias refers to a node that contains it")
        return sizes[key]
    sizes[key] = -1
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total += sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    sizes[key] = total
    return total


def read_scheme_file(path: Path, *, bounds: Limits | None = None) -> tuple[Scheme | None,
                                                                            list[Defect]]:
    """Read, parse and check one file; its size is checked before a byte is read."""
    bounds = bounds or limits()
    name = path.name
    try:
        size = path.stat().st_size
        if not path.is_file():
            return None, [Defect(name, "", "not a regular file")]
        if size > bounds.max_bytes:
            return None, [Defect(name, "", f"file is {size} bytes, over the limit of "
                                           f"{bounds.max_bytes} bytes; not read")]
        with path.open("rb") as stream:
            data = stream.read(bounds.max_bytes + 1)
        if len(data) > bounds.max_bytes:
            return None, [Defect(name, "", f"file is over the limit of {bounds.max_bytes} "
                                           "bytes; not read")]
        text = data.decode("utf-8")
    except OSError as exc:
        return None, [Defect(name, "", f"cannot be read: {exc.strerror or exc}")]
    except UnicodeDecodeError as exc:
        return None, [Defect(name, "", f"not UTF-8 text (byte {exc.start})")]
    loader = _UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            size = _expanded_size(node, {})
            if size > bounds.max_nodes:
                return None, [Defect(name, "", f"expands to {size} YAML nodes (aliases "
                                               f"included), over the limit of {bounds.max_nodes}")]
        raw = None if node is None else loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        return None, [Defect(name, where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]
    except (ValueError, RecursionError) as exc:
        return None, [Defect(name, "", f"not a usable YAML document: {exc}")]
    finally:
        loader.dispose()
    return scheme_defects(raw, file=name)


# --- folders --------------------------------------------------------------------------------------


def collect(folders: Iterable[Path], *, shipped: Mapping[tuple[str, int], Scheme] | None = None,
            bounds: Limits | None = None) -> Catalogue:
    """Every ``*.yaml`` in ``folders``, every defect of every file (a ``*.yml`` is one: it would
    be ignored). Two files may not claim the same (id, version), nor redefine one of
    ``shipped``."""
    found: dict[tuple[str, int], Scheme] = {}
    origin: dict[tuple[str, int], str] = {}
    defects: list[Defect] = []
    for folder in folders:
        if not folder.is_dir():
            defects.append(Defect(str(folder), "", "not a folder"))
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in (".yml", ".yaml") and path.suffix != ".yaml":
                defects.append(Defect(path.name, "", f"not read: a scheme file's name ends in "
                                                     f".yaml, not {path.suffix}", str(folder)))
        for path in sorted(folder.glob("*.yaml")):
            scheme, problems = read_scheme_file(path, bounds=bounds)
            defects += [dataclasses.replace(d, folder=str(folder)) for d in problems]
            if scheme is None:
                continue
            if shipped is not None and scheme.key in shipped:
                defects.append(Defect(path.name, "version",
                                      f"{scheme.id} version {scheme.version} is shipped already; "
                                      "a new version needs a new number", str(folder)))
            elif scheme.key in found:
                defects.append(Defect(path.name, "version",
                                      f"{scheme.id} version {scheme.version} is already defined "
                                      f"in {origin[scheme.key]}", str(folder)))
            else:
                found[scheme.key], origin[scheme.key] = scheme, path.name
    return Catalogue(MappingProxyType(found), tuple(defects))


def catalogue() -> Catalogue:
    """The shipped schemes plus an operator's folder (``GL_SCHEMES_DIR``): a new industry
    scheme or a new version of one arrives as a file there, with no release. A file there may
    not redefine a shipped (id, version): a pinned version never changes."""
    shipped = collect([SCHEMES])
    extra = os.environ.get("GL_SCHEMES_DIR")
    if not extra:
        return shipped
    operator = collect([Path(extra)], shipped=shipped.schemes)
    return Catalogue(MappingProxyType({**shipped.schemes, **operator.schemes}),
                     shipped.defects + operator.defects)


@lru_cache(maxsize=1)
def _shipped() -> Catalogue:
    """Every scheme and defect, read once and then held for the life of the process."""
    return catalogue()


def reload_schemes() -> None:
    """Forget the schemes held: the next use reads every file again (tests that change
    ``GL_SCHEMES_DIR``; the service itself reads them once)."""
    _shipped.cache_clear()


def check_at_start() -> tuple[Defect, ...]:
    """Every defect of every shipped and operator scheme file; none: the schemes are loaded and
    held for the life of the process."""
    return _shipped().defects


def schemes() -> Mapping[tuple[str, int], Scheme]:
    """All schemes keyed by (id, version); loaded and validated once. A defect (which stops the
    service's start) is refused here too, naming the first one."""
    held = _shipped()
    if held.defects:
        raise held.defects[0].error()
    return held.schemes


def get_scheme(scheme_id: str, version: int | None = None) -> Scheme:
    """A scheme; the highest version of ``scheme_id`` when ``version`` is None."""
    held = schemes()
    if version is None:
        versions = [v for (sid, v) in held if sid == scheme_id]
        if versions:
            return held[(scheme_id, max(versions))]
    elif (scheme_id, version) in held:
        return held[(scheme_id, version)]
    raise not_found("scheme.unknown", id=scheme_id,
                    version="latest" if version is None else str(version))
