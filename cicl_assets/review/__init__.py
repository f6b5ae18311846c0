"""The human gate: reviewers approve or reject improvement candidates by materializing a
candidate's partition of ``candidate_review``."""
