#!/usr/bin/env python3
"""Cross-check dendfit against Dendrify + Brian 2 on a spec.

usage: dendrify_check.py SPEC.yaml DENDFIT_BINARY [OUT.json]
Builds each pathway's post cell with Dendrify's API, starts it at the
steady state dendfit reports (so a wrong steady state shows as drift before
the spike), runs the PSP protocol in Brian 2 (numpy target) and compares
every compartment's trace and the dSpike events with dendfit's.
Needs DENDRIFY_SRC (a Dendrify source tree) and python3-brian."""
import csv, json, os, re, subprocess, sys, tempfile
sys.path.insert(0, os.environ.get("DENDRIFY_SRC", "/tmp/dendrify"))
import yaml
import brian2 as b2
from brian2 import (ms, mV, nS, pF, uF, cm, um, uS, mS, ohm, kohm, pA, nA, siemens, farad, volt, second, amp, meter, mm, us, nF)
pS = 1e-12 * siemens
uV = 1e-6 * volt
b2.prefs.codegen.target = "numpy"
import dendrify
from dendrify import Soma, Dendrite, NeuronModel, PointNeuronModel

UNITS = {"V": volt, "mV": mV, "uV": uV, "s": second, "ms": ms, "us": us, "S": siemens, "mS": mS, "uS": uS, "nS": nS, "pS": pS,
         "F": farad, "uF": uF, "nF": nF, "pF": pF, "A": amp, "nA": nA, "pA": pA, "m": meter, "cm": cm, "mm": mm, "um": um,
         "uF/cm2": uF / cm**2, "uF/cm^2": uF / cm**2, "F/m2": farad / meter**2, "F/m^2": farad / meter**2,
         "S/cm2": siemens / cm**2, "S/cm^2": siemens / cm**2, "mS/cm2": mS / cm**2, "mS/cm^2": mS / cm**2,
         "uS/cm2": uS / cm**2, "uS/cm^2": uS / cm**2, "S/m2": siemens / meter**2, "S/m^2": siemens / meter**2,
         "ohm*cm": ohm * cm, "ohm cm": ohm * cm, "ohm*m": ohm * meter, "kohm*cm": kohm * cm}

def q(s):
    if isinstance(s, (int, float)):
        return s
    m = re.match(r"^\s*([-+0-9.eE]+)\s*(.*?)\s*$", s)
    return float(m.group(1)) * UNITS[m.group(2).replace("µ", "u")]

CONST = {"E_AMPA": 0 * mV, "E_NMDA": 0 * mV, "E_GABA": -80 * mV, "E_Na": 70 * mV, "E_K": -89 * mV, "E_Ca": 136 * mV,
         "Mg_con": 1.0, "Alpha_NMDA": 0.062, "Beta_NMDA": 3.57, "Gamma_NMDA": 0}

