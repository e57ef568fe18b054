/**
 * Local playground: start etcd + kube-apiserver + kube-controller-manager and keep them running
 * until Ctrl-C.
 *
 *   bash hack/controlplane/build.sh            # once (about 10-15 min on 2 cores)
 *   npx tsx hack/controlplane/playground.ts [--no-controller-manager] [--keep]
 *
 * Then, in another shell, paste the printed `export KUBECONFIG=...` line and use kubectl.
 * --keep keeps the temp dir (certificates, etcd data, logs) after exit.
 */
import { startControlPlane } from '../../test/support/controlplane.js';

const args = new Set(process.argv.slice(2));
if (args.has('-h') || args.has('--help')) {
  console.log('usage: npx tsx hack/controlplane/playground.ts [--no-controller-manager] [--keep]');
  process.exit(0);
}

const t0 = Date.now();
const cp = await startControlPlane({
  controllerManager: !args.has('--no-controller-manager'),
  keepDir: args.has('--keep'),
});
console.log(`control plane ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`  apiserver: ${cp.server}`);
console.log(`  etcd:      ${cp.etcdUrl}`);
console.log(`  logs:      ${cp.logDir}`);
console.log('');
console.log(`export KUBECONFIG=${cp.kubeconfigPath}`);
console.log('');
console.log('Press Ctrl-C to stop.');

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping control plane...`);
  const hardExit = setTimeout(() => process.exit(1), 30_000);
  hardExit.unref();
  cp.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
// Keep the event loop alive.
setInterval(() => undefined, 1 << 30);
