// Integration and e2e hooks start real servers (a control plane, a broker, a database): Jest's
// 5 s default is a unit test's budget, and a loaded CI machine took longer than that to start one.
// A file's own jest.setTimeout still wins.
jest.setTimeout(30_000);
