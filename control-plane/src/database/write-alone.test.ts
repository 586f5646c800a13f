import { backoffMs, isTransientDbError } from './transient-errors';
import { retryTransient, retryTransientWithin, writeAlone } from './write-alone';

/** A statement that fails, all or nothing, when the batch holds a bad row (as PostgreSQL does). */
function table(bad: (n: number) => boolean) {
  const stored: number[] = [];
  let statements = 0;
  const write = async (rows: readonly number[]) => {
    statements++;
    const b = rows.find(bad);
    if (b !== undefined) throw Object.assign(new Error(`value ${b} out of range`), { code: '22003' });
    stored.push(...rows);
  };
  return { stored, write, statements: () => statements };
}

const unexpected = (row: number): never => {
  throw new Error(`row ${String(row)} rejected`);
};
const unrefused = (): never => {
  throw new Error('the batch was refused whole');
};

describe('writeAlone', () => {
  it('stores every row but the ones that fail alone, and tells each of those', async () => {
    const t = table((n) => n === 17 || n === 640);
    const rejected: number[] = [];
    await writeAlone([...Array(1000).keys()], t.write, { rejected: (row) => void rejected.push(row), refused: unrefused });
    expect(rejected).toEqual([17, 640]);
    expect(t.stored).toHaveLength(998);
    expect(t.stored).toEqual([...Array(1000).keys()].filter((n) => n !== 17 && n !== 640));
    // Bisection, not row by row: about 2·log2(1000) statements per bad row.
    expect(t.statements()).toBeLessThan(45);
  });

  it.each([
    ['53100', 'disk_full'],
    ['25006', 'read_only'],
  ])('drops a batch whole, in one statement, when the database refuses every write (%s)', async (code, reason) => {
    let statements = 0;
    const refused: [number, string][] = [];
    await writeAlone(
      [...Array(1000).keys()],
      async () => {
        statements++;
        throw Object.assign(new Error('refused'), { code });
      },
      { rejected: unexpected, refused: (rows, why) => void refused.push([rows.length, why]) },
    );
    // Before: bisected down to 1,000 single rows (1,999 statements), each dropped as its own fault.
    expect(statements).toBe(1);
    expect(refused).toEqual([[1000, reason]]);
  });

  it('retries a transient error with the same rows until it passes, then stores them all', async () => {
    const codes = ['40P01', '40001', '57P01', '57P03', 'ECONNRESET'];
    const seen: number[][] = [];
    const waits: number[] = [];
    await writeAlone(
      [1, 2, 3],
      async (rows) => {
        seen.push([...rows]);
        const code = codes[seen.length - 1];
        if (code) throw Object.assign(new Error('transient'), { code });
      },
      { rejected: unexpected, refused: unrefused, wait: async (ms) => void waits.push(ms) },
    );
    expect(seen).toEqual(Array(6).fill([1, 2, 3]));
    expect(waits).toHaveLength(5);
  });

  it('gives up a transient error only when told it is stopping', async () => {
    const error = new Error('timeout exceeded when trying to connect');
    await expect(
      writeAlone([1], () => Promise.reject(error), { rejected: unexpected, refused: unrefused, stopping: () => true }),
    ).rejects.toBe(error);
  });

  it('after a transient error, asks whether the rows were written after all, and writes them again only when not', async () => {
    const committed: number[][] = [];
    let cuts = 0;
    // The first attempt commits, then loses its reply: a retry without the check would store the rows twice.
    const write = async (rows: readonly number[]) => {
      committed.push([...rows]);
      if (cuts++ === 0) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    };
    const asked: number[][] = [];
    const alreadyWritten = async (rows: readonly number[]) => {
      asked.push([...rows]);
      return committed.some((c) => c[0] === rows[0]);
    };
    await writeAlone([1, 2, 3], write, { rejected: unexpected, refused: unrefused, alreadyWritten, wait: async () => undefined });
    expect(committed).toEqual([[1, 2, 3]]);
    expect(asked).toEqual([[1, 2, 3]]);
    // Not committed (cut before the commit): written again.
    committed.length = 0;
    cuts = 0;
    const lost = async (rows: readonly number[]) => {
      if (cuts++ === 0) throw Object.assign(new Error('Connection terminated unexpectedly'), {});
      committed.push([...rows]);
    };
    await writeAlone([4, 5], lost, { rejected: unexpected, refused: unrefused, alreadyWritten, wait: async () => undefined });
    expect(committed).toEqual([[4, 5]]);
  });
});

describe('isTransientDbError', () => {
  it('tells transient failures from errors of the statement or its data', () => {
    const coded = (code: string) => Object.assign(new Error('x'), { code });
    for (const t of ['40P01', '40001', '57P01', '57P03', '08006', 'ECONNRESET']) expect(isTransientDbError(coded(t))).toBe(true);
    expect(isTransientDbError(Object.assign(new Error('x'), { driverError: { code: '40P01' } }))).toBe(true);
    expect(isTransientDbError(new Error('Connection terminated unexpectedly'))).toBe(true);
    // A socket error made in another realm (Node's own, under Jest's VM) is no \`instanceof Error\` there.
    expect(isTransientDbError({ message: 'read ECONNRESET', code: 'ECONNRESET' })).toBe(true);
    expect(isTransientDbError('ECONNRESET')).toBe(false);
    for (const p of ['22003', '22P05', '23503', '42601']) expect(isTransientDbError(coded(p))).toBe(false);
  });

  it('backs off exponentially with jitter, capped', () => {
    expect(backoffMs(0, () => 1)).toBe(50);
    expect(backoffMs(3, () => 0)).toBe(200);
    expect(backoffMs(20, () => 1)).toBe(5_000);
  });
});

describe('retryTransient', () => {
  it('repeats the operation through transient errors and returns its result; throws any other error at once', async () => {
    let calls = 0;
    const answer = await retryTransient(
      async () => {
        if (++calls < 3) throw Object.assign(new Error('pool'), { code: '57P03' });
        return 42;
      },
      { wait: async () => undefined },
    );
    expect([answer, calls]).toEqual([42, 3]);
    const bad = Object.assign(new Error('syntax'), { code: '42601' });
    await expect(retryTransient(() => Promise.reject(bad), { wait: async () => undefined })).rejects.toBe(bad);
  });
});

describe('retryTransientWithin', () => {
  it('repeats through transient errors until its time is up, then throws the last one', async () => {
    let calls = 0;
    const deadlock = Object.assign(new Error('deadlock detected'), { code: '40P01' });
    // The unit project's clock is simulated: each attempt takes 100 ms of it.
    await expect(
      retryTransientWithin(250, async () => {
        calls++;
        jest.advanceTimersByTime(100);
        throw deadlock;
      }),
    ).rejects.toBe(deadlock);
    expect(calls).toBe(3);
  });
});
