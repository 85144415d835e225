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

# The host's BPF filesystem is outside the tests' own namespaces and
# directories (each test pins under its own mount in its temporary
# directory): a run that mounts it, or pins there, leaves state behind that
# a clean machine does not have. Checked after the layers; a mount this run
# made goes again on exit, also on failure or Ctrl-C.
bpffs_type() { stat -f -c %T /sys/fs/bpf 2>/dev/null; }
bpffs_list() { ls -A /sys/fs/bpf 2>/dev/null | tr '\n' ' '; }
bpffs_was=$(bpffs_type)
pins_were=$(bpffs_list)
bpffs_restore() {
	[ "$bpffs_was" = bpf_fs ] || [ "$(bpffs_type)" != bpf_fs ] || umount /sys/fs/bpf
}
trap bpffs_restore EXIT
trap 'exit 130' INT TERM

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
if [ "$(bpffs_type)" != "$bpffs_was" ] || [ "$(bpffs_list)" != "$pins_were" ]; then
	echo "not ok - the run left state on the host's /sys/fs/bpf: $(bpffs_type), entries: $(bpffs_list) (before: ${bpffs_was:-?}, entries: ${pins_were:-none})"
	failed+=("host-state")
fi
echo
if [ ${#failed[@]} -gt 0 ]; then
	echo "make check: FAILED layers: ${failed[*]} ($(( $(date +%s) - start ))s)"
	exit 1
fi
echo "make check: all layers passed ($(( $(date +%s) - start ))s)"
