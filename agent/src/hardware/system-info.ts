import * as si from 'systeminformation';

/** The part of `systeminformation` the agent calls; a test passes plain objects instead. */
export type SystemInfo = Pick<
  typeof si,
  'cpu' | 'mem' | 'osInfo' | 'fsSize' | 'networkInterfaces' | 'cpuTemperature' | 'system' | 'currentLoad'
>;

export const systemInfo: SystemInfo = si;
