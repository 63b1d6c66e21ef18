// Shared by the SDK tests: where the gateway and the mock are, and how to read the mock's journal.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

function requiredUrl(name) {
  const value = process.env[name];
  assert.ok(value, `${name} is not set; run the suite through run-sdk-tests.sh`);
  return value.replace(/\/+$/, '');
}

export const TOLLGATE_URL = requiredUrl('TOLLGATE_URL');
export const MOCK_URL = requiredUrl('MOCK_URL');

/** The tool input every mock tool call carries (tests/support/mockcall.h). */
export const MOCK_TOOL_INPUT = { location: 'Paris' };

/** A prompt nobody sent before: no cache hit, and one journal entry to find it by. */
export function uniquePrompt(label, directive = '') {
  const marker = `sdk-${label}-${randomUUID()}`;
  return { marker, text: `${directive} ${marker}: say hello.`.trim() };
}

export async function journal() {
  const response = await fetch(`${MOCK_URL}/_mock/journal`);
  assert.equal(response.status, 200, 'the mock journal answers');
  return response.json();
}

/** The upstream requests whose body contains `marker`. */
export async function journalEntriesWith(marker) {
  return (await journal()).filter((entry) => entry.body.includes(marker));
}

/** The one upstream request whose body contains `marker`. */
export async function journalEntryWith(marker) {
  const entries = await journalEntriesWith(marker);
  assert.equal(entries.length, 1, `exactly one upstream request carries ${marker}`);
  return entries[0];
}

/** USD per token pair from the default price table, or undefined for an unknown model. */
export function defaultPrices(model) {
  const url = new URL('../../resources/prices.json', import.meta.url);
  const table = JSON.parse(readFileSync(url, 'utf8'));
  return table.models.find((entry) => entry.id === model || entry.aliases?.includes(model));
}

/** Asserts `header` is the cost the default price table gives for these tokens of `model`. */
export function assertCostHeader(header, model, inputTokens, outputTokens) {
  assert.match(header ?? '', /^\d+(\.\d+)?$/, `x-tollgate-cost-usd is a decimal: ${header}`);
  const cost = Number(header);
  assert.ok(cost > 0, `a metered call costs something: ${header}`);
  const prices = defaultPrices(model);
  if (prices === undefined)
    return;
  const expected = (inputTokens * prices.input + outputTokens * prices.output) / 1e6;
  assert.ok(Math.abs(cost - expected) < 1e-9,
    `x-tollgate-cost-usd ${header} for ${inputTokens} in / ${outputTokens} out of ${model}` +
      ` (expected ${expected})`);
}

/**
 * Drains an async iterable that must fail: resolves with the error it threw, and fails the test
 * when it completes as if the answer were whole.
 */
export async function iterationError(iterable, onItem = () => {}) {
  let items = 0;
  try {
    for await (const item of iterable) {
      items += 1;
      onItem(item);
    }
  } catch (error) {
    return { error, items };
  }
  assert.fail(`the stream completed as a success after ${items} items; a truncated upstream` +
    ' stream must surface as an error');
}
