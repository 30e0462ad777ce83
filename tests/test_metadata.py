"""Metadata headers, config validation and Python fingerprints."""

from __future__ import annotations

from pathlib import Path

import pytest

from assets_orch.config import load_config
from assets_orch.errors import ConfigError, MetadataError
from assets_orch.header import meta_from_values, parse_header
from assets_orch.python_assets import load_python_assets


def meta(text: str):  # type: ignore[no-untyped-def]
    h = parse_header(text, path="m.sql")
    return meta_from_values(h.values, path="m.sql", key_lines=h.key_lines, prose=h.prose)


def test_header_keys_prose_and_checks() -> None:
    m = meta(
        "-- Daily orders.\n-- tags: [a, b]\n-- owner: me\n-- checks:\n"
        "--   - not_null: x\n--   - {unique: [x, y], severity: warn}\nselect 1"
    )
    assert m.description == "Daily orders." and m.tags == ("a", "b") and m.owner == "me"
    assert [c.label for c in m.checks] == ["not_null(x)", "unique(x, y)"]
    assert m.checks[1].severity == "warn"


def test_header_stops_at_first_blank_line() -> None:
    m = meta("-- tags: [a]\n\n-- owner: not metadata\nselect 1")
    assert m.owner is None


def test_description_does_not_change_output_fingerprint() -> None:
    a = meta("-- description: one\n-- tags: [x]\nselect 1")
    b = meta("-- description: two\n-- owner: z\nselect 1")
    c = meta("-- checks:\n--   - not_null: x\nselect 1")
    assert a.output_fingerprint() == b.output_fingerprint() != c.output_fingerprint()


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("-- tgas: [x]\nselect 1", 1, "did you mean 'tags'"),
        ("-- tags: [x]\n-- retries: many\nselect 1", 2, "retries"),
        ("-- tags: [x\nselect 1", 1, "YAML"),
        ("-- checks:\n--   - nul: x\nselect 1", 1, "check"),
        ("-- timeout: soon\nselect 1", 1, "duration"),
        ("-- tags: [x]\n-- tags: [y]\nselect 1", 2, "twice"),
        ("-- tags: [x]\n-- freshness: {cron: at six}\nselect 1", 2, "cron expression"),
        ("-- freshness: {cron: 0 6 * * *, timezone: Mars/Base}\nselect 1", 1, "time zone"),
    ],
)
def test_bad_headers(text: str, line: int, needle: str) -> None:
    with pytest.raises(MetadataError) as info:
        meta(text)
    assert info.value.line == line and needle in str(info.value)


def test_config_errors(tmp_path: Path) -> None:
    (tmp_path / "assets.toml").write_text('name = "x"\n[defaults]\nretries = -1\n')
    with pytest.raises(ConfigError, match="retries"):
        load_config(tmp_path)
    (tmp_path / "assets.toml").write_text('name = "x\n')
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(tmp_path)


def _fingerprint(tmp_path: Path, source: str) -> str:
    path = tmp_path / "m.py"
    path.write_text(source)
    [loaded] = load_python_assets(path, f"assets/m{abs(hash(source))}.py")
    return loaded.fingerprint


BASE = '''from assets_orch import asset


@asset(description="one")
def a(up):
    """Docstring."""
    # comment
    return up.filter("x > 1")
'''


def test_python_fingerprint_ignores_docs_and_comments(tmp_path: Path) -> None:
    same = (
        BASE.replace('"""Docstring."""', '"""Other words."""')
        .replace("# comment", "# another")
        .replace('description="one"', 'description="two", tags=["t"]')
    )
    assert _fingerprint(tmp_path, BASE) == _fingerprint(tmp_path, same)


def test_python_fingerprint_sees_logic_and_helpers(tmp_path: Path) -> None:
    base = _fingerprint(tmp_path, BASE)
    assert _fingerprint(tmp_path, BASE.replace("x > 1", "x > 2")) != base
    assert _fingerprint(tmp_path, BASE + "\n\nLIMIT = 3\n") != base


def test_on_key_is_not_a_yaml_boolean() -> None:
    assert meta("-- on: [upstream]\nselect 1").on == ("upstream",)
