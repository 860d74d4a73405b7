"""The project's classes read as models: pydantic `BaseModel` and pydantic-settings `BaseSettings` above all.

An instance's field is what the call gave, else (for settings) its variable in the class's env files, else its
default; the variable's name follows pydantic-settings (aliases, `env_prefix`, case, nested models).
"""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from typing import Any

from pool_doctor.scan.environment import Environment, config_cast
from pool_doctor.scan.finder import assigned_names, dotted_parts
from pool_doctor.scan.kinds import (
    SV,
    ClassRef,
    DictV,
    ExternalRef,
    Frame,
    FuncRef,
    InstanceRef,
    Interpreter,
    ListV,
    Thunk,
    is_known,
    keyword,
    returned,
    unknown,
)
from pool_doctor.scan.scopes import Scopes

SETTINGS_BASES = {
    "pydantic_settings.BaseSettings",
    "pydantic.BaseSettings",
    "pydantic.v1.BaseSettings",
    "pydantic_settings.main.BaseSettings",
}
PROPERTY_DECORATORS = {"property", "cached_property", "computed_field"}


class SettingsClasses:
    def __init__(self, ev: Interpreter, scopes: Scopes, environment: Environment) -> None:
        self.ev = ev
        self.scopes = scopes
        self.environment = environment

    def instantiate(self, cls: ClassRef, node: ast.Call, frame: Frame) -> Any:
        overrides: dict[str, Any] = {}
        for kw in node.keywords:
            if kw.arg is not None:
                overrides[kw.arg] = Thunk(kw.value, frame)
        return InstanceRef(cls, overrides)

    def class_bases(self, cls: ClassRef) -> list[Any]:
        bases = []
        for base in cls.node.bases:
            bases.append(self.ev.force(self.ev.eval(base, Frame(cls.module))))
        return bases

    def is_settings(self, cls: ClassRef, seen: int = 0) -> bool:
        for base in self.class_bases(cls):
            if isinstance(base, ExternalRef) and base.dotted in SETTINGS_BASES:
                return True
            if isinstance(base, ClassRef) and seen < 8 and self.is_settings(base, seen + 1):
                return True
        return False

    def class_chain(self, cls: ClassRef, seen: int = 0) -> list[ClassRef]:
        """The class and its project base classes, most derived first."""
        chain = [cls]
        if seen < 8:
            for base in self.class_bases(cls):
                if isinstance(base, ClassRef):
                    chain.extend(self.class_chain(base, seen + 1))
        return chain

    def settings_config(self, cls: ClassRef) -> dict[str, Any]:
        """model_config = SettingsConfigDict(...) / dict(...), or pydantic v1's inner `class Config`."""
        config: dict[str, Any] = {}
        for klass in reversed(self.class_chain(cls)):
            frame = Frame(klass.module, scope=klass.node)
            for stmt in klass.node.body:
                for name, value in assigned_names(stmt):
                    if name == "model_config":
                        evaluated = self.ev.force(self.ev.eval(value, frame))
                        if isinstance(evaluated, DictV):
                            for key, item in evaluated.items.items():
                                config[key] = self.ev.force(item)
                if isinstance(stmt, ast.ClassDef) and stmt.name == "Config":
                    for inner in stmt.body:
                        for name, value in assigned_names(inner):
                            config[name] = self.ev.force(self.ev.eval(value, frame))
        return config

    def class_attribute(self, cls: ClassRef, attr: str) -> Any:
        for klass in self.class_chain(cls):
            assignments = self.scopes.scope_locals(klass.node).get(attr)
            if assignments:
                return self.scopes.from_assignments(assignments, Frame(klass.module, scope=klass.node), klass.node)
            for stmt in klass.node.body:
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == attr:
                    return FuncRef(klass.module, stmt)
        return None

    def fields(self, cls: ClassRef) -> dict[str, tuple[ClassRef, ast.stmt]]:
        found: dict[str, tuple[ClassRef, ast.stmt]] = {}
        for klass in reversed(self.class_chain(cls)):
            for stmt in klass.node.body:
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                    found[stmt.target.id] = (klass, stmt)
                elif isinstance(stmt, ast.Assign):
                    for target in stmt.targets:
                        if (
                            isinstance(target, ast.Name)
                            and target.id != "model_config"
                            and not target.id.startswith("_")
                        ):
                            found[target.id] = (klass, stmt)
        return found

    def instance_fields(self, instance: InstanceRef) -> dict[str, Any]:
        return {
            name: self.instance_attribute(instance, name, None, Frame(instance.cls.module))
            for name in self.fields(instance.cls)
        }

    def instance_attribute(self, instance: InstanceRef, attr: str, node: ast.AST | None, frame: Frame) -> Any:
        cls = instance.cls
        fields = self.fields(cls)
        if attr in fields:
            return self.field_value(instance, attr, *fields[attr])
        for klass in self.class_chain(cls):
            for stmt in klass.node.body:
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == attr:
                    ref = FuncRef(klass.module, stmt, bound_self=instance)
                    decorators = {(dotted_parts(d) or [""])[-1] for d in stmt.decorator_list}
                    if decorators & PROPERTY_DECORATORS:
                        body = returned(stmt)
                        if body is None:
                            return unknown(klass.module, stmt)
                        return self.ev.force(self.ev.eval(body, self.ev.bind(ref, None, Frame(klass.module))))
                    return ref
        return unknown(frame.module, node) if node is not None else SV(None, None, known=False, expr=attr)

    def field_value(self, instance: InstanceRef, name: str, klass: ClassRef, stmt: ast.stmt) -> Any:
        frame = Frame(klass.module, scope=klass.node)
        value_node = stmt.value if isinstance(stmt, (ast.Assign, ast.AnnAssign)) else None
        annotation = stmt.annotation if isinstance(stmt, ast.AnnAssign) else None
        env_name: str | None = None
        default: Any = None
        explicit_env: str | None = None
        if isinstance(value_node, ast.Call) and (dotted_parts(value_node.func) or [""])[-1] == "Field":
            default_node = value_node.args[0] if value_node.args else keyword(value_node, "default")
            if default_node is not None and not (
                isinstance(default_node, ast.Constant) and default_node.value is Ellipsis
            ):
                default = Thunk(default_node, frame)
            for key in ("validation_alias", "alias", "env"):
                alias_node = keyword(value_node, key)
                if alias_node is not None:
                    alias = self.ev.force(self.ev.eval(alias_node, frame))
                    if is_known(alias) and isinstance(alias.value, str):
                        explicit_env = alias.value
                    elif isinstance(alias, ListV) and alias.items and is_known(self.ev.force(alias.items[0])):
                        explicit_env = str(self.ev.force(alias.items[0]).value)
                    break
                if key == "validation_alias" and alias_node is None:
                    continue
        elif value_node is not None:
            default = Thunk(value_node, frame)
        if name in instance.overrides:
            return self.ev.force(instance.overrides[name])
        settings = self.is_settings(klass) or self.is_settings(instance.cls)
        if settings or instance.env_prefix is not None:
            config = self.settings_config(instance.cls)
            prefix_value = config.get("env_prefix")
            prefix = (
                instance.env_prefix
                if instance.env_prefix is not None
                else (str(prefix_value.value) if is_known(prefix_value) and prefix_value.value else "")
            )
            case_value = config.get("case_sensitive")
            case_sensitive = is_known(case_value) and bool(case_value.value)
            env_name = explicit_env or f"{prefix}{name}"
            if not case_sensitive:
                env_name = env_name.upper()
            nested = self._nested_model(annotation, klass)
            if nested is not None:
                delimiter = config.get("env_nested_delimiter")
                sub_prefix = f"{env_name}{delimiter.value}" if is_known(delimiter) and delimiter.value else None
                return InstanceRef(nested, {}, env_prefix=sub_prefix)
            file_values = self._settings_env_values(instance.cls, config)
            found = self._env_case(file_values, env_name, case_sensitive)
            if found is not None:
                raw, where = found
                return config_cast(_annotation_cast(annotation), SV(raw, where, env_name), klass.module, stmt)
            if default is None:
                return unknown(klass.module, stmt, env=env_name, why=f"${env_name} (required, no default)")
            value = self.ev.force(default)
            return replace(value, env=env_name) if isinstance(value, SV) else value
        if default is None:
            nested = self._nested_model(annotation, klass)
            if nested is not None:
                return InstanceRef(nested, {})
            return unknown(klass.module, stmt)
        return self.ev.force(default)

    def _settings_env_values(self, cls: ClassRef, config: dict[str, Any]) -> dict[str, tuple[str, str]]:
        env_file = config.get("env_file")
        names: list[str] = []
        if is_known(env_file) and isinstance(env_file.value, str):
            names = [env_file.value]
        elif isinstance(env_file, ListV):
            names = [str(v.value) for v in map(self.ev.force, env_file.items) if is_known(v)]
        values: dict[str, tuple[str, str]] = {}
        for name in names:  # later files win, as in pydantic-settings
            path = self.environment.file_for(cls.module, name)
            if path is not None:
                values.update(self.environment.read_file(path))
        return values

    @staticmethod
    def _env_case(values: dict[str, tuple[str, str]], name: str, case_sensitive: bool) -> tuple[str, str] | None:
        if name in values:
            return values[name]
        if not case_sensitive:
            for key, value in values.items():
                if key.upper() == name.upper():
                    return value
        return None

    def _nested_model(self, annotation: ast.expr | None, klass: ClassRef) -> ClassRef | None:
        if annotation is None:
            return None
        value = self.ev.force(self.ev.eval(annotation, Frame(klass.module)))
        if isinstance(value, ClassRef) and self.fields(value):
            return value
        return None


def _annotation_cast(annotation: ast.expr | None) -> str | None:
    if annotation is None:
        return None
    text = ast.unparse(annotation)
    for name in ("bool", "float", "int"):
        if re.search(rf"\b{name}\b", text):
            return name
    return None
