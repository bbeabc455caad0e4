#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs inside a diorace VM guest (vm --guest-device ... -- exec -- sh
# /staged/device_safety.sh MODE): diorace's device safety checks on the
# names a real driver gives (nvme0n1p1, sda), with the disk's checksum
# taken before and after each refusal. Prints one line per check:
#   CHECK <name> rc=<exit> sum=<same|CHANGED> msg=<diorace's first line>
# MODE: mounted-partition (a partition of the disk mounted: the disk and
# the partition refused), signature (an ext4 signature on the whole disk:
# refused; then forced: it runs).
disk=$DIORACE_SCRATCH_DISK
part=$DIORACE_DEVICE
sum() { md5sum "$1" | cut -d' ' -f1; }
check() {  # check NAME DEVICE [diorace run options...]
  name=$1; dev=$2; shift 2
  sync
  before=$(sum "$disk")
  /diorace run dma_thread --iterations 2 --device "$dev" "$@" >/tmp/out 2>&1
  rc=$?
  sync
  after=$(sum "$disk")
  same=same; [ "$before" = "$after" ] || same=CHANGED
  echo "CHECK $name rc=$rc sum=$same msg=$(grep -m1 -E 'diorace: |^(PASS|FAIL|ERROR|SKIP)' /tmp/out)"
}
mkfs() { mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$1"; }
case $1 in
mounted-partition)
  mkfs "$part" || exit 9
  mkdir -p /m && mount -t ext4 "$part" /m || exit 9
  echo diorace > /m/file
  check disk-with-mounted-partition "$disk"
  check mounted-partition "$part"
  umount /m
  ;;
signature)
  mkfs "$disk" || exit 9
  check disk-with-signature "$disk"
  check disk-forced "$disk" --force-device "$disk"
  ;;
*)
  echo "usage: device_safety.sh mounted-partition|signature"; exit 2 ;;
esac
echo DONE
