"""from_torch refuses what it cannot convert exactly, with a typed error naming the culprit."""

from __future__ import annotations

from typing import Any

import pytest

from neuroplast import NeuroplastError, interop
from neuroplast.interop import InteropError, UnsupportedOpError

torch = pytest.importorskip("torch")
nn = torch.nn


def convert(module: Any, *shape: int) -> Any:
    return interop.from_torch(module.eval(), torch.randn(2, *shape))


@pytest.mark.parametrize(
    ("module", "shape", "op", "where"),
    [
        (nn.Sequential(nn.Linear(3, 4), nn.GELU()), (3,), "GELU", "'1'"),
        (
            nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect")),
            (1, 5, 5),
            "",
            "'0'",
        ),
        (nn.Sequential(nn.Conv2d(1, 2, 2, padding="same"), nn.Flatten()), (1, 5, 5), "", "'0'"),
        (nn.Sequential(nn.MaxPool2d(2, ceil_mode=True), nn.Flatten()), (1, 5, 5), "ceil", "'0'"),
        (nn.Sequential(nn.AvgPool2d(3, padding=1, count_include_pad=False)), (1, 5, 5), "", "'0'"),
        (nn.Sequential(nn.BatchNorm1d(3, momentum=None)), (3,), "BatchNorm1d", "'0'"),
        (nn.Sequential(nn.BatchNorm1d(3, track_running_stats=False)), (3,), "", "'0'"),
        (nn.Sequential(nn.Hardtanh(0.0, 2.0)), (3,), "Hardtanh", "'0'"),
        (nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten()), (1, 4, 4), "Adaptive", "'0'"),
        (nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Tanh()), (3,), "tanh", "'2'"),
    ],
)
def test_unsupported_modules_name_module_and_op(
    module: Any, shape: tuple[int, ...], op: str, where: str
) -> None:
    with pytest.raises(UnsupportedOpError) as info:
        convert(module, *shape)
    assert op in info.value.op and where in info.value.where
    assert isinstance(info.value, InteropError) and isinstance(info.value, NeuroplastError)


class Exp(nn.Module):
    def forward(self, x: Any) -> Any:
        return torch.exp(x)


class Scaled(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x: Any) -> Any:
        return self.fc(x) * 2.0


class Branchy(nn.Module):
    def forward(self, x: Any) -> Any:
        return x if x.sum() > 0 else -x


class TwoOutputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x: Any) -> Any:
        return self.fc(x), x


class Reused(nn.Module):
    """Pre-activation residual on flat values: relu(h) and h are both read."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(3, 3), nn.Linear(3, 3)

    def forward(self, x: Any) -> Any:
        h = self.fc1(x)
        return self.fc2(torch.relu(h)) + h


def test_unsupported_functions_name_the_call() -> None:
    with pytest.raises(UnsupportedOpError, match="exp"):
        convert(Exp(), 3)
    with pytest.raises(UnsupportedOpError, match="mul"):
        convert(Scaled(), 3)


def test_flat_activation_read_twice_is_refused_not_approximated() -> None:
    with pytest.raises(UnsupportedOpError, match="relu"):
        convert(Reused(), 3)


def test_untraceable_and_malformed_inputs_raise_interop_errors() -> None:
    with pytest.raises(InteropError, match="trace"):
        convert(Branchy(), 3)
    with pytest.raises(UnsupportedOpError):
        convert(TwoOutputs(), 3)
    with pytest.raises(InteropError, match=r"torch\.nn\.Module"):
        interop.from_torch(lambda x: x, torch.zeros(1, 3))
    with pytest.raises(InteropError, match="batched"):
        interop.from_torch(nn.Linear(3, 2), torch.zeros(3))
    with pytest.raises(InteropError, match="failed"):
        interop.from_torch(nn.Linear(3, 2), torch.zeros(2, 4))


def test_linear_on_images_and_image_outputs_are_refused() -> None:
    with pytest.raises(InteropError, match="flat"):
        convert(nn.Sequential(nn.Linear(5, 2)), 1, 5, 5)
    with pytest.raises(InteropError, match="output"):
        convert(nn.Sequential(nn.Conv2d(1, 2, 3)), 1, 5, 5)
    with pytest.raises(InteropError, match="output"):
        convert(nn.Sequential(nn.Identity()), 3)


def test_interop_error_is_exported_from_errors() -> None:
    from neuroplast.errors import InteropError as FromErrors

    assert FromErrors is InteropError


class CatBatch(nn.Module):
    def forward(self, x: Any) -> Any:
        return torch.cat([x, x], 0)


class AddScaled(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x: Any) -> Any:
        return torch.add(self.fc(x), x, alpha=2)


def test_cat_off_the_channel_axis_and_scaled_add_are_refused() -> None:
    with pytest.raises(UnsupportedOpError, match="dim 1"):
        convert(CatBatch(), 3)
    with pytest.raises(UnsupportedOpError, match="x \\+ y"):
        convert(AddScaled(), 3)
