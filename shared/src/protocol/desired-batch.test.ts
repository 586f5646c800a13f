import { bodyDigest, desiredLeaf, desiredTree, rootOfProof } from './desired-batch';

/** Unit: every leaf's proof leads to the root, and nothing else does. */
const leaves = (n: number) => Array.from({ length: n }, (_, i) => desiredLeaf(bodyDigest('{"release":null}'), `{"deviceId":"dev_${i}"}`));

describe('desired hash tree', () => {
  it.each([1, 2, 3, 7, 64, 65, 100])('leads every one of %i leaves to the root, with at most ceil(log2 n) steps', (n) => {
    const all = leaves(n);
    const { root, proofs } = desiredTree(all);
    all.forEach((leaf, i) => {
      expect(rootOfProof(leaf, proofs[i]!)).toEqual(root);
      expect(proofs[i]!.length).toBeLessThanOrEqual(Math.ceil(Math.log2(n)));
    });
  });

  it('a batch of one is its own root, with an empty proof', () => {
    const [leaf] = leaves(1);
    expect(desiredTree([leaf!])).toEqual({ root: leaf, proofs: [[]] });
  });

  it('does not reach the root with another leaf, another body, a swapped side, or a malformed step', () => {
    const all = leaves(8);
    const { root, proofs } = desiredTree(all);
    const proof = proofs[3]!;
    expect(rootOfProof(all[4]!, proof)).not.toEqual(root);
    expect(rootOfProof(desiredLeaf(bodyDigest('{"release":{}}'), '{"deviceId":"dev_3"}'), proof)).not.toEqual(root);
    const swapped = [`${proof[0]![0] === 'L' ? 'R' : 'L'}${proof[0]!.slice(1)}`, ...proof.slice(1)];
    expect(rootOfProof(all[3]!, swapped)).not.toEqual(root);
    expect(rootOfProof(all[3]!, ['Xnot-a-hash'])).toBeUndefined();
  });

  it('hashes leaves and inner nodes apart: an inner node is no leaf of any statement', () => {
    const all = leaves(4);
    const { root, proofs } = desiredTree(all);
    // The inner node over leaves 0 and 1, with leaf 0's last step, reaches the root as a node...
    const inner = rootOfProof(all[0]!, proofs[0]!.slice(0, 1))!;
    expect(rootOfProof(inner, proofs[0]!.slice(1))).toEqual(root);
    // ...but no statement text hashes to it as a leaf: the prefixes differ (0x00 leaf, 0x01 node).
    expect(desiredLeaf(bodyDigest(''), '')).not.toEqual(inner);
  });

  it('refuses an empty batch', () => {
    expect(() => desiredTree([])).toThrow(/at least one statement/);
  });
});
