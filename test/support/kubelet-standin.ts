/**
 * A kubelet stand-in for the loopback control plane (test/support/controlplane.ts), which has no
 * scheduler and no kubelet. It watches the pods of test workloads and runs each one as an
 * `inferscale emulate` process (or an in-process emulator) on its own 127.x.y.z address, so a
 * Deployment's pods become real HTTP endpoints serving vLLM's API and /metrics.
 *
 * Lifecycle of one pod (docs/controlplane.md "Kubelet stand-in"):
 *   bind to the stand-in's Node → Pending (ContainerCreating) → start delay (image pull, node
 *   provisioning) → process listening: Running with podIP, not Ready → /health 200 (after the
 *   emulator's own load delay): Ready → on deletionTimestamp: not Ready, SIGTERM, wait up to the
 *   grace period, SIGKILL, then DELETE with gracePeriodSeconds 0 (the kubelet's confirmation).
 * A process that dies on its own is restarted with backoff (CrashLoopBackOff), like restartPolicy
 * Always. Every wait is bounded; stop() kills every child.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { Informer } from '../../src/k8s/informer.js';
import { errorMessage, rawRequest } from '../../src/k8s/client.js';
import { silentLogger, type Logger } from '../../src/observability/log.js';
import { killOnExit, stopChild } from './child-lifecycle.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SLIM_ENTRY = fileURLToPath(new URL('./emulate-entry.ts', import.meta.url));
const CLI_ENTRY = path.join(REPO_ROOT, 'src/cli/main.ts');

/** Address of the stand-in's Node (status.hostIP of every pod). */
export const NODE_IP = '127.0.0.1';
/** Annotations a pod template may carry to pick the emulated hardware per workload. */
export const ANNOTATION_GPU = 'standin.inferscale.dev/gpu';
export const ANNOTATION_MODEL = 'standin.inferscale.dev/model';
/** Extra `inferscale emulate` flags, whitespace-separated (e.g. `--speedup 10 --tp 2`). */
export const ANNOTATION_ARGS = 'standin.inferscale.dev/args';

// ---------------------------------------------------------------------------------------------
// Public types

/** What the stand-in knows about a pod (from the apiserver). */
export interface StandinPod {
  namespace: string;
  name: string;
  uid: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  nodeName?: string;
  /** metadata.deletionTimestamp is set. */
  deleting: boolean;
  /** metadata.deletionGracePeriodSeconds, else spec.terminationGracePeriodSeconds. */
  graceSeconds?: number;
  containers: { name: string; image: string }[];
  phase?: string;
  podIP?: string;
  ready: boolean;
}

export interface ProcessCommand {
  cmd: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
}

/** Runs something else than the emulator: it must listen on `ip:port` and answer the probe path. */
export type CommandFactory = (pod: StandinPod, ip: string, port: number) => ProcessCommand;

/** How `inferscale emulate` is started for a pod. */
export interface EmulatorSpec {
  /** Default A100-80GB (the CLI default); pod annotation standin.inferscale.dev/gpu overrides. */
  gpu?: string;
  /** Default Llama-3.1-8B; pod annotation standin.inferscale.dev/model overrides. */
  model?: string;
  /** Model time runs this many times faster than the wall clock. */
  speedup?: number;
  /** `--startup-delay`: the process listens but /health answers 503 (the pod is Running, not Ready). */
  loadDelayMs?: number;
  /** More `inferscale emulate` flags (process mode only). */
  args?: string[];
}

export interface ProbeOptions {
  /** Default /health. */
  path?: string;
  /** Default 250 ms. */
  periodMs?: number;
  /** Default 1000 ms. */
  timeoutMs?: number;
  /** Consecutive failures that make a Ready pod not Ready. Default 3. */
  failureThreshold?: number;
}

export interface KubeletStandinOptions {
  /** Admin kubeconfig (ControlPlane.kubeconfigPath); or pass `kc`. */
  kubeconfigPath?: string;
  kc?: k8s.KubeConfig;
  /** Namespace whose pods are run. Default `default`. */
  namespace?: string;
  /** Only pods matching this label selector (e.g. `app=emu`). Default: all pods of the namespace. */
  labelSelector?: string;
  /**
   * true (default): register a Node `inferscale-standin-<hex>` kept Ready by Lease renewals, and
   * bind pods to it (they look scheduled; deletions are graceful). A string: that Node name (an
   * existing one is adopted, e.g. to model a kubelet restart). false: no Node and no binding; the
   * apiserver then deletes pods at once (no graceful termination).
   */
  node?: boolean | string;
  /** Time a pod stays Pending before its process starts (image pull, node provisioning). Default 0. */
  startDelayMs?: number;
  /** Per-pod start delay; wins over startDelayMs. */
  startDelay?: (pod: StandinPod) => number;
  /** `emulate` (default) or any command that listens on ip:port. */
  command?: 'emulate' | CommandFactory;
  /**
   * `process` (default): each pod is a child process, like in production (~105 MB RSS each).
   * `in-process`: each pod is a startEmulator() server in this process (a few MB each), for tests
   * with many pods. Only with command `emulate`.
   */
  mode?: 'process' | 'in-process';
  emulator?: EmulatorSpec | ((pod: StandinPod) => EmulatorSpec);
  /**
   * `slim` (default): test/support/emulate-entry.ts, the same `emulate` command without the other
   * subcommands. `cli`: src/cli/main.ts emulate (~260 MB RSS per pod).
   */
  emulateEntry?: 'slim' | 'cli';
  /** Container port every pod listens on. Default 8000. */
  port?: number;
  /** Pod addresses, a CIDR inside 127.0.0.0/8. Default 127.0.1.0/24. 127.0.0.1 is never handed out. */
  ipPool?: string;
  probe?: ProbeOptions;
  /** Upper bound on the termination grace period honoured (ms). Default 10 s. */
  maxGraceMs?: number;
  /** Bound on pods run at once; further pods stay Pending until one goes. Default 64. */
  maxPods?: number;
  /** Restart backoff after a crash. Default 1 s doubling to 10 s. */
  restartBackoff?: { initialMs?: number; maxMs?: number };
  /** A started process must listen within this long, else it is killed (a crash). Default 60 s. */
  listenTimeoutMs?: number;
  log?: Logger;
}

