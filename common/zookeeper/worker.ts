// Worker-thread entry: runs the ZooKeeper session. node-zookeeper-client can throw from inside its
// socket handler (seen: "Unknown code" while a frozen server's backlog drained), which would kill
// the agent; here it only ends this worker, and the guard starts a new one.
import { parentPort, workerData } from 'node:worker_threads';
import { ZkSession } from './session.js';

export interface ZkRequest {
  id: number;
  op: 'exists' | 'getData';
  path: string;
  timeoutMs: number;
}
export interface ZkReply {
  id: number;
  ok: boolean;
  data?: Uint8Array | null;
  error?: string;
  clientsCreated: number;
}

const session = new ZkSession(workerData as { servers: string; sessionTimeoutMs: number });
const port = parentPort!;

port.on('message', (msg: ZkRequest | { op: 'close' }) => {
  if (msg.op === 'close') {
    session.discard();
    port.close();
    return;
  }
  const req = msg;
  const done = (r: Omit<ZkReply, 'id' | 'clientsCreated'>) =>
    port.postMessage({ id: req.id, clientsCreated: session.clientsCreated, ...r } satisfies ZkReply);
  const p = req.op === 'exists' ? session.exists(req.path, req.timeoutMs).then(() => undefined) : session.getData(req.path, req.timeoutMs);
  p.then(
    (data) => done({ ok: true, data: data ?? null }),
    (err: unknown) => done({ ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
