"""Video modality: data loaders and their bad inputs, codec, nets, per-clip augmentation, metrics,
sampling formats and the API. End-to-end train/resume/sample/evaluate/report is in test_registry."""
import json
import numpy as np
import pytest
import torch
from PIL import Image

from fewgan import VideoGAN
from fewgan.config import TrainConfig
from fewgan.errors import UsageError
from fewgan.modalities.video.data import bouncing, from_arrays, load_video
from fewgan.modalities.video.metrics import (centroid_speed, motion_energy, motion_stats, temporal_consistency,
                                             train_clip_encoder, w1)
from fewgan.modalities.video.modality import ClipAugment, VideoCodec
from fewgan.modalities.video.nets import VideoDiscriminator, VideoGenerator

TINY_V = ["--clips", "24", "--frames", "4", "--res", "16", "--width", "2", "--motion-dim", "4", "--d-frames", "1",
          "--batch", "4", "--z-dim", "4", "--quiet"]


def _gif(path, frames, size=(8, 8)):
    imgs = [Image.fromarray(np.full(size[::-1], 40 * i + 10, np.uint8)) for i in range(frames)]
    imgs[0].save(path, save_all=True, append_images=imgs[1:], duration=50)
    return path


def _frames_dir(path, n, size=8):
    path.mkdir(parents=True)
    for t in range(n):
        Image.fromarray(np.full((size, size), 30 * t, np.uint8)).save(path / f"{t:03d}.png")
    return path


# -- data --------------------------------------------------------------------------------------

def test_moving_digits_is_deterministic_labelled_and_bounces():
    a, b = load_video("moving-digits", 3, 16, 32, 40), load_video("moving-digits", 3, 16, 32, 40)
    c = load_video("moving-digits", 4, 16, 32, 40)
    assert a.x.shape == (40, 16, 1, 32, 32) and a.y.shape == (40,) and np.array_equal(a.x, b.x)
    assert not np.array_equal(a.x, c.x) and np.array_equal(a.y, c.y)
    mass = a.x.sum((2, 3, 4))                         # the digit stays whole on the canvas: no mass lost
    assert np.allclose(mass, mass[:, :1], rtol=1e-5)
    speed = centroid_speed(torch.from_numpy(a.x) * 2 - 1)
    assert (speed > 0.5).all() and (speed < 3.5).all()


def test_bouncing_reflects_at_the_border():
    sprite = np.ones((1, 2, 2), np.float32)
    x = bouncing(sprite, 40, 8, 0, (1.0, 1.0))        # 40 frames at 1 px/frame on an 8 px canvas
    ys = [np.argwhere(f[0] > 0)[:, 0].min() for f in x[0]]
    assert min(ys) >= 0 and max(ys) <= 6 and x[0].sum((1, 2, 3)).min() == 4


def test_array_layouts_are_detected():
    nthwc = np.random.default_rng(0).integers(0, 255, (3, 5, 8, 8, 1), dtype=np.uint8)
    a = from_arrays(nthwc)
    b = from_arrays(nthwc.transpose(0, 1, 4, 2, 3).astype(np.float32) / 255)
    assert a.layout == "NTHWC" and b.layout == "NTCHW" and a.x.shape == (3, 5, 1, 8, 8)
    assert np.allclose(a.x, b.x, atol=1e-6)


def test_gif_and_frame_folders_with_classes(tmp_path):
    for cls in ("cat", "dog"):
        (tmp_path / "gifs" / cls).mkdir(parents=True)
        for i in range(2):
            _gif(tmp_path / "gifs" / cls / f"{i}.gif", 5)
    d = load_video(str(tmp_path / "gifs"), 0, 4, None, 10)
    assert d.x.shape == (4, 5, 1, 8, 8) and d.classes == ["cat", "dog"] and list(d.y) == [0, 0, 1, 1]
    assert np.allclose(d.x[0, :, 0, 0, 0], (40 * np.arange(5) + 10) / 255, atol=1 / 255)
    _frames_dir(tmp_path / "clips" / "a", 6)
    _frames_dir(tmp_path / "clips" / "b", 6)
    f = load_video(str(tmp_path / "clips"), 0, 4, None, 10)
    assert f.x.shape == (2, 6, 1, 8, 8) and f.y is None


