'use strict';

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/** The p-th percentile (0..100) of a Float64Array, nearest rank. Sorts the array in place. */
function percentile(sortedOrNot, p, alreadySorted = false) {
  const a = alreadySorted ? sortedOrNot : sortedOrNot.sort();
  if (a.length === 0) return NaN;
  const rank = Math.min(a.length - 1, Math.max(0, Math.ceil((p / 100) * a.length) - 1));
  return a[rank];
}

function mean(values) {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return values.length === 0 ? NaN : sum / values.length;
}

module.exports = { median, percentile, mean };
