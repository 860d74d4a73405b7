"""A `flask.Config` the code makes for itself, outside an app (pagure's `config = flask.config.Config(root)`), and
reads as a dict where it makes its pools: what its loaders put in it.

Flask's Config is a dict; `from_object(x)` copies the upper-case attributes of x (a module, a class, an instance,
or the dotted name of one), `from_mapping` the upper-case keys of a mapping, `from_pyfile` the upper-case names a
file of Python sets. A file named by a variable (`from_envvar`) or read by a loader function (`from_file`) may set
any key, so after it the scan knows none: each key it held is unknown, not the value it had before.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Callable
from functools import partial
from typing import Any

from pool_doctor.scan import nodes
from pool_doctor.scan.appconfig import POOL_KEYS, URI
from pool_doctor.scan.finder import Module, Project, dotted_parts
from pool_doctor.scan.kinds import (
    SV,
    Branches,
    ClassRef,
    DictV,
    Frame,
    HolderV,
    InstanceRef,
    Interpreter,
    ModuleRef,
    Thunk,
    is_known,
    unknown,
)

CONFIGS = ("flask.Config", "flask.config.Config")
APP = "flask.Flask"
APPS = ("flask.Flask", "flask.app.Flask", "quart.Quart", "apiflask.APIFlask")  # each has a flask.Config
SANIC = "sanic.Sanic"
SANICS = (SANIC, "sanic.app.Sanic")
_MOST = 20  # the modules, and the classes, a template may name: past it, too loose to read as one of them
STAR_DEPTH = 3  # star imports of star imports followed for a config module's names

LOADERS = {"from_object", "from_pyfile", "from_envvar", "from_file", "from_mapping", "update_config"}  # (Sanic: last)


def calls(ev: Interpreter) -> dict[str, Any]:
    """`flask.Config(root_path, defaults=None)`: a dict of its defaults. `flask.Flask(...)`: an app whose
    `config` holds what the code loads and writes into it before it is read; any other key may be set where the
    scan does not look (a function the app is handed to), so it is unknown, not missing."""

    def made(node: ast.Call, frame: Frame) -> DictV:
        result = DictV({}, frame.module.where(node))
        defaults = ev.arg(node, frame, 1, "defaults")
        if defaults is not None:
            ev.merge(result, defaults, frame.module.segment(node))
        return result

    def app(node: ast.Call, frame: Frame, dotted: str = APP) -> HolderV:
        return HolderV(
            dotted, {"config": DictV({}, frame.module.where(node), [f"{frame.module.segment(node)}.config"])}
        )

    sanic = partial(app, dotted=SANIC)  # Sanic 25's Config: a dict read by attribute too (its defaults not a pool's)
    return {**dict.fromkeys(CONFIGS, made), **dict.fromkeys(APPS, app), **dict.fromkeys(SANICS, sanic)}


def loaded(ev: Interpreter, base: DictV, method: str, call: ast.Call, frame: Frame) -> DictV:
    """What `config.from_object(x)` (and its kin) leaves in a Config the code made."""
    module = frame.module
    where = module.where(call)
    keys: dict[str, Any] | None = None
    given = ev.force(ev.eval(call.args[0], frame)) if call.args else None
    if method == "update_config":  # Sanic's: a Python file by path; else a dict's keys, an object's names
        path = is_known(given) and isinstance(given.value, str) and given.value.endswith(".py")
        method = "from_pyfile" if path else "from_mapping" if isinstance(given, DictV) else "from_object"
    if method == "from_mapping":
        mapping = DictV({}, where)
        for arg in call.args:
            ev.merge(mapping, ev.eval(arg, frame), module.segment(arg))
        mapping.items.update({kw.arg: Thunk(kw.value, frame) for kw in call.keywords if kw.arg is not None})
        keys = None if mapping.opaque else mapping.items
    elif method == "from_object":
        keys = _object_keys(ev, given, frame)
    elif method == "from_pyfile" and is_known(given) and isinstance(given.value, str):
        source = python_file(ev, module, given.value)
        keys = _object_keys(ev, ModuleRef(source), frame) if source is not None else None
    if keys is None:  # it may set any key: what the dict held is no longer known
        text = module.segment(call)
        return DictV(
            {key: unknown(module, call, why=f"{key} (or what {text} loads)") for key in base.items},
            base.origin,
            [*base.opaque, text],
        )
    result = DictV(dict(base.items), base.origin, list(base.opaque))
    result.items.update({key: value for key, value in keys.items() if key.isupper()})
    return result


def chosen(ev: Interpreter, arg: ast.expr, frame: Frame) -> Branches | None:
    """What `from_object` is given, when it is one of several the code names: from a map, by a template, or by a
    variable naming a class."""
    return chosen_from_map(ev, arg, frame) or by_template(ev, arg, frame) or by_variable(ev, arg, frame)


def by_variable(ev: Interpreter, arg: ast.expr, frame: Frame) -> Branches | None:
    """`from_object(os.getenv("APP_SETTINGS"))`, a variable that names the config class by its dotted path
    (homeeasy's and flask-inventory's `APP_SETTINGS=project.config.DevelopmentConfig`): one of the project's
    config classes that give a database URL, each under the variable's test; none in effect with the variable
    unset (from_object(None) fails). None where the value is not a variable's, or no class gives a URL."""
    given = ev.force(ev.eval(_assigned_once(arg, frame), frame))
    unset = isinstance(given, SV) and given.known and given.value is None  # (os.getenv's None: from_object fails)
    if not (isinstance(given, SV) and given.env and (unset or given.expr == f"${given.env}")):
        return None
    home = frame.module.path.parent  # (the app's own project's classes: a monorepo's other services' are theirs)
    while (home / "__init__.py").is_file() and home.parent != home:
        home = home.parent
    found: dict[str, Any] = {}
    for module in list(ev.project.modules.values()):
        if module is None or module.aside or not module.path.is_relative_to(home):
            continue
        for name, node in module.classes.items():
            ref = ClassRef(module, node)
            if URI in _class_names(ev, ref) and len(found) <= _MOST:
                found[f"{module.name}.{name}"] = ref
    if not found or len(found) > _MOST:
        return None
    return Branches([(f"${given.env} == {name!r}", ref) for name, ref in found.items()])


