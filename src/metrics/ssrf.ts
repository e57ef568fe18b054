/**
 * Egress policy for the `external` metric source, whose endpoint is written by whoever may create a
 * PodAutoscaler: without a guard, the controller would fetch any URL from inside the cluster with
 * its own network position (cloud metadata, the apiserver, internal admin ports).
 *
 * Only hosts an operator allowed, by name or by CIDR, are fetched. Link-local addresses (cloud
 * metadata lives there) and the Kubernetes apiserver are refused unless explicitly enabled, even
 * when a broad CIDR would cover them. Names are resolved once and the connection is pinned to the
 * checked address (a DNS answer that changes between check and connect cannot slip through).
 */
import dns from 'node:dns';
import net, { type LookupFunction } from 'node:net';

export interface EgressPolicyOptions {
  /** Host names allowed: exact (`optimizer.aibrix-system.svc`) or `*.suffix` for subdomains. */
  allowHosts?: string[];
  /** Address ranges allowed (`10.0.0.0/8`, `fd00::/8`, a single address). */
  allowCidrs?: string[];
  /** Let link-local addresses (169.254.0.0/16, fe80::/10) through when allowed. Default false. */
  allowLinkLocal?: boolean;
  /** Let the apiserver (names `kubernetes.default…`, `$KUBERNETES_SERVICE_HOST`) through. Default false. */
  allowApiServer?: boolean;
  /** Apiserver addresses besides `$KUBERNETES_SERVICE_HOST`. */
  apiServerAddresses?: string[];
  /** DNS resolution, replaceable in tests. */
  resolve?: (hostname: string) => Promise<{ address: string; family: number }[]>;
}

const LINK_LOCAL: [string, number, 'ipv4' | 'ipv6'][] = [
  ['169.254.0.0', 16, 'ipv4'],
  ['fe80::', 10, 'ipv6'],
];
/** Never a valid destination: "this host", unspecified, multicast, and the AWS IPv6 metadata address. */
const ALWAYS_DENIED: [string, number, 'ipv4' | 'ipv6'][] = [
  ['0.0.0.0', 8, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
  ['fd00:ec2::254', 128, 'ipv6'],
];

function ipFamily(address: string): 'ipv4' | 'ipv6' | undefined {
  const v = net.isIP(address);
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : undefined;
}

/** `::ffff:169.254.169.254` is 169.254.169.254 for routing purposes. */
function normaliseAddress(address: string): string {
  const a = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  return m ? m[1]! : a.toLowerCase();
}

function parseCidr(cidr: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [addr, bits, extra] = cidr.trim().split('/');
  const address = normaliseAddress(addr ?? '');
  const family = ipFamily(address);
  if (family === undefined || extra !== undefined) {
    throw new Error(
      `egress allowlist: "${cidr}" is not a CIDR (write e.g. 10.0.0.0/8, fd00::/8 or 10.1.2.3)`,
    );
  }
  const max = family === 'ipv4' ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) {
    throw new Error(`egress allowlist: "${cidr}" has an invalid prefix length (0..${max})`);
  }
  return { address, prefix, family };
}

function isApiServerName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h === 'kubernetes' || h === 'kubernetes.default' || h.startsWith('kubernetes.default.svc');
}

export class EgressPolicy {
  private readonly allowHosts: string[];
  private readonly allowCidrs: string[];
  private readonly allowed = new net.BlockList();
  private readonly linkLocal = new net.BlockList();
  private readonly denied = new net.BlockList();
  private readonly apiServer = new Set<string>();
  private readonly opts: EgressPolicyOptions;

