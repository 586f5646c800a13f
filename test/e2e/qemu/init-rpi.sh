#!/bin/busybox sh
# Init of the Raspberry Pi harness's initramfs (test/e2e/qemu-rpi-tryboot.e2e.test.ts). The
# harness played the firmware: it read autoboot.txt and the slot's config.txt and started
# the kernel, this initramfs and cmdline.txt from the partition the firmware would have
# picked, with /chosen/bootloader/{tryboot,partition} in the device tree as the firmware
# sets them. This init plays what Raspberry Pi OS runs after that:
#  1. systemd's RuntimeWatchdogSec: open the hardware watchdog (QEMU's i6300esb standing in
#     for the BCM2711's) and pet it (busybox watchdog) for as long as this init is healthy.
#  2. The kernel's root=PARTLABEL=<name> from cmdline.txt, resolved through sysfs (PARTNAME);
#     the bootconfig partition at /boot/firmware and data at /data, as the image's fstab says.
#  3. The agent, restarted when it exits (its systemd unit).
#  4. flotilla-trial-watchdog: a trial boot not committed within flotilla.trial_deadline s
#     (autoboot.txt's [all] boot_partition still names another partition) is rebooted.
#  A root holding /etc/flotilla/test-hang stands for an OS that hangs in early userspace:
#  PID 1 stops petting the watchdog and does nothing more, so only the watchdog can end it.
#  `reboot ARGS` in the root prints ARGS (the firmware gets them from reboot(2); here the
#  harness reads them from the console: "0 tryboot" sets its one-shot tryboot flag).
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /boot /root
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules/order); do insmod "/modules/$m.ko" || echo "FLOTILLA-ERROR insmod $m"; done

arg() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
dt_cell() {
  f=/proc/device-tree/chosen/bootloader/$1
  if [ -f "$f" ]; then od -An -tu1 "$f" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }'; else echo 0; fi
}
part_named() {
  for u in /sys/class/block/*/uevent; do
    grep -qx "PARTNAME=$1" "$u" && sed -n 's/^DEVNAME=//p' "$u" && return
  done
}

i=0
while [ ! -c /dev/watchdog ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
wd=$(arg flotilla.watchdog)
watchdog -T "${wd:-10}" -t 1 /dev/watchdog || echo "FLOTILLA-ERROR no hardware watchdog"

i=0
while [ -z "$(part_named data)" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
tryboot=$(dt_cell tryboot)
partition=$(dt_cell partition)
root_arg=$(arg root)
case "$root_arg" in
  PARTLABEL=*) rootdev=/dev/$(part_named "${root_arg#PARTLABEL=}") ;;
  *) rootdev=$root_arg ;;
esac
mount -t vfat "/dev/$(part_named bootconfig)" /boot || echo "FLOTILLA-ERROR mount bootconfig"
mount -t ext4 -o ro "$rootdev" /root || echo "FLOTILLA-ERROR mount root $root_arg ($rootdev)"
FLOTILLA_OS_VERSION=none
[ -f /root/etc/flotilla/os-release ] && . /root/etc/flotilla/os-release
echo "FLOTILLA-BOOT partition=$partition root=$root_arg version=$FLOTILLA_OS_VERSION arch=$(uname -m) tryboot=$([ "$tryboot" = 1 ] && echo yes || echo no)"

if [ -f /root/etc/flotilla/test-hang ]; then
  echo "FLOTILLA-HANG OS $FLOTILLA_OS_VERSION hangs in early userspace; the watchdog is no longer petted"
  kill -STOP $(pidof watchdog)
  while true; do sleep 60; done
fi

for d in proc sys dev run tmp data boot/firmware; do [ -d "/root/$d" ] || echo "FLOTILLA-ERROR the root has no /$d"; done
mount -t proc proc /root/proc
mount -t sysfs sys /root/sys
mount -t devtmpfs dev /root/dev
mount -t tmpfs run /root/run
mount -t tmpfs tmp /root/tmp
mount -t ext4 "/dev/$(part_named data)" /root/data || echo "FLOTILLA-ERROR mount data"
mount --bind /boot /root/boot/firmware

ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
hostname flotilla-rpi

# Tools for the services in the root: a static busybox outside the root's own files
# (the agent's slot writer runs mount, umount and sync).
mkdir -p /root/run/flotilla-init/bin
cp /bin/busybox /root/run/flotilla-init/bin/busybox
for tool in mount umount sync; do ln -s busybox "/root/run/flotilla-init/bin/$tool"; done
printf '#!/run/flotilla-init/bin/busybox sh\necho "FLOTILLA-REBOOT-ARG $*" > /dev/console\nexec /run/flotilla-init/bin/busybox kill -TERM 1\n' > /root/run/flotilla-init/bin/reboot
chmod 755 /root/run/flotilla-init/bin/reboot

reboot_now() {
  echo "FLOTILLA-REBOOT $1"
  kill -TERM -1 2>/dev/null
  sleep 1
  kill -KILL -1 2>/dev/null
  sync
  umount /root/boot/firmware /root/data /root/tmp /root/run /root/dev /root/sys /root/proc /root /boot 2>/dev/null
  sync
  reboot -f
}
trap 'reboot_now requested' TERM

(
  while true; do
    # The command the image's systemd unit runs (node, the launcher, the agent): this init stands in for systemd.
    start=$(sed -n 's/^ExecStart=//p' /root/etc/systemd/system/flotilla-agent.service 2>/dev/null)
    if [ -x /root/usr/bin/node ] && [ -f /root/opt/flotilla/agent.js ] && [ -n "$start" ]; then
      echo "FLOTILLA-AGENT-START $start"
      chroot /root /run/flotilla-init/bin/busybox env -i PATH=/run/flotilla-init/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp \
        FLOTILLA_PROVISIONING=/boot/firmware/flotilla/provisioning.json FLOTILLA_STATE_DIR=/data/flotilla \
        FLOTILLA_STATUS_DIR=/run/flotilla FLOTILLA_REPORT_INTERVAL_MS=2000 FLOTILLA_OS_TRIAL_TIMEOUT_MS=60000 FLOTILLA_CONNECT_SPREAD_MS=0 \
        $start 2>&1 | sed 's/^/AGENT /'
      echo "FLOTILLA-AGENT-EXITED"
    else
      echo "FLOTILLA-AGENT-MISSING the root on $root_arg has no node, agent or agent unit"
    fi
    sleep 3
  done
) &

if [ "$tryboot" = 1 ]; then
  deadline=$(arg flotilla.trial_deadline)
  (
    sleep "${deadline:-180}"
    committed=$(sed -n '/^\[all\]/,/^\[/s/^boot_partition=//p' /boot/autoboot.txt | head -n 1)
    [ "$committed" != "$partition" ] && echo "FLOTILLA-WATCHDOG trial of partition $partition not committed in ${deadline:-180} s" && kill -TERM 1
  ) &
fi

while true; do sleep 1; done