def chosen_from_map(ev: Interpreter, arg: ast.expr, frame: Frame) -> Branches | None:
    """`from_object(configs[name])` (or `configs.get(name)`: quiz's) with `configs` a dict of config classes (or
    modules) the scan reads and `name` a variable's: one of them, each under its key's test, the one the
    variable's default picks in effect with no variable set. None where the map or the key is not such. Also
    through a name the function assigns it to once, and with a fallback of the map's own (nuzum-edut's
    `cfg = config.get(name) or config["default"]`, then `from_object(cfg)`): where the key names none, that one."""
    arg, fallback = _assigned_once(arg, frame), None
    if isinstance(arg, ast.BoolOp) and isinstance(arg.op, ast.Or) and len(arg.values) == 2:
        arg, fallback = arg.values
    if (
        isinstance(arg, ast.Call)
        and isinstance(arg.func, ast.Attribute)
        and arg.func.attr == "get"
        and not arg.keywords
    ):
        container, slot = arg.func.value, arg.args[0] if len(arg.args) == 1 else None
    elif isinstance(arg, ast.Subscript):
        container, slot = arg.value, arg.slice
    else:
        return None
    if slot is None:
        return None  # (`configs.get(name, fallback)`: not read)
    mapping, key = ev.force(ev.eval(container, frame)), ev.force(ev.eval(slot, frame))
    if not isinstance(mapping, DictV) or mapping.opaque or not mapping.items or not (isinstance(key, SV) and key.env):
        return None  # (a key a caller gives may be a different one per app: each class stays its own engine)
    options = [(name, _named(ev, ev.force(value), frame.module)) for name, value in mapping.items.items()]
    if not all(isinstance(value, (ClassRef, InstanceRef, ModuleRef)) for _, value in options):
        return None
    text = frame.module.segment(slot)
    names = [name for name, _ in options]
    otherwise = _fallback(fallback, container, names) if fallback is not None else None
    if fallback is not None and otherwise is None:
        return None
    default = names.index(key.value) if is_known(key) and key.value in names else otherwise
    return Branches([(f"{text} == {name!r}", value) for name, value in options], default=default)


