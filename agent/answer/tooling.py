"""Turn plain typed Python functions into Qwen-Agent tools, and load every tool file in a folder.

A tool is written once, as a function: its name, description and argument schema come from the
signature and the docstring, so they cannot drift apart (the smolagents `@tool` idea on top of
Qwen-Agent's `register_tool` registry).

A tool that needs the running knowledge service declares a keyword-only argument `service`; it is not
part of the schema the model sees, and the value comes from the tool's Qwen-Agent configuration
(`{"name": ..., "service": ...}` in the agent's `function_list`), so each assistant's tools answer from
its own service and never from a process-wide global.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import json
import logging
import re
import sys
import types
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, Union, get_args, get_origin, get_type_hints

import jsonschema
from qwen_agent.tools.base import TOOL_REGISTRY, BaseTool, register_tool
from qwen_agent.utils.utils import json_loads

logger = logging.getLogger(__name__)

_JSON_TYPES: dict[type, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
_TOOL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")  # what function-calling APIs accept
_ARGS_HEADER = re.compile(r"^(Args|Arguments|Parameters):\s*$")
_SECTION_HEADER = re.compile(r"^(Args|Arguments|Parameters|Returns|Raises|Yields|Examples?|Notes?):\s*$")
SERVICE = "service"  # the keyword-only argument, and the configuration key, that carries the service
_ARG_ENTRY = re.compile(r"^(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")  # "name (type): text" or "name: text"


class FunctionTool(BaseTool):
    """A Qwen-Agent tool that checks the model's arguments, then calls a plain Python function."""

    function_to_call: Callable[..., Any]
    argument_defaults: dict[str, Any] = {}  # optional arguments the model may leave out
    wants_service: bool = False  # the function takes the knowledge service as keyword-only `service`
    examples: tuple[str, ...] = ()  # questions it answers, so it runs without a model (agent.answer.tool_intent)

    def call(self, params: str | dict | None, **kwargs) -> str:
        """Run the function; bad arguments or a failing function give a JSON error the model can read."""
        try:
            arguments = self._checked_arguments(params)
        except (ValueError, jsonschema.ValidationError) as exc:
            message = _validation_message(exc)
            logger.info("tool %s refused arguments %r: %s", self.name, params, message)
            return _json_error(f"invalid arguments for tool '{self.name}': {message}")
        if self.wants_service:
            if self.cfg.get(SERVICE) is None:
                return _json_error(f"tool '{self.name}' needs a knowledge service in its configuration")
            arguments = {**arguments, SERVICE: self.cfg[SERVICE]}
        try:
            result = type(self).function_to_call(**{**self.argument_defaults, **arguments})
        except Exception as exc:  # a tool bug must not end the conversation; the model sees why
            logger.exception("tool %s failed", self.name)
            return _json_error(f"tool '{self.name}' failed: {type(exc).__name__}: {exc}")
        return _as_text(result)

    def _checked_arguments(self, params: str | dict | None) -> dict:
        if params is None or (isinstance(params, str) and not params.strip()):
            params = {}  # models often send nothing for a tool without arguments
        if isinstance(params, str):
            try:
                params = json_loads(params)
            except ValueError as exc:
                raise ValueError(f"arguments are not valid JSON ({exc})") from exc
        if not isinstance(params, dict):
            raise ValueError(f"arguments must be a JSON object, got {type(params).__name__}")
        optional = set(self.argument_defaults)  # a model may send null for an argument it leaves out
        arguments = {key: value for key, value in params.items() if not (value is None and key in optional)}
        unknown = sorted(set(arguments) - set(self.parameters["properties"]))
        if unknown:
            raise ValueError(f"unknown argument(s) {unknown}; expected {sorted(self.parameters['properties'])}")
        self._verify_json_format_args(arguments)  # types, required arguments and enums, by the JSON schema
        return {name: _coerced(value, self.parameters["properties"][name]) for name, value in arguments.items()}


def kb_tool(function: Callable | None = None, *, name: str | None = None, examples: tuple[str, ...] | list[str] = ()):
    """Register a typed, documented function as a Qwen-Agent tool and give the function back unchanged.

    Use as `@kb_tool` or `@kb_tool(name="other_name", examples=["今天几号？", "What's the date?"])`. With
    example questions, a question that means the same runs the tool even when no LLM is configured. The
    tool class is on `function.tool_class`.
    """

    def register(func: Callable) -> Callable:
        func.tool_class = _register_function_tool(func, name or func.__name__)
        func.tool_class.examples = tuple(e.strip() for e in examples if e and e.strip())
        return func

    return register(function) if function is not None else register


