import { loadavg } from 'node:os';
import { machineLine, printTable, runBench } from '../../test/bench/machine';
import { numberFlags, sleep, waitFor } from './support/control-plane-process';
import { provisionFleet, startCluster, usageOf, type BenchShape } from './support/cluster-shape';
import { LoadFleet } from './support/load-fleet';

/**
 * cluster-cliff (issue #14): does a connect cost more as the cluster holds more devices? The cluster
 * shape's devices connect in steps of `step` at a fixed number in flight (`concurrency`), each step
 * with its own load process, the earlier steps' devices staying connected. Per step: the connect
 * rate, the mean connect time (Little's law: in flight / rate), retried connects, the RabbitMQ
 * nodes' CPU and reductions per connect, their CPU and reductions per second at rest after the
 * step, and what one node's processes did at rest (reductions over `window` s, by registered name
 * or initial call) with the longest message queues (a serialising process shows there).
 * Usage: npm run bench -- cluster-cliff [--devices 5000] [--step 500] [--concurrency 10] [--window 10]
 *          [--copies 0] (0: session queues as shipped by the control plane's policy; n: a bench policy `ha-mode: exactly n`)
 *          [--persistent 1] (persistent sessions as the agent keeps them)
 */
const STEP_TIMEOUT_MS = 900_000;
const REST_MS = 10_000;

async function main(): Promise<void> {
  const flags = numberFlags(process.argv.slice(2), { devices: 5000, step: 500, concurrency: 10, window: 10, copies: 0, persistent: 0 });
  console.log(machineLine());
  const shape = await startCluster(flags.devices, flags.copies > 0 ? { sessionCopies: flags.copies } : {});
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void shape.close().finally(() => process.exit(130)));
  const fleets: LoadFleet[] = [];
  try {
    const fleet = await provisionFleet(shape, flags.devices);
    console.log(
      `${fleet.creds.length} devices registered; steps of ${flags.step}, ${flags.concurrency} connects in flight; session queues: ` +
        `${flags.copies > 0 ? `exactly ${flags.copies}` : 'as shipped'}; ${flags.persistent ? 'persistent' : 'clean'} sessions`,
    );
    const rows: Record<string, string | number>[] = [];
    const baseline = await atRest(shape);
    console.log(
      `no device connected: nodes at rest ${(baseline.cpu * 100).toFixed(1)} % of a core, ${baseline.reductions.toFixed(0)} reductions/s`,
    );
    for (let from = 0; from < fleet.creds.length; from += flags.step) {
      const creds = fleet.creds.slice(from, from + flags.step);
      const sim = await LoadFleet.start(creds, 1);
      fleets.push(sim);
      const cpu0 = nodeCpu(shape);
      const red0 = reductions(shape);
      const t = performance.now();
      const connecting = sim.connect({
        telemetryEverySeconds: 3600,
        applySeconds: 0.5,
        connectConcurrency: flags.concurrency,
        realistic: false,
        ...(flags.persistent ? { persistentSession: true } : {}),
      });
      await connecting;
      await waitFor(
        async () => (await sim.counts()).desiredReceived >= creds.length,
        STEP_TIMEOUT_MS,
        'the step holding its desired state',
        250,
      );
      const stepS = (performance.now() - t) / 1000;
      const cpu = nodeCpu(shape) - cpu0;
      const red = sum(reductions(shape)) - sum(red0);
      const failures = (await sim.counts()).connectFailures;
      const rest = await atRest(shape);
      // At rest: what node 1's processes do while no device connects.
      const profile = processProfile(shape, flags.window);
      const rate = creds.length / stepS;
      rows.push({
        'connected after': from + creds.length,
        'step s': stepS,
        'connects/s': rate,
        'mean connect ms': (flags.concurrency / rate) * 1000,
        'failed connects': failures,
        'nodes CPU ms/connect': (cpu * 1000) / creds.length,
        // What the step cost beyond what the nodes burn at rest meanwhile (taken as after the step).
        'above rest ms/connect': ((cpu - rest.cpu * stepS) * 1000) / creds.length,
        'nodes reductions/connect': red / creds.length,
        'at rest: nodes CPU %': rest.cpu * 100,
        'at rest: reductions/s': rest.reductions,
        load: loadavg()[0]!,
      });
      console.log(JSON.stringify(rows.at(-1)));
      console.log(`  node 1 at rest after the step: ${profile}`);
    }
    printTable(rows);
  } finally {
    for (const sim of fleets) await sim.stop();
    await shape.close();
  }
}

const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0);

/** The nodes' CPU (cores) and reductions per second over REST_MS with no connect under way. */
async function atRest(shape: BenchShape): Promise<{ cpu: number; reductions: number }> {
  const red0 = sum(reductions(shape));
  const cpu0 = nodeCpu(shape);
  await sleep(REST_MS);
  return { cpu: (nodeCpu(shape) - cpu0) / (REST_MS / 1000), reductions: (sum(reductions(shape)) - red0) / (REST_MS / 1000) };
}

function nodeCpu(shape: BenchShape): number {
  return usageOf(shape.pids().brokers).cpuSeconds;
}

function reductions(shape: BenchShape): number[] {
  const rabbit = shape.rabbit!;
  return rabbit.nodes.map((node) => Number(rabbit.ctl(node, 'eval', 'element(1, erlang:statistics(reductions)).').trim()));
}

/**
 * Node 1's reductions over `windowS` s grouped by process (registered name, else proc_lib's initial
 * call), the top 10 as shares, plus the 6 longest message queues and the node's queue and process counts.
 */
function processProfile(shape: BenchShape, windowS: number): string {
  const rabbit = shape.rabbit!;
  const expr = `
    Key = fun(P) -> case erlang:process_info(P, [registered_name, dictionary, initial_call]) of
        undefined -> gone;
        [{registered_name, N}, _, _] when N =/= [] -> N;
        [_, {dictionary, D}, {initial_call, IC}] -> case proplists:get_value('$initial_call', D) of undefined -> IC; X -> X end
      end end,
    Snap = fun() -> maps:from_list([{P, R} || P <- erlang:processes(), {reductions, R} <- [erlang:process_info(P, reductions)]]) end,
    S0 = Snap(), timer:sleep(${windowS * 1000}), S1 = Snap(),
    D = maps:fold(fun(P, _, Acc) when P =:= self() -> Acc; (P, R1, Acc) -> K = Key(P), V = R1 - maps:get(P, S0, 0), maps:update_with(K, fun(O) -> O + V end, V, Acc) end, #{}, S1),
    Own = element(2, erlang:process_info(self(), reductions)),
    Total = lists:sum(maps:values(D)),
    Top = [{K, round(100 * V / max(1, Total))} || {K, V} <- lists:sublist(lists:reverse(lists:keysort(2, maps:to_list(D))), 12)],
    MQ = lists:sublist(lists:reverse(lists:sort([{L, Key(P)} || P <- erlang:processes(), {message_queue_len, L} <- [erlang:process_info(P, message_queue_len)], L > 0])), 6),
    {{own_reductions, Own}, {reductions_per_s, Total div ${windowS}}, {top_percent, Top}, {message_queues, MQ},
     {queues, ets:info(rabbit_queue, size)}, {processes, erlang:system_info(process_count)}}.`;
  try {
    return rabbit.ctl(rabbit.nodes[0]!, 'eval', expr.replace(/\s+/g, ' ')).replace(/\s+/g, ' ').trim();
  } catch (e) {
    return `(no profile: ${(e as Error).message.slice(0, 200)})`;
  }
}

runBench(main);
