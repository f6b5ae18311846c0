"""The day partitions of the regression evaluation (data time, UTC)."""

import dagster as dg

# end_offset=1: today's partition exists while its data is still arriving.
REGRESSION_DAYS = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_offset=1)
