"""Run mode ``events`` (hadron or any beams): Sherpa's own weighted event generation, chunk by chunk.

Each event's full weight, x1, x2, scales and trials, with |M|^2 by ``MEProcess`` at every event or (with
``me_check_every`` N > 1, or colour sampling) Sherpa's event ``MEWeight`` checked / timed at every N-th
event; the phase-space time per event is the generation time minus the ME time (see the module
:mod:`.dumper` for the modes).
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np

from .job import DumperResult
from .session import DumperError, Progress, RunContext, base_meta, ms_stats, summary_from_file
from .store import atomic_write_text


def _signal_particles(blob: Any) -> tuple[list[int], np.ndarray, list[int], np.ndarray]:
    def grab(parts: list[Any]) -> tuple[list[int], np.ndarray]:
        ids, moms = [], []
        for p in parts:
            fl = p.Flav()
            kf = int(fl.Kfcode())
            ids.append(-kf if fl.IsAnti() else kf)
            m = p.Momentum()
            moms.append((m[0], m[1], m[2], m[3]))
        return ids, np.array(moms, dtype=np.float64)

    pin, min_ = grab([blob.InPart(i) for i in range(blob.NInP())])
    pout, mout = grab([blob.OutPart(i) for i in range(blob.NOutP())])
    return pin, min_, pout, mout


def _order(pdg: list[int], n_in: int, ids_in: list[int], ids_out: list[int]) -> list[int]:
    """Indices into ins+outs putting the event's particles in the channel's (Sherpa's) order."""
    pools = [list(range(len(ids_in))), [len(ids_in) + j for j in range(len(ids_out))]]
    ids = ids_in + ids_out
    order = []
    for slot, want in enumerate(pdg):
        pool = pools[0 if slot < n_in else 1]
        idx = next(i for i in pool if ids[i] == want)
        pool.remove(idx)
        order.append(idx)
    return order


def run_events(ctx: RunContext) -> DumperResult:
    """Mode ``events``: Sherpa's weighted events; |M|^2 by ``MEProcess`` or Sherpa's checked ``MEWeight``."""
    job, me, built, store = ctx.job, ctx.me, ctx.built, ctx.store
    sqrt_s, total, chunk, every = job.sqrt_s, job.points, job.chunk, job.me_check_every
    # colour sampling: MEProcess gives one colour configuration's |M|^2, so it times the ME but cannot
    # check Sherpa's MEWeight (the sampled colours' |M|^2 times the colour weight), which is the me2 then
    sample = job.color_scheme == "sample"
    by_key = {(tuple(sorted(p[:n])), tuple(sorted(p[n:]))): (name, p, n) for name, p, n in built}
    markers = store.done_chunks()
    store.drop_incomplete(len(markers))
    done_events = sum(m["events"] for m in markers)
    gen = me.gen
    gen.InitializeTheEventHandler()
    progress = Progress()
    k = len(markers)
    while done_events < total:
        size = min(chunk, total - done_events)
        rows: dict[str, dict[str, list[Any]]] = {}
        gen_s = gen_cpu = 0.0
        clock = time.perf_counter
        for _ in range(size):
            c0 = time.thread_time()
            t0 = clock()
            gen.GenerateOneEvent()
            gen_s += clock() - t0
            gen_cpu += time.thread_time() - c0
            blobs = gen.GetBlobList()
            sig = blobs[0]
            ids_in, m_in, ids_out, m_out = _signal_particles(sig)
            key = (tuple(sorted(ids_in)), tuple(sorted(ids_out)))
            if key not in by_key:
                raise DumperError(
                    f"event with flavours {ids_in} -> {ids_out} matches no channel Sherpa listed"
                )
            name, pdg, n_in = by_key[key]
            order = _order(pdg, n_in, ids_in, ids_out)
            mom = np.concatenate([m_in, m_out])[order]
            x = {1.0: 0.0, -1.0: 0.0}
            for p in m_in:
                x[float(np.sign(p[3]))] = 2.0 * p[0] / sqrt_s
            r = rows.setdefault(
                name,
                {c: [] for c in ("momenta", "weight", "me_weight", "x1", "x2", "muf2", "mur2", "trials",
                                 "checked", "me2_chk", "ms", "cpu")},
            )
            if len(r["momenta"]) % every == 0:
                # MEProcess right after the event (the first of each channel, then every N-th): its time is
                # taken in the same machine state as the generation's, so t_PS = t_gen - t_ME is not biased
                # by timing the two minutes apart under different load
                me2_i, ms_i = me.evaluate(name, pdg, n_in, mom[None], colour_point=sample)
                r["checked"].append(len(r["momenta"]))
                r["me2_chk"].append(float(me2_i[0]))
                r["ms"].append(float(ms_i[0]))
                r["cpu"].append(float(me.last_cpu_ms[0]))
            r["momenta"].append(mom)
            r["weight"].append(blobs.Weight())
            r["me_weight"].append(sig["MEWeight"])
            r["x1"].append(x[1.0])
            r["x2"].append(x[-1.0])
            r["muf2"].append(sig["Factorisation_Scale"])
            r["mur2"].append(sig["Renormalization_Scale"])
            r["trials"].append(sig["Trials"])
            progress(
                f"events: chunk {k}, {done_events + sum(len(v['weight']) for v in rows.values())}/{total} "
                f"events, {gen_s * 1e3 / max(1, sum(len(v['weight']) for v in rows.values())):.3f} ms/event"
            )
        me_s = 0.0
        per_channel: dict[str, Any] = {}
        for name, r in rows.items():
            _, pdg, n_in = next(b for b in built if b[0] == name)
            mom = np.array(r["momenta"], dtype=np.float64)
            weight = np.array(r["weight"], dtype=np.float64)
            me_weight = np.array(r["me_weight"], dtype=np.float64)
            # every event (every=1), or every N-th event of each channel in this chunk, first one included
            checked = np.array(r["checked"], dtype=np.int64)
            me2_chk, ms = np.array(r["me2_chk"]), np.array(r["ms"])
            me_s += float(ms.sum()) / 1e3
            with np.errstate(divide="ignore", invalid="ignore"):
                dev = np.abs(me_weight[checked] / me2_chk - 1.0)
            # Sherpa's event MEWeight is |M|^2 without PDFs: it must equal MEProcess in our particle order
            worst = 0.0 if sample else float(np.max(np.where(me2_chk != 0, dev, 0.0)))
            if worst > 1e-8:
                bad = int(np.argmax(np.where(me2_chk != 0, dev, 0.0)))
                raise DumperError(
                    f"{name}: MEProcess |M|^2 {me2_chk[bad]} differs from Sherpa's event MEWeight "
                    f"{me_weight[checked][bad]} at event {done_events + int(checked[bad])} of the run "
                    f"(rel. {worst:.3g}); particle mapping or settings differ"
                )
            me2 = me2_chk if every == 1 and not sample else me_weight
            with np.errstate(divide="ignore", invalid="ignore"):
                ps_weight = np.where(me2 != 0, weight / me2, 0.0)
            cols = {
                "momenta": mom,
                "me2": me2,
                "weight": weight,
                "ps_weight": ps_weight,
                **{c: np.array(r[c], dtype=np.float64) for c in ("x1", "x2", "muf2", "mur2", "trials")},
            }
            info: dict[str, Any] = {"n": len(me2), "me_ms": float(np.median(ms)),
                                    "me_cpu_ms": float(np.mean(r["cpu"]))}
            if not sample:
                info["meweight_dev"] = worst
            store.write_part(name, k, cols, info)
            per_channel[name] = len(me2)
        atomic_write_text(
            store.chunk_marker(k),
            json.dumps(
                {
                    "events": size,
                    "gen_seconds": gen_s,
                    "gen_cpu_seconds": gen_cpu,
                    "me_seconds": me_s,
                    "channels": per_channel,
                }
            ),
        )
        done_events += size
        k += 1
        progress(
            f"events: {done_events}/{total} done, {gen_s * 1e3 / size:.3f} ms/event generation", force=True
        )
    markers = store.done_chunks()
    n_events = sum(m["events"] for m in markers)
    gen_ms = 1e3 * sum(m["gen_seconds"] for m in markers) / n_events
    gen_cpu_ms = 1e3 * sum(m.get("gen_cpu_seconds", 0.0) for m in markers) / n_events
    channel_ms: dict[str, float] = {}
    channel_cpu: dict[str, float] = {}
    results = []
    for name, _pdg, _n_in in built:
        if not store.done_parts(name):
            continue
        _, timings = store.load(name)
        channel_ms[name] = ms_stats(timings)
        channel_cpu[name] = ms_stats(timings, "me_cpu_ms")
    counts = {c: sum(m["channels"].get(c, 0) for m in markers) for c in channel_ms}
    ps_ms = max(0.0, gen_ms - sum(channel_ms[c] * counts[c] for c in counts) / n_events)
    ps_cpu_ms = max(0.0, gen_cpu_ms - sum(channel_cpu[c] * counts[c] for c in counts) / n_events)
    for name, pdg, n_in in built:
        if name not in channel_ms:
            continue
        meta = base_meta(job, name, pdg, n_in)
        meta.update(
            me_ms_per_point=channel_ms[name],
            ps_ms_per_point=ps_ms,
            gen_ms_per_event=gen_ms,
            me_cpu_ms_per_point=channel_cpu[name],
            ps_cpu_ms_per_point=ps_cpu_ms,
            gen_cpu_ms_per_event=gen_cpu_ms,
            ps_ms_note="Sherpa's weighted generation time per event (phase space, PDFs, cuts, selection, its "
            "own ME call) minus the MEProcess time of the event's channel, averaged over all channels",
            n_events_all_channels=n_events,
            weight_unit="pb (Sherpa weighted event weight; sigma = sum(weight) / sum(trials), all channels)",
            ps_weight_note="weight / me2: phase space, PDFs, flux and pb conversion (everything but |M|^2)",
            me2_source="MEProcess.MatrixElement() at every event"
            if every == 1
            else f"Sherpa's event MEWeight (the ME of its own generation), checked against "
            f"MEProcess.MatrixElement() at every {every}th event of each chunk (that call's time is me_ms)",
            pdf_set=job.pdf_set,
            ps_generator="Sherpa 3.0.3 weighted event generation (EVENT_GENERATION_MODE: Weighted)",
        )
        if sample:
            meta.update(
                me2_source="Sherpa's event MEWeight under colour sampling (COLOR_SCHEME 2): |M|^2 of the one "
                "colour configuration Sherpa sampled for the event times the colour integrator's weight, an "
                "unbiased but fluctuating estimate of the colour-summed |M|^2 (not checked: MEProcess gives "
                "one configuration's |M|^2 under colour sampling)",
                me_ms_note="median wall time of one colour-sampled MEProcess.MatrixElement() call (ms) after "
                "GenerateColorPoint(), at "
                + ("every event" if every == 1 else f"every {every}th event of each channel and chunk")
                + "; SetMomenta and GenerateColorPoint excluded",
            )
        else:
            meta["me2_vs_sherpa_meweight_max_rel_dev"] = max(
                t.get("meweight_dev", 0.0) for t in store.load(name)[1]
            )
        path = store.finish(name, pdg, meta)
        results.append(summary_from_file(path))
    store.cleanup()
    return DumperResult(
        mode=job.mode,
        channels=results,
        ps_ms_per_point=ps_ms,
        gen_ms_per_event=gen_ms,
        ps_cpu_ms_per_point=ps_cpu_ms,
        gen_cpu_ms_per_event=gen_cpu_ms,
        events=n_events,
    )