export type PodState = 'pending' | 'running' | 'ready' | 'crashed' | 'terminating';

export interface PodStatusView {
  namespace: string;
  name: string;
  uid: string;
  state: PodState;
  ip?: string;
  port: number;
  /** `http://ip:port` once the process listens. */
  url?: string;
  pid?: number;
  restarts: number;
  /** Wall-clock ms of the pod's first sight, process start (latest), readiness (latest). */
  seenAtMs: number;
  startedAtMs?: number;
  readyAtMs?: number;
  lastExit?: string;
  /** Last lines of the process's stdout/stderr (process mode). */
  logTail: string[];
}

export type StandinEventType =
  'bound' | 'started' | 'listening' | 'ready' | 'not-ready' | 'exited' | 'stopped' | 'deleted' | 'error';

export interface StandinEvent {
  atMs: number;
  /** namespace/name */
  pod: string;
  type: StandinEventType;
  detail?: string;
}

export interface KubeletStandin {
  /** The Node pods are bound to; undefined with `node: false`. */
  readonly nodeName: string | undefined;
  /** Pods being run, keyed `namespace/name`. */
  pods(): Map<string, PodStatusView>;
  /** The last 2000 lifecycle events, oldest first. */
  events(): StandinEvent[];
  /** Crash injection: signal a pod's process (process mode) or drop its server (in-process). */
  kill(namespace: string, name: string, signal?: NodeJS.Signals): boolean;
  /** Kill every child, stop watching, delete the Node (if created here). Idempotent. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Small utilities

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Kubernetes Time: RFC 3339, seconds precision. */
function kubeTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
function kubeMicroTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

function apiPath(namespace: string, ...rest: string[]): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/${rest.map(encodeURIComponent).join('/')}`;
}

function responseMessage(r: { status: number; text: string; json: unknown }): string {
  const msg = (r.json as { message?: unknown } | undefined)?.message;
  return `HTTP ${r.status}: ${typeof msg === 'string' ? msg : r.text.slice(0, 200)}`;
}

/** GET http://ip:port/path; true on 2xx. Never throws. */
function httpOk(ip: string, port: number, p: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: ip, port, path: p, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
  });
}

/** A TCP connection to ip:port succeeds. Never throws. */
function tcpOpen(ip: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: ip, port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.once('connect', () => done(true));
    sock.once('timeout', () => done(false));
    sock.once('error', () => done(false));
  });
}

// ---------------------------------------------------------------------------------------------
// Loopback address pool

function ipToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

const LOOPBACK_FIRST = ipToInt('127.0.0.0')!;
const LOOPBACK_LAST = ipToInt('127.255.255.255')!;
const HOST_LOOPBACK = ipToInt('127.0.0.1')!;

/** The usable addresses of a CIDR inside 127.0.0.0/8, as an inclusive integer range. */
export function parseLoopbackPool(cidr: string): { first: number; last: number; size: number } {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr.trim());
  const base = m ? ipToInt(m[1]!) : undefined;
  const bits = m ? Number(m[2]) : NaN;
  if (!m || base === undefined || !(bits >= 8 && bits <= 32)) {
    throw new Error(`ipPool '${cidr}' is not a CIDR like 127.0.1.0/24`);
  }
  const span = 2 ** (32 - bits);
  const network = base - (base % span);
  let first = network;
  let last = network + span - 1;
  if (first < LOOPBACK_FIRST || last > LOOPBACK_LAST) {
    throw new Error(`ipPool '${cidr}' is outside 127.0.0.0/8; the stand-in only uses loopback addresses`);
  }
  if (span >= 4) {
    first += 1; // no network address
    last -= 1; // no broadcast address
  }
  return { first, last, size: last - first + 1 };
}

/** Can we listen on ip:port right now? (Probe just before handing the address to a process.) */
function canListen(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: ip, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * Hands out the lowest free address (so addresses are reused after a pod goes), skipping those in
 * use by this stand-in and those where `ip:port` is taken by someone else (e.g. another test's
 * stand-in on the same pool).
 */
export class LoopbackPool {
  private readonly range: { first: number; last: number; size: number };
  private readonly used = new Set<number>();
  /** Addresses found taken by another process, with the time they may be retried. */
  private readonly foreign = new Map<number, number>();

  constructor(
    cidr: string,
    private readonly port: number,
  ) {
    this.range = parseLoopbackPool(cidr);
  }

  get inUse(): number {
    return this.used.size;
  }

  /** An address free for `port`, reserved until release(); undefined when none is (bounded scan). */
  async acquire(maxProbes = 1024): Promise<string | undefined> {
    let probes = 0;
    const now = Date.now();
    for (let n = this.range.first; n <= this.range.last && probes < maxProbes; n++) {
      if (n === HOST_LOOPBACK || this.used.has(n)) continue;
      if ((this.foreign.get(n) ?? 0) > now) continue;
      this.used.add(n); // reserve across the await
      probes++;
      if (await canListen(intToIp(n), this.port)) {
        this.foreign.delete(n);
        return intToIp(n);
      }
      this.used.delete(n);
      this.markForeign(intToIp(n));
    }
    return undefined;
  }

  release(ip: string): void {
    const n = ipToInt(ip);
    if (n !== undefined) this.used.delete(n);
  }

  /** Someone else listens there: skip it for a while. */
  markForeign(ip: string, forMs = 30_000): void {
    const n = ipToInt(ip);
    if (n !== undefined) this.foreign.set(n, Date.now() + forMs);
  }
}

// ---------------------------------------------------------------------------------------------
// Pod reading

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** V1Pod from a LIST (Dates) or a watch event (strings) → StandinPod. */
export function toStandinPod(pod: k8s.V1Pod): StandinPod {
  const meta = pod.metadata ?? {};
  const spec = pod.spec;
  const grace = meta.deletionGracePeriodSeconds ?? spec?.terminationGracePeriodSeconds;
  const out: StandinPod = {
    namespace: meta.namespace ?? '',
    name: meta.name ?? '',
    uid: meta.uid ?? '',
    labels: { ...(meta.labels ?? {}) },
    annotations: { ...(meta.annotations ?? {}) },
    deleting: meta.deletionTimestamp !== undefined && meta.deletionTimestamp !== null,
    containers: (spec?.containers ?? []).map((c) => ({ name: c.name, image: c.image ?? '' })),
    ready: (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
  };
  const nodeName = str(spec?.nodeName);
  if (nodeName) out.nodeName = nodeName;
  if (typeof grace === 'number') out.graceSeconds = grace;
  const phase = str(pod.status?.phase);
  if (phase) out.phase = phase;
  const ip = str(pod.status?.podIP);
  if (ip) out.podIP = ip;
  return out;
}

// ---------------------------------------------------------------------------------------------
// What runs a pod: a child process or an in-process emulator

interface Workload {
  pid?: number;
  /** Resolves with a description once the workload is gone. */
  readonly exited: Promise<string>;
  readonly alive: boolean;
  /** Resolves true once listening, false if it exited or `timeoutMs` passed first. */
  listening(timeoutMs: number, signal: AbortSignal): Promise<boolean>;
  /** Graceful stop: SIGTERM (drain), SIGKILL after graceMs. */
  stop(graceMs: number): Promise<void>;
  kill(signal: NodeJS.Signals): void;
}

const LOG_TAIL_LINES = 40;

function startChild(
  command: ProcessCommand,
  ip: string,
  port: number,
  logTail: string[],
  urlLine: boolean,
): Workload {
  // stdin stays an open pipe: the slim entry exits when it closes, i.e. when this process dies.
  const child = spawn(command.cmd, command.args, {
    cwd: command.cwd ?? REPO_ROOT,
    env: { ...process.env, INFERSCALE_EXIT_WITH_STDIN: '1', ...command.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  killOnExit(child);
  let alive = true;
  let announced = false;
  const expectedUrl = `http://${ip}:${port}`;
  const onLine = (line: string) => {
    if (line.trim() === expectedUrl) announced = true;
    logTail.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
    if (logTail.length > LOG_TAIL_LINES) logTail.splice(0, logTail.length - LOG_TAIL_LINES);
  };
  for (const stream of [child.stdout, child.stderr]) {
    let buf = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      if (buf.length > 4096) buf = buf.slice(-4096);
    });
  }
  child.stdin?.on('error', () => {
    /* EPIPE after the child exited */
  });
  const exited = new Promise<string>((resolve) => {
    const done = (info: string) => {
      alive = false;
      resolve(info);
    };
    child.once('exit', (code, signal) => done(signal ? `killed by ${signal}` : `exited with code ${code}`));
    child.once('error', (err) => done(`failed to start: ${err.message}`));
  });
  return {
    pid: child.pid,
    exited,
    get alive() {
      return alive;
    },
    async listening(timeoutMs, signal) {
      const deadline = Date.now() + timeoutMs;
      while (alive && !signal.aborted && Date.now() < deadline) {
        // The emulator prints its URL once listening; another command is polled over TCP.
        if (urlLine ? announced : await tcpOpen(ip, port, 500)) return true;
        await sleep(50, signal);
      }
      return alive && !signal.aborted && (urlLine ? announced : false);
    },
    async stop(graceMs) {
      if (alive) await stopChild(child, exited, graceMs);
    },
    kill(signal) {
      if (alive) child.kill(signal);
    },
  };
}

