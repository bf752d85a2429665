import torch
from torch.func import functional_call

from common.backbone import Conv4


def test_shapes():
    x = torch.randn(6, 1, 28, 28)
    assert Conv4()(x).shape == (6, 64)
    assert Conv4(n_classes=5)(x).shape == (6, 5)
    assert Conv4(pooled_blocks=2)(x).shape == (6, 64, 7, 7)


def test_functional_call_matches_the_module_and_swaps_parameters():
    torch.manual_seed(0)
    model, x = Conv4(n_classes=5).eval(), torch.randn(4, 1, 28, 28)
    params = dict(model.named_parameters())
    buffers = dict(model.named_buffers())
    assert torch.allclose(functional_call(model, {**params, **buffers}, (x,)), model(x))
    shifted = {name: p + 1 if name.endswith("bias") and p.dim() == 1 and p.shape[0] == 5 else p for name, p in params.items()}
    assert not torch.allclose(functional_call(model, {**shifted, **buffers}, (x,)), model(x))


def test_batch_norm_choice_is_explicit():
    torch.manual_seed(0)
    x = torch.randn(8, 1, 28, 28)
    transductive = Conv4(track_running_stats=False).eval()
    assert not list(transductive.buffers())
    # With batch statistics, an image's features depend on the rest of the batch, even in eval mode.
    assert not torch.allclose(transductive(x)[:4], transductive(x[:4]), atol=1e-5)
    inductive = Conv4().eval()
    assert torch.allclose(inductive(x)[:4], inductive(x[:4]), atol=1e-5)
