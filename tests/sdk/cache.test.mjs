// The response cache seen through the official SDKs: an answer replayed from the cache, in the
// other kind (a stored body as a stream, a stored stream as a body), must be indistinguishable
// from a live one to the SDK's own stream helpers (docs/cache.md, "Stream replay").
//
// The first request of each test carries an `x-mock-scenario` header that makes its answer
// recognizable (other text, other token counts). That header is not part of the cache key, so the
// second request, without it, can only get that answer from the cache. Every prompt is unique, so
// no other suite's entry can ever answer these requests.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

import { TOLLGATE_URL, journalEntriesWith, uniquePrompt } from './support.mjs';

const ANTHROPIC_KEY = 'sk-ant-client-cache-test';
const OPENAI_KEY = 'sk-openai-client-cache-test';
const ANTHROPIC_MODEL = 'claude-sonnet-4-20250514';
const OPENAI_MODEL = 'gpt-4o';
const TEST_TIMEOUT_MS = 20_000;

function anthropic() {
  return new Anthropic({ baseURL: TOLLGATE_URL, apiKey: ANTHROPIC_KEY, maxRetries: 0, timeout: 10_000 });
}

function openai() {
  return new OpenAI({ baseURL: `${TOLLGATE_URL}/v1`, apiKey: OPENAI_KEY, maxRetries: 0, timeout: 10_000 });
}

function userMessage(text) {
  return [{ role: 'user', content: text }];
}

function scenario(items) {
  return { headers: { 'x-mock-scenario': items } };
}

/** Exactly one upstream request carried this prompt: every other answer came from the cache. */
async function assertOneUpstreamCall(prompt) {
  const entries = await journalEntriesWith(prompt.marker);
  assert.equal(entries.length, 1, `one upstream request for ${prompt.marker}, got ${entries.length}`);
}

function assertHit(response) {
  assert.equal(response.headers.get('x-tollgate-cache'), 'hit', 'answered from the cache');
  assert.equal(response.headers.get('x-tollgate-cost-usd'), '0', 'a hit costs nothing');
}

