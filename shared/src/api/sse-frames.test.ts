import { SseFrames } from './sse-frames';

describe('SseFrames', () => {
  it('returns each completed event once, keeping a partial one for the next chunk', () => {
    const frames = new SseFrames();
    expect(frames.push('data: {"a":1}\n\ndata: {"b"')).toEqual(['{"a":1}']);
    expect(frames.push(':2}\n')).toEqual([]);
    expect(frames.push('\n')).toEqual(['{"b":2}']);
  });

  it('joins an event of several data lines and skips comments, ids and keep-alives', () => {
    const frames = new SseFrames();
    expect(frames.push(': keep-alive\n\nid: 7\nevent: x\ndata: one\ndata: two\n\n\n\n')).toEqual(['one\ntwo']);
  });
});
