// Cost of host-metric sources (npm run bench -- hostcost): systeminformation calls vs the
// /proc reads the agent's host input does every tick. Wall time includes the children
// systeminformation forks (df, ip, ...); process CPU does not, so wall is the honest figure.
import fs from 'node:fs';
import * as si from 'systeminformation';
import { fixed, table } from './lib.js';

const PROC_FILES = ['/proc/stat', '/proc/meminfo', '/proc/loadavg', '/proc/diskstats', '/proc/net/dev'];
const sources: Record<string, () => Promise<unknown>> = {
  'si.mem()': () => si.mem(),
  'si.fsSize()': () => si.fsSize(),
  'si.networkStats()': () => si.networkStats(),
  'si.processes() (first call, uncached)': () => si.processes(),
  'agent: 5 /proc reads': async () => {
    for (const f of PROC_FILES) fs.readFileSync(f, 'utf8');
  },
};

async function main(): Promise<void> {
  const rows: (string | number)[][] = [['source', 'wall ms per call', 'node CPU ms per call', 'calls']];
  for (const [name, fn] of Object.entries(sources)) {
    const uncached = name.includes('uncached');
    if (!uncached) await fn();
    const n = uncached ? 1 : 20;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await fn();
    const cpu = process.cpuUsage(cpu0);
    rows.push([name, fixed((performance.now() - t0) / n, 2), fixed((cpu.user + cpu.system) / 1000 / n, 2), n]);
  }
  console.log(`# host-metric source cost, node ${process.version}, ${new Date().toISOString()}`);
  console.log(table(rows));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
