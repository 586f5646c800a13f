import { DashboardDeviceQuery } from '@flotilla/shared';
import { deviceListSql } from './device-query';

const parse = (q: Record<string, string>) => DashboardDeviceQuery.parse(q);

describe('deviceListSql', () => {
  it('lists live devices by name by default', () => {
    const sql = deviceListSql(parse({}));
    expect(sql).toEqual({ where: 'd.decommissioned_at IS NULL', params: [], order: 'd.name ASC, d.id ASC' });
  });

  it('passes every value as a parameter and escapes LIKE wildcards in the search', () => {
    const sql = deviceListSql(parse({ q: "50%_o'k", tag: 'lab', fleetId: '00000000-0000-4000-8000-000000000000', sort: '-lastSeen' }));
    expect(sql.params).toEqual(["%50\\%\\_o'k%", '00000000-0000-4000-8000-000000000000', 'lab']);
    expect(sql.where).not.toContain("o'k");
    expect(sql.where).toContain('d.tags @> ARRAY[$3]::text[]');
    expect(sql.order).toBe('d.last_seen_at DESC NULLS LAST, d.id DESC');
  });

  it('filters by status, including decommissioned devices only when asked', () => {
    expect(deviceListSql(parse({ status: 'offline' })).where).toBe('d.decommissioned_at IS NULL AND NOT d.online');
    expect(deviceListSql(parse({ status: 'decommissioned' })).where).toBe('d.decommissioned_at IS NOT NULL');
  });

  it('refuses an unknown sort and a page too large', () => {
    expect(DashboardDeviceQuery.safeParse({ sort: 'password_hash' }).success).toBe(false);
    expect(DashboardDeviceQuery.safeParse({ limit: '5000' }).success).toBe(false);
  });
});
