/** The zone the device's clock is set to (TZ, else /etc/localtime), as maintenance windows and the inventory read it. */
export function deviceTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}
