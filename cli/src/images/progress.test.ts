import { stderrProgress } from './progress';

describe('progress lines', () => {
  it('numbers stages and prints a percentage only when it changes', () => {
    const out: string[] = [];
    let t = 0;
    const p = stderrProgress(
      2,
      (s) => void out.push(s),
      () => t,
    );
    p.stage('writing');
    p.fraction!(1, 200);
    p.fraction!(1, 200);
    p.fraction!(200, 200);
    t = 1500;
    p.done('ok');
    expect(out).toEqual(['[1/2] writing\n', '\r      0% (0 of 0 MiB)', '\r      100% (0 of 0 MiB)\n', 'done: ok (last stage 1.5 s)\n']);
  });
});
