"""Start bqemulator with two changes that make it answer as BigQuery does.

- Accept the ``*/*`` media type on uploads: google-cloud-bigquery sends the media part of a
  multipart load upload (``load_table_from_file``) as ``*/*``; the real service accepts it,
  bqemulator 1.4.0 refuses it with a 400.
- Keep a table's ``numRows`` current after DML: bqemulator 1.4.0 counts rows after a load job
  only, so a table's metadata still shows deleted rows; BigQuery recounts after every statement.

Runs inside the emulator's own virtualenv, never in the project's:
``python bigquery_launcher.py start ...``.
"""

import sys

import bqemulator.api.routes.upload as upload
import bqemulator.jobs.executor as executor
from bqemulator.catalog.ddl_sync import _introspect_num_rows
from bqemulator.cli import main

upload._PERMITTED_MEDIA_CONTENT_TYPES = (*upload._PERMITTED_MEDIA_CONTENT_TYPES, "*/*")

_capture_dml_snapshots = executor._capture_dml_snapshots


async def _capture_and_count(project_id, bq_sql, ctx):
    await _capture_dml_snapshots(project_id, bq_sql, ctx)
    import sqlglot

    try:
        tree = sqlglot.parse_one(bq_sql, read="bigquery")
    except Exception:
        return
    if not executor._is_dml(tree):
        return
    for project, dataset, table in executor._dml_target_tables(tree, project_id):
        meta = ctx.catalog.get_table(project, dataset, table)
        if meta is None or meta.table_type != "TABLE":
            continue
        rows = _introspect_num_rows(project, dataset, table, ctx)
        ctx.catalog.update_table(meta.model_copy(update={"num_rows": rows}))


executor._capture_dml_snapshots = _capture_and_count

if __name__ == "__main__":
    sys.exit(main())
