"""The `feedback` ingest stream: user feedback files under the landing zone's feedback/ folder."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cicl_assets.feedback.parse import looks_langfuse, looks_native, parse_langfuse, parse_native
from cicl_assets.feedback.table import USER_FEEDBACK
from cicl_assets.ingest.formats import FileFormat
from cicl_assets.ingest.redact import set_pseudonym_key
from cicl_assets.ingest.runner import StreamSpec

LANGFUSE_SCORES = FileFormat("langfuse-scores", looks_langfuse, parse_langfuse)
NATIVE_FEEDBACK = FileFormat("cicl-feedback", looks_native, parse_native)

FEEDBACK_STREAM = StreamSpec(
    name="feedback",
    prefix="feedback",
    formats=(LANGFUSE_SCORES, NATIVE_FEEDBACK),
    tables=(USER_FEEDBACK,),
)


def bind_pseudonym_key(cicl_config: Any) -> StreamSpec:
    """The stream, with users pseudonymised under the configured key. Parsing runs in this
    process (the stream is not isolated), where the key is set."""
    set_pseudonym_key(cicl_config.pseudonym_key())
    return replace(FEEDBACK_STREAM)
