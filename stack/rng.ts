/**
 * One seeded PRNG for everything random in a run (faults, ISNs in deterministic mode, generated
 * payloads, pathoc `r` offsets and `@N` data), so that a printed seed replays a run exactly.
 * sfc32 seeded through splitmix32: small, fast, and good enough for testing (not for crypto).
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  readonly seed: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    let s = this.seed;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.float() < p;
  }

  /** Fills `buf` with uniform bytes. */
  fill(buf: Uint8Array): Uint8Array {
    for (let i = 0; i < buf.length; i += 4) {
      let v = this.u32();
      for (let j = 0; j < 4 && i + j < buf.length; j++) {
        buf[i + j] = v & 0xff;
        v >>>= 8;
      }
    }
    return buf;
  }

  /** An independent generator derived from this one (for per-job or per-link streams). */
  fork(): Rng {
    return new Rng(this.u32());
  }
}

/** A fresh seed for runs that were not given one (printed so the run can be replayed). */
export function randomSeed(): number {
  return (Math.random() * 4294967296) >>> 0;
}

/**
 * The seed of one named random stream of a run (`deriveSeed(seed, 'faults')`, `'mutate'`,
 * `'isn'`…): each consumer draws from its own stream, so adding draws to one (another mutation,
 * another fault) never shifts another's, and two consumers never share one by accident. The
 * name is hashed with FNV-1a and mixed with the run's seed through splitmix32's finaliser.
 */
export function deriveSeed(seed: number, name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  let z = (seed + Math.imul(h, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
