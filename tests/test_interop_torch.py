"""PyTorch ↔ neuroplast round trips: same predictions both ways (max |Δ logits| <= 1e-5)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroplast import Network, Spec, interop
from neuroplast.layers import ACTIVATIONS, BatchNorm, MaxPool2d
from neuroplast.testing.strategies import inputs_for, params_for, seeds, specs
from neuroplast.testing.strategies_conv import conv_specs

torch = pytest.importorskip("torch")
nn = torch.nn
functional = torch.nn.functional

TOL = 1e-5
#: ``sign`` is exact too, but a pre-activation within rounding of 0 may flip it: tested apart.
ACTS = tuple(a for a in ACTIVATIONS if a != "sign")
CASES = settings(max_examples=25, deadline=None)


def max_diff(a: Any, b: Any) -> float:
    return float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())


def run(module: Any, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        out: np.ndarray = module(torch.from_numpy(x)).numpy()
    return out


def assert_same(module: Any, net: Network, x: np.ndarray) -> None:
    assert max_diff(run(module, x), net.forward(x)) <= TOL


# ------------------------------------------------------------- neuroplast -> torch -> neuroplast
@CASES
@given(
    st.one_of(specs(hidden_activations=ACTS), conv_specs(hidden_activations=ACTS)),
    seeds(),
)
def test_network_to_torch_and_back_keeps_predictions(spec: Spec, seed: int) -> None:
    net = Network(spec, params_for(spec, seed))
    x = inputs_for(spec, 4, seed + 1)
    module = interop.to_torch(net)
    assert_same(module, net, x)
    assert not module.training
    back = interop.from_torch(module, torch.from_numpy(x), loss=spec.loss)
    assert max_diff(back.forward(x), net.forward(x)) <= TOL
    assert back.spec.loss == spec.loss


def test_chain_becomes_sequential_and_state_dict_matches_params() -> None:
    spec = Spec.cnn((1, 8, 8), [4, 6], 3, hidden=[5], batch_norm=True)
    net = Network(spec, params_for(spec, 0))
    module = interop.to_torch(net)
    assert isinstance(module, nn.Sequential)
    state = {k: v.numpy() for k, v in module.state_dict().items() if "num_batches" not in k}
    assert state.keys() == net.params.keys()
    for name, value in state.items():
        np.testing.assert_array_equal(value, net.params[name])
    assert module.conv_0_bn.momentum == 0.1 and module.conv_0_bn.eps == 1e-5


def test_dag_becomes_graph_module_with_loadable_state_dict() -> None:
    spec = Spec.resnet((3, 8, 8), 4, stages=[(4, 1), (8, 1)])
    net = Network(spec, params_for(spec, 1))
    module = interop.to_torch(net)
    assert isinstance(module, torch.fx.GraphModule)
    copy = interop.to_torch(Network.init(spec, seed=5))
    copy.load_state_dict(module.state_dict())
    assert_same(copy, net, inputs_for(spec, 3, 2))


def test_sign_activation_maps_zero_to_one() -> None:
    spec = Spec.mlp(2, [3], 2, activation="sign")
    net = Network(spec, params_for(spec, 0))
    x = np.array([[0.0, 0.0], [1.0, -2.0]], np.float32)
    module = interop.to_torch(net)
    assert_same(module, net, x)
    assert interop.from_torch(module, torch.from_numpy(x)).spec.nodes[0].activation == "sign"


# ------------------------------------------------------------- torch -> neuroplast -> torch
def _act(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["relu", "leaky", "sigmoid", "tanh", "hardtanh", "none"]))
    slope = draw(st.sampled_from([0.01, 0.2]))
    return {
        "relu": nn.ReLU(),
        "leaky": nn.LeakyReLU(slope),
        "sigmoid": nn.Sigmoid(),
        "tanh": nn.Tanh(),
        "hardtanh": nn.Hardtanh(-1.0, 1.0),
        "none": None,
    }[kind]


def _randomize_bn(module: Any, seed: int) -> Any:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
                m.running_var.copy_(torch.rand(n, generator=gen) * 1.5 + 0.5)
                if m.affine:
                    m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                    m.bias.copy_(torch.rand(n, generator=gen) - 0.5)
    return module.eval()


@st.composite
def torch_mlps(draw: st.DrawFn) -> tuple[Any, tuple[int, ...]]:
    torch.manual_seed(draw(seeds()))
    width = draw(st.integers(1, 8))
    layers: list[Any] = []
    for _ in range(draw(st.integers(0, 3))):
        units = draw(st.integers(1, 8))
        layers.append(nn.Linear(width, units, bias=draw(st.booleans())))
        if draw(st.booleans()):
            layers.append(nn.BatchNorm1d(units, affine=draw(st.booleans())))
        act = _act(draw)
        layers += [act] if act is not None else []
        if draw(st.booleans()):
            layers.append(draw(st.sampled_from([nn.Dropout(0.5), nn.Identity()])))
        width = units
    layers.append(nn.Linear(width, draw(st.integers(2, 4))))
    return nn.Sequential(*layers), (layers[0].in_features,)


@st.composite
def torch_cnns(draw: st.DrawFn) -> tuple[Any, tuple[int, ...]]:
    torch.manual_seed(draw(seeds()))
    c, size = draw(st.integers(1, 3)), draw(st.integers(6, 9))
    layers: list[Any] = []
    for _ in range(draw(st.integers(1, 2))):
        groups = draw(st.sampled_from([g for g in (1, 2, 3) if c % g == 0]))
        out = groups * draw(st.integers(1, 2))
        k = draw(st.integers(1, 3))
        layers.append(
            nn.Conv2d(
                c,
                out,
                k,
                stride=draw(st.integers(1, 2)),
                padding=draw(st.integers(0, k - 1)),
                dilation=draw(st.integers(1, 2)) if k <= 2 else 1,
                groups=groups,
                bias=draw(st.booleans()),
            )
        )
        if draw(st.booleans()):
            layers.append(nn.BatchNorm2d(out))
        act = _act(draw)
        layers += [act] if act is not None else []
        if draw(st.booleans()):
            kp = draw(st.integers(1, 2))
            cls = draw(st.sampled_from([nn.MaxPool2d, nn.AvgPool2d]))
            layers.append(cls(kp, stride=draw(st.integers(1, 2)), padding=kp // 2))
        c = out
    head = draw(st.sampled_from(["flatten", "gap"]))
    if head == "gap":
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 3)]
    else:
        layers += [nn.Flatten(), nn.LazyLinear(3)]
    model = nn.Sequential(*layers)
    model(torch.zeros(2, layers[0].in_channels, size, size))  # materializes LazyLinear
    return model, (layers[0].in_channels, size, size)


class Residual(nn.Module):
    """conv → bn → act, then add or concat with a projection, pooled; functional forms mixed."""

    def __init__(self, c: int, concat: bool, functional_head: bool) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding="same")
        self.proj = nn.Conv2d(c, 4, 1)
        self.concat, self.functional_head = concat, functional_head
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8 if concat else 4, 3)

    def forward(self, x: Any) -> Any:
        h = functional.relu(self.bn1(self.conv1(x)))
        h = self.conv2(h)
        y = torch.cat([h, self.proj(x)], dim=1) if self.concat else h + self.proj(x)
        y = torch.tanh(y)
        if self.functional_head:
            return self.fc(y.mean((2, 3)))
        return self.fc(self.pool(y).view(y.size(0), -1))


class DenseSkip(nn.Module):
    """A flat residual and concat: fc(x) + x, then cat with x."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(n, n)
        self.fc2 = nn.Linear(2 * n, 3)

    def forward(self, x: Any) -> Any:
        h = functional.leaky_relu(self.fc1(x) + x, 0.1)
        return self.fc2(torch.cat((h, x), 1))


