"""Start bqemulator with one change: accept the ``*/*`` media type on uploads.

google-cloud-bigquery sends the media part of a multipart load upload (``load_table_from_file``)
as ``*/*``; the real service accepts it, bqemulator 1.4.0 refuses it with a 400. Runs inside the
emulator's own virtualenv, never in the project's: ``python bigquery_launcher.py start ...``.
"""

import sys

import bqemulator.api.routes.upload as upload
from bqemulator.cli import main

upload._PERMITTED_MEDIA_CONTENT_TYPES = (*upload._PERMITTED_MEDIA_CONTENT_TYPES, "*/*")

if __name__ == "__main__":
    sys.exit(main())
