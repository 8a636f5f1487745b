#!/usr/bin/env python3
"""Random dendfit spec generator (seedable).

usage: gen_random_spec.py SEED OUT.yaml

Writes a random valid spec (format 1) that mixes what dendrify_check.py
checks: the three methods, dt and off-grid times, 1 to 6 compartments of
every model, dimensional and dimensionless cells, every coupling rule,
model-level overrides and unit spellings, constants, AMPA/NMDA/GABA with
and without rise and scale_g, holding, dendritic recording and dSpikes.
Prints the features it used on one line. The same seed gives the same spec.
"""
import math, random, sys
import yaml

PI = math.pi


def fmt(x, sig=4):
    s = f"{x:.{sig}g}"
    if "e" in s:
        s = repr(float(s))
    return s


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.feat = set()

    # ---- quantity helpers (return (string, SI value)) ----
    def volt(self, mv):
        r = self.r
        mv = float(fmt(mv))
        if r.random() < 0.1:
            return f"{fmt(mv / 1000, 6)} V", mv / 1000
        if r.random() < 0.05:
            return f"{fmt(mv * 1000, 6)} uV", mv / 1000
        return f"{fmt(mv)} mV", mv / 1000

    def time(self, ms, sig=4):
        r = self.r
        ms = float(fmt(ms, sig))
        if r.random() < 0.07:
            return f"{fmt(ms * 1000, sig + 2)} us", ms / 1000
        if r.random() < 0.04:
            return f"{fmt(ms / 1000, sig + 2)} s", ms / 1000
        return f"{fmt(ms, sig)} ms", ms / 1000

    def cond(self, ns):
        r = self.r
        ns = float(fmt(ns))
        u = r.random()
        if u < 0.07:
            return f"{fmt(ns * 1000, 6)} pS", ns * 1e-9
        if u < 0.12:
            return f"{fmt(ns / 1000, 6)} uS", ns * 1e-9
        return f"{fmt(ns)} nS", ns * 1e-9

    def cap(self, pf):
        r = self.r
        pf = float(fmt(pf))
        if r.random() < 0.1:
            return f"{fmt(pf / 1000, 6)} nF", pf * 1e-12
        return f"{fmt(pf)} pF", pf * 1e-12

    def length(self, um):
        r = self.r
        um = float(fmt(um))
        if r.random() < 0.08:
            return f"{fmt(um / 1000, 6)} mm", um * 1e-6
        return f"{fmt(um)} um", um * 1e-6

    def spec_cap(self, ufcm2):
        ufcm2 = float(fmt(ufcm2, 3))
        if self.r.random() < 0.15:
            self.feat.add("unit:F/m2")
            return f"{fmt(ufcm2 / 100, 6)} F/m2", ufcm2 * 1e-2
        return f"{fmt(ufcm2, 3)} uF/cm2", ufcm2 * 1e-2  # SI F/m2

    def spec_cond(self, uscm2):
        uscm2 = float(fmt(uscm2, 3))
        u = self.r.random()
        if u < 0.1:
            self.feat.add("unit:mS/cm2")
            return f"{fmt(uscm2 / 1000, 6)} mS/cm2", uscm2 * 1e-2
        if u < 0.2:
            self.feat.add("unit:S/m2")
            return f"{fmt(uscm2 / 100, 6)} S/m2", uscm2 * 1e-2
        return f"{fmt(uscm2, 3)} uS/cm2", uscm2 * 1e-2  # SI S/m2

    def raxial(self, ohmcm):
        ohmcm = float(fmt(ohmcm, 3))
        u = self.r.random()
        if u < 0.1:
            self.feat.add("unit:ohm*m")
            return f"{fmt(ohmcm / 100, 6)} ohm*m", ohmcm * 1e-2
        if u < 0.15:
            self.feat.add("unit:kohm*cm")
            return f"{fmt(ohmcm / 1000, 6)} kohm*cm", ohmcm * 1e-2
        return f"{fmt(ohmcm, 3)} ohm*cm", ohmcm * 1e-2  # SI ohm*m

    # ---- cells ----
    def model_params(self, model, vrest_mv):
        r = self.r
        p = {}
        if model in ("adaptiveIF", "adex"):
            p["a"] = self.cond(r.choice([0.0, r.uniform(0.05, 4)]) if r.random() < 0.1 else r.uniform(0.05, 4))[0]
            p["tauw"] = self.time(r.uniform(20, 250))[0]
        if model == "adex":
            p["DeltaT"] = self.volt(r.uniform(0.5, 3))[0]
            p["Vth"] = self.volt(r.uniform(max(vrest_mv + 12, -55), -42))[0]
        return p

    def cell(self, name, npoint=None):
        r = self.r
        n = npoint if npoint is not None else r.choice([1, 1, 2, 2, 3, 3, 4, 5, 6])
        dimensional = r.random() < 0.5
        cell = {}
        comps = []
        info = {"n": n, "dim": dimensional, "comps": {}}
        cell_vrest = None
        if r.random() < 0.5:
            cell_vrest = r.uniform(-75, -60)
            cell["v_rest"] = self.volt(cell_vrest)[0]
            self.feat.add("cell:v_rest")
        # model-level dimensional overrides
        cell_cm = cell_gl = cell_ra = None
        sf = spf = None
        if dimensional:
            if r.random() < 0.3:
                s, cell_cm = self.spec_cap(r.uniform(0.6, 2.0)); cell["cm"] = s; self.feat.add("cell:cm")
            if r.random() < 0.3:
                s, cell_gl = self.spec_cond(r.uniform(20, 120)); cell["gl"] = s; self.feat.add("cell:gl")
            if n > 1:
                if r.random() < 0.3:
                    s, cell_ra = self.raxial(r.uniform(70, 250)); cell["r_axial"] = s; self.feat.add("cell:r_axial")
                if r.random() < 0.3:
                    sf = round(r.uniform(0.5, 5), 2); cell["scale_factor"] = sf; self.feat.add("cell:scale_factor")
                if r.random() < 0.3:
                    spf = round(r.uniform(1, 2.5), 2); cell["spine_factor"] = spf; self.feat.add("cell:spine_factor")
        any_override = any(v is not None for v in (cell_cm, cell_gl, cell_ra, sf, spf))
        names = ["soma"] if r.random() < 0.8 else [r.choice(["s", "Soma", "cb", "body1"])]
        pool = ["dend", "trunk", "tuft", "basal", "obl", "d1", "d2", "apic", "AMPA", "x7", "distal", "prox"]
        r.shuffle(pool)
        names += pool[: n - 1]
        for i, nm in enumerate(names):
            c = {"name": nm, "type": "soma" if i == 0 else "dendrite"}
            if i == 0:
                model = r.choice(["leakyIF", "leakyIF", "passive", "adaptiveIF", "adex", None])
            else:
                model = r.choice(["passive", None, None, "passive", "leakyIF", "adaptiveIF", "adex"] if r.random() < 0.3 else ["passive", None])
            eff_model = model or ("leakyIF" if i == 0 else "passive")
            if model:
                c["model"] = model
            self.feat.add(f"model:{eff_model}:{'soma' if i == 0 else 'dend'}:{'point' if n == 1 else 'multi'}")
            vr = None
            if cell_vrest is None or r.random() < 0.4:
                vr = r.uniform(-75, -60)
                c["v_rest"] = self.volt(vr)[0]
            el = cell_vrest if cell_vrest is not None else vr
            ci = {"model": eff_model, "EL": el}
            if dimensional:
                if i == 0:
                    L, D = r.uniform(10, 40), r.uniform(8, 30)
                else:
                    L, D = r.uniform(30, 300), r.uniform(0.6, 4)
                c["length"], Lsi = self.length(L)
                c["diameter"], Dsi = self.length(D)
                cmv = glv = rav = None
                if cell_cm is None or r.random() < 0.5:
                    c["cm"], cmv = self.spec_cap(r.uniform(0.6, 2.0))
                if cell_gl is None or r.random() < 0.5:
                    c["gl"], glv = self.spec_cond(r.uniform(20, 120))
                if n > 1 and (cell_ra is None or r.random() < 0.5):
                    c["r_axial"], rav = self.raxial(r.uniform(70, 250))
                elif n == 1 and r.random() < 0.2:
                    pass
                cmv = cell_cm if cell_cm is not None else cmv
                glv = cell_gl if cell_gl is not None else glv
                rav = cell_ra if cell_ra is not None else rav
                area = PI * Lsi * Dsi
                if n > 1 and any_override:
                    area *= (sf or 1.0) * ((spf or 1.0) if i > 0 else 1.0)
                ci.update(C=area * cmv, gL=area * glv, L=Lsi, D=Dsi, ra=rav)
            else:
                if i == 0:
                    C = r.uniform(40, 250)
                else:
                    C = r.uniform(8, 80)
                tau = r.uniform(8, 40)
                c["cm_abs"], Cs = self.cap(C)
                c["gl_abs"], Gs = self.cond(C / tau)
                ci.update(C=Cs, gL=Gs)
            p = self.model_params(eff_model, el)
            if p:
                c["params"] = p
                if eff_model == "adex":
                    ci["Vth"] = qsi(p["Vth"])
            info["comps"][nm] = ci
            comps.append(c)
        # tree
        conns = []
        info["g"] = {nm: 0.0 for nm in names}
        for i in range(1, n):
            j = r.randrange(0, i)
            a, b = names[j], names[i]
            if r.random() < 0.35:
                a, b = b, a
            ca, cb = info["comps"][a], info["comps"][b]
            if dimensional:
                kind = r.choice(["pair", "half", "cyl", "cyl", "g"])
            else:
                kind = "g"
            if kind == "g":
                gs, gv = self.cond(r.uniform(1, 40))
                conns.append([a, b, gs]); self.feat.add("conn:conductance")
            else:
                ri = lambda c: 4 * c["ra"] * c["L"] / (PI * c["D"] ** 2)
                if kind == "pair":
                    conns.append([a, b]); gv = 2 / (ri(ca) + ri(cb)); self.feat.add("conn:half_cylinders(default)")
                elif kind == "half":
                    conns.append([a, b, "half_cylinders"]); gv = 2 / (ri(ca) + ri(cb)); self.feat.add("conn:half_cylinders")
                else:
                    w = r.choice([a, b])
                    conns.append([a, b, f"cylinder_{w}"]); gv = 1 / ri(info["comps"][w]); self.feat.add("conn:cylinder")
            info["g"][a] += gv
            info["g"][b] += gv
        cell["compartments"] = comps
        if n > 1:
            cell["connections"] = conns
        self.feat.add(f"cell:{'dimensional' if dimensional else 'dimensionless'}:{'point' if n == 1 else 'multi'}")
        self.feat.add(f"ncomp:{n}")
        return cell, info

    def add_dspikes(self, cell, info, mech_rev):
        r = self.r
        dends = [c for c in cell["compartments"] if c["type"] == "dendrite"]
        for c in dends:
            if r.random() < 0.45:
                k = r.choice([1, 1, 2])
                ms = r.sample(["Na", "Ca", "Kd", "NaP"], k)
                dl = []
                for m in ms:
                    if m not in mech_rev:
                        rr = r.choice(["E_Na", "E_Ca", "E_Na", "55 mV", "0.06 V"])
                        rf = r.choice(["E_K", "E_K", "-85 mV", "E_GABA"])
                        mech_rev[m] = (rr, rf)
                    rr, rf = mech_rev[m]
                    d = {"name": m,
                         "threshold": self.volt(r.uniform(-50, -35))[0],
                         "g_rise": self.cond(r.uniform(3, 30))[0],
                         "g_fall": self.cond(r.uniform(2, 20))[0],
                         "duration_rise": self.time(r.uniform(0.02, 3), 3)[0],
                         "duration_fall": self.time(r.uniform(0.02, 5), 3)[0],
                         "offset_fall": self.time(r.uniform(0.01, 1.5), 3)[0],
                         "refractory": self.time(r.uniform(1, 12), 3)[0],
                         "reversal_rise": rr, "reversal_fall": rf}
                    dl.append(d)
                    info["g"][c["name"]] += max(qsi(d["g_rise"]), 0) + qsi(d["g_fall"])
                c["dspikes"] = dl
                info["comps"][c["name"]]["dsp_thr"] = min(qsi(d["threshold"]) for d in dl)
                self.feat.add(f"dspikes:{len(dl)}mech")
                if any(not str(d["reversal_rise"]).startswith("E_") for d in dl):
                    self.feat.add("dspikes:reversal_voltage")


