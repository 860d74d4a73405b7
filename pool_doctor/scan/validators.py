"""pydantic's validators as the scan reads them: a field's `@field_validator` (pydantic 1's `@validator`) run on
its value, and a `@model_validator(mode="after")` that fills fields on the instance once they are all read."""

from __future__ import annotations

import ast
from dataclasses import replace
from functools import partial
from typing import Any, Protocol

from pool_doctor.scan import containers, fieldtext
from pool_doctor.scan.finder import dotted_parts
from pool_doctor.scan.kinds import (
    SV,
    ClassRef,
    DictV,
    Frame,
    FuncRef,
    HolderV,
    InstanceRef,
    Interpreter,
    Thunk,
    ValidationInfoV,
    env_of,
    unknown,
)


class Classes(Protocol):
    """What the validators need of the project's classes as models (settings.SettingsClasses)."""

    ev: Interpreter

    def fields(self, cls: ClassRef) -> dict[str, tuple[ClassRef, ast.stmt]]: ...

    def class_chain(self, cls: ClassRef, seen: int = 0) -> list[ClassRef]: ...

    def instance_attribute(self, instance: InstanceRef, attr: str, node: ast.AST | None, frame: Frame) -> Any: ...

    def field_value(self, instance: InstanceRef, name: str, klass: ClassRef, stmt: ast.stmt) -> Any: ...


VALIDATORS = {"field_validator", "validator"}


