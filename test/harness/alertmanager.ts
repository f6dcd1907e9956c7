// A real Prometheus Alertmanager (Debian prometheus-alertmanager) on loopback, no clustering.
import fs from 'node:fs/promises';
import path from 'node:path';
import { launch, type Owner } from './launch.js';
import { freePort, LOOPBACK } from './ports.js';
import type { ManagedProcess } from './process.js';

export const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

export interface AlertmanagerServer {
  url: string;
  process: ManagedProcess;
}

/** Starts Alertmanager with a null receiver (or `configYaml`); resolves once /-/ready answers. */
export async function startAlertmanager(
  owner: Owner,
  configYaml = 'route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n',
): Promise<AlertmanagerServer> {
  const dir = await owner.tempDir('alertmanager');
  const configPath = path.join(dir, 'alertmanager.yml');
  await fs.writeFile(configPath, configYaml);
  let url = '';
  const proc = await launch(owner, {
    name: 'alertmanager',
    timeoutMs: 20_000,
    prepare: async () => {
      const port = await freePort();
      url = `http://${LOOPBACK}:${port}`;
      return {
        command: ALERTMANAGER,
        args: [
          `--config.file=${configPath}`,
          `--storage.path=${path.join(dir, 'data')}`,
          `--web.listen-address=${LOOPBACK}:${port}`,
          '--cluster.listen-address=',
        ],
        cwd: dir,
        logFile: path.join(dir, 'alertmanager.log'),
      };
    },
    ready: async () => (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })).ok,
  });
  return { url, process: proc };
}