def _fallback(fallback: ast.expr, container: ast.expr, names: list[str]) -> int | None:
    """Which of the map's entries `configs[name] or configs["default"]` falls back to: its index, or None."""
    if not (isinstance(fallback, ast.Subscript) and isinstance(fallback.slice, ast.Constant)):
        return None
    same = ast.dump(fallback.value) == ast.dump(container)
    return names.index(fallback.slice.value) if same and fallback.slice.value in names else None


def by_template(ev: Interpreter, arg: ast.expr, frame: Frame) -> Branches | None:
    """`from_object("app.config.{env}.{Env}Config".format(...))` (an f-string, `+`, `%`) with a part the scan
    cannot read: one of the project's modules or classes whose dotted name the template fits, a placeholder being
    one name (none in effect with no variable set). None when the template names no package first, or fits none."""
    parts = nodes.template(_assigned_once(arg, frame))
    package = parts[0].rpartition(".")[0] if parts and parts[0] is not None else ""
    if not package or is_known(ev.force(ev.eval(arg, frame))):
        return None
    pattern = "".join(r"\w+" if part is None else re.escape(part) for part in parts)
    found: dict[str, Any] = {}  # (the package's own classes too: `"config.%s" % name` of config/__init__.py's)
    inside = [name for name in ev.project.index if name == package or name.startswith(package + ".")]
    for dotted in inside if len(inside) <= _MOST else []:
        module = ev.project.module_by_name(dotted)
        names = [dotted, *(f"{dotted}.{name}" for name in (module.classes if module is not None else ()))]
        found.update({name: named_object(ev, name, frame.module) for name in names if re.fullmatch(pattern, name)})
    found = {name: source for name, source in found.items() if _object_keys(ev, source, frame)}  # (some setting)
    if not found or len(found) > _MOST:
        return None
    text = frame.module.segment(arg)
    return Branches([(f"{text} == {name!r}", value) for name, value in found.items()])


def _assigned_once(arg: ast.expr, frame: Frame) -> ast.expr:
    """A name the function (or the module) assigns once: what it is assigned (ras-secure-message's
    `app_config = f"config.{...}"`, then `from_object(app_config)`); anything else as it is."""
    if not isinstance(arg, ast.Name):
        return arg
    body = frame.scope if frame.scope is not None else frame.module.tree
    values = [
        stmt.value
        for stmt in ast.walk(body)
        if isinstance(stmt, ast.Assign) and [getattr(t, "id", None) for t in stmt.targets] == [arg.id]
    ]
    changed = any(isinstance(n, ast.AugAssign) and getattr(n.target, "id", None) == arg.id for n in ast.walk(body))
    return values[0] if len(values) == 1 and not changed else arg


def _object_keys(ev: Interpreter, given: Any, frame: Frame) -> dict[str, Any] | None:
    """The upper-case attributes of a module, a class (its project bases' too) or an instance; None when the
    scan cannot tell which object it is."""
    if isinstance(given, SV) and given.known and isinstance(given.value, str):
        given = named_object(ev, given.value, frame.module)
    if isinstance(given, ModuleRef):
        names = _module_names(ev, given.module)
    elif isinstance(given, (ClassRef, InstanceRef)):
        names = _class_names(ev, given.cls if isinstance(given, InstanceRef) else given)
    else:
        return None
    return {name: ev.attribute(given, name, None, frame) for name in names}


