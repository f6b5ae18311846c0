"""Provider scorecards and the routing weights they suggest."""
