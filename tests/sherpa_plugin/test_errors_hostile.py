"""Issue 19: fame used as a hostile or careless user would use it.

Every test writes only inside ``tmp_path``; inputs are generated here (built-in exact ME) or written inline.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from fame_surrogate.config import TrainConfig
from fame_surrogate.export import export_onnx
from fame_surrogate.me import ee_jets_pdg, generate_ee
from fame_surrogate.train import train_surrogate
from lhe_tools import EventBatch, write_dump
from lhe_tools.groups import reduce_channels
from sherpa_plugin.bundle import Bundle
from sherpa_plugin.bundle_manifest import BundleError, write_bundle
from sherpa_plugin.cli import main


@pytest.fixture(scope="module")
def data3() -> EventBatch:
    """e+e- -> d db g at 1000 GeV, y_cut 0.01, from the built-in exact ME."""
    return generate_ee(ee_jets_pdg(3), 3000, y_cut=0.01, sqrt_s=1000.0, seed=7)


@pytest.fixture(scope="module")
def bundle3(data3: EventBatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real (tiny, barely trained) bundle for e+e- -> d db g at 1000 GeV."""
    tmp = tmp_path_factory.mktemp("bundle3")
    config = TrainConfig(model="mlp", replicas=1, epochs=2, hidden=(8,), threads=1)
    res = train_surrogate(data3.take(slice(0, 600)), config)
    model = export_onnx(
        res.model, tmp / "m.onnx", {"process": data3.process, "sqrt_s": 1000.0, "cuts": {"y_cut": 0.01}}
    )
    (group,) = reduce_channels([(tuple(int(p) for p in data3.pdg), 2)])
    return write_bundle(tmp / "bundle", [(group, model, {})], snippet=False)