@dataclass
class ToolDiscovery:
    """What loading a tools folder produced: the tool names registered, and the files that failed."""

    tools: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # file path -> why it was skipped


def discover_tools(folder: Path) -> ToolDiscovery:
    """Import every `*.py` file in `folder` (not `_*.py`); a broken file is reported and the rest still load."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"tools folder {folder} does not exist")
    discovery = ToolDiscovery()
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        try:
            discovery.tools.extend(_load_tool_module(path))
        except Exception as exc:  # any error in someone's tool file must not stop the others
            logger.warning("skipped tool file %s: %s: %s", path, type(exc).__name__, exc)
            discovery.errors[str(path)] = f"{type(exc).__name__}: {exc}"
    logger.info("tools from %s: %s (%d file(s) skipped)", folder, discovery.tools, len(discovery.errors))
    return discovery


def _load_tool_module(path: Path) -> list[str]:
    """Import one file under a fresh module name, so a folder outside the package loads and reloads."""
    module_name = f"kb_tools_{path.stem}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look modules up here
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        for tool_name in _tools_registered_by(module_name):
            del TOOL_REGISTRY[tool_name]  # a half-imported file registers nothing
        raise
    return _tools_registered_by(module_name)


def _tools_registered_by(module_name: str) -> list[str]:
    return [
        tool_name
        for tool_name, tool_class in TOOL_REGISTRY.items()
        if isinstance(tool_class, type) and issubclass(tool_class, FunctionTool) and tool_class.__module__ == module_name
    ]


def _register_function_tool(func: Callable, tool_name: str) -> type[FunctionTool]:
    if not _TOOL_NAME.match(tool_name):
        raise ValueError(f"tool name {tool_name!r} must be letters, digits, _ or -, at most 64, not starting with a digit")
    summary, argument_docs = _parse_docstring(func)
    parameters, defaults = _parameter_schema(func, argument_docs)
    tool_class = type(
        f"{tool_name.title().replace('_', '').replace('-', '')}Tool",
        (FunctionTool,),
        {
            "__module__": func.__module__,
            "__doc__": summary,
            "name": tool_name,
            "description": summary,
            "parameters": parameters,
            "argument_defaults": defaults,
            "wants_service": _wants_service(func),
            "function_to_call": staticmethod(func),
        },
    )
    tool_class()  # BaseTool checks the schema here; fail at decoration, not at the first call
    existing = TOOL_REGISTRY.get(tool_name)
    if existing is not None and not (isinstance(existing, type) and issubclass(existing, FunctionTool)):
        raise ValueError(f"tool name {tool_name!r} is taken by Qwen-Agent's {existing.__name__}; choose another name")
    if existing is not None and _origin(existing.function_to_call) != _origin(func):
        logger.warning("tool %s from %s replaces the one from %s", tool_name, _origin(func), _origin(existing.function_to_call))
    TOOL_REGISTRY.pop(tool_name, None)  # re-registering our own tool (a reload) replaces it quietly
    return register_tool(tool_name)(tool_class)


def _origin(func: Callable) -> str:
    return f"{func.__code__.co_filename}:{func.__qualname__}"


def _parse_docstring(func: Callable) -> tuple[str, dict[str, str]]:
    """The summary (first paragraph) and the Google-style `Args:` descriptions."""
    doc = inspect.getdoc(func)
    if not doc or not doc.strip():
        raise TypeError(f"tool function {func.__qualname__} needs a docstring: its summary is what the model reads")
    lines = doc.splitlines()
    summary_lines = []
    for line in lines:
        if not line.strip() or _SECTION_HEADER.match(line.strip()):
            break
        summary_lines.append(line.strip())
    argument_docs: dict[str, str] = {}
    header = next((i for i, line in enumerate(lines) if _ARGS_HEADER.match(line.strip())), None)
    if header is not None:
        header_indent = _indent(lines[header])
        entry_indent = None
        current = None
        for line in lines[header + 1:]:
            if not line.strip():
                continue
            if _indent(line) <= header_indent:
                break  # the next section (Returns:, Raises:, ...)
            entry_indent = entry_indent if entry_indent is not None else _indent(line)
            entry = _ARG_ENTRY.match(line.strip())
            if _indent(line) == entry_indent and entry:
                current = entry.group(1)
                argument_docs[current] = entry.group(2).strip()
            elif current is not None:
                argument_docs[current] = f"{argument_docs[current]} {line.strip()}".strip()
    return " ".join(summary_lines), argument_docs


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _wants_service(func: Callable) -> bool:
    parameter = inspect.signature(func).parameters.get(SERVICE)
    return parameter is not None and parameter.kind is parameter.KEYWORD_ONLY


def _parameter_schema(func: Callable, argument_docs: dict[str, str]) -> tuple[dict, dict[str, Any]]:
    """The JSON schema of the arguments the model gives (not `service`), and the values to pass for
    optional ones left out."""
    signature = inspect.signature(func)
    hints = get_type_hints(func)
    undocumented_extra = sorted(set(argument_docs) - set(signature.parameters))
    if undocumented_extra:
        raise TypeError(f"{func.__qualname__}: docstring describes {undocumented_extra}, which are not arguments")
    properties: dict[str, dict] = {}
    required: list[str] = []
    defaults: dict[str, Any] = {}
    for parameter in signature.parameters.values():
        if parameter.name == SERVICE and parameter.kind is parameter.KEYWORD_ONLY:
            continue
        where = f"{func.__qualname__}({parameter.name})"
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD, parameter.POSITIONAL_ONLY):
            raise TypeError(f"{where}: tools take named arguments only, not *args, **kwargs or positional-only")
        if parameter.name not in hints:
            raise TypeError(f"{where}: needs a type hint, the model is told the type")
        if not argument_docs.get(parameter.name):
            raise TypeError(f"{where}: needs a description in the docstring's Args: section")
        json_schema, nullable = _json_schema(hints[parameter.name], where)
        json_schema["description"] = argument_docs[parameter.name]
        if parameter.default is not parameter.empty:
            defaults[parameter.name] = parameter.default
            if parameter.default is not None:
                json_schema["default"] = parameter.default
        elif nullable:
            defaults[parameter.name] = None
        else:
            required.append(parameter.name)
        properties[parameter.name] = json_schema
    return {"type": "object", "properties": properties, "required": required}, defaults


def _json_schema(hint: Any, where: str) -> tuple[dict, bool]:
    """The JSON schema for one type hint, and whether the hint allows None."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        members = [member for member in get_args(hint) if member is not type(None)]
        if len(members) != 1:
            raise TypeError(f"{where}: only Optional[X] unions are supported, got {hint}")
        return _json_schema(members[0], where)[0], True
    if origin is Literal:
        values = list(get_args(hint))
        kinds = {type(value) for value in values}
        if len(kinds) != 1 or kinds.pop() not in _JSON_TYPES:
            raise TypeError(f"{where}: Literal values must all be str, int, float or bool, got {hint}")
        return {"type": _JSON_TYPES[type(values[0])], "enum": values}, False
    if origin is list:
        (item,) = get_args(hint)
        if item not in _JSON_TYPES:
            raise TypeError(f"{where}: list items must be str, int, float or bool, got {hint}")
        return {"type": "array", "items": {"type": _JSON_TYPES[item]}}, False
    if hint in _JSON_TYPES:
        return {"type": _JSON_TYPES[hint]}, False
    raise TypeError(f"{where}: unsupported type {hint}; use str, int, float, bool, list[...], Literal or Optional")


def _coerced(value: Any, schema: dict) -> Any:
    """JSON allows 3.0 for an integer; a Python function wants 3."""
    if schema.get("type") == "integer" and isinstance(value, float):
        return int(value)
    return value


def _validation_message(exc: Exception) -> str:
    if isinstance(exc, jsonschema.ValidationError):
        where = "/".join(str(part) for part in exc.absolute_path)
        return f"{where}: {exc.message}" if where else exc.message
    return str(exc)


def _json_error(message: str) -> str:
    return json.dumps({"error": message}, ensure_ascii=False)


def _as_text(result: Any) -> str:
    if isinstance(result, str):
        return result
    return json.dumps(result, ensure_ascii=False, default=_jsonable)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)
