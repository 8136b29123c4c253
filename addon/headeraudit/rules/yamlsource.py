"""YAML loading that remembers where every mapping came from.

A broken rules file must be reported with its file and line, so mappings are loaded as
`SourceDict`s carrying their position.
"""

from __future__ import annotations

from typing import Any

import yaml


class SourceDict(dict):
    """A dict that knows the file and 1-based line where its mapping started."""

    file: str = "<unknown>"
    overridden_at: str | None = None  # "file:line" of an override merged into this rule
    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class _Loader(yaml.SafeLoader):
    source_name = "<unknown>"


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> SourceDict:
    loader.flatten_mapping(node)
    result = SourceDict()
    result.file = loader.source_name
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"unhashable or complex mapping key {key!r}", key_node.start_mark
            )
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class YamlError(ValueError):
    def __init__(self, file: str, line: int | None, message: str) -> None:
        self.file, self.line = file, line
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {message}")


def load_yaml(text: str, source_name: str) -> Any:
    """Parse YAML text; errors become YamlError with file and line."""
    loader = _Loader(text)
    loader.source_name = source_name
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise YamlError(source_name, line, f"invalid YAML: {problem}") from exc
    except yaml.YAMLError as exc:
        raise YamlError(source_name, None, f"invalid YAML: {exc}") from exc
    finally:
        loader.dispose()