interface InProcessSpec {
  gpu: string;
  model: string;
  speedup: number;
  loadDelayMs: number;
}

async function startInProcess(spec: InProcessSpec, ip: string, port: number, log: Logger): Promise<Workload> {
  const { startEmulator } = await import('../../src/emulator/server.js');
  const handle = await startEmulator({
    gpu: spec.gpu,
    model: spec.model,
    host: ip,
    port,
    speedup: spec.speedup,
    startupDelayMs: spec.loadDelayMs,
    log,
  });
  let alive = true;
  let resolveExit: (info: string) => void = () => {};
  const exited = new Promise<string>((r) => (resolveExit = r));
  const close = async (drainMs: number, info: string) => {
    if (!alive) return;
    alive = false;
    await handle.close({ drainMs }).catch(() => undefined);
    resolveExit(info);
  };
  return {
    exited,
    get alive() {
      return alive;
    },
    listening: () => Promise.resolve(alive),
    stop: (graceMs) => close(graceMs, 'stopped'),
    kill: (signal) => void close(0, `killed by ${signal}`),
  };
}

// ---------------------------------------------------------------------------------------------
// One pod

interface Condition {
  status: 'True' | 'False';
  since: number;
}

class PodRuntime {
  state: PodState = 'pending';
  ip: string | undefined;
  workload: Workload | undefined;
  restarts = 0;
  readonly seenAtMs = Date.now();
  startedAtMs: number | undefined;
  readyAtMs: number | undefined;
  lastExit: string | undefined;
  lastTerminated: { exitCode: number; reason: string; startedAt: number; finishedAt: number } | undefined;
  /** The current process listens on ip:port. */
  listening = false;
  /** podIP has been published (it never changes afterwards). */
  ipPublished = false;
  waitingReason = 'ContainerCreating';
  waitingMessage: string | undefined;
  readonly logTail: string[] = [];
  readonly abort = new AbortController();
  private readonly conditions = new Map<string, Condition>();
  private terminated: Promise<void> | undefined;
  private runLoop: Promise<void> | undefined;
  private statusInFlight = false;
  private statusDirty = false;
  private gone = false;
  readonly containerId = randomBytes(8).toString('hex');

  constructor(
    readonly mgr: Standin,
    public pod: StandinPod,
  ) {
    this.setCondition('PodScheduled', true);
    this.setCondition('Initialized', true);
    this.setCondition('PodReadyToStartContainers', false);
    this.setCondition('ContainersReady', false);
    this.setCondition('Ready', false);
  }

