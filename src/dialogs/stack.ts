import type { DialogInstance } from './dialog';

// Pure operations on a dialog stack (bottom first). No I/O, no timers: the runner and the property tests use them.

/** Pushes a fresh instance of `id`. */
export function push(stack: DialogInstance[], id: string): DialogInstance {
  const instance: DialogInstance = { id, data: {} };
  stack.push(instance);
  return instance;
}

/** Removes the top instance. */
export function pop(stack: DialogInstance[]): DialogInstance | undefined {
  return stack.pop();
}

/** The index of the topmost instance of `id`, or -1. */
export function findFromTop(stack: readonly DialogInstance[], id: string): number {
  for (let i = stack.length - 1; i >= 0; i--) if (stack[i]!.id === id) return i;
  return -1;
}

/** Replaces the top instance with a fresh instance of `id` (the stack does not grow). */
export function replaceTop(stack: DialogInstance[], id: string): DialogInstance {
  stack.pop();
  return push(stack, id);
}

/** Removes every instance. */
export function clear(stack: DialogInstance[]): void {
  stack.length = 0;
}

/** Removes the instance at `index` and every instance above it (its children). */
export function truncate(stack: DialogInstance[], index: number): DialogInstance[] {
  return stack.splice(index);
}

/** The top instance. */
export function top(stack: readonly DialogInstance[]): DialogInstance | undefined {
  // No read at index -1 on an empty stack: V8 looks that up as a named property, on the slow path.
  const length = stack.length;
  return length === 0 ? undefined : stack[length - 1];
}
