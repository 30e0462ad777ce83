"""Python assets: the ``@asset`` decorator, loading asset modules, and their fingerprints.

>>> @asset(tags=["demo"])
... def numbers():
...     import duckdb
...     return duckdb.sql("select 1 as n")
>>> numbers.__assets_orch__.name
'numbers'
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from .errors import MetadataError, PythonAssetError
from .metadata import AssetMeta

F = TypeVar("F", bound=Callable[..., Any])
MARKER = "__assets_orch__"


@dataclass(frozen=True)
class PythonAssetDef:
    """What ``@asset`` attaches to a function: its name, metadata and parameters."""

    func: Callable[..., Any]
    name: str
    meta: AssetMeta
    params: tuple[str, ...]


def asset(
    fn: F | None = None,
    *,
    name: str | None = None,
    **metadata: Any,
) -> Any:
    """Mark a function as an asset. Each parameter names an upstream asset.

    Keyword arguments are the same metadata a SQL header takes: ``description``,
    ``owner``, ``tags``, ``deps`` (extra upstreams), ``retries``, ``timeout``,
    ``checks``, ``freshness``. The function stays callable as it is.

    >>> @asset(description="Doubled.", deps=["raw_events"])
    ... def doubled(numbers):
    ...     return numbers.project("n * 2 as n")
    >>> doubled.__assets_orch__.params
    ('numbers',)
    """

    def wrap(func: F) -> F:
        if not callable(func) or not hasattr(func, "__code__"):
            raise PythonAssetError("@asset decorates a plain function")
        path = inspect.getsourcefile(func) or "<unknown>"
        line = func.__code__.co_firstlineno
        try:
            meta = AssetMeta.model_validate(metadata)
        except ValidationError as e:
            first = e.errors()[0]
            key = ".".join(str(p) for p in first.get("loc", ()))
            raise MetadataError(
                f"@asset on '{func.__name__}': invalid argument '{key}': {first.get('msg')}",
                path=path,
                line=line,
            ) from e
        params = []
        for param in inspect.signature(func).parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise PythonAssetError(
                    f"@asset '{func.__name__}' cannot take *args or **kwargs",
                    path=path,
                    line=line,
                    hint="name each upstream asset as a parameter, or list it in deps=[...]",
                )
            params.append(param.name)
        definition = PythonAssetDef(
            func=func, name=name or func.__name__, meta=meta, params=tuple(params)
        )
        setattr(func, MARKER, definition)
        return func

    if fn is not None:
        return wrap(fn)
    return wrap


@dataclass(frozen=True)
class LoadedPythonAsset:
    """A Python asset found in a module file, with its code fingerprint."""

    definition: PythonAssetDef
    path: str  # project-relative
    line: int
    fingerprint: str


def load_python_assets(file: Path, rel_path: str) -> list[LoadedPythonAsset]:
    """Import ``file`` and return the ``@asset`` functions it defines, in source order.

    Import errors become a PythonAssetError naming the file and line.
    """
    module_name = "assets_orch_user." + rel_path.removesuffix(".py").replace("/", ".")
    try:
        source = file.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=rel_path)
    except SyntaxError as e:
        raise PythonAssetError(
            f"syntax error: {e.msg}", path=rel_path, line=e.lineno, col=e.offset
        ) from e
    except OSError as e:
        raise PythonAssetError(f"cannot read file: {e.strerror}", path=rel_path) from e
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise PythonAssetError("cannot import this file", path=rel_path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        # The source read above, compiled here: the fingerprint and the code that runs
        # are the same text. (Python's own loader may run a cached .pyc whose source
        # changed within the same second with the same size.)
        exec(compile(source, str(file), "exec"), module.__dict__)
    except (MetadataError, PythonAssetError):
        raise
    except Exception as e:
        line = _user_line(e, str(file))
        raise PythonAssetError(
            f"importing failed: {type(e).__name__}: {e}", path=rel_path, line=line
        ) from e
    functions = {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    found: list[LoadedPythonAsset] = []
    asset_nodes = set()
    for value in vars(module).values():
        definition = getattr(value, MARKER, None)
        if isinstance(definition, PythonAssetDef) and value.__module__ == module_name:
            node = functions.get(value.__name__)
            if node is not None:
                asset_nodes.add(node.name)
            found.append(
                LoadedPythonAsset(
                    definition=definition,
                    path=rel_path,
                    line=value.__code__.co_firstlineno,
                    fingerprint="",
                )
            )
    shared = _module_context_hash(tree, asset_nodes)
    result = []
    for item in sorted(found, key=lambda a: a.line):
        node = functions.get(item.definition.func.__name__)
        code = _function_hash(node) if node is not None else _bytecode_hash(item.definition.func)
        digest = hashlib.sha256(
            f"{code}:{shared}:{item.definition.meta.output_fingerprint()}".encode()
        ).hexdigest()
        result.append(LoadedPythonAsset(item.definition, item.path, item.line, digest))
    return result


_LOADED: dict[tuple[Path, tuple[int, int, int, int]], list[LoadedPythonAsset]] = {}
_LOADING = threading.Lock()  # two workers never import one module twice at once


def load_function(root: Path, rel_path: str, name: str) -> Callable[..., Any]:
    """The function of Python asset ``name`` in ``rel_path``, importing its module once
    per file version and process: for a spec that came without its function (a loaded
    project always has them). Raises PythonAssetError when it is not there."""
    from .sources import stat_key

    file = (root / rel_path).resolve()
    try:
        key = (file, stat_key(file.stat()))  # a long-lived daemon sees edits
    except OSError as e:
        raise PythonAssetError(f"cannot read file: {e.strerror}", path=rel_path) from e
    with _LOADING:
        loaded = _LOADED.get(key)
        if loaded is None:
            loaded = _LOADED[key] = load_python_assets(file, rel_path)
    for item in loaded:
        if item.definition.name == name:
            return item.definition.func
    raise PythonAssetError(
        f"@asset '{name}' is no longer defined in this file",
        path=rel_path,
        hint="run the command again: the project changed since it was loaded",
    )


def function_source(root: Path, rel_path: str, name: str) -> str:
    r"""The source of the top-level function ``name`` (decorators included) in
    ``rel_path``, read without importing the module; "" when it is not found.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = (root / "a.py").write_text("x = 1\n@asset()\ndef f(u):\n    return u\n")
    >>> print(function_source(root, "a.py", "f"))
    @asset()
    def f(u):
        return u
    """
    try:
        text = (root / rel_path).read_text(encoding="utf-8")
        tree = ast.parse(text)
    except (OSError, SyntaxError, UnicodeDecodeError):
        return ""
    lines = text.splitlines()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            return "\n".join(lines[first - 1 : node.end_lineno])
    return ""


def _strip_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        return body[1:]
    return body


def _function_hash(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """Hash of a function's meaning: its signature and body, without docstring or
    decorators (their metadata is hashed separately, minus description/owner/tags)."""
    body = _strip_docstring(list(node.body)) or [ast.Pass()]
    parts = [ast.dump(node.args, include_attributes=False)]
    parts += [ast.dump(stmt, include_attributes=False) for stmt in body]
    if node.returns is not None:
        parts.append(ast.dump(node.returns, include_attributes=False))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _module_context_hash(tree: ast.Module, asset_names: set[str]) -> str:
    """Hash of the module code around the assets (imports, helpers, constants).

    A helper edit may change any asset of the module, so every asset in it counts it:
    conservative, never silently stale.
    """
    parts = []
    for node in _strip_docstring(list(tree.body)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in asset_names:
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            node.body = _strip_docstring(list(node.body)) or [ast.Pass()]
        parts.append(ast.dump(node, include_attributes=False))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _bytecode_hash(func: Callable[..., Any]) -> str:
    code = func.__code__
    return hashlib.sha256(code.co_code + repr(code.co_consts).encode()).hexdigest()


def _user_line(error: BaseException, filename: str) -> int | None:
    line = None
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename == filename:
            line = frame.lineno
    return line
