"""YAML documents as the scan holds them: mappings and lists of values, each with the file:line it is written at
(PyYAML's composed nodes keep the marks: a file the code loads, a pydantic-settings YAML source)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pool_doctor.scan.finder import Project
from pool_doctor.scan.kinds import SV, DictV, ListV

MERGE = "tag:yaml.org,2002:merge"  # YAML 1.1's merge key, which PyYAML's loaders apply


def shown_at(project: Project, path: Path | None, line: int) -> str:
    if path is None:
        return f"?:{line}"
    shown = project.display(path) if project.base in path.parents else path.as_posix()
    return f"{shown}:{line}"


def yaml_document(project: Project, text: str, path: Path | None, where: str) -> Any:
    """A YAML file's document, each value with its file:line; None where PyYAML is not installed here (it is the
    app's dependency, not pool-doctor's) or the text does not parse."""
    try:
        import yaml
    except ImportError:
        return None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except Exception:
        return None
    return _yaml_value(project, root, path, where, yaml)


def _yaml_value(project: Project, node: Any, path: Path | None, where: str, yaml: Any, depth: int = 0) -> Any:
    origin = shown_at(project, path, node.start_mark.line + 1) if path is not None and node is not None else where
    if node is None or depth > 20:
        return SV(None, origin)
    if isinstance(node, yaml.MappingNode):
        items, merged = {}, {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag == MERGE:  # `<<: *defaults`: keys it does not set itself
                for source in value.value if isinstance(value, yaml.SequenceNode) else [value]:  # (the first wins)
                    found = _yaml_value(project, source, path, where, yaml, depth + 1)
                    merged.update(
                        {k: v for k, v in found.items.items() if k not in merged} if isinstance(found, DictV) else {}
                    )
            elif isinstance(key, yaml.ScalarNode):
                items[str(key.value)] = _yaml_value(project, value, path, where, yaml, depth + 1)
        return DictV({**merged, **items}, origin, line=node.start_mark.line + 1, end_line=node.end_mark.line + 1)
    if isinstance(node, yaml.SequenceNode):
        return ListV([_yaml_value(project, v, path, where, yaml, depth + 1) for v in node.value], origin)
    try:
        value = yaml.safe_load(yaml.serialize(node))
    except Exception:
        return SV(None, origin, known=False, expr=str(node.value))
    if not isinstance(value, (str, int, float, bool, type(None))):
        value = str(value)
    return SV(value, origin, source=str(node.value))