  get key(): string {
    return `${this.pod.namespace}/${this.pod.name}`;
  }

  view(): PodStatusView {
    const v: PodStatusView = {
      namespace: this.pod.namespace,
      name: this.pod.name,
      uid: this.pod.uid,
      state: this.state,
      port: this.mgr.port,
      restarts: this.restarts,
      seenAtMs: this.seenAtMs,
      logTail: [...this.logTail],
    };
    if (this.ip) v.ip = this.ip;
    if (this.ip && this.listening) v.url = `http://${this.ip}:${this.mgr.port}`;
    if (this.workload?.pid !== undefined && this.workload.alive) v.pid = this.workload.pid;
    if (this.startedAtMs !== undefined) v.startedAtMs = this.startedAtMs;
    if (this.readyAtMs !== undefined) v.readyAtMs = this.readyAtMs;
    if (this.lastExit !== undefined) v.lastExit = this.lastExit;
    return v;
  }

  private setCondition(type: string, value: boolean): boolean {
    const status = value ? 'True' : 'False';
    const prior = this.conditions.get(type);
    if (prior?.status === status) return false;
    this.conditions.set(type, { status, since: Date.now() });
    return true;
  }

  private setReady(ready: boolean): void {
    const changed = this.setCondition('Ready', ready);
    this.setCondition('ContainersReady', ready);
    if (!changed) return;
    if (ready) {
      this.readyAtMs = Date.now();
      this.state = 'ready';
    } else if (this.state === 'ready') {
      this.state = 'running';
    }
    this.mgr.event(this.key, ready ? 'ready' : 'not-ready');
    this.pushStatus();
  }

  // --- status ---------------------------------------------------------------------------------

  private statusBody(): unknown {
    const phase = this.ipPublished ? 'Running' : 'Pending';
    const conditions = [...this.conditions].map(([type, c]) => ({
      type,
      status: c.status,
      lastProbeTime: null,
      lastTransitionTime: kubeTime(c.since),
      ...(c.status === 'False' && (type === 'Ready' || type === 'ContainersReady')
        ? { reason: 'ContainersNotReady', message: 'containers with unready status: [emulator]' }
        : {}),
    }));
    const running = this.workload?.alive === true && this.listening && this.startedAtMs !== undefined;
    const state = running
      ? { running: { startedAt: kubeTime(this.startedAtMs!) } }
      : {
          waiting: {
            reason: this.waitingReason,
            ...(this.waitingMessage ? { message: this.waitingMessage } : {}),
          },
        };
    const lastState = this.lastTerminated
      ? {
          terminated: {
            exitCode: this.lastTerminated.exitCode,
            reason: this.lastTerminated.reason,
            startedAt: kubeTime(this.lastTerminated.startedAt),
            finishedAt: kubeTime(this.lastTerminated.finishedAt),
          },
        }
      : {};
    const ready = this.conditions.get('Ready')?.status === 'True';
    const containerStatuses = this.pod.containers.map((c) => ({
      name: c.name,
      image: c.image,
      imageID: '',
      containerID: `standin://${this.containerId}-${this.restarts}`,
      ready,
      started: running,
      restartCount: this.restarts,
      state,
      lastState,
    }));
    const status: Record<string, unknown> = {
      phase,
      hostIP: NODE_IP,
      hostIPs: [{ ip: NODE_IP }],
      startTime: kubeTime(this.seenAtMs),
      conditions,
      containerStatuses,
    };
    if (this.ip && this.ipPublished) {
      status.podIP = this.ip;
      status.podIPs = [{ ip: this.ip }];
    }
    // metadata.uid acts as a precondition: a same-name replacement pod is never patched.
    return { metadata: { uid: this.pod.uid }, status };
  }

  /** Publishes the current status; coalesces bursts and retries transient failures (bounded backoff). */
  pushStatus(): void {
    this.statusDirty = true;
    if (this.statusInFlight || this.gone) return;
    this.statusInFlight = true;
    void (async () => {
      let backoff = 250;
      try {
        while (this.statusDirty && !this.gone && !this.mgr.stopped) {
          this.statusDirty = false;
          const body = this.statusBody();
          try {
            const r = await rawRequest(
              this.mgr.kc,
              'PATCH',
              apiPath(this.pod.namespace, 'pods', this.pod.name, 'status'),
              { body, contentType: 'application/merge-patch+json', timeoutMs: 5_000 },
            );
            if (r.status === 404 || r.status === 409) break; // gone, or replaced by a same-name pod
            if (r.status === 422 || r.status === 400) {
              this.mgr.event(this.key, 'error', `pod status rejected: ${responseMessage(r)}`);
              break;
            }
            if (r.status >= 300) throw new Error(responseMessage(r));
            backoff = 250;
          } catch (err) {
            this.statusDirty = true;
            this.mgr.log.debug({ pod: this.key, err: errorMessage(err) }, 'status patch failed; retrying');
            await sleep(backoff, this.mgr.stopSignal);
            backoff = Math.min(backoff * 2, 5_000);
          }
        }
      } finally {
        this.statusInFlight = false;
      }
    })();
  }

  /** The apiserver's view changed: re-assert ours if it drifted (e.g. lost during an apiserver restart). */
  observe(pod: StandinPod): void {
    this.pod = pod;
    if (this.terminated || this.statusInFlight) return;
    const wantReady = this.conditions.get('Ready')?.status === 'True';
    const wantIp = this.ipPublished ? this.ip : undefined;
    if (pod.ready !== wantReady || (wantIp !== undefined && pod.podIP !== wantIp)) this.pushStatus();
  }

  // --- running --------------------------------------------------------------------------------

  start(): void {
    this.runLoop = this.run().catch((err: unknown) => {
      this.mgr.event(this.key, 'error', `pod loop failed: ${errorMessage(err)}`);
    });
  }

