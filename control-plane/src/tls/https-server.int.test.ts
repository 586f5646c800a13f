import { request } from 'node:https';
import { makeTestTls } from '../../../test/support/test-tls';
import { SECURITY_HEADERS } from '../http/security-headers';
import { CONNECTION_BOUNDS } from '../limits/connection-bounds';
import { listenHttps } from './https-server';

/**
 * Integration (a real HTTPS listener on loopback): before the app serves it, the listener answers
 * 503 with the headers every answer of the app carries.
 */
it('answers 503 while starting, with the security headers', async () => {
  const tls = await makeTestTls();
  const https = await listenHttps({ host: '127.0.0.1', port: 0 }, { ...tls.server, deviceCaPem: tls.caPem }, CONNECTION_BOUNDS);
  try {
    const answer = await new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) =>
      request({ host: '127.0.0.1', port: https.port, path: '/', ca: tls.caPem, servername: 'localhost' }, (res) => {
        res.resume();
        resolve({ status: res.statusCode!, headers: res.headers });
      })
        .on('error', reject)
        .end(),
    );
    expect(answer.status).toBe(503);
    expect(answer.headers).toMatchObject({ ...SECURITY_HEADERS, 'retry-after': '1' });
  } finally {
    await https.close();
  }
});
