/** An item the heap can hold: it keeps its own position so that updates and removals are O(log n). */
export interface HeapItem {
  heapIndex: number;
}

/**
 * A binary min-heap of items by deadline whose items know their index: no map lookups, no stale entries. The deadlines
 * are kept here, in an array parallel to the items, rather than on the items.
 */
export class DeadlineHeap<T extends HeapItem> {
  private readonly items: T[] = [];
  // A number array holds its numbers unboxed, 8 bytes each. As a field of each item, a deadline (a millisecond
  // timestamp, past the small-integer range) would cost a pointer plus a heap number of its own.
  private readonly deadlines: number[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The item with the earliest deadline. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** The earliest deadline. */
  peekDeadline(): number | undefined {
    return this.deadlines[0];
  }

  /** The deadline of `item`, or `undefined` when the heap does not hold it. */
  deadlineOf(item: T): number | undefined {
    return item.heapIndex < 0 ? undefined : this.deadlines[item.heapIndex];
  }

  /** Inserts `item` at `deadline`, or moves it there if it is already in the heap. */
  set(item: T, deadline: number): void {
    if (item.heapIndex < 0) {
      this.items.push(item);
      this.deadlines.push(deadline);
      this.up(this.items.length - 1, item, deadline);
    } else {
      this.place(item.heapIndex, item, deadline);
    }
  }

  /** Removes `item` if it is in the heap. */
  remove(item: T): void {
    const index = item.heapIndex;
    if (index < 0) return;
    item.heapIndex = -1;
    const last = this.items.pop()!;
    const lastDeadline = this.deadlines.pop()!;
    if (last !== item) {
      this.place(index, last, lastDeadline);
    } else if (this.items.length === 0) {
      // pop() keeps an array's room for its longest length; setting the length gives it back once the heap is empty.
      this.items.length = 0;
      this.deadlines.length = 0;
    }
  }

  /** Removes and returns the earliest item if its deadline is at or before `now`. */
  popDue(now: number): T | undefined {
    const top = this.items[0];
    if (top === undefined || this.deadlines[0]! > now) return undefined;
    this.remove(top);
    return top;
  }

  /** Puts `item` with `deadline` at `index`, then moves it up or down to where the heap order wants it. */
  private place(index: number, item: T, deadline: number): void {
    if (index > 0 && this.deadlines[(index - 1) >> 1]! > deadline) this.up(index, item, deadline);
    else this.down(index, item, deadline);
  }

  private up(index: number, item: T, deadline: number): void {
    const { items, deadlines } = this;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (deadlines[parent]! <= deadline) break;
      this.put(index, items[parent]!, deadlines[parent]!);
      index = parent;
    }
    this.put(index, item, deadline);
  }

  private down(index: number, item: T, deadline: number): void {
    const { items, deadlines } = this;
    const length = items.length;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= length) break;
      if (child + 1 < length && deadlines[child + 1]! < deadlines[child]!) child++;
      if (deadlines[child]! >= deadline) break;
      this.put(index, items[child]!, deadlines[child]!);
      index = child;
    }
    this.put(index, item, deadline);
  }

  private put(index: number, item: T, deadline: number): void {
    this.items[index] = item;
    this.deadlines[index] = deadline;
    item.heapIndex = index;
  }
}