class Validators:
    def __init__(self, classes: Classes) -> None:
        self.classes = classes
        self.ev = classes.ev
        self._memo: dict[tuple[int, str, int], Any] = {}  # (instance, field, validators run): the field then
        self._handed: set[int] = set()  # the instances validators running now were handed
        self._depth = 0  # after() calls running now
        # each after-validator's refused fields, by (instance, validator), with the instance kept so its id stays its
        self._refused: dict[tuple[int, int], tuple[InstanceRef, set[str]]] = {}

    def validated(self, instance: InstanceRef, name: str, value: Any) -> Any:
        """The value as the class's validators for the field leave it (`@field_validator("url")`). A validator's
        `values` (pydantic 1) and `info.data` (pydantic 2's ValidationInfo) are the fields declared before it."""
        cls = instance.cls
        for validator in self._validators(cls, name):
            ref = FuncRef(validator.module, validator.node, bound_self=cls)
            params = [*validator.node.args.posonlyargs, *validator.node.args.args][1:]
            if not params:
                continue
            frame = self.ev.bind(ref, None, Frame(cls.module))
            frame.bindings[params[0].arg] = value
            decorators = getattr(validator.node, "decorator_list", [])
            v2 = any((dotted_parts(getattr(d, "func", d)) or [""])[-1] == "field_validator" for d in decorators)
            for extra in params[1:]:
                frame.bindings[extra.arg] = SV(None, None, known=False, expr=extra.arg)
                if extra is params[1] and v2:  # pydantic 2 hands a ValidationInfo, whatever the parameter's name
                    frame.bindings[extra.arg] = ValidationInfoV(self._fields_before(instance, name))
                elif extra.arg == "values":
                    frame.bindings[extra.arg] = self._fields_before(instance, name)
                elif extra.arg == "field" and not v2:  # pydantic 1's ModelField: the field's name, type and default
                    frame.bindings[extra.arg] = self._model_field(cls, name)
                elif extra.arg == "info" or "ValidationInfo" in ast.unparse(extra.annotation or ast.Constant("")):
                    frame.bindings[extra.arg] = ValidationInfoV(self._fields_before(instance, name))
            result = self.ev.force(self.ev.call_bound(ref, frame))
            own = env_of(value)  # the field's own variable overrides whatever the validator builds from others
            if isinstance(result, SV) and not result.known:
                through = getattr(validator.node, "name", "a validator")
                why = f"{value.expr if isinstance(value, SV) and value.expr else name}, through {through}()"
                if result.expr and "://" in result.expr:  # `postgresql+psycopg://... (...)`: the scheme it builds
                    why = result.expr
                return replace(result, env=own or result.env, expr=why)
            value = fieldtext.named(result, own) if own else result

        return value

    def _model_field(self, cls: ClassRef, name: str) -> HolderV:
        """What pydantic 1 hands a validator as `field` (MoviePilot's `@validator("*")` on `field.name`,
        `field.type_`): the field's name, annotation and declared default."""
        klass, stmt = self.classes.fields(cls).get(name, (cls, None))
        frame = Frame(klass.module, scope=klass.node)
        annotation = stmt.annotation if isinstance(stmt, ast.AnnAssign) else None
        default = stmt.value if isinstance(stmt, (ast.Assign, ast.AnnAssign)) else None
        parts = {"type_": annotation, "default": default}
        attrs = {k: self.ev.eval(node, frame) if node is not None else unknown(None, None) for k, node in parts.items()}
        return HolderV("pydantic.fields.ModelField", {"name": SV(name, None), **attrs})

    def _fields_before(self, instance: InstanceRef, name: str) -> DictV:
        """The fields pydantic has validated when it reaches `name`: those declared before it, as a dict."""
        items: dict[str, Any] = {}
        for field_name in self.classes.fields(instance.cls):
            if field_name == name:
                break
            items[field_name] = Thunk(
                ast.Constant(None), Frame(instance.cls.module), compute=partial(self._field_of, instance, field_name)
            )
        return DictV(items, None)

    def _field_of(self, instance: InstanceRef, name: str) -> Any:
        """A field as a field validator meets it: before any model validator runs."""
        fields = self.classes.fields(instance.cls)
        if name in fields:
            return self.classes.field_value(instance, name, *fields[name])
        return self.classes.instance_attribute(instance, name, None, Frame(instance.cls.module))

    def _validators(self, cls: ClassRef, name: str) -> list[FuncRef]:
        found = []
        for klass in self.classes.class_chain(cls):
            for stmt in klass.node.body:
                if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                for decorator in stmt.decorator_list:
                    if not isinstance(decorator, ast.Call):
                        continue
                    if (dotted_parts(decorator.func) or [""])[-1] not in VALIDATORS:
                        continue
                    named = [a.value for a in decorator.args if isinstance(a, ast.Constant)]
                    if name in named or "*" in named:
                        found.append(FuncRef(klass.module, stmt))
        return found

    def after(self, instance: InstanceRef, name: str, value: Any, upto: int | None = None) -> Any:
        """A field as the `@model_validator(mode="after")`s that set it leave it (cognee's `fill_derived`: `if not
        self.db_host: self.db_host = ...`), run in pydantic's order, each meeting the fields as the ones before it
        (`upto`: the first so many) leave them; `value`: the field as read."""
        if id(instance) in self._handed:  # read inside a validator: the fields as it was handed them
            return value
        validators = self._after_validators(instance.cls)
        known_default = isinstance(value, SV) and value.known and value.env and upto is None
        if known_default and any(name in self._refused_by(instance, ref) for ref in validators):
            return SV(None, value.from_, value.env, known=False, expr=f"${value.env}")
        fields = self.classes.fields(instance.cls)
        self._depth += 1
        try:
            for index, ref in enumerate(validators[:upto]):
                node = ref.node
                params = [*node.args.posonlyargs, *node.args.args]
                if not params or isinstance(node, ast.Lambda) or name not in fieldtext.self_writes(node, params[0].arg):
                    continue
                later = Frame(instance.cls.module)
                read = {  # the other fields as the validators before this one leave them, when it reads them
                    field: Thunk(ast.Constant(None), later, compute=partial(self._as_of, instance, field, index))
                    for field in fields
                }
                read[name] = value
                before = replace(instance, overrides={**instance.overrides, **read}, attrs=None)
                bound = FuncRef(ref.module, node, bound_self=before)  # the field as each way out hands it back
                self._handed.add(id(before))
                try:
                    value = self.ev.returned_with(bound, f"{params[0].arg}.{name}", value)
                finally:
                    self._handed.discard(id(before))
        finally:
            self._depth -= 1
            if not self._depth:  # the instances it was worked out for may go: their ids with them
                self._memo.clear()
        return value

    def _refused_by(self, instance: InstanceRef, ref: FuncRef) -> set[str]:
        """`_required`, worked out once per instance and validator (it is asked at every read of a field)."""
        key = (id(instance), id(ref.node))
        if key not in self._refused:
            self._refused[key] = (instance, self._required(instance, ref))
        return self._refused[key][1]

    def _required(self, instance: InstanceRef, ref: FuncRef) -> set[str]:
        """The fields an after-validator refuses at their defaults: those `if TEST: raise ...` reads, at its top
        level, where TEST holds with no variable set (Hyperion's "Either SQLITE_DB or POSTGRES_HOST, ..."): the
        app starts only with some of them set, so a default of theirs is no value it runs with."""
        node = ref.node
        if isinstance(node, ast.Lambda) or not [*node.args.posonlyargs, *node.args.args]:
            return set()
        me, required = [*node.args.posonlyargs, *node.args.args][0].arg, set()
        instance = replace(instance, attrs=None)  # a copy: what it reads here is not the instance's (no validators)
        self._handed.add(id(instance))
        try:
            for stmt in node.body:
                if not (isinstance(stmt, ast.If) and any(isinstance(inner, ast.Raise) for inner in stmt.body)):
                    continue
                frame = Frame(ref.module, bindings={me: instance}, scope=node)
                verdict, by_env = containers.decide(self.ev, self.ev.force(self.ev.eval(stmt.test, frame)))
                if verdict and by_env:
                    required |= {
                        n.attr
                        for n in ast.walk(stmt.test)
                        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == me
                    }
        finally:
            self._handed.discard(id(instance))
        return required

    def _as_of(self, instance: InstanceRef, name: str, index: int) -> Any:
        """A field as the first `index` model validators leave it."""
        key = (id(instance), name, index)
        if key not in self._memo:
            read = self.classes.field_value(instance, name, *self.classes.fields(instance.cls)[name])
            self._memo[key] = self.after(instance, name, read, index)
        return self._memo[key]

    def _after_validators(self, cls: ClassRef) -> list[FuncRef]:
        """The after-validators pydantic runs, in its order: base classes' first, each class's as written; a
        subclass's method of the same name takes its base's place, and one not decorated removes it."""
        found: dict[str, FuncRef | None] = {}
        for klass in reversed(self.classes.class_chain(cls)):
            for stmt in klass.node.body:
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    after = stmt.args.args and any(_is_after(decorator) for decorator in stmt.decorator_list)
                    if after or stmt.name in found:
                        found[stmt.name] = FuncRef(klass.module, stmt) if after else None
        return [ref for ref in found.values() if ref is not None]


def _is_after(decorator: ast.expr) -> bool:
    """`@model_validator(mode="after")`."""
    if not (isinstance(decorator, ast.Call) and (dotted_parts(decorator.func) or [""])[-1] == "model_validator"):
        return False
    mode = next((k.value for k in decorator.keywords if k.arg == "mode"), None)
    return isinstance(mode, ast.Constant) and mode.value == "after"