  constructor(opts: EgressPolicyOptions = {}) {
    this.opts = opts;
    this.allowHosts = (opts.allowHosts ?? []).map((h) => h.trim().toLowerCase()).filter((h) => h !== '');
    for (const h of this.allowHosts) {
      if (!/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(h)) {
        throw new Error(
          `egress allowlist: "${h}" is not a host name (write e.g. optimizer.ns.svc or *.example.com)`,
        );
      }
    }
    this.allowCidrs = opts.allowCidrs ?? [];
    for (const c of this.allowCidrs) {
      const { address, prefix, family } = parseCidr(c);
      this.allowed.addSubnet(address, prefix, family);
    }
    for (const [a, p, f] of LINK_LOCAL) this.linkLocal.addSubnet(a, p, f);
    for (const [a, p, f] of ALWAYS_DENIED) this.denied.addSubnet(a, p, f);
    const envHost = process.env.KUBERNETES_SERVICE_HOST;
    for (const a of [...(opts.apiServerAddresses ?? []), ...(envHost ? [envHost] : [])]) {
      this.apiServer.add(normaliseAddress(a));
    }
  }

  /** A one-line description for error messages and startup logs. */
  describe(): string {
    const hosts = this.allowHosts.length ? this.allowHosts.join(', ') : 'none';
    const cidrs = this.allowCidrs.length ? this.allowCidrs.join(', ') : 'none';
    return `allowed hosts: ${hosts}; allowed CIDRs: ${cidrs}`;
  }

  private hostAllowedByName(host: string): boolean {
    const h = host.toLowerCase().replace(/\.$/, '');
    return this.allowHosts.some((p) =>
      p.startsWith('*.') ? h.endsWith(p.slice(1)) && h.length > p.length - 1 : h === p,
    );
  }

  /**
   * Why `address` (resolved from `host`) may not be fetched, or undefined when it may. A name on
   * the host allowlist still may not resolve to a link-local, apiserver or unspecified address.
   */
  checkAddress(host: string, address: string): string | undefined {
    const a = normaliseAddress(address);
    const family = ipFamily(a);
    if (family === undefined) return `"${address}" is not an IP address`;
    const shown = host === a ? a : `${host} (${a})`;
    if (this.denied.check(a, family)) return `${shown} is an unspecified or multicast address`;
    if (this.linkLocal.check(a, family) && !this.opts.allowLinkLocal) {
      return `${shown} is link-local (cloud metadata lives there); refused unless allowLinkLocal is set`;
    }
    if (this.apiServer.has(a) && !this.opts.allowApiServer) {
      return `${shown} is the Kubernetes apiserver; refused unless allowApiServer is set`;
    }
    if (this.hostAllowedByName(host) || this.allowed.check(a, family)) return undefined;
    return `${shown} is not in the external-source egress allowlist (${this.describe()}); an operator must allow it`;
  }

  /** Checks what can be checked before any DNS: scheme, apiserver names, literal addresses. */
  checkUrl(url: URL): string | undefined {
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      return `scheme ${url.protocol} is not allowed (http or https)`;
    if (url.username !== '' || url.password !== '') return 'credentials in the endpoint URL are not allowed';
    const host = normaliseAddress(url.hostname);
    if (isApiServerName(host) && !this.opts.allowApiServer) {
      return `${host} is the Kubernetes apiserver; refused unless allowApiServer is set`;
    }
    if (ipFamily(host) !== undefined) return this.checkAddress(host, host);
    if (this.allowHosts.length === 0 && this.allowCidrs.length === 0) {
      return `${host} is not in the external-source egress allowlist (it is empty); an operator must allow it`;
    }
    return undefined;
  }

  /** A `lookup` for http.request that resolves, checks every address, and pins the connection. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    const resolve =
      this.opts.resolve ??
      ((h: string) =>
        dns.promises.lookup(h, { all: true, verbatim: true }) as Promise<
          { address: string; family: number }[]
        >);
    resolve(hostname).then(
      (addresses) => {
        if (addresses.length === 0) {
          callback(Object.assign(new Error(`${hostname} did not resolve`), { code: 'ENOTFOUND' }), '', 0);
          return;
        }
        // One refused address refuses the name: a mixed answer is how rebinding attacks start.
        for (const a of addresses) {
          const why = this.checkAddress(hostname, a.address);
          if (why !== undefined) {
            callback(Object.assign(new Error(why), { code: 'EGRESSDENIED' }), '', 0);
            return;
          }
        }
        if ((options as { all?: boolean }).all) {
          (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(
            null,
            addresses,
          );
        } else {
          callback(null, addresses[0]!.address, addresses[0]!.family);
        }
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
