"""Run the PSP protocol of every pathway of an exported dendfit module.

Usage: psp_protocol.py DIR, where DIR holds calibrated.py (the export).
Each pathway starts from the export's own steady_state and holding
current. Prints the signed PSP of each pathway in mV as a JSON list. Used
by TestDendrifyInBrian.

Between build_models() and making a group it changes Dendrify's default
ionic parameters and defaultclock.dt, as building another calibration in
the same script would: the module's make_neurongroup must put the
export's back and run the group at DT (the spike, synapse and monitor
here run at DT, as the module's docstring asks).
"""
import json
import sys

import numpy as np
import brian2 as b
from brian2.units import mV

b.prefs.codegen.target = 'numpy'
b.BrianLogger.log_level_error()

import calibrated as cal  # noqa: E402


def psp(pw):
    b.start_scope()
    models = cal.build_models()
    missing = set(models) - set(cal.PARAMS)
    if missing:
        sys.exit(f'PARAMS has no entry for {sorted(missing)}')
    from dendrify import update_default_params
    update_default_params({'E_AMPA': 7 * mV, 'E_NMDA': 7 * mV, 'E_GABA': -50 * mV, 'Mg_con': 2.5})
    b.defaultclock.dt = cal.DT * 3
    group = cal.make_neurongroup(models, pw['post'], 1)
    for name, value in pw['steady_state'].items():
        setattr(group, name, value)
    # The holding current as the export gives it, where it says.
    if pw['i_hold'] is not None:
        setattr(group, pw['i_ext'], pw['i_hold'])
    spike = b.SpikeGeneratorGroup(1, [0], [cal.SPIKE_AT], dt=cal.DT)
    syn = b.Synapses(spike, group, on_pre=pw['on_pre'], dt=cal.DT)
    syn.connect()
    mon = b.StateMonitor(group, pw['record'], record=0, dt=cal.DT)
    net = b.Network(group, spike, syn, mon)
    net.run(cal.DURATION)
    v = np.asarray(getattr(mon, pw['record'])[0] / mV)
    dt = float(cal.DT)
    k0 = int(np.floor((float(cal.SPIKE_AT) + 1e-3 * dt) / dt))
    d = v[k0 + 1:] - v[k0]
    return float(d[int(np.argmax(np.abs(d)))])


def main():
    sys.path.insert(0, sys.argv[1])
    print(json.dumps([psp(pw) for pw in cal.PATHWAYS]))


if __name__ == '__main__':
    main()
