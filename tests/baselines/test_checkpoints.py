from __future__ import annotations

from pathlib import Path

import pytest

from baselines.checkpoints import (
    CheckpointError,
    CheckpointNotFoundError,
    UnsafeCheckpointError,
    file_sha256,
    read_state_dict,
)

torch = pytest.importorskip("torch")

_ARGS = {"what": "Test checkpoint", "hint": "a state dict"}


class _RunsCode:
    """Unpickling this calls ``Path.touch`` on a marker: what a malicious checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (Path.touch, (str(self.marker),))  # type: ignore[return-value]


def test_reads_a_state_dict_and_unwraps_training_checkpoints(tmp_path: Path) -> None:
    state = {"a.weight": torch.ones(2, 3), "b": torch.arange(4)}
    torch.save(state, tmp_path / "plain.pth")
    torch.save({"model": state, "epoch": 3}, tmp_path / "wrapped.pth")
    for name in ("plain.pth", "wrapped.pth"):
        read = read_state_dict(tmp_path / name, wrapper_keys=("model",), **_ARGS)
        assert set(read) == {"a.weight", "b"} and torch.equal(read["b"], state["b"])
    assert len(file_sha256(tmp_path / "plain.pth")) == 64


def test_reads_safetensors(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(3)}, str(tmp_path / "model.safetensors"))
    assert torch.equal(read_state_dict(tmp_path / "model.safetensors", **_ARGS)["x"], torch.zeros(3))


def test_a_missing_file_says_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(CheckpointNotFoundError, match=r"Test checkpoint: .*nothing.pth does not exist; expected a "
                                                      r"state dict"):
        read_state_dict(tmp_path / "nothing.pth", **_ARGS)
    with pytest.raises(CheckpointNotFoundError, match="is a folder"):
        read_state_dict(tmp_path, **_ARGS)


def test_a_pickle_with_code_is_refused_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.pth"
    torch.save({"weight": _RunsCode(marker)}, path)
    with pytest.raises(UnsafeCheckpointError, match=r"refused to load .*evil.pth: torch's weights-only reader "
                                                    r"rejected it \(Unsupported global: GLOBAL"):
        read_state_dict(path, **_ARGS)
    assert not marker.exists()


@pytest.mark.parametrize(("content", "message"), [
    ([torch.ones(2)], "holds a list, not a mapping"),
    ({"a": torch.ones(2), "b": 3}, r"1 entries are not tensors \(first: \['b'\]\)"),
    ({}, "holds a dict, not a mapping"),
])
def test_other_contents_are_refused(tmp_path: Path, content: object, message: str) -> None:
    torch.save(content, tmp_path / "x.pth")
    with pytest.raises(CheckpointError, match=message):
        read_state_dict(tmp_path / "x.pth", **_ARGS)


def test_a_file_that_is_not_torch_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.pth").write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match=r"notes.pth: torch's weights-only reader rejected it \(Unsupported "
                                              r"operand.*or is no checkpoint at all; expected a state dict"):
        read_state_dict(tmp_path / "notes.pth", **_ARGS)
    (tmp_path / "empty.pth").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty.pth could not be read as a torch or safetensors file"):
        read_state_dict(tmp_path / "empty.pth", **_ARGS)
