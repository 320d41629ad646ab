"""course_utils.training and the BatchLoader: a tiny problem is learned; metrics are computed right."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_utils.data import BatchLoader, ImageDataset
from course_utils.training import Lookahead, evaluate, fit, train_one_epoch


def _bright_vs_dark(n=64, seed=0):
    """Class 1 images are bright, class 0 dark: linearly separable."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    base = torch.where(labels.view(-1, 1, 1, 1) == 1, 180, 60)
    noise = torch.randint(-40, 40, (n, 1, 4, 4), generator=gen)
    images = (base + noise).clamp(0, 255).to(torch.uint8)
    return ImageDataset(images, labels, ("dark", "bright"), "toy", "train")


def test_batch_loader_batches_normalises_and_shuffles():
    ds = _bright_vs_dark(10)
    loader = BatchLoader(ds, 4, mean=[0.5], std=[0.25])
    batches = list(loader)
    assert len(loader) == 3 and [len(y) for _, y in batches] == [4, 4, 2]
    x0, y0 = batches[0]
    expected = (ds.images[:4].float() / 255 - 0.5) / 0.25
    assert torch.allclose(x0, expected) and torch.equal(y0, ds.labels[:4])
    assert len(BatchLoader(ds, 4, drop_last=True)) == 2
    shuffled = BatchLoader(ds, 10, shuffle=True, seed=1)
    first, second = next(iter(shuffled))[1], next(iter(shuffled))[1]
    assert sorted(first.tolist()) == sorted(ds.labels.tolist()) and not torch.equal(first, second)
    again = BatchLoader(ds, 10, shuffle=True, seed=1)
    assert torch.equal(next(iter(again))[1], first)  # same seed, same order
    augmented = next(iter(BatchLoader(ds, 2, augment=lambda x: x * 0)))[0]
    assert (augmented == 0).all()


def test_batch_loader_gives_indexed_augment_the_indices_and_the_epoch():
    ds = _bright_vs_dark(10)
    seen = []

    def record(x, index, epoch):
        seen.append((index.tolist(), epoch))
        return x

    loader = BatchLoader(ds, 4, shuffle=True, seed=2, indexed_augment=record, drop_last=True)
    for _ in range(2):
        for x, y in loader:
            assert torch.equal(y, ds.labels[torch.tensor(seen[-1][0])])  # the indices are those of the batch
    assert [e for _, e in seen] == [0, 0, 1, 1]
    with pytest.raises(TypeError, match="indexed_augment must be a function"):
        BatchLoader(ds, 4, indexed_augment="flip")


def test_lookahead_by_hand():
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    la = Lookahead(model, total_steps=4, every=2, base=0.5)
    assert la.decay(2) == 0.25 * 0.125 and la.decay(4) == 0.25  # base**every * (t/T)**3
    for target in (1.0, 2.0, 3.0, 4.0):  # stand-in optimiser steps: set the fast weight
        with torch.no_grad():
            model.weight.fill_(target)
        la.step()
    # step 2: slow = d*0 + (1-d)*2 with d = 1/32 -> 1.9375, and the fast weight restarts there;
    # step 4: slow = 0.25*1.9375 + 0.75*4 = 3.484375
    assert model.weight.item() == pytest.approx(3.484375)
    with torch.no_grad():
        model.weight.fill_(10.0)
    la.finish()  # back to the slow weights
    assert model.weight.item() == pytest.approx(3.484375)


def test_fit_calls_after_step_after_every_step():
    calls = []
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    fit(model, BatchLoader(_bright_vs_dark(12), 4), None, torch.optim.SGD(model.parameters(), lr=0.1), 2,
        after_step=lambda: calls.append(1), progress=False)
    assert len(calls) == 6


@pytest.mark.parametrize("kwargs, error", [({"batch_size": 0}, ValueError), ({"mean": [0.5]}, ValueError)])
def test_batch_loader_rejects_bad_arguments(kwargs, error):
    with pytest.raises(error):
        BatchLoader(_bright_vs_dark(4), **{"batch_size": 2, **kwargs})
    with pytest.raises(TypeError, match="ImageDataset"):
        BatchLoader([1, 2, 3], 2)  # type: ignore[arg-type]


def test_evaluate_counts_correct_predictions():
    class Fixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.dummy = nn.Parameter(torch.zeros(1))

        def forward(self, x):  # always predicts class 1 with logits (0, 1)
            return torch.tensor([[0.0, 1.0]]).repeat(len(x), 1)

    loader = [(torch.zeros(3, 1), torch.tensor([1, 0, 1])), (torch.zeros(1, 1), torch.tensor([0]))]
    loss, acc = evaluate(Fixed(), loader)
    assert acc == 0.5
    # cross-entropy of logits (0, 1): -log softmax = log(1 + e) for class 0, log(1 + e^-1) for class 1
    import math

    assert loss == pytest.approx((2 * math.log(1 + math.e) + 2 * math.log(1 + math.exp(-1))) / 4)


def test_fit_learns_a_separable_problem():
    torch.manual_seed(0)
    train, val = _bright_vs_dark(64, 0), _bright_vs_dark(32, 1)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    history = fit(model, BatchLoader(train, 16, shuffle=True, mean=[0.5], std=[0.25]),
                  BatchLoader(val, 16, mean=[0.5], std=[0.25]), opt, epochs=5, progress=False)
    assert history.epochs == 5 and len(history.val_acc) == 5 and history.train_seconds > 0
    assert history.val_acc[-1] == 1.0 and history.train_loss[-1] < history.train_loss[0]


