"""Grading checks beyond the self-checks, in the spirit of nbgrader's hidden tests: cases a student does not see
while working (other sizes, orders and arguments), each against its own reference. `python -m common.notebooks grade`
runs the check of an exercise right after its self-check, in the student's kernel, inside a function (so it leaves
no names behind) and with the random state forked (so the notebook's later numbers do not move); the exercise scores
when both pass. Keyed by the exercise's name, as the grader names it (what the exercise's cell defines)."""

HIDDEN_CHECKS = {
    "pixel_nearest_neighbour": """
support_x, support_y = torch.rand(7, 1, 5, 5), torch.tensor([2, 0, 1, 2, 1, 0, 1])
query_x = support_x[[4, 0, 6, 5]] + 0.01 * torch.rand(4, 1, 5, 5)
assert torch.as_tensor(pixel_nearest_neighbour(support_x, support_y, query_x, 3)).tolist() == [1, 2, 1, 0]
""",
    "pair_logits": """
head, a, b = torch.nn.Linear(3, 1), torch.randn(4, 3), torch.randn(2, 3)
expected = torch.stack([torch.cat([head((a[i] - b[j]).abs()) for j in range(2)]) for i in range(4)])
torch.testing.assert_close(pair_logits(a, b, head), expected)
""",
    "verification_loss": """
labels = torch.tensor([2, 2, 2, 0, 1, 1, 0])
logits = torch.randn(7, 7)
same = (labels[:, None] == labels[None]) & ~torch.eye(7, dtype=torch.bool)
different = labels[:, None] != labels[None]
weight = different.sum() / same.sum()
expected = (-weight * torch.nn.functional.logsigmoid(logits[same]).sum() - torch.nn.functional.logsigmoid(-logits[different]).sum()) / 42
torch.testing.assert_close(verification_loss(logits, labels), expected)
""",
    "one_shot_predict": """
head = torch.nn.Linear(5, 1)
model = type("Model", (), {"head": head})()
support_f, query_f = torch.randn(12, 5), torch.randn(2, 5)
scores = one_shot_predict(model, support_f, torch.arange(4).repeat_interleave(3), query_f, 4)
expected = head((query_f[:, None] - support_f[None]).abs()).view(2, 4, 3).amax(2)
torch.testing.assert_close(scores, expected)
""",
    "meta_step": """
meta = MetaLearner(torch.zeros(BODY_SIZE), hidden=2, input_bias=0.5, forget_bias=1.0)
with torch.no_grad():
    meta.w_input.normal_(), meta.w_forget.normal_()
c, grad, loss = torch.randn(3), torch.randn(3), torch.tensor(0.7)
i_previous, f_previous = torch.rand(3), torch.rand(3)
h, cell = meta.lstm(torch.cat([preprocess(grad), preprocess(loss.repeat(3))], dim=1))
i = torch.sigmoid(torch.cat([h, c[:, None], i_previous[:, None]], dim=1) @ meta.w_input + 0.5)
f = torch.sigmoid(torch.cat([h, c[:, None], f_previous[:, None]], dim=1) @ meta.w_forget + 1.0)
new_c, memory = meta_step(meta, c, grad, loss, (None, None, i_previous, f_previous))
torch.testing.assert_close(new_c, f * c - i * grad)
torch.testing.assert_close(memory[2], i)
torch.testing.assert_close(memory[3], f)
""",
    "matching_probabilities": """
query_f, support_f, support_y = torch.randn(3, 4), torch.randn(6, 4), torch.tensor([1, 0, 2, 2, 0, 1])
probabilities = matching_probabilities(query_f, support_f, support_y, 3, scale=3.0)
for q in range(3):
    weights = torch.softmax(3.0 * torch.nn.functional.cosine_similarity(query_f[q][None], support_f), dim=0)
    torch.testing.assert_close(probabilities[q], torch.stack([weights[support_y == c].sum() for c in range(3)]))
""",
    "prototypes": """
support_f, support_y = torch.randn(12, 5), torch.tensor([3, 1, 0, 2, 2, 3, 0, 1, 1, 0, 3, 2])
expected = torch.stack([support_f[support_y == c].mean(0) for c in range(4)])
torch.testing.assert_close(prototypes(support_f, support_y, 4), expected)
""",
    "class_maps": """
maps, support_y = torch.randn(6, 2, 3, 3), torch.tensor([1, 2, 0, 0, 2, 1])
sums = torch.stack([maps[support_y == c].sum(0) for c in range(3)])
torch.testing.assert_close(class_maps(maps, support_y, 3), sums)
torch.testing.assert_close(class_maps(maps, support_y, 3, mean=True), sums / 2)
""",
    "adapt": """
net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(9, 4))
x, y = torch.randn(8, 1, 3, 3), torch.tensor([0, 1, 2, 3, 3, 2, 1, 0])
params = {name: p.detach().clone().requires_grad_() for name, p in net.named_parameters()}
adapted = adapt(net, params, x, y, 3, 0.2, first_order=True)
optimizer = torch.optim.SGD(net.parameters(), lr=0.2)
for _ in range(3):
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(net(x), y).backward()
    optimizer.step()
for name, p in net.named_parameters():
    torch.testing.assert_close(adapted[name], p)
""",
    "reptile_update": """
phi = [torch.randn(3, 2), torch.randn(4)]
adapted = [[w + torch.randn_like(w) for w in phi] for _ in range(3)]
updated = reptile_update(phi, adapted, 0.3)
for k, w in enumerate(phi):
    torch.testing.assert_close(updated[k], w + 0.3 * sum(task[k] - w for task in adapted) / 3)
""",
    "finetune_head": """
features, labels = torch.randn(5, 6), torch.tensor([0, 1, 2, 1, 0])
head, reference = torch.nn.Linear(6, 3), torch.nn.Linear(6, 3)
reference.load_state_dict(head.state_dict())
orders = [torch.tensor([4, 2, 0, 1, 3]), torch.tensor([1, 3, 4, 0, 2])]
finetune_head(head, features, labels, orders, batch_size=3)
optimizer = torch.optim.SGD(reference.parameters(), lr=0.01, momentum=0.9, dampening=0.9, weight_decay=1e-3)
for order in orders:
    for batch in (order[:3], order[3:]):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(reference(features[batch]), labels[batch]).backward()
        optimizer.step()
for mine, theirs in zip(head.parameters(), reference.parameters()):
    torch.testing.assert_close(mine, theirs)
""",
    "CosineClassifier": """
classifier, features = CosineClassifier(5, 3, scale=2.0), torch.randn(4, 5) * 3
logits = classifier(features)
weights = classifier.norm[:, None] * torch.nn.functional.normalize(classifier.direction, dim=1)
torch.testing.assert_close(logits, 2.0 * torch.nn.functional.normalize(features, dim=1) @ weights.T, rtol=1e-4, atol=1e-4)
torch.testing.assert_close(classifier(7 * features), logits, rtol=1e-4, atol=1e-4)
""",
    "replication_verdict": """
for args, verdict in (((95.0, 0.3, 95.4, 0.4), "within"), ((90.0, 0.5, 95.0, 0.4), "below"), ((99.5, 0.1, 99.2, 0.1), "above")):
    got, difference, margin = replication_verdict(*args)
    assert got == verdict and abs(difference - (args[0] - args[2])) < 1e-9 and abs(margin - (args[1] ** 2 + args[3] ** 2) ** 0.5) < 1e-9
""",
    "prototype_logits": """
support_f, query_f = torch.randn(6, 4), torch.randn(5, 4)
centres = [support_f[2 * c: 2 * c + 2].mean(0) for c in range(3)]
expected = torch.stack([torch.stack([-((q - centre) ** 2).sum() for centre in centres]) for q in query_f])
torch.testing.assert_close(prototype_logits(support_f, query_f, 3), expected, rtol=1e-4, atol=1e-4)
""",
    "lslr_step": """
weights = {name: torch.randn(2, 3) for name in "abc"}
grads = {name: torch.randn(2, 3) for name in "abc"}
rates = {name: torch.tensor([0.3, -0.1, 0.7]) * (k + 1) for k, name in enumerate("abc")}
stepped = lslr_step(weights, grads, rates, 1)
for name in "abc":
    torch.testing.assert_close(stepped[name], weights[name] - rates[name][1] * grads[name])
""",
    "msl_weights+multi_step_loss": """
for n_steps, epoch, msl_epochs in ((4, 2, 5), (6, 0, 3), (3, 40, 10)):
    others = [max((1 - epoch / msl_epochs) / n_steps, 0.03 / n_steps)] * (n_steps - 1)
    torch.testing.assert_close(msl_weights(n_steps, epoch, msl_epochs), torch.tensor(others + [1 - sum(others)]))
losses = [torch.tensor(2.0), torch.tensor(5.0)]
torch.testing.assert_close(multi_step_loss(losses, 1, 2), (msl_weights(2, 1, 2) * torch.tensor([2.0, 5.0])).sum())
torch.testing.assert_close(multi_step_loss(losses, 2, 2), torch.tensor(5.0))
""",
    "episode_from_pool": """
pool = torch.zeros(10, 5, 28, 28, dtype=torch.uint8)
pool[:, :, 0, 0], pool[:, :, 0, 1] = torch.arange(10)[:, None], torch.arange(5)[None]
support_x, support_y, query_x, query_y = episode_from_pool(pool, 4, 3, 2, torch.Generator().manual_seed(3))
assert support_x.shape == (12, 1, 28, 28) and query_x.shape == (8, 1, 28, 28)
assert support_y.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3] and query_y.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
classes = (support_x[::3, 0, 0, 0] * 255).round().long()
assert len(set(classes.tolist())) == 4 and torch.equal((query_x[::2, 0, 0, 0] * 255).round().long(), classes)
for c in range(4):
    drawings = torch.cat([support_x[support_y == c], query_x[query_y == c]])[:, 0, 0, 1] * 255
    assert sorted(drawings.round().long().tolist()) == [0, 1, 2, 3, 4]
""",
    "confidence_interval": """
values = torch.tensor([1.0, 0.0, 0.5])
mean, half_width = confidence_interval(values)
assert abs(mean - 0.5) < 1e-6 and abs(half_width - 1.96 * 0.5 / 3 ** 0.5) < 1e-6
""",
    "relation_loss": """
scores, labels = torch.rand(6, 4), torch.tensor([3, 0, 0, 2, 3, 1])
target = torch.zeros(6, 4)
target[torch.arange(6), labels] = 1
torch.testing.assert_close(relation_loss(scores, labels), ((scores - target) ** 2).mean())
""",
    "episode_loss": """
encoder = torch.nn.Flatten()
support_x, query_x = torch.randn(4, 1, 1, 3), torch.randn(3, 1, 1, 3)
support_y, query_y = torch.tensor([1, 1, 0, 0]), torch.tensor([1, 0, 0])
centres = torch.stack([support_x[2:].flatten(1).mean(0), support_x[:2].flatten(1).mean(0)])
logits = -((query_x.flatten(1)[:, None] - centres[None]) ** 2).sum(-1)
loss, accuracy = episode_loss(encoder, (support_x, support_y, query_x, query_y), 2)
torch.testing.assert_close(loss, torch.nn.functional.cross_entropy(logits, query_y), rtol=1e-4, atol=1e-4)
torch.testing.assert_close(accuracy, (logits.argmax(1) == query_y).float().mean())
""",
    "zero_head": """
params = {name: torch.randn(3, 2) for name in HEAD if name.endswith("weight")}
params.update({name: torch.randn(3) for name in HEAD if name.endswith("bias")}, body=torch.randn(4))
zeroed = zero_head(params, 7)
assert zeroed["body"] is params["body"] and all(zeroed[name].abs().max() == 0 for name in HEAD)
assert sorted(tuple(zeroed[name].shape) for name in HEAD) == [(7,), (7, 2)]
""",
    "cosine_lr": """
epochs, low, high = TRAIN["epochs"], TRAIN["min_lr"], TRAIN["outer_lr"]
for epoch in (0.0, epochs / 4, epochs / 2 + 0.5, epochs):
    expected = low + (high - low) * (1 + torch.cos(torch.tensor(torch.pi * epoch / epochs, dtype=torch.float64)).item()) / 2
    assert abs(cosine_lr(epoch) - expected) < 1e-12
""",
    "cosine_to_means": """
support_y = torch.tensor([3, 1, 0, 2, 2, 3, 0, 1, 1, 0, 3, 2])
support_f, query_f = torch.randn(12, 6), torch.randn(4, 6)
means = torch.stack([support_f[support_y == c].mean(0) for c in range(4)])
expected = torch.nn.functional.cosine_similarity(query_f[:, None], means[None], dim=2)
torch.testing.assert_close(cosine_to_means(support_f, support_y, query_f, 4), expected)
""",
    "relative_change": """
theta = {"3.weight": torch.tensor([[0.0, 2.0]]), "1.bias": torch.tensor([1.0, 1.0, 1.0, 1.0])}
adapted = {"3.weight": torch.tensor([[0.0, 3.0]]), "1.bias": torch.tensor([1.0, 2.0, 1.0, 1.0])}
torch.testing.assert_close(relative_change(theta, adapted), torch.tensor([0.5, 0.5]))
""",
    "first_second_cosine": """
model = make_maml_model().double()
generator = torch.Generator().manual_seed(5)
tasks = [[t.to(run.device, torch.float64) if t.is_floating_point() else t.to(run.device)
          for t in sample_episode(splits["paper"]["train"].images, 5, 1, 1, generator)] for _ in range(3)]
start = {k: v.detach().clone() for k, v in model.named_parameters()}
second, first = (torch.cat([g.flatten() for g in reference_meta_gradient(model, start, tasks, 0.2, order).values()]) for order in (False, True))
assert abs(first_second_cosine(model, tasks, 0.2) - torch.nn.functional.cosine_similarity(second, first, dim=0).item()) < 1e-6
""",
    "authors_pixels": """
images = torch.rand(2, 1, 3, 3)
torch.testing.assert_close(authors_pixels(images), ((1 - images) - 0.485) / 0.229)
""",
    "CosineHead": """
head = CosineHead(5, 3, scale=4)
with torch.no_grad():
    head.g.copy_(torch.tensor([0.5, 1.0, 2.0]))
features = torch.rand(6, 5) + 0.1
rows = head.g[:, None] * head.v / head.v.norm(dim=1, keepdim=True)
expected = 4 * (features / (features.norm(dim=1, keepdim=True) + 1e-5)) @ rows.T
torch.testing.assert_close(head(features), expected)
""",
}
