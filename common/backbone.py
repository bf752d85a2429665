"""The Conv-4 backbone of the few-shot literature (Vinyals et al., 2016; Snell et al., 2017; Finn et al., 2017).

Four blocks of [3x3 conv with 64 filters, batch norm, ReLU, 2x2 max-pool]: a 1x28x28 image becomes 64 features.

Batch norm is the one choice MAML cares about, so it is explicit:
- ``track_running_stats=True`` (default): the usual layer; train mode normalises with batch statistics and updates
  running averages, eval mode uses the running averages (inductive: each image is treated on its own).
- ``track_running_stats=False``: no running averages; every forward pass, train or eval, normalises with the current
  batch's statistics. That is what the MAML paper did (transductive: a query's output depends on the other queries).
With ``torch.func.functional_call(model, params_and_buffers, x)`` the parameters (and, when tracked, the buffers)
can be swapped for adapted ones, as week 2 does.
"""

import torch
from torch import nn


def conv_block(in_channels: int, out_channels: int, pool: bool = True, track_running_stats: bool = True) -> nn.Sequential:
    """3x3 conv (padding 1) -> batch norm -> ReLU -> optional 2x2 max-pool."""
    layers = [
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
        nn.BatchNorm2d(out_channels, track_running_stats=track_running_stats),
        nn.ReLU(),
    ]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class Conv4(nn.Sequential):
    """Conv-4: [batch, 1, 28, 28] -> [batch, 64] features (or [batch, n_classes] logits with a linear head).

    `pooled_blocks` < 4 keeps feature maps (Relation Networks: 2 -> [batch, 64, 7, 7]; the output is then not flattened).
    """

    def __init__(
        self,
        in_channels: int = 1,
        hidden: int = 64,
        n_classes: int | None = None,
        pooled_blocks: int = 4,
        track_running_stats: bool = True,
    ):
        channels = [in_channels, hidden, hidden, hidden, hidden]
        blocks = [conv_block(channels[i], channels[i + 1], i < pooled_blocks, track_running_stats) for i in range(4)]
        if pooled_blocks == 4:
            blocks.append(nn.Flatten())
        if n_classes is not None:
            blocks.append(nn.Linear(hidden, n_classes))
        super().__init__(*blocks)
        self.out_features = n_classes or hidden
