"""Pulumi.yaml plus a stack file -> the configuration the Pulumi engine hands the program.

This follows the CLI v3.274.0 that `make pulumi-cli` builds, function by function:
- `workspace.LoadProjectBytes` (sdk/go/common/workspace/loaders.go): the project's `config:`
  block, with `RewriteConfigPathIntoStackConfigDir`, `RewriteShorthandConfigValues` (a bare
  value is a project key's `default`, another namespace's `value`) and `Project.Validate`;
- `workspace.LoadProjectStackBytes` and `stackConfigNamespacedWithProject`: a stack key without
  a namespace belongs to the project; `config.ParseKey` refuses keys it cannot parse;
- `workspace.ValidateStackConfigAndApplyProjectConfig` (pkg/workspace/config.go, `mergeConfig`):
  a project key the stack does not set takes its `value` or `default` (`createConfigValue`:
  strings, ints and bools as text, anything else as JSON), a project key with neither is
  missing, and `validateStackConfigValues` checks each typed key (`ValidateConfigValue`);
- `config.Plaintext.marshalText` (sdk/go/common/resource/config/plaintext.go): a list or object
  reaches the program as Go's `json.Marshal` writes it (config.stack_file.go_json).

Secrets are never decrypted: a `secure:` value stays `SECRET_PLACEHOLDER`, and its key is listed
as secret, as the engine lists it for the program.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Optional

from config.limits import hide_nested_secrets
from config.stack_file import StackFileError, go_json, read_stack_config, read_yaml_file

PROJECT_FILE = Path(__file__).resolve().parents[1] / "Pulumi.yaml"
TYPES = ("string", "integer", "boolean", "array", "object")


@dataclass(frozen=True)
class ConfigDeclaration:
    """One entry of Pulumi.yaml's `config:` block (`workspace.ProjectConfigType`)."""

    type: Optional[str] = None
    items: Optional[Mapping[str, Any]] = None
    default: Any = None
    value: Any = None
    secret: bool = False
    description: str = ""


@dataclass(frozen=True)
class Project:
    name: str
    directory: Path
    stack_config_dir: str
    config: Mapping[str, ConfigDeclaration]

    def stack_file(self, stack: str) -> Path:
        """Where the CLI keeps `stack`'s config (`workspace.DetectProjectStackPath`)."""
        return self.directory / self.stack_config_dir / f"Pulumi.{stack}.yaml"


@dataclass(frozen=True)
class StackConfig:
    """What the engine hands the program: `ns:key` -> text, and the keys that are secret."""

    stack: str
    values: Mapping[str, str]
    secret_keys: tuple[str, ...]


def _refuse(path: Path, message: str) -> StackFileError:
    return StackFileError(f"{path}: {message}")


def _is_primitive(value: Any) -> bool:
    """Go's `isPrimitiveValue`: a string, int or bool (a float is not one)."""
    return isinstance(value, (str, int)) and not isinstance(value, float)


def _parse_key(key: str) -> Optional[tuple[str, str]]:
    """`config.ParseKey`: `ns:name`, or the old `ns:config:name`; None where the CLI refuses the key."""
    parts = key.split(":")
    if len(parts) == 2:
        return parts[0], parts[1]
    if len(parts) == 3 and parts[1] == "config" and parts[0] and parts[2]:
        return parts[0], parts[2]
    return None


def _qualified(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def _canonical(project: str, key: str) -> Optional[str]:
    """The `ns:name` a stack or project key names (the project's when it has no namespace), or None."""
    parsed = _parse_key(_qualified(project, key))
    return ":".join(parsed) if parsed else None


def _declaration(path: Path, project: str, key: str, raw: Any) -> ConfigDeclaration:
    if _is_primitive(raw) or isinstance(raw, list):
        # RewriteShorthandConfigValues: a bare value is a project key's default, another's value.
        raw = {"default": raw} if ":" not in key or key.startswith(f"{project}:") else {"value": raw}
    if not isinstance(raw, dict):
        raise _refuse(path, f"config.{key} must be a value or an object with type, default, value, secret")
    declared = ConfigDeclaration(type=raw.get("type"), items=raw.get("items"), default=raw.get("default"),
                                 value=raw.get("value"), secret=raw.get("secret") is True,
                                 description=raw.get("description") or "")
    if declared.default is not None and declared.value is not None:
        raise _refuse(path, f"project config '{key}' cannot have both a 'default' and 'value' attribute")
    if ":" in key and not key.startswith(f"{project}:"):
        if declared.type is not None or declared.default is not None or declared.value is None:
            raise _refuse(path, f"configuration key '{key}' is not namespaced by the project: give it only a 'value'")
        return declared
    if declared.type is not None and declared.type not in TYPES:
        raise _refuse(path, f"config.{key}.type = {declared.type!r}: use one of " + ", ".join(TYPES))
    if declared.type == "array" and declared.items is None:
        raise _refuse(path, f"the configuration key '{key}' declares an array but does not specify the "
                            "underlying type via the 'items' attribute")
    if declared.type is not None and declared.default is not None and \
            not _fits(declared.type, declared.items, declared.default):
        raise _refuse(path, f"the default value specified for configuration key '{key}' is not of the expected "
                            f"type '{_type_name(declared.type, declared.items)}'")
    return declared


@lru_cache(maxsize=8)
def load_project(path: Path = PROJECT_FILE) -> Project:
    """Pulumi.yaml as `workspace.LoadProjectBytes` reads it."""
    document = read_yaml_file(path, "project file", config_scalars_as_text=False)
    if not isinstance(document, dict) or not isinstance(document.get("name"), str) or not document["name"]:
        raise _refuse(path, "project is missing a 'name' attribute")
    name = document["name"]
    config = document.get("config")
    stack_config_dir = document.get("stackConfigDir") or ""
    if isinstance(config, str):
        # RewriteConfigPathIntoStackConfigDir: the old `config: <dir>`.
        if stack_config_dir:
            raise _refuse(path, "should not use both config and stackConfigDir to define the stack directory")
        stack_config_dir, config = config, None
    if config is not None and not isinstance(config, dict):
        raise _refuse(path, "config must be an object of configuration keys")
    declarations = {key: _declaration(path, name, key, raw) for key, raw in (config or {}).items()}
    return Project(name, path.parent, stack_config_dir, MappingProxyType(declarations))


def _type_name(type_: str, items: Optional[Mapping[str, Any]]) -> str:
    """`workspace.InferFullTypeName`: `array<string>` for an array of strings."""
    if items is not None:
        return f"array<{_type_name(items.get('type', ''), items.get('items'))}>"
    return type_


def _fits(type_: str, items: Optional[Mapping[str, Any]], value: Any) -> bool:
    """`workspace.ValidateConfigValue`, on a value as the CLI holds it (text, or parsed JSON)."""
    if type_ == "string":
        return isinstance(value, str)
    if type_ == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        if isinstance(value, float):
            return math.isfinite(value) and value == math.trunc(value)
        # strconv.Atoi: an optional sign and decimal digits, within 64 bits.
        if isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value):
            digits = value.lstrip("+-").lstrip("0")
            return len(digits) <= 19 and -2**63 <= int(value) < 2**63
        return False
    if type_ == "boolean":
        return value in ("true", "false") or isinstance(value, bool)
    if type_ == "object":
        return isinstance(value, dict)
    if not isinstance(value, list) or items is None:
        return False
    return all(_fits(items.get("type", ""), items.get("items"), item) for item in value)


