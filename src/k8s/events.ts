/**
 * core/v1 Events for `kubectl describe`. Repeats of the same (object, type, reason, message) within
 * ten minutes bump `count` and `lastTimestamp` on the existing Event instead of creating a new one,
 * like client-go's correlator, so a failure that recurs every tick stays one line (and costs at most
 * one PATCH a minute). Recording never
 * throws: an event that cannot be written is logged and dropped.
 */
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from '../observability/log.js';
import { silentLogger } from '../observability/log.js';
import { apiErrorCode, errorMessage, mergePatch } from './client.js';

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
}

export type EventType = 'Normal' | 'Warning';

export interface EventSink {
  record(obj: InvolvedObject, type: EventType, reason: string, message: string): Promise<void>;
}

interface Seen {
  eventName: string;
  count: number;
  firstMs: number;
  lastMs: number;
  /** When the Event object was last written; repeats in between are only counted. */
  writtenMs: number;
}

const AGGREGATE_MS = 10 * 60_000;
/** A recurring event updates its count on the server at most this often. */
const REPEAT_WRITE_MS = 60_000;
const MAX_TRACKED = 2000;
/** The apiserver rejects messages over 1 KiB for newer event types; keep ours readable anyway. */
const MAX_MESSAGE = 1024;

export class KubeEventRecorder implements EventSink {
  private readonly seen = new Map<string, Seen>();
  private readonly log: Logger;

  constructor(
    private readonly core: k8s.CoreV1Api,
    private readonly component: string,
    private readonly instance: string,
    log?: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.log = log ?? silentLogger();
  }

  async record(obj: InvolvedObject, type: EventType, reason: string, message: string): Promise<void> {
    const msg = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message;
    const key = `${obj.apiVersion}|${obj.kind}|${obj.namespace}|${obj.name}|${obj.uid ?? ''}|${type}|${reason}|${msg}`;
    const nowMs = this.now();
    const prior = this.seen.get(key);
    try {
      if (prior && nowMs - prior.lastMs < AGGREGATE_MS) {
        prior.count++;
        prior.lastMs = nowMs;
        if (nowMs - prior.writtenMs < REPEAT_WRITE_MS) return;
        prior.writtenMs = nowMs;
        try {
          await this.core.patchNamespacedEvent(
            {
              name: prior.eventName,
              namespace: obj.namespace,
              body: { count: prior.count, lastTimestamp: new Date(nowMs).toISOString() },
            },
            mergePatch,
          );
          return;
        } catch (err) {
          if (apiErrorCode(err) !== 404) throw err;
          // The Event expired (1 h TTL by default): start a new one.
        }
      }
      const eventName = `${obj.name}.${(nowMs * 1000 + Math.floor(Math.random() * 1000)).toString(16)}`;
      await this.core.createNamespacedEvent({
        namespace: obj.namespace,
        body: {
          metadata: { name: eventName, namespace: obj.namespace },
          involvedObject: {
            apiVersion: obj.apiVersion,
            kind: obj.kind,
            name: obj.name,
            namespace: obj.namespace,
            ...(obj.uid ? { uid: obj.uid } : {}),
          },
          type,
          reason,
          message: msg,
          count: 1,
          firstTimestamp: new Date(nowMs),
          lastTimestamp: new Date(nowMs),
          source: { component: this.component },
          reportingComponent: this.component,
          reportingInstance: this.instance,
        },
      });
      if (this.seen.size >= MAX_TRACKED) {
        // Forget the oldest half; a forgotten repeat merely creates a fresh Event.
        const keys = [...this.seen.keys()].slice(0, MAX_TRACKED / 2);
        for (const k of keys) this.seen.delete(k);
      }
      this.seen.delete(key);
      this.seen.set(key, { eventName, count: 1, firstMs: nowMs, lastMs: nowMs, writtenMs: nowMs });
    } catch (err) {
      this.log.warn(
        { involved: `${obj.kind}/${obj.namespace}/${obj.name}`, reason, err: errorMessage(err) },
        'could not record event',
      );
    }
  }
}

/** Keeps events in memory (daemon without cluster events, tests). */
export class MemoryEventSink implements EventSink {
  readonly events: { obj: InvolvedObject; type: EventType; reason: string; message: string }[] = [];
  async record(obj: InvolvedObject, type: EventType, reason: string, message: string): Promise<void> {
    this.events.push({ obj, type, reason, message });
    if (this.events.length > 10_000) this.events.splice(0, 5_000);
  }
}
