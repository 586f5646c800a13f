import { z } from 'zod';

/** `firmware-specs/*.yaml`: what the image builder and the agent need to know about a board. */

export const ARCHITECTURES = ['arm64', 'amd64', 'armhf'] as const;
export const BOOT_BACKENDS = ['rpi-tryboot', 'uboot', 'grub', 'file'] as const;
/**
 * `boot` is the FAT partition the firmware reads first; `bootA`/`bootB` are per-slot boot
 * partitions (firmware, kernel, device trees, config.txt) for firmware that switches whole
 * boot partitions, as the Raspberry Pi's autoboot.txt does (firmware-specs/RASPBERRY-PI.md).
 */
export const PARTITION_ROLES = ['boot', 'bootA', 'bootB', 'rootA', 'rootB', 'data'] as const;
const REQUIRED_ROLES = ['boot', 'rootA', 'rootB', 'data'] as const;
export const HARDWARE_PROBES = ['device-tree-model', 'rpi-throttled', 'thermal-zones', 'rpi-serial', 'i2c-buses'] as const;

const size = z.string().regex(/^(\d+(MiB|GiB)|rest)$/, 'expected a size such as "256MiB" or "2GiB", or "rest" for the remaining space');

export const PartitionSpec = z
  .object({
    role: z.enum(PARTITION_ROLES),
    label: z.string().regex(/^[A-Za-z0-9_-]{1,11}$/, 'labels are 1-11 of [A-Za-z0-9_-] (FAT limits)'),
    fs: z.enum(['vfat', 'ext4']),
    size,
  })
  .strict();
export type PartitionSpec = z.infer<typeof PartitionSpec>;

/** C0 controls and DEL. */
const isControl = (c: string): boolean => c < ' ' || c === '\u007f';

export const BoardSpec = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    description: z.string(),
    arch: z.enum(ARCHITECTURES),
    soc: z.string(),
    /** Device-tree `model` strings (or their prefixes) by which the agent recognizes the board. */
    models: z.array(z.string()).default([]),
    boot: z
      .object({
        backend: z.enum(BOOT_BACKENDS),
        /** Kernel command line; `{root}` is replaced by the slot's root device. */
        cmdline: z
          .string()
          .includes('{root}', { message: 'the command line must contain "{root}"' })
          // cmdline.txt is one line, read up to its first newline; the U-Boot script's bootargs too.
          .refine((cmdline) => ![...cmdline].some(isControl), 'the command line is one line, without control characters'),
        /**
         * Where the bootloader keeps its variables, as a file on the boot partition: U-Boot's
         * `uboot.env` (CONFIG_ENV_IS_IN_FAT, `size` = CONFIG_ENV_SIZE) or GRUB's `grubenv`.
         */
        env: z
          .object({
            path: z.string().regex(/^[^/].*$/, 'a path relative to the boot partition'),
            size: z.number().int().positive(),
            /** Two copies with a flags byte (CONFIG_SYS_REDUNDAND_ENVIRONMENT). */
            redundant: z.boolean().default(false),
          })
          .strict()
          .optional(),
        /**
         * What the firmware needs on a slot's boot partition, checked by `image build`: the
         * kernel it loads when config.txt names none, and files it cannot boot without.
         */
        firmware: z
          .object({
            kernel: z.string().min(1),
            required: z.array(z.string().min(1)).default([]),
          })
          .strict()
          .optional(),
      })
      .strict(),
    partitionTable: z.enum(['mbr', 'gpt']),
    partitions: z.array(PartitionSpec).min(4),
    /** Size of a built image; a `rest` partition fills it (and can be grown on the device). */
    imageSize: z
      .string()
      .regex(/^\d+(MiB|GiB)$/, 'expected a size such as "1536MiB" or "2GiB"')
      .optional(),
    probes: z.array(z.enum(HARDWARE_PROBES)),
  })
  .strict()
  .superRefine((spec, ctx) => {
    for (const role of REQUIRED_ROLES) {
      const count = spec.partitions.filter((p) => p.role === role).length;
      if (count !== 1)
        ctx.addIssue({ code: 'custom', path: ['partitions'], message: `needs exactly one "${role}" partition, found ${count}` });
    }
    const slotBoots = spec.partitions.filter((p) => p.role === 'bootA' || p.role === 'bootB');
    const perSlotBoot = slotBoots.length > 0;
    if (perSlotBoot && (slotBoots.length !== 2 || slotBoots[0].role === slotBoots[1].role))
      ctx.addIssue({ code: 'custom', path: ['partitions'], message: 'per-slot boot partitions come as one "bootA" and one "bootB"' });
    if (slotBoots.some((p) => p.fs !== 'vfat'))
      ctx.addIssue({ code: 'custom', path: ['partitions'], message: 'per-slot boot partitions must be vfat (firmware reads them)' });
    if (spec.boot.backend === 'rpi-tryboot' && !perSlotBoot)
      ctx.addIssue({
        code: 'custom',
        path: ['partitions'],
        message: 'rpi-tryboot switches whole boot partitions (autoboot.txt boot_partition): add "bootA" and "bootB" vfat partitions',
      });
    if (spec.partitions.length > 4 && spec.partitionTable === 'mbr')
      ctx.addIssue({
        code: 'custom',
        path: ['partitionTable'],
        message: 'more than four partitions need "gpt" (MBR has four primary slots)',
      });
    const rest = spec.partitions.findIndex((p) => p.size === 'rest');
    if (rest >= 0 && rest !== spec.partitions.length - 1) {
      ctx.addIssue({ code: 'custom', path: ['partitions', rest, 'size'], message: '"rest" is only allowed on the last partition' });
    }
    if (rest >= 0 && !spec.imageSize)
      ctx.addIssue({ code: 'custom', path: ['imageSize'], message: 'a "rest" partition needs imageSize, the size of a built image' });
    const boot = spec.partitions.find((p) => p.role === 'boot');
    if (boot && boot.fs !== 'vfat')
      ctx.addIssue({ code: 'custom', path: ['partitions'], message: 'the boot partition must be vfat (firmware reads it)' });
  });
export type BoardSpec = z.infer<typeof BoardSpec>;