@st.composite
def torch_graphs(draw: st.DrawFn) -> tuple[Any, tuple[int, ...]]:
    torch.manual_seed(draw(seeds()))
    if draw(st.booleans()):
        n = draw(st.integers(1, 6))
        return DenseSkip(n), (n,)
    c, size = draw(st.integers(1, 3)), draw(st.integers(3, 7))
    return Residual(c, draw(st.booleans()), draw(st.booleans())), (c, size, size)


@CASES
@given(st.one_of(torch_mlps(), torch_cnns(), torch_graphs()), seeds())
def test_torch_to_network_and_back_keeps_predictions(
    model_shape: tuple[Any, tuple[int, ...]], seed: int
) -> None:
    model, shape = model_shape
    model = _randomize_bn(model, seed)
    x = np.random.default_rng(seed).standard_normal((5, *shape)).astype(np.float32)
    net = interop.from_torch(model, torch.from_numpy(x))
    assert_same(model, net, x)
    back = interop.to_torch(net)
    assert max_diff(run(back, x), run(model, x)) <= TOL


def test_names_and_parameters_follow_the_state_dict() -> None:
    model = _randomize_bn(Residual(2, concat=False, functional_head=False), 0)
    x = torch.randn(2, 2, 5, 5)
    net = interop.from_torch(model, x)
    state = {k: v for k, v in model.state_dict().items() if "num_batches" not in k}
    assert net.params.keys() == state.keys()
    bn = net.spec.node("bn1")
    assert isinstance(bn, BatchNorm) and bn.activation == "relu"
    np.testing.assert_array_equal(net.params["bn1.running_var"], state["bn1.running_var"])
    assert interop.to_torch(net).state_dict().keys() >= state.keys()


