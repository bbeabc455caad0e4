#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The LAVA test definition's step: run diorace, then report its run document
# (lava-report: one LAVA test case per case, the document into the log).
#   diorace-lava.sh CASES DEVICE [RUN ARGS...]
# In diorace's own LAVA initramfs (no disk of ours) the cases get a 768 MiB
# ext4 on a loop device over tmpfs; on a board, DEVICE is the lab's scratch
# disk. Exit status 0 always: LAVA runs steps with `set -e`.
cases=${1:-all}
device=$2
[ $# -ge 2 ] && shift 2 || shift $#
bin=$(command -v diorace || echo /diorace)
doc=/tmp/diorace-lava-$$.json
set -- run $cases --json "$doc" "$@"
if [ -n "$device" ]; then
  set -- "$@" --device "$device"
elif [ -e /diorace-guest ]; then
  mkdir -p /mnt/diorace-lava
  truncate -s 768M /tmp/diorace-scratch.img
  loop=$(losetup -f) && losetup "$loop" /tmp/diorace-scratch.img &&
    mkfs.ext4 -q -F "$loop" && mount -t ext4 "$loop" /mnt/diorace-lava &&
    set -- "$@" --dir /mnt/diorace-lava
fi
# The installed program keeps no store on the board unless asked.
[ "$bin" = /diorace ] || set -- "$@" --store none
echo "diorace-lava: $bin $*"
"$bin" "$@"
echo "diorace-lava: diorace exit $?"
"$bin" lava-report --document "$doc" || echo "diorace-lava: lava-report exit $?"
rm -f "$doc"
exit 0
