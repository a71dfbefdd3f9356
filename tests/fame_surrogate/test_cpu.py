"""``fame_surrogate._cpu``: bfloat16 products in hardware, read from /proc/cpuinfo's flags."""

from __future__ import annotations

from fame_surrogate._cpu import native_bf16
from fame_surrogate.config import TrainConfig

ZEN4 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu avx2 avx512f avx512bw avx512_bf16\n"
SKYLAKE = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu sse2 avx2 avx512f avx512bw avx512vl\n"
SAPPHIRE = "processor\t: 0\nflags\t\t: avx2 avx512f amx_bf16 amx_tile\n"
GRAVITON3 = "processor\t: 0\nBogoMIPS\t: 2100.00\nFeatures\t: fp asimd sve bf16 i8mm\n"
GRAVITON2 = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull\n"


def test_bf16_products_in_hardware_by_the_cpu_flags() -> None:
    assert native_bf16(ZEN4) and native_bf16(SAPPHIRE) and native_bf16(GRAVITON3)
    assert not native_bf16(SKYLAKE) and not native_bf16(GRAVITON2)
    assert not native_bf16("")  # no /proc/cpuinfo (not Linux)
    # a flag of another name that contains the letters does not count
    assert not native_bf16("flags\t\t: avx512_bf16x fake_bf16\n")


def test_the_default_follows_the_beams_and_this_cpu() -> None:
    here = native_bf16()
    assert TrainConfig().resolved(hadronic=True).bf16_hidden is here
    assert TrainConfig().resolved(hadronic=False).bf16_hidden is False
    # given, it wins over both
    assert TrainConfig(bf16_hidden=False).resolved(hadronic=True).bf16_hidden is False
    assert TrainConfig(bf16_hidden=True).resolved(hadronic=False).bf16_hidden is True