def build(spec, cellname, post, consts):
    cell = spec["cells"][cellname]
    comps = cell["compartments"]
    ephys_keys = ["length", "diameter", "cm", "gl", "cm_abs", "gl_abs", "r_axial", "v_rest"]
    if len(comps) == 1:
        c = comps[0]
        kw = {k: q(c[k]) for k in ephys_keys if k in c and k != "r_axial"}
        for k in ("cm", "gl", "v_rest"):
            if k in cell:
                kw[k] = q(cell[k])
        m = PointNeuronModel(model=c.get("model", "leakyIF"), **kw)
        objs = {c["name"]: m}
        point = True
    else:
        objs = {}
        for c in comps:
            cls = Soma if c["type"] == "soma" else Dendrite
            kw = {k: q(c[k]) for k in ephys_keys if k in c}
            objs[c["name"]] = cls(c["name"], model=c.get("model", "leakyIF" if c["type"] == "soma" else "passive"), **kw)
        conns = []
        for cn in cell.get("connections", []):
            a, b = objs[cn[0]], objs[cn[1]]
            if len(cn) == 2 or cn[2] == "half_cylinders":
                conns.append((a, b, "half_cylinders") if len(cn) == 3 else (a, b))
            elif str(cn[2]).startswith("cylinder_"):
                conns.append((a, b, cn[2]))
            else:
                conns.append((a, b, q(cn[2])))
        point = False
    params = {}
    for c in comps:
        for k, v in (c.get("params") or {}).items():
            params[k if point else f"{k}_{c['name']}"] = q(v)
    # synapses of every pathway onto this post population
    for pw in spec["pathways"]:
        if pw["post"] != post:
            continue
        tag = pw.get("tag", pw["pre"])
        target = objs[pw["compartment"]]
        for r in pw["receptors"]:
            kw = dict(g=q(r["g"]), t_decay=q(r["t_decay"]), scale_g=r.get("scale_g", False))
            if "t_rise" in r:
                kw["t_rise"] = q(r["t_rise"])
            if point:
                target.synapse(r["channel"], tag=tag, **kw)
            else:
                target.synapse(r["channel"], tag=tag, **kw)
    if not point:
        # Each dendrite's dSpikes get their whole configuration in its own
        # dspikes() call: config_dspikes would give every dendrite the same
        # one per mechanism name. A reversal given by name goes by name
        # (looked up in the defaults set above), as Dendrify reads a zero
        # quantity as not given.
        rev = lambda x: x if isinstance(x, str) and x in consts else q(x)
        for c in comps:
            for d in c.get("dspikes", []) or []:
                objs[c["name"]].dspikes(d["name"], threshold=q(d["threshold"]), g_rise=q(d["g_rise"]), g_fall=q(d["g_fall"]),
                                        duration_rise=q(d["duration_rise"]), duration_fall=q(d["duration_fall"]),
                                        offset_fall=q(d["offset_fall"]), refractory=q(d["refractory"]),
                                        reversal_rise=rev(d["reversal_rise"]), reversal_fall=rev(d["reversal_fall"]))
        mkw = {k: (q(cell[k]) if k != "scale_factor" and k != "spine_factor" else cell[k]) for k in ("cm", "gl", "r_axial", "v_rest", "scale_factor", "spine_factor") if k in cell}
        m = NeuronModel(conns, **mkw)
    m.add_params(params)
    return m, point, [c["name"] for c in comps]

