"""Every registered network: forward and backward at tiny size, finite, right shapes."""
import pytest
import torch

from fewgan.errors import UsageError
from fewgan.nets.image import stages_for
from fewgan.registry import NETS

import fewgan.nets.image  # noqa: F401  (registers)
import fewgan.nets.table  # noqa: F401  (registers; forward/backward in test_table.py)
import fewgan.nets.series  # noqa: F401
from fewgan.nets.fastgan import FastGANDiscriminator, FastGANGenerator  # (registers)


@pytest.mark.parametrize("res", [8, 12, 16, 24, 32, 64])
@pytest.mark.parametrize("channels,n_classes,sn", [(1, 0, True), (3, 0, False), (1, 5, True)])
def test_every_image_net_forward_backward(res, channels, n_classes, sn):
    G = NETS.get("dcgan_g")(res=res, channels=channels, z_dim=8, width=4, n_classes=n_classes)
    D = NETS.get("dcgan_d")(res=res, channels=channels, width=4, n_classes=n_classes, spectral_norm=sn)
    z = torch.randn(3, 8)
    c = torch.tensor([0, 1, 4]) if n_classes else None
    x = G(z, c)
    assert x.shape == (3, channels, res, res)
    assert x.abs().max() <= 1
    logits = D(x, c)
    assert logits.shape == (3,)
    logits.sum().backward()
    for net in (G, D):
        grads = [p.grad for p in net.parameters() if p.requires_grad]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
        assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("channels,n_classes", [(3, 0), (1, 4)])
def test_fastgan_forward_backward_at_64px(channels, n_classes):
    G = FastGANGenerator(res=64, channels=channels, z_dim=8, width=2, n_classes=n_classes)
    D = FastGANDiscriminator(res=64, channels=channels, width=2, n_classes=n_classes)
    c = torch.tensor([0, 1, 3]) if n_classes else None
    x = G(torch.randn(3, 8), c)
    assert x.shape == (3, channels, 64, 64) and x.abs().max() <= 1
    assert D(x, c).shape == (3,)                       # plain call: logits only (R1 and G's step)
    logits, rec = D(x, c, recon_rows=2)
    assert logits.shape == (3,) and rec.shape == () and torch.isfinite(rec)
    (logits.sum() + rec).backward()
    for net in (G, D):
        grads = [p.grad for p in net.parameters() if p.requires_grad]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
    # Both decoders learn from the reconstruction term; SLE gates get gradient through G's output.
    assert D.dec_all[1].weight.grad.abs().sum() > 0 and D.dec_part[1].weight.grad.abs().sum() > 0
    assert all(m.net[1].weight.grad.abs().sum() > 0 for m in G.sle.values())


def test_registry_names_all_covered():
    assert set(NETS.names()) == {"dcgan_g", "dcgan_d", "table_g", "table_d", "timegan_g", "timegan_d",
                                 "series_rgan_g", "series_conv_d", "fastgan_g", "fastgan_d"}, "add the new network to test_nets.py"


@pytest.mark.parametrize("seq_len", [2, 7, 24])
def test_series_rgan_nets_forward_backward(seq_len):
    G = NETS.get("series_rgan_g")(features=3, z_dim=2, hidden=4, layers=2)
    D = NETS.get("series_conv_d")(features=3, seq_len=seq_len, hidden=4)
    x = G(torch.randn(5, seq_len, 2))
    assert x.shape == (5, seq_len, 3) and 0 <= x.min() and x.max() <= 1
    assert G(torch.randn(2, 3 * seq_len, 2)).shape == (2, 3 * seq_len, 3)      # any length: long paths
    logits = D(x) + D(torch.rand(5, seq_len, 3))
    assert logits.shape == (5,)
    logits.sum().backward()
    for net in (G, D):
        grads = [p.grad for p in net.parameters()]
        assert all(g is not None and torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("layers", [1, 2])
def test_every_series_net_forward_backward(cell, layers):
    G = NETS.get("timegan_g")(features=3, z_dim=2, hidden=4, layers=layers, cell=cell)
    D = NETS.get("timegan_d")(hidden=4, layers=layers, cell=cell)
    x = G(torch.randn(2, 7, 2))
    assert x.shape == (2, 7, 3) and 0 <= x.min() and x.max() <= 1
    h = G.embedder(torch.rand(2, 7, 3))
    logits = D(h) + D(G.latent(torch.randn(2, 7, 2))[0])
    assert logits.shape == (2, 7)
    (logits.sum() + x.sum() + G.recovery(h).sum()).backward()
    for net in (G, D):
        grads = [p.grad for p in net.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
        assert all(g.abs().sum() > 0 for g in grads[-2:])


@pytest.mark.parametrize("res,expected", [(8, (4, 1)), (32, (4, 3)), (24, (6, 2)), (40, (5, 3)), (128, (4, 5))])
def test_stages(res, expected):
    assert stages_for(res) == expected


@pytest.mark.parametrize("res", [4, 9, 36, 200])
def test_bad_resolution(res):
    with pytest.raises(UsageError):
        stages_for(res)
