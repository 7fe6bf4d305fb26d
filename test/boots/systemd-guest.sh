#!/bin/bash
# The guest's half of systemd.test.ts, run by `npm run vm -- --init systemd` (systemd is PID 1).
# `boot1 DIR`: install tsublk@.service as the README says, serve /etc/tsublk/disk.json (a memory
# device backed by a file in /var/lib/tsublk, an ext4 image DIR/var.img mounted by a unit: the
# memory target maps its file shared, which the project's 9p share cannot), write data, restart
# the unit, then keep /etc's changes in DIR/root, the layer the next boot lies over its root (the
# disk a real machine would have).
# `boot2 DIR`: the unit came back at boot by itself; read the data, stop it.
# Facts go to stdout as `key=value` lines for the host to check; tsublk's own words to stderr.
set -euo pipefail
phase=$1 dir=$2
unit=tsublk@disk.service
tsublk() { node bin/tsublk "$@"; }
fact() { echo "$1=$2"; }
device_state() { tsublk list -n 7 --json 2>/dev/null | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8"))[0]?.state ?? "none")' || echo none; }
# sha256 of the first 8 MiB of the device, read past the page cache.
device_sum() { dd if=/dev/ublkb7 bs=1M count=8 iflag=direct status=none | sha256sum | cut -d' ' -f1; }
show() { systemctl show -P "$1" "$unit"; }
# A failed step shows what systemd and the unit said.
trap 'systemctl status "$unit" --no-pager >&2 || true; journalctl -b -u "$unit" --no-pager -o cat >&2 || true' ERR

fact pid1 "$(cat /proc/1/comm)"
case $phase in
boot1)
	# The project's share is 9p, which cannot map a file shared: add says so and leaves no file.
	refused=$(tsublk add -t memory -n 7 --size 16M --backing "$dir/disk.img" 2>&1 >/dev/null) && fact on_9p_status 0 || fact on_9p_status $?
	fact on_9p_error "$refused"
	fact on_9p_file "$([ -e "$dir/disk.img" ] && echo left || echo none)"
	truncate -s 64M "$dir/var.img" && mkfs.ext4 -q "$dir/var.img"
	cat >/etc/systemd/system/var-lib-tsublk.mount <<-UNIT
		[Unit]
		Description=tsublk's backing files
		[Mount]
		What=$dir/var.img
		Where=/var/lib/tsublk
		Type=ext4
		Options=loop
		[Install]
		WantedBy=local-fs.target
	UNIT
	systemctl enable --now var-lib-tsublk.mount 2>&1 >&2
	mkdir -p /etc/tsublk /etc/systemd/system/tsublk@.service.d
	tsublk systemd-unit >/etc/systemd/system/tsublk@.service
	# WATCHDOG=1 every half of WatchdogSec: a daemon that stopped pinging would be killed. The
	# backing's filesystem must be mounted first (and unmounted only after the stop).
	printf '[Unit]\nRequiresMountsFor=/var/lib/tsublk\n[Service]\nWatchdogSec=3\n' >/etc/systemd/system/tsublk@.service.d/test.conf
	echo '{"type": "memory", "size": "32M", "backing": "/var/lib/tsublk/disk.img", "number": 7}' >/etc/tsublk/disk.json
	systemctl daemon-reload
	systemctl enable --now "$unit" 2>&1 >&2 # returns once READY=1 came (Type=notify)
	fact started_state "$(device_state)"
	fact started_active "$(show ActiveState)"
	fact started_status "$(show StatusText)"
	head -c 8M /dev/urandom >"$dir/data"
	dd if="$dir/data" of=/dev/ublkb7 bs=1M oflag=direct status=none
	fact written_sum "$(sha256sum <"$dir/data" | cut -d' ' -f1)"
	first_pid=$(show MainPID)
	systemctl restart "$unit"
	fact restarted_new_pid "$([ "$(show MainPID)" != "$first_pid" ] && echo yes || echo no)"
	fact restarted_state "$(device_state)"
	fact restarted_sum "$(device_sum)"
	sleep 4 # over WatchdogSec: still active only if the pings come
	fact watchdog_usec "$(show WatchdogUSec)"
	fact watchdog_pinged "$([ "$(show WatchdogTimestampMonotonic)" -gt 0 ] && echo yes || echo no)"
	fact watchdog_active "$(show ActiveState)"
	fact restarts "$(show NRestarts)"
	fact journal_live "$(journalctl -b -u "$unit" -o cat | grep -c '^tsublk: device 7: info LIVE: target memory' || true)"
	fact journal_stopping "$(journalctl -b -u "$unit" -o cat | grep -c '^tsublk: device 7: info SIGTERM: stopping' || true)"
	# What the machine's disk keeps: the unit, its drop-in, the config and the enablement.
	rm -rf "$dir/root" && mkdir -p "$dir/root"
	tar -C / -cf - etc/tsublk etc/systemd/system/tsublk@.service etc/systemd/system/tsublk@.service.d \
		"etc/systemd/system/multi-user.target.wants/$unit" etc/systemd/system/var-lib-tsublk.mount \
		etc/systemd/system/local-fs.target.wants/var-lib-tsublk.mount | tar -C "$dir/root" -xf -
	# The guest powers off through systemd now, which stops the unit as a reboot would.
	;;
boot2)
	# Nothing here starts it: multi-user.target, which this job follows, wanted it at boot.
	fact boot_active "$(show ActiveState)"
	fact boot_state "$(device_state)"
	fact boot_sum "$(device_sum)"
	systemctl stop "$unit"
	fact stopped_state "$(device_state)"
	fact stopped_node "$([ -e /dev/ublkb7 ] && echo present || echo gone)"
	;;
esac
