"""Losses on hand cases, and the R1 / gradient-penalty maths on a linear D."""
import math

import pytest
import torch
from torch import nn

from fewgan.losses import GANLoss
from fewgan.registry import LOSSES

L2 = math.log(2)


@pytest.mark.parametrize("name,d_at_zero,g_at_zero", [
    ("bce", 2 * L2, -L2), ("ns", 2 * L2, L2), ("hinge", 2.0, 0.0), ("wgan-gp", 0.0, 0.0), ("lsgan", 0.5, 0.5)])
def test_losses_at_zero_logits(name, d_at_zero, g_at_zero):
    d_fn, g_fn = LOSSES.get(name)
    z = torch.zeros(4)
    assert d_fn(z, z).item() == pytest.approx(d_at_zero)
    assert g_fn(z).item() == pytest.approx(g_at_zero)


def test_bce_is_the_minimax_value():
    # D loss = -(log D(x) + log(1 - D(G(z)))), G loss = log(1 - D(G(z))) with D = sigmoid(logits).
    d_fn, g_fn = LOSSES.get("bce")
    r, f = torch.tensor([1.3, -0.2]), torch.tensor([0.4, -2.0])
    value = torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean()
    assert d_fn(r, f).item() == pytest.approx(-value.item(), rel=1e-6)
    assert g_fn(f).item() == pytest.approx(torch.log(1 - torch.sigmoid(f)).mean().item(), rel=1e-6)


def test_bce_saturates_and_ns_does_not():
    # With D confidently rejecting fakes (logit -8), the classic G gradient vanishes.
    f = torch.tensor([-8.0], requires_grad=True)
    LOSSES.get("bce")[1](f).backward()
    g_bce = f.grad.abs().item()
    f.grad = None
    LOSSES.get("ns")[1](f).backward()
    assert g_bce < 1e-3 < f.grad.abs().item()


class LinearD(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x, c=None):
        return x.flatten(1) @ self.w


def test_r1_penalty_on_linear_d():
    w = torch.tensor([3.0, 4.0, 0.0, 0.0])
    loss = GANLoss(nn.Identity(), LinearD(w), "ns", r1_gamma=2.0)
    x = torch.randn(5, 1, 2, 2)
    # |grad_x D|^2 = |w|^2 = 25; gamma/2 * 25 * every(=1)
    assert loss.d_reg(x, None, every=1).item() == pytest.approx(25.0)


def test_gradient_penalty_zero_for_unit_gradient():
    w = torch.tensor([0.6, 0.8, 0.0, 0.0])
    loss = GANLoss(nn.Identity(), LinearD(w), "wgan-gp")
    gp = loss._grad_penalty(torch.randn(6, 1, 2, 2), torch.randn(6, 1, 2, 2), None)
    assert gp.item() == pytest.approx(0.0, abs=1e-10)


def test_unknown_loss():
    from fewgan.errors import UsageError
    with pytest.raises(UsageError, match="unknown loss"):
        LOSSES.get("nope")


def test_r1_works_for_non_image_samples():
    # tables (N, F) and series (N, T, F) share the loss code with images
    for shape in [(5, 4), (5, 2, 2)]:
        w = torch.tensor([3.0, 4.0, 0.0, 0.0])
        loss = GANLoss(nn.Identity(), LinearD(w), "ns", r1_gamma=2.0)
        assert loss.d_reg(torch.randn(*shape), None, every=1).item() == pytest.approx(25.0)
