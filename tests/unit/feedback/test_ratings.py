"""Ratings in every form they arrive in, and the score in [0, 1] each becomes."""

import pytest

from cicl_assets.feedback.ratings import RatingError, category_score, native_rating, numeric_score

NATIVE = [
    ("up", ("up", "thumbs", 1.0, 1.0)),
    ("Down", ("Down", "thumbs", 0.0, 0.0)),
    ("\U0001f44d", ("\U0001f44d", "thumbs", 1.0, 1.0)),
    (True, ("true", "thumbs", 1.0, 1.0)),
    (1, ("1", "1-5", 1.0, 0.0)),
    (3, ("3", "1-5", 3.0, 0.5)),
    ("5", ("5", "1-5", 5.0, 1.0)),
    (4.0, ("4", "1-5", 4.0, 0.75)),
]


@pytest.mark.parametrize(("rating", "expected"), NATIVE)
def test_native_ratings_normalise(rating, expected):
    assert native_rating(rating) == expected


@pytest.mark.parametrize("rating", [0, 6, 2.5, "meh", None, "", [1]])
def test_other_native_ratings_are_refused(rating):
    with pytest.raises(RatingError) as err:
        native_rating(rating)
    assert str(err.value) == (
        f"rating {rating!r} is neither a thumb (up or down) nor a whole number from 1 to 5"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.0, ("0-1", 0.0)),
        (0.4, ("0-1", 0.4)),
        (1.0, ("0-1", 1.0)),
        (2.0, ("1-5", 0.25)),
        (5.0, ("1-5", 1.0)),
        (7.0, (None, None)),
        (-1.0, (None, None)),
        (float("nan"), (None, None)),
    ],
)
def test_langfuse_numeric_scores(value, expected):
    assert numeric_score(value) == expected


@pytest.mark.parametrize(
    ("label", "expected"),
    [("Good", 1.0), ("pass", 1.0), ("neutral", 0.5), ("not_relevant", 0.0), ("purple", None)],
)
def test_categories_by_label(label, expected):
    assert category_score(label) == expected
