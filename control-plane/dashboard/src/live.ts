import { useEffect, useRef, useState } from 'react';
import type { LiveEvent } from '@flotilla/shared';
import { SseFrames } from '@flotilla/shared/http-client';
import { session } from './api';

type Handler = (event: LiveEvent) => void;
const handlers = new Set<Handler>();
const statusListeners = new Set<(connected: boolean) => void>();
let controller: AbortController | undefined;
let connected = false;

function setConnected(value: boolean) {
  connected = value;
  for (const l of statusListeners) l(value);
}

/**
 * One stream per tab, read with fetch so the key goes in the Authorization header (EventSource
 * cannot send headers). Reconnects after a second when the stream ends.
 */
export function startLive(): void {
  if (controller) return;
  const abort = new AbortController();
  controller = abort;
  void (async () => {
    while (!abort.signal.aborted) {
      try {
        const res = await fetch('/api/v1/events/stream', {
          headers: { authorization: `Bearer ${session.key() ?? ''}` },
          signal: abort.signal,
        });
        if (res.status === 401) return session.signOut();
        if (!res.ok || !res.body) throw new Error(`stream ${res.status}`);
        setConnected(true);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        const frames = new SseFrames();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const data of frames.push(value)) for (const h of handlers) h(JSON.parse(data) as LiveEvent);
        }
      } catch {
        // Network drop or abort: retried below unless aborted.
      }
      setConnected(false);
      if (!abort.signal.aborted) await new Promise((r) => setTimeout(r, 1000));
    }
  })();
}

export function stopLive(): void {
  controller?.abort();
  controller = undefined;
}

/** Calls `onEvent` for live events that `filter` accepts, batched: at most once per `batchMs`. */
export function useLive(filter: (e: LiveEvent) => boolean, onEvent: () => void, batchMs = 300): void {
  const latest = useRef({ filter, onEvent });
  latest.current = { filter, onEvent };
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const handler: Handler = (e) => {
      // `hello` means the stream (re)opened: whatever changed before it is re-read, so nothing falls in between.
      if ((e.type !== 'hello' && !latest.current.filter(e)) || timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        latest.current.onEvent();
      }, batchMs);
    };
    handlers.add(handler);
    return () => {
      handlers.delete(handler);
      if (timer) clearTimeout(timer);
    };
  }, []);
}

export function useLiveStatus(): boolean {
  const [value, setValue] = useState(connected);
  useEffect(() => {
    statusListeners.add(setValue);
    return () => void statusListeners.delete(setValue);
  }, []);
  return value;
}
