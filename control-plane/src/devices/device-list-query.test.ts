import { deviceListWhere } from './device-list-query';

describe('deviceListWhere', () => {
  it('is empty without filters and combines filters with AND, values as parameters', () => {
    expect(deviceListWhere({})).toEqual({ where: '', params: [] });
    const sql = deviceListWhere(
      { fleetId: 'f', tag: 'lab', online: true, updatePhase: 'fetch' },
      { createdAt: '2026-01-01T00:00:00.000001Z', id: 'dev_a' },
    );
    expect(sql.where).toBe(
      "WHERE d.fleet_id = $1 AND d.tags @> ARRAY[$2]::text[] AND d.online = $3 AND d.reported->'update'->>'phase' = $4 AND (d.created_at, d.id) > ($5::timestamptz, $6)",
    );
    expect(sql.params).toEqual(['f', 'lab', true, 'fetch', '2026-01-01T00:00:00.000001Z', 'dev_a']);
  });

  it('searches by name (any case) or id prefix, with LIKE wildcards taken literally', () => {
    expect(deviceListWhere({ search: 'Dev_1%' }).params).toEqual(['dev\\_1\\%%', 'Dev\\_1\\%%']);
  });
});