def test_errors():
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="no batches"):
        train_one_epoch(model, [], opt)
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        fit(model, [], None, opt, epochs=0)




def test_confusion_matrix_by_hand():
    from course_utils.training import confusion_matrix

    preds, labels = torch.tensor([0, 1, 1, 2, 2, 2]), torch.tensor([0, 1, 2, 2, 2, 0])
    cm = confusion_matrix(preds, labels, 3)
    assert cm.tolist() == [[1, 0, 1], [0, 1, 0], [0, 1, 2]]  # rows: true, columns: predicted
    assert cm.sum() == 6 and cm.diagonal().sum() == 4
    with pytest.raises(ValueError, match=r"lie in \[0, 3\)"):
        confusion_matrix(torch.tensor([3]), torch.tensor([0]), 3)
    with pytest.raises(ValueError, match="equal length"):
        confusion_matrix(torch.tensor([0, 1]), torch.tensor([0]), 3)


def test_most_confident_mistakes():
    from course_utils.training import most_confident_mistakes

    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    labels = torch.tensor([0, 0, 1, 0])  # items 1, 2, 3 are wrong with confidence 0.8, 0.6, 0.7
    assert most_confident_mistakes(probs, labels, k=2).tolist() == [1, 3]
    with pytest.raises(ValueError, match=r"probs must be a 2-dimensional Tensor"):
        most_confident_mistakes(probs[0], labels)


def test_predict_logits_with_flip_tta_is_symmetric():
    from course_utils.training import predict_logits

    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    x = torch.randn(5, 1, 3, 4)
    loader = [(x, torch.zeros(5, dtype=torch.long))]
    plain, labels = predict_logits(model, loader)
    tta, _ = predict_logits(model, loader, tta_flip=True)
    flipped, _ = predict_logits(model, [(x.flip(3), labels)], tta_flip=True)
    assert torch.allclose(plain, model(x)) and torch.allclose(tta, (model(x) + model(x.flip(3))) / 2)
    assert torch.allclose(tta, flipped)  # invariant to mirroring the input


def test_predict_logits_with_translated_views_by_hand():
    from course_utils.training import predict_logits

    class TopLeft(nn.Module):  # "logits": the top-left pixel of each channel
        def forward(self, x):
            return x[:, :, 0, 0]

    x = torch.arange(16.0).view(1, 1, 4, 4)  # x[0, 0] = 0, x[1, 1] = 5, x[0, 3] = 3
    labels = torch.zeros(1, dtype=torch.long)
    # shifted up-left, the reflect-padded image starts with x[1, 1]; shifted down-right, too
    plain, _ = predict_logits(TopLeft(), [(x, labels)], tta_translate=True)
    assert plain.item() == pytest.approx(0.5 * 0 + 0.5 * 5)
    # with mirrors: the mirrored image's top-left is x[0, 3] = 3; shifted, the mirror's x[1, 2] = 6
    both, _ = predict_logits(TopLeft(), [(x, labels)], tta_flip=True, tta_translate=True)
    assert both.item() == pytest.approx(0.5 * (0 + 3) / 2 + 0.5 * (5 + 6) / 2)


def test_one_history_for_every_loop_round_trips_as_plain_data():
    import json

    from course_utils.training import History

    h = History(train_loss=[2.0, 1.0], seconds=[0.5, 0.5], parts=[{"box": 1.5}, {"box": 0.7}])
    plain = h.as_dict()
    assert History.from_dict(json.loads(json.dumps(plain))) == h and h.epochs == 2 and h.train_seconds == 1.0
    steps = History(train_loss=[3.0, 2.5, 2.0], seconds=[4.0], unit="step")
    assert steps.epochs == 3 and steps.train_seconds == 4.0
    with pytest.raises(ValueError, match=r"History has no field\(s\) \['loss'\]"):
        History.from_dict({"loss": [1.0]})
    with pytest.raises(ValueError, match="unit must be 'epoch' or 'step'"):
        History.from_dict({**plain, "unit": "batch"})


def test_one_cycle_is_torchs_schedule_except_where_torch_divides_by_zero():
    """Bitwise OneCycleLR, except at pct_start * total_steps == 1, where OneCycleLR raises ZeroDivisionError."""
    from course_utils.training import one_cycle

    def lrs(make, steps):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.5)
        sched = make(opt, steps)
        out = []
        for _ in range(steps):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        return out

    def torchs(pct):
        return lambda o, n: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.5, total_steps=n, pct_start=pct)

    for steps, pct in ((100, 0.3), (12, 0.1), (50, 0.25), (3, 0.3), (5, 0.1)):
        assert lrs(lambda o, n: one_cycle(o, 0.5, n, pct_start=pct), steps) == lrs(torchs(pct), steps)
    for steps, pct in ((10, 0.1), (5, 0.2), (4, 0.25)):
        with pytest.raises(ZeroDivisionError):  # what one_cycle spares these runs
            lrs(torchs(pct), steps)
        seen = lrs(lambda o, n: one_cycle(o, 0.5, n, pct_start=pct), steps)
        assert seen[0] < seen[1] == pytest.approx(max(seen)) and max(seen) <= 0.5 and seen[-1] < seen[1]