def _module_names(ev: Interpreter, module: Module, depth: int = 0) -> list[str]:
    """The upper-case names a config module has: its assignments', what it imports by name, and what its star
    imports of project modules bind (a config package's `from config.environment import *`: webcompat's)."""
    names = [*module.assigns, *module.imports]
    for star in module.star_imports if depth < STAR_DEPTH else ():
        source = ev.project.module_by_name(star, near=module.path)
        if source is not None and source is not module:
            names += _module_names(ev, source, depth + 1)
    return [name for name in dict.fromkeys(names) if name.isupper()]


def _named(ev: Interpreter, value: Any, near: Module) -> Any:
    """A map's value as `from_object` loads it: an import string names its object (WizFood's
    `{"dev": "app.configs.dev.DevelopmentConfig", ...}`)."""
    return named_object(ev, value.value, near) if is_known(value) and isinstance(value.value, str) else value


def named_object(ev: Interpreter, dotted: str, near: Module) -> Any:
    """What `from_object` is given by name: `"pkg.default_config"` (a project module), `"pkg.config.Prod"` or
    `"pkg.config:Prod"` (a name a project module defines); None for anything else."""
    found = ev.project.module_by_name(dotted, near=near.path)
    if found is not None:
        return ModuleRef(found)
    owner_name, _, name = dotted.replace(":", ".").rpartition(".")
    owner = ev.project.module_by_name(owner_name, near=near.path) if owner_name else None
    if owner is None or not (name in owner.classes or name in owner.assigns):
        return None
    return ev.force(ev.attribute(ModuleRef(owner), name, None, Frame(owner)))


def _class_names(ev: Interpreter, ref: ClassRef) -> list[str]:
    """The upper-case names a class's body and its project bases' bodies assign, and its classmethods set."""
    names = [
        target.id
        for klass in ev.class_chain(ref)
        for stmt in klass.node.body
        if isinstance(stmt, (ast.Assign, ast.AnnAssign))
        for target in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target])
        if isinstance(target, ast.Name) and target.id.isupper()
    ]
    names += list(set_by_classmethods(ev, ref))
    return list(dict.fromkeys(names))


def set_by_classmethods(ev: Interpreter, ref: ClassRef) -> dict[str, str]:
    """The upper-case names the class's (and its project bases') classmethods set on `cls` (ok's
    `cls.SQLALCHEMY_DATABASE_URI = db_url`, run by a class decorator), each with the method's name: which value
    a read meets depends on whether that ran, so it is unknown, and the name is one the class may have."""
    found: dict[str, str] = {}
    for method in (m for k in ev.class_chain(ref) for m in k.node.body if isinstance(m, ast.FunctionDef)):
        for name in nodes.instance_writes(method) if nodes.is_classmethod(method) else set():
            if name.isupper():
                found.setdefault(name, method.name)
    return found


def python_file(ev: Interpreter, module: Module, name: str) -> Module | None:
    """A file from_pyfile reads (relative to the app's root folder): the project's file ending in that path, the
    one nearest `module` when several do."""
    wanted = "/" + posixpath.normpath(name.replace("\\", "/")).lstrip("./")
    found = [path for path in ev.project.files if path.as_posix().endswith(wanted)]
    if not found:
        return None
    near = max(found, key=lambda path: len(posixpath.commonpath([path.as_posix(), module.path.as_posix()])))
    return ev.project.parse(near)


def filled_at_run_time(ev: Interpreter, given: Any) -> bool:
    """A config class the project fills with `setattr(cls, name, value)` of names it cannot know (cuckoo's
    `settings`, given the names of a file it execs): its keys are set at run time."""
    if not isinstance(given, ClassRef):
        return False
    for module in filter(None, ev.project.modules.values()):
        for site in module.calls.get("setattr", []):
            args = site.call.args
            if len(args) == 3 and not isinstance(args[1], ast.Constant):
                target = ev.force(ev.eval(args[0], Frame(module)))
                if isinstance(target, ClassRef) and target.node is given.node:
                    return True
    return False


