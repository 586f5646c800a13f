import { readFileSync, readlinkSync } from 'node:fs';

const IANA_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;
/** Names of UTC that ICU reports as `UTC`, so the inventory says the same as before. */
const UTC_ALIASES = /^(Etc\/)?(UTC|UCT|Universal|Zulu)$/;

/**
 * The zone the device's clock is set to, as maintenance windows and the inventory read it: TZ,
 * else the zoneinfo file /etc/localtime links to, else /etc/timezone, else UTC (what ICU looks
 * at too). Read from the files rather than asked of `Intl`: the first `Intl` call maps ICU's
 * locale and zone data, about 8 MB of RSS an idle agent keeps for good (BENCHMARKS.md "agent").
 */
export function deviceTimeZone(env: NodeJS.ProcessEnv = process.env, root = '/'): string {
  const zone = configuredZone(env, root);
  return UTC_ALIASES.test(zone) ? 'UTC' : zone;
}

function configuredZone(env: NodeJS.ProcessEnv, root: string): string {
  const fromEnv = env.TZ?.replace(/^:/, '');
  if (fromEnv && IANA_NAME.test(fromEnv)) return fromEnv;
  try {
    const target = readlinkSync(`${root}etc/localtime`);
    const zone = target.slice(target.indexOf('zoneinfo/') + 'zoneinfo/'.length);
    if (target.includes('zoneinfo/') && IANA_NAME.test(zone)) return zone;
  } catch {
    // not a link (a copied zone file) or absent: try the name file
  }
  try {
    const zone = readFileSync(`${root}etc/timezone`, 'utf8').trim();
    if (IANA_NAME.test(zone)) return zone;
  } catch {
    // absent
  }
  return 'UTC';
}
