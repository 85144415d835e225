#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Layer (0): unit tests of userspace library code, each in a private network
# namespace (they only query it). Every tests/unit/*_test.c is one program.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
NS=nfo-unit-$$
trap 'ip netns del "$NS" 2>/dev/null || true' EXIT INT TERM
ip netns add "$NS"
ip -n "$NS" link set lo up
rc=0
for src in tests/unit/*_test.c; do
	t=$(basename "$src" .c)
	echo "# $t"
	ip netns exec "$NS" "$BUILD/tests/$t" || rc=1
done
# The benchmark report's goal verdicts, on synthetic samples.
echo "# bench/test_report.py"
python3 bench/test_report.py 2>&1 | tail -1
[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
exit $rc
