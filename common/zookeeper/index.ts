// ZooKeeper client pieces shared by sentinel-guard (the reachability probe) and the collector
// cluster (leader election): a session with hard deadlines, and the probe run in a worker thread.
export { ZkSession, CreateMode } from './session.js';
export { ZooKeeperProbe, type ZkProbeResult } from './probe.js';
