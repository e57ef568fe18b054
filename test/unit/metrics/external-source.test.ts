import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResolvedMetricSource } from '../../../src/api/resolved.js';
import type { MetricRequest } from '../../../src/engine/seams.js';
import { ExternalSource, externalUrl } from '../../../src/metrics/external-source.js';
import { EgressPolicy } from '../../../src/metrics/ssrf.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

let server: http.Server;
let port = 0;
let handler: Handler = (_q, r) => r.end('0');
const hits: string[] = [];
let source: ExternalSource | undefined;

beforeEach(async () => {
  hits.length = 0;
  server = http.createServer((q, r) => {
    hits.push(q.url ?? '');
    handler(q, r);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});
afterEach(async () => {
  source?.close();
  source = undefined;
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function src(over: Partial<ResolvedMetricSource> = {}): ResolvedMetricSource {
  return {
    type: 'external',
    targetMetric: 'vllm:deployment_replicas',
    targetValue: 1,
    targetType: 'Value',
    protocol: 'http',
    path: '/metrics',
    endpoint: `127.0.0.1:${port}`,
    ...over,
  };
}

function req(s: ResolvedMetricSource, nowMs = 1000): MetricRequest {
  return {
    owner: { namespace: 'team-a', name: 'llama' },
    source: s,
    pods: [],
    nowMs,
    deadlineMs: nowMs + 5000,
    target: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llama-70b' },
  };
}

const loopback = (): EgressPolicy => new EgressPolicy({ allowCidrs: ['127.0.0.0/8'] });

describe('EgressPolicy', () => {
  it('refuses everything when the allowlist is empty', () => {
    const p = new EgressPolicy();
    expect(p.checkUrl(new URL('http://127.0.0.1:8080/'))).toMatch(
      /not in the external-source egress allowlist/,
    );
    expect(p.checkUrl(new URL('http://optimizer.ns.svc:8080/'))).toMatch(/allowlist \(it is empty\)/);
  });

  it('allows listed CIDRs and host names (exact and *.suffix)', () => {
    const p = new EgressPolicy({
      allowCidrs: ['10.0.0.0/8', 'fd00::/8'],
      allowHosts: ['optimizer.ns.svc', '*.example.com'],
    });
    expect(p.checkAddress('10.2.3.4', '10.2.3.4')).toBeUndefined();
    expect(p.checkAddress('fd00::5', 'fd00::5')).toBeUndefined();
    expect(p.checkAddress('optimizer.ns.svc', '192.168.1.1')).toBeUndefined();
    expect(p.checkAddress('a.b.example.com', '192.168.1.1')).toBeUndefined();
    expect(p.checkAddress('example.com', '192.168.1.1')).toMatch(/not in the .* allowlist/);
    expect(p.checkAddress('11.0.0.1', '11.0.0.1')).toMatch(/not in the .* allowlist/);
  });

  it('never allows link-local (metadata), unspecified or apiserver addresses by default, even under 0.0.0.0/0', () => {
    const old = process.env.KUBERNETES_SERVICE_HOST;
    process.env.KUBERNETES_SERVICE_HOST = '10.96.0.1';
    try {
      const p = new EgressPolicy({
        allowCidrs: ['0.0.0.0/0', '::/0'],
        allowHosts: ['metadata.google.internal'],
      });
      expect(p.checkUrl(new URL('http://169.254.169.254/latest/meta-data/'))).toMatch(/is link-local/);
      expect(p.checkUrl(new URL('http://[fe80::1]/'))).toMatch(/is link-local/);
      expect(p.checkUrl(new URL('http://[::ffff:169.254.169.254]/'))).toMatch(/is link-local/);
      expect(p.checkAddress('metadata.google.internal', '169.254.169.254')).toMatch(/is link-local/);
      expect(p.checkUrl(new URL('http://0.0.0.0:6443/'))).toMatch(/unspecified/);
      expect(p.checkUrl(new URL('https://10.96.0.1/api'))).toMatch(/is the Kubernetes apiserver/);
      expect(p.checkUrl(new URL('https://kubernetes.default.svc.cluster.local/api'))).toMatch(/apiserver/);
      const opened = new EgressPolicy({
        allowCidrs: ['0.0.0.0/0'],
        allowLinkLocal: true,
        allowApiServer: true,
      });
      expect(opened.checkUrl(new URL('http://169.254.169.254/'))).toBeUndefined();
      expect(opened.checkUrl(new URL('https://10.96.0.1/'))).toBeUndefined();
    } finally {
      if (old === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
      else process.env.KUBERNETES_SERVICE_HOST = old;
    }
  });

  it('rejects malformed allowlist entries with a clear message', () => {
    expect(() => new EgressPolicy({ allowCidrs: ['10.0.0.0/33'] })).toThrow(/invalid prefix length/);
    expect(() => new EgressPolicy({ allowCidrs: ['ten/8'] })).toThrow(/is not a CIDR/);
    expect(() => new EgressPolicy({ allowHosts: ['http://x'] })).toThrow(/is not a host name/);
  });

  it('refuses credentials in URLs and non-http schemes', () => {
    const p = loopback();
    expect(p.checkUrl(new URL('http://u:p@127.0.0.1/'))).toMatch(/credentials/);
    expect(p.checkUrl(new URL('file:///etc/passwd'))).toMatch(/scheme file:/);
  });
});

describe('ExternalSource', () => {
  it('reads a bare number, JSON and an exposition page', async () => {
    source = new ExternalSource({ egress: loopback() });
    handler = (_q, r) => r.end('42\n');
    expect(await source.read(req(src()))).toEqual({ sample: { scope: 'global', value: 42 }, errors: [] });
    handler = (_q, r) => {
      r.setHeader('Content-Type', 'application/json');
      r.end(JSON.stringify({ 'vllm:deployment_replicas': 3 }));
    };
    expect((await source.read(req(src()))).sample).toEqual({ scope: 'global', value: 3 });
    handler = (_q, r) => r.end('{"value": "2.5"}');
    expect((await source.read(req(src()))).sample).toEqual({ scope: 'global', value: 2.5 });
    handler = (_q, r) =>
      r.end('# TYPE vllm:deployment_replicas gauge\nvllm:deployment_replicas{model_name="llama"} 4\n');
    expect((await source.read(req(src()))).sample).toEqual({ scope: 'global', value: 4 });
  });

  it("substitutes $namespace and $target in the path (the optimizer's /metrics/<ns>/<deployment>)", async () => {
    source = new ExternalSource({ egress: loopback() });
    handler = (_q, r) => r.end('1');
    await source.read(req(src({ path: '/metrics/$namespace/$target' })));
    await source.read(req(src({ endpoint: `http://127.0.0.1:${port}/custom/$target` })));
    expect(hits).toEqual(['/metrics/team-a/llama-70b', '/custom/llama-70b']);
  });

  it('refuses endpoints outside the allowlist without fetching', async () => {
    source = new ExternalSource({ egress: new EgressPolicy({ allowCidrs: ['10.0.0.0/8'] }) });
    const r = await source.read(req(src()));
    expect(r.sample).toBeUndefined();
    expect(r.errors[0]).toMatch(
      /external endpoint http:\/\/127\.0\.0\.1:\d+\/metrics: 127\.0\.0\.1 is not in the/,
    );
    expect(hits).toEqual([]);
  });

  it('checks resolved addresses and pins the connection (DNS rebinding to metadata is refused)', async () => {
    const evil = new EgressPolicy({
      allowHosts: ['evil.example.com'],
      resolve: async () => [{ address: '169.254.169.254', family: 4 }],
    });
    source = new ExternalSource({ egress: evil });
    const r = await source.read(req(src({ endpoint: `evil.example.com:${port}` })));
    expect(r.errors[0]).toMatch(/evil\.example\.com \(169\.254\.169\.254\) is link-local/);
    source.close();
    // A name allowed by the list and resolving to the test server is fetched at the checked address.
    const good = new EgressPolicy({
      allowHosts: ['values.example.com'],
      resolve: async () => [{ address: '127.0.0.1', family: 4 }],
    });
    source = new ExternalSource({ egress: good });
    handler = (q, r) => r.end(q.headers.host === `values.example.com:${port}` ? '7' : 'wrong host');
    expect((await source.read(req(src({ endpoint: `values.example.com:${port}` })))).sample).toEqual({
      scope: 'global',
      value: 7,
    });
  });

  it('does not follow redirects', async () => {
    source = new ExternalSource({ egress: loopback() });
    handler = (q, r) => {
      if (q.url === '/metrics') {
        r.writeHead(302, { Location: '/elsewhere' });
        r.end();
      } else r.end('1');
    };
    const r = await source.read(req(src()));
    expect(r.sample).toBeUndefined();
    expect(r.errors[0]).toMatch(/HTTP 302 redirect to \/elsewhere; redirects are not followed/);
    expect(hits).toEqual(['/metrics']);
  });

  it('caps the response size and time', async () => {
    source = new ExternalSource({ egress: loopback(), maxBodyBytes: 1000, timeoutMs: 200 });
    handler = (_q, r) => r.end('9'.repeat(5000));
    expect((await source.read(req(src()))).errors[0]).toMatch(/response larger than 1000 bytes/);
    handler = () => undefined; // never answers
    expect((await source.read(req(src()))).errors[0]).toMatch(/no complete response within 200 ms/);
  });

  it('treats NaN, garbage and 500 as missing, never 0', async () => {
    source = new ExternalSource({ egress: loopback() });
    handler = (_q, r) => r.end('NaN');
    const nan = await source.read(req(src()));
    expect(nan.sample).toBeUndefined();
    expect(nan.errors[0]).toMatch(/the response is NaN/);
    handler = (_q, r) => r.end('<html>oops</html>');
    expect((await source.read(req(src()))).errors[0]).toMatch(
      /neither a number, JSON nor an exposition page/,
    );
    handler = (_q, r) => r.end('{"other": 1}');
    expect((await source.read(req(src()))).errors[0]).toMatch(/JSON response has no number/);
    handler = (_q, r) => {
      r.statusCode = 500;
      r.end('boom');
    };
    expect((await source.read(req(src()))).errors[0]).toMatch(/HTTP 500: boom/);
  });

  it('reads counters on an exposition endpoint as rates across reads', async () => {
    source = new ExternalSource({ egress: loopback() });
    let total = 100;
    handler = (_q, r) => r.end(`# TYPE jobs_total counter\njobs_total ${total}\n`);
    const first = await source.read(req(src({ targetMetric: 'jobs_total' }), 0));
    expect(first).toEqual({ sample: { scope: 'global', value: undefined }, errors: [] });
    total = 150;
    expect((await source.read(req(src({ targetMetric: 'jobs_total' }), 10_000))).sample).toEqual({
      scope: 'global',
      value: 5,
    });
  });
});

describe('externalUrl', () => {
  it('combines endpoint, protocol and path', () => {
    const base = { protocol: 'https' as const, path: '/v' };
    expect(externalUrl({ ...base, endpoint: 'svc.ns:9000' }, { namespace: 'n' }).href).toBe(
      'https://svc.ns:9000/v',
    );
    expect(externalUrl({ ...base, endpoint: 'http://svc/x?y=1' }, { namespace: 'n' }).href).toBe(
      'http://svc/x?y=1',
    );
    expect(() => externalUrl({ ...base, endpoint: '' }, { namespace: 'n' })).toThrow(/has no endpoint/);
    expect(() => externalUrl({ ...base, path: '/$target' }, { namespace: 'n' } as never)).toThrow(
      /has no endpoint/,
    );
    expect(() => externalUrl({ ...base, endpoint: 'h:1', path: '/$target' }, { namespace: 'n' })).toThrow(
      /uses \$target but the scale target is unknown/,
    );
  });
});
