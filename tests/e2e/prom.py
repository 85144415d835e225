#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Prometheus text exposition format (0.0.4), checked strictly, and lookups.

  check FILE                 exit 0 if FILE is valid; else print why
  get FILE NAME [K=V ...]    print the value of the one sample with these labels
  scrape URL                 GET URL (HTTP) and print the body; exit 1 unless 200
promtool is not used: Debian's prometheus package is about 100 MB installed.
"""
import math
import re
import sys
import urllib.request

NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*'
LVAL = r'"(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r'^(%s)(\{(?:%s=%s(?:,%s=%s)*)?\})? (\S+)$' % (NAME, LABEL, LVAL, LABEL, LVAL))
PAIR = re.compile(r'(%s)=(%s)' % (LABEL, LVAL))
TYPES = {'counter', 'gauge', 'histogram', 'summary', 'untyped'}


def parse(text):
    """Returns (families {name: type}, samples [(name, labels dict, value)]); raises ValueError."""
    if not text.endswith('\n'):
        raise ValueError('missing final newline')
    types, helps, samples, seen = {}, set(), [], set()
    order, current = [], None
    for n, line in enumerate(text.split('\n')[:-1], 1):
        where = 'line %d: ' % n
        if line.startswith('# HELP '):
            m = re.match(r'^# HELP (%s) (.+)$' % NAME, line)
            if not m or m.group(1) in helps:
                raise ValueError(where + 'bad or repeated HELP')
            helps.add(m.group(1))
            continue
        if line.startswith('# TYPE '):
            m = re.match(r'^# TYPE (%s) (\S+)$' % NAME, line)
            if not m or m.group(2) not in TYPES or m.group(1) in types:
                raise ValueError(where + 'bad or repeated TYPE')
            types[m.group(1)] = m.group(2)
            current = m.group(1)
            order.append(current)
            continue
        if line.startswith('#') or not line:
            raise ValueError(where + 'unexpected comment or blank line')
        m = SAMPLE.match(line)
        if not m:
            raise ValueError(where + 'not a sample: %r' % line)
        name, lab, val = m.group(1), m.group(2) or '', m.group(3)
        fam = name
        for suf in ('_bucket', '_sum', '_count'):
            if name.endswith(suf) and types.get(name[:-len(suf)]) == 'histogram':
                fam = name[:-len(suf)]
        if fam != current:
            raise ValueError(where + '%s outside its family (no TYPE before it)' % name)
        if fam not in helps:
            raise ValueError(where + '%s has no HELP' % fam)
        labels = dict((k, v[1:-1]) for k, v in PAIR.findall(lab))
        if len(labels) != lab.count('="'):
            raise ValueError(where + 'repeated label')
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            raise ValueError(where + 'duplicate series %s%s' % (name, lab))
        seen.add(key)
        v = float(val.replace('+Inf', 'inf'))
        if math.isnan(v):
            raise ValueError(where + 'NaN')
        if types[fam] == 'counter':
            if not name.endswith('_total') or v < 0:
                raise ValueError(where + 'counter %s: name must end in _total, value >= 0' % name)
        samples.append((name, labels, v))
    for fam, t in types.items():
        if t != 'histogram':
            continue
        les = [(s[1]['le'], s[2]) for s in samples if s[0] == fam + '_bucket']
        if not les or les[-1][0] != '+Inf':
            raise ValueError('%s: no +Inf bucket' % fam)
        vals = [v for _, v in les]
        if vals != sorted(vals):
            raise ValueError('%s: buckets not cumulative' % fam)
        bounds = [float(le.replace('+Inf', 'inf')) for le, _ in les]
        if bounds != sorted(bounds):
            raise ValueError('%s: bucket bounds not increasing' % fam)
        count = [s[2] for s in samples if s[0] == fam + '_count']
        if count != [vals[-1]] or not [s for s in samples if s[0] == fam + '_sum']:
            raise ValueError('%s: _count must equal the +Inf bucket, _sum must exist' % fam)
    return types, samples


def main():
    cmd = sys.argv[1]
    if cmd == 'scrape':
        with urllib.request.urlopen(sys.argv[2], timeout=5) as r:
            if r.status != 200 or not r.headers['Content-Type'].startswith('text/plain'):
                return 1
            sys.stdout.write(r.read().decode())
        return 0
    text = open(sys.argv[2]).read()
    try:
        _, samples = parse(text)
    except ValueError as e:
        print('invalid exposition: %s' % e)
        return 1
    if cmd == 'check':
        print('%d samples' % len(samples))
        return 0
    want = dict(a.split('=', 1) for a in sys.argv[4:])
    hits = [s for s in samples if s[0] == sys.argv[3] and s[1] == want]
    if len(hits) != 1:
        print('no sample %s %s' % (sys.argv[3], want), file=sys.stderr)
        return 1
    print('%d' % hits[0][2] if hits[0][2] == int(hits[0][2]) else hits[0][2])
    return 0


if __name__ == '__main__':
    sys.exit(main())
