"""Dask training of a bundle (issue 10): a real LocalCluster with 2 workers, failures, resume, a separate
``dask scheduler`` + ``dask worker``, and the ``fame train`` command."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from fame_surrogate.config import TrainConfig
from fame_surrogate.models import Ensemble
from fame_surrogate.train import train_surrogate
from lhe_tools import read_dump, write_dump
from sherpa_plugin.bundle import Bundle
from sherpa_plugin.bundle_manifest import MANIFEST, sha256_file
from sherpa_plugin.cli import main
from sherpa_plugin.orchestrate import train_bundle
from sherpa_plugin.train_result import TrainBundleResult

D3 = "2_3__e-__e+__G__d__db"
S3 = "2_3__e-__e+__G__s__sb"
DDDD = "2_4__e-__e+__d__d__db__db"
DDUU = "2_4__e-__e+__d__u__db__ub"
# ≈ 1.5 s per group; 100 epochs of 5 steps: Muon, the default optimiser, needs a few hundred steps to catch up
# with AdamW (README, "Muon for lepton beams too")
CONFIG = TrainConfig(model="mlp", replicas=1, epochs=100, hidden=(8,), batch_size=128)
N = 300


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """One LocalCluster with 2 single-threaded worker processes, shared by the tests of this module."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
    ) as c:
        yield c.scheduler_address


