"""Interpolating two gan decoders (``explorable_jpeg_train.tools.soup``)."""

import pytest
import torch

from explorable_jpeg.decoding.decoder import Decoder, WeightsError
from explorable_jpeg.models import ChromaNet, ChromaNetConfig, LumaNet, LumaNetConfig
from explorable_jpeg_train.tools import soup as sp


def _gan(channels: int = 8, seed: int = 0) -> Decoder:
    torch.manual_seed(seed)
    dec = Decoder(
        LumaNet(LumaNetConfig(channels, 1, 0)), ChromaNet(ChromaNetConfig(8, 1, 0))
    ).to_gan()
    with torch.no_grad():
        for p in dec.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return dec


def test_the_soup_lies_on_the_segment_and_keeps_the_rest():
    a, b, c = _gan(seed=0), _gan(seed=1), _gan(seed=2)
    out, worst = sp.soup(a, b, 0.25, chroma_from=c)
    sa, sb, sc, so = (d.state_dict() for d in (a, b, c, out))
    assert any("z_proj" in n for n in so)
    for name in so:
        if name.startswith("luma"):  # z projections included
            torch.testing.assert_close(so[name], 0.75 * sa[name] + 0.25 * sb[name])
        else:
            assert torch.equal(so[name], sc[name]), name
    assert worst > 0
    ends = [sp.soup(a, b, t)[0].state_dict() for t in (0.0, 1.0)]
    name = "luma.head.weight"
    assert torch.equal(ends[0][name], sa[name]) and torch.equal(ends[1][name], sb[name])
    assert torch.equal(ends[1]["chroma.head.weight"], sa["chroma.head.weight"])  # from A
    assert torch.equal(a.state_dict()[name], sa[name])  # inputs untouched


def test_bad_mixes_are_refused():
    a = _gan()
    with pytest.raises(WeightsError, match="do not match"):
        sp.soup(a, _gan(channels=16), 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        sp.soup(a, _gan(seed=1), 1.5)
    with pytest.raises(ValueError, match="exclude"):
        sp.soup(a, _gan(seed=1), 0.5, parts=("luma", "chroma"), chroma_from=a)


def test_command_line_round_trip(tmp_path):
    a, b, c = _gan(seed=3), _gan(seed=4), _gan(seed=5)
    for name, dec in (("a", a), ("b", b), ("c", c)):
        dec.save_pretrained(tmp_path / name)
    card = tmp_path / "card.md"
    card.write_text("# soup\n")
    args = [str(tmp_path / x) for x in ("a", "b", "out")]
    sp.main([*args, "--t", "0.5", "--chroma-from", str(tmp_path / "c"), "--card", str(card)])
    out = Decoder.from_folder(tmp_path / "out")
    assert out.variant == "gan" and (tmp_path / "out" / "README.md").read_text() == "# soup\n"
    la, lb, lc = (Decoder.from_folder(tmp_path / x).state_dict() for x in "abc")
    so = out.state_dict()
    expected = (0.5 * la["luma.head.weight"] + 0.5 * lb["luma.head.weight"]).half().float()
    torch.testing.assert_close(so["luma.head.weight"], expected, atol=2e-3, rtol=2e-3)
    assert torch.equal(so["chroma.head.weight"], lc["chroma.head.weight"])
    for bad in (["--t", "2"], ["--t", "0.5", "--parts", "everything"]):
        with pytest.raises(SystemExit):
            sp.main([*args, *bad])
    l1 = Decoder(LumaNet(LumaNetConfig(8, 1, 0)), ChromaNet(ChromaNetConfig(8, 1, 0)))
    l1.save_pretrained(tmp_path / "l1")
    with pytest.raises(SystemExit):  # an l1 folder in a gan's place
        sp.main([str(tmp_path / "l1"), args[1], args[2], "--t", "0.5"])
