"""Read a campaign or lab file (YAML), validate it, and point every problem at its line."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, get_args

import yaml
from pydantic import BaseModel, ValidationError

from genesis_lab.errors import CampaignFileError, FieldProblem, LabFileError
from genesis_lab.ids import (
    CAMPAIGN_NAME_MAX_LENGTH,
    CAMPAIGN_NAME_PATTERN,
    ID_MAX_LENGTH,
    ID_PATTERN,
    IDENTIFIER_PATTERN,
)
from genesis_lab.spec._lab import LabSpec
from genesis_lab.spec._models import CampaignSpec

__all__ = [
    "CampaignFile",
    "LabFile",
    "LabFileError",
    "load_campaign",
    "load_lab",
    "parse_campaign",
    "parse_lab",
]

Loc = Sequence[str | int]
_M = TypeVar("_M", bound=BaseModel)


class _Located:
    """Where each field of a validated file sits: ``line_of`` and ``problem``."""

    _root: yaml.Node | None

    def line_of(self, loc: Loc) -> int | None:
        """1-based line of the field at ``loc`` (or of its nearest enclosing field)."""
        return _line_of(self._root, loc)

    def problem(self, loc: Loc, message: str) -> FieldProblem:
        """A :class:`FieldProblem` for the field at ``loc``, with its line."""
        return FieldProblem(_dotted(loc), message, self.line_of(loc))


@dataclass(frozen=True)
class CampaignFile(_Located):
    """A validated campaign together with where each of its fields sits in the file."""

    spec: CampaignSpec
    path: str
    text: str
    _root: yaml.Node | None


@dataclass(frozen=True)
class LabFile(_Located):
    """A validated lab file together with where each of its fields sits in the file."""

    spec: LabSpec
    path: str
    text: str
    _root: yaml.Node | None


def load_campaign(path: str | Path) -> CampaignFile:
    """Read and validate the campaign file at ``path``.

    Raises :class:`CampaignFileError` listing every problem with its field and line.
    """
    return parse_campaign(_read(path, CampaignFileError), str(path))


def parse_campaign(text: str, path: str = "<campaign>") -> CampaignFile:
    """Validate campaign YAML ``text``; ``path`` is only used in messages."""
    spec, root = _parse(text, path, CampaignSpec, CampaignFileError, "a campaign file")
    return CampaignFile(spec=spec, path=path, text=text, _root=root)


def load_lab(path: str | Path) -> LabFile:
    """Read and validate the lab file at ``path``.

    Raises :class:`LabFileError` listing every problem with its field and line.
    """
    return parse_lab(_read(path, LabFileError), str(path))


def parse_lab(text: str, path: str = "<lab>") -> LabFile:
    """Validate lab-file YAML ``text``; ``path`` is only used in messages."""
    spec, root = _parse(text, path, LabSpec, LabFileError, "a lab file")
    return LabFile(spec=spec, path=path, text=text, _root=root)


def _read(path: str | Path, error: type[CampaignFileError]) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise error(
            str(path), [FieldProblem("", f"cannot read file: {exc.strerror or exc}")]
        ) from exc


def _parse(
    text: str, path: str, model: type[_M], error: type[CampaignFileError], what: str
) -> tuple[_M, yaml.Node | None]:
    root = _compose(text, path, error)
    data = _construct(root, path, error)
    if not isinstance(data, dict):
        raise error(path, [FieldProblem("", f"{what} must be a mapping of keys to values", 1)])
    try:
        spec = model.model_validate(data)
    except ValidationError as exc:
        raise error(path, _problems(exc, root, model, data)) from None
    return spec, root


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key {key!r} is given twice (first on line {seen[key]})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def _compose(text: str, path: str, error: type[CampaignFileError]) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise error(path, [_yaml_problem(exc)]) from None


def _construct(root: yaml.Node | None, path: str, error: type[CampaignFileError]) -> Any:
    if root is None:
        return None
    loader = _UniqueKeyLoader("")
    try:
        return loader.construct_document(root)
    except yaml.YAMLError as exc:
        raise error(path, [_yaml_problem(exc)]) from None
    finally:
        loader.dispose()


def _yaml_problem(exc: yaml.YAMLError) -> FieldProblem:
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc)
    return FieldProblem("", f"not valid YAML: {problem}", line)


def _problems(
    exc: ValidationError, root: yaml.Node | None, model: type[BaseModel], data: Any
) -> list[FieldProblem]:
    problems = []
    for error in exc.errors():
        loc = list(error["loc"])
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown field" + _suggestion(loc, model, data)
        elif error["type"] == "missing":
            message = "required field is missing"
        elif error["type"] == "string_pattern_mismatch":
            message = _pattern_problem(str((error.get("ctx") or {}).get("pattern", "")), message)
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        problems.append(FieldProblem(_dotted(loc), message, _line_of(root, loc)))
    problems.sort(key=lambda p: (p.line or 0, p.field))
    return problems


_PATTERN_RULES = {
    ID_PATTERN: f"use 1 to {ID_MAX_LENGTH} letters, digits, '_', '.', '-', starting with a "
    "letter or digit (it is used in topic names)",
    CAMPAIGN_NAME_PATTERN: f"use 1 to {CAMPAIGN_NAME_MAX_LENGTH} letters, digits, '_', '.', "
    "'-', starting with a letter or digit (the campaign's ids add a suffix to it)",
    IDENTIFIER_PATTERN: "use letters, digits and '_', not starting with a digit",
}


def _pattern_problem(pattern: str, message: str) -> str:
    """A name that breaks one of genesis-lab's naming rules, said as the rule."""
    rule = _PATTERN_RULES.get(pattern)
    return f"not a valid name: {rule}" if rule else message


def _suggestion(loc: list[str | int], model: type[BaseModel], data: Any) -> str:
    """' (did you mean 'bounds'?)' for a misspelt key, found by walking model and data.

    Where a field holds one of several models (the parameter types), the item's ``type``
    key says which one the misspelt key belongs to.
    """
    current: Any = model
    pending: list[type[BaseModel]] = []
    for part in loc[:-1]:
        data = _step(data, part)
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return ""
        pending = _models_in(field.annotation)
        current = _pick(pending, data)
        if current is None:
            return ""
    if pending and len(pending) > 1:
        current = _pick(pending, data)
    names = list(getattr(current, "model_fields", {}))
    close = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f"; expected one of: {', '.join(sorted(names))}"


def _step(data: Any, part: str | int) -> Any:
    if isinstance(part, int):
        return data[part] if isinstance(data, list) and 0 <= part < len(data) else None
    return data.get(part) if isinstance(data, dict) else None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for argument in get_args(annotation):
        found.extend(m for m in _models_in(argument) if m not in found)
    return found


def _pick(models: list[type[BaseModel]], item: Any) -> type[BaseModel] | None:
    """The model among ``models`` that an item with this ``type`` key validates as."""
    if len(models) <= 1 or not isinstance(item, dict):
        return models[0] if models else None
    for candidate in models:
        type_field = candidate.model_fields.get("type")
        if type_field is None:
            continue
        allowed = get_args(type_field.annotation) or (type_field.default,)
        if item.get("type", type_field.default) in allowed:
            return candidate
    return models[0]


def _dotted(loc: Loc) -> str:
    return ".".join(str(part) for part in loc)


def _line_of(node: yaml.Node | None, loc: Loc) -> int | None:
    """Line of the deepest node along ``loc``; keys point at the key itself."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == part:
                    line = key_node.start_mark.line + 1
                    node = value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line
