import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { errorMessage } from '../support/errors';
import { PinnedCaMissingError } from './errors';

export interface HttpAnswer {
  status: number;
  text: string;
}

/** POSTs JSON to the control plane; `https://` is verified against `ca` only (a list given to Node replaces its system CAs). */
export type PostJson = (url: string, body: unknown, options: { ca?: string[]; signal?: AbortSignal }) => Promise<HttpAnswer>;

const TIMEOUT_MS = 30_000;
const MAX_ANSWER_BYTES = 1024 * 1024;

export const postJson: PostJson = (url, body, { ca, signal }) => {
  const secure = url.startsWith('https://');
  if (secure && !ca?.length) return Promise.reject(new PinnedCaMissingError(url));
  const payload = JSON.stringify(body);
  return new Promise<HttpAnswer>((resolve, reject) => {
    const headers = { 'content-type': 'application/json', accept: 'application/json', 'content-length': Buffer.byteLength(payload) };
    const options = { method: 'POST', headers, timeout: TIMEOUT_MS, ...(signal ? { signal } : {}) };
    const req = secure
      ? httpsRequest(url, { ...options, ca, rejectUnauthorized: true, minVersion: 'TLSv1.2', agent: false })
      : httpRequest(url, options);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', (err) => reject(new Error(errorMessage(err), { cause: err })));
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (text.length > MAX_ANSWER_BYTES) req.destroy(new Error('answer too large'));
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.end(payload);
  });
};
