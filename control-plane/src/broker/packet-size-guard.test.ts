import { PacketSizeGuard } from './packet-size-guard';

/** An MQTT 3.1.1 QoS 0 PUBLISH, encoded by hand (MQTT-3.3). */
function publish(payloadBytes: number): Buffer {
  const topic = Buffer.from('flotilla/v1/d/dev_a/reported');
  const body = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, Buffer.alloc(payloadBytes, 1)]);
  const length: number[] = [];
  let n = body.length;
  do {
    length.push((n % 128) | (n >= 128 ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x30, ...length]), body]);
}

const PINGREQ = Buffer.from([0xc0, 0x00]);

describe('PacketSizeGuard', () => {
  it('passes packets within the limit, whole or split at any byte', () => {
    const stream = Buffer.concat([publish(10), publish(300), PINGREQ, publish(1000)]);
    expect(new PacketSizeGuard(2000).feed(stream)).toEqual({ ok: true });
    const guard = new PacketSizeGuard(2000);
    for (const byte of stream) expect(guard.feed(Uint8Array.of(byte))).toEqual({ ok: true });
  });

  it('refuses a packet over the limit as soon as its length is known, before its body arrives', () => {
    const big = publish(5000);
    const guard = new PacketSizeGuard(2000);
    expect(guard.feed(publish(10))).toEqual({ ok: true });
    // The fixed header of the big packet: type byte and a 2-byte remaining length.
    expect(guard.feed(big.subarray(0, 3))).toMatchObject({ ok: false, reason: expect.stringMatching(/exceeds 2000/) });
  });

  it('holds the first packet (the CONNECT, before any login) to a limit of its own, and the rest to the general one', () => {
    const guard = new PacketSizeGuard(2000, 100);
    expect(guard.feed(publish(200).subarray(0, 3))).toMatchObject({ ok: false, reason: expect.stringMatching(/exceeds 100/) });
    const after = new PacketSizeGuard(2000, 100);
    expect(after.feed(publish(50))).toEqual({ ok: true });
    expect(after.feed(publish(1500))).toEqual({ ok: true });
  });

  it('refuses a remaining length longer than 4 bytes', () => {
    expect(new PacketSizeGuard(Number.MAX_SAFE_INTEGER).feed(Uint8Array.of(0x30, 0x80, 0x80, 0x80, 0x80))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/malformed/),
    });
  });
});
