import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** One metric sample of a device's `…/telemetry` batch. */
@Entity('telemetry_samples')
export class TelemetrySampleEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column('text', { name: 'device_id' })
  deviceId!: string;

  @Column('timestamptz')
  at!: Date;

  @Column('double precision', { name: 'cpu_percent' })
  cpuPercent!: number;

  /** int8 columns come back as strings from the driver. */
  @Column('bigint', { name: 'mem_used_bytes' })
  memUsedBytes!: string;

  @Column('bigint', { name: 'mem_total_bytes' })
  memTotalBytes!: string;

  @Column('double precision', { name: 'temperature_c', nullable: true })
  temperatureC!: number | null;
}
