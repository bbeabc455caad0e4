#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# ci/bench.d/pair.sh ORDER CASE BUDGET REF: in one guest boot (diorace vm ...
# -- exec -- sh /staged/pair.sh ...), run the case and its reference
# reproducer one after the other on the same kernel, ORDER "case-first" or
# "ref-first" (the bench alternates it over boots). Prints the case's fields
# as "CASE <name> <value>" and the reference's "REF ..." line.
order=$1 case=$2 budget=$3 ref=$4  # case: "NAME [--param K=V]"
work=/mnt/diorace

run_case() {
	mkdir -p $work/case
	# shellcheck disable=SC2086
	/diorace run $case --duration "$budget" --json /tmp/case.json --dir $work/case >/tmp/case.out 2>&1
	echo "CASE exit $?"
	# Its summary line ("FAIL  NAME (kind): N iterations, D s, ..., first
	# failure after T s") and, from the run document, its set-up time and
	# the time to its first failure unrounded.
	grep -E '^(PASS|FAIL|ERROR|SKIP|INCOMPLETE) ' /tmp/case.out | sed 's/^/CASE line /'
	grep -o '"setup_s": *[0-9.e+-]*' /tmp/case.json | head -n 1 | sed 's/^"setup_s": */CASE setup_s /'
	grep -o '"first_failure_s": *[0-9.e+-]*' /tmp/case.json | head -n 1 | sed 's/^"first_failure_s": */CASE first_failure_s /'
}

run_ref() {
	dir=$work/ref
	mkdir -p $dir
	if [ "$ref" = ref_ext4_inline ]; then
		# RACES.md bug 1 needs an ext4 made with -O inline_data.
		truncate -s 256M $work/inline.img
		mkfs.ext4 -q -F -O inline_data $work/inline.img || echo "REF ERROR mkfs"
		mkdir -p /inline && mount -o loop $work/inline.img /inline || echo "REF ERROR mount"
		dir=/inline
	fi
	/staged/$ref $dir "$budget"
	echo "REF exit $?"
	if [ "$dir" = /inline ]; then
		umount /inline
		rm -f $work/inline.img
	fi
}

if [ "$order" = ref-first ]; then
	run_ref
	run_case
else
	run_case
	run_ref
fi