def _program_text(value: Any) -> str:
    """What the program receives for a config value (`Plaintext.marshalText`)."""
    if isinstance(value, str):
        return value
    return go_json(value)


def _default_text(value: Any) -> Any:
    """`createConfigValue`: a string, int or bool as `%v` text; anything else stays a value (JSON)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_primitive(value):
        return str(value)
    return value


def resolve_stack_config(stack_file: Path, project: Optional[Project] = None) -> StackConfig:
    """Exactly the config `pulumi preview`/`up` hands the program for this stack file.

    Refuses, as the CLI does before the program starts, keys it cannot parse, project keys that
    are missing, and values that do not fit the type Pulumi.yaml declares.
    """
    project = project or load_project()
    stack = stack_name_of(stack_file)
    raw: dict[str, Any] = {}
    for key, value in read_stack_config(stack_file).items():
        canonical = _canonical(project.name, key)
        if canonical is None:
            raise _refuse(stack_file, f"could not parse {_qualified(project.name, key)} as a configuration key "
                                      "(configuration keys should be of the form `<namespace>:<name>`)")
        if canonical in raw:
            raise _refuse(stack_file, f"config {canonical} is set twice (as {key} too)")
        raw[canonical] = value
    missing = []
    for key in sorted(project.config):
        declared = project.config[key]
        qualified = _canonical(project.name, key) or key
        if qualified not in raw:
            given = declared.default if declared.default is not None else declared.value
            if given is not None:
                raw[qualified] = _default_text(given)
            elif qualified.startswith(f"{project.name}:"):
                missing.append(key)
    if missing:
        names = ", ".join(f"'{key}'" for key in missing)
        raise _refuse(stack_file, f"Stack '{stack}' is missing configuration value{'s' if len(missing) > 1 else ''} "
                                  f"{names}: set {'them' if len(missing) > 1 else 'it'} in the stack file")
    secret_keys = []
    values = {}
    for key, value in raw.items():
        hidden, secret = hide_nested_secrets(value)
        values[key] = _program_text(hidden)
        if secret:
            secret_keys.append(key)
    for key in sorted(project.config):
        declared = project.config[key]
        qualified = _canonical(project.name, key) or key
        if declared.type is None or qualified not in raw:
            continue
        if declared.secret and qualified not in secret_keys:
            raise _refuse(stack_file, f"config {qualified} must be encrypted as it's secret: "
                                      f"pulumi config set --secret {qualified} <value>")
        shown = raw[qualified] if isinstance(raw[qualified], str) else values[qualified]
        # A whole `secure:` value is a string once decrypted; a list or object holding one keeps its shape.
        whole_secret = isinstance(raw[qualified], dict) and set(raw[qualified]) == {"secure"}
        checked = hide_nested_secrets(raw[qualified])[0]
        if not whole_secret and not _fits(declared.type, declared.items, checked):
            raise _refuse(stack_file, f"config {qualified} = {json.dumps(shown)[:200]} must be of type "
                                      f"'{_type_name(declared.type, declared.items)}', as Pulumi.yaml declares it")
    return StackConfig(stack, MappingProxyType(values), tuple(sorted(secret_keys)))


def stack_name_of(path: Path) -> str:
    """`lab` for `Pulumi.lab.yaml`."""
    match = re.fullmatch(r"Pulumi\.(.+)\.ya?ml", path.name)
    if not match:
        raise StackFileError(f"{path}: a stack file is named Pulumi.<stack>.yaml")
    return match.group(1)


def stack_file_of(stack: str) -> Path:
    """`config/Pulumi.lab.yaml` for `lab`: the project's stackConfigDir, wherever the tool runs from."""
    return load_project().stack_file(stack)
