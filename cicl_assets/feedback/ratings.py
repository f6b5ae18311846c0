"""Ratings in the forms feedback arrives in -> a score in [0, 1].

- thumbs: up 1.0, down 0.0 (also thumbs_up/thumbs_down, +1/-1, true/false, like/dislike);
- a 1-5 rating r: (r - 1) / 4, so 1 -> 0.0, 3 -> 0.5, 5 -> 1.0;
- a number in [0, 1] (Langfuse NUMERIC): as is; a Langfuse NUMERIC above 1 and at most 5 is read
  as a 1-5 rating. A NUMERIC of exactly 1 reads as 1.0: send 1-5 ratings as cicl records to keep
  a 1-star rating from meaning "best";
- boolean (Langfuse BOOLEAN): 1.0 / 0.0;
- a category (Langfuse CATEGORICAL) by its label: positive words 1.0, neutral 0.5, negative 0.0;
  any other label has no score (null) and keeps its text in ``rating_raw``.
"""

from __future__ import annotations

import math
from typing import Any

THUMBS = {
    "up": 1.0,
    "thumbs_up": 1.0,
    "thumbsup": 1.0,
    "+1": 1.0,
    "like": 1.0,
    "\U0001f44d": 1.0,
    "down": 0.0,
    "thumbs_down": 0.0,
    "thumbsdown": 0.0,
    "-1": 0.0,
    "dislike": 0.0,
    "\U0001f44e": 0.0,
}
CATEGORIES = {
    **{w: 1.0 for w in ("good", "positive", "correct", "pass", "yes", "helpful", "relevant")},
    **{w: 0.5 for w in ("neutral", "mixed", "partial", "partially_correct")},
    **{w: 0.0 for w in ("bad", "negative", "incorrect", "fail", "no", "unhelpful", "not_relevant")},
    **THUMBS,
}


class RatingError(ValueError):
    pass


def native_rating(value: Any) -> tuple[str, str, float, float]:
    """(raw text, scale, value, score) of a cicl record's rating: thumbs or 1-5."""
    if isinstance(value, bool):
        return str(value).lower(), "thumbs", float(value), float(value)
    if isinstance(value, str) and value.strip().lower() in THUMBS:
        number = THUMBS[value.strip().lower()]
        return value.strip(), "thumbs", number, number
    number = value
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if isinstance(number, int | float) and not isinstance(number, bool):
        if float(number).is_integer() and 1 <= number <= 5:
            return str(int(number)), "1-5", float(number), (float(number) - 1) / 4
    raise RatingError(
        f"rating {value!r} is neither a thumb (up or down) nor a whole number from 1 to 5"
    )


def numeric_score(value: float) -> tuple[str | None, float | None]:
    """(scale, score) of a Langfuse NUMERIC value."""
    if not math.isfinite(value):
        return None, None
    if 0 <= value <= 1:
        return "0-1", value
    if 1 < value <= 5:
        return "1-5", (value - 1) / 4
    return None, None


def category_score(label: str) -> float | None:
    return CATEGORIES.get(label.strip().lower())
