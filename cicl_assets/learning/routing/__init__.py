"""Provider scorecards and the routing weights they suggest."""

# Marks the learning assets that run per range of days rather than per breach (jobs select it).
DAY_RANGE_TAG = ("cicl/runs", "by_day")
