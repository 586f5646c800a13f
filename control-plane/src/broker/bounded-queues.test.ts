import { boundOutgoingQueues, QueueBound, type OutgoingQueues } from './bounded-queues';

/** A stand-in for aedes' outgoing store with its semantics: a list per client, cleared by message id. */
function store(): OutgoingQueues & { held: Map<string, number[]> } {
  const held = new Map<string, number[]>();
  const add = (clientId: string, packet: unknown): void =>
    void held.set(clientId, [...(held.get(clientId) ?? []), (packet as { messageId: number }).messageId]);
  return {
    held,
    async outgoingEnqueue(sub, packet) {
      add(sub.clientId, packet);
    },
    async outgoingEnqueueCombi(subs, packet) {
      for (const s of subs) add(s.clientId, packet);
    },
    async outgoingClearMessageId(client, packet) {
      const list = held.get(client.id) ?? [];
      const i = list.indexOf((packet as { messageId: number }).messageId);
      if (i < 0) return undefined;
      list.splice(i, 1);
      return packet;
    },
  };
}

describe('bounded outgoing queues', () => {
  it('keeps at most the maximum per client, drops the newest beyond it, and frees a place on acknowledgement', async () => {
    const s = store();
    const dropped: string[] = [];
    boundOutgoingQueues(s, new QueueBound(2), (id) => dropped.push(id));
    for (const messageId of [1, 2, 3]) await s.outgoingEnqueueCombi([{ clientId: 'a' }, { clientId: 'b' }], { messageId });
    expect(s.held).toEqual(
      new Map([
        ['a', [1, 2]],
        ['b', [1, 2]],
      ]),
    );
    expect(dropped).toEqual(['a', 'b']);
    await s.outgoingClearMessageId({ id: 'a' }, { messageId: 1 });
    // An unknown id frees nothing.
    await s.outgoingClearMessageId({ id: 'a' }, { messageId: 99 });
    await s.outgoingEnqueue({ clientId: 'a' }, { messageId: 4 });
    await s.outgoingEnqueue({ clientId: 'a' }, { messageId: 5 });
    expect(s.held.get('a')).toEqual([2, 4]);
    expect(dropped).toEqual(['a', 'b', 'a']);
  });

  it('does not bound with a maximum of 0', () => {
    const bound = new QueueBound(0);
    for (let i = 0; i < 1000; i++) expect(bound.admit('a')).toBe(true);
    expect(bound.waiting('a')).toBe(1000);
  });
});
