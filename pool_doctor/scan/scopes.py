"""What a name means where it is read: a local assigned before the line, a parameter, a module global, an import.

Imports are followed across the project's modules (star imports included); a name from a library outside the
project stays an `ExternalRef` known by its dotted name.
"""

from __future__ import annotations

import ast
from typing import Any

from pool_doctor.scan.finder import Assignment, FunctionNode, Module, Project, assigned_names
from pool_doctor.scan.kinds import SV, ClassRef, ExternalRef, Frame, FuncRef, Interpreter, ModuleRef, is_known, unknown

EXTERNAL_ROOTS = {
    "os",
    "sys",
    "sqlalchemy",
    "sqlmodel",
    "asyncpg",
    "psycopg",
    "psycopg_pool",
    "psycopg2",
    "pydantic",
    "pydantic_settings",
    "starlette",
    "decouple",
    "environ",
    "dj_database_url",
    "django",
    "flask",
    "flask_sqlalchemy",
    "functools",
    "typing",
    "dotenv",
    "builtins",
}
BUILTIN_NAMES = {"int", "float", "str", "bool", "dict", "list", "tuple", "len", "print", "max", "min", "round"}


class Scopes:
    def __init__(self, project: Project, ev: Interpreter) -> None:
        self.project = project
        self.ev = ev
        self._locals: dict[int, dict[str, list[Assignment]]] = {}

    def lookup(self, name: str, frame: Frame, node: ast.AST) -> Any:
        line = getattr(node, "lineno", 1 << 30)
        if frame.scope is not None:
            assignments = [a for a in self.scope_locals(frame.scope).get(name, []) if a.line < line]
            if assignments:  # a local assigned before this line shadows the parameter of the same name
                return self.from_assignments(assignments, frame, node)
        if name in frame.bindings:
            return self.ev.force(frame.bindings[name])
        return self.global_value(frame.module, name, node)

    def scope_locals(self, scope: FunctionNode | ast.ClassDef) -> dict[str, list[Assignment]]:
        """Names assigned in a function body (or a class body), not in nested functions."""
        cached = self._locals.get(id(scope))
        if cached is not None:
            return cached
        found: dict[str, list[Assignment]] = {}
        todo: list[tuple[ast.AST, tuple[tuple[ast.expr, bool], ...]]] = [(s, ()) for s in scope.body]
        while todo:
            stmt, conditions = todo.pop()
            if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                for target, value in assigned_names(stmt):
                    found.setdefault(target, []).append(Assignment(value, stmt.lineno, conditions))
            elif isinstance(stmt, ast.If):
                todo.extend((s, (*conditions, (stmt.test, True))) for s in stmt.body)
                todo.extend((s, (*conditions, (stmt.test, False))) for s in stmt.orelse)
            elif isinstance(stmt, (ast.With, ast.AsyncWith, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.TryStar)):
                for block in ("body", "orelse", "finalbody"):
                    todo.extend((s, conditions) for s in getattr(stmt, block, []))
                for handler in getattr(stmt, "handlers", []):
                    todo.extend((s, conditions) for s in handler.body)
        for assignments in found.values():
            assignments.sort(key=lambda a: a.line)
        self._locals[id(scope)] = found
        return found

    def from_assignments(self, assignments: list[Assignment], frame: Frame, node: ast.AST) -> Any:
        """The assignment in effect: the last one whose `if` tests all hold with no environment set."""
        for assignment in reversed(assignments):
            verdict = self.conditions_hold(assignment.conditions, frame)
            if verdict is None:
                return unknown(frame.module, node, why=f"set conditionally at {frame.module.display}:{assignment.line}")
            if verdict:
                return self.ev.force(self.ev.eval(assignment.value, frame))
        return unknown(frame.module, node)

    def conditions_hold(self, conditions: tuple[tuple[ast.expr, bool], ...], frame: Frame) -> bool | None:
        for test, wanted in conditions:
            value = self.ev.force(self.ev.eval(test, frame))
            if not is_known(value):
                return None
            if bool(value.value) != wanted:
                return False
        return True

    def global_value(self, module: Module, name: str, node: ast.AST | None = None, seen: int = 0) -> Any:
        frame = Frame(module)
        if name in module.assigns:
            return self.from_assignments(module.assigns[name], frame, node or module.tree)
        if name in module.functions:
            return FuncRef(module, module.functions[name])
        if name in module.classes:
            return ClassRef(module, module.classes[name])
        target = module.imports.get(name) or module.nested_imports.get(name)
        if target is not None:
            return self.dotted_value(target, module)
        for star in module.star_imports:
            source = self.project.module_by_name(star, module.path)
            if source is not None and source is not module and seen < 5:
                if (
                    name in source.assigns
                    or name in source.functions
                    or name in source.classes
                    or name in source.imports
                ):
                    return self.global_value(source, name, None, seen + 1)
            elif source is None:
                return ExternalRef(f"{star}.{name}")
        if name in BUILTIN_NAMES:
            return ExternalRef(f"builtins.{name}")
        return unknown(module, node) if node is not None else SV(None, None, known=False, expr=name)

    def dotted_value(self, dotted: str, near: Module) -> Any:
        """What `a.b.c` is: a project module, a name inside one, or something outside the project."""
        parts = dotted.split(".")
        if parts[0] in EXTERNAL_ROOTS:
            return ExternalRef(dotted)
        for cut in range(len(parts), 0, -1):
            module = self.project.module_by_name(".".join(parts[:cut]), near.path)
            if module is None:
                continue
            value: Any = ModuleRef(module)
            for attr in parts[cut:]:
                value = self.ev.attribute(value, attr, None, Frame(near))
            return value
        return ExternalRef(dotted)
