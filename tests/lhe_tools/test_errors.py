"""Malformed event files: each gives one clear LHEFormatError naming the file, line or event and the fix."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from lhe_tools import EventFileError, LHEFormatError, LHEReader, read_all, read_events

HEAD = """<LesHouchesEvents version="3.0">
<header>
<initrwgt>
<weightgroup name="scales" combine="envelope">
<weight id="w1">muR=2</weight>
<weight id="w2">muR=0.5</weight>
</weightgroup>
</initrwgt>
</header>
<init>
11 -11 50.0 50.0 0 0 -1 -1 3 1
1.0 0.1 1.0 1
</init>
"""
HEAD_LINES = HEAD.count("\n")
EVENT = """<event trials='2'>
 4 1 +1.5e+00 100.0 -1 0.118
 11 -1 0 0 0 0 0.0 0.0 50.0 50.0 0.0 0 9
 -11 -1 0 0 0 0 0.0 0.0 -50.0 50.0 0.0 0 9
 1 1 1 2 501 0 30.0 40.0 0.0 50.0 0.0 0 9
 -1 1 1 2 0 501 -30.0 -40.0 0.0 50.0 0.0 0 9
<rwgt>
<wgt id="w1"> 2.25 </wgt>
</rwgt>
</event>
"""
EVENT_LINES = EVENT.count("\n")
TAIL = "</LesHouchesEvents>\n"


def _file(tmp_path: Path, text: str | bytes, name: str = "bad.lhe") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _events(second: str = EVENT) -> str:
    """Three events; the second may be replaced by a malformed one."""
    return HEAD + EVENT + second + EVENT + TAIL


def _read(path: Path) -> None:
    list(read_events(path))


def test_valid_inline_file_reads(tmp_path: Path) -> None:
    """The positive control for every case below."""
    (batch,) = list(read_events(_file(tmp_path, _events())))
    assert batch.process == "2_2__e-__e+__d__db" and len(batch) == 3
    np.testing.assert_array_equal(batch.weight, 1.5)
    np.testing.assert_array_equal(batch.trials, 2.0)
    np.testing.assert_array_equal(batch.extra_weights["w1"], 2.25)
    assert np.isnan(batch.extra_weights["w2"]).all()  # declared in <initrwgt> but in no event
    np.testing.assert_array_equal(batch.momenta[0, 2], [50.0, 30.0, 40.0, 0.0])


@pytest.mark.parametrize(
    ("second", "match", "line_offset"),
    [
        (EVENT.replace(" 4 1 +1.5e+00", " 5 1 +1.5e+00"), r"NUP=5 but the event has 4 particle lines", 1),
        (EVENT.replace(" 4 1 +1.5e+00", " 3 1 +1.5e+00"), r"more particle lines than NUP=3", 5),
        (EVENT.replace("30.0 40.0", "abc 40.0"), r"non-numeric momentum 'abc'", 4),
        (EVENT.replace("1 2 501 0", "1 x 501 0"), r"non-numeric MOTHUP/ICOLUP 'x'", 4),
        (EVENT.replace("+1.5e+00", "nan"), r"non-numeric XWGTUP 'nan'; expected a finite number", 1),
        (EVENT.replace("-50.0 50.0", "-inf 50.0"), r"non-numeric momentum '-inf'", 3),
        (EVENT.replace(" 0.0 0 9\n -1 1", " 0 9\n -1 1"), r"must have 13 columns .* found 12", 4),
        (EVENT.replace(" -1 0.118", " 0.118"), r"event line must have 6 columns .* found 5", 1),
        (EVENT.replace(" 4 1 +1.5e+00", " 4.5 1 +1.5e+00"), r"NUP must be an integer", 1),
        (EVENT.replace("</event>\n", ""), r"unterminated <event> \(opened at line \d+\)", EVENT_LINES - 1),
        (EVENT.replace("> 2.25 <", "> 2.2.5 <"), r"non-numeric weight 'w1' '2.2.5'", 7),
        ("</event>\n", r"</event> without a matching <event>", 0),
        (EVENT.replace("2.25 </wgt>", "2.25"), r"unterminated <wgt>: expected </wgt>", 7),
        (EVENT.replace("</rwgt>\n", ""), r"unterminated <rwgt>: expected </rwgt>", 6),
    ],
)
def test_malformed_event(tmp_path: Path, second: str, match: str, line_offset: int) -> None:
    path = _file(tmp_path, _events(second))
    with pytest.raises(LHEFormatError, match=match) as err:
        _read(path)
    assert err.value.path == str(path) and str(path) in str(err.value)
    assert err.value.line == HEAD_LINES + EVENT_LINES + 1 + line_offset
    if "without a matching" not in match:
        assert err.value.event == 1


def test_errors_are_found_across_blocks_and_chunks(tmp_path: Path) -> None:
    bad = EVENT.replace("30.0 40.0", "30.0 4O.0")  # letter O, not zero
    path = _file(tmp_path, HEAD + EVENT * 50 + bad + EVENT * 5 + TAIL)
    with pytest.raises(LHEFormatError, match=r"event 50: non-numeric momentum '4O.0'"):
        list(LHEReader(path, chunk_size=7, block_size=1000))


def test_truncated_gzip(tmp_path: Path) -> None:
    data = gzip.compress(_events().encode() * 1)
    path = _file(tmp_path, data[: len(data) // 2], "cut.lhe.gz")
    with pytest.raises(LHEFormatError, match=r"cut\.lhe\.gz: compressed stream is truncated or corrupt"):
        _read(path)


def test_corrupt_gzip(tmp_path: Path) -> None:
    data = bytearray(gzip.compress((HEAD + EVENT * 200 + TAIL).encode()))
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(LHEFormatError, match=r"compressed stream is truncated or corrupt"):
        _read(_file(tmp_path, bytes(data), "flip.lhe.gz"))


def test_truncated_plain_file_inside_an_event(tmp_path: Path) -> None:
    text = _events()
    path = _file(tmp_path, text[: text.index("-30.0 -40.0", len(HEAD) + len(EVENT))])
    with pytest.raises(LHEFormatError, match=r"unterminated <event>: the file ends before </event>") as err:
        _read(path)
    assert err.value.event == 1


def test_missing_end_tag(tmp_path: Path) -> None:
    path = _file(tmp_path, HEAD + EVENT * 3)
    with pytest.raises(LHEFormatError, match=r"ends without </LesHouchesEvents> after 3 events"):
        _read(path)


def test_read_all_gives_no_partial_result(tmp_path: Path) -> None:
    good = _file(tmp_path, _events(), "good.lhe")
    bad = _file(tmp_path, HEAD + EVENT * 3, "bad.lhe")
    with pytest.raises(LHEFormatError, match=r"bad\.lhe"):
        read_all([good, bad])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", r"empty file"),
        ("just some text\n1 2 3\n", r"not a Les Houches event file: no <LesHouchesEvents> root"),
        ('<LesHouchesEvents version="1.0">\n' + EVENT + TAIL, r"no <init> block before the first <event>"),
        (HEAD.replace("</init>\n", "") + EVENT + TAIL, r"unterminated <init>"),
        (HEAD.replace("0 0 -1 -1 3 1", "0 0 -1 3 1"), r"must have 10 numbers, found 9"),
        (
            HEAD.replace('<weight id="w2">muR=0.5</weight>', '<weight id="w2">muR=0.5'),
            r"<initrwgt> is not well-formed",
        ),
        (HEAD.replace('id="w2"', 'id="w1"'), r"declares weight ids more than once: \['w1'\]"),
        (HEAD.replace("50.0 50.0 0 0", "50.0 fifty 0 0"), r"non-numeric field in the <init> line"),
    ],
)
def test_malformed_header(tmp_path: Path, text: str, match: str) -> None:
    path = _file(tmp_path, text if "<event" in text or not text.startswith("<Les") else text + EVENT + TAIL)
    with pytest.raises(LHEFormatError, match=match):
        _read(path)


def test_weights_block_needs_initrwgt(tmp_path: Path) -> None:
    head = HEAD.replace(HEAD[HEAD.index("<initrwgt>") : HEAD.index("</header>")], "")
    event = EVENT.replace("</rwgt>\n", "</rwgt>\n<weights> 1.0 2.0 </weights>\n")
    with pytest.raises(LHEFormatError, match=r"<weights> block but no <initrwgt>"):
        _read(_file(tmp_path, head + event + TAIL))
    too_many = EVENT.replace("</rwgt>\n", "</rwgt>\n<weights> 1.0 2.0 3.0 </weights>\n")
    with pytest.raises(LHEFormatError, match=r"<weights> has 3 values but <initrwgt> declares only 2 ids"):
        _read(_file(tmp_path, HEAD + too_many + TAIL))


def test_weights_block_by_position_and_rwgt_wins(tmp_path: Path) -> None:
    event = EVENT.replace("</rwgt>\n", "</rwgt>\n<weights> 7.0 8.0 </weights>\n")
    (batch,) = list(read_events(_file(tmp_path, HEAD + event + TAIL)))
    assert batch.extra_weights["w1"].tolist() == [2.25]  # <rwgt> wins over <weights>
    assert batch.extra_weights["w2"].tolist() == [8.0]


def test_odd_but_valid_layouts_read(tmp_path: Path) -> None:
    """Fortran D exponents, comment lines between particles, blank lines: read like pylhe reads them."""
    odd = EVENT.replace("30.0 40.0", "3.0D+01 4.0d1").replace(" 1 1 1 2 501", "# a comment\n 1 1 1 2 501")
    (batch,) = list(read_events(_file(tmp_path, HEAD + odd + "\n" + EVENT + TAIL)))
    np.testing.assert_array_equal(batch.momenta[:, 2], [[50.0, 30.0, 40.0, 0.0]] * 2)


def test_errors_are_value_errors(tmp_path: Path) -> None:
    assert issubclass(LHEFormatError, EventFileError) and issubclass(EventFileError, ValueError)
    with pytest.raises(EventFileError, match="cannot open"):
        _read(tmp_path / "missing.lhe")
