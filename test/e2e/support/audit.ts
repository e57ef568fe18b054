/**
 * The apiserver's own record of writes: an audit policy that logs scale writes, Deployment writes
 * and Lease writes with their request bodies, and readers for the JSON-lines log it produces. The
 * e2e fault tests count scale writes here rather than in the controller, because the audit log is
 * what the apiserver actually accepted, whoever believes what.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

/** One audit.k8s.io/v1 Event, the fields the tests read. */
export interface AuditEvent {
  auditID: string;
  stage: string;
  verb: string;
  user?: { username?: string; extra?: Record<string, string[]> };
  userAgent?: string;
  objectRef?: {
    resource?: string;
    subresource?: string;
    namespace?: string;
    name?: string;
    apiGroup?: string;
  };
  responseStatus?: { code?: number };
  requestObject?: unknown;
  responseObject?: unknown;
  requestReceivedTimestamp?: string;
  stageTimestamp?: string;
}

/**
 * Request bodies of scale, Deployment and Lease writes; metadata of PodAutoscaler status writes;
 * nothing else (reads and every other resource would make the log large and slow the apiserver).
 * Both stages are kept: a SIGKILLed apiserver can apply a write and die before logging its
 * ResponseComplete event, but it logged the RequestReceived event before doing anything.
 */
const POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
rules:
  - level: RequestResponse
    verbs: [create, update, patch]
    resources:
      - group: apps
        resources: [deployments, deployments/scale]
      - group: coordination.k8s.io
        resources: [leases]
  - level: Metadata
    verbs: [update, patch]
    resources:
      - group: autoscaling.inferscale.dev
        resources: [podautoscalers/status]
  - level: None