def property_keys(ev: Interpreter, instance: InstanceRef) -> dict[str, Any]:
    """A config instance's `SQLALCHEMY_*` properties (realms-wiki's `@property def SQLALCHEMY_DATABASE_URI(self):
    return self.DB_URI`), as `from_object` reads them: through the instance."""
    names = {
        stmt.name
        for klass in ev.class_chain(instance.cls)
        for stmt in klass.node.body
        if isinstance(stmt, ast.FunctionDef)
        and stmt.name.startswith("SQLALCHEMY_")
        and any((dotted_parts(d) or [""])[-1] == "property" for d in stmt.decorator_list)
    }
    return {name: ev.attribute(instance, name, None, Frame(instance.cls.module)) for name in sorted(names)}


def copied(project: Project, module: Module, keys: set[str]) -> bool:
    """Whether a module of the app that binds the extension copies the module's URL or a pool key into an app's
    config by name (flask-be's `app.config["SQLALCHEMY_POOL_SIZE"] = config.SQLALCHEMY_POOL_SIZE`, or the name
    imported; bdc-stac's URL alone): a module of constants, whose values are the app's config where they are
    copied, and nowhere else (bdc-stac's SQLALCHEMY_ENGINE_OPTIONS, never copied, reach no engine). A side app
    that binds nothing (a CLI's) copying a key says nothing of how the app loads the rest."""
    binds = re.compile(r"\.init_app\(|SQLAlchemy\(\s*\w")
    wanted = keys & POOL_KEYS  # (the URL among them)
    return bool(copied_by_name(project, module, wanted, lambda other: binds.search(other.source) is not None))


def copied_by_name(
    project: Project, module: Module, names: set[str], where: Callable[[Module], bool] = lambda other: True
) -> set[str]:
    """Those of the module's `names` another module of the app (`where` it holds) copies into an app's config by
    name."""
    copied: set[str] = set()
    for other in project.modules.values():
        if other is None or other is module or other.aside or not where(other):
            continue
        held = {name: dotted.rpartition(".") for name, dotted in other.imports.items()}
        imported = {
            n: last for n, (at, _, last) in held.items() if last in names and at and _is(project, other, at, module)
        }
        holders = {n for n, dotted in other.imports.items() if _is(project, other, dotted, module)}
        for stmt in ast.walk(other.tree):
            if not isinstance(stmt, ast.Assign) or not any(_config_item(t) for t in stmt.targets):
                continue
            for n in ast.walk(stmt.value):
                if isinstance(n, ast.Name) and n.id in imported:
                    copied.add(imported[n.id])
                if isinstance(n, ast.Attribute) and n.attr in names and getattr(n.value, "id", None) in holders:
                    copied.add(n.attr)
    return copied


def _is(project: Project, near: Module, dotted: str, module: Module) -> bool:
    return project.find_module(dotted, near.path) == module.path  # (found, not parsed: no module read for it)


def _config_item(target: ast.expr) -> bool:
    """`app.config["KEY"]` (an item of a `config` attribute), as an assignment's target."""
    return (
        isinstance(target, ast.Subscript) and isinstance(target.value, ast.Attribute) and target.value.attr == "config"
    )


def bound_in_function(module: Module, names: set[str], bind: Callable[[ast.stmt, Frame], bool]) -> bool:
    """Whether a module's app, configured at its top, is bound in one of its functions (ETMFA's `create_app`
    calling `init_db(app)` on the global app): a statement of the function's own body handing the app by its
    global name, in a function that binds no name of it itself (nor takes one); the first such bind is the app's."""
    for func in module.functions.values():
        own = {node.id for node in ast.walk(func) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
        own |= {a.arg for a in (*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs)}  # (its own app)
        for stmt in func.body if not own & names else []:
            call = stmt.value if isinstance(stmt, ast.Expr | ast.Assign) and isinstance(stmt.value, ast.Call) else None
            handed = call is not None and any(isinstance(a, ast.Name) and a.id in names for a in call.args)
            if handed and bind(stmt, Frame(module, scope=func)):
                return True
    return False
