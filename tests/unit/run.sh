#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Layer (0): unit tests of userspace library code, each in a private network
# namespace (they only query it).
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
NS=nfo-unit-$$
trap 'ip netns del "$NS" 2>/dev/null || true' EXIT INT TERM
ip netns add "$NS"
ip -n "$NS" link set lo up
rc=0
for t in pure_test flowtable_test nl_batch_test; do
	echo "# $t"
	ip netns exec "$NS" "$BUILD/tests/$t" || rc=1
done
exit $rc
