import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeadlineHeap, type HeapItem } from '../../src/stores/deadline-heap';

interface Item extends HeapItem {
  readonly name: number;
}

function item(name: number): Item {
  return { name, heapIndex: -1 };
}

/** The heap's backing arrays, to check its invariants from outside. */
function arraysOf(heap: DeadlineHeap<Item>): { items: readonly Item[]; deadlines: readonly number[] } {
  return heap as unknown as { items: Item[]; deadlines: number[] };
}

/** Every item sits where its heapIndex says, each has a deadline, and no parent is later than its children. */
function consistent(heap: DeadlineHeap<Item>): boolean {
  const { items, deadlines } = arraysOf(heap);
  return (
    deadlines.length === items.length &&
    items.every((held, i) => held.heapIndex === i && (i === 0 || deadlines[(i - 1) >> 1]! <= deadlines[i]!))
  );
}

type Op =
  { kind: 'set'; item: number; deadline: number } | { kind: 'remove'; item: number } | { kind: 'popDue'; now: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), item: fc.nat(19), deadline: fc.integer({ min: 0, max: 100 }) }),
  fc.record({ kind: fc.constant('remove' as const), item: fc.nat(19) }),
  fc.record({ kind: fc.constant('popDue' as const), now: fc.integer({ min: -1, max: 101 }) }),
);

describe('DeadlineHeap', () => {
  it('pops items in deadline order', () => {
    const heap = new DeadlineHeap<Item>();
    const items = [5, 1, 4, 2, 3].map((d) => {
      const held = item(d);
      heap.set(held, d);
      return held;
    });
    const popped: number[] = [];
    for (let next = heap.popDue(Infinity); next !== undefined; next = heap.popDue(Infinity)) popped.push(next.name);
    expect(popped).toEqual([1, 2, 3, 4, 5]);
    expect(items.every((held) => held.heapIndex === -1)).toBe(true);
  });

  it('pops nothing before the earliest deadline', () => {
    const heap = new DeadlineHeap<Item>();
    heap.set(item(1), 10);
    expect(heap.popDue(9)).toBeUndefined();
    expect(heap.popDue(10)?.name).toBe(1);
  });

  it('moves an item that is set again instead of adding it twice', () => {
    const heap = new DeadlineHeap<Item>();
    const a = item(1);
    const b = item(2);
    heap.set(a, 10);
    heap.set(b, 20);
    heap.set(a, 30);
    expect(heap.size).toBe(2);
    expect(heap.peek()).toBe(b);
    expect(heap.peekDeadline()).toBe(20);
    expect(heap.deadlineOf(a)).toBe(30);
  });

  it('moves an item set to a later deadline down below its children', () => {
    const heap = new DeadlineHeap<Item>();
    const items = [1, 2, 3, 4, 5, 6, 7].map((d) => {
      const held = item(d);
      heap.set(held, d);
      return held;
    });
    heap.set(items[1]!, 10);
    expect(consistent(heap)).toBe(true);
  });

  it('moves an item set to an earlier deadline up above its parent', () => {
    const heap = new DeadlineHeap<Item>();
    const items = [1, 2, 3, 4, 5, 6, 7].map((d) => {
      const held = item(d);
      heap.set(held, d);
      return held;
    });
    heap.set(items[6]!, 0);
    expect(consistent(heap)).toBe(true);
    expect(heap.peek()).toBe(items[6]);
  });

  it('moves the last item up when it fills the place of a removed item under a later parent', () => {
    const heap = new DeadlineHeap<Item>();
    // Laid out as [1, 10, 2, 11, 12, 3, 4]: the last item (4) is earlier than the parent (10) of the removed one (12).
    const items = [1, 10, 2, 11, 12, 3, 4].map((d) => {
      const held = item(d);
      heap.set(held, d);
      return held;
    });
    expect(arraysOf(heap).deadlines).toEqual([1, 10, 2, 11, 12, 3, 4]);
    heap.remove(items[4]!);
    expect(consistent(heap)).toBe(true);
    expect(heap.deadlineOf(items[6]!)).toBe(4);
  });

  it('tells no deadline for an item it does not hold', () => {
    const heap = new DeadlineHeap<Item>();
    const a = item(1);
    heap.set(a, 10);
    heap.remove(a);
    expect(heap.deadlineOf(a)).toBeUndefined();
    expect(heap.peekDeadline()).toBeUndefined();
  });

  it('ignores the removal of an item it does not hold', () => {
    const heap = new DeadlineHeap<Item>();
    heap.set(item(1), 1);
    heap.remove(item(2));
    expect(heap.size).toBe(1);
  });

  it('after any sequence of set, remove and popDue, pops in deadline order with consistent indices', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200, size: 'max' }), (ops) => {
        const heap = new DeadlineHeap<Item>();
        const items = Array.from({ length: 20 }, (_, i) => item(i));
        const model = new Map<number, number>(); // item -> deadline
        for (const o of ops) {
          if (o.kind === 'set') {
            heap.set(items[o.item]!, o.deadline);
            model.set(o.item, o.deadline);
          } else if (o.kind === 'remove') {
            heap.remove(items[o.item]!);
            model.delete(o.item);
          } else {
            const earliest = Math.min(...model.values());
            const deadline = heap.peekDeadline();
            const popped = heap.popDue(o.now);
            // The popped item has the earliest deadline, and is popped exactly when that deadline is due.
            expect(deadline).toBe(model.size === 0 ? undefined : earliest);
            expect(popped === undefined ? undefined : model.get(popped.name)).toBe(
              earliest <= o.now ? earliest : undefined,
            );
            if (popped !== undefined) model.delete(popped.name);
          }
          expect(consistent(heap)).toBe(true);
          expect(heap.size).toBe(model.size);
          expect(
            items
              .filter((held) => held.heapIndex >= 0)
              .map((held) => held.name)
              .sort((x, y) => x - y),
          ).toEqual([...model.keys()].sort((x, y) => x - y));
          expect(items.map((held) => heap.deadlineOf(held))).toEqual(items.map((held) => model.get(held.name)));
        }
        const drained: [number, number][] = [];
        for (let deadline = heap.peekDeadline(); deadline !== undefined; deadline = heap.peekDeadline())
          drained.push([heap.popDue(Infinity)!.name, deadline]);
        const deadlines = drained.map(([, deadline]) => deadline);
        expect(deadlines).toEqual([...deadlines].sort((x, y) => x - y));
        expect(drained.sort((x, y) => x[0] - y[0])).toEqual([...model.entries()].sort((x, y) => x[0] - y[0]));
      }),
      { numRuns: 300 },
    );
  });
});
