import gzip
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from fewgan.config import TrainConfig
from fewgan.data import seeded_subset
from fewgan.data.image import load_images
from fewgan.errors import UsageError
from fewgan.modalities import get_modality

from conftest import SHARED


def write_idx(path, arr):
    header = struct.pack(">HBB", 0, 8, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


@pytest.mark.parametrize("name,n,c,labels", [("digits", 1797, 1, True), ("faces100", 100, 1, False),
                                             ("histology", 1000, 3, False)])
def test_builtin_datasets(name, n, c, labels):
    d = load_images(name)
    assert d.x.shape[:2] == (n, c) and d.x.dtype == np.float32
    assert 0 <= d.x.min() and d.x.max() <= 1 and d.x.std() > 0.05
    assert (d.y is not None) == labels


def test_codec_encodes_to_resolution_and_decodes_to_uint8():
    img = get_modality("image")
    prep = img.prepare(TrainConfig.build("image", data="digits", res=16))
    assert prep.x.shape == (1797, 1, 16, 16)
    assert prep.x.min() >= -1 and prep.x.max() <= 1
    out = prep.codec.decode(prep.x[:3])
    assert out.shape == (3, 16, 16, 1) and out.dtype == np.uint8


def test_max_images_is_a_fixed_seeded_subset():
    a = seeded_subset(1797, 100, seed=3)
    assert np.array_equal(a, seeded_subset(1797, 100, seed=3))
    assert not np.array_equal(a, seeded_subset(1797, 100, seed=4))
    assert len(np.unique(a)) == 100
    prep = get_modality("image").prepare(TrainConfig.build("image", data="digits", max_images=100, seed=3))
    assert len(prep.x) == 100 and len(prep.y) == 100
    with pytest.raises(UsageError, match="more than the 1797"):
        seeded_subset(1797, 5000, 0)


def test_folder_with_class_subfolders(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(tmp_path / cls / f"{i}.png")
    d = load_images(str(tmp_path))
    assert d.x.shape == (6, 3, 20, 20)
    assert d.classes == ["cat", "dog"] and d.y.tolist() == [0, 0, 0, 1, 1, 1]
    assert d.natural_res == 20


def test_npy_and_npz(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (10, 28, 28), dtype=np.uint8)
    np.save(tmp_path / "a.npy", x)
    d = load_images(str(tmp_path / "a.npy"))
    assert d.x.shape == (10, 1, 28, 28) and np.allclose(d.x[:, 0] * 255, x, atol=1e-4)
    np.savez(tmp_path / "b.npz", x=x[..., None].repeat(3, -1), y=np.arange(10) % 2)
    d = load_images(str(tmp_path / "b.npz"))
    assert d.x.shape == (10, 3, 28, 28) and d.y.tolist() == [0, 1] * 5


def test_idx_gz(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (7, 28, 28))
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", x)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(7))
    d = load_images(str(tmp_path))
    assert d.x.shape == (7, 1, 28, 28) and d.y.tolist() == list(range(7))


@pytest.mark.skipif(not (SHARED / "data" / "mnist").exists(), reason="../shared/data/mnist not present")
def test_shared_mnist():
    d = load_images(str(SHARED / "data" / "mnist"))
    assert d.x.shape == (10000, 1, 28, 28) and d.y.max() == 9
    prep = get_modality("image").prepare(TrainConfig.build("image", data=str(SHARED / "data" / "mnist"), max_images=100))
    assert prep.x.shape == (100, 1, 28, 28)


def test_codec_upsamples_digits_to_32():
    prep = get_modality("image").prepare(TrainConfig.build("image", data="digits"))
    assert prep.x.shape[-1] == 32 and isinstance(prep.x, torch.Tensor)


def test_16_bit_images_are_rescaled_not_clipped(tmp_path):
    for i, top in enumerate((65535, 30000)):
        a = np.linspace(0, top, 16 * 16).reshape(16, 16).astype(np.uint16)
        Image.fromarray(a).save(tmp_path / f"{i}.png")
    d = load_images(str(tmp_path))
    assert d.x.shape == (2, 1, 16, 16)
    assert d.x[0].max() == pytest.approx(1.0) and d.x[1].max() == pytest.approx(30000 / 65535, rel=1e-4)
