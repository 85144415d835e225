#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Every test layer, as `make check` runs it: unit tests of library code,
# BPF_PROG_TEST_RUN packet tests, CLI golden output, end-to-end tests in
# network namespaces.
set -u
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "tests: must run as root (namespaces, BPF)"; exit 1; }
start=$(date +%s)
failed=()
for layer in unit bpf cli e2e; do
	echo "=== $layer ==="
	t0=$(date +%s)
	if "./tests/$layer/run.sh"; then
		echo "=== $layer: passed ($(( $(date +%s) - t0 ))s) ==="
	else
		echo "=== $layer: FAILED ($(( $(date +%s) - t0 ))s) ==="
		failed+=("$layer")
	fi
done
echo
if [ ${#failed[@]} -gt 0 ]; then
	echo "make check: FAILED layers: ${failed[*]} ($(( $(date +%s) - start ))s)"
	exit 1
fi
echo "make check: all layers passed ($(( $(date +%s) - start ))s)"
