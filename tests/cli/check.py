#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Helpers of tests/cli/run.sh: normalise CLI output for the golden files,
validate JSON documents against their documented keys, and check that text
and JSON say the same thing.

  check.py block CMDLINE OUT ERR RC [json|text|ndjson]
      The golden block of one run: command line, normalised stdout, stderr and
      exit status. Unstable values (counters, ids, ifindexes, times, pids,
      kernel and version, machine-dependent kernel features) become <TAGS>;
      lines and arrays whose order is not defined are sorted.
  check.py validate KIND FILE [MAN]
      KIND: status, flows, stats, explain, watch. Exit 1 with one line per
      problem on stdout. With MAN (the output of --man), the documented keys
      must also appear in the man page's JSON OUTPUT section.
  check.py agree KIND TEXT JSON [STDERR]
      Text and JSON of the same state must agree.
  check.py get FILE EXPR
      Print a value from a JSON document (EXPR is Python on `d`).

Environment: NFO_TMP and NFO_PIN are replaced by <TMP> and <PIN>.
"""
import ipaddress
import json
import os
import re
import sys

# ---- normalisation --------------------------------------------------------

DUR = r"(?:\d+(?:\.\d+)?s|\d+m\d+s|\d+h\d+m|\d+d\d+h)"


def paths(s):
    for var, tag in (("NFO_PIN", "<PIN>"), ("NFO_TMP", "<TMP>")):
        v = os.environ.get(var)
        if v:
            s = s.replace(v, tag)
    return s


STATS_ROW = re.compile(r"^(\S+) +(\S*) +(\d+) +(\d+) +(\d+)(?:  (.*))?$")
DEV_ROW = re.compile(r"^  (\S+) +(\d+) (\S+) +(\S+) +(.*?)(  \(NOT ATTACHED\))?$")
FEATURE_ROW = re.compile(r"^  (.{20}) (yes|no|unknown)(?:  (.*))?$")

SUBS = [
    (re.compile(r"\bnft-offload \d+\.\d+\.\d+[\w.~+-]*"), "nft-offload <VERSION>"),
    (re.compile(r"(, kernel )\S+"), r"\1<KERNEL>"),
    (re.compile(r"\bpid \d+"), "pid <PID>"),
    (re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d([+-]\d{4})?"), "<DATE>"),
    (re.compile(r"^\d\d:\d\d:\d\d\.\d{3} ", re.M), "<TIME> "),
    (re.compile(r"\bup " + DUR), "up <DURATION>"),
    (re.compile(r"heartbeat " + DUR + " ago"), "heartbeat <DURATION> ago"),
    (re.compile(r"\d+ since start, \d+ evicted"), "<N> since start, <N> evicted"),
    (re.compile(r"\d+ conntrack events"), "<N> conntrack events"),
    (re.compile(r"\b\d+us\b"), "<US>"),
    (re.compile(r"\b[\d.]+ (bytes|KiB|MiB|GiB|TiB) of kernel memory"), "<BYTES> of kernel memory"),
    (re.compile(r"\bin \d+ ms\b"), "in <N> ms"),
    (re.compile(r"\b((?:total_)?(?:packets|bytes))=\d+"), r"\1=<N>"),
    (re.compile(r"\b(age|idle)=" + DUR), r"\1=<DURATION>"),
    (re.compile(r"\bid=\d+"), "id=<CT_ID>"),
    (re.compile(r"(conntrack|entry) id \d+"), r"\1 id <CT_ID>"),
    (re.compile(r"\d+ packets so far"), "<N> packets so far"),
]


def norm_text(s):
    s = paths(s)
    for rx, rep in SUBS:
        s = rx.sub(rep, s)
    out, flows, section = [], [], None
    for line in s.split("\n"):
        if line == "kernel features:":
            section = "features"
        elif line == "devices:":
            section = "devices"
        elif line.startswith("DEVICE ") and "SLOW-PATH REASONS" in line:
            section = "stats"
        elif not line.strip():
            section = None
        m = FEATURE_ROW.match(line) if section == "features" else None
        if m:
            # What this kernel has is not the CLI's business; `agree status`
            # checks that text and JSON report the same.
            line = "  %s <AVAILABLE>" % m.group(1)
        m = DEV_ROW.match(line) if section == "devices" else None
        if m and m.group(1) != "NAME":
            line = "  %-12s %7s %-12s %-6s %s%s" % (m.group(1), "<IFINDEX>", m.group(3),
                                                m.group(4), "<XDP_FEATURES>",
                                                m.group(6) or "")
        m = STATS_ROW.match(line) if section == "stats" else None
        if m:
            # Which slow-path reasons occur depends on timing (ARP, ND);
            # `agree stats` compares them with JSON.
            line = "%-12s %-11s %14s %16s %12s%s" % (m.group(1), m.group(2), "<N>", "<N>",
                                                   "<N>", "  <REASONS>" if m.group(6) else "")
        if re.match(r"^(tcp|udp) +src=", line):
            flows.append(line)  # order: by conntrack id, which is random
            continue
        if flows:
            out.extend(sorted(flows))
            flows = []
        out.append(line)
    out.extend(sorted(flows))
    return "\n".join(out)


UNSTABLE = {
    "version": "<VERSION>",
    "kernel": "<KERNEL>",
    "pid": "<PID>",
    "since": "<DATE>",
    "uptime_s": "<SECONDS>",
    "heartbeat_age_ms": "<MS>",
    "ifindex": "<IFINDEX>",
    "ct_id": "<CT_ID>",
    "age_s": "<SECONDS>",
    "idle_s": "<SECONDS>",
    "packets": "<N>",
    "bytes": "<N>",
    "total_packets": "<N>",
    "total_bytes": "<N>",
    "fwd_packets": "<N>",
    "fwd_bytes": "<N>",
    "slow_path_packets": "<N>",
    "handled": "<N>",
    "offloaded_total": "<N>",
    "evicted_total": "<N>",
    "p50_us": "<US>",
    "p99_us": "<US>",
    "max_us": "<US>",
    "reserved_bytes": "<BYTES>",
    "xdp_features": "<XDP_FEATURES>",
    "time": "<TIME>",
    "interval_ms": "<MS>",
    "fwd_pps": "<N>",
    "fwd_bits_per_s": "<N>",
    "slow_path_pps": "<N>",
}


def norm_json(v, key=None, parent=None):
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if key == "slow_path":
                out[k] = "<N>"
            elif parent == "features":
                out[k] = "<AVAILABLE>" if k == "available" else "<DETAIL>"
            else:
                out[k] = norm_json(x, k, key)
        return out
    if isinstance(v, list):
        items = [norm_json(x, None, key) for x in v]
        if key == "flows":
            items.sort(key=lambda f: json.dumps(f, sort_keys=True))
        return items
    if key in UNSTABLE and v is not None:
        return UNSTABLE[key]
    if isinstance(v, str):
        return norm_text(v)
    return v


def block(cmdline, out, err, rc, mode):
    with open(out) as f:
        so = f.read()
    with open(err) as f:
        se = f.read()
    if mode == "json":
        try:
            so = json.dumps(norm_json(json.loads(so)), indent=2) + "\n"
        except ValueError as e:
            so = "<INVALID JSON: %s>\n%s" % (e, so)
    elif mode == "ndjson":
        lines = []
        for line in so.splitlines():
            try:
                lines.append(json.dumps(norm_json(json.loads(line))))
            except ValueError as e:
                lines.append("<INVALID JSON: %s> %s" % (e, line))
        so = "\n".join(lines) + "\n"
    else:
        so = norm_text(so)
    se = norm_text(se)
    text = "$ nft-offload %s\n" % paths(cmdline)
    text += so if so.endswith("\n") or not so else so + "\n<no newline at end>\n"
    text += "--- stderr\n" + se
    if se and not se.endswith("\n"):
        text += "\n<no newline at end>\n"
    text += "--- exit %s\n" % rc
    sys.stdout.write(text)


# ---- validation against the documented keys -------------------------------

def _reasons_from_abi():
    """The slow-path reasons, in order, from the one list in include/nfo_abi.h."""
    hdr = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "include",
                       "nfo_abi.h")
    with open(hdr) as f:
        text = f.read()
    block = text[text.index("#define NFO_REASONS(X)"):]
    block = block[:block.index("\n\n")]
    return re.findall(r'X\([A-Z0-9_]+, "([a-z0-9_]+)"', block)


REASONS = _reasons_from_abi()
FLOW_KEYS = ["ct_id", "family", "protocol", "state", "nat", "age_s", "idle_s", "original",
             "reply"]
TUPLE_KEYS = ["src", "dst", "sport", "dport", "in", "out", "packets", "bytes", "total_packets",
              "total_bytes"]
DEV_KEYS = ["name", "ifindex", "mode", "fwd_packets", "fwd_bytes", "slow_path",
            "slow_path_packets"]
FEATURES = ["bpf", "btf", "xdp", "tc", "conntrack_events", "ctnetlink", "nftables",
            "conntrack_bpf", "kernel_flowtable"]
MODES = ["tc", "xdp", "xdp-generic"]

problems = []


def want(cond, what):
    if not cond:
        problems.append(what)
    return cond


def is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def has(obj, keys, where, types=None):
    if not want(isinstance(obj, dict), "%s: not an object" % where):
        return False
    for k in keys:
        want(k in obj, "%s: missing key %r" % (where, k))
    return True


def check_uints(obj, keys, where):
    for k in keys:
        if k in obj:
            want(is_uint(obj[k]), "%s.%s: %r is not a non-negative integer" % (where, k, obj[k]))


def valid_addr(s, fam):
    try:
        a = ipaddress.ip_address(s)
    except ValueError:
        return False
    return a.version == (4 if fam == "ipv4" else 6)


def v_flows(d):
    has(d, ["flows", "count"], "flows")
    want(is_uint(d.get("count")), "count: not a non-negative integer")
    for i, f in enumerate(d.get("flows", [])):
        w = "flows[%d]" % i
        has(f, FLOW_KEYS, w)
        want(f.get("family") in ("ipv4", "ipv6"), "%s.family: %r" % (w, f.get("family")))
        want(f.get("protocol") in ("tcp", "udp"), "%s.protocol: %r" % (w, f.get("protocol")))
        want(f.get("state") in ("active", "teardown"), "%s.state: %r" % (w, f.get("state")))
        want(f.get("nat") in ("none", "snat", "dnat", "snat+dnat"), "%s.nat: %r" %
             (w, f.get("nat")))
        check_uints(f, ["ct_id", "age_s", "idle_s"], w)
        for dname in ("original", "reply"):
            t = f.get(dname)
            wd = "%s.%s" % (w, dname)
            if not has(t, TUPLE_KEYS, wd):
                continue
            for k in ("src", "dst"):
                want(valid_addr(t.get(k), f.get("family")), "%s.%s: %r is not an %s address" %
                     (wd, k, t.get(k), f.get("family")))
            for k in ("sport", "dport"):
                want(is_uint(t.get(k)) and 0 < t[k] < 65536, "%s.%s: %r" % (wd, k, t.get(k)))
            check_uints(t, ["packets", "bytes"], wd)
            for k in ("total_packets", "total_bytes"):
                want(t.get(k) is None or (is_uint(t[k]) and t[k] >= t[k[6:]]),
                     "%s.%s: %r (null, or at least the fast path's)" % (wd, k, t.get(k)))
            want(isinstance(t.get("in"), str) and t["in"], "%s.in: %r" % (wd, t.get("in")))
            want(t.get("out") is None or isinstance(t["out"], str), "%s.out: %r" %
                 (wd, t.get("out")))
        o, r = f.get("original", {}), f.get("reply", {})
        if o and r and f.get("nat") == "none":
            want(o.get("src") == r.get("dst") and o.get("dst") == r.get("src"),
                 "%s: nat none but the reply tuple is not the inverse" % w)
        if o and r and f.get("nat") == "snat":
            want(o.get("src") != r.get("dst"), "%s: nat snat but no source change" % w)


def v_stats_dev(dv, w):
    check_uints(dv, ["fwd_packets", "fwd_bytes", "slow_path_packets"], w)
    sp = dv.get("slow_path")
    if want(isinstance(sp, dict), "%s.slow_path: not an object" % w):
        want(list(sp) == REASONS, "%s.slow_path: keys %s, documented %s" %
             (w, list(sp), REASONS))
        check_uints(sp, REASONS, w + ".slow_path")
        want(sum(v for v in sp.values() if is_uint(v)) == dv.get("slow_path_packets"),
             "%s: slow_path_packets is not the sum of the reasons" % w)


def v_stats(d):
    has(d, ["devices", "total"], "stats")
    tot = {"fwd_packets": 0, "fwd_bytes": 0, "slow_path_packets": 0}
    for i, dv in enumerate(d.get("devices", [])):
        w = "devices[%d]" % i
        has(dv, DEV_KEYS, w)
        want(dv.get("mode") in MODES, "%s.mode: %r" % (w, dv.get("mode")))
        check_uints(dv, ["ifindex"], w)
        v_stats_dev(dv, w)
        for k in tot:
            tot[k] += dv.get(k, 0) if is_uint(dv.get(k)) else 0
    t = d.get("total", {})
    has(t, ["fwd_packets", "fwd_bytes", "slow_path_packets", "slow_path"], "total")
    v_stats_dev(t, "total")
    for k, v in tot.items():
        want(t.get(k) == v, "total.%s is %r, the devices sum to %d" % (k, t.get(k), v))


def v_status(d):
    has(d, ["version", "kernel", "features", "daemon", "nft", "devices", "healthy"], "status")
    f = d.get("features", {})
    want(list(f) == FEATURES, "features: keys %s, expected %s" % (list(f), FEATURES))
    for k, v in f.items():
        has(v, ["available", "detail"], "features." + k)
        want(v.get("available") in (True, False, None), "features.%s.available: %r" %
             (k, v.get("available")))
        want(isinstance(v.get("detail"), str), "features.%s.detail: %r" % (k, v.get("detail")))
    dm = d.get("daemon", {})
    want(isinstance(dm.get("running"), bool), "daemon.running: %r" % dm.get("running"))
    if dm.get("running"):
        has(dm, ["pid", "since", "uptime_s", "heartbeat_age_ms"], "daemon")
        check_uints(dm, ["pid", "uptime_s", "heartbeat_age_ms"], "daemon")
        want(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$", str(dm.get("since"))),
             "daemon.since: %r" % dm.get("since"))
    n = d.get("nft", {})
    want(isinstance(n.get("table_present"), bool), "nft.table_present: %r" %
         n.get("table_present"))
    if "ct_mark" in n:
        m = n["ct_mark"]
        want(is_uint(m) and bin(m).count("1") == 2, "nft.ct_mark: %r is not two bits" % m)
    if "flows" in d:  # present when the state is pinned
        has(d["flows"], ["offloaded", "capacity", "reserved_bytes", "offloaded_total",
                         "evicted_total", "admit_errors", "waiting",
                         "ct_limit_above_capacity"], "flows")
        above = d["flows"]["ct_limit_above_capacity"]
        want(isinstance(above, bool), "flows.ct_limit_above_capacity: %r" % above)
        check_uints(d["flows"], [k for k in d["flows"] if k != "ct_limit_above_capacity"],
                    "flows")
        has(d.get("events"), ["handled", "lost", "resyncs", "revalidations"], "events")
        check_uints(d.get("events", {}), list(d.get("events", {})), "events")
        has(d.get("offload_latency"), ["p50_us", "p99_us", "max_us"], "offload_latency")
        check_uints(d.get("offload_latency", {}), ["p50_us", "p99_us", "max_us"],
                    "offload_latency")
    for i, dv in enumerate(d.get("devices", [])):
        w = "devices[%d]" % i
        has(dv, ["name", "ifindex", "mode", "attached", "link", "xdp_redirect_target",
                 "xdp_features"], w)
        want(dv.get("mode") in MODES, "%s.mode: %r" % (w, dv.get("mode")))
        want(dv.get("link") in ("up", "down", "gone"), "%s.link: %r" % (w, dv.get("link")))
        want(isinstance(dv.get("attached"), bool), "%s.attached: %r" % (w, dv.get("attached")))
    want(isinstance(d.get("healthy"), bool), "healthy: %r" % d.get("healthy"))
    want(isinstance(d.get("problems"), list), "problems must be a list")
    want(bool(d.get("problems")) == (d.get("healthy") is False),
         "problems must be non-empty exactly when not healthy")


def v_explain(d):
    has(d, ["protocol", "src", "sport", "dst", "dport", "checks", "offloaded", "verdict"],
        "explain")
    want(d.get("protocol") in ("tcp", "udp", None), "protocol: %r" % d.get("protocol"))
    want(isinstance(d.get("offloaded"), bool), "offloaded: %r" % d.get("offloaded"))
    want(isinstance(d.get("verdict"), str) and d["verdict"], "verdict: %r" % d.get("verdict"))
    checks = d.get("checks", [])
    want(len(checks) > 0, "checks: empty")
    for i, c in enumerate(checks):
        has(c, ["check", "ok", "detail"], "checks[%d]" % i)
    if d.get("offloaded"):
        want(d.get("verdict") == "offloaded", "offloaded but verdict %r" % d.get("verdict"))
    else:
        fails = [c for c in checks if c.get("ok") is False]
        want(fails and fails[0].get("detail") == d.get("verdict"),
             "verdict is not the first failed check's detail")


def v_watch(lines):
    want(len(lines) > 0, "no report")
    for i, line in enumerate(lines):
        try:
            d = json.loads(line)
        except ValueError as e:
            want(False, "report %d is not a JSON document (%s): %.60s" % (i + 1, e, line))
            continue
        has(d, ["time", "interval_ms", "devices"], "report %d" % (i + 1))
        for j, dv in enumerate(d.get("devices", [])):
            w = "report %d devices[%d]" % (i + 1, j)
            has(dv, ["name", "fwd_pps", "fwd_bits_per_s", "slow_path_pps"], w)
            check_uints(dv, ["fwd_pps", "fwd_bits_per_s", "slow_path_pps"], w)


def man_json_section(man):
    m = re.search(r"^\.SH JSON OUTPUT\n(.*?)^\.SH ", man, re.M | re.S)
    return m.group(1).replace("\\-", "-") if m else ""


def v_man(kind, man):
    sec = man_json_section(man)
    if not want(sec, "man page: no JSON OUTPUT section"):
        return
    keys = {"flows": ["flows", "count"] + FLOW_KEYS + TUPLE_KEYS,
            "stats": ["devices", "total"] + DEV_KEYS}.get(kind)
    if keys is None:
        # status and explain keys are not documented in the man page
        return
    for k in keys:
        want('"%s"' % k in sec, "man page JSON OUTPUT does not document %s key %r" % (kind, k))
    if kind == "stats":
        m = re.search(r"Reasons: ([a-z0-9_, ]+)\.", sec)
        doc = [r.strip() for r in m.group(1).split(",")] if m else []
        want(doc == REASONS, "man page reasons %s differ from the JSON's %s" % (doc, REASONS))


def validate(kind, path, man=None):
    with open(path) as f:
        raw = f.read()
    if kind == "watch":
        v_watch(raw.splitlines())
    else:
        try:
            d = json.loads(raw)
        except ValueError as e:
            print("not JSON: %s" % e)
            return 1
        {"flows": v_flows, "stats": v_stats, "status": v_status, "explain": v_explain}[kind](d)
    if man:
        with open(man) as f:
            v_man(kind, f.read())
    for p in problems:
        print(p)
    return 1 if problems else 0


# ---- text and JSON agree --------------------------------------------------

def kv(s):
    return dict(x.split("=", 1) for x in s.split() if "=" in x)


def a_flows(text, d, err):
    lines = [l for l in text.splitlines() if l.strip()]
    want(len(lines) == len(d["flows"]), "text has %d flows, JSON %d" % (len(lines), len(d["flows"])))
    want(d["count"] == len(d["flows"]), "JSON count %d, %d flows listed" %
         (d["count"], len(d["flows"])))
    if err is not None:
        m = re.search(r"(\d+) connections? offloaded", err)
        want(m and int(m.group(1)) == d["count"], "text summary %r, JSON count %d" %
             (err.strip(), d["count"]))
    byid = {f["ct_id"]: f for f in d["flows"]}
    for line in lines:
        m = re.match(r"^(tcp|udp) +(src=.*) \[OFFLOAD\] (.*)$", line)
        if not want(m, "text flow line not understood: %r" % line):
            continue
        tail = kv(m.group(3))
        f = byid.get(int(tail.get("id", -1)))
        if not want(f, "text flow id=%s not in JSON" % tail.get("id")):
            continue
        w = "flow id=%s" % tail["id"]
        want(m.group(1) == f["protocol"], "%s: protocol text %s, JSON %s" %
             (w, m.group(1), f["protocol"]))
        want(tail.get("nat") == f["nat"], "%s: nat text %s, JSON %s" % (w, tail.get("nat"), f["nat"]))
        want(tail.get("state") == f["state"], "%s: state text %s, JSON %s" %
             (w, tail.get("state"), f["state"]))
        halves = re.split(r" (?=src=)", m.group(2))
        want(len(halves) == 2, "%s: expected two tuples in %r" % (w, m.group(2)))
        for dname, half in zip(("original", "reply"), halves):
            t, j = kv(half), f[dname]
            for k in TUPLE_KEYS:
                jv = j.get(k)
                jv = "-" if jv is None else str(jv)
                if k in ("out", "total_packets", "total_bytes") and k not in t:
                    want(jv == "-", "%s %s.%s: no text, JSON %s" % (w, dname, k, jv))
                    continue
                want(t.get(k) == jv, "%s %s.%s: text %s, JSON %s" % (w, dname, k, t.get(k), jv))


STAT_LINE = re.compile(r"^(\S+) +(\S*) +(\d+) +(\d+) +(\d+)(?:  (.*))?$")


def a_stats(text, d, all_reasons=False):
    rows = {}
    for line in text.splitlines()[1:]:
        m = STAT_LINE.match(line)
        if want(m, "stats text line not understood: %r" % line):
            rows[m.group(1)] = m
    want(len(rows) == len(d["devices"]) + 1, "text has %d rows, JSON %d devices + total" %
         (len(rows), len(d["devices"])))
    for dv in d["devices"] + [dict(d["total"], name="total", mode="")]:
        m = rows.get(dv["name"])
        if not want(m, "device %s: no text row" % dv["name"]):
            continue
        w = "stats %s" % dv["name"]
        want(m.group(2) == dv["mode"], "%s: mode text %r, JSON %r" % (w, m.group(2), dv["mode"]))
        for i, k in ((3, "fwd_packets"), (4, "fwd_bytes"), (5, "slow_path_packets")):
            want(int(m.group(i)) == dv[k], "%s: %s text %s, JSON %s" % (w, k, m.group(i), dv[k]))
        if dv["name"] == "total":
            continue
        reasons = m.group(6) or ""
        shown = " ".join("%s=%d" % (k, v) for k, v in dv["slow_path"].items()
                         if v or all_reasons)
        want(reasons == (shown or "-"), "%s: reasons text %r, JSON %r" % (w, reasons, shown))


def a_status(text, d):
    lines = text.splitlines()
    want(lines and lines[0] == "nft-offload %s, kernel %s" % (d["version"], d["kernel"]),
         "status first line %r vs JSON version/kernel" % (lines[0] if lines else ""))
    names = {"bpf": "BPF", "btf": "BTF", "xdp": "XDP", "tc": "tc clsact + cls_bpf",
             "conntrack_events": "conntrack events", "ctnetlink": "ctnetlink",
             "nftables": "nftables", "conntrack_bpf": "conntrack BPF kfuncs",
             "kernel_flowtable": "kernel flowtable"}
    for k, v in d["features"].items():
        want_line = "  %-20s %s" % (names.get(k, k), {True: "yes", False: "no", None: "unknown"}
                                    [v["available"]])
        if v["detail"]:
            want_line += "  " + v["detail"]
        want(want_line in lines, "feature %s: no text line %r" % (k, want_line))
    dm = d["daemon"]
    dl = [l for l in lines if l.startswith("daemon:")]
    want(dl and dl[0].split()[1] == ("yes" if dm["running"] else "no"),
         "daemon running: text %r, JSON %r" % (dl, dm["running"]))
    if dm["running"] and dl:
        want("(pid %d, since %s," % (dm["pid"], dm["since"]) in dl[0],
             "daemon pid/since: text %r, JSON %r/%r" % (dl[0], dm["pid"], dm["since"]))
    nl = [l for l in lines if l.startswith("nft table:")]
    want(nl and nl[0].split()[4].rstrip(",") == ("present" if d["nft"]["table_present"] else "absent"),
         "nft table: text %r, JSON %r" % (nl, d["nft"]))
    if "ct_mark" in d["nft"] and nl:
        want("ct mark bits 0x%08x" % d["nft"]["ct_mark"] in nl[0], "ct mark: text %r, JSON %r" %
             (nl[0], d["nft"]["ct_mark"]))
    if "flows" in d:
        fl = [l for l in lines if l.startswith("flows:")]
        f = d["flows"]
        want(fl and fl[0].split()[1] == str(f["offloaded"]) and
             "(capacity %d per family," % f["capacity"] in fl[0] and
             ("TABLE FULL: %d " % f["waiting"] in text) == (f["waiting"] > 0),
             "flows: text %r, JSON %r" % (fl, f))
        ev = [l for l in lines if l.startswith("events:")]
        e = d["events"]
        want(ev and ev[0] == "events:     %d conntrack events, %d lost, %d resyncs, %d ruleset "
             "re-validations" % (e["handled"], e["lost"], e["resyncs"], e["revalidations"]),
             "events: text %r, JSON %r" % (ev, e))
    rows = {}
    for l in lines:
        m = DEV_ROW.match(l)
        if m and m.group(1) != "NAME" and m.group(2).isdigit():
            rows[m.group(1)] = m
    want(len(rows) == len(d["devices"]), "status: text lists %d devices, JSON %d" %
         (len(rows), len(d["devices"])))
    for dv in d["devices"]:
        m = rows.get(dv["name"])
        if not want(m, "status device %s: no text row" % dv["name"]):
            continue
        got = (int(m.group(2)), m.group(3), m.group(4), m.group(5), not m.group(6))
        exp = (dv["ifindex"], dv["mode"], dv["link"], dv["xdp_features"],
               dv["attached"] or dv["link"] == "gone")
        want(got == exp, "status device %s: text %r, JSON %r" % (dv["name"], got, exp))
    hl = [l for l in lines if l.startswith("health:")]
    exp = "health:     " + ("yes" if d["healthy"] else "no: " + "; ".join(d.get("problems", [])))
    want(hl and hl[0] == exp, "health: text %r, JSON says %r" % (hl, exp))


def a_explain(text, d):
    lines = text.splitlines()
    rows = [l for l in lines if re.match(r"^  \[( ok |FAIL)\] ", l)]
    want(len(rows) == len(d["checks"]), "explain: %d text checks, %d JSON checks" %
         (len(rows), len(d["checks"])))
    for l, c in zip(rows, d["checks"]):
        exp = "  [%s] %-18s %s" % (" ok " if c["ok"] else "FAIL", c["check"], c["detail"])
        want(l == exp, "explain check: text %r, JSON %r" % (l, exp))
    want(lines and lines[-1] == d["verdict"], "explain verdict: text %r, JSON %r" %
         (lines[-1] if lines else "", d["verdict"]))
    head = lines[0].split() if lines else []
    want(len(head) == 4 and head[0] == (d["protocol"] or "tcp/udp"),
         "explain protocol: text %r, JSON %r" % (head[:1], d["protocol"]))


def agree(kind, textf, jsonf, errf=None):
    with open(textf) as f:
        text = f.read()
    with open(jsonf) as f:
        d = json.load(f)
    err = None
    if errf:
        with open(errf) as f:
            err = f.read()
    if kind == "flows":
        a_flows(text, d, err)
    elif kind in ("stats", "stats-all"):
        a_stats(text, d, kind == "stats-all")
    elif kind == "status":
        a_status(text, d)
    elif kind == "explain":
        a_explain(text, d)
    for p in problems:
        print(p)
    return 1 if problems else 0


def main(argv):
    if len(argv) >= 6 and argv[1] == "block":
        block(argv[2], argv[3], argv[4], argv[5], argv[6] if len(argv) > 6 else "text")
        return 0
    if len(argv) in (4, 5) and argv[1] == "validate":
        return validate(argv[2], argv[3], argv[4] if len(argv) > 4 else None)
    if len(argv) in (5, 6) and argv[1] == "agree":
        return agree(*argv[2:])
    if len(argv) == 4 and argv[1] == "get":
        with open(argv[2]) as f:
            print(eval(argv[3], {"d": json.load(f)}))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