def _bad_inputs(tmp_path):
    np.save(tmp_path / "three.npy", np.zeros((4, 8, 8), np.uint8))
    np.save(tmp_path / "images.npy", np.zeros((4, 8, 8, 1), np.uint8))
    lengths = tmp_path / "lengths"
    lengths.mkdir()
    _gif(lengths / "a.gif", 5), _gif(lengths / "b.gif", 6)
    sizes = tmp_path / "sizes"
    sizes.mkdir()
    _gif(sizes / "a.gif", 5), _gif(sizes / "b.gif", 5, (8, 10))
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "still.gif")
    corrupt = tmp_path / "corrupt"
    _frames_dir(corrupt / "clip", 5)
    (corrupt / "clip" / "002.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (tmp_path / "broken.gif").write_bytes(b"GIF89a\x00\x01garbage")
    short = tmp_path / "short.npy"
    np.save(short, np.zeros((4, 3, 8, 8, 1), np.uint8))
    return [("three.npy", [], "no time axis"), ("images.npy", [], "looks like images"),
            ("lengths", [], "different lengths"), ("sizes", [], "different sizes"),
            ("still.gif", [], "still image"), ("corrupt", [], "002.png"), ("broken.gif", [], "broken.gif"),
            ("short.npy", ["--frames", "4"], "fewer than --frames 4"),
            ("nosuch", [], "no such dataset")]


def test_bad_inputs_one_line_exit_2_nothing_written(tmp_path, cli):
    for name, extra, words in _bad_inputs(tmp_path):
        out = tmp_path / f"run-{name}"
        code, _, err = cli("train", "video", "--data", tmp_path / name if name != "nosuch" else name, "--out", out,
                           "--steps", 1, *(extra or ["--frames", "4"]), "--quiet")
        assert code == 2 and len(err.strip().splitlines()) == 1 and words in err, (name, err)
        assert not out.exists()


def test_movies_through_the_optional_pyav_extra(tmp_path):
    (tmp_path / "bad.mp4").write_bytes(b"not a movie")
    try:
        import av
    except ImportError:     # without the extra: one line that says how to get it
        with pytest.raises(UsageError, match="pip install"):
            load_video(str(tmp_path / "bad.mp4"), 0, 4, None, 10)
        return
    with pytest.raises(UsageError, match="cannot decode"):
        load_video(str(tmp_path / "bad.mp4"), 0, 4, None, 10)
    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as box:
        s = box.add_stream("mpeg4", rate=10)
        s.width = s.height = 16
        s.pix_fmt = "yuv420p"
        for t in range(6):
            img = np.zeros((16, 16, 3), np.uint8)
            img[4:8, 2 + t:6 + t] = 255
            for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                box.mux(pkt)
        for pkt in s.encode():
            box.mux(pkt)
    d = load_video(str(path), 0, 4, None, 10)
    assert d.x.shape[:2] == (1, 6) and d.x.shape[-2:] == (16, 16) and d.layout == "video"
    speed = centroid_speed(torch.from_numpy(d.x) * 2 - 1)
    assert 0.5 < speed[0] < 1.5          # the square moves 1 px per frame, lossy codec or not


# -- codec, nets, augmentation -----------------------------------------------------------------

def test_codec_round_trip_and_random_windows():
    codec = VideoCodec(frames=3, length=6, res=8, channels=1)
    x01 = np.random.default_rng(0).integers(0, 256, (5, 6, 1, 8, 8)).astype(np.float32) / 255
    x = codec.encode(x01)
    assert x.shape == (5, 6, 1, 8, 8) and x.min() >= -1 and x.max() <= 1
    assert np.array_equal(codec.decode(x), (x01 * 255).round().astype(np.uint8).transpose(0, 1, 3, 4, 2))
    torch.manual_seed(0)
    t = torch.arange(6.0).view(1, 6, 1, 1, 1).expand(5, 6, 1, 8, 8)
    w, _ = codec.sample_batch(t, None, 50, "cpu")
    steps = w[:, :, 0, 0, 0]
    assert w.shape == (50, 3, 1, 8, 8) and (steps.diff(dim=1) == 1).all() and len(steps[:, 0].unique()) > 1
    assert codec.noise_shape(7) == (5, 7)


@pytest.mark.parametrize("model", ["mocogan", "warp", "frames", "static"])
def test_nets_forward_backward(model):
    torch.manual_seed(0)
    G = VideoGenerator(16, 3, 6, 4, 2, n_classes=3, model=model)
    D = VideoDiscriminator(16, 3, 2, 3, d_frames=2, clip=model in ("mocogan", "warp"))
    z, c = torch.randn(4, 5 + 2, 6), torch.tensor([0, 1, 2, 0])
    x = G(z, c)
    assert x.shape == (4, 5, 3, 16, 16)
    out = D(x, c)
    assert out.shape == (4,)
    out.sum().backward()
    assert all(p.grad is not None for p in G.frame.parameters() if p.requires_grad)
    if model == "static":
        assert torch.equal(x[:, 0], x[:, 3])
    if model == "warp":
        assert G.warp.weight.grad.abs().sum() > 0            # motion learns from D


def test_warp_model_moves_the_content_frame():
    """warp: clips start static (identity warps: the content frame itself on every frame); a pure
    translation of the warp moves the frame's content by the expected number of pixels."""
    torch.manual_seed(0)
    G = VideoGenerator(16, 1, 6, 4, 2, model="warp", warp="affine").eval()
    z = torch.randn(2, 4 + 2, 6)
    x = G(z)
    base = G.frame(z[:, 0])
    assert torch.allclose(x, base.unsqueeze(1).expand_as(x), atol=1e-5)
    with torch.no_grad():
        G.warp.bias.copy_(torch.tensor([0.0, 0, 4 / 8, 0, 0, 0]))   # x shift of 4/8 = 4 px at 16 px
    x = G(z)
    assert torch.allclose(x[:, :, :, :, :8], base[:, None, :, :, 4:12], atol=1e-5)
    T = VideoGenerator(16, 1, 6, 4, 2, model="warp", warp="translation").eval()
    T.load_state_dict({**G.state_dict(), "warp.weight": G.warp.weight[[2, 5]], "warp.bias": G.warp.bias[[2, 5]]})
    assert torch.allclose(T(z), x, atol=1e-6)                      # the same shift, from 2 outputs


def test_augmentation_uses_one_set_of_parameters_per_clip():
    torch.manual_seed(0)
    frame = torch.rand(6, 1, 1, 16, 16) * 2 - 1
    clip = frame.expand(6, 5, 1, 16, 16).contiguous()          # five identical frames per clip
    out = ClipAugment("color,translation,cutout")(clip, 1.0)
    assert torch.allclose(out, out[:, :1].expand_as(out), atol=1e-6)   # frames still identical
    assert not torch.allclose(out, clip)
    rgb = torch.rand(4, 3, 3, 8, 8) * 2 - 1
    assert ClipAugment("color")(rgb, 1.0).shape == rgb.shape


# -- metrics on known cases ----------------------------------------------------------------------

def test_motion_metrics_known_cases():
    dot = -torch.ones(2, 5, 1, 12, 12)
    for t in range(5):
        dot[0, t, 0, 3, 2 + t] = 1                       # moves 1 px/frame
        dot[1, t, 0, 3, 2] = 1                           # still
    assert np.allclose(centroid_speed(dot), [1.0, 0.0], atol=1e-5)
    e = motion_energy(dot)
    assert e[1] == 0 and np.isclose(e[0], 2 / 144)       # two pixels change by 1 (of [0, 1]) per step
    m = motion_stats(np.array([1.0, 1.0]), np.array([0.05, 1.0]), np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    assert m["static_share"] == 0.5 and m["speed_w1"] == 0
    assert np.isclose(w1(np.array([0.0, 1.0]), np.array([1.0, 2.0])), 1.0)
    assert temporal_consistency(np.array([[1, 1, 1, 1], [2, 2, 3, 4]]))["temporal_consistency"] == 0.75


def test_clip_encoder_learns_order_from_shuffled_and_still():
    d = load_video("moving-digits", 0, 8, 16, 200)
    x = torch.from_numpy(d.x) * 2 - 1
    _, info = train_clip_encoder(x, None, 60, seed=0)
    assert info["clip_encoder_order_acc"] > 0.6        # 3 classes: chance is 0.33


# -- sampling and API ----------------------------------------------------------------------------

def test_sample_folder_of_frames_and_api(tmp_path, cli):
    run = tmp_path / "r"
    assert cli("train", "video", "--out", run, "--steps", 2, *TINY_V, "--conditional")[0] == 0
    code, _, err = cli("sample", run, "-n", 3, "--out", tmp_path / "frames", "--label", "7")
    assert code == 0 and sorted(p.name for p in (tmp_path / "frames").iterdir()) == ["clip_0000", "clip_0001", "clip_0002"]
    assert len(list((tmp_path / "frames" / "clip_0001").glob("*.png"))) == 4
    code, _, err = cli("sample", run, "-n", 3, "--out", tmp_path / "frames")
    assert code == 2 and "not an empty folder" in err
    cfg = TrainConfig.load(run / "config.json")
    assert cfg.options.conditional and cfg.options.width == 2
    arr = (np.random.default_rng(0).random((12, 6, 16, 16, 1)) * 255).astype(np.uint8)
    gan = VideoGAN(frames=4, steps=2, width=2, motion_dim=4, d_frames=1, batch=4, z_dim=4).fit(arr)
    s = gan.sample(5)
    assert s.shape == (5, 4, 16, 16, 1) and s.dtype == np.uint8


def test_frame_steps_train_the_frame_generator_first_then_the_clip_model(cli, tmp_path):
    """--frame-steps N (warp): the first N steps touch only the frame generator and the frame D
    (motion GRU, warp and clip D unchanged); later steps train them too; resume across the switch
    is exact."""
    from conftest import assert_same_checkpoint
    from fewgan.train.checkpoint import load_checkpoint
    args = ["--data", "moving-digits", *TINY_V, "--frame-steps", "3", "--features", "random", "--eval-n", "16",
            "--encoder-steps", "3"]
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert cli("train", "video", "--out", straight, "--steps", 3, *args)[0] == 0
    assert cli("train", "video", "--out", split, "--steps", 2, *args)[0] == 0
    a, b = load_checkpoint(split / "checkpoint.pt"), load_checkpoint(straight / "checkpoint.pt")
    for k, v in b["G"].items():                          # step 3 vs step 2: still only the frame G
        assert (not torch.equal(v, a["G"][k])) == k.startswith("frame."), k
    assert not b["G"]["warp.weight"].any()               # the warp's zero start: no clip step yet
    assert all(torch.equal(v, a["D"][k]) for k, v in b["D"].items() if k.startswith("clip."))
    assert cli("train", "--resume", split, "--steps", 5, "--quiet")[0] == 0
    assert cli("train", "--resume", straight, "--steps", 5, "--quiet")[0] == 0
    assert_same_checkpoint(straight / "checkpoint.pt", split / "checkpoint.pt")
    c = load_checkpoint(straight / "checkpoint.pt")
    assert c["G"]["warp.weight"].any()                   # steps 4-5: motion learns
    assert any(not torch.equal(v, b["D"][k]) for k, v in c["D"].items() if k.startswith("clip."))
    other = tmp_path / "frames"                          # the other models have no frame phase: refused
    code, _, err = cli("train", "video", "--out", other, "--steps", 1, *args, "--model", "frames", "--quiet")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--model warp" in err, err
    assert not other.exists()


def test_frame_steps_default_to_half_of_the_steps_and_are_kept_on_resume(cli, tmp_path):
    """--model warp without --frame-steps: the frame phase is the first half of --steps, fixed in
    the run's config (a resume with more steps keeps it); other models and --minutes get 0."""
    args = ["--data", "moving-digits", *TINY_V, "--features", "random", "--eval-n", "16", "--encoder-steps", "3",
            "--quiet"]

    def frame_steps(run):
        return json.loads((run / "config.json").read_text())["options"]["frame_steps"]
    assert cli("train", "video", "--out", tmp_path / "w", "--steps", 5, *args)[0] == 0
    assert frame_steps(tmp_path / "w") == 2
    assert cli("train", "--resume", tmp_path / "w", "--steps", 7, "--quiet")[0] == 0
    assert frame_steps(tmp_path / "w") == 2
    assert cli("train", "video", "--out", tmp_path / "m", "--steps", 2, *args, "--model", "mocogan")[0] == 0
    assert frame_steps(tmp_path / "m") == 0
    assert cli("train", "video", "--out", tmp_path / "t", "--minutes", 0.01, *args)[0] == 0
    assert frame_steps(tmp_path / "t") == 0
