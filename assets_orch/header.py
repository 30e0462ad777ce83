"""The metadata header of a SQL asset: YAML inside the leading ``--`` comment lines.

A header is the run of ``--`` comment lines at the top of a file. Lines that start a
``key:`` entry (a lower-case word followed by a colon) and the more-indented lines
after them are metadata, read as YAML; any other header line is prose and becomes
the description when no ``description:`` key is given. Any SQL tool can still read
the file, because the header is only comments.

>>> h = parse_header("-- Orders per day.\\n-- tags: [finance]\\nselect 1", path="x.sql")
>>> h.values, h.prose
({'tags': ['finance']}, 'Orders per day.')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

from .errors import MetadataError
from .metadata import METADATA_KEYS, AssetMeta

_KEY_LINE = re.compile(r"^([a-z_][a-z0-9_]*)\s*:(\s|$)")


@dataclass(frozen=True)
class Header:
    """What the leading comment block of a SQL file says."""

    values: dict[str, Any]
    prose: str | None
    key_lines: dict[str, int] = field(default_factory=dict)  # key -> 1-based line


def _comment_body(line: str) -> str | None:
    stripped = line.lstrip()
    if not stripped.startswith("--"):
        return None
    body = stripped[2:]
    return body[1:] if body.startswith(" ") else body


def parse_header(text: str, *, path: str) -> Header:
    """Read the metadata header of a SQL file (see module docstring for the format)."""
    yaml_lines: list[str] = []
    prose: list[str] = []
    key_lines: dict[str, int] = {}
    yaml_first_line: list[int] = []  # file line of each yaml line
    in_entry = False
    lines = text.removeprefix("\ufeff").splitlines()  # a UTF-8 byte order mark
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            break
        body = _comment_body(line)
        if body is None:
            break
        match = _KEY_LINE.match(body)
        if match:
            key = match.group(1)
            if key in key_lines:
                raise MetadataError(
                    f"metadata key '{key}' is given twice (first on line {key_lines[key]})",
                    path=path,
                    line=number,
                )
            key_lines[key] = number
            in_entry = True
        elif in_entry and body[:1] in (" ", "\t", "-") and body.strip():
            pass  # continuation of the previous entry
        else:
            in_entry = False
            if body.strip():
                prose.append(body.strip())
            continue
        yaml_lines.append(body)
        yaml_first_line.append(number)
    values: dict[str, Any] = {}
    if yaml_lines:
        try:
            loaded = _load_yaml("\n".join(yaml_lines))
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            line_no = yaml_first_line[min(mark.line, len(yaml_first_line) - 1)] if mark else None
            problem = getattr(e, "problem", None) or str(e)
            raise MetadataError(
                f"metadata header is not valid YAML: {problem}",
                path=path,
                line=line_no,
                hint="write one 'key: value' per comment line, e.g. '-- tags: [finance, daily]'",
            ) from e
        if isinstance(loaded, dict):
            # YAML 1.1 reads the bare key `on:` as the boolean true; it is our `on` key.
            values = {("on" if k is True else k): v for k, v in loaded.items()}
    return Header(values=values, prose=" ".join(prose) or None, key_lines=key_lines)


def item_lines(text: str, key_line: int) -> list[int]:
    """The lines where the items of the YAML list under the key on ``key_line`` start.

    >>> text = "-- checks:\\n--   - not_null: a\\n--   - expression: >\\n--       a > 0\\n"
    >>> item_lines(text + "--   - unique: [a]\\n-- tags: [x]\\nselect 1", 1)
    [2, 3, 5]
    """
    lines = text.splitlines()
    out: list[int] = []
    indent: int | None = None
    for number in range(key_line + 1, len(lines) + 1):
        body = _comment_body(lines[number - 1])
        if body is None or not body.strip() or _KEY_LINE.match(body):
            break
        stripped = body.lstrip()
        if stripped == "-" or stripped.startswith("- "):
            depth = len(body) - len(stripped)
            indent = depth if indent is None else indent
            if depth == indent:
                out.append(number)
    return out


def _load_yaml(text: str) -> Any:
    """``yaml.safe_load``, with libyaml's scanner when installed (~10x faster per header).

    On an error the pure-Python loader runs again, so that messages stay the same.
    """
    try:
        return yaml.load(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        return yaml.safe_load(text)


_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def meta_from_values(
    values: dict[str, Any],
    *,
    path: str,
    key_lines: dict[str, int] | None = None,
    default_line: int | None = None,
    prose: str | None = None,
) -> AssetMeta:
    """Validate metadata values into an :class:`AssetMeta`, with errors naming the key's line.

    >>> meta_from_values({"owner": "me"}, path="a.sql").owner
    'me'
    """
    key_lines = key_lines or {}
    data = dict(values)
    if prose and "description" not in data:
        data["description"] = prose
    try:
        return AssetMeta.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        loc = first.get("loc", ())
        key = str(loc[0]) if loc else ""
        where = ".".join(str(p) for p in loc)
        if first.get("type") == "extra_forbidden":
            close = _closest(key, METADATA_KEYS)
            hint = f"did you mean '{close}'? " if close else ""
            raise MetadataError(
                f"unknown metadata key '{key}'",
                path=path,
                line=key_lines.get(key, default_line),
                hint=f"{hint}known keys: {', '.join(METADATA_KEYS)}",
            ) from e
        raise MetadataError(
            f"invalid metadata '{where}': {first.get('msg')}",
            path=path,
            line=key_lines.get(key, default_line),
        ) from e


def _closest(word: str, choices: tuple[str, ...] | list[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def closest_name(word: str, choices: list[str] | tuple[str, ...]) -> str | None:
    """The choice most like ``word`` (for 'did you mean' hints), or None.

    >>> closest_name("stg_ordrs", ["stg_orders", "customers"])
    'stg_orders'
    """
    return _closest(word, choices)
