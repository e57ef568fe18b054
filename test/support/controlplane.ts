/**
 * A real Kubernetes control plane (etcd + kube-apiserver + optional kube-controller-manager) for
 * integration tests and local experiments. No Docker, no kubelet, no scheduler: Deployments get
 * ReplicaSets and Pods, which stay Pending.
 *
 * Binaries come from (first match wins), following the envtest conventions:
 *   1. TEST_ASSET_KUBE_APISERVER, TEST_ASSET_ETCD, TEST_ASSET_KUBE_CONTROLLER_MANAGER
 *   2. KUBEBUILDER_ASSETS/{kube-apiserver,etcd,kube-controller-manager}
 *   3. ${INFERSCALE_CACHE_DIR:-~/.cache/inferscale}/controlplane/<K8S_VERSION>/, filled by
 *      `bash hack/controlplane/build.sh`.
 *
 * Everything lives in one temp dir (certificates, etcd data, kubeconfigs, logs unless `logDir` is
 * given). Processes are killed when `stop()` is called, when this Node process exits, and, through
 * a small detached reaper, within ~1 s if this Node process is killed outright.
 * Every wait is bounded. See docs/controlplane.md.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  constants as fsConstants,
} from 'node:fs';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { freeLoopbackPort } from './free-port.js';
import { killOnExit, stopChild } from './child-lifecycle.js';

/** Kubernetes version pinned by hack/controlplane/build.sh (cache sub-directory name). */
export const K8S_VERSION = 'v1.34.4';
/** etcd version pinned by hack/controlplane/build.sh. */
export const ETCD_VERSION = 'v3.6.14';

export const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/24';
const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

export interface ControlPlaneBinaries {
  apiserver: string;
  etcd: string;
  controllerManager: string;
}

export class ControlPlaneBinariesMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControlPlaneBinariesMissingError';
  }
}

export interface ControlPlaneOptions {
  /** Start kube-controller-manager (deployment/replicaset/GC/serviceaccount/namespace... controllers). Default true. */
  controllerManager?: boolean;
  /** Where process logs go. Default `<dir>/logs` (removed by stop()). */
  logDir?: string;
  /** Extra kube-apiserver flags (appended, so they override ours). */
  apiserverArgs?: string[];
  /** Extra kube-controller-manager flags (appended). */
  controllerManagerArgs?: string[];
  /** Bound for each component to become ready. Default 90 s. */
  startTimeoutMs?: number;
  /** Keep the temp dir on stop() (for debugging). Default false. */
  keepDir?: boolean;
}

export interface StopOptions {
  /** SIGKILL immediately (simulate a crash) instead of SIGTERM then SIGKILL. */
  kill?: boolean;
}

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
  text: string;
}

export interface RequestOptions {
  contentType?: string;
  timeoutMs?: number;
  /** Use these PEM credentials instead of the admin client certificate. */
  bearerToken?: string;
}

export interface ServiceAccountKubeconfigOptions {
  namespace: string;
  name: string;
  /** Create the ServiceAccount (and namespace) if missing. Default true. */
  create?: boolean;
  /** Token lifetime. Default 3600 s (apiserver minimum is 600 s). */
  expirationSeconds?: number;
  /** Where to write the kubeconfig. Default `<dir>/sa-<namespace>-<name>.kubeconfig`. */
  path?: string;
}

export interface ServiceAccountCredentials {
  kubeconfigPath: string;
  token: string;
}

export interface ControlPlane {
  /** Temp dir holding certificates, etcd data, kubeconfigs (and logs by default). */
  readonly dir: string;
  /** Admin kubeconfig (client certificate in group system:masters). */
  readonly kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** http://127.0.0.1:<port> */
  readonly etcdUrl: string;
  readonly logDir: string;
  /** PEM file of the cluster CA. */
  readonly caPath: string;
  readonly binaries: ControlPlaneBinaries;

  /** Raw HTTPS request to the apiserver as admin (or with a bearer token). JSON bodies are (de)serialised. */
  request<T = unknown>(
    method: string,
    apiPath: string,
    body?: unknown,
    opts?: RequestOptions,
  ): Promise<ApiResponse<T>>;
  /** Poll until etcd is healthy, the apiserver's /readyz is OK and (if running) the controller-manager works. */
  waitForReady(timeoutMs?: number): Promise<void>;