`;

/** Writes the policy into `dir`; returns the kube-apiserver flags that enable the audit log. */
export async function auditFlags(dir: string): Promise<{ args: string[]; logPath: string }> {
  const policyPath = path.join(dir, 'audit-policy.yaml');
  const logPath = path.join(dir, 'audit.log');
  await writeFile(policyPath, POLICY);
  return {
    logPath,
    args: [
      `--audit-policy-file=${policyPath}`,
      `--audit-log-path=${logPath}`,
      '--audit-log-format=json',
      // Blocking: an event is written before the request returns, so a crash cannot hide a write.
      '--audit-log-mode=blocking',
      '--audit-log-maxbackup=0',
    ],
  };
}

/** Every complete event in the log, in the order the apiserver wrote them (a torn last line is skipped). */
export function readAudit(logPath: string): AuditEvent[] {
  let text: string;
  try {
    text = readFileSync(logPath, 'utf8');
  } catch {
    return [];
  }
  const out: AuditEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as AuditEvent);
    } catch {
      /* the line being written when the apiserver was killed */
    }
  }
  return out;
}

export const atMs = (e: AuditEvent): number =>
  Date.parse(e.stageTimestamp ?? e.requestReceivedTimestamp ?? '');

/** The token a request was made with: ServiceAccount tokens carry a credential id (their JTI). */
export function credentialOf(e: AuditEvent): string {
  const id = e.user?.extra?.['authentication.kubernetes.io/credential-id']?.[0];
  return id ?? e.user?.username ?? '?';
}

export interface ScaleWrite {
  /** When the apiserver received the request. */
  receivedMs: number;
  /** When it completed (NaN when the apiserver died first: outcome unknown). */
  atMs: number;
  auditID: string;
  verb: string;
  /** HTTP status; undefined when the apiserver died before answering. */
  code: number | undefined;
  username: string;
  credential: string;
  userAgent: string;
  /** spec.replicas the request asked for (unknown when it never completed, or was refused early). */
  replicas: number | undefined;
  /** resourceVersion the request carried (an update's compare-and-swap base), if any. */
  baseResourceVersion: string | undefined;
  /** resourceVersion after the write (responses of successful writes). */
  resourceVersion: string | undefined;
}

interface ScaleBody {
  metadata?: { resourceVersion?: string };
  spec?: { replicas?: number };
}

/** Write attempts on `deployments/<name>/scale` in `namespace` (every outcome), oldest first. */
export function scaleWrites(events: readonly AuditEvent[], namespace: string, name: string): ScaleWrite[] {
  const byId = new Map<string, ScaleWrite>();
  for (const e of events) {
    if (
      !(e.verb === 'update' || e.verb === 'patch') ||
      e.objectRef?.resource !== 'deployments' ||
      e.objectRef.subresource !== 'scale' ||
      e.objectRef.namespace !== namespace ||
      e.objectRef.name !== name
    ) {
      continue;
    }
    let w = byId.get(e.auditID);
    if (!w) {
      w = {
        receivedMs: Date.parse(e.requestReceivedTimestamp ?? ''),
        atMs: NaN,
        auditID: e.auditID,
        verb: e.verb,
        code: undefined,
        username: e.user?.username ?? '?',
        credential: credentialOf(e),
        userAgent: e.userAgent ?? '',
        replicas: undefined,
        baseResourceVersion: undefined,
        resourceVersion: undefined,
      };
      byId.set(e.auditID, w);
    }
    if (e.stage === 'ResponseComplete') {
      const req = e.requestObject as ScaleBody | undefined;
      const res = e.responseObject as ScaleBody | undefined;
      w.atMs = atMs(e);
      w.code = e.responseStatus?.code;
      w.replicas = req?.spec?.replicas;
      w.baseResourceVersion = req?.metadata?.resourceVersion;
      w.resourceVersion = (w.code ?? 0) < 300 ? res?.metadata?.resourceVersion : undefined;
    }
  }
  return [...byId.values()].sort((a, b) => a.receivedMs - b.receivedMs);
}

/** The apiserver answered 2xx. */
export function accepted(w: ScaleWrite): boolean {
  return w.code !== undefined && w.code < 300;
}

/** A write that may have changed the object: accepted, failed on the server's side, or never answered. */
export function mayHaveApplied(w: ScaleWrite): boolean {
  return w.code === undefined || w.code < 300 || w.code >= 500;
}

export interface WriteReconciliation {
  /** Changes of spec.replicas no write attempt explains. */
  unexplained: { atMs: number; replicas: number }[];
  /** Writes the apiserver accepted (2xx) that changed nothing: a repeat of a write already applied. */
  repeated: ScaleWrite[];
}

/**
 * Pairs the changes of spec.replicas a watch saw with the write attempts that made them, in order.
 * Each change consumes one attempt received before it was seen, with its value (or of unknown
 * value, when the apiserver died before logging the body), preferring an accepted one. An accepted
 * attempt that no change consumes changed nothing: it repeated a write that had already landed.
 */
export function reconcileScaleWrites(
  attempts: readonly ScaleWrite[],
  changes: readonly { atMs: number; replicas: number }[],
  slackMs = 100,
): WriteReconciliation {
  const unexplained: WriteReconciliation['unexplained'] = [];
  const repeated: ScaleWrite[] = [];
  const ok = accepted;
  let i = 0;
  for (const c of changes) {
    let chosen = -1;
    for (let j = i; j < attempts.length && attempts[j]!.receivedMs <= c.atMs + slackMs; j++) {
      const w = attempts[j]!;
      if (!mayHaveApplied(w) || (w.replicas !== undefined && w.replicas !== c.replicas)) continue;
      if (ok(w)) {
        chosen = j;
        break;
      }
      chosen = j; // an unanswered or failed attempt may have been the one; an accepted one wins
    }
    if (chosen < 0) {
      unexplained.push(c);
      continue;
    }
    for (let k = i; k < chosen; k++) if (ok(attempts[k]!)) repeated.push(attempts[k]!);
    i = chosen + 1;
  }
  for (let k = i; k < attempts.length; k++) if (ok(attempts[k]!)) repeated.push(attempts[k]!);
  return { unexplained, repeated };
}

export interface LeaseWrite {
  atMs: number;
  code: number;
  credential: string;
  username: string;
  /** spec.holderIdentity written ('' when released). */
  holder: string;
}

/** Successful and failed creates/updates of one Lease, oldest first. */
export function leaseWrites(events: readonly AuditEvent[], namespace: string, name: string): LeaseWrite[] {
  return events
    .filter(
      (e) =>
        e.stage === 'ResponseComplete' &&
        (e.verb === 'create' || e.verb === 'update' || e.verb === 'patch') &&
        e.objectRef?.resource === 'leases' &&
        e.objectRef.namespace === namespace &&
        (e.objectRef.name === name || (e.verb === 'create' && e.objectRef.name === undefined)),
    )
    .filter((e) => {
      // A create carries the name in its body, not in the URL.
      const body = e.requestObject as { metadata?: { name?: string } } | undefined;
      return e.objectRef?.name === name || body?.metadata?.name === name;
    })
    .map((e) => ({
      atMs: atMs(e),
      code: e.responseStatus?.code ?? 0,
      credential: credentialOf(e),
      username: e.user?.username ?? '?',
      holder:
        (e.requestObject as { spec?: { holderIdentity?: string } } | undefined)?.spec?.holderIdentity ?? '',
    }));
}
