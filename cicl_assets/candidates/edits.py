"""Edits of the platform repository's files that keep everything else as written (comments,
order, spacing), and the unified diff a reviewer reads and ``git apply`` applies."""

from __future__ import annotations

import difflib
import re

_STEP = re.compile(r"^(\s*)- name:\s*(\S+)\s*$")
_KEY = re.compile(r"^(\s+)([A-Za-z_]+):(.*)$")


def unified_diff(path: str, old: str | None, new: str) -> str:
    """The change from ``old`` (None: the file does not exist) to ``new`` as a unified diff with
    git's a/ b/ prefixes; empty when nothing changes."""
    if old == new:
        return ""
    before = (old or "").splitlines(keepends=True)
    after = new.splitlines(keepends=True)
    for lines in (before, after):
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n\\ No newline at end of file\n"
    header = f"diff --git a/{path} b/{path}\n"
    if old is None:
        header += "new file mode 100644\n"
    return header + "".join(
        difflib.unified_diff(
            before,
            after,
            fromfile="/dev/null" if old is None else f"a/{path}",
            tofile=f"b/{path}",
            n=3,
        )
    )


def _step_block(lines: list[str], step: str) -> tuple[int, int, str]:
    """(first line, end line, indent of the step's keys) of ``step`` in a workflow file."""
    for i, line in enumerate(lines):
        match = _STEP.match(line)
        if match and match[2] == step:
            indent = match[1] + "  "
            end = i + 1
            while (
                end < len(lines)
                and (lines[end].startswith(indent) or not lines[end].strip())
                and not _STEP.match(lines[end])
            ):
                end += 1
            return i, end, indent
    raise KeyError(f"no step {step!r}")


def set_step_key(text: str, step: str, key: str, value: str) -> str:
    """``text`` with ``key: value`` in the block of ``step``: the line replaced where the key is,
    appended to the block where it is not."""
    lines = text.splitlines(keepends=True)
    first, end, indent = _step_block(lines, step)
    for i in range(first + 1, end):
        match = _KEY.match(lines[i].rstrip("\n"))
        if match and match[1] == indent and match[2] == key:
            lines[i] = f"{indent}{key}: {value}\n"
            return "".join(lines)
    last = end
    while last > first + 1 and not lines[last - 1].strip():
        last -= 1
    lines.insert(last, f"{indent}{key}: {value}\n")
    return "".join(lines)


def set_weights(text: str, weights: dict[tuple[str, str], float]) -> str:
    """A LiteLLM model_list with ``litellm_params.weight`` of (model_name, model) set; the line
    is added after ``model:`` where an entry has no weight."""
    lines = text.splitlines(keepends=True)
    group = model = None
    out: list[str] = []
    pending: tuple[str, str] | None = None
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("- model_name:"):
            if pending:
                out.append(pending[0])
                pending = None
            group, model = stripped.split(":", 1)[1].strip(), None
        elif stripped.startswith("model:") and group is not None:
            model = stripped.split(":", 1)[1].strip()
            indent = line[: len(line) - len(line.lstrip())]
            if (group, model) in weights:
                pending = (f"{indent}weight: {number(weights[(group, model)])}\n", model)
        elif stripped.startswith("weight:") and pending and model == pending[1]:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}weight: {number(weights[(group, model)])}\n")
            pending = None
            continue
        out.append(line)
    if pending:
        out.append(pending[0])
    return "".join(out)


def number(value: float) -> str:
    """A weight or timeout as a person writes it: 5 rather than 5.0, 4.2 rather than 4.2000001."""
    rounded = round(float(value), 3)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:g}"