  stopEtcd(opts?: StopOptions): Promise<void>;
  startEtcd(): Promise<void>;
  restartEtcd(opts?: StopOptions): Promise<void>;
  stopApiserver(opts?: StopOptions): Promise<void>;
  startApiserver(): Promise<void>;
  restartApiserver(opts?: StopOptions): Promise<void>;
  stopControllerManager(opts?: StopOptions): Promise<void>;
  startControllerManager(): Promise<void>;

  /** `kubectl create token` equivalent: TokenRequest for a ServiceAccount, written into a kubeconfig. */
  serviceAccountKubeconfig(opts: ServiceAccountKubeconfigOptions): Promise<ServiceAccountCredentials>;

  /** Kill every process (SIGTERM, then SIGKILL) and remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Binary resolution

export function controlPlaneCacheDir(): string {
  const root = process.env.INFERSCALE_CACHE_DIR || path.join(os.homedir(), '.cache', 'inferscale');
  return path.join(root, 'controlplane', K8S_VERSION);
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, fsConstants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

const BINARIES: ReadonlyArray<{ key: keyof ControlPlaneBinaries; file: string; env: string }> = [
  { key: 'apiserver', file: 'kube-apiserver', env: 'TEST_ASSET_KUBE_APISERVER' },
  { key: 'etcd', file: 'etcd', env: 'TEST_ASSET_ETCD' },
  { key: 'controllerManager', file: 'kube-controller-manager', env: 'TEST_ASSET_KUBE_CONTROLLER_MANAGER' },
];

/**
 * Find kube-apiserver, etcd and kube-controller-manager. Per binary (envtest convention):
 * TEST_ASSET_<NAME>, else $KUBEBUILDER_ASSETS/<name>, else the build.sh cache dir.
 * Throws ControlPlaneBinariesMissingError.
 */
export async function resolveControlPlaneBinaries(): Promise<ControlPlaneBinaries> {
  const env = process.env;
  const cache = controlPlaneCacheDir();
  const found: Partial<ControlPlaneBinaries> = {};
  const missing: string[] = [];
  for (const b of BINARIES) {
    const explicit = env[b.env];
    if (explicit) {
      if (!(await isExecutable(explicit))) {
        throw new ControlPlaneBinariesMissingError(`${b.env}=${explicit} is not an executable file`);
      }
      found[b.key] = explicit;
      continue;
    }
    const candidates = [...(env.KUBEBUILDER_ASSETS ? [env.KUBEBUILDER_ASSETS] : []), cache].map((d) =>
      path.join(d, b.file),
    );
    let hit: string | undefined;
    for (const c of candidates) {
      if (await isExecutable(c)) {
        hit = c;
        break;
      }
    }
    if (hit) found[b.key] = hit;
    else missing.push(b.file);
  }
  if (missing.length > 0) {
    throw new ControlPlaneBinariesMissingError(
      `Kubernetes control-plane binaries not found: ${missing.join(', ')} (looked at TEST_ASSET_*, ` +
        `${env.KUBEBUILDER_ASSETS ? `KUBEBUILDER_ASSETS=${env.KUBEBUILDER_ASSETS}, ` : ''}${cache}). ` +
        `Build them once with: bash hack/controlplane/build.sh  (about 5 min on 2 cores; see docs/controlplane.md)`,
    );
  }
  return found as ControlPlaneBinaries;
}

/**
 * For tests: undefined when the control plane can run; a skip reason when binaries are missing and
 * INFERSCALE_REQUIRE_CONTROLPLANE is unset. Throws when they are missing and it is set (CI).
 */
export async function controlPlaneSkipReason(): Promise<string | undefined> {
  try {
    await resolveControlPlaneBinaries();
    return undefined;
  } catch (err) {
    if (process.env.INFERSCALE_REQUIRE_CONTROLPLANE) throw err;
    return `${(err as Error).message} [set INFERSCALE_REQUIRE_CONTROLPLANE=1 to make this a failure]`;
  }
}

// ---------------------------------------------------------------------------------------------
// Small utilities

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor(
  description: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  opts: { intervalMs?: number; abort?: () => string | undefined } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let interval = opts.intervalMs ?? 100;
  let lastErr: unknown;
  while (true) {
    const aborted = opts.abort?.();
    if (aborted) throw new Error(`${description}: ${aborted}`);
    try {
      if (await check()) return;
      lastErr = undefined;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= deadline) {
      const why = lastErr instanceof Error ? ` (last error: ${lastErr.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${why}`);
    }
    await sleep(Math.min(interval, Math.max(0, deadline - Date.now())));
    interval = Math.min(interval * 1.5, 1000);
  }
}

