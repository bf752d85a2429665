"""Transfer as Closer Look's Baseline does it (week 3): train a network on all base classes at once, then fine-tune a
new classifier on each test episode's support set, for many episodes at once.

Closer Look's Baseline and Baseline++ freeze the features at test time and train a fresh head on the support set
alone: SGD (lr 0.01, momentum 0.9, dampening 0.9, weight decay 1e-3), batches of 4, 100 passes, the support set
reshuffled before each pass. 01_baseline writes that loop for one episode; this module runs the same steps for a
whole bank of episodes in one go (one head per episode, stacked, under `torch.func.vmap`), so 600 episodes take
seconds instead of minutes. Given the same starting heads and the same orders, both give the same heads.
"""

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from .episodes import gather_episode, pool_batches, setting_bank
from .evaluation import accuracy, embed_pool, mean_ci95
from .plots import progress

SGD_SETTINGS = {"lr": 0.01, "momentum": 0.9, "dampening": 0.9, "weight_decay": 1e-3}


def pass_orders(n_episodes: int, passes: int, n_support: int, generator: torch.Generator) -> torch.Tensor:
    """A fresh random order of the support set for every episode and pass: long [n_episodes, passes, n_support]."""
    return torch.rand(n_episodes, passes, n_support, generator=generator).argsort(dim=2)


def finetune_stacked(head: nn.Module, params: dict, support_features: torch.Tensor, support_y: torch.Tensor,
                     orders: torch.Tensor, batch_size: int = 4, **sgd) -> dict:
    """Train E heads at once: `params` {name: [E, ...]} (from `stack_module_state`) used as `head`'s parameters,
    support_features [E, S, dim] (frozen), support_y [E, S], orders [E, passes, S]. Returns the trained params.

    Each episode's gradient is that of its own mean batch loss, and SGD acts element by element, so this is
    exactly E separate fine-tunings."""
    params = {name: value.detach().clone().requires_grad_() for name, value in params.items()}
    optimizer = torch.optim.SGD(params.values(), **{**SGD_SETTINGS, **sgd})
    support_features = support_features.detach()

    def batch_loss(episode_params, features, labels):
        logits = functional_call(head, episode_params, (features,))
        return nn.functional.cross_entropy(logits, labels)

    for order in orders.unbind(dim=1):
        for start in range(0, order.shape[1], batch_size):
            chosen = order[:, start : start + batch_size]
            features = torch.gather(support_features, 1, chosen[..., None].expand(-1, -1, support_features.shape[2]))
            optimizer.zero_grad()
            vmap(batch_loss)(params, features, torch.gather(support_y, 1, chosen)).sum().backward()
            optimizer.step()
    return {name: value.detach() for name, value in params.items()}


def finetune_bank(make_head, features: torch.Tensor, bank, passes: int = 100, batch_size: int = 4, seed: int = 0,
                  chunk: int = 200, **sgd) -> dict:
    """Score frozen features on a bank: a fresh `make_head(n_way)` per episode, fine-tuned on its support set,
    then asked about its queries. `features` [n_classes, n_examples, dim] from `embed_pool`.

    Returns {'acc', 'ci95', 'episodes'} like `evaluate_bank`; `chunk` episodes are fine-tuned together."""
    accuracies = finetune_accuracies(make_head, features, bank, passes, batch_size, seed, chunk, **sgd)
    acc, ci95 = mean_ci95(accuracies)
    return {"acc": round(acc, 4), "ci95": round(ci95, 4), "episodes": len(accuracies)}


def finetune_accuracies(make_head, features: torch.Tensor, bank, passes: int = 100, batch_size: int = 4, seed: int = 0,
                        chunk: int = 200, **sgd) -> torch.Tensor:
    """`finetune_bank`'s per-episode accuracies, in the bank's order [n_episodes]: what a paired comparison needs."""
    generator = torch.Generator().manual_seed(seed)
    accuracies = []
    for first in range(0, len(bank), chunk):
        episodes = [gather_episode(features, index) for index in bank[first : first + chunk]]
        support_x, support_y, query_x, query_y = (torch.stack(parts) for parts in zip(*episodes))
        n_way = int(support_y.max()) + 1
        with torch.random.fork_rng(devices=[]):  # the heads' initialisation is seeded without touching the caller's
            torch.manual_seed(seed + first)
            heads = [make_head(n_way) for _ in episodes]
        params, _ = stack_module_state(heads)
        orders = pass_orders(len(episodes), passes, support_x.shape[1], generator).to(support_x.device)
        trained = finetune_stacked(heads[0], params, support_x, support_y, orders, batch_size, **sgd)
        with torch.no_grad():
            logits = vmap(lambda p, x: functional_call(heads[0], p, (x,)))(trained, query_x)
        accuracies += [accuracy(episode_logits, labels) for episode_logits, labels in zip(logits, query_y)]
    return torch.tensor(accuracies, dtype=torch.float64)


def train_on_base_classes(model: nn.Module, train_step, pool: torch.Tensor, epochs: float, batch_size: int,
                          validate, checks_per_epoch: int = 1, generator: torch.Generator | None = None, on_loss=None):
    """Plain classification over every class of `pool` for `epochs` passes (a fraction stops early), calling
    `train_step(images, labels) -> loss` on each batch and `validate() -> score` `checks_per_epoch` times an epoch.

    Keeps the weights of the best validation score (model selection on meta-validation, never on the test bank) and
    loads them back at the end. `on_loss(step, loss)` sees every loss (a live curve). Returns [(epoch, score), ...].
    """
    generator = generator or torch.Generator().manual_seed(0)
    steps_per_epoch = -(-pool.shape[0] * pool.shape[1] // batch_size)
    total, check_every = round(epochs * steps_per_epoch), max(1, steps_per_epoch // checks_per_epoch)
    history, best, best_state, step = [], float("-inf"), None, 0
    bar = progress(range(total), desc="base classes")
    while step < total:
        for images, labels in pool_batches(pool, batch_size, generator):
            loss = train_step(images, labels)
            step += 1
            bar.update()
            if on_loss:
                on_loss(step, loss)
            if step % check_every == 0 or step == total:
                history.append((step / steps_per_epoch, validate()))
                if history[-1][1] > best:
                    best, best_state = history[-1][1], {k: v.clone() for k, v in model.state_dict().items()}
            if step == total:
                break
    bar.close()
    model.load_state_dict(best_state)
    return history


def score_frozen_body(body: nn.Module, pool: torch.Tensor, settings, make_head, episodes: int | None = None,
                      passes: int = 100, batch_size: int = 4) -> dict:
    """{setting: result} for a frozen `body` on the banks of `settings` over `pool` [n_classes, n_examples, 28, 28]:
    the features are computed once (batch norm in eval mode), then `finetune_bank` with `make_head(n_way)`."""
    device = next(body.parameters()).device
    features = embed_pool(body.eval(), pool.to(device))
    return {setting: finetune_bank(make_head, features, setting_bank(setting, len(pool), n_examples=pool.shape[1])[:episodes],
                                   passes, batch_size) for setting in settings}
