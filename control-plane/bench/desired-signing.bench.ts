import { generateKeyPairSync, randomUUID } from 'node:crypto';
import {
  MAX_PAYLOAD_BYTES,
  PROTOCOL_SCHEMA,
  contentDigest,
  Desired,
  encodePayload,
  minimalComponent,
  readSignedDesired,
  verifyDesiredSignature,
  type AssemblySpec,
} from '@flotilla/shared';
import { machineLine, printTable, runBench } from '../../test/bench/machine';
import { DesiredSealer } from '../src/signing/desired-sealer';
import { Keyring } from '../src/signing/keyring';
import { numberFlags } from './support/control-plane-process';

/**
 * desired-signing: what signing the whole desired state costs per device, on the control plane
 * (seal: JSON + ed25519, with a full 32-key checkpoint chain; one by one, and within a fan-out
 * where the shared body is serialised once and a batch of 64 is signed once) and on a device
 * (decode + verify), against the same message unsigned (the baseline: encode / decode only), in one run.
 */
/** Devices sealed under one signature, as control-plane/src/devices/desired-publisher.ts does. */
const BATCH = 64;

async function main(): Promise<void> {
  const flags = numberFlags(process.argv.slice(2), { messages: 5_000, horizon: 32 });
  console.log(machineLine());
  const keys = Array.from({ length: flags.horizon + 1 }, (_, i) => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    return { name: String(i).padStart(13, '0'), privateKey, publicKey, createdAt: new Date(i) };
  });
  const ring = new Keyring(keys, flags.horizon);
  const spec: AssemblySpec = {
    name: 'origin',
    version: '1.0.0',
    probationMs: 30_000,
    components: ['web', 'api', 'worker', 'db'].map((name) =>
      minimalComponent(name, `registry.example.com/origin/${name}@sha256:${'a'.repeat(64)}`, { environment: { MODE: 'production' } }),
    ),
    volumes: [],
    networks: ['default'],
  };
  const unsigned = { id: randomUUID(), digest: contentDigest(spec), assembly: spec };
  const release = { ...unsigned, signature: ring.sign(unsigned) };
  const desired = (rev: number): Desired => ({ schema: PROTOCOL_SCHEMA, rev, release, config: { SITE: 'north' } });
  const chain = ring.endorsedKeys();
  const trusted = ring.releaseKeys();

  const time = (fn: (i: number) => void): number => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < flags.messages; i++) fn(i);
    return Number(process.hrtime.bigint() - start) / 1e3 / flags.messages;
  };
  const plain = Array.from({ length: flags.messages }, (_, i) => JSON.stringify(desired(i + 1)));
  const sealed: string[] = [];
  const encodeUs = time((i) => JSON.stringify(desired(i + 1)));
  const sealUs = time((i) => {
    const now = new Date();
    const envelope = ring.sealDesired({
      ...desired(i + 1),
      deviceId: `dev_${i}`,
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 3_600_000).toISOString(),
      releaseCreatedAt: now.toISOString(),
      rollback: false,
      keyEndorsements: chain,
    });
    sealed.push(encodePayload('desired', envelope));
  });
  // One fan-out: the body (release, chain) serialised once, one signature per batch of 64 devices (as desired-publisher.ts).
  const issuedAt = new Date();
  const sealer = new DesiredSealer(
    (root) => ring.signDesiredRoot(root),
    { issuedAt: issuedAt.toISOString(), expiresAt: new Date(issuedAt.getTime() + 3_600_000).toISOString(), keyEndorsements: chain },
    MAX_PAYLOAD_BYTES,
  );
  const fanout: Buffer[] = [];
  const fanoutUs = time((i) => {
    if (i % BATCH !== 0) return;
    const batch = Array.from({ length: Math.min(BATCH, flags.messages - i) }, (_, j) => ({
      ...desired(i + j + 1),
      deviceId: `dev_${i + j}`,
      releaseCreatedAt: issuedAt.toISOString(),
      rollback: false,
    }));
    for (const sealedOne of sealer.sealAll(batch)) {
      if (sealedOne instanceof Error) throw sealedOne;
      fanout.push(sealedOne.bytes);
    }
  });
  // The device's baseline: the old unsigned `desired`, parsed and validated as before.
  const decodePlainUs = time((i) => {
    if (!Desired.safeParse(JSON.parse(plain[i]!)).success) throw new Error('invalid');
  });
  const openUs = time((i) => {
    const read = readSignedDesired(sealed[i]!);
    if (!read.ok || !verifyDesiredSignature(read.envelope, trusted).ok) throw new Error('did not verify');
  });
  const openFanoutUs = time((i) => {
    const read = readSignedDesired(fanout[i]!);
    if (!read.ok || !verifyDesiredSignature(read.envelope, trusted).ok) throw new Error('did not verify');
  });
  printTable([
    {
      side: 'control plane',
      baseline: 'JSON.stringify unsigned',
      'baseline µs': encodeUs.toFixed(1),
      signed: 'sealDesired',
      'signed µs': sealUs.toFixed(1),
      ratio: (sealUs / encodeUs).toFixed(1),
    },
    {
      side: 'control plane, fan-out',
      baseline: 'JSON.stringify unsigned',
      'baseline µs': encodeUs.toFixed(1),
      signed: `DesiredSealer.sealAll (${BATCH} a batch)`,
      'signed µs': fanoutUs.toFixed(1),
      ratio: (fanoutUs / encodeUs).toFixed(1),
    },
    {
      side: 'device',
      baseline: 'JSON.parse unsigned',
      'baseline µs': decodePlainUs.toFixed(1),
      signed: 'read + verify',
      'signed µs': openUs.toFixed(1),
      ratio: (openUs / decodePlainUs).toFixed(1),
    },
    {
      side: 'device, fan-out message',
      baseline: 'JSON.parse unsigned',
      'baseline µs': decodePlainUs.toFixed(1),
      signed: 'read + verify (proof)',
      'signed µs': openFanoutUs.toFixed(1),
      ratio: (openFanoutUs / decodePlainUs).toFixed(1),
    },
  ]);
  console.log(
    `bytes per desired: unsigned ${plain[0]!.length}, signed ${sealed[0]!.length}, in a fan-out ${fanout[0]!.length} (chain of ${chain.length}: ${JSON.stringify(chain).length} bytes)`,
  );
  console.log(
    `at 10,000 devices: sealing costs ${((sealUs * 10_000) / 1e6).toFixed(2)} s of one core one by one, ${((fanoutUs * 10_000) / 1e6).toFixed(2)} s in a fan-out`,
  );
}

runBench(main);
