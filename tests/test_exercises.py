"""Each self-check catches the plausible wrong answers a student writes, not only the empty stub.

For every exercise, the mistakes below are planted into the solution (one at a time, a source replacement inside
its solution region), the exercise's cell and its self-check are run in the notebook's own kernel, and the
self-check must fail; then the right solution runs again and the notebook goes on. A mistake that a self-check
does not catch yet is listed with `xfail(strict=True)` and the reason, so that closing the gap shows up here.
"""

import copy
import functools

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from common.hidden_checks import HIDDEN_CHECKS
from common.notebooks import DEFINED, PROJECT_ROOT, SELF_CHECK, SOLUTION, hidden_check_cell, student_version

MISTAKES = {  # notebook: [(what the student got wrong, solution text, what they wrote instead)]
    "week1_metric/00_episodes.ipynb": [
        ("farthest instead of nearest", "distances.argmin(dim=1)", "distances.argmax(dim=1)"),
        ("index of the support image, not its label", "return support_y[distances.argmin(dim=1)]", "return distances.argmin(dim=1)"),
        ("argmin over the wrong axis", "distances.argmin(dim=1)", "distances.argmin(dim=0)"),
        ("classes drawn with replacement", "classes = torch.randperm(len(pool), generator=generator)[:n_way]",
         "classes = torch.randint(len(pool), (n_way,), generator=generator)"),
        ("drawings drawn with replacement", "torch.randperm(pool.shape[1], generator=generator)[: k_shot + n_query]",
         "torch.randint(pool.shape[1], (k_shot + n_query,), generator=generator)"),
        ("always the first drawings", "torch.randperm(pool.shape[1], generator=generator)[: k_shot + n_query]", "torch.arange(k_shot + n_query)"),
        ("global random state instead of the generator", "torch.randperm(len(pool), generator=generator)", "torch.randperm(len(pool))"),
        ("labels are the class ids", "labels = torch.arange(n_way, device=pool.device)", "labels = classes"),
        ("labels interleaved, not grouped", "labels.repeat_interleave(k_shot),", "labels.repeat(k_shot),"),
        ("not scaled to [0, 1]", ".float() / 255", ".float()"),
        ("population standard deviation", "accuracies.std().item()", "accuracies.std(correction=0).item()"),
        ("divided by n, not its square root", "/ len(accuracies) ** 0.5", "/ len(accuracies)"),
        ("standard deviation for standard error", "1.96 * accuracies.std().item() / len(accuracies) ** 0.5", "1.96 * accuracies.std().item()"),
    ],
    "week1_metric/01_siamese_networks.ipynb": [
        ("no absolute value", "(a[:, None] - b[None]).abs()", "(a[:, None] - b[None])"),
        ("product instead of distance", "(a[:, None] - b[None]).abs()", "(a[:, None] * b[None])"),
        ("pairs transposed", "(a[:, None] - b[None]).abs()", "(b[:, None] - a[None]).abs()"),
        ("each image paired with itself", "off_diagonal = ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)",
         "off_diagonal = torch.ones(len(labels), len(labels), dtype=torch.bool, device=labels.device)"),
        ("positives not weighted", ", pos_weight=pos_weight)", ")"),
        ("weight ratio upside down", "pos_weight = (targets == 0).sum() / targets.sum()", "pos_weight = targets.sum() / (targets == 0).sum()"),
        ("summed instead of averaged", ", pos_weight=pos_weight)", ", pos_weight=pos_weight, reduction='sum')"),
        ("targets flipped", "same = (labels[:, None] == labels[None]).float()", "same = (labels[:, None] != labels[None]).float()"),
        ("sigmoid applied twice", "F.binary_cross_entropy_with_logits(logits[off_diagonal]", "F.binary_cross_entropy_with_logits(torch.sigmoid(logits[off_diagonal])"),
        ("mean over the shots instead of the best", ".max(dim=2).values", ".mean(dim=2)"),
        ("worst match instead of the best", ".max(dim=2).values", ".min(dim=2).values"),
        ("shots taken as interleaved", "logits.view(len(query_f), n_way, -1).max(dim=2)", "logits.view(len(query_f), -1, n_way).max(dim=1)"),
    ],
    "week1_metric/02_matching_networks.ipynb": [
        ("dot product, not cosine", "F.normalize(query_f, dim=1) @ F.normalize(support_f, dim=1).T", "query_f @ support_f.T"),
        ("softmax over the support axis of the wrong side", ".softmax(dim=1)", ".softmax(dim=0)"),
        ("no temperature", "(scale * F.normalize", "(F.normalize"),
        ("no skip connection in g", "return support_f + forward_states + backward_states", "return forward_states + backward_states"),
        ("forward direction only", "return support_f + forward_states + backward_states", "return support_f + 2 * forward_states"),
        ("each support image its own sequence", "states, _ = self.lstm(support_f.unsqueeze(0))\n        forward_states, backward_states = states[0].chunk(2, dim=1)",
         "states, _ = self.lstm(support_f.unsqueeze(1))\n        forward_states, backward_states = states[:, 0].chunk(2, dim=1)"),
        ("attention state starts at zero", "h, c = query_f, torch.zeros_like(query_f)", "h, c = torch.zeros_like(query_f), torch.zeros_like(query_f)"),
        ("attention softmax over the queries", "(h @ support_g.T).softmax(dim=1)", "(h @ support_g.T).softmax(dim=0)"),
        ("no skip connection in f", "            h = h + query_f\n", ""),
        ("one read step only", "for _ in range(self.steps):", "for _ in range(1):"),
        ("attention with f'(x), not the state", "read = (h @ support_g.T)", "read = (query_f @ support_g.T)"),
    ],
    "week1_metric/03_prototypical_networks.ipynb": [
        ("order stands in for labels", "return sums / counts", "return support_f.view(n_way, -1, support_f.shape[1]).mean(1)"),
        ("sum instead of mean", "return sums / counts", "return sums"),
        ("distance instead of negative distance", "return -torch.cdist(query_f, protos).pow(2)", "return torch.cdist(query_f, protos).pow(2)"),
        ("distance not squared", "return -torch.cdist(query_f, protos).pow(2)", "return -torch.cdist(query_f, protos)"),
        ("support and queries encoded separately",
         "features = encoder(torch.cat([support_x, query_x]))\n    support_f, query_f = features[: len(support_x)], features[len(support_x):]",
         "support_f, query_f = encoder(support_x), encoder(query_x)"),
        ("logits_fn ignored", "logits = logits_fn(query_f,", "logits = euclidean_logits(query_f,"),
        ("prototypes from the queries", "prototypes(support_f, support_y, n_way)", "prototypes(query_f, query_y, n_way)"),
        ("support features detached", "support_f, query_f = features[: len(support_x)], features", "support_f, query_f = features[: len(support_x)].detach(), features"),
        ("loss of the negated logits", "F.cross_entropy(logits, query_y)", "F.cross_entropy(-logits, query_y)"),
        ("accuracy counts the errors", "(logits.argmax(1) == query_y)", "(logits.argmax(1) != query_y)"),
    ],
    "week1_metric/04_relation_networks.ipynb": [
        ("`mean` ignored", "return sums / torch.bincount(support_y, minlength=n_way).view(-1, 1, 1, 1) if mean else sums", "return sums"),
        ("order stands in for labels", "return sums / torch.bincount", "sums = support_maps.view(n_way, -1, *support_maps.shape[1:]).sum(1)\n    return sums / torch.bincount"),
        ("weight halves swapped", "weight_class, weight_query = conv.weight.chunk(2, dim=1)", "weight_query, weight_class = conv.weight.chunk(2, dim=1)"),
        ("pairs in class-major order", "pairs = (from_query[:, None] + from_class[None]).flatten(0, 1)", "pairs = (from_query[None] + from_class[:, None]).flatten(0, 1)"),
        ("no sigmoid", "return torch.sigmoid(self.head(hidden)).view(", "return self.head(hidden).view("),
        ("batch norm and pooling of the first block skipped", "hidden = self.second(rest(pairs))", "hidden = self.second(pairs)"),
        ("summed instead of averaged", "F.mse_loss(scores, F.one_hot(query_y, scores.shape[1]).float())", "F.mse_loss(scores, F.one_hot(query_y, scores.shape[1]).float(), reduction='sum')"),
        ("classes counted from the labels", "F.one_hot(query_y, scores.shape[1])", "F.one_hot(query_y)"),
        ("cross-entropy instead of the squared error", "return F.mse_loss(scores, F.one_hot(query_y, scores.shape[1]).float())", "return F.cross_entropy(scores, query_y)"),
    ],
    "week2_optimization/01_meta_learner_lstm.ipynb": [
        ("threshold on x, not |x|", "big = x.abs() >= torch.exp(torch.tensor(-p))", "big = x >= torch.exp(torch.tensor(-p))"),
        ("small values not scaled by e^p", "torch.exp(torch.tensor(p)) * x)", "x)"),
        ("gradient added, not subtracted", "return f * c - i * grad", "return f * c + i * grad"),
        ("forget gate ignored", "return f * c - i * grad", "return c - i * grad"),
        ("loss left out of the input", "preprocess(loss.expand_as(grad))", "preprocess(grad)"),
        ("raw gradient, not preprocessed", "torch.cat([preprocess(grad), preprocess(loss.expand_as(grad))], dim=1)",
         "torch.cat([grad[:, None], grad.sign()[:, None], preprocess(loss.expand_as(grad))], dim=1)"),
        ("LSTM state not carried over", "h, cell = meta.lstm(features, None if h is None else (h, cell))", "h, cell = meta.lstm(features)"),
        ("previous input gate not fed back", "torch.cat([h, c[:, None], i[:, None]], dim=1)", "torch.cat([h, c[:, None], torch.zeros_like(c)[:, None]], dim=1)"),
        ("both gates from the input gate's weights", "@ meta.w_forget + meta.b_forget", "@ meta.w_input + meta.b_input"),
        ("gates swapped in the update", "return cell_update(c, f, i, grad), (h, cell, i, f)", "return cell_update(c, i, f, grad), (h, cell, i, f)"),
        ("gate values not remembered", "return cell_update(c, f, i, grad), (h, cell, i, f)", "return cell_update(c, f, i, grad), (h, cell, memory[2], memory[3])"),
        ("memory returned detached", "return cell_update(c, f, i, grad), (h, cell, i, f)", "return cell_update(c, f, i, grad), (h.detach(), cell.detach(), i, f)"),
    ],
    "week2_optimization/02_maml_sine_regression.ipynb": [
        ("first order: the inner gradient detached", "grads = grad(task_loss)(params, x, y)",
         "grads = {name: g.detach() for name, g in grad(task_loss)(params, x, y).items()}"),
        ("step uphill", "p - inner_lr * grads[name]", "p + inner_lr * grads[name]"),
        ("query loss before the step", "return task_loss(inner_step(params, support_x, support_y, TRAIN[\"inner_lr\"]), query_x, query_y)",
         "return task_loss(params, query_x, query_y)"),
        ("adapted on the query points", "inner_step(params, support_x, support_y, TRAIN[\"inner_lr\"])", "inner_step(params, query_x, query_y, TRAIN[\"inner_lr\"])"),
        ("inner step detached", "return task_loss(inner_step(params, support_x, support_y, TRAIN[\"inner_lr\"]), query_x, query_y)",
         "return task_loss({name: p.detach() for name, p in inner_step(params, support_x, support_y, TRAIN[\"inner_lr\"]).items()}, query_x, query_y)"),
        ("no value before the first step", "    losses = [task_loss(theta, query_x, query_y)]\n", "    losses = []\n"),
        ("inner_lr ignored in the path", "theta = inner_step(theta, support_x, support_y, inner_lr)", "theta = inner_step(theta, support_x, support_y, TRAIN[\"inner_lr\"])"),
        ("path adapted on the queries", "theta = inner_step(theta, support_x, support_y, inner_lr)", "theta = inner_step(theta, query_x, query_y, inner_lr)"),
    ],
    "week2_optimization/03_maml_omniglot.ipynb": [
        ("always first order", "create_graph=not first_order", "create_graph=False"),
        ("step uphill", "p - inner_lr * g", "p + inner_lr * g"),
        ("`steps` ignored (one step always)", "for _ in range(steps):", "for _ in range(1):"),
        ("adapted on the query set", "adapt(model, params, support_x, support_y, 1", "adapt(model, params, query_x, query_y, 1"),
        ("scored on the support set", "functional_call(model, adapted, (query_x,)), query_y)", "functional_call(model, adapted, (support_x,)), support_y)"),
        ("query loss before adaptation", "functional_call(model, adapted, (query_x,))", "functional_call(model, params, (query_x,))"),
        ("first_order not passed on", "1, inner_lr, first_order)", "1, inner_lr)"),
        ("always first order in meta_loss", "1, inner_lr, first_order)", "1, inner_lr, True)"),
        ("inner_lr ignored", "1, inner_lr, first_order)", "1, 0.5, first_order)"),
        ("head bias kept", "else torch.zeros(n_way, device=params[name].device)", "else params[name]"),
        ("head keeps its number of rows", "torch.zeros(n_way, *params[name].shape[1:], device", "torch.zeros_like(params[name], device"),
        ("body detached", "return {**params,", "return {**{name: p.detach() for name, p in params.items()},"),
    ],
    "week2_optimization/04_reptile.ipynb": [
        ("sum over tasks instead of mean", "torch.stack(task_weights).mean(0)", "torch.stack(task_weights).sum(0)"),
        ("moved away from the tasks", "w + outer_lr * (torch.stack(task_weights).mean(0) - w)", "w + outer_lr * (w - torch.stack(task_weights).mean(0))"),
        ("no shuffle", "x[order].chunk(n_batches), y[order].chunk(n_batches)", "x.chunk(n_batches), y.chunk(n_batches)"),
        ("labels not shuffled with their images", "y[order].chunk(n_batches)", "y.chunk(n_batches)"),
        ("the model's weights never set to phi", "    set_weights(model, phi)\n", ""),
        ("no inner loop (gradient at phi)", "    inner_loop(model, optimizer, batches[:-1], loss_fn)\n", ""),
        ("query batch also used for adaptation", "inner_loop(model, optimizer, batches[:-1], loss_fn)", "inner_loop(model, optimizer, batches, loss_fn)"),
    ],
    "week2_optimization/05_gradient_relations.ipynb": [
        ("gradient not differentiable", "g = grad(theta, batch, create_graph=True)", "g = grad(theta, batch, create_graph=False)"),
        ("first-order adaptation in MAML's gradient", "adapted = phi - inner_lr * grad(phi, batch0, create_graph=True)",
         "adapted = phi - inner_lr * grad(phi, batch0, create_graph=True).detach()"),
        ("MAML without its Hessian term", '"MAML": fomaml - inner_lr * H0g1', '"MAML": fomaml'),
        ("Reptile as g0 + g1", '"Reptile": g0 + fomaml', '"Reptile": g0 + g1'),
    ],
    "week3_challenge/01_baseline.ipynb": [
        ("returns the loss tensor", "return loss.item()", "return loss"),
        ("batch norm in eval mode while training", "    model.train()\n", "    model.eval()\n"),
        ("training mode never set (validation leaves the model in eval mode)", "    model.train()\n", ""),
        ("gradients never zeroed", "labels.to(run.device))\n    optimizer.zero_grad()\n", "labels.to(run.device))\n"),
        ("features not detached (the body gets gradients)", "features = support_features.detach()", "features = support_features"),
        ("one pass only", "for order in orders:", "for order in orders[:1]:"),
        ("head never fine-tuned", "        finetune_head(head, support_features, support_y, orders)\n", "        pass\n"),
        ("orders not drawn with the generator", 'pass_orders(1, FINETUNE["passes"], len(support_x), generator)',
         'pass_orders(1, FINETUNE["passes"], len(support_x), torch.Generator().manual_seed(1))'),
        ("batch norm left in training mode at test time", "    body.eval()\n", ""),
    ],
    "week3_challenge/02_baseline_plus_plus.ipynb": [
        ("features not normalised", "        features = features / (features.norm(dim=1, keepdim=True) + 1e-5)\n", ""),
        ("best pair instead of worst", "worst.append(max(", "worst.append(min("),
        ("order stands in for labels", "means = one_hot.T @ support_f / one_hot.sum(dim=0)[:, None]", "means = support_f.view(n_way, -1, support_f.shape[1]).mean(1)"),
        ("queries not normalised", "F.normalize(query_f, dim=1) @", "query_f @"),
        ("class means not normalised", "F.normalize(means, dim=1).T", "means.T"),
        ("normalised over the wrong axis", "F.normalize(query_f, dim=1) @", "F.normalize(query_f, dim=0) @"),
        ("mean of the normalised features", "means = one_hot.T @ support_f /", "means = one_hot.T @ F.normalize(support_f, dim=1) /"),
    ],
    "week3_challenge/03_maml.ipynb": [
        ("mean over tasks instead of sum", "        loss.backward()\n", "        (loss / len(tasks)).backward()\n"),
        ("gradients never zeroed", "    optimizer.zero_grad()\n    params = dict(", "    params = dict("),
        ("mean of the query losses returned", "return total, sum(accuracies)", "return total / len(tasks), sum(accuracies)"),
        ("always first order", "adapted = adapt(model, params, support_x, support_y, 1, inner_lr, first_order)\n        logits",
         "adapted = adapt(model, params, support_x, support_y, 1, inner_lr, True)\n        logits"),
        ("blocks sorted as strings", "blocks = sorted({name.split(\".\")[0] for name in theta}, key=int)", "blocks = sorted({name.split(\".\")[0] for name in theta})"),
        ("change not relative to the weights", "change.append(delta / torch.cat([theta[name].flatten() for name in names]).norm())", "change.append(delta)"),
        ("relative to the adapted weights", "torch.cat([theta[name].flatten() for name in names]).norm())", "torch.cat([adapted[name].flatten() for name in names]).norm())"),
        ("first tensor of each block only", "names = [name for name in theta if name.split(\".\")[0] == block]", "names = [name for name in theta if name.split(\".\")[0] == block][:1]"),
        ("both meta-gradients first order", "for first_order in (False, True):", "for first_order in (True, True):"),
        ("only the last task's loss", "loss = loss + F.cross_entropy(functional_call(model, adapted, (query_x,)), query_y)",
         "loss = F.cross_entropy(functional_call(model, adapted, (query_x,)), query_y)"),
        ("query loss before the inner step", "functional_call(model, adapted, (query_x,)), query_y)\n        gradients", "functional_call(model, params, (query_x,)), query_y)\n        gradients"),
        ("adapted on the queries", "adapted = adapt(model, params, support_x, support_y, 1, inner_lr, first_order)\n            loss = loss",
         "adapted = adapt(model, params, query_x, query_y, 1, inner_lr, first_order)\n            loss = loss"),
    ],
    "week3_challenge/04_results.ipynb": [
        ("half-widths added", "(ours_ci ** 2 + published_ci ** 2) ** 0.5", "ours_ci + published_ci"),
        ("difference the wrong way round", "difference, margin = ours - published,", "difference, margin = published - ours,"),
    ],
    "week3_challenge/06_how_to_train_your_maml.ipynb": [
        ("first step's rate at every step", "rates[name][step] * grads[name]", "rates[name][0] * grads[name]"),
        ("rate detached (.item())", "rates[name][step] * grads[name]", "rates[name][step].item() * grads[name]"),
        ("step uphill", "w - rates[name][step]", "w + rates[name][step]"),
        ("the weights changed in place", "    return {name: w - rates[name][step] * grads[name] for name, w in weights.items()}",
         "    weights.update({name: w - rates[name][step] * grads[name] for name, w in weights.items()})\n    return weights"),
        ("no floor on the early steps", "torch.clamp(weights[:-1] - epoch * decay, min=floor)", "weights[:-1] - epoch * decay"),
        ("no ceiling on the last step", "min(1 / n_steps + epoch * (n_steps - 1) * decay, 1 - (n_steps - 1) * floor)",
         "1 / n_steps + epoch * (n_steps - 1) * decay"),
        ("annealing one epoch too long", "if epoch >= msl_epochs:", "if epoch > msl_epochs:"),
        ("plain mean of the step losses", "(weights * torch.stack(query_losses)).sum()", "torch.stack(query_losses).mean()"),
        ("weighted sum kept after the annealing", "    if epoch >= msl_epochs:\n        return query_losses[-1]\n", ""),
        ("the two rates swapped", 'low, high = TRAIN["min_lr"], TRAIN["outer_lr"]', 'high, low = TRAIN["min_lr"], TRAIN["outer_lr"]'),
        ("the cosine not halved", '(1 + math.cos(math.pi * epoch / TRAIN["epochs"])) / 2', '(1 + math.cos(math.pi * epoch / TRAIN["epochs"]))'),
        ("a whole period of the cosine", "math.cos(math.pi * epoch", "math.cos(2 * math.pi * epoch"),
        ("annealed to zero, not to min_lr", "return low + (high - low) *", "return high *"),
    ],
    "week3_challenge/05_beyond_one_distribution.ipynb": [
        ("distance not squared", "return -torch.cdist(query_f, prototypes).pow(2)", "return -torch.cdist(query_f, prototypes)"),
        ("shots read as interleaved", "support_f.view(n_way, -1, support_f.shape[-1]).mean(dim=1)", "support_f.view(-1, n_way, support_f.shape[-1]).mean(dim=0)"),
    ],
    "week3_challenge/07_why_baseline_plus_plus_falls_short.ipynb": [
        ("strokes left bright", "((1 - images) - 0.485) / 0.229", "(images - 0.485) / 0.229"),
        ("flipped after normalising", "((1 - images) - 0.485) / 0.229", "1 - (images - 0.485) / 0.229"),
        ("mean and standard deviation swapped", "((1 - images) - 0.485) / 0.229", "((1 - images) - 0.229) / 0.485"),
        ("features not normalised", "unit_features = features / (features.norm(dim=1, keepdim=True) + 1e-5)", "unit_features = features"),
        ("directions not normalised", "(self.g[:, None] * F.normalize(self.v, dim=1))", "(self.g[:, None] * self.v)"),
        ("columns normalised instead of rows", "F.normalize(self.v, dim=1)", "F.normalize(self.v, dim=0)"),
        ("no length per class", "(self.g[:, None] * F.normalize(self.v, dim=1))", "F.normalize(self.v, dim=1)"),
        ("no scale", "return self.scale * unit_features", "return unit_features"),
        ("lengths start at 1", "self.g = nn.Parameter(self.v.detach().norm(dim=1))", "self.g = nn.Parameter(torch.ones(len(self.v)))"),
    ],
}


