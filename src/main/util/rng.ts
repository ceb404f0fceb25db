// A small seeded PRNG (mulberry32): every random choice in Curator goes through one of these.
const STEP = 0x6d2b79f5

/** mulberry32's output for a state: uniform in [0, 1). */
function mix(state: number): number {
  let t = state
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

export class Rng {
  private state: number
  constructor(seed: number) {
    this.state = (seed >>> 0) ^ 0x9e3779b9
  }
  /** Uniform in [0, 1). */
  next(): number {
    return mix((this.state = (this.state + STEP) >>> 0))
  }
  /**
   * What the (k + 1)-th next() from here returns, without drawing: the state is a counter, so a
   * loop that keys row i by the i-th draw need only compute the keys of the rows it looks at.
   */
  ahead(k: number): number {
    return mix((this.state + Math.imul(k + 1, STEP)) >>> 0)
  }
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  /** Fisher-Yates shuffle, in place. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const t = a[i]
      a[i] = a[j]
      a[j] = t
    }
    return a
  }
}
