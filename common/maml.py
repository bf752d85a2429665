"""MAML's inner loop and test-time predictor, built in week 2 (03_maml_omniglot) and reused by week 3 (03_maml).

Parameters are a dict {name: tensor} used with `torch.func.functional_call(model, params, (x,))`, so that the
adapted weights stay a differentiable function of the initialisation (second order) or are cut from it (first order).
"""

import torch
import torch.nn.functional as F
from torch.func import functional_call


def adapt(model, params: dict, support_x, support_y, steps: int, inner_lr: float, first_order: bool = False) -> dict:
    """`steps` plain SGD steps of size `inner_lr` on the support cross-entropy, starting from `params`; returns the
    adapted params. Second order keeps the graph through each gradient; first order treats gradients as constants."""
    for _ in range(steps):
        loss = F.cross_entropy(functional_call(model, params, (support_x,)), support_y)
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=not first_order)
        params = {name: p - inner_lr * g for (name, p), g in zip(params.items(), grads)}
    return params


def maml_predictor(model, steps: int, inner_lr: float):
    """`predict(support_x, support_y, query_x, n_way)` for `evaluate_bank`: adapt every parameter of `model` on the
    support set, then classify all queries in one batch. With batch norm that keeps no running statistics
    (`Conv4(track_running_stats=False)`), the queries are normalised with their own batch's statistics: transductive."""

    def predict(support_x, support_y, query_x, n_way):
        params = {name: p.detach().requires_grad_() for name, p in model.named_parameters()}
        with torch.enable_grad():
            adapted = adapt(model, params, support_x, support_y, steps, inner_lr, first_order=True)
        with torch.no_grad():
            return functional_call(model, adapted, (query_x,))

    return predict
