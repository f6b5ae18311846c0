"""The one day-partitioning of the delivery and delivery-learning assets."""

import dagster as dg

# Partition keys are UTC days of the data's own clock (a deploy's start, a test run's start).
DELIVERY_DAILY = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_offset=1)
