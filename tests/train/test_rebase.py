"""Moving a gan onto a newer l1 decoder by weight arithmetic (``tools.rebase``)."""

import pytest
import torch

from explorable_jpeg.decoding.decoder import Decoder, WeightsError
from explorable_jpeg.models import ChromaNet, ChromaNetConfig, LumaNet, LumaNetConfig
from explorable_jpeg_train.tools import rebase as rb


def _l1(channels: int = 8, seed: int = 0) -> Decoder:
    torch.manual_seed(seed)
    dec = Decoder(LumaNet(LumaNetConfig(channels, 1, 0)), ChromaNet(ChromaNetConfig(8, 1, 0)))
    with torch.no_grad():
        for p in dec.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return dec


def _perturbed(dec: Decoder, seed: int, scale: float = 0.01) -> Decoder:
    torch.manual_seed(seed)
    out = Decoder.from_config(dec.config_dict())
    out.load_state_dict(dec.state_dict())
    with torch.no_grad():
        for p in out.parameters():
            p.add_(torch.randn_like(p) * scale)
    return out


def test_the_gan_keeps_its_own_change_on_the_new_l1():
    old = _l1()
    new = _perturbed(old, seed=1)
    gan = _perturbed(old.to_gan(), seed=2)  # trained: z weights and the rest moved
    out, worst = rb.rebase(gan, old, new, alpha=1.0)
    o, n, g, r = (d.state_dict() for d in (old, new, gan, out))
    for name in r:
        if name.startswith("luma") and "z_proj" not in name:
            # θ' − θ_new = θ_gan − θ_old: the gan's own change, now on top of the new l1
            torch.testing.assert_close(r[name] - n[name], g[name] - o[name])
        else:
            assert torch.equal(r[name], g[name]), name  # z projections and chroma: untouched
    assert 0 < worst < 0.5
    half, _ = rb.rebase(gan, old, new, alpha=0.5, parts=("luma", "chroma"))
    name = "chroma.head.weight"
    torch.testing.assert_close(half.state_dict()[name], g[name] + 0.5 * (n[name] - o[name]))
    assert not torch.equal(gan.state_dict()[name], half.state_dict()[name])


def test_mismatched_decoders_are_refused():
    old = _l1(channels=8)
    gan = old.to_gan()
    with pytest.raises(WeightsError, match="do not match"):
        rb.rebase(gan, old, _l1(channels=16))


def test_command_line_round_trip(tmp_path):
    old = _l1()
    new = _perturbed(old, seed=3)
    gan = _perturbed(old.to_gan(), seed=4)
    for name, dec in (("gan", gan), ("old", old), ("new", new)):
        dec.save_pretrained(tmp_path / name)
    card = tmp_path / "card.md"
    card.write_text("# rebased\n")
    args = [str(tmp_path / x) for x in ("gan", "old", "new", "out")]
    rb.main([*args, "--card", str(card)])
    out = Decoder.from_folder(tmp_path / "out")
    assert out.variant == "gan" and (tmp_path / "out" / "README.md").read_text() == "# rebased\n"
    loaded = [Decoder.from_folder(tmp_path / x).state_dict() for x in ("gan", "old", "new")]
    g, o, n = loaded
    name = "luma.head.weight"
    expected = (g[name] + (n[name] - o[name])).half().float()
    torch.testing.assert_close(out.state_dict()[name], expected, atol=2e-3, rtol=2e-3)
    with pytest.raises(SystemExit):
        rb.main([*args, "--parts", "everything"])
    with pytest.raises(SystemExit):  # the l1 folders given in the gan's place
        rb.main([args[1], args[0], args[2], args[3]])
