import { clusterView } from './cluster-view';

const [u1, u2, u3] = ['http://a:s3cret@mq1:15672', 'http://a:s3cret@mq2:15672', 'http://a:s3cret@mq3:15672'];
const known = new Map([
  [u1, 'rabbit@mq1'],
  [u2, 'rabbit@mq2'],
  [u3, 'rabbit@mq3'],
]);
const members = (running3: boolean) => [
  { name: 'rabbit@mq1', running: true },
  { name: 'rabbit@mq2', running: true },
  { name: 'rabbit@mq3', running: running3 },
];

describe('clusterView', () => {
  it("takes RabbitMQ's member list when every node answers", () => {
    const probes = [
      { url: u1, node: 'rabbit@mq1' },
      { url: u2, node: 'rabbit@mq2' },
      { url: u3, node: 'rabbit@mq3' },
    ];
    expect(clusterView(members(true), probes, known)).toEqual(members(true));
  });

  it('counts a member RabbitMQ still lists as running as down when its own management API does not answer, saying why', () => {
    const probes = [
      { url: u1, node: 'rabbit@mq1' },
      { url: u2, node: 'rabbit@mq2' },
      { url: u3, error: 'no answer in 5 s' },
    ];
    expect(clusterView(members(true), probes, known)).toEqual([
      { name: 'rabbit@mq1', running: true },
      { name: 'rabbit@mq2', running: true },
      { name: 'rabbit@mq3', running: false, unanswered: 'no answer in 5 s' },
    ]);
  });

  it('keeps a stopped member as RabbitMQ lists it', () => {
    const probes = [
      { url: u1, node: 'rabbit@mq1' },
      { url: u2, node: 'rabbit@mq2' },
      { url: u3, error: 'ECONNREFUSED' },
    ];
    expect(clusterView(members(false), probes, new Map([[u1, 'rabbit@mq1']]))).toEqual(members(false));
  });

  it("without the member list, takes the nodes' own answers, and shows a URL never answered by its address (not its password)", () => {
    const probes = [
      { url: u1, node: 'rabbit@mq1' },
      { url: u2, error: 'no answer in 5 s' },
      { url: u3, error: 'ECONNREFUSED' },
    ];
    expect(clusterView(undefined, probes, new Map([[u2, 'rabbit@mq2']]))).toEqual([
      { name: 'rabbit@mq1', running: true },
      { name: 'rabbit@mq2', running: false, unanswered: 'no answer in 5 s' },
      { name: 'mq3:15672', running: false, unanswered: 'ECONNREFUSED' },
    ]);
  });

  it('adds a node that answered for itself but is missing from the member list', () => {
    const probes = [
      { url: u1, node: 'rabbit@mq1' },
      { url: u2, node: 'rabbit@mq2' },
      { url: u3, node: 'rabbit@mq3' },
    ];
    expect(clusterView(members(true).slice(0, 2), probes, known)).toEqual(members(true));
  });
});
