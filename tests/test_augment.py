import torch

from fewgan.augment import AdaController, DiffAugment
from fewgan.augment.diffaug import cutout, translation


def test_p_zero_is_identity_and_p_one_changes_every_sample():
    torch.manual_seed(0)
    x = torch.rand(16, 3, 16, 16) * 2 - 1
    aug = DiffAugment()
    assert torch.equal(aug(x, torch.tensor(0.0)), x)
    y = aug(x, 1.0)
    assert y.shape == x.shape
    assert ((y - x).flatten(1).abs().amax(1) > 0).all()


def test_per_sample_probability():
    torch.manual_seed(0)
    x = torch.rand(2000, 1, 8, 8)
    y = DiffAugment("cutout")(x, torch.tensor(0.3))
    changed = ((y - x).flatten(1).abs().amax(1) > 0).float().mean().item()
    assert 0.25 < changed < 0.35


def test_ops_are_differentiable():
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    DiffAugment()(x, 1.0).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_translation_moves_content_by_an_integer_shift_with_zero_pad():
    torch.manual_seed(1)
    x = torch.zeros(64, 1, 16, 16)
    x[:, :, 8, 8] = 1.0
    y = translation(x)
    assert torch.all(y.sum(dim=(1, 2, 3)) == 1)           # the dot moved, never duplicated
    pos = y.flatten(1).argmax(1)
    dy, dx = pos // 16 - 8, pos % 16 - 8
    assert dy.abs().max() <= 2 and dx.abs().max() <= 2 and (dy != 0).any()


def test_cutout_zeroes_a_half_side_square():
    torch.manual_seed(2)
    x = torch.ones(32, 1, 16, 16)
    zeros = (cutout(x) == 0).flatten(1).sum(1)
    assert zeros.max() == 64 and zeros.min() >= 16          # 8x8 square, clipped at borders


def test_ada_controller_moves_p_towards_target():
    ada = AdaController(target=0.6, interval=4, kimg=1.0, batch=50, device=torch.device("cpu"))
    for _ in range(4):
        ada.accumulate(torch.ones(50))                         # D sure of every real: overfitting
    rt = ada.update()
    assert rt.item() == 1.0 and ada.p.item() == pytest_approx(0.2)
    for _ in range(4):
        ada.accumulate(-torch.ones(50))
    ada.update()
    ada.update()
    assert ada.p.item() == 0.0                                 # clamped at 0


def pytest_approx(v):
    import pytest
    return pytest.approx(v)