function run(cmd: string, args: string[], cwd: string, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let i = 0; ports.size < n && i < 50; i++) ports.add(await freeLoopbackPort());
  if (ports.size < n) throw new Error('could not find free loopback ports');
  return [...ports];
}

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function childEnv(): NodeJS.ProcessEnv {
  // A minimal environment: ETCD_* variables would reconfigure etcd, KUBECONFIG etc. are irrelevant.
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) if (process.env[k]) env[k] = process.env[k];
  return env;
}

// ---------------------------------------------------------------------------------------------
// Process supervision

class ManagedProcess {
  private child: ChildProcess | undefined;
  private exitPromise: Promise<void> | undefined;
  exitInfo: string | undefined;

  constructor(
    readonly name: string,
    private readonly bin: string,
    private readonly args: () => string[],
    readonly logFile: string,
    private readonly pidFile: string,
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.exitInfo === undefined;
  }

  start(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    const log = createWriteStream(this.logFile, { flags: 'a' });
    log.write(
      `\n===== ${new Date().toISOString()} starting ${this.name}: ${this.bin} ${this.args().join(' ')}\n`,
    );
    const child = spawn(this.bin, this.args(), { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv() });
    this.child = child;
    this.exitInfo = undefined;
    killOnExit(child);
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    if (child.pid !== undefined) {
      try {
        // Synchronous so that the reaper always sees it.
        writeFileSync(this.pidFile, String(child.pid));
      } catch {
        /* dir may be gone during teardown */
      }
    }
    this.exitPromise = new Promise<void>((resolve) => {
      const done = (info: string) => {
        if (this.child === child && this.exitInfo === undefined) this.exitInfo = info;
        rmSync(this.pidFile, { force: true });
        log.end(`===== ${new Date().toISOString()} ${this.name} ${info}\n`);
        resolve();
      };
      child.once('exit', (code, signal) => done(signal ? `killed by ${signal}` : `exited with code ${code}`));
      child.once('error', (err) => done(`failed to start: ${err.message}`));
    });
  }

  /** If the process died, a message with the log tail; else undefined. */
  deathNotice(): string | undefined {
    if (this.exitInfo === undefined) return undefined;
    return `${this.name} ${this.exitInfo}; last log lines (${this.logFile}):\n${tail(this.logFile)}`;
  }

  async stop(opts: StopOptions = {}, graceMs = 15_000): Promise<void> {
    const child = this.child;
    if (!child || this.exitInfo !== undefined) return;
    const gone = await stopChild(
      child,
      this.exitPromise as Promise<void>,
      graceMs,
      opts.kill ? 'SIGKILL' : 'SIGTERM',
    );
    if (!gone) throw new Error(`${this.name} (pid ${child.pid}) did not exit after SIGKILL`);
  }
}

/**
 * A detached bash loop that SIGKILLs every process listed in <dir>/pids/*.pid and removes <dir>
 * once this Node process is gone (covers SIGKILL of the test runner, where no 'exit' hook runs).
 */
function startReaper(dir: string, pidDir: string, removeDir: boolean): ChildProcess {
  const script = [
    'parent="$1"; pids="$2"; dir="$3"; rmdir_flag="$4"',
    'trap "exit 0" TERM',
    'while kill -0 "$parent" 2>/dev/null; do sleep 1 & wait $!; done',
    'for f in "$pids"/*.pid; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done',
    '[ "$rmdir_flag" = 1 ] && sleep 1 && rm -rf "$dir"',
    'exit 0',
  ].join('\n');
  const reaper = spawn(
    'bash',
    ['-c', script, 'inferscale-controlplane-reaper', String(process.pid), pidDir, dir, removeDir ? '1' : '0'],
    { detached: true, stdio: 'ignore' },
  );
  reaper.unref();
  return reaper;
}

// ---------------------------------------------------------------------------------------------
// Certificates (openssl)

interface Pki {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  kcmCert: string;
  kcmKey: string;
  saKey: string;
  saPub: string;
}