def qsi(s):
    v, u = s.split()
    f = {"mV": 1e-3, "V": 1, "uV": 1e-6, "nS": 1e-9, "pS": 1e-12, "uS": 1e-6, "ms": 1e-3, "us": 1e-6, "s": 1}[u]
    return float(v) * f


def peak_factor(tr, td):
    """peak of x for s=1 at t=0 (x in units of 1), tr, td in ms"""
    tp = td * tr / (td - tr) * math.log(td / tr)
    return td * tr / (td - tr) * (math.exp(-tp / td) - math.exp(-tp / tr))


def make(seed):
    for attempt in range(200):
        g = Gen(seed * 1000 + attempt)
        spec = try_make(g)
        if spec is not None:
            return spec, g.feat
    raise RuntimeError("no valid spec")


def try_make(g):
    r = g.r
    method = r.choice(["euler", "rk4", "exponential_euler"])
    dt = r.choice([0.025, 0.05, 0.1])
    g.feat.add(f"method:{method}"); g.feat.add(f"dt:{dt}")
    ncells = r.choice([1, 1, 2])
    cells, infos = {}, {}
    cellnames = r.sample(["pyr", "pv", "sst", "cellA", "c2"], ncells)
    for cn in cellnames:
        c, inf = g.cell(cn)
        cells[cn] = c
        infos[cn] = inf
    popn = r.choice([1, 2, 2, 3])
    pops = {}
    pnames = r.sample(["E", "I", "PV", "L23E", "SST", "X1"], popn)
    for i, p in enumerate(pnames):
        pops[p] = cellnames[i % ncells] if i < ncells else r.choice(cellnames)
    # constants
    consts = {}
    if r.random() < 0.4:
        opts = {"E_AMPA": lambda: g.volt(r.uniform(-5, 5))[0], "E_NMDA": lambda: g.volt(r.uniform(-5, 10))[0],
                "E_GABA": lambda: g.volt(r.uniform(-90, -62))[0], "E_Na": lambda: g.volt(r.uniform(40, 80))[0],
                "E_K": lambda: g.volt(r.uniform(-95, -75))[0], "E_Ca": lambda: g.volt(r.uniform(100, 140))[0],
                "Mg_con": lambda: round(r.uniform(0.3, 2.5), 3), "Alpha_NMDA": lambda: round(r.uniform(0.04, 0.1), 4),
                "Beta_NMDA": lambda: round(r.uniform(2, 5), 3), "Gamma_NMDA": lambda: round(r.uniform(-10, 10), 2)}
        for k in r.sample(list(opts), r.randint(1, 4)):
            consts[k] = opts[k]()
            g.feat.add(f"const:{k}")
    # dspikes
    for cn in cellnames:
        if infos[cn]["n"] > 1 and r.random() < 0.6:
            g.add_dspikes(cells[cn], infos[cn], {})
    # pathways
    npw = r.choice([1, 1, 2, 2, 3])
    pathways = []
    used = set()
    syn_g = {}
    for k in range(npw):
        pre = r.choice(pnames)
        post = r.choice(pnames)
        cn = pops[post]
        inf = infos[cn]
        cc = cells[cn]["compartments"]
        comp = r.choice(cc)["name"]
        dsp = [c["name"] for c in cc if c.get("dspikes")]
        if dsp and r.random() < 0.8:
            comp = r.choice(dsp)
        chans = r.sample(["AMPA", "NMDA", "GABA"], r.choice([1, 1, 2, 2, 3]))
        if comp in dsp and "GABA" in chans and len(chans) == 1 and r.random() < 0.7:
            chans = [r.choice(["AMPA", "NMDA"])]
        tag = pre
        if r.random() < 0.25:
            tag = r.choice(["t1", "inh", "ff", "X9", pre])
            g.feat.add("pathway:tag")
        while any((post, tag, comp, ch) in used for ch in chans):
            tag = tag + "b"
        for ch in chans:
            used.add((post, tag, comp, ch))
        pw = {"pre": pre, "post": post, "compartment": comp}
        if tag != pre or r.random() < 0.1:
            pw["tag"] = tag
        recs = []
        ci = inf["comps"][comp]
        big = comp in dsp and r.random() < 0.9
        for ch in chans:
            rec = {"channel": ch}
            C_pf = ci["C"] * 1e12
            gn = r.uniform(0.05, 0.6) * C_pf / 20 if not big else r.uniform(0.15, 1.0) * C_pf + r.uniform(1, 10)
            if ch == "NMDA":
                gn *= r.uniform(0.3, 2)
            rec["g"], gsi = g.cond(gn)
            if ch == "NMDA":
                td = r.uniform(20, 100)
            elif ch == "GABA":
                td = r.uniform(3, 30)
            else:
                td = r.uniform(0.8, 8)
            rec["t_decay"], tdsi = g.time(td)
            pk = 1.0
            if r.random() < 0.5:
                tr = r.uniform(0.05, min(td * 0.7, 6))
                u = r.random()
                if u < 0.05:
                    tr = tdsi * 1e3 * (1 - r.choice([1e-3, 1e-5, 1e-7])); g.feat.add("rec:t_rise~t_decay")
                elif u < 0.1:
                    tr = r.choice([0.001, 0.003, 0.011]); g.feat.add("rec:t_rise_tiny")
                elif u < 0.13:
                    tr = td * r.uniform(1.2, 3); g.feat.add("rec:t_rise>t_decay")
                rec["t_rise"], trsi = g.time(tr, 10)
                trm, tdm = trsi * 1e3, tdsi * 1e3
                if abs(trm - tdm) < 1e-9:
                    return None
                sg = r.random() < 0.5
                if sg or r.random() < 0.2:
                    rec["scale_g"] = sg
                pk = 1.0 if sg else peak_factor(trm, tdm)
                g.feat.add(f"rec:{ch}:rise{'+scale_g' if sg else ''}")
            else:
                if r.random() < 0.08:
                    rec["scale_g"] = True  # warns, changes nothing
                    g.feat.add("rec:scale_g_without_rise")
                g.feat.add(f"rec:{ch}:instant")
            syn_g[(cn, comp)] = syn_g.get((cn, comp), 0) + gsi * pk
            recs.append(rec)
        pw["receptors"] = recs
        g.feat.add(f"pathway:{len(recs)}receptors")
        if r.random() < 0.3:
            pw["target_psp"] = g.volt(r.uniform(0.2, 3))[0]
        names = [c["name"] for c in cc]
        if len(names) > 1 and r.random() < 0.5:
            pw["record"] = r.choice(names)
            g.feat.add("record:" + ("soma" if pw["record"] == names[0] else "dendrite"))
        if r.random() < 0.35:
            recn = pw.get("record", names[0])
            rci = inf["comps"][recn]
            lo, hi = -82, -55
            for c2 in inf["comps"].values():
                if "Vth" in c2:
                    hi = min(hi, c2["Vth"] * 1e3 - 8)
                if "dsp_thr" in c2:
                    hi = min(hi, c2["dsp_thr"] * 1e3 - 6)
            if hi > lo:
                pw["holding"] = g.volt(r.uniform(lo, hi))[0]
                g.feat.add("holding:" + ("soma" if recn == names[0] else "dendrite"))
        pathways.append(pw)
    g.feat.add(f"pathways:{npw}")
    if len(set(pops.values())) > 1 or len(pops) > 1:
        g.feat.add(f"populations:{len(pops)}")
    # stability: Gershgorin-ish bound with synaptic peak conductance
    for cn, inf in infos.items():
        for nm, ci in inf["comps"].items():
            G = ci["gL"] + inf["g"][nm] + syn_g.get((cn, nm), 0)
            if dt * 1e-3 * G / ci["C"] > 0.9:
                return None
        # adex resting sanity: need EL well below Vth
        for nm, ci in inf["comps"].items():
            if "Vth" in ci and ci["Vth"] * 1e3 - ci["EL"] < 10:
                return None
    # timing
    ncomp = max(inf["n"] for inf in infos.values())
    max_steps = 4000 if ncomp <= 3 else 2500
    dur = min(150.0, max_steps * dt, r.uniform(25, 150))
    if r.random() < 0.35:
        dur += r.choice([0.013, 0.02, 0.037, 0.05, 0.071]); g.feat.add("duration:off-grid")
    dur = round(dur, 3)
    sa = round(r.uniform(0.3, min(30, dur * 0.4)), 3)
    if r.random() < 0.5:
        sa = round(round(sa / dt) * dt, 6)
    if abs(sa / dt - round(sa / dt)) > 1e-6:
        g.feat.add("spike_at:off-grid")
    if r.random() < 0.04:
        sa = 0.0; g.feat.add("spike_at:0")
    sim = {"dt": f"{dt} ms", "method": method, "duration": f"{dur} ms", "spike_at": f"{sa} ms"}
    if r.random() < 0.05 and method == "euler":
        del sim["method"]; g.feat.add("method:default")
    spec = {"dendfit": 1, "experiment": f"fuzz-{r.randrange(10**6)}", "simulation": sim}
    if consts:
        spec["constants"] = consts
    spec["cells"] = cells
    spec["populations"] = pops
    spec["pathways"] = pathways
    return spec


def main():
    seed = int(sys.argv[1])
    spec, feat = make(seed)
    with open(sys.argv[2], "w") as f:
        yaml.safe_dump(spec, f, sort_keys=False, default_flow_style=None, width=200)
    print(" ".join(sorted(feat)))


if __name__ == "__main__":
    main()
