"""`make dogfood`: cicl's own CI evidence, ingested by cicl.

python -m tests.dogfood [--out DIR] [--short] [--audit]

Runs the stages that can run here (tests with JUnit and coverage, bandit SARIF, the SBOM of
requirements.lock, hadolint's report; pip-audit only with --audit, since it queries a
vulnerability service) into DIR/landing/ci/<run-id>/, then `scripts/cicl.py run` against a
warehouse of its own, DIR/warehouse.duckdb, and prints what that warehouse holds of the run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

from tests.cicl_runs import cicl_run, environment
from tests.dogfood.stages import REPO, pipeline

SHORT_SELECTION = ["tests/unit/test_text_guards.py", "tests/unit/test_fingerprint.py"]
FULL_SELECTION = ["tests/unit"]
TABLES = ("ci_test_cases", "ci_coverage", "ci_findings", "ci_sbom_components")


def ingest(out: Path) -> tuple[int, str]:
    """`cicl.py run` over DIR/landing into DIR/warehouse.duckdb; (exit code, output tail)."""
    home = out / "dagster_home"
    env = environment(
        home,
        {
            "CICL_WAREHOUSE": "duckdb",
            "CICL_DUCKDB_PATH": str(out / "warehouse.duckdb"),
            "CICL_LANDING_URI": str(out / "landing"),
        },
    )
    run = cicl_run(env)
    return run.returncode, (run.stdout + run.stderr)[-4000:]


def counts(warehouse: Path, run_id: str) -> dict[str, int]:
    """Rows of the run in ci_runs and in each evidence table (by source folder)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {
            "ci_runs": con.execute(
                "SELECT count(*) FROM cicl.ci_runs WHERE pipeline_run_id = ?", [run_id]
            ).fetchone()[0]
        }
        for table in TABLES:
            out[table] = con.execute(
                f"SELECT count(*) FROM cicl.{table} WHERE source_file LIKE ?",
                [f"ci/{run_id}/%"],
            ).fetchone()[0]
        return out
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.dogfood")
    parser.add_argument("--out", type=Path, default=REPO / ".cicl" / "dogfood")
    parser.add_argument("--short", action="store_true", help="a small test selection")
    parser.add_argument("--audit", action="store_true", help="run pip-audit (queries a service)")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    if (out / "dagster_home").exists() or (out / "warehouse.duckdb").exists():
        parser.error(f"{out} holds an earlier dogfood run: remove it or pass another --out")
    selection = SHORT_SELECTION if args.short else FULL_SELECTION
    folder, record = pipeline(out / "landing", selection, query_audit_service=args.audit)
    for stage in record["stages"]:
        print(f"{stage['name']:<17} {stage['status']:<8} {stage.get('reason', '')}")
    code, tail = ingest(out)
    if code != 0:
        print(tail, file=sys.stderr)
        print(f"dogfood: cicl.py run failed with exit {code}", file=sys.stderr)
        return 1
    found = counts(out / "warehouse.duckdb", folder.name)
    print(f"run {folder.name} ({record['status']}) in {out / 'warehouse.duckdb'}:")
    for table, rows in found.items():
        print(f"  {table:<20} {rows}")
    return 0 if found["ci_runs"] == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
