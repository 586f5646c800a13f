import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** An update lifecycle event a device reported (`…/events`). */
@Entity('device_events')
export class DeviceEventEntity {
  /** bigserial: the driver returns int8 as a string to avoid losing precision. */
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column('text', { name: 'device_id' })
  deviceId!: string;

  /** The device's id of the event (or the control plane's, given on receipt): unique per device, so a copy is stored once. */
  @Column('uuid', { name: 'event_id', nullable: true })
  eventId!: string | null;

  @Column('timestamptz')
  at!: Date;

  @Column('text')
  kind!: string;

  @Column('integer', { nullable: true })
  rev!: number | null;

  @Column('text')
  message!: string;
}