  private get aborted(): boolean {
    return this.abort.signal.aborted || this.mgr.stopped;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    if (this.mgr.nodeName && !this.pod.nodeName) {
      if (!(await this.bind())) return;
    }
    this.pushStatus();
    const delay = this.mgr.startDelayFor(this.pod);
    if (delay > 0) await sleep(delay, signal);
    let backoff = this.mgr.backoff.initialMs;
    while (!this.aborted) {
      if (!this.ip) {
        this.ip = await this.mgr.pool.acquire();
        if (!this.ip) {
          this.waitingMessage = `no free address in ${this.mgr.ipPool} for port ${this.mgr.port}`;
          this.mgr.event(this.key, 'error', this.waitingMessage);
          this.pushStatus();
          await sleep(2_000, signal);
          continue;
        }
      }
      const outcome = await this.runOnce();
      if (this.aborted) return;
      if (outcome === 'address-taken') continue; // a new address, no backoff: nothing crashed
      this.state = 'crashed';
      this.restarts++;
      this.waitingReason = 'CrashLoopBackOff';
      this.waitingMessage = `back-off ${backoff} ms restarting failed container (${this.lastExit ?? 'exited'})`;
      this.setReady(false);
      this.pushStatus();
      await sleep(backoff, signal);
      backoff = Math.min(backoff * 2, this.mgr.backoff.maxMs);
    }
  }