def main():
    spec_path, dendfit = sys.argv[1], sys.argv[2]
    spec = yaml.safe_load(open(spec_path))
    consts = dict(CONST)
    for k, v in (spec.get("constants") or {}).items():
        consts[k] = q(v)
    from dendrify.ephysproperties import update_default_params
    update_default_params(dict(consts))
    sim = spec.get("simulation", {})
    dt = q(sim.get("dt", "0.1 ms")); dur = q(sim.get("duration", "100 ms")); spike_at = q(sim.get("spike_at", "10 ms"))
    method = sim.get("method", "euler")
    tmp = tempfile.mkdtemp()
    tr_path = os.path.join(tmp, "trace.csv")
    out = json.loads(subprocess.check_output([dendfit, "simulate", spec_path, "--json", "--no-db", "-q", "--trace", tr_path]))
    traces = {}
    with open(tr_path) as f:
        rd = csv.reader(f)
        head = next(rd)
        cols = list(zip(*rd))
    npath = len(spec["pathways"])
    for j, h in enumerate(head[1:], start=1):
        p, name = (0, h) if npath == 1 else (int(h.split("_", 1)[0][1:]), h.split("_", 1)[1])
        traces.setdefault(p, {})[name] = [float(v) for v in cols[j]]
    worst = 0.0
    ok = True
    record = {"case": os.path.basename(spec_path), "brian2": b2.__version__, "dendrify": dendrify.__version__ if hasattr(dendrify, "__version__") else "2.2.0",
              "method": method, "dt_ms": float(dt / ms), "pathways": []}
    k0 = int((spike_at + 1e-3 * dt) / dt)
    first = max(0, k0 - 20)
    for pi, pw in enumerate(spec["pathways"]):
        res = out["pathways"][pi]
        b2.start_scope()
        b2.defaultclock.dt = dt
        post = pw["post"]
        model, point, names = build(spec, spec["populations"][post], post, consts)
        group = model.make_neurongroup(1, method=method, init_rest=False) if not point else model.make_neurongroup(1, method=method)
        ss = res["steady_state"]
        for n in names:
            vk = "V" if point else f"V_{n}"
            setattr(group, vk, ss[vk] * mV)
            wk = "w" if point else f"w_{n}"
            if wk in ss:
                setattr(group, wk, ss[wk] * pA)
        if res["i_hold_pA"] is not None:
            setattr(group, "I_ext" if point else f"I_ext_{res['record']}", res["i_hold_pA"] * pA)
        gen = b2.SpikeGeneratorGroup(1, [0], [spike_at])
        tag = res["tag"]
        suffix = (lambda ch: f"{ch}_{tag}") if point else (lambda ch: f"{ch}_{tag}_{res['compartment']}")
        on_pre = "; ".join(f"s_{suffix(ch)} += 1" for ch in res["receptors"])
        syn = b2.Synapses(gen, group, on_pre=on_pre)
        syn.connect()
        vars_ = ["V"] if point else [f"V_{n}" for n in names]
        mon = b2.StateMonitor(group, vars_, record=True)
        mons = []
        if not point and model.event_names:
            for ev in model.event_names:
                mons.append((ev, b2.EventMonitor(group, ev)))
        net = b2.Network(group, gen, syn, mon, *[m for _, m in mons])
        net.run(dur, namespace={})
        rec = {"first_sample": first, "traces_mV": {}, "dspike_events": []}
        record["pathways"].append(rec)
        for n, vk in zip(names, vars_):
            bt = getattr(mon, vk)[0] / mV
            rec["traces_mV"][n] = [float(v) for v in bt[first:]]
            dt_tr = traces[pi][f"V_{n}_mV"]
            if len(bt) != len(dt_tr):
                print(f"pathway {pi} {n}: {len(bt)} samples vs dendfit {len(dt_tr)}"); ok = False; continue
            d = max(abs(a - b) for a, b in zip(bt, dt_tr))
            worst = max(worst, d)
            if d > 1e-9:
                ok = False
                k = max(range(len(bt)), key=lambda i: abs(bt[i] - dt_tr[i]))
                k1 = next(i for i in range(len(bt)) if abs(bt[i] - dt_tr[i]) > 1e-9)
                print(f"  first divergence at sample {k1}: brian {bt[k1]!r} dendfit {dt_tr[k1]!r}; prev {bt[k1-1]!r} {dt_tr[k1-1]!r}")
                print(f"pathway {pi} {n}: max |dV| {d:.3g} mV at sample {k} (brian {bt[k]!r}, dendfit {dt_tr[k]!r})")
        bev = sorted((ev.split("_")[2], ev.split("_")[1], int(round(float(t / dt)))) for ev, m in mons for t in m.t)
        dev = sorted((e["compartment"], e["name"], int(round(e["t_ms"] / (dt / ms)))) for e in res["dspike_events"])
        rec["dspike_events"] = [{"compartment": c, "name": nm, "step": k} for c, nm, k in bev]
        if bev != dev:
            ok = False
            print(f"pathway {pi}: dSpike events brian {bev} vs dendfit {dev}")
        print(f"pathway {pi} ({pw['pre']}->{post}): worst |dV| so far {worst:.2e} mV, {len(dev)} dSpikes, psp {res['psp_mV']:.6g} mV")
    if len(sys.argv) > 3:
        with open(sys.argv[3], "w") as f:
            json.dump(record, f, separators=(",", ":"))
    print("OK" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)

main()