async function generatePki(dir: string): Promise<Pki> {
  await mkdir(dir, { recursive: true });
  const p = (f: string) => path.join(dir, f);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await writeFile(
    p('ca.cnf'),
    [
      '[req]',
      'distinguished_name=dn',
      'prompt=no',
      '[dn]',
      'CN=inferscale-test-ca',
      '[v3_ca]',
      'basicConstraints=critical,CA:TRUE',
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
      'subjectKeyIdentifier=hash',
      '',
    ].join('\n'),
  );
  await run(
    'openssl',
    [
      'req',
      '-x509',
      '-new',
      '-config',
      'ca.cnf',
      '-extensions',
      'v3_ca',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '3650',
    ],
    dir,
  );

  const leaf = async (name: string, subject: string, ext: string[]) => {
    await writeFile(p(`${name}.ext`), ext.join('\n') + '\n');
    await run(
      'openssl',
      ['req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject],
      dir,
    );
    await run(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-set_serial',
        `0x${randomBytes(12).toString('hex').replace(/^./, '1')}`,
        '-days',
        '3650',
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.crt`,
      ],
      dir,
    );
  };
  const common = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'authorityKeyIdentifier=keyid',
  ];
  await Promise.all([
    leaf('apiserver', '/CN=kube-apiserver', [
      ...common,
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
    ]),
    leaf('admin', '/O=system:masters/CN=inferscale-admin', [...common, 'extendedKeyUsage=clientAuth']),
    leaf('kcm', '/CN=system:kube-controller-manager', [...common, 'extendedKeyUsage=clientAuth']),
    run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'sa.key'], dir).then(() =>
      run('openssl', ['ec', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir),
    ),
  ]);
  return {
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    servingCert: p('apiserver.crt'),
    servingKey: p('apiserver.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    kcmCert: p('kcm.crt'),
    kcmKey: p('kcm.key'),
    saKey: p('sa.key'),
    saPub: p('sa.pub'),
  };
}

function b64(file: string): string {
  return readFileSync(file).toString('base64');
}

function kubeconfigYaml(
  server: string,
  caFile: string,
  user: Record<string, string>,
  name = 'inferscale-test',
): string {
  const userLines = Object.entries(user).map(([k, v]) => `    ${k}: ${v}`);
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${name}`,
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(caFile)}`,
    'users:',
    `- name: ${name}`,
    '  user:',
    ...userLines,
    'contexts:',
    `- name: ${name}`,
    '  context:',
    `    cluster: ${name}`,
    `    user: ${name}`,
    '    namespace: default',
    `current-context: ${name}`,
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// The control plane

/** Start etcd, kube-apiserver and (by default) kube-controller-manager on free loopback ports. */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binaries = await resolveControlPlaneBinaries();
  // Free ports are probed then released, so another process can grab one in between: retry then.
  for (let attempt = 1; ; attempt++) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'inferscale-cp-'));
    try {
      return await startIn(dir, binaries, opts);
    } catch (err) {
      if (!opts.keepDir) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      if (attempt < 3 && /address already in use/i.test(String((err as Error).message))) continue;
      throw err;
    }
  }
}

async function startIn(
  dir: string,
  binaries: ControlPlaneBinaries,
  opts: ControlPlaneOptions,
): Promise<ControlPlane> {
  const withKcm = opts.controllerManager ?? true;
  const startTimeout = opts.startTimeoutMs ?? 90_000;
  const logDir = opts.logDir ?? path.join(dir, 'logs');
  const pidDir = path.join(dir, 'pids');
  const dataDir = path.join(dir, 'etcd-data');
  await Promise.all([mkdir(logDir, { recursive: true }), mkdir(pidDir, { recursive: true })]);
  const reaper = startReaper(dir, pidDir, !opts.keepDir);

  const pki = await generatePki(path.join(dir, 'pki'));
  const [etcdClientPort, etcdPeerPort, apiPort] = (await freePorts(3)) as [number, number, number];
  const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
  const server = `https://127.0.0.1:${apiPort}`;

  const kubeconfigPath = path.join(dir, 'admin.kubeconfig');
  await writeFile(
    kubeconfigPath,
    kubeconfigYaml(server, pki.caCert, {
      'client-certificate-data': b64(pki.adminCert),
      'client-key-data': b64(pki.adminKey),
    }),
  );
  const kcmKubeconfig = path.join(dir, 'kube-controller-manager.kubeconfig');
  await writeFile(
    kcmKubeconfig,
    kubeconfigYaml(server, pki.caCert, {
      'client-certificate-data': b64(pki.kcmCert),
      'client-key-data': b64(pki.kcmKey),
    }),
  );

  const etcd = new ManagedProcess(
    'etcd',
    binaries.etcd,
    () => [
      '--name=default',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
      '--initial-cluster-state=new',
      '--unsafe-no-fsync=true',
      '--quota-backend-bytes=2147483648',
      '--log-level=warn',
    ],
    path.join(logDir, 'etcd.log'),
    path.join(pidDir, 'etcd.pid'),
  );

  const apiserver = new ManagedProcess(
    'kube-apiserver',
    binaries.apiserver,
    () => [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${pki.servingCert}`,
      `--tls-private-key-file=${pki.servingKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
      '--authorization-mode=Node,RBAC',
      '--allow-privileged=true',
      // The "kubernetes" Service endpoint would be 127.0.0.1, which Endpoints validation rejects.
      '--endpoint-reconciler-type=none',
      '--profiling=false',
      // Graceful shutdown: stop waiting for long-running watches after ~2 s instead of 60 s.
      '--shutdown-send-retry-after=true',
      `--cert-dir=${path.join(dir, 'apiserver-certs')}`,
      '--v=1',
      ...(opts.apiserverArgs ?? []),
    ],
    path.join(logDir, 'kube-apiserver.log'),
    path.join(pidDir, 'kube-apiserver.pid'),
  );

  const kcm = new ManagedProcess(
    'kube-controller-manager',
    binaries.controllerManager,
    () => [
      `--kubeconfig=${kcmKubeconfig}`,
      '--secure-port=0',
      '--leader-elect=false',
      '--controllers=*',
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${pki.saKey}`,
      `--root-ca-file=${pki.caCert}`,
      `--cluster-signing-cert-file=${pki.caCert}`,
      `--cluster-signing-key-file=${pki.caKey}`,
      `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
      '--cluster-name=inferscale-test',
      '--concurrent-deployment-syncs=5',
      '--concurrent-replicaset-syncs=5',
      '--v=1',
      ...(opts.controllerManagerArgs ?? []),
    ],
    path.join(logDir, 'kube-controller-manager.log'),
    path.join(pidDir, 'kube-controller-manager.pid'),
  );

  const ca = readFileSync(pki.caCert);
  const adminCert = readFileSync(pki.adminCert);
  const adminKey = readFileSync(pki.adminKey);
  const agent = new https.Agent({ ca, cert: adminCert, key: adminKey, keepAlive: false });

  const request = <T = unknown>(
    method: string,
    apiPath: string,
    body?: unknown,
    ropts: RequestOptions = {},
  ): Promise<ApiResponse<T>> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const headers: Record<string, string> = { Accept: 'application/json' };
      if (payload !== undefined) {
        headers['Content-Type'] = ropts.contentType ?? 'application/json';
        headers['Content-Length'] = String(Buffer.byteLength(payload));
      }
      if (ropts.bearerToken) headers.Authorization = `Bearer ${ropts.bearerToken}`;
      const req = https.request(
        `${server}${apiPath}`,
        {
          method,
          headers,
          ...(ropts.bearerToken ? { ca } : { agent }),
          timeout: ropts.timeoutMs ?? 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              /* not JSON (e.g. /readyz) */
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T, text });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${apiPath}: timed out`)));
      req.on('error', reject);
      req.end(payload);
    });

  const etcdHealthy = () =>
    new Promise<boolean>((resolve) => {
      const r = http.get(`${etcdUrl}/health`, { timeout: 2_000 }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(res.statusCode === 200 && /"health":\s*"true"/.test(text)));
        res.on('error', () => resolve(false));
      });
      r.on('timeout', () => r.destroy());
      r.on('error', () => resolve(false));
    });

  const waitEtcd = (timeoutMs: number) =>
    waitFor('etcd /health', timeoutMs, etcdHealthy, { abort: () => etcd.deathNotice() });

  const waitApiserver = async (timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    await waitFor(
      'kube-apiserver /readyz',
      timeoutMs,
      async () => (await request('GET', '/readyz', undefined, { timeoutMs: 5_000 })).status === 200,
      { abort: () => apiserver.deathNotice() },
    );
    // The bootstrap controller creates the default namespaces shortly after readiness.
    await waitFor(
      'namespace "default"',
      Math.max(1_000, deadline - Date.now()),
      async () =>
        (await request('GET', '/api/v1/namespaces/default', undefined, { timeoutMs: 5_000 })).status === 200,
      { abort: () => apiserver.deathNotice() },
    );
  };

  const waitKcm = (timeoutMs: number) =>
    // The serviceaccount controller creates default/default; pods cannot be admitted without it.
    waitFor(
      'kube-controller-manager (ServiceAccount default/default)',
      timeoutMs,
      async () =>
        (
          await request('GET', '/api/v1/namespaces/default/serviceaccounts/default', undefined, {
            timeoutMs: 5_000,
          })
        ).status === 200,
      { abort: () => kcm.deathNotice() ?? apiserver.deathNotice() },
    );

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      reaper.kill('SIGTERM');
    } catch {
      /* gone */
    }
    // Controller-manager first, etcd last, so nobody logs storms of connection errors.
    await kcm.stop().catch(() => undefined);
    await apiserver.stop().catch(() => undefined);
    await etcd.stop().catch(() => undefined);
    agent.destroy();
    if (!opts.keepDir) await rm(dir, { recursive: true, force: true });
  };

  const cp: ControlPlane = {
    dir,
    kubeconfigPath,
    server,
    etcdUrl,
    logDir,
    caPath: pki.caCert,
    binaries,
    request,
    async waitForReady(timeoutMs = startTimeout) {
      const deadline = Date.now() + timeoutMs;
      const left = () => Math.max(1_000, deadline - Date.now());
      if (etcd.running) await waitEtcd(left());
      if (apiserver.running) await waitApiserver(left());
      if (kcm.running) await waitKcm(left());
    },
    stopEtcd: (o) => etcd.stop(o),
    async startEtcd() {
      etcd.start();
      await waitEtcd(startTimeout);
    },
    async restartEtcd(o) {
      await etcd.stop(o);
      await cp.startEtcd();
      if (apiserver.running) await waitApiserver(startTimeout);
    },
    stopApiserver: (o) => apiserver.stop(o),
    async startApiserver() {
      apiserver.start();
      await waitApiserver(startTimeout);
    },
    async restartApiserver(o) {
      await apiserver.stop(o);
      await cp.startApiserver();
    },
    stopControllerManager: (o) => kcm.stop(o),
    async startControllerManager() {
      kcm.start();
      await waitKcm(startTimeout);
    },
    async serviceAccountKubeconfig(o) {
      const { namespace, name } = o;
      if (o.create ?? true) {
        const ns = await request('POST', '/api/v1/namespaces', {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: namespace },
        });
        if (ns.status !== 201 && ns.status !== 409)
          throw new Error(`create namespace ${namespace}: ${ns.status} ${ns.text}`);
        const sa = await request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts`, {
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name, namespace },
        });
        if (sa.status !== 201 && sa.status !== 409)
          throw new Error(`create serviceaccount ${namespace}/${name}: ${sa.status} ${sa.text}`);
      }
      const tr = await request<{ status?: { token?: string } }>(
        'POST',
        `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
        {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { expirationSeconds: o.expirationSeconds ?? 3600 },
        },
      );
      const token = tr.body?.status?.token;
      if (tr.status !== 201 || !token)
        throw new Error(`TokenRequest for ${namespace}/${name}: ${tr.status} ${tr.text}`);
      const file = o.path ?? path.join(dir, `sa-${namespace}-${name}.kubeconfig`);
      const yaml = kubeconfigYaml(server, pki.caCert, { token }, `${namespace}-${name}`).replace(
        'namespace: default',
        `namespace: ${namespace}`,
      );
      await writeFile(file, yaml, { mode: 0o600 });
      return { kubeconfigPath: file, token };
    },
    stop,
  };

  try {
    etcd.start();
    await waitEtcd(startTimeout);
    apiserver.start();
    await waitApiserver(startTimeout);
    if (withKcm) {
      kcm.start();
      await waitKcm(startTimeout);
    }
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return cp;
}

/** True when a file exists (small helper for callers/tests). */
export function fileExists(file: string): boolean {
  return existsSync(file);
}

/** Read a component's log (for assertions / debugging). */
export async function readLog(
  cp: ControlPlane,
  component: 'etcd' | 'kube-apiserver' | 'kube-controller-manager',
): Promise<string> {
  return readFile(path.join(cp.logDir, `${component}.log`), 'utf8');
}
