#!/bin/busybox sh
# First stage of the tsublk VM, run by the kernel from the initramfs (busybox only).
# It builds the guest's root: the host's / (read-only, 9p) under a tmpfs overlay, the guest
# kernel's modules, the project directory read-write at its host path, and the run's control
# directory; then it hands over to stage2.sh on that root. Any failure powers the guest off,
# and the host reports it with the console log.
/bin/busybox --install -s /bin
export PATH=/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

fail() {
	echo "tsublk-vm init: $*"
	poweroff -f
}

arg() {
	# The value of tsublk.$1= on the kernel command line.
	for word in $(cat /proc/cmdline); do
		case "$word" in "tsublk.$1="*) echo "${word#tsublk.$1=}" ;; esac
	done
}

release=$(uname -r)
project=$(arg project)
[ -n "$project" ] || fail "no tsublk.project= on the kernel command line"

for module in $(cat /modules.list); do
	insmod "/modules/$module" || fail "insmod $module failed"
done

ninep="trans=virtio,version=9p2000.L,msize=1048576"
mkdir -p /lower /upper /newroot
mount -t 9p -o "$ninep,ro,cache=loose" hostroot /lower || fail "cannot mount the host's root over 9p"
mount -t tmpfs -o mode=0755 upper /upper
mkdir -p /upper/data /upper/work
# A layer (npm run vm -- --layer DIR) lies over the host's root: what an earlier boot left there
# is in the guest's / from the start, as a disk would keep it.
layer=$(arg layer)
lower=/lower
if [ -n "$layer" ]; then
	# A share of its own: overlayfs refuses a layer inside another layer of the same mount.
	mkdir -p /layer
	mount -t 9p -o "$ninep,ro" layer /layer || fail "cannot mount the layer $layer"
	lower="/layer:/lower"
fi
mount -t overlay -o "lowerdir=$lower,upperdir=/upper/data,workdir=/upper/work" overlay /newroot ||
	fail "cannot mount the overlay root"

# tmpfs first, so that a project living under /tmp or /run stays visible once it is mounted.
mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp
mount -t tmpfs -o mode=0755 tmpfs /newroot/run

if [ "$(arg modules)" = 1 ]; then
	mkdir -p "/newroot/lib/modules/$release"
	mount -t 9p -o "$ninep,ro" modules "/newroot/lib/modules/$release" || fail "cannot mount the modules"
fi
mkdir -p "/newroot$project"
mount -t 9p -o "$ninep,rw" project "/newroot$project" || fail "cannot mount the project at $project"
# What the guest reads again in every process it starts (node_modules, dist): from the cached
# read-only share of the host's root under a tmpfs overlay (tools may still write their caches
# there: they vanish at power-off), so each CLI run does not fetch its modules over 9p.
for dir in node_modules dist; do
	if [ -d "/lower$project/$dir" ]; then
		mkdir -p "/upper/$dir/data" "/upper/$dir/work"
		mount -t overlay -o "lowerdir=/lower$project/$dir,upperdir=/upper/$dir/data,workdir=/upper/$dir/work" overlay "/newroot$project/$dir" ||
			fail "cannot overlay $project/$dir"
	fi
done
mkdir -p /newroot/run/tsublk-vm
mount -t 9p -o "$ninep,rw" control /newroot/run/tsublk-vm || fail "cannot mount the control directory"

init=$(arg init)
if [ "$init" = systemd ]; then
	# systemd as PID 1 (--init systemd): the job is a service started once multi-user.target is
	# up. The units the host enabled are the host's, not the guest's: masked for this boot.
	units=/newroot/run/systemd/system
	mkdir -p "$units/multi-user.target.wants"
	for unit in /lower/etc/systemd/system/*.wants/*; do
		[ -e "$unit" ] || [ -L "$unit" ] && ln -sf /dev/null "$units/${unit##*/}"
	done
	cat >"$units/tsublk-vm.service" <<-UNIT
		[Unit]
		Description=tsublk VM job
		After=multi-user.target
		[Service]
		Type=simple
		ExecStart=/bin/bash /run/tsublk-vm/stage2.sh
		UNIT
	ln -s ../tsublk-vm.service "$units/multi-user.target.wants/tsublk-vm.service"
fi

mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
[ "$init" = systemd ] && exec switch_root /newroot /lib/systemd/systemd
exec switch_root /newroot /bin/bash /run/tsublk-vm/stage2.sh
