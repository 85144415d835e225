#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Turn bench/run.sh's raw samples into the Markdown report and the plot.

Medians with min-max spread over the repetitions; ratios are computed per
repetition (both configurations measured in the same round) and then
summarised the same way, which is what a noisy shared machine allows.
Anything that was not measured says so instead of showing a number.
"""
import argparse
import os
import statistics
import subprocess
from collections import defaultdict

NAMES = {
    "plain": "kernel forwarding, no ruleset (no conntrack)",
    "plain-txoff": "kernel forwarding, no ruleset, senders as for XDP (no TSO, no checksum offload)",
    "kernel": "kernel: conntrack + N rules + masquerade",
    "tc": "nft-offload, tc",
    "xdp": "nft-offload, XDP",
    "limit-tc": "limit: bare redirect, tc",
    "limit-xdp": "limit: bare redirect, XDP",
}


def load_samples(path):
    rows = []
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            rows.append(dict(zip(header, line.rstrip("\n").split("\t"))))
    return rows


def load_meta(path):
    meta = {}
    with open(path) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    return meta


def num(s):
    try:
        v = float(s)
    except (TypeError, ValueError):
        return None
    return None if v != v else v  # nan


def summary(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return statistics.median(vals), min(vals), max(vals), len(vals)


def fmt_rate(s, scale=1e3, unit="", digits=0):
    if s is None:
        return "not measured"
    med, lo, hi, _ = s
    f = "%%.%df" % digits
    return (f + "%s [" + f + "-" + f + "]") % (med / scale, unit, lo / scale, hi / scale)


def fmt_ratio(s):
    if s is None:
        return "not measured"
    med, lo, hi, _ = s
    return "%.2fx [%.2f-%.2f]" % (med, lo, hi)


class Data:
    def __init__(self, rows, other_max):
        self.v = defaultdict(dict)  # (phase, cfg, rules, flows) -> rep -> value
        self.bad = defaultdict(set)  # reps disturbed by other work on CPU 0
        self.sirq = defaultdict(list)
        self.fp = defaultdict(list)
        self.ready = defaultdict(list)
        self.slow = defaultdict(list)
        self.rows = rows
        for r in rows:
            key = (r["phase"], r["config"], r["rules"], r["flows"])
            rep = int(r["rep"])
            self.v[key][rep] = num(r["value"])
            other = num(r.get("other"))
            if other is not None and other > other_max:
                self.bad[key].add(rep)
            if num(r["sirq"]) is not None and num(r["value"]):
                # CPU 0's softirq share / packets per second = softirq time per packet.
                self.sirq[key].append(num(r["sirq"]) / num(r["value"]) * 1e9)
            if num(r["fastpath"]) is not None:
                self.fp[key].append(num(r["fastpath"]))
            if num(r.get("ready")) is not None:
                self.ready[key].append(num(r["ready"]))
            if num(r.get("slow")) is not None:
                self.slow[key].append(num(r["slow"]))

    def clean(self, key):
        """Repetitions to use: the undisturbed ones, if there are any."""
        reps = set(self.v.get(key, {}))
        good = reps - self.bad[key]
        return good or reps

    def get(self, phase, cfg, rules, flows):
        key = (phase, cfg, str(rules), str(flows))
        return summary(self.v[key][r] for r in self.clean(key)) if key in self.v else None

    def ratio(self, a, b):
        """Per-repetition ratio of two sample keys (same round), summarised."""
        if a not in self.v or b not in self.v:
            return None
        va, vb = self.v[a], self.v[b]
        both = self.clean(a) & self.clean(b) or set(va) & set(vb)
        rs = [va[r] / vb[r] for r in both if r in va and r in vb and va[r] and vb[r]]
        return summary(rs)

    def sirq_ns(self, key):
        return summary(self.sirq.get(key, []))

    def fp_min(self, key):
        vals = self.fp.get(key, [])
        return min(vals) if vals else None


def goal(ok, text):
    if ok is None:
        return "| %s | not measured |" % text
    return "| %s | %s |" % (text, "**met**" if ok else "**not met**")


# The performance issue's table: (figure, measured, goal, ok), filled by the
# sections and printed first.
ISSUE = []


def issue(figure, measured, target, ok):
    ISSUE.append((figure, measured, target, ok))


def verdict(ok):
    return "not measured" if ok is None else ("**met**" if ok else "**not met**")


def med(s):
    return None if s is None else s[0]


def capacity_note(meta):
    """The flow table nft-offload ran with, where the run recorded it."""
    cap = meta.get("flow_capacity_default")
    if not cap:
        return ""
    return (" nft-offload's flow table: its default size, conntrack's limit "
            "(%s connections per family)." % "{:,}".format(int(cap)))


def udp_section(d, meta, out):
    rules = meta["rules"].split()
    flows = meta["main_flows"]
    out.append("## 1. 64-byte UDP forwarding rate vs. ruleset size (%s flows)\n" % flows)
    out.append("Packets/s at the sink, kpps: median [min-max] of %s repetitions of %ss, "
               "configurations interleaved.%s\n" % (meta["reps"], meta["interval"], capacity_note(meta)))
    out.append("| configuration | " + " | ".join("N=%s" % n for n in rules) + " |")
    out.append("|---|" + "---|" * len(rules))
    for cfg in ("kernel", "tc", "xdp"):
        cells = [fmt_rate(d.get("udp", cfg, n, flows)) for n in rules]
        out.append("| %s | %s |" % (NAMES[cfg], " | ".join(cells)))
    out.append("")
    out.append("| reference (no ruleset involved) | kpps |")
    out.append("|---|---|")
    for cfg in ("plain", "limit-tc", "limit-xdp"):
        out.append("| %s | %s |" % (NAMES[cfg], fmt_rate(d.get("udp", cfg, "-", flows))))
    out.append("")

    out.append("Ratios, computed per repetition (same round), median [min-max]:\n")
    out.append("| ratio | " + " | ".join("N=%s" % n for n in rules) + " |")
    out.append("|---|" + "---|" * len(rules))
    pairs = [("tc / kernel", "tc", "kernel", None), ("XDP / kernel", "xdp", "kernel", None),
             ("tc / limit tc", "tc", "limit-tc", "-"), ("XDP / limit XDP", "xdp", "limit-xdp", "-"),
             ("tc / kernel without ruleset", "tc", "plain", "-"),
             ("XDP / kernel without ruleset", "xdp", "plain", "-")]
    ratios = {}
    for label, a, b, bn in pairs:
        cells = []
        for n in rules:
            s = d.ratio(("udp", a, n, flows), ("udp", b, bn or n, flows))
            ratios[(a, b, n)] = s
            cells.append(fmt_ratio(s))
        out.append("| %s | %s |" % (label, " | ".join(cells)))
    out.append("")

    out.append("CPU 0 softirq time per forwarded packet, ns (router forwarding + sink XDP drop; "
               "tick-sampled from /proc/stat), the fast path's share of the packets (sink count vs. "
               "fast-path count) and the packets it passed to the stack during the measured windows "
               "(all reasons, both devices, summed over the repetitions):\n")
    out.append("| configuration | " + " | ".join("N=%s" % n for n in rules) + " |")
    out.append("|---|" + "---|" * len(rules))
    for cfg in ("kernel", "tc", "xdp"):
        cells = []
        for n in rules:
            key = ("udp", cfg, n, flows)
            s = d.sirq_ns(key)
            c = "%.0f" % s[0] if s else "-"
            fp = d.fp_min(key)
            if fp is not None:
                c += " (fast path >= %.0f%%" % (min(fp, 1.0) * 100)
                if d.slow.get(key):
                    c += ", %d to the stack" % sum(d.slow[key])
                c += ")"
            cells.append(c)
        out.append("| %s | %s |" % (NAMES[cfg], " | ".join(cells)))
    for cfg in ("plain", "limit-tc", "limit-xdp"):
        s = d.sirq_ns(("udp", cfg, "-", flows))
        out.append("| %s | %s |" % (NAMES[cfg], ("%.0f" % s[0]) if s else "-") +
                   " |" * (len(rules) - 1))
    out.append("")

    # Goals from the issue.
    out.append("| goal | result |")
    out.append("|---|---|")
    for m in ("tc", "xdp"):
        s = ratios.get((m, "kernel", "1000"))
        out.append(goal(None if s is None else s[0] >= 5,
                        "%s / kernel >= 5x at 1000 rules (median %s)" %
                        (m, fmt_ratio(s))))
    for m in ("tc", "xdp"):
        stats = [d.get("udp", m, n, flows) for n in rules]
        stats = [s for s in stats if s]
        meds = [s[0] for s in stats]
        if len(meds) == len(rules) and len(rules) > 1:
            spread = (max(meds) - min(meds)) / max(meds)
            # Whether every N's [min-max] range overlaps every other's, and
            # what went to the stack (where the ruleset's cost would enter).
            overlap = max(s[1] for s in stats) <= min(s[2] for s in stats)
            slow = sum(sum(d.slow.get(("udp", m, n, flows), [])) for n in rules)
            out.append(goal(spread <= 0.10, "%s flat within 10%% from N=%s to N=%s (spread of the "
                            "medians %.1f%%; the repetitions' ranges %s; %d packets to the stack "
                            "in all measured windows)" %
                            (m, rules[0], rules[-1], spread * 100,
                             "all overlap" if overlap else "do not all overlap", slow)))
        else:
            out.append(goal(None, "%s flat within 10%% over N" % m))
    for m, lim in (("tc", "limit-tc"), ("xdp", "limit-xdp")):
        ss = [ratios.get((m, lim, n)) for n in rules]
        ok = None if any(s is None for s in ss) else all(s[0] >= 0.95 for s in ss)
        worst = min((s[0] for s in ss if s), default=None)
        w = "%.2f" % worst if worst is not None else "-"
        out.append(goal(ok, "%s / limit >= 0.95 at every N (worst median %s)" % (m, w)))
        issue("offload / bare redirect (the limit), %s, every N" % m, "worst median %s" % w,
              ">= 0.95", ok)
    probe = meta.get("plain_ct_probe", "").split()
    ctl = meta.get("kernel_ct_probe", "").split()
    no_ct = None
    if len(probe) == 3 and len(ctl) == 3:
        # The probe finds no entry without ruleset, and one with (the control).
        no_ct = probe[0] == "0" and probe[1] == probe[2] and ctl[0] != "0"
    for m in ("tc", "xdp"):
        ss = [ratios.get((m, "plain", n)) for n in rules]
        ok = None if any(s is None for s in ss) else all(s[0] >= 1.10 for s in ss)
        if no_ct is False:
            ok = None
        worst = min((s[0] for s in ss if s), default=None)
        w = "%.2f" % worst if worst is not None else "-"
        out.append(goal(ok, "%s / kernel without ruleset >= 1.10 at every N (worst median %s)" %
                        (m, w)))
        issue("offload / kernel forwarding, no ruleset and no conntrack, %s, every N" % m,
              "worst median %s" % w, ">= 1.10", ok)
    out.append("")
    if len(probe) == 3:
        out.append("No conntrack in the reference \"%s\": a UDP packet with a fresh tuple sent "
                   "through it left %s conntrack entries (conntrack -C %s before, %s after); the "
                   "same probe with the N=0 ruleset loaded left %s (the control: the probe sees "
                   "conntrack when it runs). %s\n" %
                   (NAMES["plain"], probe[0], probe[1], probe[2], ctl[0] if ctl else "?",
                    "Confirmed: no conntrack hook." if no_ct else
                    "NOT confirmed: the ratio against it is not counted."))


def scale_section(d, meta, out):
    n = meta["scale_rules"]
    flows = meta["scale_flows"].split()
    cols = flows + ["1000+1M"]
    out.append("## 2. Flow-count scaling (N=%s rules)\n" % n)
    out.append("kpps, median [min-max] of %s repetitions. \"1000+1M\": 1000 active flows with "
               "%s dummy entries added to the flow map (tuples that never match, on an ingress "
               "ifindex without traffic), in a table for 1M connections (--flows 1M); the other "
               "columns: the default table.%s\n" % (meta["scale_reps"], meta.get("dummy", "1000000"),
                                                  capacity_note(meta)))
    out.append("| configuration | " + " | ".join("%s flow%s" % (f, "" if f == "1" else "s")
                                                  for f in cols) + " |")
    out.append("|---|" + "---|" * len(cols))
    for cfg in ("kernel", "tc", "xdp"):
        cells = []
        for f in cols:
            if cfg == "kernel" and f.endswith("+1M"):
                cells.append("n/a")
                continue
            key = ("scale", cfg, n, f)
            c = fmt_rate(d.get("scale", cfg, n, f))
            fp = d.fp_min(key)
            if fp is not None and fp < 0.95:
                c += " (fast path only %.0f%%)" % (fp * 100)
            cells.append(c)
        out.append("| %s | %s |" % (NAMES[cfg], " | ".join(cells)))
    out.append("")
    lines = []
    for m in ("tc", "xdp"):
        s = d.ratio(("scale", m, n, "1000+1M"), ("scale", m, n, "1000"))
        if s:
            lines.append("%s with 1M extra entries / without: %s" % (m, fmt_ratio(s)))
        s = d.ratio(("scale", m, n, flows[-1]), ("scale", "kernel", n, flows[-1]))
        if s:
            lines.append("%s / kernel at %s flows: %s" % (m, flows[-1], fmt_ratio(s)))
    for m in ("tc", "xdp"):
        cells = []
        for f in cols:
            s = summary(d.ready.get(("scale", m, n, f), []))
            if s:
                cells.append("%s: %.1fs [%.1f-%.1f]" % (f, s[0], s[1], s[2]))
        if cells:
            lines.append("%s, time from the first packet until the fast path carried >= %.0f%% "
                         "(includes admission of every flow; resolution about 0.5 s; gives up after %s s "
                         "+ 1 s per 10k flows; the measured window starts then): %s" %
                         (m, float(meta.get("ready_share", 0.98)) * 100, meta.get("ready_timeout", "?"),
                          ", ".join(cells)))
    big = flows[-1]
    interval = float(meta.get("interval", 1))
    for m in ("tc", "xdp"):
        s = d.ratio(("scale", m, n, big), ("scale", m, n, "1"))
        # Of the packets the fast path saw in a window, the share it forwarded:
        # its own counters (forwarded, passed to the stack) from one snapshot,
        # free of the skew between the sink's and the program's counter reads.
        fp, slow, why = None, 0, []
        for r in d.rows:
            if (r["phase"], r["config"], r["flows"]) != ("scale", m, big):
                continue
            sh, v, sl = num(r["fastpath"]), num(r["value"]), num(r.get("slow"))
            if r.get("why") not in (None, "", "-"):
                why.append(r["why"])
            if sh is None or not v or sl is None:
                continue
            slow += sl
            fwd = sh * v * interval
            x = fwd / (fwd + sl) if fwd + sl > 0 else 0
            fp = x if fp is None else min(fp, x)
        ok = None if s is None or fp is None else (s[0] >= 0.8 and fp >= 0.99)
        if why:
            passed = "; packets passed to the stack in the windows, by reason: " + "; ".join(why)
        elif slow:
            passed = "; %d packets passed to the stack in the windows (reasons not recorded)" % slow
        else:
            passed = "; no packet passed to the stack in the windows"
        lines.append("%s, %s flows / 1 flow: %s; at %s flows the fast path forwarded at least %s "
                     "of the packets it saw in each window%s" %
                     (m, big, fmt_ratio(s), big, "-" if fp is None else "%.2f%%" % (fp * 100), passed))
        issue("%s active flows / 1 flow, %s (fast-path share)" % (big, m),
              "%s (share %s)" % ("-" if s is None else "%.2f" % s[0],
                                 "-" if fp is None else "%.2f%%" % (fp * 100)),
              ">= 0.8, share >= 99%%%s" % ("" if big == "100000" else
                                          " (at 100,000 flows; this run's largest: %s)" % big), ok)
    if "dummy_fill_s" in meta:
        lines.append("filling the map with the dummy entries took %ss (batched map updates)" %
                     meta["dummy_fill_s"])
    for l in lines:
        out.append("- " + l)
    out.append("")


STEADY_PERIOD = 2 ** 33 / 1e9  # s: the conntrack holds' period (NFO_CT_HOLD_SHIFT)
STEADY_AFTER = 0.4  # s after the start of a period that count as "just after"


def steady_section(d, meta, out):
    rows = [r for r in d.rows if r["phase"] == "steady"]
    if not rows:
        return
    f = rows[0]["flows"]
    out.append("## 2a. Steadiness (%s flows, no rules)\n" % f)
    out.append("The sink's rate in windows of 0.1 s for %s s, one run per configuration: the "
               "median, the lowest windows, how many fell below 90%% of the median, and the "
               "mean rate of the windows that end within %.1f s after a start of the clock's "
               "periods of 2^33 ns (8.6 s) against that of the others. Plain forwarding keeps "
               "no per-flow state: its dips are the host's. Were the conntrack holds of all flows due at the same instant, "
               "the windows just after it would drop.\n" % (meta.get("steady_s", "?"), STEADY_AFTER))
    out.append("| configuration | windows | median kpps | lowest | 2nd lowest | lowest / median "
               "| windows below 90% | just after a period's start (windows) / the others |")
    out.append("|---|---|---|---|---|---|---|---|")
    for cfg in ("plain", "tc", "xdp"):
        w = []
        for r in rows:
            v = num(r["value"])
            if r["config"] != cfg or v is None:
                continue
            up = num(r.get("why", "").partition("uptime=")[2])
            w.append((v, None if up is None else up % STEADY_PERIOD < STEADY_AFTER))
        if not w:
            continue
        v = sorted(x for x, _ in w)
        m = statistics.median(v)
        after = [x for x, a in w if a]
        rest = [x for x, a in w if a is False]
        fold = ("%.2f (%d)" % (statistics.mean(after) / statistics.mean(rest), len(after))
                if after and rest else "-")
        out.append("| %s | %d | %.0f | %.0f | %.0f | %.2f | %d | %s |" %
                   (NAMES[cfg], len(v), m / 1e3, v[0] / 1e3, v[min(1, len(v) - 1)] / 1e3,
                    v[0] / m if m else 0, sum(1 for x in v if x < 0.9 * m), fold))
    out.append("")


def bridge_section(d, meta, out):
    n = meta["scale_rules"]
    f = meta["main_flows"]
    out.append("## 2b. LAN behind a bridge (N=%s rules, %s flows)\n" % (n, f))
    out.append("kpps, median [min-max] of %s repetitions. \"bridge\": the router's LAN side is "
               "br-lan with its veth as the only port (nft-offload on br-lan, tc mode; "
               "br_netfilter as the host has it).\n" % meta["scale_reps"])
    out.append("| LAN device | %s | %s | offload / kernel |" % (NAMES["kernel"], NAMES["tc"]))
    out.append("|---|---|---|---|")
    for label, sfx in (("veth (lan0)", ""), ("bridge (br-lan)", "-br")):
        cells = []
        for cfg in ("kernel", "tc"):
            c = fmt_rate(d.get("bridge", cfg + sfx, n, f))
            fp = d.fp_min(("bridge", cfg + sfx, n, f))
            if fp is not None and fp < 0.95:
                c += " (fast path only %.0f%%)" % (fp * 100)
            cells.append(c)
        cells.append(fmt_ratio(d.ratio(("bridge", "tc" + sfx, n, f), ("bridge", "kernel" + sfx, n, f))))
        out.append("| %s | %s |" % (label, " | ".join(cells)))
    out.append("")
    s = d.ratio(("bridge", "tc-br", n, f), ("bridge", "tc", n, f))
    if s:
        out.append("nft-offload with the bridge / with plain veth: %s\n" % fmt_ratio(s))


def tcp_section(d, meta, out):
    n = meta["scale_rules"]
    out.append("## 3. TCP bulk throughput (iperf3, one connection, N=%s rules)\n" % n)
    out.append("Gbit/s, median [min-max] of %s runs of %ss, configurations interleaved. GRO is on "
               "at the router's lan0 and wan0 (as a NIC driver has it) and the end hosts send with "
               "TSO and checksum offload, except where XDP is attached: a local veth sender leaves "
               "partial checksums that an XDP redirect cannot complete (the sink counts "
               "TcpInCsumErrors and the transfer stalls), and a veth whose peer runs XDP loses "
               "its GSO features anyway. XDP is therefore compared with the kernel path fed by "
               "the same senders (no TSO, no checksum offload).\n" %
               (meta["tcp_reps"], meta["tcp_secs"]))
    out.append("| configuration | Gbit/s | fast-path share of router packets | offloads in force |")
    out.append("|---|---|---|---|")
    for cfg in ("plain", "kernel", "tc", "plain-txoff", "xdp"):
        key = ("tcp", cfg, n, "1")
        if key not in d.v:
            continue
        fp = d.fp_min(key)
        out.append("| %s | %s | %s | %s |" % (
            NAMES[cfg], fmt_rate(d.get("tcp", cfg, n, "1"), 1e9, "", 2),
            "-" if fp is None else ">= %.0f%%" % (min(fp, 1.0) * 100),
            meta.get("tcp_features_" + cfg, "-")))
    out.append("")
    out.append("| ratio (per round) | median [min-max] |")
    out.append("|---|---|")
    for label, a, b in (("tc / kernel, N rules", "tc", "kernel"), ("XDP / kernel, N rules", "xdp", "kernel"),
                        ("tc / kernel without ruleset", "tc", "plain"),
                        ("XDP / kernel without ruleset, same senders", "xdp", "plain-txoff"),
                        ("XDP / kernel without ruleset with TSO", "xdp", "plain")):
        out.append("| %s | %s |" % (label, fmt_ratio(d.ratio(("tcp", a, n, "1"), ("tcp", b, n, "1")))))
    out.append("")
    for m, ref in (("tc", "plain"), ("xdp", "plain-txoff")):
        s = d.ratio(("tcp", m, n, "1"), ("tcp", ref, n, "1"))
        issue("TCP bulk, one connection, offloaded / kernel with no ruleset, %s" % m,
              "%s%s" % ("-" if s is None else "%.2f" % s[0],
                        "" if m == "tc" else " (senders without TSO, as XDP on veth needs)"),
              ">= 1.0", None if s is None else s[0] >= 1.0)

    rows = [r for r in d.rows if r["phase"] == "fwdshare"]
    if rows:
        out.append("### Packets of a 2 MiB transfer that pass the forward chain\n")
        out.append("iperf3 -n 2M (one connection, plus iperf3's control connection), senders "
                   "without TSO and the router without GRO so that every count is in packets: "
                   "the forward chain's counters against every packet the router received "
                   "meanwhile (both directions), %s repetitions. The kernel row is the control "
                   "(every packet passes).\n" % meta["tcp_reps"])
        out.append("| configuration | share, median [min-max] | chain / router packets per repetition |")
        out.append("|---|---|---|")
        for cfg in ("kernel", "tc", "xdp"):
            rs = [r for r in rows if r["config"] == cfg]
            if not rs:
                continue
            s = summary(num(r["value"]) for r in rs)
            out.append("| %s | %s | %s |" % (
                NAMES[cfg], "-" if s is None else "%.1f%% [%.1f-%.1f]" % (s[0] * 100, s[1] * 100, s[2] * 100),
                ", ".join(r["slow"] for r in rs)))
            if cfg != "kernel":
                issue("share of a 2 MiB TCP transfer's packets through the forward chain, %s" % cfg,
                      "-" if s is None else "%.1f%%" % (s[0] * 100), "<= 5%",
                      None if s is None else s[0] <= 0.05)
        out.append("")


def cpu2_section(d, meta, out):
    n = meta["scale_rules"]
    out.append("## 3b. Two CPUs (N=%s rules for nft-offload)\n" % n)
    out.append("64-byte UDP, kpps at the sink, median [min-max] of %s repetitions. \"1 flow, 1 CPU\": "
               "one trafgen process on CPU 0; \"2 flows, 2 CPUs\": two trafgen processes, one flow "
               "each, one on CPU 0 and one on CPU 1, as RSS keeps a flow on one CPU; veth delivers "
               "each packet on the CPU that sent it, so each flow is forwarded on its own CPU. CPU 1 also runs the daemon, "
               "this script and the rest of the host: on a 2-CPU machine the ratio is a lower "
               "bound of the fast path's own scaling. The kernel without ruleset is the "
               "reference.\n" % meta["scale_reps"])
    out.append("| configuration | 1 flow, 1 CPU | 2 flows, 2 CPUs | 2 CPUs / 1 CPU (per round) |")
    out.append("|---|---|---|---|")
    for cfg, rules in (("plain", n), ("tc", n), ("xdp", n)):
        s = d.ratio(("cpu2", cfg, rules, "2"), ("cpu2", cfg, rules, "1"))
        out.append("| %s | %s | %s | %s |" % (NAMES[cfg], fmt_rate(d.get("cpu2", cfg, rules, "1")),
                                              fmt_rate(d.get("cpu2", cfg, rules, "2")), fmt_ratio(s)))
        if cfg != "plain":
            ref = d.ratio(("cpu2", "plain", n, "2"), ("cpu2", "plain", n, "1"))
            issue("2 flows on 2 CPUs, aggregate / 1 flow on 1 CPU, %s" % cfg,
                  "%s (kernel without ruleset: %s)" % ("-" if s is None else "%.2f" % s[0],
                                                      "-" if ref is None else "%.2f" % ref[0]),
                  ">= 1.8", None if s is None else s[0] >= 1.8)
    if meta.get("trafgen_gave_up"):
        out.append("\nNot measured, because trafgen could not keep sending (a sender's socket "
                   "stayed full, EAGAIN, and it exited; three tries each): %s."
                   % meta["trafgen_gave_up"])
    out.append("")


def cp_section(meta, out):
    out.append("## 4. Control plane\n")
    if "cp_flows" not in meta:
        out.append("not measured (phase not run)\n")
        return
    m = lambda k: meta.get(k, "")
    flows = int(m("cp_flows"))
    bulk = int(m("cp_bulk") or flows)
    off = int(m("cp_offloaded") or 0)
    held = int(m("cp_flows_now") or 0)
    t = float(m("cp_offload_s") or 0)
    create_s = float(m("cp_create_s") or 0)
    created = int(float(m("cp_created") or 0))
    rows = []
    lat = (m("cp_paced_lat_us") or "").split()
    if len(lat) == 3:
        rows.append(("offload latency (conntrack event read -> map entry) at %s new connections/s, "
                     "p50 / p99 / max" % m("cp_paced_rate"),
                     "%s / %s / %s us (%s connections, %s offloaded; events lost: %s)" %
                     (lat[0], lat[1], lat[2], m("cp_paced"), m("cp_paced_offloaded"),
                      m("cp_paced_lost"))))
    if m("cp_flood"):
        fo, fs = int(m("cp_flood_offloaded") or 0), float(m("cp_flood_s") or 0)
        rows.append(("a flood of %s new connections at %s/s asked for (reached: %s/s), default "
                     "settings: offloaded, conntrack events lost, daemon CPU" %
                     (m("cp_flood"), m("cp_flood_rate_wanted"), m("cp_flood_rate")),
                     "%d in %.2fs; %s events lost; %.1f us per offload" %
                     (fo, fs, m("cp_flood_lost"), float(m("cp_flood_cpu_s") or 0) / fo * 1e6 if fo else 0)))
    rows.append(("then conntrack entries created at once (ctnetlink, marked, replied)",
                 "%d in %.2fs (%.0f/s)" % (created, create_s, created / create_s if create_s else 0)))
    rows.append(("offloaded by the daemon", "%d of %d, %.2fs from the first entry to the last "
                 "offload seen; complete: %s" %
                 (off, bulk, t, m("cp_complete"))))
    rows.append(("sustained new offloads/s", "%.0f" %
                 (off / t if t else 0)))
    rows.append(("offload latency over all %d, p50 / p99 / max (events lost -> the resync "
                 "picks them up)" % flows,
                 "%s / %s / %s us" % (m("cp_lat_p50_us"), m("cp_lat_p99_us"), m("cp_lat_max_us"))))
    cpu = float(m("cp_bulk_cpu_s") or 0)
    rows.append(("daemon CPU while offloading (utime+stime; the first idle checks of the "
                 "connections before have ended)",
                 "%.2fs, %.1f us per offload" % (cpu, cpu / off * 1e6 if off else 0)))
    check = float(m("cp_bulk_check_cpu_s") or 0) if m("cp_bulk_check_cpu_s") else None
    if check is not None:
        rows.append(("daemon CPU of their first idle checks (10 s after each admission, "
                     "until the daemon was quiet; they hold conntrack where the fast path "
                     "cannot; conntrack held by %s here)" % (m("cp_ct_holder") or "?"),
                     "%.2fs, %.1f us per connection" % (check, check / off * 1e6 if off else 0)))
    idle = float(m("cp_idle_cpu_s") or 0)
    win = float(m("cp_idle_s") or 1)
    rows.append(("daemon CPU with the flows idle in the fast path",
                 "%.2fs over %.0fs (%.1f%% of a CPU), %d flows offloaded" %
                 (idle, win, idle / win * 100, held)))
    cu = (m("cp_dump") or "").split()
    if len(cu) == 2:
        rows.append(("full dump of the marked conntrack entries, all already offloaded "
                     "(asked for with SIGUSR1; the daemon dumps at 2, 10, 30 s after start, "
                     "after lost events and ruleset changes, then every 10 min; it is read in "
                     "slices between conntrack events, so new offloads go on meanwhile)",
                     "%s connections in %s ms (%.2f%% of the time at one per 10 min)" %
                     (cu[0], cu[1], int(cu[1]) / 600000 * 100)))
    pw = (m("cp_dump_wait") or "").split()
    if len(pw) == 5:
        rows.append(("new connections while that full dump ran: one every %.0f ms, each one's wait "
                     "from its creation (ctnetlink ack) to its map entry (bench/ct_flood --probe)" %
                     (1000 / float(m("probe_rate") or 1)),
                     "%s connections: max %s ms, p50 %s ms, p99 %s ms; %s not offloaded within 10 s" %
                     tuple(pw)))
    iw = (m("cp_idle_wait") or "").split()
    if len(iw) == 5:
        rows.append(("the same probe just before, with no dump running (the reference: the "
                     "daemon's wake-up, the map write, the probe's polling)",
                     "%s connections: max %s ms, p50 %s ms, p99 %s ms; %s not offloaded within 10 s" %
                     tuple(iw)))
    rss0, rss1 = int(m("cp_rss0_kb") or 0), int(m("cp_rss1_kb") or 0)
    rows.append(("daemon RSS", "%d kB -> %d kB (%.0f bytes per offloaded connection)" %
                 (rss0, rss1, (rss1 - rss0) * 1024 / held if held else 0)))
    m0, m1 = int(m("cp_map0_bytes") or 0), int(m("cp_map1_bytes") or 0)
    rows.append(("IPv4 flow map kernel memory (bpftool memlock)", "%.1f MB -> %.1f MB (%.0f bytes per connection, two entries)" %
                 (m0 / 1e6, m1 / 1e6, (m1 - m0) / held if held else 0)))
    rows.append(("conntrack events lost / resyncs / admission errors",
                 "%s / %s / %s" % (m("cp_events_lost"), m("cp_resyncs"), m("cp_admit_errors"))))
    if m("cp_stop_s"):
        rows.append(("stop (SIGTERM): programs off, every connection handed back to conntrack, "
                     "table and pins removed",
                     "%s s with %d connections; %s marks left behind" %
                     (m("cp_stop_s"), held, m("cp_stop_left"))))
    rate = off / t if t else None
    issue("sustained new offloads per second (daemon, as fast as ctnetlink creates them)",
          "-" if rate is None else "%.0f/s" % rate, ">= 50,000/s",
          None if rate is None else rate >= 50000)
    # Per connection: its admission, and its first idle check (where the fast
    # path cannot hold conntrack, a UDP connection's hold waits for it), which
    # is part of offloading it. The fast path's holds are forwarding CPU (the
    # BPF_PROG_TEST_RUN phase times one), not the daemon's.
    us = cpu / off * 1e6 if off and m("cp_bulk_cpu_s") else None
    shown = "-" if us is None else "%.1f us" % us
    if us is not None and check is not None:
        us += check / off * 1e6
        shown = "%.1f us (admission %.1f + first idle check %.1f; conntrack held by %s)" % (
            us, cpu / off * 1e6, check / off * 1e6, m("cp_ct_holder") or "?")
    issue("daemon CPU per offload", shown, "<= 10 us", None if us is None else us <= 10)
    if m("cp_flood"):
        lost = int(m("cp_flood_lost") or 0)
        reached = float(m("cp_flood_rate") or 0)
        issue("events lost at a %s/s flood, default settings" % m("cp_flood_rate_wanted"),
              "%d (flood reached %.0f/s)" % (lost, reached), "0 (at >= 50,000/s)",
              False if lost else (True if reached >= 0.95 * float(m("cp_flood_rate_wanted") or 0)
                                  else None))
    if len(pw) == 5:
        mx = float(pw[1])
        issue("longest admission wait while a full dump of %s connections runs" %
              (cu[0] if len(cu) == 2 else "?"),
              "%.1f ms (p99 %.1f ms; no dump: max %.1f, p99 %.1f ms)" %
              (mx, float(pw[3]), float(iw[1]), float(iw[3]))
              if len(iw) == 5 else "%.1f ms (p99 %.1f ms)" % (mx, float(pw[3])), "<= 10 ms",
              mx <= 10 and pw[4] == "0")
    out.append("| metric | value |")
    out.append("|---|---|")
    for k, v in rows:
        out.append("| %s | %s |" % (k, v))
    out.append("")
    ct_max = m("cp_ct_max")
    if m("cp_ct_max_raised_from"):
        out.append("For this phase the benchmark raised the host-wide conntrack limit "
                   "net.netfilter.nf_conntrack_max from %s to %s (BENCH_CT_MAX) and restored it "
                   "afterwards.\n" % (m("cp_ct_max_raised_from"), ct_max))
    wanted = int(m("cp_flows_wanted") or flows)
    if flows < wanted:
        need = -(-wanted * 8 // 7 // 100000) * 100000
        out.append("%d connections were asked for but %d measured: conntrack holds at most "
                   "nf_conntrack_max = %s entries here, a host-wide limit that cannot be raised "
                   "inside a namespace. The benchmark leaves host settings alone unless told: "
                   "`make bench BENCH_CT_MAX=%d`.\n" % (wanted, flows, ct_max, need))


def sets_section(d, meta, out):
    flows, n = meta.get("sets_flows", "?"), meta.get("scale_rules", "?")
    out.append("## Set updates\n")
    out.append("%s flows offloaded (tc, N=%s rules), a blocklist set referenced by a drop rule, "
               "one element added every second (never one of the flows' addresses). The "
               "fast-path share is of the packets that reached the sink in each window; the "
               "changes column counts the daemon's re-validations in the window.\n" % (flows, n))
    out.append("| set updates | kpps median [min-max] | fast-path share, min | set changes per window |")
    out.append("|---|---|---|---|")
    names = {"none": "none", "direct": "`ip saddr @blk drop`: only the concerned flows go back",
             "masked": "`ip saddr and 255.255.255.0 @blkm drop`: every flow goes back"}
    for cfg in ("none", "direct", "masked"):
        key = ("sets", cfg, n, flows)
        fp = d.fp.get(key, [])
        ch = d.ready.get(key, [])
        out.append("| %s | %s | %s | %s |" % (
            names[cfg], fmt_rate(d.get("sets", cfg, n, flows)),
            "%.3f" % min(fp) if fp else "not measured",
            "%.0f-%.0f" % (min(ch), max(ch)) if ch else "-"))
    out.append("")


def write_dat(path, d, phase, xs, series):
    """Rows: index, label, then median/min/max per series (NaN when missing)."""
    with open(path, "w") as f:
        for i, (label, keyf) in enumerate(xs):
            cells = []
            for cfg in series:
                s = d.get(*keyf(cfg))
                cells.append("%.1f %.1f %.1f" % (s[0] / 1e3, s[1] / 1e3, s[2] / 1e3) if s
                             else "NaN NaN NaN")
            f.write("%d %s %s\n" % (i, label, " ".join(cells)))


LINES = [("kernel", "#d95f02", 7, "kernel: conntrack + N rules + masquerade"),
         ("tc", "#1b9e77", 5, "nft-offload tc"), ("xdp", "#7570b3", 9, "nft-offload XDP")]


def plot(d, meta, png, workdir):
    rules = meta["rules"].split()
    flows = meta["main_flows"]
    series = [c for c, _, _, _ in LINES]
    dat = os.path.join(workdir, "plot.dat")
    write_dat(dat, d, "udp", [(n, lambda c, n=n: ("udp", c, n, flows)) for n in rules], series)
    have_scale = "scale" in meta["phases"].split()
    sflows = meta["scale_flows"].split() + ["1000+1M"]
    sdat = os.path.join(workdir, "scale.dat")
    write_dat(sdat, d, "scale", [(f, lambda c, f=f: ("scale", c, meta["scale_rules"], f))
                                 for f in sflows], series)
    refs = []
    for cfg, color in (("plain", "#555555"), ("limit-tc", "#1b9e77"), ("limit-xdp", "#7570b3")):
        s = d.get("udp", cfg, "-", flows)
        if s:
            refs.append("%.1f title '%s (%.0f kpps)' with lines dt 2 lw 1.5 lc rgb '%s'" %
                        (s[0] / 1e3, NAMES[cfg], s[0] / 1e3, color))

    def curves(path):
        out = []
        for i, (cfg, color, pt, title) in enumerate(LINES):
            c = 3 + 3 * i
            out.append("'%s' using 1:%d:%d:%d with yerrorlines lw 2 pt %d lc rgb '%s' title '%s'" %
                       (path, c, c + 1, c + 2, pt, color, title))
        return out

    gp = os.path.join(workdir, "plot.gp")
    with open(gp, "w") as f:
        f.write("set terminal pngcairo size %d,640 font 'sans,10'\n" % (1500 if have_scale else 1000))
        f.write("set output '%s'\n" % png)
        if have_scale:
            f.write("set multiplot layout 1,2 title \"nft-offload benchmark (%s run, %s): 64-byte "
                    "UDP, median and min-max of interleaved repetitions; whole pipeline on one "
                    "CPU\"\n" % (meta["kind"], meta["date"]))
        f.write("set title 'packets/s vs. forward rules (%s flows)'\n" % flows)
        f.write("set xlabel 'non-matching forward rules before \"ct state established accept\" (N)'\n")
        f.write("set ylabel 'packets/s at the sink (thousands)'\n")
        f.write("set yrange [0:*]\nset grid ytics\nset key outside bottom center horizontal maxrows 3\n")
        f.write("set xrange [-0.5:%f]\n" % (len(rules) - 0.5))
        f.write("set xtics (%s)\n" % ", ".join('"%s" %d' % (n, i) for i, n in enumerate(rules)))
        f.write("plot " + ", \\\n     ".join(curves(dat) + refs) + "\n")
        if have_scale:
            f.write("set title 'packets/s vs. active flows (N=%s rules)'\n" % meta["scale_rules"])
            f.write("set xlabel 'flows sending (1000+1M: plus 1M idle entries in the flow map)'\n")
            f.write("set xrange [-0.5:%f]\n" % (len(sflows) - 0.5))
            f.write("set xtics (%s)\n" % ", ".join('"%s" %d' % (n, i) for i, n in enumerate(sflows)))
            f.write("plot " + ", \\\n     ".join(curves(sdat)) + "\n")
            f.write("unset multiplot\n")
    r = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
    if r.returncode:
        return "the plot failed: " + r.stderr.strip()
    return None


def main():
    ap = argparse.ArgumentParser()
    for a in ("samples", "meta", "trb", "warnings", "md", "png", "workdir"):
        ap.add_argument("--" + a, required=True)
    args = ap.parse_args()
    rows = load_samples(args.samples)
    meta = load_meta(args.meta)
    d = Data(rows, float(meta.get("other_max", 0.1)))
    phases = meta["phases"].split()
    out = []
    out.append("# nft-offload benchmark (%s run)\n" % meta["kind"])
    out.append("%s; kernel %s; %s; commit %s; took %ss.\n" %
               (meta["date"], meta["kernel"], meta["cpu"], meta["commit"], meta.get("elapsed_s", "?")))
    out.append("Three network namespaces on veth: generator (trafgen pinned to CPU 0, 64-byte "
               "UDP) -> router -> sink (native XDP program dropping the test frames, counted by "
               "the veth's rx counter). Forwarding runs in softirq on the sending CPU, so "
               "generator, router and sink share CPU 0 and every rate is a whole-pipeline rate; "
               "the daemon runs on CPU 1. Compare ratios from one run, not absolute numbers "
               "across runs or machines. On veth, XDP has to copy every skb the generator sends "
               "into an XDP buffer, so XDP here says little about XDP on a NIC with native XDP.\n")
    if "udp" in phases:
        udp_section(d, meta, out)
    if "scale" in phases:
        scale_section(d, meta, out)
    if "steady" in phases:
        steady_section(d, meta, out)
    if "bridge" in phases:
        bridge_section(d, meta, out)
    if "tcp" in phases:
        tcp_section(d, meta, out)
    if "cpu2" in phases:
        cpu2_section(d, meta, out)
    if "cp" in phases:
        cp_section(meta, out)
    if "sets" in phases:
        sets_section(d, meta, out)
    # The issue's figures first, right after the introduction.
    table = ["## Performance goals (the figures of the performance issue, this run)\n",
             "| figure | measured | goal | result |", "|---|---|---|---|"]
    for fig, measured, target, ok in ISSUE:
        table.append("| %s | %s | %s | %s |" % (fig, measured, target, verdict(ok)))
    if not ISSUE:
        table.append("| (no phase that measures them was run) | | | |")
    table.append("")
    out[3:3] = table
    out.append("## 5. Fast path alone (BPF_PROG_TEST_RUN)\n")
    with open(args.trb) as f:
        out.append(f.read().strip() + "\n")
    out.append("## 6. Kernel flowtable (nf_flow_table)\n")
    out.append("Not measured: this kernel is built without CONFIG_NF_FLOW_TABLE, and under QEMU "
               "TCG (the only way to boot a kernel that has it here) every configuration hits "
               "the emulator's ceiling.\n")
    if "retries" in meta:
        out.append("Interference: a sample is repeated when more than %.0f%% of CPU 0 went to other "
                   "processes or the hypervisor (steal) during it; %s samples were repeated, %s were "
                   "kept although disturbed (attempts or retry budget used up; left out of medians and ratios "
                   "where undisturbed repetitions of the same configuration exist).\n" %
                   (float(meta.get("other_max", 0.1)) * 100, meta["retries"], meta.get("disturbed", 0)))
    if int(meta.get("stalls", 0)):
        out.append("Stalls: in %s samples no packet reached the sink at all (the generator's "
                   "veth stopped sending); they were repeated, up to 3 times each, and a sample "
                   "still at 0 packets/s stays in the table as 0.\n" % meta["stalls"])
    stops, left = int(meta.get("daemon_stops", 0)), int(meta.get("marks_left", 0))
    if left:
        out.append("Note: `nft-offload` was stopped %d times (SIGTERM) during the run and left %d "
                   "conntrack entries with its mark bit set; the benchmark cleared them before each "
                   "next start (bench/ct_unmark), so that every start met a clean router.\n" %
                   (stops, left))
    warn = open(args.warnings).read().strip() if os.path.exists(args.warnings) else ""
    if warn:
        out.append("## Daemon warnings during the run\n")
        out.append("```\n" + warn + "\n```\n")
    err = None
    if "udp" in phases:
        err = plot(d, meta, args.png, args.workdir)
    if err:
        out.append("Plot: " + err + "\n")
    out.append("Raw samples: bench/results/archive/ (same time stamp). Method: bench/run.sh.\n")
    with open(args.md, "w") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
