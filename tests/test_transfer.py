import torch
from torch import nn

from common import episodes
from common.transfer import finetune_bank, finetune_stacked, pass_orders, train_on_base_classes


def test_stacked_finetuning_equals_one_optimiser_per_episode():
    generator = torch.Generator().manual_seed(0)
    features, labels = torch.randn(3, 10, 8, generator=generator), torch.arange(5).repeat(2).expand(3, 10)
    orders = pass_orders(3, 4, 10, generator)
    heads = [nn.Linear(8, 5) for _ in range(3)]
    start = {name: torch.stack([dict(h.named_parameters())[name].detach() for h in heads]) for name in ("weight", "bias")}
    trained = finetune_stacked(heads[0], start, features, labels, orders, batch_size=4)
    for e, head in enumerate(heads):
        optimizer = torch.optim.SGD(head.parameters(), lr=0.01, momentum=0.9, dampening=0.9, weight_decay=1e-3)
        for order in orders[e]:
            for batch in order.split(4):
                optimizer.zero_grad()
                nn.functional.cross_entropy(head(features[e, batch]), labels[e, batch]).backward()
                optimizer.step()
        torch.testing.assert_close(trained["weight"][e], head.weight.detach())
        torch.testing.assert_close(trained["bias"][e], head.bias.detach())


def test_finetune_bank_separates_separable_classes_and_leaves_the_global_seed_alone():
    features = torch.randn(30, 20, 30, generator=torch.Generator().manual_seed(1)) * 0.1
    features += 3 * torch.eye(30)[:, None, :]  # each class sits at its own corner
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    result = finetune_bank(lambda n_way: nn.Linear(30, n_way), features, episodes.test_bank(30, 5, 1, 5, 0, 20))
    assert result["episodes"] == 20 and result["acc"] > 0.95
    assert torch.equal(torch.rand(1), expected_next), "finetune_bank must not reseed the caller's generator"


def test_training_keeps_the_best_validation_checkpoint():
    pool = torch.randint(0, 255, (4, 20, 28, 28), dtype=torch.uint8)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 4))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scores, snapshots = iter([0.5, 0.9, 0.1, 0.2]), []

    def step(images, labels):
        loss = nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    def validate():
        snapshots.append(model[1].weight.detach().clone())
        return next(scores)

    history = train_on_base_classes(model, step, pool, epochs=2, batch_size=20, validate=validate, checks_per_epoch=2)
    assert [round(epoch, 2) for epoch, _ in history] == [0.5, 1.0, 1.5, 2.0] and [s for _, s in history] == [0.5, 0.9, 0.1, 0.2]
    assert torch.equal(model[1].weight, snapshots[1]), "the weights of the best check (0.9) should be loaded back"
