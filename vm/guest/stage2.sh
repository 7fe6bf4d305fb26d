#!/bin/bash
# Second stage of the tsublk VM, run as root on the guest's real root (the host's /, overlaid).
# It finishes the system (tmpfs, configfs, debugfs, modules), runs the job, writes its exit
# status where the host reads it, and powers the guest off.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8
control=/run/tsublk-vm
# shellcheck source=/dev/null
. "$control/job.env"

say() { echo "vm: $*" >&2; }
# Under systemd (npm run vm -- --init systemd) the job is a service, and the guest shuts down as
# a machine does: every unit stopped first. Under bash it is PID 1's child: power off at once.
under_systemd=false
[ "$(cat /proc/1/comm)" = systemd ] && under_systemd=true
finish() {
	echo "$1" >"$control/status"
	sync
	if $under_systemd; then systemctl --no-block poweroff && exit "$1"; fi
	/bin/busybox poweroff -f
}
# systemd mounts some of these itself.
mounted() { mountpoint -q "$1"; }

# The job's stdout and stderr are two virtio serial ports that the host reads.
for port in /sys/class/virtio-ports/*; do
	case "$(cat "$port/name" 2>/dev/null)" in
	tsublk.stdout) exec 1>"/dev/${port##*/}" ;;
	tsublk.stderr) exec 2>"/dev/${port##*/}" ;;
	esac
done

mkdir -p /dev/shm && { mounted /dev/shm || mount -t tmpfs -o mode=1777 tmpfs /dev/shm; }
mkdir -p /dev/pts && { mounted /dev/pts || mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts; }
# A bare devtmpfs has none of these links; bash process substitution needs /dev/fd.
ln -sfn /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
modprobe configfs 2>/dev/null
mounted /sys/kernel/config || mount -t configfs configfs /sys/kernel/config || { say "cannot mount configfs"; finish 125; }
mounted /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug || { say "cannot mount debugfs"; finish 125; }
ip link set lo up 2>/dev/null
hostname tsublk-vm

modprobe ublk_drv || { say "modprobe ublk_drv failed: this kernel has no ublk"; finish 125; }
if [ "$TSUBLK_VM_ANCHORS" = 1 ]; then
	# The comparison devices: null_blk as configured in facts.md, and a 1 GiB brd RAM disk.
	modprobe null_blk nr_devices=1 submit_queues=2 irqmode=0 || { say "modprobe null_blk failed"; finish 125; }
	modprobe brd rd_nr=1 rd_size=1048576 || { say "modprobe brd failed"; finish 125; }
fi
for i in $(seq 50); do [ -c /dev/ublk-control ] && break; sleep 0.1; done

: >"$control/started" # the kernel booted: a crash from here on is the job's
bash "$control/job.sh" </dev/null
finish $?
