import { once } from 'node:events';
import net from 'node:net';

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now, for a child process that must be told
 * its port up front (etcd, kube-apiserver, prometheus, pod servers). Another process may still take
 * it before the child binds; callers that start several pick distinct ones.
 */
export async function freeLoopbackPort(): Promise<number> {
  const srv = net.createServer();
  // A probe must never keep the test process alive.
  srv.unref();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