def test_batch_norm_statistics_after_torch_training_carry_over() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6, momentum=0.3), nn.ReLU())
    model.append(nn.Linear(6, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(5):
        opt.zero_grad()
        model(torch.randn(16, 4)).square().mean().backward()
        opt.step()
    model.eval()
    x = np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32)
    net = interop.from_torch(model, torch.from_numpy(x))
    assert_same(model, net, x)
    assert net.spec.node("1").momentum == 0.3  # type: ignore[union-attr]


def test_training_flags_are_restored_and_weights_copied() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)).train()
    model[1].eval()
    net = interop.from_torch(model, torch.randn(2, 3))
    assert model.training and model[0].training and not model[1].training
    with torch.no_grad():
        model[0].weight.zero_()
    assert np.abs(net.params["0.weight"]).max() > 0


def test_flattened_multi_dim_input_reads_as_flat() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    x = torch.randn(2, 3, 4)
    net = interop.from_torch(model, x)
    assert net.spec.input_shape == (3, 4) and len(net.spec.nodes) == 1
    assert_same(model, net, x.numpy())


def test_activation_that_cannot_fuse_becomes_a_unit_pool_on_images() -> None:
    class TwoUses(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)
            self.fc = nn.Linear(2 * 3 * 3 * 2, 2)

        def forward(self, x: Any) -> Any:
            h = self.conv(x)
            return self.fc(torch.flatten(torch.cat([h, torch.sigmoid(h)], 1), 1))

    model, x = TwoUses(), torch.randn(2, 1, 5, 5)
    net = interop.from_torch(model, x)
    pools = [n for n in net.spec.nodes if isinstance(n, MaxPool2d)]
    assert len(pools) == 1 and pools[0].activation == "sigmoid" and pools[0].kernel_size == (1, 1)
    assert_same(model, net, x.numpy())


@pytest.mark.parametrize("spatial", [False, True])
def test_one_training_step_matches_torch(spatial: bool) -> None:
    """Same SGD step, batch statistics and running-statistics update (momentum, unbiased var)."""
    from neuroplast import SGD

    torch.manual_seed(1)
    if spatial:
        model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3, momentum=0.2), nn.ReLU())
        model.extend([nn.Flatten(), nn.Linear(3 * 4 * 4, 3)])
        shape: tuple[int, ...] = (2, 6, 6)
    else:
        model = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5, momentum=0.2), nn.Tanh())
        model.append(nn.Linear(5, 3))
        shape = (4,)
    model = _randomize_bn(model, 2)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, *shape)).astype(np.float32)
    y = rng.integers(0, 3, 8)
    net = interop.from_torch(model, torch.from_numpy(x))
    net.fit(x, y, epochs=1, batch_size=8, optimizer=SGD(lr=0.1), shuffle=False)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y)).backward()
    opt.step()
    state = model.state_dict()
    for name, value in net.params.items():
        assert max_diff(value, state[name].numpy()) <= TOL, name
