"""The thresholds file ships the defaults the efficacy figures were measured at."""

from pathlib import Path

import pytest

from cicl_assets.learning.regressions.thresholds import Thresholds, load_thresholds

CONFIG = Path(__file__).parents[4] / "config"


def test_the_shipped_file_holds_the_defaults():
    assert load_thresholds(CONFIG) == Thresholds()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("max_p_value: 2\n", "max_p_value"),
        ("drift: {windw: 50}\n", "windw"),
    ],
)
def test_a_bad_file_names_what_is_wrong(tmp_path, text, message):
    (tmp_path / "learning").mkdir()
    (tmp_path / "learning" / "regressions.yaml").write_text(text)
    with pytest.raises(ValueError, match=message):
        load_thresholds(tmp_path)
