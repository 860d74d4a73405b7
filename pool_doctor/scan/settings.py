"""The project's classes read as models: pydantic `BaseModel` and pydantic-settings `BaseSettings` above all.

An instance's field is what the call gave, else (for settings) its variable in the class's env files, else its
default; the variable's name follows pydantic-settings (aliases, `env_prefix`, case, nested models).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from pool_doctor.scan import callers, containers, fieldtext, spreads
from pool_doctor.scan.dunders import Dunders
from pool_doctor.scan.environment import Environment, config_cast
from pool_doctor.scan.files import PARSER_CLASSES
from pool_doctor.scan.finder import FunctionNode, dotted_parts
from pool_doctor.scan.kinds import (
    SV,
    Branches,
    ClassRef,
    DictV,
    ExternalRef,
    Frame,
    FuncRef,
    InstanceRef,
    Interpreter,
    MethodRef,
    SuperRef,
    Thunk,
    is_known,
    keyword,
    unknown,
)
from pool_doctor.scan.mappings import MAPPING_METHODS, Mappings
from pool_doctor.scan.nodes import field_statements, is_classmethod, is_dataclass, sets_attribute
from pool_doctor.scan.rebinds import Rebinds
from pool_doctor.scan.scopes import Scopes
from pool_doctor.scan.settingsources import (
    CUSTOMISE,
    FileSources,
    Nested,
    case_sensitive,
    delimiter_of,
    first_source,
)
from pool_doctor.scan.statements import assigned_names, decorator_names, defines
from pool_doctor.scan.validators import Validators

DICT_TYPES = {"TypedDict", "SettingsConfigDict", "ConfigDict", "dict"}
MODEL_METHODS = {"model_dump", "dict", "model_copy", "copy"}
PARSER_METHODS = {"get", "getint", "getfloat", "getboolean", "has_option", "has_section"}
PARSER_HOOKS = {"__init__", "items", "optionxform", "sections", "options", "__getitem__", "_interpolate"}
PYDANTIC_WORDS = (
    {"1", "on", "t", "true", "y", "yes"},
    {"0", "off", "f", "false", "n", "no"},
)  # pydantic's strings for a bool (anything else is refused)
VALIDATE_METHODS = ("model_validate", "parse_obj")  # a pydantic model's class method making an instance of a mapping
MODEL_BASES = {"pydantic.BaseModel", "pydantic.main.BaseModel", "pydantic.v1.BaseModel", "sqlmodel.SQLModel"}
SETTINGS_BASES = {
    "pydantic_settings.BaseSettings",
    "pydantic.BaseSettings",
    "pydantic.v1.BaseSettings",
    "pydantic_settings.main.BaseSettings",
}
V1_SETTINGS = {"pydantic.BaseSettings", "pydantic.v1.BaseSettings"}  # pydantic 1's (2 moved it out)
ABSTRACT_DECORATORS = {"abstractmethod", "abstractproperty"}
SET_BEFORE_USE = ("__init__", "__set_name__")  # run before anything reads the instance
PROPERTY_DECORATORS = {"property", "cached_property", "computed_field"}


class SettingsClasses:
    def __init__(self, ev: Interpreter, scopes: Scopes, environment: Environment) -> None:
        self.ev = ev
        self.scopes = scopes
        self.environment = environment
        self._chains: dict[int, list[ClassRef]] = {}
        self.dunders = Dunders(ev, self.own_method, self.with_attribute)
        self._validate_calls: dict[int, tuple[ast.Call, ast.Call]] = {}  # `X.model_validate(m)` -> its `X(**m)`
        self._fields: dict[int, dict[str, tuple[ClassRef, ast.stmt]]] = {}
        self._configs: dict[int, dict[str, Any]] = {}
        self._set_after_init: dict[tuple[int, bool], set[str]] = {}
        self._overridden: dict[int, dict[str, str]] = {}  # what a class's subclasses set (callers.overridden)
        self.mappings = Mappings(ev, self)
        self.rebinds = Rebinds(ev, scopes, scopes.project)
        self.validators = Validators(self)
        self.file_sources = FileSources(ev, environment)
        self.building = 0  # instances whose __init__ runs now

    def instantiate(self, cls: ClassRef, node: ast.Call, frame: Frame) -> Any:
        if self.is_dict_type(cls):
            if not any(isinstance(s, ast.FunctionDef) for klass in self.class_chain(cls) for s in klass.node.body):
                return self.ev.dict_call(node, frame)  # a TypedDict (SettingsConfigDict's subclasses): a dict
            if not self.mappings.is_mapping(cls):  # a dict its own methods fill (bodhi's lazily loaded config)
                return unknown(frame.module, node)
        overrides: dict[str, Any] = {}
        opaque: list[ast.expr] = []  # `**x` the scan cannot read (a file's section): any field may be there
        for kw in node.keywords:
            if kw.arg is not None:
                overrides[kw.arg] = Thunk(kw.value, frame)
            else:
                spread = self.ev.force(self.ev.eval(kw.value, frame))
                if isinstance(spread, DictV):
                    overrides.update(spread.items)
                # (a dict the code builds with keys the scan cannot name, ayon's from APP_* variables, keeps the
                # defaults: none set, it is empty; one a mapping it cannot read is merged into does not)
                if not spreads.optional_section(kw.value) and not spreads.defaults_stand(spread):
                    opaque.append(kw.value)
        if node.args and self.init_of(cls) is None:  # a dataclass or NamedTuple: its fields in order
            for name, arg in zip(self.fields(cls), node.args):
                if isinstance(arg, ast.Starred):
                    break
                overrides.setdefault(name, Thunk(arg, frame))
        if opaque and self.init_of(cls) is None:  # (tnoff's `GeneralConfig(**settings["general"])` of a YAML file)
            text = frame.module.segment(opaque[-1])
            for name in self.fields(cls).keys() - overrides.keys():
                overrides[name] = unknown(frame.module, opaque[-1], why=f"{name} (or what **{text} gives)")
        return InstanceRef(cls, overrides, call=node, frame=frame)

    def validated(self, cls: ClassRef, node: ast.Call, frame: Frame) -> Any:
        """`Settings.model_validate(mapping)` (pydantic 1's `parse_obj`): as `Settings(**mapping)`; a settings
        class still reads its environment, and the mapping's keys win over it (pydantic-settings 2.14)."""
        given = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "obj"), None)
        if given is None:
            return unknown(frame.module, node)
        kept = self._validate_calls.get(id(node))
        if kept is None or kept[0] is not node:  # one call node per site: what is worked out of it is kept by id
            kept = self._validate_calls[id(node)] = (node, ast.copy_location(ast.Call(node.func, [], []), node))
            kept[1].keywords = [ast.keyword(None, given)]
        return self.instantiate(cls, kept[1], frame)

    def is_model(self, cls: ClassRef) -> bool:
        """A pydantic model, a settings class or a dataclass: `dict(x)` / `**x` give its fields."""
        if any(is_dataclass(klass.node) for klass in self.class_chain(cls)):
            return True
        return self.derives_from(cls, lambda dotted: dotted in SETTINGS_BASES or dotted in MODEL_BASES)

    def is_parser(self, cls: ClassRef) -> bool:
        """A project subclass of configparser's parsers (Airflow's AirflowConfigParser)."""
        return self.derives_from(cls, lambda dotted: dotted in PARSER_CLASSES)

    def is_module_type(self, cls: ClassRef) -> bool:
        """A project subclass of `types.ModuleType` (a lazy loader: Piccolo's, TensorFlow's `LazyLoader`)."""
        return self.derives_from(cls, lambda dotted: dotted == "types.ModuleType")

    def derives_from(self, cls: ClassRef, library: Callable[[str], bool]) -> bool:
        """The class or one of its project bases derives from a library class `library` accepts by dotted name."""
        return any(
            isinstance(base, ExternalRef) and library(base.dotted)
            for klass in self.class_chain(cls)
            for base in self.class_bases(klass)
        )

    def reads_its_own_way(self, cls: ClassRef) -> bool:
        """A parser subclass that defines how it reads files or options (`__init__`, `read*`, `get*`, `items`,
        `optionxform`...): Airflow's, whose files and lookups are its own business at run time."""
        return any(
            isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))
            and (stmt.name.startswith(("get", "read", "_read", "_get", "has_")) or stmt.name in PARSER_HOOKS)
            for klass in self.class_chain(cls)
            for stmt in klass.node.body
        )

    def is_dict_type(self, cls: ClassRef, seen: int = 0) -> bool:
        for base in self.class_bases(cls):
            if isinstance(base, ExternalRef) and base.dotted.rsplit(".", 1)[-1] in DICT_TYPES:
                return True
            if isinstance(base, ClassRef) and seen < 8 and self.is_dict_type(base, seen + 1):
                return True
        return False

    def init_of(self, cls: ClassRef) -> FuncRef | None:
        """The project's own `__init__` the class runs, if it has one."""
        return self.own_method(cls, "__init__", None)

    def held_items(self, instance: InstanceRef) -> DictV | None:
        return self.mappings.held_items(instance)

    def init_state(self, instance: InstanceRef) -> dict[str, Any]:
        """What the class's `__init__` sets on `self` (`self.x = ...`), run with the call's arguments."""
        if instance.attrs is not None:
            return instance.attrs
        instance.attrs = {}  # while it runs: an attribute read inside __init__ before it is set is unknown
        init = self.init_of(instance.cls)
        if init is None:
            return instance.attrs
        params = [*init.node.args.posonlyargs, *init.node.args.args]
        if not params:
            return instance.attrs
        ref = FuncRef(init.module, init.node, bound_self=instance, owner=init.owner)
        self.building += 1  # meanwhile the instance is half made: nothing worked out from it is kept
        try:
            frame = self.ev.bind(ref, instance.call, instance.frame or Frame(instance.cls.module))
            if instance.given is not None and instance.call is None:  # made by a caller the scan does not link:
                frame = replace(
                    frame, bindings={**frame.bindings, **fieldtext.given_values(self.ev, init.node.args, frame)}
                )
            elif fieldtext.spreads(instance.call) and fieldtext.pools_in(instance.cls.module, instance.cls.node):
                spreads = fieldtext.spreads_unread(self.ev, instance.call, instance.frame or frame)  # (only there:
                if any(spreads):  # meltano's time)
                    over = fieldtext.spread_over(self.ev, init.node.args, frame, instance.call, spreads)
                    frame = replace(frame, bindings={**frame.bindings, **over})
            state = self.ev.bound_locals(ref, frame)
        finally:
            self.building -= 1
        prefix = f"{params[0].arg}."
        instance.attrs = {key[len(prefix) :]: value for key, value in state.items() if key.startswith(prefix)}
        return instance.attrs

    def set_after_init(self, cls: ClassRef, in_place: bool = True) -> set[str]:
        """The attributes a method other than `__init__` sets or (`in_place`) changes on `self` (`self.x = ...`,
        `self.x[k] = ...`, `self.x.update(...)`)."""
        key = (id(cls.node), in_place)
        found = self._set_after_init.get(key)
        if found is not None:
            return found
        methods = [s for k in self.class_chain(cls) for s in k.node.body if isinstance(s, FunctionNode)]
        found = fieldtext.set_after_init(methods, SET_BEFORE_USE, in_place)
        self._set_after_init[key] = found
        return found

    def class_bases(self, cls: ClassRef) -> list[Any]:
        bases = []
        for base in cls.node.bases:
            bases.append(self.ev.force(self.ev.eval(base, Frame(cls.module))))
        return bases

    def _takes_arguments(self, cls: ClassRef) -> bool:
        """Whether instances of the class may differ by what they are made with (a dataclass's fields, its own
        `__init__`'s parameters): not a settings class, which reads its own (Shvatka's `db_config: DBConfig`)."""
        if self.is_settings(cls):
            return False
        if self.init_of(cls) is not None:  # (its own __init__ is run with each parameter unknown: init_state)
            return False
        return any(is_dataclass(klass.node) for klass in self.class_chain(cls)) and bool(self.fields(cls))

    def is_settings(self, cls: ClassRef) -> bool:
        return self.derives_from(cls, lambda dotted: dotted in SETTINGS_BASES)

    def class_chain(self, cls: ClassRef, seen: int = 0) -> list[ClassRef]:
        """The class and its project base classes, most derived first."""
        cached = self._chains.get(id(cls.node))
        if cached is not None:
            return cached
        chain = [cls]
        if seen < 8:
            for base in self.class_bases(cls):
                if isinstance(base, ClassRef):
                    chain.extend(self.class_chain(base, seen + 1))
        if seen == 0:
            self._chains[id(cls.node)] = chain
        return chain

    def settings_config(self, cls: ClassRef) -> dict[str, Any]:
        """model_config = SettingsConfigDict(...) / dict(...), or pydantic v1's inner `class Config`."""
        cached = self._configs.get(id(cls.node))
        if cached is not None:
            return cached
        config: dict[str, Any] = {}
        self._configs[id(cls.node)] = config  # read meanwhile (a cycle): what is known so far
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
                    inner = (pair for node in stmt.body for pair in assigned_names(node))
                    config.update({name: self.ev.force(self.ev.eval(value, frame)) for name, value in inner})
            for given in klass.node.keywords:  # `class X(BaseSettings, env_prefix="P_")`: over model_config
                if given.arg is not None and given.arg != "metaclass":
                    config[given.arg] = self.ev.force(self.ev.eval(given.value, Frame(klass.module)))
        return config

    def class_attribute(self, cls: ClassRef, attr: str) -> Any:
        """A class-level name, as the class's body (or its bases') leaves it."""
        setter = self.rebinds.set_by(cls, attr)
        if setter is not None:
            return SV(None, None, known=False, expr=f"{attr}, set again by {setter}")
        for klass in self.class_chain(cls):
            state = self.scopes.body_state(klass.module, klass.node)
            if state is not None and attr in state and not fieldtext.not_set(self.ev.force(state[attr])):
                found = self.ev.force(state[attr])
                if isinstance(found, FuncRef) and is_classmethod(found.node):
                    return replace(found, bound_self=cls, owner=klass)  # its cls: the class read through
                return self.dunders.descriptor_read(found, cls, attr, None)  # owner: the class read through
            assignments = self.scopes.scope_locals(klass.node).get(attr)
            if state is None and assignments:  # the body is being run: its assignments alone
                return self.scopes.from_assignments(assignments, Frame(klass.module, scope=klass.node), klass.node)
            for stmt in klass.node.body:  # (not an @overload's stub: Env.int's gave None)
                if defines(stmt, attr):
                    return FuncRef(klass.module, stmt, bound_self=cls if is_classmethod(stmt) else None, owner=klass)
        for base in (b for klass in self.class_chain(cls) for b in self.class_bases(klass) if isinstance(b, Branches)):
            picked = self._picked_base(base, attr)  # `class ConfigVars(get_settings())`: each class it may pick
            if picked is not None:
                return picked
        if (
            attr in VALIDATE_METHODS
            and self.is_model(cls)
            and not any(is_dataclass(k.node) for k in self.class_chain(cls))
        ):
            return MethodRef(cls, attr)  # called: `validated`
        return None

    def _picked_base(self, base: Branches, attr: str) -> Branches | None:
        """A base a test picks among project classes (bot_moderator's `class ConfigVars(get_settings())`, DevConfig
        where SET_DEV_SETTINGS is set, else ProdConfig): the attribute each gives, on its side."""
        options, default = containers.settle_options(self.ev, base)
        classes = [(when, self.ev.force(option)) for when, option in options]
        if not classes or not all(isinstance(option, ClassRef) for _, option in classes):
            return None
        found = [(when, self.class_attribute(option, attr)) for when, option in classes]
        if all(value is None for _, value in found):
            return None
        gone = SV(None, None, known=False, expr=f"{attr} (the class picked has none)")
        return Branches([(when, gone if value is None else value) for when, value in found], default=default)

    def fields(self, cls: ClassRef) -> dict[str, tuple[ClassRef, ast.stmt]]:
        """The class's fields (its bases' first), each with the class and statement that declare it: not
        model_config, not ClassVar, not private names."""
        cached = self._fields.get(id(cls.node))
        if cached is not None:
            return cached
        found: dict[str, tuple[ClassRef, ast.stmt]] = {}
        for klass in reversed(self.class_chain(cls)):
            found |= {name: (klass, stmt) for name, stmt in field_statements(klass.node)}
        self._fields[id(cls.node)] = found
        return found

    def instance_fields(self, instance: InstanceRef) -> dict[str, Any]:
        return {
            name: self.instance_attribute(instance, name, None, Frame(instance.cls.module))
            for name in self.fields(instance.cls)
        }

    def instance_attribute(self, instance: InstanceRef, attr: str, node: ast.AST | None, frame: Frame) -> Any:
        cls = instance.cls
        if attr == "__class__":  # the class a known call made it of (a method's `self` may be a subclass's)
            return cls if instance.given is None and instance.call is not None else unknown(frame.module, node)
        setter = self.rebinds.set_by(instance, attr) or self.rebinds.set_by(cls, attr)
        if setter is not None:
            init = self.init_of(cls) if setter == "__init__()" and not self.rebinds.set_by(instance, attr) else None
            first = self.rebinds.first_value(instance, init, attr) if init is not None else None
            return first if first is not None else unknown(frame.module, node, why=f"{attr}, set again by {setter}")
        if instance.any_subclass:  # a method's `self` the app makes of several classes (or none it names)
            if id(cls.node) not in self._overridden:
                project = self.scopes.project
                heirs = callers.subclasses(project, cls.node, self.class_chain)  # (and where the app makes them)
                self._overridden[id(cls.node)] = callers.overridden([h for h in heirs if callers.in_use(project, h)])
            heir = self._overridden[id(cls.node)].get(attr)
            if heir is not None:
                return unknown(frame.module, node, why=f"self.{attr} (its subclass {heir} sets it)")
        attrs = self.init_state(instance)
        if instance.given is not None and attr in self.fields(cls) and self._takes_arguments(cls):
            return unknown(frame.module, node, why=f"{instance.given}.{attr} (what its caller made it with)")
        if attr in attrs:
            value = self.ev.force(attrs[attr])
            # which value a read meets depends on what ran before; but a project object another method only
            # changes in place (`self.config[key] = ...`) stays that object (MaxKB's dict-subclass Config)
            if attr in self.set_after_init(cls, in_place=not isinstance(value, InstanceRef)):
                return unknown(frame.module, node, why=f"self.{attr}, set again after __init__")
            return self.mappings.changed(value, attr) if attr in self.set_after_init(cls) else value
        computed = self._trait_default(instance, attr)  # traitlets' `@default("db_url")` method
        if computed is not None:
            return self.ev.call_function(computed, None, Frame(computed.module))
        fields = self.fields(cls)
        if attr in fields:
            value = self.validators.after(instance, attr, self.field_value(instance, attr, *fields[attr]))
            return self.dunders.descriptor_read(value, cls, attr, instance)
        if attr in PARSER_METHODS and self.is_parser(cls):  # read as ConfigParser reads, whatever it overrides
            return MethodRef(instance, attr)
        for klass in self.class_chain(cls):
            for stmt in klass.node.body:  # (not an @overload's stub: Env.int's gave None)
                if defines(stmt, attr):
                    ref = FuncRef(klass.module, stmt, bound_self=instance, owner=klass)
                    decorators = decorator_names(stmt)
                    if decorators & ABSTRACT_DECORATORS:  # what runs is a subclass's (luigi's connection_string)
                        return unknown(frame.module, node, why=f"{attr} (abstract: a subclass gives it)")
                    if decorators & PROPERTY_DECORATORS:
                        return self.ev.call_function(ref, None, Frame(klass.module))
                    if decorators & {"classmethod"}:
                        return FuncRef(klass.module, stmt, bound_self=klass, owner=klass)
                    if decorators & {"staticmethod"}:
                        return FuncRef(klass.module, stmt, owner=klass)
                    return ref
        if (
            attr.startswith("_")
            and self._constant(cls, attr)
            and isinstance(got := self.class_attribute(cls, attr), SV)
        ):
            return got  # no field, but a class's constant all the same (n6's `self._DEFAULT_WAIT_TIMEOUT`)
        held = self.held_items(instance) if attr in MAPPING_METHODS else None
        if held is not None:  # a dict's own method of a project dict subclass: on its items
            return MethodRef(held, attr)
        if attr in MODEL_METHODS:
            return MethodRef(instance, attr)
        missing = self.dunders.getattr_read(instance, attr) if instance.given is None else None
        if missing is not None:
            return missing
        return unknown(frame.module, node) if node is not None else SV(None, None, known=False, expr=attr)

    def _constant(self, cls: ClassRef, attr: str) -> bool:
        """Whether a private class attribute stays what the class says for its instances: no dataclass or model
        makes it an argument, no method sets it (nodes.sets_attribute)."""
        chain = self.class_chain(cls)
        return not any(is_dataclass(k.node) or self.is_model(k) or sets_attribute(k.node, attr) for k in chain)

    def with_attribute(self, instance: InstanceRef, attr: str, value: Any) -> InstanceRef:
        """The instance after code that holds it sets `instance.attr = value` (a factory filling in the settings
        object it returns; not a method's own `self.x`): that value wins over the class's default and
        `__init__`'s."""
        attrs = {**self.init_state(instance), attr: value}
        return replace(instance, overrides={**instance.overrides, attr: value}, attrs=attrs)

    def as_tested(self, holder: Any, name: str, frame: Frame) -> Any:
        """An instance a test read on one side only a set variable reaches (`if self.ro: self.retry()`): what
        its methods read of that attribute there is the variable's, as the test left it (flow.narrowed)."""
        current: Frame | None = frame
        while isinstance(holder, InstanceRef) and current is not None and current.flow:
            for key, value in current.bindings.items():
                attr = key[len(name) + 1 :] if key.startswith(f"{name}.") else ""
                # (flow.narrowed binds the value itself: forcing every other would read what is being worked out)
                if attr and isinstance(value, SV) and value.env and not value.known and value.expr == f"${value.env}":
                    was = self.instance_attribute(holder, attr, None, frame)
                    if isinstance(was, SV) and was.known and was.env == value.env:
                        holder = self.with_attribute(holder, attr, value)
            current = current.outer
        return holder

    def _trait_default(self, instance: InstanceRef, attr: str) -> FuncRef | None:
        """The method a traitlets class computes a trait's default with (`@default("db_url")`), bound."""
        for klass in self.class_chain(instance.cls):
            for stmt in klass.node.body:
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                    isinstance(d, ast.Call)
                    and (dotted_parts(d.func) or [""])[-1] == "default"
                    and d.args
                    and isinstance(d.args[0], ast.Constant)
                    and d.args[0].value == attr
                    for d in stmt.decorator_list
                ):
                    return FuncRef(klass.module, stmt, bound_self=instance, owner=klass)
        return None

    def own_method(self, cls: ClassRef, name: str, bound: Any) -> FuncRef | None:
        """The project's own method `name` the class (or a project base) defines, bound to `bound`."""
        for klass in self.class_chain(cls):
            for stmt in klass.node.body:  # (not an @overload's stub: Env.int's gave None)
                if defines(stmt, name):
                    return FuncRef(klass.module, stmt, bound_self=bound, owner=klass)
        return None

    def super_attribute(self, ref: SuperRef, attr: str) -> Any:
        """`super().attr` in a method of `ref.owner`: the first base class after it that defines attr."""
        bound = ref.bound
        cls = bound.cls if isinstance(bound, InstanceRef) else bound
        if not isinstance(cls, ClassRef):
            return SV(None, None, known=False, expr=f"super().{attr}")
        chain = self.class_chain(cls)
        after = next((index for index, klass in enumerate(chain) if klass.node is ref.owner.node), None)
        for klass in chain[after + 1 :] if after is not None else []:
            for stmt in klass.node.body:  # (not an @overload's stub: Env.int's gave None)
                if defines(stmt, attr):
                    method = FuncRef(klass.module, stmt, bound_self=bound, owner=klass)
                    decorators = decorator_names(stmt)
                    if decorators & PROPERTY_DECORATORS:  # `super().DATABASES` of a property: its value
                        return self.ev.call_function(method, None, Frame(klass.module))
                    return method
        return SV(None, None, known=False, expr=f"super().{attr}")

    def builtin_method(self, instance: InstanceRef, name: str, node: ast.Call, frame: Frame) -> Any:
        """pydantic's own methods: `model_dump()` / `dict()` (include, exclude, exclude_none, by_alias),
        `model_copy(update=...)`."""
        if name in ("model_copy", "copy"):
            update = self.ev.arg(node, frame, None, "update")
            overrides = dict(instance.overrides)
            if isinstance(update, DictV):
                overrides.update(update.items)
            return InstanceRef(instance.cls, overrides, instance.env_prefix, instance.call, instance.frame)
        if name not in ("model_dump", "dict"):
            return unknown(frame.module, node)
        options = {kw.arg: self.ev.force(self.ev.eval(kw.value, frame)) for kw in node.keywords if kw.arg}
        include, exclude = fieldtext.names(options.get("include")), fieldtext.names(options.get("exclude")) or set()
        items: dict[str, Any] = {}
        aliases = self._aliases(instance.cls) if fieldtext.flag(options.get("by_alias")) else {}
        for field_name in self.fields(instance.cls):
            if field_name in exclude or (include is not None and field_name not in include):
                continue
            if fieldtext.flag(options.get("exclude_unset")) and field_name not in instance.overrides:
                continue
            value = self.ev.force(self.instance_attribute(instance, field_name, None, frame))
            if isinstance(value, InstanceRef):
                value = DictV(self.instance_fields(value), None)
            if fieldtext.flag(options.get("exclude_none")) and is_known(value) and value.value is None:
                continue
            items[aliases.get(field_name, field_name)] = value
        extra = self.ev.force(self.settings_config(instance.cls).get("extra"))  # `extra = "allow"`: any key given
        allowed = (is_known(extra) and extra.value == "allow") or getattr(extra, "dotted", "").endswith("Extra.allow")
        opaque = [f"**(the keys {instance.cls.node.name} was given beyond its fields)"] if allowed else []
        return DictV(items, frame.module.where(node), opaque, line=node.lineno, end_line=node.end_lineno or 0)

    def _aliases(self, cls: ClassRef) -> dict[str, str]:
        found = {name: fieldtext.field_alias(stmt) for name, (_, stmt) in self.fields(cls).items()}
        return {name: alias for name, alias in found.items() if alias is not None}

    def field_value(self, instance: InstanceRef, name: str, klass: ClassRef, stmt: ast.stmt) -> Any:
        frame = Frame(klass.module, scope=klass.node)
        value_node = stmt.value if isinstance(stmt, (ast.Assign, ast.AnnAssign)) else None
        annotation = stmt.annotation if isinstance(stmt, ast.AnnAssign) else None
        value_node = fieldtext.field_of(annotation, value_node)  # (tux's `Annotated[int, Field(default=20)]`)
        env_name: str | None = None
        default: Any = None
        explicit_env: str | None = None
        if isinstance(value_node, ast.Call) and (dotted_parts(value_node.func) or [""])[-1] in ("Field", "field"):
            default_node = value_node.args[0] if value_node.args else keyword(value_node, "default")
            if default_node is not None and not (
                isinstance(default_node, ast.Constant) and default_node.value is Ellipsis
            ):
                default = Thunk(default_node, frame)
            factory = keyword(value_node, "default_factory")
            if default is None and factory is not None:
                default = Thunk(ast.Call(func=factory, args=[], keywords=[], **fieldtext.at(factory)), frame)
            for key in ("validation_alias", "alias", "env"):
                alias_node = keyword(value_node, key)
                if alias_node is not None:
                    explicit_env = fieldtext.env_alias(self.ev, self.ev.force(self.ev.eval(alias_node, frame)))
                    break
        elif value_node is not None:
            default = Thunk(value_node, frame)
        if name in instance.overrides:
            return self.ev.force(instance.overrides[name])
        settings = self.is_settings(klass) or self.is_settings(instance.cls)
        if settings or instance.root is not None:
            root = instance.root or instance.cls  # a nested model reads its variables from its settings' sources
            config = self.settings_config(root)
            prefix_value = config.get("env_prefix")
            written = str(prefix_value.value) if is_known(prefix_value) and prefix_value.value else ""
            prefix = instance.env_prefix if instance.env_prefix is not None else written
            env_name = explicit_env or fieldtext.fields_env(self.ev, config, name) or f"{prefix}{name}"
            if not case_sensitive(config):
                env_name = env_name.upper()
            if instance.root is not None and instance.env_prefix is None:
                env_name = None  # a nested model's field with no env_nested_delimiter: no variable of its own
            method = self.own_method(root, CUSTOMISE, None)  # (syncmaster's config.yml, under its variables)
            at = [*instance.nested_at, name]
            if default is None and fieldtext.optional(annotation) and self.derives_from(root, V1_SETTINGS.__contains__):
                default = Thunk(ast.copy_location(ast.Constant(None), stmt), frame)  # (pydantic 1: None by default)
            nested = self._nested_model(fieldtext.model_type(annotation, default is None), klass)
            if nested is not None:
                delimiter = delimiter_of(config)
                sub_prefix = f"{env_name}{delimiter}" if delimiter and env_name else None
                made = self.ev.force(default) if default is not None else None
                own = sub_prefix is None and self.is_settings(nested)  # (reading its own variables)
                place = Nested(method, root, config, at, klass.module, sub_prefix)
                return self.file_sources.nested(nested, made, own, place)
            none_text = fieldtext.none_text(config, annotation)
            variables = self.file_sources.variables(method, root, config, klass.module, env_name)
            read = first_source(variables, self.file_sources.value(method, root, config, at), env_name)
            if read is not None:
                if read.value == none_text and read.known:
                    return self.validators.validated(instance, name, replace(read, value=None))
                value = config_cast(fieldtext.annotation_cast(annotation), read, klass.module, stmt, PYDANTIC_WORDS)
                return self.validators.validated(instance, name, value)
            named = f"${env_name} " if env_name else ""
            if default is None:
                return unknown(klass.module, stmt, env=env_name, why=f"{named}(required, no default)")
            value = self.ev.force(default)
            if fieldtext.empty_url(annotation, value):  # BaseSettings validates defaults: "" is no URL, it raises
                return unknown(klass.module, stmt, env=env_name, why=f"{named}(required: the default is no URL)")
            # a default that reads a variable the code names (`os.environ.get("POOL_MIN", 2)`) keeps it: deployments set
            # that one; the field's own name, unwritten, is pydantic's
            value = replace(value, env=env_name) if isinstance(value, SV) and (explicit_env or not value.env) else value
            if none_text is not None and env_name and is_known(value) and value.value is not None:
                # env_parse_none_str: the variable set to that text makes the field None, so `is None` is the
                # environment's to decide
                made_none = SV(None, value.from_, env_name, source=f"{env_name}={none_text}")
                value = Branches(
                    [(f"${env_name} != {none_text!r}", value), (f"${env_name} == {none_text!r}", made_none)], default=0
                )
            return self.validators.validated(instance, name, value)
        if default is None:
            nested = self._nested_model(fieldtext.annotated(annotation)[0], klass)
            if nested is not None:
                return InstanceRef(nested, {})
            return unknown(klass.module, stmt)
        return self.validators.validated(instance, name, self.ev.force(default))

    def _nested_model(self, annotation: ast.expr | None, klass: ClassRef) -> ClassRef | None:
        if annotation is None:
            return None
        value = self.ev.force(self.ev.eval(annotation, Frame(klass.module)))
        if isinstance(value, ClassRef) and self.is_model(value) and self.fields(value):
            return value  # a pydantic model, a settings class, a dataclass: not an Enum, not a plain class
        return None