def _copy_bundle(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def _strict_json(text: str) -> dict[str, object]:
    """``text`` is exactly one JSON object without NaN/Infinity."""

    def refuse(name: str) -> object:
        raise AssertionError(f"non-standard JSON constant {name} on stdout")

    obj = json.loads(text, parse_constant=refuse)
    assert isinstance(obj, dict)
    return obj


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------------------------------- 1. data loss


def _users_folder(tmp_path: Path, name: str, text: str) -> Path:
    """``tmp_path/victim``: a folder of the user's, holding the file ``name`` with ``text``."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / name).write_text(text)
    return victim


def test_validate_out_refuses_a_users_folder(
    bundle3: Path, data3: EventBatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = _users_folder(tmp_path, "thesis.tex", "x")
    write_dump(victim / "data.npz", data3.take(slice(600, 3000)))
    code, _, err = _run(["validate", str(bundle3), str(victim / "data.npz"), "--out", str(victim)], capsys)
    assert code == 1
    assert "not empty" in err and "--force" in err
    assert (victim / "thesis.tex").read_text() == "x"
    assert sorted(p.name for p in victim.iterdir()) == ["data.npz", "thesis.tex"]
    # with --force the report is added and nothing of the user's is removed
    argv = ["validate", str(bundle3), str(victim / "data.npz"), "--out", str(victim), "--force"]
    code, _, err = _run(argv, capsys)
    assert code == 0, err
    assert (victim / "thesis.tex").read_text() == "x" and (victim / "data.npz").is_file()
    assert (victim / "index.html").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_validate_out_onto_the_bundle_keeps_the_bundle(
    bundle3: Path, data3: EventBatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    b = _copy_bundle(bundle3, tmp_path / "b")
    val = write_dump(tmp_path / "val.npz", data3.take(slice(600, 3000)))
    before = sorted(str(p.relative_to(b)) for p in b.rglob("*"))
    code, _, err = _run(["validate", str(b), str(val), "--out", str(b)], capsys)
    assert code == 1 and "not empty" in err
    assert sorted(str(p.relative_to(b)) for p in b.rglob("*")) == before
    Bundle.load(b)


def test_validate_out_dot_is_refused_up_front(
    bundle3: Path, data3: EventBatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    val = write_dump(work / "val.npz", data3.take(slice(600, 3000)))
    monkeypatch.chdir(work)
    code, _, err = _run(["validate", str(bundle3), str(val), "--out", "."], capsys)
    assert code == 1 and "not empty" in err
    assert sorted(p.name for p in work.iterdir()) == ["val.npz"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]  # no stray ..xxxx.tmp


def test_validate_rerun_replaces_only_its_own_report(
    bundle3: Path, data3: EventBatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    val = write_dump(tmp_path / "val.npz", data3.take(slice(600, 3000)))
    report = tmp_path / "report"
    argv = ["validate", str(bundle3), str(val), "--out", str(report), "--eps", "0.05"]
    assert _run(argv, capsys)[0] == 0
    (report / "notes.txt").write_text("mine")
    code, _, err = _run(argv, capsys)
    assert code == 0, err
    assert (report / "notes.txt").read_text() == "mine" and (report / "index.html").is_file()


def _raw_dump(path: Path, batch: EventBatch, **meta_changes: object) -> Path:
    """A fame dump written by hand (bypassing write_dump), with ``meta`` entries changed or replaced."""
    meta: object = {"format": "fame-dump/1", "process": batch.process, "n_in": 2, "sqrt_s": 1000.0}
    if "meta" in meta_changes:
        meta = meta_changes.pop("meta")
    else:
        assert isinstance(meta, dict)
        meta.update(meta_changes)
    arrays = {"momenta": batch.momenta, "pdg": batch.pdg.astype(np.int32), "meta": np.array(json.dumps(meta))}
    if batch.me2 is not None:
        arrays["me2"] = batch.me2
    with path.open("wb") as fh:
        np.savez(fh, **arrays)
    return path


def test_ingest_cannot_write_outside_out(
    data3: EventBatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inside = tmp_path / "a" / "b" / "c"
    inside.mkdir(parents=True)
    for evil in ("../../../escaped", str(tmp_path / "absolute")):
        src = _raw_dump(inside / "evil.npz", data3.take(slice(0, 10)), process=evil)
        code, _, err = _run(["ingest", str(src), "--out", str(inside / "out")], capsys)
        assert code == 1, err
        assert "evil.npz" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]
    assert not list(tmp_path.rglob("escaped*")) and not list(tmp_path.rglob("absolute*"))


def test_ingest_refuses_to_replace_an_existing_dump(
    data3: EventBatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_dump(tmp_path / "src.npz", data3.take(slice(0, 10)))
    out = tmp_path / "out"
    assert _run(["ingest", str(src), "--out", str(out)], capsys)[0] == 0
    target = out / f"{data3.process}.npz"
    target.write_bytes(b"precious")
    code, _, err = _run(["ingest", str(src), "--out", str(out)], capsys)
    assert code == 1 and "--force" in err and target.read_bytes() == b"precious"
    assert _run(["ingest", str(src), "--out", str(out), "--force"], capsys)[0] == 0
    assert target.read_bytes() != b"precious"


# ----------------------------------------------------------------------------------- 6. unchecked physics


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("nan", "not finite"),
        ("inf", "not finite"),
        ("negative_energy", "negative energy"),
        ("not_conserved", "not conserved"),
    ],
)
@pytest.mark.parametrize("command", ["ingest", "predict"])
def test_unphysical_momenta_are_refused_naming_file_and_event(
    data3: EventBatch, bundle3: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], change: str,
    expected: str, command: str,
) -> None:
    mom = data3.momenta[:20].copy()
    if change == "nan":
        mom[13, 3, 1] = np.nan
    elif change == "inf":
        mom[13, 2, 0] = np.inf
    elif change == "negative_energy":
        mom[13, 4] *= -1.0
    else:
        mom[13, 2, 1] += 5.0
    bad = EventBatch(momenta=mom, pdg=data3.pdg, weight=data3.weight[:20], process=data3.process, n_in=2,
                     me2=data3.me2[:20] if data3.me2 is not None else None)
    src = _raw_dump(tmp_path / "bad.npz", bad)
    argv = (["ingest", str(src), "--out", str(tmp_path / "out")] if command == "ingest"
            else ["predict", str(bundle3), str(src)])
    code, _, err = _run(argv, capsys)
    assert code == 1
    assert "bad.npz" in err and "event 13" in err and expected in err
    assert not (tmp_path / "out").exists()


def test_process_name_disagreeing_with_pdg_is_refused(
    data3: EventBatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _raw_dump(tmp_path / "liar.npz", data3.take(slice(0, 10)), process="2_3__e-__e+__G__u__ub")
    code, _, err = _run(["ingest", str(src), "--out", str(tmp_path / "out")], capsys)
    assert code == 1 and "liar.npz" in err and "2_3__e-__e+__G__u__ub" in err and "disagrees" in err


# ------------------------------------------------------------------------------------ 3. bundles confined


def _edit_manifest(bundle: Path, edit: object, *, reseal: bool = True) -> None:
    """Apply ``edit(manifest)`` and, with ``reseal``, recompute the integrity digest as documented (sha256 of
    the canonical JSON of every key but ``integrity``), so that only the edited content is under test."""
    import hashlib

    path = bundle / "manifest.json"
    manifest = json.loads(path.read_text())
    assert callable(edit)
    edit(manifest)
    if reseal:
        body = {k: v for k, v in manifest.items() if k != "integrity"}
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        manifest["integrity"] = {"sha256": hashlib.sha256(text.encode()).hexdigest()}
    path.write_text(json.dumps(manifest))


def test_bundle_model_path_outside_the_bundle_is_refused(bundle3: Path, tmp_path: Path) -> None:
    import hashlib

    outside = tmp_path / "secret.txt"
    outside.write_text("not yours")
    digest = hashlib.sha256(outside.read_bytes()).hexdigest()
    for path in (str(outside), "../secret.txt", "models/../../secret.txt"):
        b = _copy_bundle(bundle3, tmp_path / f"b{len(path)}")

        def edit(m: dict[str, object], path: str = path) -> None:
            (g,) = m["groups"]  # type: ignore[misc]
            g["model"], g["sha256"] = path, digest

        _edit_manifest(b, edit)
        with pytest.raises(BundleError, match="outside the bundle") as info:
            Bundle.load(b, verify=False)
        assert digest not in str(info.value)


@pytest.mark.parametrize(
    ("perm", "expected"),
    [
        ([0, 1, 2, 4, 3], "not onto the representative"),  # d and db swapped: silently wrong weights before
        ([1, 0, 2, 3, 4], "not onto the representative"),  # e- and e+ swapped
        ([0, 1, 2, 3, 3], "not a permutation"),  # duplicated
        ([0, 1, 2, 3, 9], "not a permutation"),  # out of range: IndexError traceback before
    ],
)
def test_bundle_bad_permutation_is_refused(
    bundle3: Path, data3: EventBatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], perm: list[int],
    expected: str,
) -> None:
    b = _copy_bundle(bundle3, tmp_path / "b")

    def edit(m: dict[str, object]) -> None:
        (g,) = m["groups"]  # type: ignore[misc]
        g["members"][0]["permutation"] = perm

    _edit_manifest(b, edit)
    with pytest.raises(BundleError, match=expected):
        Bundle.load(b)
    src = write_dump(tmp_path / "p.npz", data3.take(slice(0, 50)))
    code, out, err = _run(["predict", str(b), str(src), "--json"], capsys)
    assert code == 1 and expected in err and expected in _strict_json(out)["error"]
    assert "Traceback" not in err


def test_bundle_manifest_edit_is_detected(bundle3: Path, tmp_path: Path) -> None:
    b = _copy_bundle(bundle3, tmp_path / "b")

    def edit(m: dict[str, object]) -> None:
        (g,) = m["groups"]  # type: ignore[misc]
        g["members"][0]["permutation"] = [0, 1, 2, 4, 3]

    _edit_manifest(b, edit, reseal=False)
    with pytest.raises(BundleError, match="changed after the bundle was written"):
        Bundle.load(b, verify=False)


def test_bundle_groups_null_is_one_line_error(
    bundle3: Path, data3: EventBatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    b = _copy_bundle(bundle3, tmp_path / "b")
    _edit_manifest(b, lambda m: m.update(groups=None))
    src = write_dump(tmp_path / "p.npz", data3.take(slice(0, 50)))
    code, out, err = _run(["predict", str(b), str(src), "--json"], capsys)
    assert code == 1 and "'groups' must be a list" in err and "Traceback" not in err
    assert _strict_json(out)["exit_code"] == 1


# ------------------------------------------------------------------------------------------------ 7. a hang

def _fame(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    import sys

    cmd = [sys.executable, "-m", "sherpa_plugin.cli", *argv]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def test_generate_infeasible_ycut_fails_at_once(tmp_path: Path) -> None:
    proc = _fame("generate", "ee", "--jets", "3", "--points", "10", "--ycut", "0.34",
                 "--out", str(tmp_path / "x.npz"), timeout=60)  # the old code never returned
    assert proc.returncode == 1
    assert "1/3" in proc.stderr and "y_cut" in proc.stderr and "Traceback" not in proc.stderr
    assert not list(tmp_path.iterdir())


def test_generate_gives_up_after_max_draws() -> None:
    from fame_surrogate.phasespace import EEPhaseSpace

    space = EEPhaseSpace(3, y_cut=0.3333)  # feasible, but hardly ever passed
    with pytest.raises(ValueError, match="RAMBO draws"):
        space.generate(10, np.random.default_rng(0), max_draws=50_000)
    assert EEPhaseSpace(5).max_y_cut == pytest.approx(0.1)


# ------------------------------------------------------------------------------------------ 8. CLI contract


def test_json_on_failure_is_one_error_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["me", str(tmp_path / "missing.npz"), "--json"], capsys)
    assert code == 1 and "missing.npz" in err
    obj = _strict_json(out)
    assert obj["exit_code"] == 1 and "missing.npz" in str(obj["error"])


def test_usage_error_is_exit_2_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["generate", "ee", "--json"], capsys)  # --points and --out missing
    assert code == 2
    assert "usage:" in err and "--points" in err
    obj = _strict_json(out)
    assert obj["exit_code"] == 2 and "--points" in str(obj["error"])


def test_json_never_prints_infinity(
    data3: EventBatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    me2 = np.array(data3.me2[:20], copy=True)
    me2[3] = 0.0  # a stored |M|^2 of zero: the relative deviation is infinite
    b = EventBatch(momenta=data3.momenta[:20], pdg=data3.pdg, weight=data3.weight[:20], process=data3.process,
                   n_in=2, me2=me2)
    src = _raw_dump(tmp_path / "zero.npz", b)
    code, out, err = _run(["me", str(src), "--json"], capsys)
    assert code == 0, err
    obj = _strict_json(out)
    assert obj["max_rel_dev"] is None and obj["null_reasons"] == {"max_rel_dev": "inf"}  # type: ignore[comparison-overlap]


def test_me_on_an_lhe_file_says_it_needs_a_dump(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lhe = tmp_path / "events.lhe"
    lhe.write_text('<LesHouchesEvents version="3.0">\n<init>\n</init>\n</LesHouchesEvents>\n')
    code, _, err = _run(["me", str(lhe)], capsys)
    assert code == 1
    assert "not a readable fame dump" in err and "fame ingest" in err and "pickled" not in err


def test_train_meta_that_is_a_list_is_one_line(
    data3: EventBatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _raw_dump(tmp_path / "list.npz", data3.take(slice(0, 10)), meta=["not", "an", "object"])
    argv = ["train", str(src), "--out", str(tmp_path / "b"), "--json", "--no-progress"]
    code, out, err = _run(argv, capsys)
    assert code == 1 and "list.npz" in err and "JSON object" in err and "Traceback" not in err
    assert _strict_json(out)["exit_code"] == 1


def test_corrupt_model_keeps_stdout_clean(bundle3: Path, data3: EventBatch, tmp_path: Path) -> None:
    import hashlib

    b = _copy_bundle(bundle3, tmp_path / "b")
    model = next((b / "models").glob("*.onnx"))
    model.write_bytes(b"\x08\x07garbage" * 50)
    digest = hashlib.sha256(model.read_bytes()).hexdigest()

    def edit(m: dict[str, object]) -> None:
        (g,) = m["groups"]  # type: ignore[misc]
        g["sha256"] = digest

    _edit_manifest(b, edit)
    src = write_dump(tmp_path / "p.npz", data3.take(slice(0, 50)))
    proc = _fame("predict", str(b), str(src), "--json")
    assert proc.returncode == 1
    obj = _strict_json(proc.stdout)  # nothing but the one JSON object (no "*** EP Error ***")
    assert model.name in str(obj["error"])
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("json_flag", [["--json"], []])
def test_closed_stdout_is_not_a_traceback(json_flag: list[str]) -> None:
    import sys

    cmd = [sys.executable, "-m", "sherpa_plugin.cli", "groups", "--process", "93 93 -> 11 -11 93 93",
           *json_flag]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader (head) went away before fame wrote
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err


# ---------------------------------------------------------------------------- 9. leftovers and permissions


def test_a_killed_writer_leaves_nothing_after_the_next_run(data3: EventBatch, tmp_path: Path) -> None:
    import sys

    target = tmp_path / "out.npz"
    script = (
        "import os, signal, sys\n"
        "from lhe_tools import atomic_path\n"
        "with atomic_path(sys.argv[1], suffix='.npz') as tmp:\n"
        "    tmp.write_bytes(b'x' * 100000)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(target)], check=False, timeout=120)
    assert proc.returncode != 0
    assert len(list(tmp_path.glob(".out.npz.*.tmp"))) == 1  # what the killed writer left
    write_dump(target, data3.take(slice(0, 10)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.npz"]


def test_outputs_get_the_umask_permissions(
    bundle3: Path, data3: EventBatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        dump = write_dump(tmp_path / "d.npz", data3.take(slice(600, 3000)))
        report = tmp_path / "report"
        argv = ["validate", str(bundle3), str(dump), "--out", str(report), "--eps", "0.05"]
        code, _, err = _run(argv, capsys)
        assert code == 0, err
        group = Bundle.load(bundle3).groups[0]
        model = next((bundle3 / "models").glob("*.onnx"))
        shared = write_bundle(tmp_path / "shared", [(group, model, {})], snippet=False)
    finally:
        os.umask(old)
    assert stat.S_IMODE(dump.stat().st_mode) == 0o644
    assert stat.S_IMODE(report.stat().st_mode) == 0o755
    assert stat.S_IMODE((report / "index.html").stat().st_mode) == 0o644
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755
    assert stat.S_IMODE((shared / "manifest.json").stat().st_mode) == 0o644
    assert stat.S_IMODE(next((shared / "models").glob("*.onnx")).stat().st_mode) == 0o644


# ------------------------------------------------------------------------------------------ 10. Dask trust


def test_scheduler_from_the_environment_is_announced(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from sherpa_plugin.train_dask import scheduler_address

    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://192.0.2.1:8786")
    with caplog.at_level("INFO"):
        assert scheduler_address(None) == "tcp://192.0.2.1:8786"
    assert "DASK_SCHEDULER_ADDRESS" in caplog.text and "trusted" in caplog.text
    assert any(r.levelname == "WARNING" for r in caplog.records)
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS")
    assert scheduler_address(None) is None


def test_tls_settings_reach_dask(tmp_path: Path) -> None:
    from sherpa_plugin.train_dask import dask_security

    assert dask_security() is None
    ca, cert, key = (tmp_path / n for n in ("ca.pem", "cert.pem", "key.pem"))
    for f in (ca, cert, key):
        f.write_text("-----BEGIN CERTIFICATE-----\n")
    sec = dask_security(str(ca), str(cert), str(key))
    assert sec.require_encryption and sec.tls_ca_file == str(ca)
    assert sec.tls_client_cert == str(cert) and sec.tls_client_key == str(key)
    with pytest.raises(ValueError, match="no such file"):
        dask_security(str(tmp_path / "nope.pem"), str(cert))
    with pytest.raises(ValueError, match="both a CA file"):
        dask_security(None, str(cert))


# ------------------------------------------------------------------- 4. surrogates outside their domain


def test_predict_refuses_another_sqrt_s(
    bundle3: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    z_pole = write_dump(tmp_path / "z.npz", generate_ee(ee_jets_pdg(3), 200, sqrt_s=91.2, seed=3))
    code, out, err = _run(["predict", str(bundle3), str(z_pole), "--json"], capsys)
    assert code == 1
    assert "z.npz" in err and "200 of 200" in err and "outside the domain" in err and "sqrt_s = 1000" in err
    code, out, err = _run(["predict", str(bundle3), str(z_pole), "--json", "--allow-out-of-domain"], capsys)
    assert code == 0, err
    assert _strict_json(out)["out_of_domain"] == 200
    assert "outside the domain" in caplog.text and "--allow-out-of-domain" in caplog.text


def test_predict_refuses_a_looser_cut(
    bundle3: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loose = generate_ee(ee_jets_pdg(3), 400, y_cut=0.001, sqrt_s=1000.0, seed=4)
    src = write_dump(tmp_path / "loose.npz", loose)
    code, _, err = _run(["predict", str(bundle3), str(src)], capsys)
    assert code == 1 and "y_cut" in err and "outside the domain" in err


def test_validate_refuses_another_sqrt_s(
    bundle3: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    z_pole = write_dump(tmp_path / "z.npz", generate_ee(ee_jets_pdg(3), 500, sqrt_s=91.2, seed=5))
    code, _, err = _run(["validate", str(bundle3), str(z_pole), "--out", str(tmp_path / "r")], capsys)
    assert code == 1 and "outside the domain" in err
    assert not (tmp_path / "r").exists()


def _lhe(batch: EventBatch, weights: bool = True) -> str:
    """A valid LHEF 3 file of ``batch`` (e+e- -> partons), XWGTUP = 1, one declared weight ``w1``."""
    e = float(batch.momenta[0, 0, 0])
    head = (
        '<LesHouchesEvents version="3.0">\n<header>\n'
        + ('<initrwgt>\n<weightgroup name="g">\n<weight id="w1">x2</weight>\n</weightgroup>\n</initrwgt>\n'
           if weights else "")
        + f"</header>\n<init>\n11 -11 {e:.10e} {e:.10e} 0 0 -1 -1 3 1\n1.0 0.1 1.0 1\n</init>\n"
    )
    colour = {21: (501, 502), 1: (502, 0), -1: (0, 501)}
    events = []
    for mom in batch.momenta:
        lines = [f" {len(batch.pdg)} 1 +1.0000000000e+00 {2 * e:.10e} -1 0.118"]
        for i, (pid, p) in enumerate(zip(batch.pdg.tolist(), mom, strict=True)):
            status, moth = (-1, (0, 0)) if i < 2 else (1, (1, 2))
            c1, c2 = colour.get(pid, (0, 0))
            lines.append(f" {pid} {status} {moth[0]} {moth[1]} {c1} {c2} {p[1]:.16e} {p[2]:.16e} {p[3]:.16e} "
                         f"{p[0]:.16e} 0.0 0 9")
        rw = '<rwgt>\n<wgt id="w1"> 2.0 </wgt>\n</rwgt>\n' if weights else ""
        events.append("<event>\n" + "\n".join(lines) + "\n" + rw + "</event>\n")
    return head + "".join(events) + "</LesHouchesEvents>\n"


def test_reweight_refuses_another_sqrt_s(
    bundle3: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "low.lhe"
    src.write_text(_lhe(generate_ee(ee_jets_pdg(3), 30, sqrt_s=44.0, seed=6)))
    out = tmp_path / "out.lhe"
    argv = ["reweight", str(src), "--bundle", str(bundle3), "--out", str(out), "--no-progress"]
    code, _, err = _run(argv, capsys)
    assert code == 1 and "outside the domain" in err and "low.lhe" in err
    assert not out.exists()
    argv = ["reweight", str(src), "--bundle", str(bundle3), "--out", str(out), "--no-progress", "--json",
            "--allow-out-of-domain"]
    code, stdout, err = _run(argv, capsys)
    assert code == 0, err
    assert _strict_json(stdout)["out_of_domain"] == {"2_3__e-__e+__G__d__db": 30}


def test_pp_domain_by_cuts_and_shat_range() -> None:
    from fame_surrogate.phasespace import rambo
    from sherpa_plugin.domain import Domain

    rng = np.random.default_rng(8)
    n, e = 400, 150.0
    final = rambo(3, 2 * e, n, rng)  # u ub -> e- e+ g in the partonic frame
    beams = np.broadcast_to(np.array([[e, 0, 0, e], [e, 0, 0, -e]]), (n, 2, 4))
    batch = EventBatch(momenta=np.concatenate([beams, final], axis=1), pdg=[2, -2, 11, -11, 21],
                       weight=np.ones(n), process="2_3__u__ub__e-__e+__G", n_in=2)
    pt = np.hypot(final[:, 2, 1], final[:, 2, 2])
    q = final[:, 0] + final[:, 1]
    mll = np.sqrt(q[:, 0] ** 2 - np.sum(q[:, 1:] ** 2, axis=1))
    dom = Domain.from_metadata("2_3__u__ub__e-__e+__G", 13000.0, {"mll": [66.0, 13000.0], "jet_pt": 20.0},
                               {"sqrt_shat_range": [100.0, 250.0]})
    found = dom.outside(batch)
    np.testing.assert_array_equal(found["jet_pt"], pt < 20.0)
    np.testing.assert_array_equal(found["mll"], mll < 66.0)
    assert found["sqrt_shat"].all()  # 300 GeV, above the training's 250
    inside = Domain.from_metadata("x", 13000.0, {}, {"sqrt_shat_range": [100.0, 400.0]})
    assert inside.outside(batch) == {}


# --------------------------------------------------------------- 5. reweight parses as the reader does


def _reweight(src: Path, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
              *extra: str) -> tuple[int, str, str]:
    argv = ["reweight", str(src), "--bundle", str(bundle), "--out", str(tmp_path / "rw.lhe"), "--no-progress",
            "--json", *extra]
    return _run(argv, capsys)


def test_reweight_broken_end_tag_is_the_readers_error(
    bundle3: Path, data3: EventBatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _lhe(data3.take(slice(0, 5)))
    parts = text.split("</event>")
    broken = "</event>".join(parts[:2]) + "</evnt" + "</event>".join(parts[2:])  # event 1 not closed
    src = tmp_path / "broken.lhe"
    src.write_text(broken)
    code, out, err = _reweight(src, bundle3, tmp_path, capsys)
    assert code == 1 and "unterminated <event>" in err and "event 1" in err and "line" in err
    assert _strict_json(out)["exit_code"] == 1
    assert not (tmp_path / "rw.lhe").exists()


def test_reweight_missing_end_of_file_is_refused(
    bundle3: Path, data3: EventBatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "cut.lhe"
    src.write_text(_lhe(data3.take(slice(0, 5))).replace("</LesHouchesEvents>\n", ""))
    code, _, err = _reweight(src, bundle3, tmp_path, capsys)
    assert code == 1 and "without </LesHouchesEvents>" in err


def test_reweight_truncated_gzip_is_one_line(
    bundle3: Path, data3: EventBatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import gzip

    blob = gzip.compress(_lhe(data3.take(slice(0, 200))).encode())
    src = tmp_path / "trunc.lhe.gz"
    src.write_bytes(blob[: len(blob) // 2])
    code, out, err = _reweight(src, bundle3, tmp_path, capsys)
    assert code == 1 and "truncated" in err and "Traceback" not in err and "EOFError" not in err
    assert _strict_json(out)["exit_code"] == 1


def test_reweight_unknown_weight_id_is_refused(
    bundle3: Path, data3: EventBatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "ok.lhe"
    src.write_text(_lhe(data3.take(slice(0, 5))))
    code, _, err = _reweight(src, bundle3, tmp_path, capsys, "--ratio-to", "weight:nope")
    assert code == 1 and "nope" in err and "w1" in err
    assert not (tmp_path / "rw.lhe").exists()
    code, out, err = _reweight(src, bundle3, tmp_path, capsys, "--ratio-to", "weight:w1")
    assert code == 0, err
    assert _strict_json(out)["reweighted"] == 5


def test_reweight_with_an_empty_bundle_is_refused(
    bundle3: Path, data3: EventBatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    b = _copy_bundle(bundle3, tmp_path / "b")

    def edit(m: dict[str, object]) -> None:
        m["failed"] = [{"name": m["groups"][0]["name"], "error": "boom"}]  # type: ignore[index]
        m["groups"] = []

    _edit_manifest(b, edit)
    src = tmp_path / "ok.lhe"
    src.write_text(_lhe(data3.take(slice(0, 5))))
    code, _, err = _reweight(src, b, tmp_path, capsys)
    assert code == 1 and "no surrogate" in err and "boom" not in err
    assert not (tmp_path / "rw.lhe").exists()


# ------------------------------------------------------------------------ 1. (audit) train and demo --out


def test_train_out_refuses_a_users_folder(
    data3: EventBatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = tmp_path / "thesis"
    victim.mkdir()
    (victim / "manifest.json").write_text('{"my": "notes"}')
    src = write_dump(tmp_path / "d.npz", data3.take(slice(0, 100)))
    code, out, err = _run(["train", str(src), "--out", str(victim), "--json", "--no-progress"], capsys)
    assert code == 1 and "not a fame bundle" in err and "--force" in err
    assert _strict_json(out)["exit_code"] == 1
    assert sorted(p.name for p in victim.iterdir()) == ["manifest.json"]
    assert (victim / "manifest.json").read_text() == '{"my": "notes"}'


def test_demo_out_refuses_a_users_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    victim = tmp_path / "thesis"
    (victim / "data" / "train").mkdir(parents=True)
    (victim / "data" / "train" / "ee_3j.npz").write_bytes(b"my own data")
    code, _, err = _run(["demo", "--out", str(victim), "--quick", "--jets", "3"], capsys)
    assert code == 1 and "not empty" in err
    assert (victim / "data" / "train" / "ee_3j.npz").read_bytes() == b"my own data"


def test_train_where_every_group_failed_is_an_error_not_partial(
    data3: EventBatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    no_me2 = EventBatch(momenta=data3.momenta[:50], pdg=data3.pdg, weight=data3.weight[:50],
                        process=data3.process, n_in=2)
    src = _raw_dump(tmp_path / "nome2.npz", no_me2)
    argv = ["train", str(src), "--out", str(tmp_path / "b"), "--json", "--no-progress"]
    code, out, err = _run(argv, capsys)
    assert code == 1 and "every group failed" in err and "no me2" in err
    assert _strict_json(out)["exit_code"] == 1


def test_train_on_nan_momenta_names_the_file_and_event(
    data3: EventBatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mom = data3.momenta[:200].copy()
    mom[57, 2, 3] = np.nan
    bad = EventBatch(momenta=mom, pdg=data3.pdg, weight=data3.weight[:200], process=data3.process, n_in=2,
                     me2=data3.me2[:200] if data3.me2 is not None else None)
    src = _raw_dump(tmp_path / "nan.npz", bad)
    argv = ["train", str(src), "--out", str(tmp_path / "b"), "--json", "--no-progress", "--workers", "1",
            "--model", "mlp", "--epochs", "1", "--hidden", "4"]
    code, out, err = _run(argv, capsys)
    assert code == 1, err
    message = str(_strict_json(out)["error"])
    assert "nan.npz" in message and "event 57" in message and "not finite" in message


def test_unexpected_exception_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import sherpa_plugin.commands.me as me_command

    def broken(args: object) -> dict[str, object]:
        raise TypeError("'NoneType' object is not iterable")  # what a malformed input used to surface as

    monkeypatch.setattr(me_command, "run", broken)
    code, out, err = _run(["me", str(tmp_path / "x.npz"), "--json"], capsys)
    assert code == 1 and "Traceback" not in err and err.count("\n") == 1
    assert "TypeError" in err and "-v" in err
    assert _strict_json(out)["error_type"] == "TypeError"


def test_force_never_overwrites_a_users_file(
    bundle3: Path, data3: EventBatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = _users_folder(tmp_path, "index.html", "my web page")
    val = write_dump(tmp_path / "val.npz", data3.take(slice(600, 3000)))
    code, _, err = _run(["validate", str(bundle3), str(val), "--out", str(victim), "--force"], capsys)
    assert code == 1 and "index.html" in err and "nothing was written" in err
    assert sorted(p.name for p in victim.iterdir()) == ["index.html"]
    assert (victim / "index.html").read_text() == "my web page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["val.npz", "victim"]
