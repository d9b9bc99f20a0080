import type { Priority } from '../signal.ts';

/**
 * The queue depths from which each priority is shed (indexed by priority − 1). Low priority (4)
 * goes first, at the high-water mark; normal (3) and high (2) at steps a third and two thirds of
 * the way from there to full; critical (1) only when the buffer is full. A high-water mark of 100
 * sheds nothing before full.
 */
export function shedDepths(
  capacity: number,
  highWaterPct: number,
): readonly [number, number, number, number] {
  const hw = (capacity * highWaterPct) / 100;
  const step = (capacity - hw) / 3;
  return [capacity, Math.ceil(hw + 2 * step), Math.ceil(hw + step), Math.ceil(hw)];
}

/** The fill (percent of capacity) from which signals of `priority` are shed. */
export function shedFillPct(priority: Priority, highWaterPct: number): number {
  const step = (100 - highWaterPct) / 3;
  const pct = [100, highWaterPct + 2 * step, highWaterPct + step, highWaterPct][priority - 1] as number;
  return Math.round(pct * 10) / 10;
}