  /** Bind the pod to the stand-in's Node (what the scheduler does). False if the pod is not ours. */
  private async bind(): Promise<boolean> {
    let backoff = 250;
    while (!this.aborted) {
      try {
        const r = await rawRequest(
          this.mgr.kc,
          'POST',
          apiPath(this.pod.namespace, 'pods', this.pod.name, 'binding'),
          {
            body: {
              apiVersion: 'v1',
              kind: 'Binding',
              metadata: { name: this.pod.name, uid: this.pod.uid },
              target: { apiVersion: 'v1', kind: 'Node', name: this.mgr.nodeName },
            },
            timeoutMs: 5_000,
          },
        );
        if (r.status < 300) {
          this.mgr.event(this.key, 'bound', this.mgr.nodeName);
          return true;
        }
        if (r.status === 404) return false;
        if (r.status === 409) {
          // Already bound (by an earlier stand-in or someone else): ours only if bound to our Node.
          const cur = await rawRequest(
            this.mgr.kc,
            'GET',
            apiPath(this.pod.namespace, 'pods', this.pod.name),
          );
          const node = (cur.json as k8s.V1Pod | undefined)?.spec?.nodeName;
          return cur.status === 200 && node === this.mgr.nodeName;
        }
        throw new Error(responseMessage(r));
      } catch (err) {
        this.mgr.log.debug({ pod: this.key, err: errorMessage(err) }, 'binding failed; retrying');
        await sleep(backoff, this.abort.signal);
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
    return false;
  }

  /** Start the workload and follow it until it exits (or the pod is aborted). */
  private async runOnce(): Promise<'exited' | 'address-taken' | 'aborted'> {
    const ip = this.ip!;
    const signal = this.abort.signal;
    let workload: Workload;
    const startedAt = Date.now();
    this.listening = false;
    try {
      workload = await this.mgr.startWorkload(this.pod, ip, this.logTail);
    } catch (err) {
      // In-process start failed (typically EADDRINUSE from another process): try another address.
      const msg = errorMessage(err);
      this.lastExit = `failed to start: ${msg}`;
      this.mgr.event(this.key, 'exited', this.lastExit);
      if (!this.ipPublished && /EADDRINUSE/.test(msg)) return this.moveAddress(ip);
      this.lastTerminated = { exitCode: 128, reason: 'StartError', startedAt, finishedAt: Date.now() };
      return 'exited';
    }
    this.workload = workload;
    this.startedAtMs = startedAt;
    this.mgr.event(
      this.key,
      'started',
      `${ip}:${this.mgr.port}${workload.pid ? ` pid ${workload.pid}` : ''}`,
    );
    const listening = await workload.listening(this.mgr.listenTimeoutMs, signal);
    if (this.aborted) return 'aborted';
    if (!listening) {
      if (workload.alive) {
        this.mgr.event(
          this.key,
          'error',
          `not listening on ${ip}:${this.mgr.port} within ${this.mgr.listenTimeoutMs} ms`,
        );
        await workload.stop(0);
      }
      return this.afterExit(await workload.exited, startedAt, ip);
    }
    this.listening = true;
    this.ipPublished = true;
    this.state = 'running';
    this.waitingMessage = undefined;
    this.setCondition('PodReadyToStartContainers', true);
    this.mgr.event(this.key, 'listening', `http://${ip}:${this.mgr.port}`);
    this.pushStatus();
    await this.probeUntilExit(workload);
    if (this.aborted) return 'aborted';
    return this.afterExit(await workload.exited, startedAt, ip);
  }

  private async afterExit(info: string, startedAt: number, ip: string): Promise<'exited' | 'address-taken'> {
    this.lastExit = info;
    const code = /code (\d+)/.exec(info);
    this.lastTerminated = {
      exitCode: code ? Number(code[1]) : 137,
      reason: 'Error',
      startedAt,
      finishedAt: Date.now(),
    };
    this.listening = false;
    this.mgr.event(this.key, 'exited', info);
    // Died before listening, and the address is now someone else's: it lost a bind race.
    if (!this.ipPublished && !(await canListen(ip, this.mgr.port))) return this.moveAddress(ip);
    return 'exited';
  }

  private moveAddress(ip: string): 'address-taken' {
    this.mgr.pool.release(ip);
    this.mgr.pool.markForeign(ip);
    this.ip = undefined;
    return 'address-taken';
  }

  /** Readiness probe: every period; `failureThreshold` consecutive failures make a Ready pod unready. */
  private async probeUntilExit(workload: Workload): Promise<void> {
    const { path: p, periodMs, timeoutMs, failureThreshold } = this.mgr.probe;
    // Wakes the probe sleep when the pod is aborted or the workload exits (one listener, not one per period).
    const exitCtl = new AbortController();
    void workload.exited.then(() => exitCtl.abort());
    const wake = AbortSignal.any([this.abort.signal, exitCtl.signal]);
    let failures = 0;
    while (workload.alive && !this.aborted) {
      const ok = await httpOk(this.ip!, this.mgr.port, p, timeoutMs);
      if (!workload.alive || this.aborted) return;
      if (ok) {
        failures = 0;
        this.setReady(true);
      } else if (++failures >= failureThreshold) {
        this.setReady(false);
      }
      await sleep(periodMs, wake);
    }
  }

  /** Kill (after `deletePod`, the kubelet's final DELETE) and forget the pod. Idempotent. */
  terminate(deletePod: boolean, graceMs: number): Promise<void> {
    if (this.terminated) return this.terminated;
    this.abort.abort();
    this.terminated = (async () => {
      const wasReady = this.conditions.get('Ready')?.status === 'True';
      this.state = 'terminating';
      if (wasReady && deletePod && !this.mgr.stopped) {
        this.setCondition('Ready', false);
        this.setCondition('ContainersReady', false);
        this.mgr.event(this.key, 'not-ready', 'terminating');
        this.pushStatus();
      }
      await this.runLoop;
      if (this.workload?.alive) {
        await this.workload.stop(graceMs);
        this.mgr.event(this.key, 'stopped', await this.workload.exited);
      }
      if (deletePod) await this.confirmDeletion();
      this.gone = true;
      if (this.ip) this.mgr.pool.release(this.ip);
      this.mgr.forget(this);
    })();
    return this.terminated;
  }

  /** DELETE with gracePeriodSeconds 0 and a uid precondition; retried (bounded) while the API is down. */
  private async confirmDeletion(): Promise<void> {
    const deadline = Date.now() + 60_000;
    let backoff = 250;
    while (!this.mgr.stopped && Date.now() < deadline) {
      try {
        const r = await rawRequest(
          this.mgr.kc,
          'DELETE',
          apiPath(this.pod.namespace, 'pods', this.pod.name),
          {
            body: {
              apiVersion: 'v1',
              kind: 'DeleteOptions',
              gracePeriodSeconds: 0,
              preconditions: { uid: this.pod.uid },
            },
            timeoutMs: 5_000,
          },
        );
        if (r.status < 300 || r.status === 404 || r.status === 409) {
          this.mgr.event(this.key, 'deleted');
          return;
        }
        throw new Error(responseMessage(r));
      } catch (err) {
        this.mgr.log.debug({ pod: this.key, err: errorMessage(err) }, 'final delete failed; retrying');
        await sleep(backoff, this.mgr.stopSignal);
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
    this.mgr.event(this.key, 'error', 'could not confirm the deletion within 60 s');
  }
}

// ---------------------------------------------------------------------------------------------
// The stand-in

class Standin implements KubeletStandin {
  readonly kc: k8s.KubeConfig;
  readonly log: Logger;
  readonly namespace: string;
  readonly port: number;
  readonly ipPool: string;
  readonly pool: LoopbackPool;
  readonly probe: Required<ProbeOptions>;
  readonly backoff: { initialMs: number; maxMs: number };
  readonly listenTimeoutMs: number;
  nodeName: string | undefined;
  stopped = false;
  private readonly stopCtl = new AbortController();
  private readonly runtimes = new Map<string, PodRuntime>();
  private readonly waiting = new Map<string, StandinPod>();
  private readonly eventLog: StandinEvent[] = [];
  private informer: Informer<k8s.V1Pod, StandinPod> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private createdNode = false;
  private nodeUid: string | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly o: KubeletStandinOptions) {
    // Retry sleeps of every pod listen on it.
    setMaxListeners(Infinity, this.stopCtl.signal);
    if (!o.kc && !o.kubeconfigPath) throw new Error('startKubeletStandin: pass kubeconfigPath or kc');
    if (o.command !== undefined && o.command !== 'emulate' && o.mode === 'in-process') {
      throw new Error("startKubeletStandin: mode 'in-process' only runs the emulator; drop `command`");
    }
    if (o.kc) this.kc = o.kc;
    else {
      this.kc = new k8s.KubeConfig();
      this.kc.loadFromFile(o.kubeconfigPath!);
    }
    this.log = (o.log ?? silentLogger()).child({ component: 'kubelet-standin' });
    this.namespace = o.namespace ?? 'default';
    this.port = o.port ?? 8000;
    if (!(Number.isInteger(this.port) && this.port > 0 && this.port < 65536)) {
      throw new Error(`startKubeletStandin: port must be 1-65535, got ${o.port}`);
    }
    this.ipPool = o.ipPool ?? '127.0.1.0/24';
    this.pool = new LoopbackPool(this.ipPool, this.port);
    this.probe = {
      path: o.probe?.path ?? '/health',
      periodMs: o.probe?.periodMs ?? 250,
      timeoutMs: o.probe?.timeoutMs ?? 1_000,
      failureThreshold: o.probe?.failureThreshold ?? 3,
    };
    this.backoff = {
      initialMs: o.restartBackoff?.initialMs ?? 1_000,
      maxMs: o.restartBackoff?.maxMs ?? 10_000,
    };
    this.listenTimeoutMs = o.listenTimeoutMs ?? 60_000;
    const node = o.node ?? true;
    this.nodeName =
      node === false
        ? undefined
        : node === true
          ? `inferscale-standin-${randomBytes(3).toString('hex')}`
          : node;
  }

  get stopSignal(): AbortSignal {
    return this.stopCtl.signal;
  }

  event(pod: string, type: StandinEventType, detail?: string): void {
    const e: StandinEvent = { atMs: Date.now(), pod, type, ...(detail !== undefined ? { detail } : {}) };
    this.eventLog.push(e);
    if (this.eventLog.length > 2_000) this.eventLog.splice(0, this.eventLog.length - 2_000);
    const level = type === 'error' ? 'warn' : 'debug';
    this.log[level]({ pod, event: type, detail }, 'pod lifecycle');
  }

  startDelayFor(pod: StandinPod): number {
    const ms = this.o.startDelay ? this.o.startDelay(pod) : (this.o.startDelayMs ?? 0);
    return Number.isFinite(ms) && ms > 0 ? ms : 0;
  }

  private emulatorSpec(pod: StandinPod): EmulatorSpec {
    const base = typeof this.o.emulator === 'function' ? this.o.emulator(pod) : (this.o.emulator ?? {});
    const spec: EmulatorSpec = { ...base };
    if (typeof this.o.emulator !== 'function') {
      const gpu = pod.annotations[ANNOTATION_GPU];
      const model = pod.annotations[ANNOTATION_MODEL];
      const args = pod.annotations[ANNOTATION_ARGS];
      if (gpu) spec.gpu = gpu;
      if (model) spec.model = model;
      if (args) spec.args = [...(spec.args ?? []), ...args.split(/\s+/).filter(Boolean)];
    }
    return spec;
  }

  private graceMsFor(pod: StandinPod): number {
    const s = pod.graceSeconds ?? 30;
    return Math.max(0, Math.min(s * 1000, this.o.maxGraceMs ?? 10_000));
  }

  async startWorkload(pod: StandinPod, ip: string, logTail: string[]): Promise<Workload> {
    const command = this.o.command ?? 'emulate';
    if (command !== 'emulate') return startChild(command(pod, ip, this.port), ip, this.port, logTail, false);
    const spec = this.emulatorSpec(pod);
    if (this.o.mode === 'in-process') {
      return startInProcess(
        {
          gpu: spec.gpu ?? 'A100-80GB',
          model: spec.model ?? 'Llama-3.1-8B',
          speedup: spec.speedup ?? 1,
          loadDelayMs: spec.loadDelayMs ?? 0,
        },
        ip,
        this.port,
        this.log.child({ pod: `${pod.namespace}/${pod.name}` }),
      );
    }
    const entry = this.o.emulateEntry === 'cli' ? CLI_ENTRY : SLIM_ENTRY;
    const args = ['--import', 'tsx', entry, 'emulate', '--host', ip, '--port', String(this.port)];
    if (spec.gpu) args.push('--gpu', spec.gpu);
    if (spec.model) args.push('--model', spec.model);
    if (spec.speedup !== undefined) args.push('--speedup', String(spec.speedup));
    if (spec.loadDelayMs) args.push('--startup-delay', String(spec.loadDelayMs / 1000));
    // Drain in-flight requests for the pod's grace period on SIGTERM, as vLLM does.
    args.push('--shutdown-timeout', String(this.graceMsFor(pod) / 1000), ...(spec.args ?? []));
    return startChild({ cmd: process.execPath, args }, ip, this.port, logTail, true);
  }

  // --- pods -----------------------------------------------------------------------------------

  private onPod(pod: StandinPod): void {
    if (this.stopped || !pod.name) return;
    const key = `${pod.namespace}/${pod.name}`;
    const rt = this.runtimes.get(key);
    if (rt && rt.pod.uid !== pod.uid) {
      // A same-name replacement (StatefulSet): the old one is gone.
      void rt.terminate(false, 0);
    } else if (rt) {
      if (pod.deleting) void rt.terminate(true, this.graceMsFor(pod));
      else rt.observe(pod);
      return;
    }
    if (
      this.nodeName
        ? pod.nodeName !== undefined && pod.nodeName !== this.nodeName
        : pod.nodeName !== undefined
    ) {
      return; // someone else's pod
    }
    if (pod.phase === 'Succeeded' || pod.phase === 'Failed') return;
    if (pod.deleting) {
      // Terminating before it ever ran here (or a stand-in restart): just confirm, if it is ours.
      this.waiting.delete(key);
      if (pod.nodeName && pod.nodeName === this.nodeName) void this.deleteUnstarted(pod);
      return;
    }
    if (this.runtimes.size >= (this.o.maxPods ?? 64)) {
      if (!this.waiting.has(key))
        this.event(key, 'error', `maxPods (${this.o.maxPods ?? 64}) reached; pod waits`);
      this.waiting.set(key, pod);
      return;
    }
    this.waiting.delete(key);
    const fresh = new PodRuntime(this, pod);
    this.runtimes.set(key, fresh);
    fresh.start();
  }

  private onDelete(pod: StandinPod): void {
    const key = `${pod.namespace}/${pod.name}`;
    this.waiting.delete(key);
    const rt = this.runtimes.get(key);
    if (rt && rt.pod.uid === pod.uid) void rt.terminate(false, this.graceMsFor(pod));
  }

  private async deleteUnstarted(pod: StandinPod): Promise<void> {
    const r = await rawRequest(this.kc, 'DELETE', apiPath(pod.namespace, 'pods', pod.name), {
      body: {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        preconditions: { uid: pod.uid },
      },
      timeoutMs: 5_000,
    }).catch(() => undefined);
    if (r && r.status < 300) this.event(`${pod.namespace}/${pod.name}`, 'deleted');
  }

  forget(rt: PodRuntime): void {
    if (this.runtimes.get(rt.key) === rt) this.runtimes.delete(rt.key);
    // Room for a pod that waited on maxPods.
    const next = this.waiting.values().next();
    if (!next.done && !this.stopped) {
      this.waiting.delete(`${next.value.namespace}/${next.value.name}`);
      this.onPod(next.value);
    }
  }

  // --- node -----------------------------------------------------------------------------------

  private nodeStatus(now: number): unknown {
    const cond = (type: string, status: string, reason: string, message: string) => ({
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: kubeTime(now),
      lastTransitionTime: kubeTime(this.nodeSince),
    });
    const resources = {
      cpu: '64',
      memory: '512Gi',
      pods: String(Math.max(110, this.o.maxPods ?? 64)),
      'nvidia.com/gpu': '8',
    };
    return {
      capacity: resources,
      allocatable: resources,
      conditions: [
        cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet stand-in'),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet stand-in'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet stand-in'),
        cond('Ready', 'True', 'KubeletReady', 'inferscale kubelet stand-in is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: NODE_IP },
        { type: 'Hostname', address: this.nodeName },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
      nodeInfo: {
        machineID: '',
        systemUUID: '',
        bootID: '',
        kernelVersion: '',
        osImage: 'inferscale kubelet stand-in',
        containerRuntimeVersion: 'standin://1',
        kubeletVersion: 'v1.34.4-standin',
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    };
  }

  private nodeSince = Date.now();

  private async registerNode(): Promise<void> {
    const name = this.nodeName!;
    const now = Date.now();
    const created = await rawRequest(this.kc, 'POST', '/api/v1/nodes', {
      body: {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name,
          labels: {
            'kubernetes.io/hostname': name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            'inferscale.dev/kubelet-standin': 'true',
          },
        },
        spec: {},
        status: this.nodeStatus(now),
      },
      timeoutMs: 10_000,
    });
    if (created.status === 201 || created.status === 200) this.createdNode = true;
    else if (created.status !== 409) throw new Error(`register Node ${name}: ${responseMessage(created)}`);
    const node = await rawRequest(this.kc, 'GET', `/api/v1/nodes/${encodeURIComponent(name)}`, {
      timeoutMs: 10_000,
    });
    if (node.status !== 200) throw new Error(`read Node ${name}: ${responseMessage(node)}`);
    this.nodeUid = (node.json as k8s.V1Node).metadata?.uid;
    await this.postNodeStatus();
    await this.renewLease();
  }

  private async postNodeStatus(): Promise<void> {
    const r = await rawRequest(
      this.kc,
      'PATCH',
      `/api/v1/nodes/${encodeURIComponent(this.nodeName!)}/status`,
      {
        body: { status: this.nodeStatus(Date.now()) },
        contentType: 'application/merge-patch+json',
        timeoutMs: 5_000,
      },
    );
    if (r.status >= 300) throw new Error(`node status: ${responseMessage(r)}`);
  }

  /** The node-lifecycle controller marks a node Unknown (and taints it) without these renewals. */
  private async renewLease(): Promise<void> {
    const name = this.nodeName!;
    const leasePath = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${encodeURIComponent(name)}`;
    const renewTime = kubeMicroTime(Date.now());
    const r = await rawRequest(this.kc, 'PATCH', leasePath, {
      body: { spec: { holderIdentity: name, renewTime } },
      contentType: 'application/merge-patch+json',
      timeoutMs: 5_000,
    });
    if (r.status === 404) {
      const c = await rawRequest(
        this.kc,
        'POST',
        '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases',
        {
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: {
              name,
              ...(this.nodeUid
                ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: this.nodeUid }] }
                : {}),
            },
            spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime },
          },
          timeoutMs: 5_000,
        },
      );
      if (c.status >= 300 && c.status !== 409) throw new Error(`node lease: ${responseMessage(c)}`);
    } else if (r.status >= 300) {
      throw new Error(`node lease: ${responseMessage(r)}`);
    }
  }

  private startHeartbeat(): void {
    let beats = 0;
    const beat = async () => {
      if (this.stopped) return;
      try {
        await this.renewLease();
        // Like a kubelet with leases: the full status only now and then.
        if (++beats % 6 === 0) await this.postNodeStatus();
      } catch (err) {
        this.log.debug({ err: errorMessage(err) }, 'node heartbeat failed');
      }
      if (!this.stopped) this.heartbeat = setTimeout(() => void beat(), 10_000);
    };
    this.heartbeat = setTimeout(() => void beat(), 10_000);
  }

  // --- lifecycle ------------------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.nodeName) {
      await this.registerNode();
      this.startHeartbeat();
    }
    const ns = this.namespace;
    const core = this.kc.makeApiClient(k8s.CoreV1Api);
    const labelSelector = this.o.labelSelector;
    this.informer = new Informer<k8s.V1Pod, StandinPod>({
      name: `standin-pods(${ns})`,
      kc: this.kc,
      path: `/api/v1/namespaces/${encodeURIComponent(ns)}/pods`,
      list: () => core.listNamespacedPod({ namespace: ns, ...(labelSelector ? { labelSelector } : {}) }),
      ...(labelSelector ? { labelSelector } : {}),
      transform: toStandinPod,
      log: this.log,
      // The apiserver is restarted in fault tests: come back within a few seconds.
      backoff: { initialMs: 200, maxMs: 3_000 },
      relistIntervalMs: 60_000,
    });
    this.informer.on('add', (p) => this.onPod(p));
    this.informer.on('update', (p) => this.onPod(p));
    this.informer.on('delete', (p) => this.onDelete(p));
    this.informer.start();
    await this.informer.waitForSync(30_000);
  }

  pods(): Map<string, PodStatusView> {
    return new Map([...this.runtimes].map(([k, rt]) => [k, rt.view()]));
  }

  events(): StandinEvent[] {
    return [...this.eventLog];
  }

  kill(namespace: string, name: string, signal: NodeJS.Signals = 'SIGKILL'): boolean {
    const w = this.runtimes.get(`${namespace}/${name}`)?.workload;
    if (!w?.alive) return false;
    w.kill(signal);
    return true;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      this.stopCtl.abort();
      clearTimeout(this.heartbeat);
      await this.informer?.stop();
      await Promise.all([...this.runtimes.values()].map((rt) => rt.terminate(false, 2_000)));
      if (this.createdNode && this.nodeName) {
        await rawRequest(this.kc, 'DELETE', `/api/v1/nodes/${encodeURIComponent(this.nodeName)}`, {
          timeoutMs: 5_000,
        }).catch(() => undefined);
      }
    })();
    return this.stopping;
  }
}

/**
 * Start running the pods of `namespace` (matching `labelSelector`) as emulated vLLM replicas.
 * Resolves once the Node is registered and the pod watch has synced.
 */
export async function startKubeletStandin(opts: KubeletStandinOptions): Promise<KubeletStandin> {
  const s = new Standin(opts);
  try {
    await s.start();
  } catch (err) {
    await s.stop();
    throw err;
  }
  return s;
}
