"""Landing-file ingestion shared by every ingest asset: caps, format detection, rejects,
idempotency by content digest, bounded-memory batched writes."""
