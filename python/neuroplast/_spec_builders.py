"""Constructors of standard architectures, inherited by :class:`~neuroplast.Spec`.

Each builder lists the nodes of one architecture family (the node lists come from
:mod:`neuroplast.builders`, :mod:`neuroplast.builders_group` and :mod:`neuroplast.nas`) and
validates them through ``Spec``'s constructor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Self

from neuroplast.errors import SpecError
from neuroplast.layers import Dense, Node

__all__ = ["SpecBuilders"]


class SpecBuilders:
    """The architecture builders of :class:`~neuroplast.Spec` (``Spec.mlp``, ``Spec.cnn``, ...)."""

    __slots__ = ()

    if TYPE_CHECKING:

        def __init__(
            self,
            input_shape: tuple[int, ...],
            nodes: tuple[Node, ...],
            output: str,
            loss: str = "cross_entropy",
        ) -> None: ...

    @classmethod
    def mlp(
        cls,
        n_in: int,
        hidden: Sequence[int],
        n_out: int,
        activation: str = "relu",
        *,
        loss: str = "cross_entropy",
        output_activation: str = "identity",
        bias: bool = True,
    ) -> Self:
        """A multilayer perceptron ``n_in → hidden[0] → ... → n_out``.

        Hidden layers are named ``dense_0, dense_1, ...``; the output layer is ``"output"``.

        Example:
            >>> from neuroplast import Spec
            >>> Spec.mlp(4, [8, 8], 3, activation="tanh").widths["dense_1"]
            8
        """
        nodes: list[Node] = []
        prev = "input"
        for i, units in enumerate(hidden):
            nodes.append(Dense(f"dense_{i}", prev, units, activation, bias=bias))
            prev = f"dense_{i}"
        nodes.append(Dense("output", prev, n_out, output_activation, bias=bias))
        return cls((n_in,), tuple(nodes), "output", loss)

    @classmethod
    def cnn(
        cls,
        input_shape: Sequence[int],
        channels: Sequence[int],
        n_out: int,
        *,
        hidden: Sequence[int] = (),
        kernel_size: int = 3,
        pool: str | None = "max",
        batch_norm: bool = False,
        activation: str = "relu",
        global_pool: bool = False,
        loss: str = "cross_entropy",
        output_activation: str = "identity",
    ) -> Self:
        """A plain convolutional network for ``(C, H, W)`` inputs.

        Per entry of ``channels``: ``conv_i`` (``kernel_size``, "same" padding), optionally
        ``conv_i_bn``, the activation, then a 2×2 ``pool_i`` (``"max"``, ``"avg"`` or None);
        then ``flatten`` (or ``gap``, global average pooling), dense layers ``dense_i`` of
        ``hidden`` units and the dense ``"output"``.

        Example:
            >>> from neuroplast import Spec
            >>> spec = Spec.cnn((1, 28, 28), [16, 32], 10, hidden=[64])
            >>> spec.shapes["pool_1"]
            (32, 7, 7)
        """
        from neuroplast.builders import cnn_nodes

        if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1:
            raise SpecError(f"kernel_size must be an int >= 1, got {kernel_size!r}")
        nodes, out = cnn_nodes(
            channels,
            hidden,
            n_out,
            kernel_size=kernel_size,
            pool=pool,
            batch_norm=batch_norm,
            activation=activation,
            global_pool=global_pool,
            output_activation=output_activation,
        )
        return cls(tuple(input_shape), tuple(nodes), out, loss)

    @classmethod
    def resnet(
        cls,
        input_shape: Sequence[int],
        n_out: int,
        *,
        stem_channels: int = 16,
        stages: Sequence[tuple[int, int]] = ((16, 1), (32, 1), (64, 1)),
        batch_norm: bool = True,
        activation: str = "relu",
        loss: str = "cross_entropy",
        output_activation: str = "identity",
    ) -> Self:
        """A small ResNet for ``(C, H, W)`` inputs.

        A 3×3 stem, stages of basic residual blocks ``(channels, blocks)`` (stride 2 at the
        start of every stage after the first, 1×1 projection shortcuts where the shape
        changes), global average pooling and a dense output.

        Example:
            >>> from neuroplast import Spec
            >>> spec = Spec.resnet((1, 8, 8), 10, stages=[(8, 1), (16, 1)])
            >>> spec.shapes["s1b0_add"]
            (16, 4, 4)
        """
        from neuroplast.builders import resnet_nodes

        try:
            stage_list = [tuple(s) for s in stages]
        except TypeError as exc:
            raise SpecError(f"stages must be (channels, blocks) pairs, got {stages!r}") from exc
        nodes, out = resnet_nodes(
            n_out,
            stem_channels=stem_channels,
            stages=stage_list,  # type: ignore[arg-type]
            batch_norm=batch_norm,
            activation=activation,
            output_activation=output_activation,
        )
        return cls(tuple(input_shape), tuple(nodes), out, loss)

    @classmethod
    def densenet(
        cls,
        input_shape: Sequence[int],
        n_out: int,
        *,
        growth: int = 8,
        blocks: Sequence[int] = (4, 4),
        stem_channels: int = 16,
        compression: float = 1.0,
        activation: str = "relu",
        loss: str = "cross_entropy",
        output_activation: str = "identity",
    ) -> Self:
        """A DenseNet (Huang et al. 2017) for ``(C, H, W)`` inputs, without dropout.

        A 3×3 ``stem`` convolution, then dense blocks: layer ``b{b}l{i}`` of block ``b`` is
        BN-activation-3×3 conv (``growth`` channels, no bias) of the concatenation of the block
        input and all earlier layers of the block. Between blocks a transition ``b{b}t``:
        BN-activation-1×1 conv (``compression`` × the channels) and 2×2 average pooling; after
        the last block BN-activation, global average pooling and the dense ``"output"``.

        Batch normalization is per channel, so normalizing a concatenation equals
        concatenating per-input normalizations: each connection gets its own BN node
        (``b{b}l{i}_bn{k}`` normalizes input ``k``) ahead of the concatenation ``b{b}l{i}_in``.
        The function is DenseNet's; the layout makes every connection between layers one
        input of a ``concat`` node that can be switched off, and removed, exactly
        (``neuroplast.morph.connections``). A block of ``L`` layers has ``(L+1)(L+2)/2`` such
        connections (the transition or output reads all ``L+1`` feature maps).

        Example:
            >>> from neuroplast import Spec
            >>> spec = Spec.densenet((1, 8, 8), 10, growth=4, blocks=(2, 2))
            >>> spec.shapes["b0t_pool"], spec.node("b1l2_in").inputs
            ((24, 4, 4), ('b1l2_bn0', 'b1l2_bn1'))
        """
        from neuroplast.builders import densenet_nodes

        nodes, out = densenet_nodes(
            n_out,
            growth=growth,
            blocks=tuple(blocks),
            stem_channels=stem_channels,
            compression=compression,
            activation=activation,
            output_activation=output_activation,
        )
        return cls(tuple(input_shape), tuple(nodes), out, loss)

    @classmethod
    def darts_search(
        cls,
        input_shape: Sequence[int],
        n_classes: int,
        *,
        cells: int = 5,
        channels: int = 8,
        states: int = 4,
        stem_multiplier: int = 3,
        weighting: str = "softmax",
        ops: Sequence[str] | None = None,
    ) -> Self:
        """The DARTS search network: every operation on every edge of its cells.

        Normal and reduction cells share the architecture tensors ``alpha_normal`` and
        ``alpha_reduce`` (``states·(states+3)/2`` edges × operations, plus "none" for the
        softmax weighting); see :mod:`neuroplast.nas.cells` for the layout.

        Example:
            >>> from neuroplast import Spec
            >>> spec = Spec.darts_search((1, 8, 8), 10, cells=3, channels=4, states=2)
            >>> spec.param_shapes["alpha_reduce"], spec.shapes["c2_out"]
            ((5, 8), (32, 2, 2))
        """
        from neuroplast.nas import OPS, search_nodes

        nodes, out = search_nodes(
            n_classes,
            cells=cells,
            channels=channels,
            states=states,
            stem_multiplier=stem_multiplier,
            weighting=weighting,
            ops=OPS if ops is None else ops,
        )
        return cls(tuple(input_shape), tuple(nodes), out)

    @classmethod
    def darts_network(
        cls,
        genotype: Any,
        input_shape: Sequence[int],
        n_classes: int,
        *,
        cells: int = 8,
        channels: int = 16,
        stem_multiplier: int = 3,
    ) -> Self:
        """The evaluation network of a :class:`~neuroplast.nas.Genotype` (trained from scratch).

        Example:
            >>> from neuroplast import Spec
            >>> from neuroplast.nas import Genotype
            >>> g = Genotype(normal=(("sep_conv_3x3", 0), ("skip_connect", 1)),
            ...              reduce=(("max_pool_3x3", 0), ("dil_conv_3x3", 1)))
            >>> Spec.darts_network(g, (1, 8, 8), 10, cells=3, channels=4).shapes["gap"]
            (16,)
        """
        from neuroplast.nas import eval_nodes

        nodes, out = eval_nodes(
            genotype, n_classes, cells=cells, channels=channels, stem_multiplier=stem_multiplier
        )
        return cls(tuple(input_shape), tuple(nodes), out)

    @classmethod
    def gcnn(
        cls,
        input_shape: Sequence[int],
        n_out: int,
        group: str | Sequence[str] = "C4",
        *,
        widths: Sequence[int] = (16, 16, 32, 32),
        kernel_size: int = 3,
        pool: str | None = "avg",
        pool_every: int = 2,
        batch_norm: bool = True,
        hidden: Sequence[int] = (32,),
        activation: str = "relu",
        loss: str = "cross_entropy",
        output_activation: str = "identity",
    ) -> Self:
        """A group-equivariant CNN (Maile 2023, Sec. 4.5) for square ``(C, H, H)`` inputs.

        ``conv_0`` is a lifting layer and ``conv_1, ...`` group convolutions; layer ``i`` has
        the *expanded* width ``widths[i]`` (``widths[i]/|G|`` channels of ``|G|`` group entries,
        so groups of equal widths cost equal FLOPs) and group ``group`` (or ``group[i]``; each a
        subgroup of the one before). Each is followed by ``conv_i_bn`` (equivariant batch norm)
        and the activation, and by a 2×2 ``pool_i`` after every ``pool_every``-th layer while
        the grid is even; then ``group_pool`` (mean over the group axis), ``gap`` (mean over
        space), dense layers ``dense_i`` of ``hidden`` units and ``"output"``. The logits are
        invariant to every element of the last layer's group.

        Example:
            >>> from neuroplast import Spec
            >>> spec = Spec.gcnn((1, 8, 8), 10, "D4", widths=[16, 16], hidden=[])
            >>> spec.shapes["conv_1"], spec.param_shapes["conv_1.weight"]
            ((16, 8, 8), (2, 2, 8, 3, 3))
        """
        from neuroplast.builders_group import gcnn_nodes, layer_groups

        shape = _square_input(input_shape)
        nodes, out = gcnn_nodes(
            shape[1],
            n_out,
            layer_groups(group, len(widths)),
            widths,
            kernel_size=kernel_size,
            pool=pool,
            pool_every=pool_every,
            batch_norm=batch_norm,
            hidden=hidden,
            activation=activation,
            output_activation=output_activation,
        )
        return cls(shape, tuple(nodes), out, loss)

    @classmethod
    def mixed_gcnn(
        cls,
        input_shape: Sequence[int],
        n_out: int,
        *,
        candidates: Sequence[str] = ("C1", "D1", "C2", "D2", "C4", "D4"),
        widths: Sequence[int] = (16, 16, 32, 32),
        kernel_size: int = 3,
        pool: str | None = "avg",
        pool_every: int = 2,
        batch_norm: bool = True,
        hidden: Sequence[int] = (32,),
        activation: str = "relu",
        loss: str = "cross_entropy",
        output_activation: str = "identity",
    ) -> Self:
        """The :meth:`gcnn` backbone with ``[G]``-mixed layers (thesis eqs. 11–12).

        Every ``conv_i`` is a :class:`~neuroplast.layers.MixedConv` over ``candidates`` of
        expanded width ``widths[i]`` (``conv_0`` lifts the image), followed (with
        ``batch_norm``) by a batch norm shared by blocks of ``|G_max|`` channels, ``G_max`` the
        smallest group containing every candidate (so it keeps every candidate's equivariance),
        and the activation; the head pools over ``G_max``'s group axis.

        Example:
            >>> from neuroplast import Spec
            >>> spec = Spec.mixed_gcnn((1, 8, 8), 10, widths=[8, 8], hidden=[])
            >>> spec.param_shapes["conv_1.logits"], spec.param_shapes["conv_1.v_D4"]
            ((6,), (1, 1, 8, 3, 3))
        """
        from neuroplast.builders_group import mixed_gcnn_nodes

        shape = _square_input(input_shape)
        nodes, out = mixed_gcnn_nodes(
            shape[1],
            n_out,
            candidates,
            widths,
            kernel_size=kernel_size,
            pool=pool,
            pool_every=pool_every,
            batch_norm=batch_norm,
            hidden=hidden,
            activation=activation,
            output_activation=output_activation,
        )
        return cls(shape, tuple(nodes), out, loss)


def _square_input(input_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(input_shape)
    if len(shape) != 3 or shape[1] != shape[2]:
        raise SpecError(f"a group CNN needs a square (C, H, H) input, got {shape}")
    return shape
