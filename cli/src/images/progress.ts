/** Stage-by-stage progress of a long operator command. */
export interface Progress {
  stage(name: string): void;
  /** A fraction for a long stage (flash), 0..1. */
  fraction?(done: number, total: number): void;
  done(summary: string): void;
}

/** One line per stage on stderr, with the time the previous stage took. */
export function stderrProgress(
  total: number,
  write: (s: string) => void = (s) => void process.stderr.write(s),
  now = () => Date.now(),
): Progress {
  let index = 0;
  let started = now();
  let lastPercent = -1;
  return {
    stage(name) {
      index += 1;
      started = now();
      lastPercent = -1;
      write(`[${index}/${total}] ${name}\n`);
    },
    fraction(done, all) {
      const percent = all === 0 ? 100 : Math.floor((done / all) * 100);
      if (percent === lastPercent) return;
      lastPercent = percent;
      write(`\r      ${percent}% (${(done / 1048576).toFixed(0)} of ${(all / 1048576).toFixed(0)} MiB)${percent === 100 ? '\n' : ''}`);
    },
    done(summary) {
      write(`done: ${summary} (last stage ${((now() - started) / 1000).toFixed(1)} s)\n`);
    },
  };
}

export const silentProgress: Progress = { stage: () => undefined, done: () => undefined };