@pytest.fixture(scope="module")
def data(sherpa_ee: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Dumps of 3 reduced groups: d db g (+ its s sb g member), d d db db, and d u db ub with 0 events."""
    folder = tmp_path_factory.mktemp("data")
    d3 = read_dump(sherpa_ee / "ee_3j_ycut0.01.npz").take(slice(0, N))
    write_dump(folder / "d3.npz", d3)
    # s sb g has the same |M|^2 as d db g (massless, same couplings): real data for the second member
    s3 = read_dump(sherpa_ee / "ee_3j_ycut0.01.npz").take(slice(N, 2 * N))
    write_dump(folder / "s3.npz", s3.with_columns(pdg=np.array([11, -11, 21, 3, -3]), process=S3))
    write_dump(folder / "dddd.npz", read_dump(sherpa_ee / "ee_4q_dddd_ycut0.01.npz").take(slice(0, N)))
    write_dump(folder / "dduu.npz", read_dump(sherpa_ee / "ee_4q_dduu_ycut0.01.npz").take(slice(0, 0)))
    return folder


@pytest.fixture(scope="module")
def first_run(
    cluster: str, data: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, TrainBundleResult]:
    out = tmp_path_factory.mktemp("run") / "bundle"
    return out, train_bundle([data], out, CONFIG, scheduler=cluster, progress=False)


def test_groups_trained_and_failure_reported(
    first_run: tuple[Path, TrainBundleResult], data: Path, sherpa_ee: Path
) -> None:
    out, res = first_run
    status = {g.name: g.status for g in res.groups}
    assert status == {D3: "trained", DDDD: "trained", DDUU: "failed"}
    assert (res.trained, res.skipped, res.failed, res.workers) == (2, 0, 1, 2)
    failed = next(g for g in res.groups if g.status == "failed")
    assert failed.error is not None and failed.traceback is not None
    assert "0 events" in failed.error and "Traceback" in failed.traceback
    assert "train_group_task" in failed.traceback
    assert failed.to_json() == {"name": DDUU, "members": list(failed.members), "status": "failed",
                                "val_frac_within_1pct": None, "seconds": None, "error": failed.error,
                                "traceback": failed.traceback}
    assert {k: res.to_json()[k] for k in ("trained", "skipped", "failed")} == {"trained": 2, "skipped": 0,
                                                                               "failed": 1}
    manifest = json.loads((out / MANIFEST).read_text())
    assert [g["name"] for g in manifest["groups"]] == [D3, DDDD]
    assert manifest["failed"][0]["name"] == DDUU
    assert manifest["events"] == {D3: 2 * N, DDDD: N, DDUU: 0}
    for g in manifest["groups"]:
        assert 0.0 <= g["train"]["val_frac_within_1pct"] <= 1.0
        assert g["train"]["n_train"] + g["train"]["n_val"] == (2 * N if g["name"] == D3 else N)
    # the run-card snippet maps every member process to its group's model
    snippet = yaml.safe_load((out / "sherpa-snippet.yaml").read_text())
    text = json.dumps(snippet)
    for g in manifest["groups"]:
        for m in g["members"]:
            assert m["process"] in text
        assert g["model"] in text
    assert DDUU not in text
    # and carries the settings of the training data's run card (the Sherpa reference dumps fix them)
    card = yaml.safe_load(json.loads(str(np.load(sherpa_ee / "ee_3j_ycut0.01.npz")["meta"]))["run_card"])
    assert snippet["COLOR_SCHEME"] == card["COLOR_SCHEME"] == 1
    assert snippet["SCALES"] == card["SCALES"] and snippet["ALPHAS(MZ)"] == card["ALPHAS(MZ)"]
    # the bundle serves both members of the 3-jet group and the 4-quark group with sensible |M|^2
    bundle = Bundle.load(out)
    truth = read_dump(sherpa_ee / "ee_3j_ycut0.01.npz").take(slice(2 * N, 2 * N + 200))
    me2, std = bundle.predict(truth)
    assert truth.me2 is not None and np.all(std == 0.0)
    ratio = me2 / truth.me2
    assert np.all(np.isfinite(ratio))
    # trained, not just scaled: far closer to Sherpa's |M|^2 than the best constant (the training median,
    # median |Δ| ≈ 0.84 on these points; 100 epochs of this small MLP reach ≈ 0.09)
    const = np.median(read_dump(data / "d3.npz").me2) / truth.me2
    assert np.median(np.abs(ratio - 1)) < 0.5 * np.median(np.abs(const - 1))
    s3 = truth.with_columns(pdg=np.array([11, -11, 21, 3, -3]), process=S3)
    np.testing.assert_array_equal(bundle.predict(s3)[0], me2)


def test_rerun_skips_finished_groups_and_resumes(
    first_run: tuple[Path, TrainBundleResult], cluster: str, data: Path, sherpa_ee: Path, tmp_path: Path
) -> None:
    out, _ = first_run
    models = {p.name: (p.stat().st_mtime_ns, sha256_file(p)) for p in (out / "models").glob("*.onnx")}
    res = train_bundle([data], out, CONFIG, scheduler=cluster, progress=False)
    assert (res.trained, res.skipped, res.failed) == (0, 2, 1)
    assert {p.name: (p.stat().st_mtime_ns, sha256_file(p)) for p in (out / "models").glob("*.onnx")} == models
    # fix the failed group's data: only it is trained now
    fixed = tmp_path / "data"
    fixed.mkdir()
    for f in data.glob("*.npz"):
        (fixed / f.name).write_bytes(f.read_bytes())
    write_dump(fixed / "dduu.npz", read_dump(sherpa_ee / "ee_4q_dduu_ycut0.01.npz").take(slice(0, N)))
    res = train_bundle([fixed], out, CONFIG, scheduler=cluster, progress=False)
    assert (res.trained, res.skipped, res.failed) == (1, 2, 0)
    assert [g.name for g in res.groups if g.status == "trained"] == [DDUU]
    assert sorted(g.name for g in Bundle.load(out).groups) == [D3, DDDD, DDUU]
    # a model changed behind the bundle's back is detected by its sha256 and retrained
    model = out / f"models/{D3}.onnx"
    model.write_bytes(model.read_bytes() + b"\0")
    res = train_bundle([fixed], out, CONFIG, scheduler=cluster, progress=False)
    assert [g.name for g in res.groups if g.status == "trained"] == [D3]
    Bundle.load(out)


def test_replicas_are_separate_tasks_merged_into_one_ensemble(
    first_run: tuple[Path, TrainBundleResult], cluster: str, data: Path
) -> None:
    out, _ = first_run
    src = out.parent / "d3-replicas"
    src.mkdir(exist_ok=True)
    (src / "d3.npz").write_bytes((data / "d3.npz").read_bytes())
    config = dataclasses.replace(CONFIG, replicas=2, seed=7)
    res = train_bundle([src], out.parent / "rep-bundle", config, scheduler=cluster, progress=False)
    assert (res.trained, res.failed) == (1, 0)
    bundle = Bundle.load(out.parent / "rep-bundle")
    sess, _ = bundle.surrogate_for(D3)
    assert sess.metadata.replicas == 2
    train = bundle.entries[0].train
    assert train["replica_tasks"] == 2 and train["n_train"] + train["n_val"] == N
    # e+e- points: the merged entry records what the replicas resolved (TrainConfig.resolved)
    assert (train["objective"], train["loss"], train["importance_fraction"]) == ("pointwise", "mse", None)
    assert train["penalty_j"] == 1e-3
    # the reported accuracy is the ensemble's on the held-out split (seeded by config.seed), recomputed here
    batch = read_dump(src / "d3.npz")
    held_out = np.sort(np.random.default_rng(7).permutation(N)[: round(0.1 * N)])
    me2, std = bundle.predict(batch.take(held_out))
    assert batch.me2 is not None and np.all(std > 0)
    frac = float(np.mean(np.abs(me2 / batch.me2[held_out] - 1.0) < 0.01))
    assert train["val_frac_within_1pct"] == pytest.approx(frac, abs=1.0 / len(held_out))
    # each replica trained on all the other 90% (not on 90% of them again): replicas trained here on exactly
    # that split, with the tasks' seeds, predict what the bundle predicts
    assert train["n_train"] == N - len(held_out)
    local = [
        train_surrogate(batch, dataclasses.replace(config, replicas=1, seed=7 + r), val_index=held_out)
        for r in range(2)
    ]
    for res in local:
        assert res.metrics.n_train == N - len(held_out)
        np.testing.assert_array_equal(res.val_index, held_out)
    with torch.no_grad():
        mean = Ensemble([res.model.members[0] for res in local])(torch.from_numpy(batch.momenta[held_out]))[0]
    np.testing.assert_allclose(me2, mean.numpy(), rtol=1e-6)


def test_fame_train_command_json(
    first_run: tuple[Path, TrainBundleResult], cluster: str, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, _ = first_run
    d3_only = out.parent / "d3only"
    d3_only.mkdir(exist_ok=True)
    (d3_only / "d3.npz").write_bytes((data / "d3.npz").read_bytes())
    code = main(["train", str(d3_only), "--out", str(out.parent / "cli-bundle"), "--model", "mlp",
                 "--epochs", "2", "--loss", "gain", "--hidden", "8", "--net-dtype", "float32",
                 "--batch-size", "128", "--lr", "0.002", "--gain-lr", "3e-4", "--decay-fraction", "0.4",
                 "--gain-mse-weight", "20", "--clock", "cpu", "--ema-decay", "0.99",
                 "--weight-decay", "0.02", "--optimizer", "adamw",
                 "--symmetry", "canonical", "--scheduler", cluster, "--no-progress", "--json"])
    assert code == 0
    res = json.loads(capsys.readouterr().out)
    manifest = json.loads((out.parent / "cli-bundle" / MANIFEST).read_text())
    # the options reach the training configuration (and a float32 network exports and loads)
    keys = (
        "loss", "hidden", "net_dtype", "batch_size", "lr", "gain_lr", "decay_fraction", "clock", "ema_decay",
        "symmetry", "gain_mse_weight", "weight_decay", "optimizer",
    )
    assert {k: manifest["config"][k] for k in keys} == {
        "loss": "gain", "hidden": [8], "net_dtype": "float32", "batch_size": 128, "lr": 0.002,
        "gain_lr": 3e-4, "decay_fraction": 0.4, "clock": "cpu", "ema_decay": 0.99, "symmetry": "canonical",
        "gain_mse_weight": 20.0, "weight_decay": 0.02, "optimizer": "adamw"}
    assert set(res) >= {"groups", "seconds"}
    (g,) = res["groups"]
    assert g["name"] == D3 and g["status"] == "trained"
    assert 0.0 <= g["val_frac_within_1pct"] <= 1.0
    # a failing group gives exit status 3 (2 is argparse's usage error), after writing the others' bundle
    code = main(["train", str(data), "--out", str(out.parent / "cli-bundle2"), "--model", "mlp",
                 "--epochs", "2", "--scheduler", cluster, "--no-progress", "--json"])
    assert code == 3
    res = json.loads(capsys.readouterr().out)
    assert res["failed"] == 1 and res["exit_code"] == 3 and "1 group(s) failed" in res["error"]
    assert len(Bundle.load(out.parent / "cli-bundle2").groups) == 2


def test_separate_scheduler_and_worker_processes(data: Path, tmp_path: Path) -> None:
    dask = Path(sys.executable).parent / "dask"
    if not dask.exists():
        pytest.skip(f"{dask} not found")
    sched_file = tmp_path / "scheduler.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen(
        [str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0", "--dashboard-address", "127.0.0.1:0",
         "--scheduler-file", str(sched_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(subprocess.Popen(
            [str(dask), "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
             "--host", "127.0.0.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))
        src = tmp_path / "in"
        src.mkdir()
        (src / "dddd.npz").write_bytes((data / "dddd.npz").read_bytes())
        res = train_bundle([src], tmp_path / "bundle", CONFIG, scheduler=address, progress=False)
        assert (res.trained, res.failed, res.workers) == (1, 0, 1)
        side = json.loads((tmp_path / f"bundle/models/{DDDD}.json").read_text())
        assert side["worker"].startswith("tcp://127.0.0.1:")
        assert Bundle.load(tmp_path / "bundle").groups[0].name == DDDD
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def test_events_without_me2_fail_without_a_cluster(testdata: Path, tmp_path: Path) -> None:
    # an LHE file has no |M|^2: every group is reported failed up front, no Dask cluster is started
    src = testdata / "pylhe-testfile-sherpa-3.0.1-eejjj.lhe"
    res = train_bundle([src], tmp_path / "b", CONFIG, progress=False)
    assert res.trained == 0 and res.workers == 0 and res.failed == len(res.groups) > 0
    assert all(g.error is not None and "no me2" in g.error for g in res.groups)
    assert json.loads((tmp_path / "b" / MANIFEST).read_text())["groups"] == []


def test_local_cluster_has_a_worker_per_replica(data: Path, tmp_path: Path) -> None:
    from sherpa_plugin.train_tasks import usable_cores

    src = tmp_path / "d3"
    src.mkdir()
    (src / "d3.npz").write_bytes((data / "d3.npz").read_bytes())
    res = train_bundle([src], tmp_path / "bundle", dataclasses.replace(CONFIG, replicas=2), progress=False)
    # one group, two replica tasks: the LocalCluster is sized by tasks, not by groups
    assert res.trained == 1 and res.workers == min(usable_cores(), 2)
