#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# End-to-end tests: each test_*.sh builds its own namespaces (lib.sh) and
# cleans up on exit. TESTS="offload paths" runs a subset.
set -u
cd "$(dirname "$0")"
failed=()
list=${TESTS:-$(ls test_*.sh | sed 's/^test_//; s/\.sh$//')}
for t in $list; do
	echo "--- e2e: $t"
	t0=$(date +%s)
	if bash "./test_$t.sh"; then
		echo "--- e2e: $t passed ($(( $(date +%s) - t0 ))s)"
	else
		echo "--- e2e: $t FAILED ($(( $(date +%s) - t0 ))s)"
		failed+=("$t")
	fi
done
[ ${#failed[@]} -eq 0 ] || { echo "e2e failed: ${failed[*]}"; exit 1; }
