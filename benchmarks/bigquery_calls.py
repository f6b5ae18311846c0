"""Google API calls a command makes, counted by kind, and its wall time.

``python benchmarks/bigquery_calls.py [--by-table] [cicl.py arguments]`` runs ``scripts/cicl.py`` (default
``run``) in this process with every HTTP request the Google clients send counted (BigQuery's
REST methods by name, Cloud Storage as one kind), then prints the counts and the wall time to
stderr. Point it at BigQuery as ``make run`` is (``CICL_WAREHOUSE=bigquery`` ...; with
``BIGQUERY_EMULATOR_HOST`` set, the emulator). ``counted_requests()`` is the same counter for a
block of code (tests pin call budgets with it).
"""

from __future__ import annotations

import collections
import contextlib
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests.adapters

# (method, path pattern after /bigquery/v2/projects/<p>) -> kind, first match wins.
_KINDS = (
    ("GET", r"/datasets/[^/]+/tables/[^/]+/data", "tabledata.list"),
    ("GET", r"/datasets/[^/]+/tables/[^/]+", "get_table"),
    ("PATCH", r"/datasets/[^/]+/tables/[^/]+", "update_table"),
    ("PUT", r"/datasets/[^/]+/tables/[^/]+", "update_table"),
    ("DELETE", r"/datasets/[^/]+/tables/[^/]+", "delete_table"),
    ("GET", r"/datasets/[^/]+/tables", "list_tables"),
    ("POST", r"/datasets/[^/]+/tables", "create_table"),
    ("GET", r"/datasets/[^/]+", "get_dataset"),
    ("DELETE", r"/datasets/[^/]+", "delete_dataset"),
    ("POST", r"/datasets", "create_dataset"),
    ("POST", r"/jobs/[^/]+/cancel", "cancel_job"),
    ("GET", r"/jobs/[^/]+", "get_job (poll)"),
    ("POST", r"/jobs", "insert_job"),
    ("GET", r"/queries/[^/]+", "get_query_results (poll)"),
    ("POST", r"/queries", "jobs.query"),
)


def kind_of(method: str, url: str, detail: bool = False) -> str:
    """The request's kind; with ``detail``, followed by the table it names, if any."""
    path = urlsplit(url).path
    if path.startswith("/upload/bigquery/"):
        return "load upload"
    if "/bigquery/v2/projects/" not in path:
        return "storage" if "/storage/" in path or "/b/" in path else f"other {path}"
    rest = re.sub(r"^.*/bigquery/v2/projects/[^/]+", "", path)
    for verb, pattern, kind in _KINDS:
        if method == verb and re.fullmatch(pattern, rest):
            table = re.search(r"/tables/([^/]+)", rest)
            return f"{kind} {table.group(1)}" if detail and table else kind
    return f"bigquery {method} {rest}"


@contextlib.contextmanager
def counted_requests(detail: bool = False) -> Iterator[collections.Counter[str]]:
    """Count every request sent through ``requests`` in this process while the block runs, by
    kind (and, with ``detail``, table)."""
    counts: collections.Counter[str] = collections.Counter()
    send = requests.adapters.HTTPAdapter.send

    def counting(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        counts[kind_of(request.method, request.url, detail)] += 1
        return send(self, request, *args, **kwargs)

    requests.adapters.HTTPAdapter.send = counting  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        requests.adapters.HTTPAdapter.send = send  # type: ignore[method-assign]


def report(counts: collections.Counter[str], seconds: float) -> str:
    width = max((len(k) for k in counts), default=0)
    lines = [f"{kind:<{width}}  {n:>6}" for kind, n in sorted(counts.items())]
    bigquery = sum(n for kind, n in counts.items() if kind != "storage" and n)
    lines.append(f"{'BigQuery requests':<{width}}  {bigquery:>6}")
    lines.append(f"wall time: {seconds:.1f} s")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    repo = Path(__file__).resolve().parents[1]
    sys.path[:0] = [str(repo), str(repo / "scripts")]
    import cicl  # scripts/cicl.py

    detail = argv[:1] == ["--by-table"]
    argv = argv[1:] if detail else argv
    began = time.monotonic()
    with counted_requests(detail) as counts:
        code = cicl.main(argv or ["run"])
    sys.stderr.write(report(counts, time.monotonic() - began) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
