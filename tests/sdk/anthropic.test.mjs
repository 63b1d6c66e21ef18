// The official Anthropic TypeScript SDK, unchanged, talking to a real tollgated in front of the mock.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import Anthropic from '@anthropic-ai/sdk';

import {
  MOCK_TOOL_INPUT,
  TOLLGATE_URL,
  assertCostHeader,
  iterationError,
  journalEntryWith,
  uniquePrompt,
} from './support.mjs';

const CLIENT_KEY = 'sk-ant-client-test';
const MODEL = 'claude-sonnet-4-20250514';
const TEST_TIMEOUT_MS = 20_000;

function client(options = {}) {
  return new Anthropic({
    baseURL: TOLLGATE_URL,
    apiKey: CLIENT_KEY,
    maxRetries: 0,
    timeout: 10_000,
    ...options,
  });
}

function userMessage(text) {
  return [{ role: 'user', content: text }];
}

const weatherTool = {
  name: 'get_weather',
  description: 'The current weather in a city.',
  input_schema: {
    type: 'object',
    properties: { location: { type: 'string' } },
    required: ['location'],
  },
};

describe('Anthropic SDK through tollgated', { timeout: 60_000 }, () => {
  test('messages.create returns the text and the usage the upstream reported',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const prompt = uniquePrompt('a-create', '[[mock:in=21,out=9]]');
      const message = await client().messages.create({
        model: MODEL,
        max_tokens: 64,
        messages: userMessage(prompt.text),
      });
      assert.equal(message.type, 'message');
      assert.equal(message.role, 'assistant');
      assert.match(message.id, /^msg_mock_\d+$/);
      assert.equal(message.content.length, 1);
      assert.equal(message.content[0].type, 'text');
      assert.equal(message.content[0].text, 'Hello from mock.');
      assert.equal(message.stop_reason, 'end_turn');
      assert.equal(message.usage.input_tokens, 21);
      assert.equal(message.usage.output_tokens, 9);
    });

  test('withResponse exposes x-tollgate-request-id and x-tollgate-cost-usd',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const anthropic = client();
      const ids = [];
      for (const label of ['a-headers-1', 'a-headers-2']) {
        const prompt = uniquePrompt(label, '[[mock:in=1000,out=200]]');
        const { data, response, request_id } = await anthropic.messages
          .create({ model: MODEL, max_tokens: 64, messages: userMessage(prompt.text) })
          .withResponse();
        assert.equal(response.status, 200);
        const requestId = response.headers.get('x-tollgate-request-id');
        assert.ok(requestId, 'x-tollgate-request-id is present');
        ids.push(requestId);
        // The provider's own request id still reaches the SDK.
        assert.equal(request_id, response.headers.get('request-id'));
        const servedModel = response.headers.get('x-tollgate-model');
        assert.ok(servedModel, 'x-tollgate-model is present');
        assert.equal(data.model, servedModel, 'x-tollgate-model names the model that answered');
        assertCostHeader(response.headers.get('x-tollgate-cost-usd'), servedModel, 1000, 200);
        assert.equal(data.usage.input_tokens, 1000);
      }
      assert.notEqual(ids[0], ids[1], 'every request gets its own x-tollgate-request-id');
    });

  test('messages.stream collects the text deltas and the final usage',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const prompt = uniquePrompt('a-stream', '[[mock:in=13,out=5]]');
      const stream = client().messages.stream({
        model: MODEL,
        max_tokens: 64,
        messages: userMessage(prompt.text),
      });
      const deltas = [];
      stream.on('text', (delta) => deltas.push(delta));
      const message = await stream.finalMessage();
      assert.deepEqual(deltas, ['Hello', ' from', ' mock.']);
      assert.equal(message.content[0].type, 'text');
      assert.equal(message.content[0].text, 'Hello from mock.');
      assert.equal(message.stop_reason, 'end_turn');
      assert.equal(message.usage.input_tokens, 13);
      assert.equal(message.usage.output_tokens, 5);
    });

  test('messages.create({stream: true}) yields every event in order',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const prompt = uniquePrompt('a-raw-stream', '[[mock:in=17,out=6,events=5]]');
      const { data: stream, response } = await client().messages
        .create({ model: MODEL, max_tokens: 64, stream: true, messages: userMessage(prompt.text) })
        .withResponse();
      assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
      assert.ok(response.headers.get('x-tollgate-request-id'), 'streams get a request id too');
      const types = [];
      let text = '';
      let inputTokens;
      let outputTokens;
      for await (const event of stream) {
        types.push(event.type);
        if (event.type === 'message_start')
          inputTokens = event.message.usage.input_tokens;
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta')
          text += event.delta.text;
        if (event.type === 'message_delta')
          outputTokens = event.usage.output_tokens;
      }
      assert.deepEqual(types.filter((type) => type !== 'ping'), [
        'message_start', 'content_block_start',
        'content_block_delta', 'content_block_delta', 'content_block_delta',
        'content_block_delta', 'content_block_delta',
        'content_block_stop', 'message_delta', 'message_stop',
      ]);
      assert.equal(text, 'w1 w2 w3 w4 w5 ');
      assert.equal(inputTokens, 17);
      assert.equal(outputTokens, 6);
    });

  test('tool use: the answer is a tool_use block with parsed input',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const prompt = uniquePrompt('a-tool', '[[mock:tool]]');
      const message = await client().messages.create({
        model: MODEL,
        max_tokens: 64,
        tools: [weatherTool],
        messages: userMessage(prompt.text),
      });
      assert.equal(message.stop_reason, 'tool_use');
      const block = message.content.find((item) => item.type === 'tool_use');
      assert.ok(block, 'a tool_use block');
      assert.equal(block.name, 'get_weather');
      assert.match(block.id, /^toolu_/);
      assert.deepEqual(block.input, MOCK_TOOL_INPUT);
    });

  test('tool use streamed: input_json_delta pieces assemble into the input',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const prompt = uniquePrompt('a-tool-stream', '[[mock:tool,events=4]]');
      const stream = client().messages.stream({
        model: MODEL,
        max_tokens: 64,
        tools: [weatherTool],
        messages: userMessage(prompt.text),
      });
      const message = await stream.finalMessage();
      assert.equal(message.stop_reason, 'tool_use');
      const block = message.content.find((item) => item.type === 'tool_use');
      assert.ok(block, 'a tool_use block');
      assert.equal(block.name, 'get_weather');
      assert.deepEqual(block.input, MOCK_TOOL_INPUT);
    });

  test('messages.countTokens returns the upstream count', { timeout: TEST_TIMEOUT_MS }, async () => {
    const prompt = uniquePrompt('a-count', '[[mock:in=42]]');
    const count = await client().messages.countTokens({
      model: MODEL,
      messages: userMessage(prompt.text),
    });
    assert.equal(count.input_tokens, 42);
  });

  test('models.list pages through the upstream models', { timeout: TEST_TIMEOUT_MS }, async () => {
    const ids = [];
    for await (const model of client().models.list())
      ids.push(model.id);
    assert.deepEqual(ids, ['claude-sonnet-4-20250514', 'claude-3-haiku-20240307']);
  });

  test('an upstream 429 throws RateLimitError', { timeout: TEST_TIMEOUT_MS }, async () => {
    const prompt = uniquePrompt('a-429', '[[mock:error=429]]');
    await assert.rejects(
      client().messages.create({ model: MODEL, max_tokens: 64, messages: userMessage(prompt.text) }),
      (error) => {
        assert.ok(error instanceof Anthropic.RateLimitError,
          `RateLimitError, got ${error?.constructor?.name}: ${error?.message}`);
        assert.equal(error.status, 429);
        assert.equal(error.error?.type, 'error', 'the body is in the Anthropic error shape');
        assert.equal(error.error?.error?.type, 'rate_limit_error');
        assert.equal(error.headers?.get('retry-after'), '7', 'the provider pacing reaches the SDK');
        return true;
      });
  });

  test('an upstream 529 throws OverloadedError with status 529',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const prompt = uniquePrompt('a-529', '[[mock:error=529]]');
      await assert.rejects(
        client().messages.create({
          model: MODEL, max_tokens: 64, messages: userMessage(prompt.text),
        }),
        (error) => {
          assert.ok(error instanceof Anthropic.OverloadedError,
            `OverloadedError, got ${error?.constructor?.name}: ${error?.message}`);
          assert.equal(error.status, 529);
          assert.equal(error.error?.error?.type, 'overloaded_error');
          return true;
        });
    });

  test('a reset mid-stream makes the stream iteration throw', { timeout: TEST_TIMEOUT_MS }, async () => {
    const prompt = uniquePrompt('a-reset', '[[mock:reset_after=3]]');
    const stream = await client().messages.create({
      model: MODEL,
      max_tokens: 64,
      stream: true,
      messages: userMessage(prompt.text),
    });
    const types = [];
    const { error } = await iterationError(stream, (event) => types.push(event.type));
    assert.ok(!types.includes('message_stop'), `no message_stop after a reset: ${types}`);
    assert.ok(error instanceof Error, `an Error, got ${error}`);
  });

  test('a reset mid-stream makes messages.stream().finalMessage() reject',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const prompt = uniquePrompt('a-reset-helper', '[[mock:reset_after=4]]');
      const stream = client().messages.stream({
        model: MODEL,
        max_tokens: 64,
        messages: userMessage(prompt.text),
      });
      await assert.rejects(stream.finalMessage(), Error);
    });

  test('a key sent as x-api-key (older SDKs, Claude Code) passes through as x-api-key',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const prompt = uniquePrompt('a-x-api-key');
      const message = await client({ apiKey: null, defaultHeaders: { 'x-api-key': CLIENT_KEY } })
        .messages.create({ model: MODEL, max_tokens: 64, messages: userMessage(prompt.text) });
      assert.equal(message.content[0].text, 'Hello from mock.');
      const entry = await journalEntryWith(prompt.marker);
      assert.equal(entry.headers['x-api-key'], CLIENT_KEY);
      assert.equal(entry.headers.authorization, undefined, 'no second credential is invented');
    });

  test('the client credential and anthropic-version reach the upstream',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      let sent;
      // Observes what the SDK put on the wire; the request itself goes out unchanged.
      const observingFetch = (url, init) => {
        sent = new Headers(init?.headers);
        return fetch(url, init);
      };
      const prompt = uniquePrompt('a-journal');
      await client({ fetch: observingFetch }).messages.create({
        model: MODEL,
        max_tokens: 64,
        messages: userMessage(prompt.text),
      });
      assert.equal(sent.get('authorization'), `Bearer ${CLIENT_KEY}`,
        'this SDK sends its key as a bearer token');
      const sentVersion = sent.get('anthropic-version');
      assert.match(sentVersion ?? '', /^\d{4}-\d{2}-\d{2}$/);

      const entry = await journalEntryWith(prompt.marker);
      assert.equal(entry.method, 'POST');
      assert.equal(entry.path.split('?')[0], '/v1/messages');
      const upstreamKey = entry.headers['x-api-key'] ??
        entry.headers.authorization?.replace(/^Bearer /, '');
      assert.equal(upstreamKey, CLIENT_KEY,
        'with no provider key configured, the client key passes through');
      assert.equal(entry.headers['anthropic-version'], sentVersion);
      assert.equal(JSON.parse(entry.body).model, MODEL);
    });
});
