#!/bin/busybox sh
# Init of the QEMU test's initramfs: the boot stage and the init system of a minimal
# Flotilla OS (the roots `flotilla image build` / `image os` make hold Node and the agent
# but no init of their own).
#  1. Boot stage of the `file` OS-slot backend (agent/src/os-update/backends/file.ts):
#     read flotilla/bootslot on the boot partition, take an armed trial once (tries - 1),
#     else boot the committed slot, and record `booted`.
#  2. Mount that slot's root with the boot partition at /boot/firmware and the data
#     partition at /data, as the image's fstab says, and bring up eth0 on QEMU's user
#     network (the host's loopback is 10.0.2.2 from here).
#  3. Run the agent, restarting it when it exits, as the image's service unit would.
#  4. Trial watchdog: a trial boot not committed within flotilla.trial_deadline seconds
#     (kernel command line) is rebooted, so the boot stage falls back; on a real board a
#     hardware watchdog or the bootloader's boot counter plays this part.
#  `reboot` inside the root signals this init (SIGTERM), which stops the agent, syncs,
#  unmounts and resets the machine.
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /boot /root
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules/order); do insmod "/modules/$m.ko" || echo "FLOTILLA-ERROR insmod $m"; done
i=0
while [ ! -b /dev/vda4 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
mount -t vfat /dev/vda1 /boot || echo "FLOTILLA-ERROR mount boot"

F=/boot/flotilla/bootslot
active=A; trial=; tries=0; booted=
[ -f "$F" ] && . "$F"
if [ -n "$trial" ] && [ "$tries" -gt 0 ]; then
  tries=$((tries - 1)); slot=$trial
else
  trial=; tries=0; slot=$active
fi
printf 'active=%s\ntrial=%s\ntries=%s\nbooted=%s\n' "$active" "$trial" "$tries" "$slot" > "$F"
sync

case "$slot" in B) dev=/dev/vda3 ;; *) dev=/dev/vda2 ;; esac
mount -t ext4 -o ro "$dev" /root || echo "FLOTILLA-ERROR mount root $dev"
FLOTILLA_OS_VERSION=none
[ -f /root/etc/flotilla/os-release ] && . /root/etc/flotilla/os-release
echo "FLOTILLA-BOOT slot=$slot version=$FLOTILLA_OS_VERSION arch=$(uname -m) trial=$([ "$slot" != "$active" ] && echo yes || echo no)"

for d in proc sys dev run tmp data boot/firmware; do [ -d "/root/$d" ] || echo "FLOTILLA-ERROR the root has no /$d"; done
mount -t proc proc /root/proc
mount -t sysfs sys /root/sys
mount -t devtmpfs dev /root/dev
mount -t tmpfs run /root/run
mount -t tmpfs tmp /root/tmp
mount -t ext4 /dev/vda4 /root/data || echo "FLOTILLA-ERROR mount data"
mount --bind /boot /root/boot/firmware

ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
hostname flotilla-qemu

# `reboot` for the services in the root: a static busybox outside the root's own files.
mkdir -p /root/run/flotilla-init/bin
cp /bin/busybox /root/run/flotilla-init/bin/busybox
printf '#!/run/flotilla-init/bin/busybox sh\nexec /run/flotilla-init/bin/busybox kill -TERM 1\n' > /root/run/flotilla-init/bin/reboot
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
      echo "FLOTILLA-AGENT-MISSING the root of slot $slot has no node, agent or agent unit"
    fi
    sleep 3
  done
) &

if [ "$slot" != "$active" ]; then
  deadline=$(sed -n 's/.*flotilla\.trial_deadline=\([0-9]*\).*/\1/p' /proc/cmdline)
  (
    sleep "${deadline:-180}"
    . "$F"
    [ "$active" != "$booted" ] && echo "FLOTILLA-WATCHDOG trial of slot $booted not committed in ${deadline:-180} s" && kill -TERM 1
  ) &
fi

while true; do sleep 1; done
