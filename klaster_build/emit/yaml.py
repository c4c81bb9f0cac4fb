"""The one YAML writer: block style, 2-space indented sequences, deterministic, fast.

Handles exactly what klaster generates (dict with str keys, list/tuple, str, bool, int, float,
None). Strings are plain when PyYAML would read them back as the same string, else quoted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache

from klaster_build.errors import KlasterError

__all__ = ["DumpError", "dump_document", "dump_documents"]


class DumpError(KlasterError, ValueError):
    """A value that cannot be written as YAML (names where it sits in the document)."""


_PLAIN = re.compile(r"^[A-Za-z0-9/^$.][A-Za-z0-9_./^$=+@(){}<>,;:%!?*&~ -]*$")
_SPECIAL_WORDS = re.compile(
    r"^(?:~|null|Null|NULL|y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$"
)
# Strings a YAML reader would take for something else: numbers and timestamps of YAML 1.1 (PyYAML,
# the sync scripts) and numbers of YAML 1.2 (Go's yaml.v3 in Flux and kustomize). Anything else
# starting with a digit ("24h", "2Gi", "1.2.6") stays plain, as people write it.
_NUMBERISH = re.compile(
    r"""^(?:
      [-+]?(?:0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)        # ints, all bases
    | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?                # 1.1 sexagesimal
    | [-+]?(?=\.?[0-9])[0-9_]*\.?[0-9_]*(?:[eE][-+]?[0-9]+)?          # floats, 1.1 and 1.2
    | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)
    | [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9].*)?        # 1.1 timestamps
    )$""",
    re.VERBOSE,
)


@lru_cache(maxsize=65536)
def _scalar(text: str) -> str:
    if (
        text
        and _PLAIN.fullmatch(text)
        and not _SPECIAL_WORDS.fullmatch(text)
        and not _NUMBERISH.fullmatch(text)
        and not text.endswith((" ", ":"))
        and ": " not in text
        and " #" not in text
        and not text.startswith(("{", "}", "&", "*", "!", "%", "@", "?", ":", ","))
    ):
        return text
    if all(c.isprintable() for c in text):
        return "'" + text.replace("'", "''") + "'"
    return _double_quoted(text)


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _double_quoted(text: str) -> str:
    """A double-quoted scalar; YAML escapes (\\xXX, \\uXXXX, \\UXXXXXXXX) for what is not printable.

    Not JSON's escaping: JSON writes characters beyond U+FFFF as surrogate pairs, which YAML
    readers keep as two broken characters.
    """
    parts = []
    for char in text:
        if char in _ESCAPES:
            parts.append(_ESCAPES[char])
        elif char.isprintable():
            parts.append(char)
        else:
            code = ord(char)
            parts.append(
                f"\\x{code:02x}"
                if code <= 0xFF
                else f"\\u{code:04x}"
                if code <= 0xFFFF
                else f"\\U{code:08x}"
            )
    return '"' + "".join(parts) + '"'


def _block(text: str, indent: str) -> str | None:
    """A literal block scalar for multi-line text, or None when one cannot hold it exactly."""
    if "\r" in text or not all(c.isprintable() or c in "\n" for c in text):
        return None
    if any(line.endswith((" ", "\t")) for line in text.split("\n")):
        return None  # trailing blanks would be invisible (and yamllint rejects them): quote instead
    body = text.rstrip("\n")
    trailing = len(text) - len(body)
    chomp = "-" if trailing == 0 else ("" if trailing == 1 else "+")
    lines = body.split("\n")
    indicator = "2" if any(line.startswith(" ") for line in lines[:1]) or lines[0] == "" else ""
    if any(line.endswith(" ") or "\t" in line for line in lines) and trailing > 1:
        return None
    inner = indent + "  "
    parts = [f"|{indicator}{chomp}"]
    parts.extend(inner + line if line else "" for line in lines)
    parts.extend("" for _ in range(trailing - 1))
    return "\n".join(parts)


def _value(value: object, path: str) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            msg = f"{path}: cannot write a non-finite float {value!r} as YAML"
            raise DumpError(msg)
        text = repr(value)
        # YAML 1.1 readers (PyYAML) need a dot in a float: 1e-05 would read back as a string.
        return text if "." in text else text.replace("e", ".0e", 1)
    if isinstance(value, str):
        return _scalar(value)
    msg = f"{path or '.'}: cannot write a {type(value).__name__!r} as YAML"
    raise DumpError(msg)


def _emit(value: object, indent: str, out: list[str], path: str, first_prefix: str) -> None:
    """Append lines for a collection; `first_prefix` goes before the first line."""
    prefix = first_prefix
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                msg = f"{path or '.'}: cannot write a {type(key).__name__!r} key as YAML"
                raise DumpError(msg)
            child = f"{path}.{key}" if path else key
            _entry(f"{prefix}{_scalar(key)}:", item, indent, out, child)
            prefix = indent
    else:
        for index, item in enumerate(value):  # type: ignore[arg-type]
            _entry(f"{prefix}-", item, indent, out, f"{path}[{index}]", sequence=True)
            prefix = indent


def _entry(
    head: str, item: object, indent: str, out: list[str], path: str, sequence: bool = False
) -> None:
    if isinstance(item, dict | list | tuple):
        if not item:
            out.append(f"{head} {{}}" if isinstance(item, dict) else f"{head} []")
        elif sequence:
            _emit(item, indent + "  ", out, path, head + " ")
        else:
            out.append(head)
            _emit(item, indent + "  ", out, path, indent + "  ")
    elif isinstance(item, str) and "\n" in item:
        block = _block(item, indent)
        out.append(f"{head} {block if block is not None else _double_quoted(item)}")
    else:
        out.append(f"{head} {_value(item, path)}")


def dump_document(doc: object) -> str:
    """One YAML document (no `---`), ending with one newline."""
    if isinstance(doc, dict | list | tuple) and doc:
        out: list[str] = []
        _emit(doc, "", out, "", "")
        return "\n".join(out) + "\n"
    if isinstance(doc, dict):
        return "{}\n"
    if isinstance(doc, list | tuple):
        return "[]\n"
    return _value(doc, "") + "\n"


def dump_documents(docs: Sequence[object], header: str | None = None) -> str:
    """A multi-document file: optional `# header` lines, then each document after `---`."""
    parts = [f"# {line}\n" if line else "#\n" for line in (header.splitlines() if header else [])]
    for doc in docs:
        parts.append("---\n")
        parts.append(dump_document(doc))
    return "".join(parts)