describe('The response cache through the SDKs', { timeout: 60_000 }, () => {
  test('Anthropic: a stored message replayed to messages.stream() is the same message',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const client = anthropic();
      const prompt = uniquePrompt('c-a-body-then-stream');
      const params = { model: ANTHROPIC_MODEL, max_tokens: 64, messages: userMessage(prompt.text) };

      const { data: original, response: first } = await client.messages
        .create(params, scenario('in=31,out=12,events=5'))
        .withResponse();
      assert.equal(first.headers.get('x-tollgate-cache'), 'miss');
      assert.equal(original.content[0].text, 'w1 w2 w3 w4 w5 ', 'the scenario shaped the answer');

      const stream = client.messages.stream(params);
      const deltas = [];
      stream.on('text', (delta) => deltas.push(delta));
      const { response } = await stream.withResponse();
      assertHit(response);
      assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
      const replayed = await stream.finalMessage();

      assert.equal(deltas.join(''), original.content[0].text);
      assert.deepEqual(replayed.content, original.content);
      assert.deepEqual(replayed.usage, original.usage);
      assert.equal(replayed.id, original.id);
      assert.equal(replayed.model, original.model);
      assert.equal(replayed.stop_reason, original.stop_reason);
      await assertOneUpstreamCall(prompt);
    });

  test('Anthropic: a recorded stream replayed to messages.create() is the final message',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const client = anthropic();
      const prompt = uniquePrompt('c-a-stream-then-body');
      const params = { model: ANTHROPIC_MODEL, max_tokens: 64, messages: userMessage(prompt.text) };

      const live = client.messages.stream(params, scenario('in=29,out=14,events=4,cache_read=3'));
      const { response: first } = await live.withResponse();
      assert.equal(first.headers.get('x-tollgate-cache'), 'miss');
      const streamed = await live.finalMessage();
      assert.equal(streamed.content[0].text, 'w1 w2 w3 w4 ', 'the scenario shaped the answer');
      assert.equal(streamed.usage.output_tokens, 14);

      const { data: replayed, response } = await client.messages.create(params).withResponse();
      assertHit(response);
      assert.deepEqual(replayed.content, streamed.content);
      assert.deepEqual(replayed.usage, streamed.usage);
      assert.equal(replayed.id, streamed.id);
      assert.equal(replayed.stop_reason, streamed.stop_reason);

      // And the recorded stream itself, to a streaming client: the same final message again.
      const again = client.messages.stream(params);
      assertHit((await again.withResponse()).response);
      assert.deepEqual(await again.finalMessage(), streamed);
      await assertOneUpstreamCall(prompt);
    });

  test('OpenAI: a stored completion replayed as a stream with include_usage carries the usage',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const client = openai();
      const prompt = uniquePrompt('c-o-body-then-stream');
      const params = { model: OPENAI_MODEL, messages: userMessage(prompt.text) };

      const { data: original, response: first } = await client.chat.completions
        .create(params, scenario('in=19,out=8,events=4'))
        .withResponse();
      assert.equal(first.headers.get('x-tollgate-cache'), 'miss');
      assert.equal(original.choices[0].message.content, 'w1 w2 w3 w4 ');

      const { data: stream, response } = await client.chat.completions
        .create({ ...params, stream: true, stream_options: { include_usage: true } })
        .withResponse();
      assertHit(response);
      const chunks = [];
      for await (const chunk of stream)
        chunks.push(chunk);
      const text = chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('');
      assert.equal(text, original.choices[0].message.content);
      const usageChunks = chunks.filter((chunk) => chunk.choices.length === 0);
      assert.equal(usageChunks.length, 1, 'one usage chunk');
      assert.equal(chunks.at(-1), usageChunks[0], 'the usage chunk comes last');
      assert.deepEqual(usageChunks[0].usage, original.usage);
      const finish = chunks.map((chunk) => chunk.choices[0]?.finish_reason).filter(Boolean);
      assert.deepEqual(finish, [original.choices[0].finish_reason]);
      assert.ok(chunks.every((chunk) => chunk.id === original.id), 'the recorded id throughout');
      await assertOneUpstreamCall(prompt);
    });

  test('OpenAI: a recorded stream replayed to chat.completions.stream() and create()',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const client = openai();
      const prompt = uniquePrompt('c-o-stream-then-both');
      const params = { model: OPENAI_MODEL, messages: userMessage(prompt.text) };

      // No usage asked for: the gateway asks upstream for it anyway and hides it here.
      const live = await client.chat.completions.create(
        { ...params, stream: true }, scenario('in=23,out=6,events=5'));
      let liveText = '';
      for await (const chunk of live) {
        assert.ok(chunk.choices.length > 0, 'no usage chunk for a client that did not ask');
        liveText += chunk.choices[0].delta.content ?? '';
      }
      assert.equal(liveText, 'w1 w2 w3 w4 w5 ', 'the scenario shaped the answer');

      const helper = client.chat.completions.stream({
        ...params, stream_options: { include_usage: true },
      });
      const replayed = await helper.finalChatCompletion();
      assert.equal(replayed.choices[0].message.content, liveText);
      assert.equal(replayed.choices[0].finish_reason, 'stop');
      assert.equal(replayed.usage?.prompt_tokens, 23);
      assert.equal(replayed.usage?.completion_tokens, 6);
      assert.equal(replayed.usage?.total_tokens, 29);

      const { data: plain, response } = await client.chat.completions.create(params).withResponse();
      assertHit(response);
      assert.equal(plain.object, 'chat.completion');
      assert.equal(plain.id, replayed.id);
      assert.equal(plain.choices[0].message.content, liveText);
      assert.deepEqual(plain.usage, replayed.usage);
      await assertOneUpstreamCall(prompt);
    });
});
