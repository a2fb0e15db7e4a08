/**
 * A few recently used values by key (a content hash, a file's identity): the
 * caches that spare one process parsing or building the same large thing
 * twice (a tokenizer.json, its encoder, a bundle's inflated tokenizer, a
 * bundle's facts). Once more than `capacity` are held, the least recently
 * used goes.
 */
export class RecentCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): V {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    return value;
  }
}