def plain(mistake) -> tuple:
    """(description, right, wrong) of a mistake, whether or not it is wrapped in pytest.param."""
    return tuple(mistake.values) if hasattr(mistake, "values") else mistake


def fails(client, cell, index) -> bool:
    """Run a copy of `cell` in the client's kernel: True when it raises."""
    try:
        client.execute_cell(copy.deepcopy(cell), index)
        return False
    except CellExecutionError:
        return True


@functools.lru_cache(maxsize=None)
def caught_mistakes(notebook: str) -> dict:
    """Run `notebook` once, in one kernel, up to its last self-check with planted mistakes; before each exercise cell
    runs right, run it with each mistake and then its self-check: {description: True when the self-check failed}.
    Exercises with a hidden check (the grader's) also run it on the stub and on the solution:
    {('hidden check', exercise, 'stub' or 'solution'): True when it failed}."""
    path = PROJECT_ROOT / notebook
    cells = nbformat.read(path, as_version=4).cells
    mistakes = [plain(mistake) for mistake in MISTAKES[notebook]]
    planted_in = {index: [m for m in mistakes if any(m[1] in region.group(0) for region in SOLUTION.finditer(cell.source + "\n"))]
                  for index, cell in enumerate(cells) if cell.cell_type == "code"}
    checks = [index for index, cell in enumerate(cells) if cell.cell_type == "code" and cell.source.startswith(SELF_CHECK)]
    last_check = max(next(c for c in checks if c > index) for index, found in planted_in.items() if found)
    caught = {}
    client = NotebookClient(nbformat.v4.new_notebook(cells=cells), timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        for index, cell in enumerate(cells[: last_check + 1]):
            if cell.cell_type != "code":
                continue
            for description, right, wrong in planted_in[index]:
                planted = copy.deepcopy(cell)
                planted.source = cell.source.replace(right, wrong, 1)
                client.execute_cell(planted, index)
                caught[description] = fails(client, cells[next(c for c in checks if c > index)], index + 1)
            hidden = SOLUTION.search(cell.source + "\n") and hidden_check_cell("+".join(DEFINED.findall(cell.source)))
            if hidden:
                exercise = hidden.metadata["hidden_check"]
                stub = copy.deepcopy(cell)
                stub.source = student_version(nbformat.v4.new_notebook(cells=[cell])).cells[0].source
                client.execute_cell(stub, index)
                caught[("hidden check", exercise, "stub")] = fails(client, hidden, index)
                client.execute_cell(cell, index)
                caught[("hidden check", exercise, "solution")] = fails(client, hidden, index)
            client.execute_cell(cell, index)
    return caught


CASES = [pytest.param(notebook, plain(mistake)[0], marks=getattr(mistake, "marks", ()),
                      id=f"{notebook.split('/')[-1][:-6]}: {plain(mistake)[0]}")
         for notebook, mistakes in MISTAKES.items() for mistake in mistakes]


def test_every_planted_mistake_sits_in_a_solution():
    for notebook, mistakes in MISTAKES.items():
        solutions = "".join(region.group(0) for cell in nbformat.read(PROJECT_ROOT / notebook, as_version=4).cells
                            for region in SOLUTION.finditer(cell.source + "\n"))
        for description, right, _ in map(plain, mistakes):
            assert right in solutions, f"{notebook}: '{description}' plants into text that is not in a solution"


@pytest.mark.parametrize("notebook, description", CASES)
def test_self_check_catches_a_planted_mistake(notebook, description):
    assert caught_mistakes(notebook)[description], f"the self-check of {notebook} lets '{description}' through"


def notebook_of(exercise: str) -> str:
    """The notebook (of MISTAKES) whose exercise cell defines `exercise`."""
    return next(notebook for notebook in MISTAKES for cell in nbformat.read(PROJECT_ROOT / notebook, as_version=4).cells
                if cell.cell_type == "code" and SOLUTION.search(cell.source + "\n") and "+".join(DEFINED.findall(cell.source)) == exercise)


@pytest.mark.parametrize("exercise", sorted(HIDDEN_CHECKS))
def test_hidden_check_fails_on_the_stub_and_passes_on_the_solution(exercise):
    results = caught_mistakes(notebook_of(exercise))
    assert results[("hidden check", exercise, "stub")], f"the hidden check of {exercise} passes on the empty stub"
    assert not results[("hidden check", exercise, "solution")], f"the hidden check of {exercise} fails on the solution"
