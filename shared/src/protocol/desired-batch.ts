import { createHash } from 'node:crypto';

/**
 * One signature for many devices' desired statements. Each statement, bound to the digest of the
 * body it travels with, is a leaf of a binary hash tree; the control plane signs the tree's root
 * once per batch, and each device gets, beside its own statement, the sibling hashes on the path
 * from its leaf to the root (its `proof`). A device recomputes the root from what it received and
 * verifies the one signature: a change to its statement, its body or its proof changes the root.
 * Leaves and inner nodes are hashed behind different prefix bytes (0x00, 0x01, as RFC 6962 §2.1
 * does), so an inner node can never pass for a statement. A batch of one is a tree whose root is
 * the leaf itself, with an empty proof.
 */
const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

/** A proof step: `L` or `R` (the side the sibling is on) and the sibling's SHA-256, base64. */
export const PROOF_STEP = /^[LR][A-Za-z0-9+/]{43}=$/;

const sha256 = (...parts: (Buffer | string)[]): Buffer => {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p);
  return hash.digest();
};

/** The SHA-256 of a body's exact UTF-8 text. */
export function bodyDigest(body: string | Buffer): Buffer {
  return sha256(body);
}

/** The leaf of one device's statement: its exact UTF-8 text, bound to the digest of its body. */
export function desiredLeaf(digestOfBody: Buffer, statement: string): Buffer {
  return sha256(LEAF, digestOfBody, statement);
}

/** The root over `leaves` (in order) and each leaf's proof; a node without a sibling moves up as it is. */
export function desiredTree(leaves: readonly Buffer[]): { root: Buffer; proofs: string[][] } {
  if (leaves.length === 0) throw new Error('a desired batch needs at least one statement');
  const proofs = leaves.map((): string[] => []);
  // Which node of the current level holds each leaf's path.
  const at = leaves.map((_, i) => i);
  let level = [...leaves];
  while (level.length > 1) {
    for (let leaf = 0; leaf < at.length; leaf++) {
      const i = at[leaf]!;
      const sibling = i ^ 1;
      if (sibling < level.length) proofs[leaf]!.push((i & 1 ? 'L' : 'R') + level[sibling]!.toString('base64'));
      at[leaf] = i >> 1;
    }
    const up: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) up.push(i + 1 < level.length ? sha256(NODE, level[i]!, level[i + 1]!) : level[i]!);
    level = up;
  }
  return { root: level[0]!, proofs };
}

/** The root a leaf and its proof lead to; undefined when a step is malformed. */
export function rootOfProof(leaf: Buffer, proof: readonly string[]): Buffer | undefined {
  let node = leaf;
  for (const step of proof) {
    if (!PROOF_STEP.test(step)) return undefined;
    const sibling = Buffer.from(step.slice(1), 'base64');
    node = step[0] === 'L' ? sha256(NODE, sibling, node) : sha256(NODE, node, sibling);
  }
  return node;
}
