"""The `feedback` ingest stream: user feedback files under the landing zone's feedback/ folder."""

from __future__ import annotations

from cicl_assets.feedback.parse import looks_langfuse, looks_native, parse_langfuse, parse_native
from cicl_assets.feedback.table import USER_FEEDBACK
from cicl_assets.ingest.formats import FileFormat
from cicl_assets.ingest.runner import StreamSpec

LANGFUSE_SCORES = FileFormat("langfuse-scores", looks_langfuse, parse_langfuse)
NATIVE_FEEDBACK = FileFormat("cicl-feedback", looks_native, parse_native)

FEEDBACK_STREAM = StreamSpec(
    name="feedback",
    prefix="feedback",
    formats=(LANGFUSE_SCORES, NATIVE_FEEDBACK),
    tables=(USER_FEEDBACK,),
)
