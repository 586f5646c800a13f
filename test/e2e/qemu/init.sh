#!/bin/busybox sh
# Init of the QEMU test's initramfs. It plays the boot stage of the `file` OS-slot backend
# (agent/src/os-update/backends/file.ts): read flotilla/bootslot from the boot partition,
# take an armed trial once (tries - 1), else boot the committed slot, record `booted`,
# then mount that slot's root and print what the image holds. Then power off.
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /boot /root
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules/order); do insmod "/modules/$m.ko" || echo "FLOTILLA-ERROR insmod $m"; done
i=0
while [ ! -b /dev/vda3 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
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
token=$(sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' /boot/flotilla/provisioning.json)
model=$(tr -d '\0' < /proc/device-tree/compatible | cut -c1-40)
echo "FLOTILLA-BOOT slot=$slot version=$FLOTILLA_OS_VERSION token=$token arch=$(uname -m) compatible=$model"
# Root A of a built image carries Debian's arm64 Node and the bundled agent: run them
# once when asked (flotilla.node=1; it costs ~10 s under emulation). No network here: the
# agent starts, then stops at the missing provisioning file, which proves the bundle runs.
if grep -q 'flotilla.node=1' /proc/cmdline && [ -x /root/usr/bin/node ]; then
  mount -t proc proc /root/proc && mount -t devtmpfs dev /root/dev
  FLOTILLA_PROVISIONING=/nonexistent FLOTILLA_STATE_DIR=/dev/flotilla-state chroot /root /usr/bin/node -e \
    'console.log("FLOTILLA-NODE arch=" + process.arch + " version=" + process.version); require("/opt/flotilla/agent.js")' 2>&1 |
    sed -n -e '/FLOTILLA-NODE/p' -e 's/.*\("code":"provisioning-file-invalid"\).*/FLOTILLA-AGENT \1/p'
  umount /root/proc /root/dev
fi
umount /root
umount /boot
sync
echo FLOTILLA-POWEROFF
poweroff -f
