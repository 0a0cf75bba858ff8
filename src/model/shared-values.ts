/**
 * One value per combination of parts, the parts compared by identity: what
 * thousands of records built from the same few parts share instead of each
 * holding a copy of its own. Every call passes as many parts, in the same order.
 */
export class SharedValues<V> {
  private readonly root = new Map<unknown, unknown>();

  get(parts: ReadonlyArray<unknown>, build: () => V): V {
    let level = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      let next = level.get(parts[i]) as Map<unknown, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(parts[i], next);
      }
      level = next;
    }
    const last = parts[parts.length - 1];
    if (level.has(last)) return level.get(last) as V;
    const value = build();
    level.set(last, value);
    return value;
  }
}
