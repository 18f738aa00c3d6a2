from __future__ import annotations

import pytest

from baselines.runtime import Precision, SettingsError, as_bool, as_int, as_window, autocast, check_known


def test_unknown_settings_are_named_with_the_known_ones() -> None:
    with pytest.raises(SettingsError, match=r"M: unknown setting\(s\) \['bacth_size'\].*expected any of "
                                            r"\['batch_size', 'seed'\]"):
        check_known("M", {"bacth_size": 2, "seed": 1}, ("seed", "batch_size"))
    check_known("M", {"seed": 1}, ("seed", "batch_size"))


@pytest.mark.parametrize("value", [[40], [40, 0], "40/400", [True, 400], None])
def test_bad_windows_are_refused(value: object) -> None:
    with pytest.raises(SettingsError, match=r"setting ct_window = .*expected a CT window \[level, width\]"):
        as_window("M", "ct_window", value)


def test_value_checks() -> None:
    assert as_window("M", "w", [40, 400]) == (40.0, 400.0)
    assert as_int("M", "n", 3, minimum=1) == 3 and as_bool("M", "b", True) is True
    for bad in (0, 1.5, True, "2"):
        with pytest.raises(SettingsError, match=r"expected an integer >= 1"):
            as_int("M", "n", bad, minimum=1)
    with pytest.raises(SettingsError, match="is not a boolean"):
        as_bool("M", "b", "yes")


def test_autocast_is_bf16_only_when_asked() -> None:
    torch = pytest.importorskip("torch")
    device = torch.device("cpu")
    layer = torch.nn.Linear(4, 4)
    with autocast(device, Precision.BF16):
        assert layer(torch.ones(1, 4)).dtype == torch.bfloat16
    with autocast(device, Precision.FP32):
        assert layer(torch.ones(1, 4)).dtype == torch.float32
