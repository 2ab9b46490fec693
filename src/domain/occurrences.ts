// Counting identical rows of an import without a JS object per row. Sales without external_id are
// known by their content and the occurrence of that content in the file (the 2nd identical row is a
// 2nd sale), so every row's content must be remembered until the end of the file. A Map of a million
// content strings held 500 MB of V8 heap and cost seconds of garbage collection (1M sales: 3.2× the
// import with external ids); here the contents sit as UTF-8 bytes in one growing buffer and an
// open-addressing table of typed arrays finds them by hash. Equal hashes are compared byte by byte,
// so the counts are exact.

/** Set in a slot's length when its content is stored as UTF-8 (it has a character above U+00FF). */
const WIDE = 1 << 30;
/** Set by hashOf: whether the string it hashed has a character above U+00FF. */
let wide = false;

/** A slot of the table: [times counted (0: empty), hash, offset of the content in `bytes`, its length]. */
const SLOT = 4;

/** The number of times each string was counted so far: count('a') → 1, count('a') → 2, count('b') → 1. */
export class OccurrenceCounter {
  /** The slots, side by side, so a probe touches one cache line. */
  private slots = new Int32Array(SLOT << 12);
  private used = 0;
  private bytes = Buffer.allocUnsafe(1 << 16);
  private end = 0;

  /** Counts one more `content`; returns how many times it has been counted, this one included. */
  count(content: string): number {
    const at = this.find(content);
    const slots = this.slots;
    if (slots[at] !== 0) return ++slots[at]!;
    // New: the content stays where find() wrote it, at the end of the buffer.
    slots[at] = 1;
    slots[at + 1] = this.foundHash;
    slots[at + 2] = this.end;
    slots[at + 3] = this.foundLength;
    this.end += this.foundLength & ~WIDE;
    if (++this.used * 2 * SLOT > slots.length) this.growSlots();
    return 1;
  }

  /** Whether `content` has been counted. */
  has(content: string): boolean {
    return this.used > 0 && this.slots[this.find(content)] !== 0;
  }

  /** find()'s hash and encoded length of the content it looked for (what a new slot records). */
  private foundHash = 0;
  private foundLength = 0;

  /**
   * The slot of `content`: its own when counted (times counted > 0), else the empty slot it would
   * take. The content is written at the end of the buffer for the comparison, and stays there only
   * if count() keeps it. One byte a character when they all fit (4× faster to write than UTF-8),
   * else UTF-8 with a flag in the length, so the two encodings never compare equal.
   */
  private find(content: string): number {
    const hash = hashOf(content);
    if (this.end + content.length * 3 > this.bytes.length) this.growBytes(content.length * 3);
    const length = wide ? this.bytes.write(content, this.end, 'utf8') | WIDE : this.bytes.write(content, this.end, 'latin1');
    this.foundHash = hash;
    this.foundLength = length;
    const slots = this.slots;
    const mask = slots.length / SLOT - 1;
    let at = (hash & mask) * SLOT;
    while (slots[at] !== 0) {
      if (slots[at + 1] === hash && slots[at + 3] === length) {
        const offset = slots[at + 2]!;
        const size = length & ~WIDE;
        if (this.bytes.compare(this.bytes, this.end, this.end + size, offset, offset + size) === 0) return at;
      }
      at = (at + SLOT) & (slots.length - 1);
    }
    return at;
  }

  private growBytes(atLeast: number): void {
    const size = Math.max(this.bytes.length * 2, this.end + atLeast);
    // Offsets are 32-bit: 2 GB of distinct row contents is far beyond any file crm imports.
    if (size > 0x7fffffff) throw new RangeError('too many distinct rows to count');
    const grown = Buffer.allocUnsafe(size);
    this.bytes.copy(grown, 0, 0, this.end);
    this.bytes = grown;
  }

  private growSlots(): void {
    const old = this.slots;
    const slots = new Int32Array(old.length * 2);
    const mask = slots.length / SLOT - 1;
    for (let from = 0; from < old.length; from += SLOT) {
      if (old[from] === 0) continue;
      let at = (old[from + 1]! & mask) * SLOT;
      while (slots[at] !== 0) at = (at + SLOT) & (slots.length - 1);
      slots.set(old.subarray(from, from + SLOT), at);
    }
    this.slots = slots;
  }
}

/** A 32-bit hash of a string's UTF-16 code units (murmur3's mixing steps); sets `wide`. */
function hashOf(text: string): number {
  let h = 0x9747b28c ^ text.length;
  let all = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    all |= code;
    let k = Math.imul(code, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  wide = all > 0xff;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
