"""Threshold configuration: a site TOML file overrides the defaults."""

import pytest

from cdshooks.clinical.thresholds import DEFAULT_THRESHOLDS, Thresholds, load_thresholds


def test_a_site_file_overrides_a_default(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text("tb_screen_lookback_months = 6\n")
    assert load_thresholds(path).tb_screen_lookback_months == 6
    assert load_thresholds(None) is DEFAULT_THRESHOLDS


def test_unknown_keys_are_refused(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text("cmv_viremia_iu = 1000\n")
    with pytest.raises(ValueError, match="unknown threshold"):
        load_thresholds(path)


def test_the_retired_positive_tb_window_is_refused_with_the_reason(tmp_path):
    # revision 2: a positive IGRA/TST counts at any time; a window for positives no longer exists
    assert "tb_positive_lookback_months" not in Thresholds.__dataclass_fields__
    path = tmp_path / "rules.toml"
    path.write_text("tb_positive_lookback_months = 24\n")
    with pytest.raises(ValueError, match="tb_positive_lookback_months: a positive IGRA/TST counts at any time"):
        load_thresholds(path)
