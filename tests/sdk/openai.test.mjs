// The official OpenAI Node SDK, unchanged, talking to a real tollgated in front of the mock.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import OpenAI from 'openai';

import {
  MOCK_TOOL_INPUT,
  TOLLGATE_URL,
  assertCostHeader,
  iterationError,
  journalEntryWith,
  uniquePrompt,
} from './support.mjs';

const CLIENT_KEY = 'sk-openai-client-test';
const MODEL = 'gpt-4o';
const TEST_TIMEOUT_MS = 20_000;

function client(options = {}) {
  return new OpenAI({
    baseURL: `${TOLLGATE_URL}/v1`,
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
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The current weather in a city.',
    parameters: {
      type: 'object',
      properties: { location: { type: 'string' } },
      required: ['location'],
    },
  },
};

describe('OpenAI SDK through tollgated', { timeout: 60_000 }, () => {
  test('chat.completions.create returns the text and the usage the upstream reported',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const prompt = uniquePrompt('o-create', '[[mock:in=21,out=9]]');
      const { data: completion, response } = await client().chat.completions
        .create({ model: MODEL, messages: userMessage(prompt.text) })
        .withResponse();
      assert.equal(completion.object, 'chat.completion');
      assert.equal(completion.choices.length, 1);
      assert.equal(completion.choices[0].message.role, 'assistant');
      assert.equal(completion.choices[0].message.content, 'Hello from mock.');
      assert.equal(completion.choices[0].finish_reason, 'stop');
      assert.deepEqual(
        {
          prompt: completion.usage.prompt_tokens,
          completion: completion.usage.completion_tokens,
          total: completion.usage.total_tokens,
        },
        { prompt: 21, completion: 9, total: 30 });

      assert.ok(response.headers.get('x-tollgate-request-id'), 'x-tollgate-request-id is present');
      const servedModel = response.headers.get('x-tollgate-model');
      assert.equal(completion.model, servedModel, 'x-tollgate-model names the model that answered');
      assertCostHeader(response.headers.get('x-tollgate-cost-usd'), servedModel, 21, 9);
    });

  test('streaming without include_usage: text deltas and no usage chunk',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const prompt = uniquePrompt('o-stream', '[[mock:in=13,out=5]]');
      const { data: stream, response } = await client().chat.completions
        .create({ model: MODEL, stream: true, messages: userMessage(prompt.text) })
        .withResponse();
      assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
      assert.ok(response.headers.get('x-tollgate-request-id'), 'streams get a request id too');
      let text = '';
      let finishReason;
      let chunks = 0;
      for await (const chunk of stream) {
        chunks += 1;
        assert.equal(chunk.object, 'chat.completion.chunk');
        assert.ok(chunk.choices.length > 0,
          `no chunk with empty choices unless the client asked for usage: ${JSON.stringify(chunk)}`);
        assert.ok(chunk.usage === undefined || chunk.usage === null,
          `no usage unless the client asked for it: ${JSON.stringify(chunk)}`);
        text += chunk.choices[0].delta.content ?? '';
        finishReason = chunk.choices[0].finish_reason ?? finishReason;
      }
      assert.equal(chunks, 5, 'role chunk, three pieces, finish chunk');
      assert.equal(text, 'Hello from mock.');
      assert.equal(finishReason, 'stop');
    });

  test('streaming with include_usage: the final chunk carries the usage',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const prompt = uniquePrompt('o-stream-usage', '[[mock:in=13,out=5]]');
      const stream = await client().chat.completions.create({
        model: MODEL,
        stream: true,
        stream_options: { include_usage: true },
        messages: userMessage(prompt.text),
      });
      const chunks = [];
      for await (const chunk of stream)
        chunks.push(chunk);
      assert.ok(chunks.length >= 2);
      const last = chunks.at(-1);
      assert.deepEqual(last.choices, [], 'the usage chunk has empty choices');
      assert.equal(last.usage?.prompt_tokens, 13);
      assert.equal(last.usage?.completion_tokens, 5);
      assert.equal(last.usage?.total_tokens, 18);
      for (const chunk of chunks.slice(0, -1)) {
        assert.ok(chunk.choices.length > 0, 'only the last chunk has empty choices');
        assert.equal(chunk.usage ?? null, null, 'only the last chunk carries usage');
      }
      const text = chunks.slice(0, -1).map((chunk) => chunk.choices[0].delta.content ?? '').join('');
      assert.equal(text, 'Hello from mock.');
    });

  test('tool calls: the answer names the function with JSON arguments',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const prompt = uniquePrompt('o-tool', '[[mock:tool]]');
      const completion = await client().chat.completions.create({
        model: MODEL,
        tools: [weatherTool],
        messages: userMessage(prompt.text),
      });
      const choice = completion.choices[0];
      assert.equal(choice.finish_reason, 'tool_calls');
      assert.equal(choice.message.tool_calls?.length, 1);
      const call = choice.message.tool_calls[0];
      assert.equal(call.type, 'function');
      assert.equal(call.function.name, 'get_weather');
      assert.deepEqual(JSON.parse(call.function.arguments), MOCK_TOOL_INPUT);
    });

  test('tool calls streamed: chat.completions.stream assembles the arguments',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      const prompt = uniquePrompt('o-tool-stream', '[[mock:tool,events=4]]');
      const stream = client().chat.completions.stream({
        model: MODEL,
        tools: [weatherTool],
        messages: userMessage(prompt.text),
      });
      const completion = await stream.finalChatCompletion();
      const choice = completion.choices[0];
      assert.equal(choice.finish_reason, 'tool_calls');
      const call = choice.message.tool_calls?.[0];
      assert.ok(call, 'a tool call');
      assert.equal(call.function.name, 'get_weather');
      assert.deepEqual(JSON.parse(call.function.arguments), MOCK_TOOL_INPUT);
    });

  test('models.list returns the upstream models', { timeout: TEST_TIMEOUT_MS }, async () => {
    const ids = [];
    for await (const model of client().models.list())
      ids.push(model.id);
    assert.deepEqual(ids, ['gpt-4o', 'gpt-4o-mini']);
  });

  test('an upstream 429 throws RateLimitError', { timeout: TEST_TIMEOUT_MS }, async () => {
    const prompt = uniquePrompt('o-429', '[[mock:error=429]]');
    await assert.rejects(
      client().chat.completions.create({ model: MODEL, messages: userMessage(prompt.text) }),
      (error) => {
        assert.ok(error instanceof OpenAI.RateLimitError,
          `RateLimitError, got ${error?.constructor?.name}: ${error?.message}`);
        assert.equal(error.status, 429);
        assert.equal(typeof error.error?.message, 'string', 'the body is in the OpenAI error shape');
        assert.equal(error.code, 'rate_limit_exceeded');
        assert.equal(error.headers?.get('retry-after'), '7', 'the provider pacing reaches the SDK');
        return true;
      });
  });

  test('a reset mid-stream makes the stream iteration throw', { timeout: TEST_TIMEOUT_MS }, async () => {
    const prompt = uniquePrompt('o-reset', '[[mock:reset_after=3]]');
    const stream = await client().chat.completions.create({
      model: MODEL,
      stream: true,
      messages: userMessage(prompt.text),
    });
    const finishReasons = [];
    const { error } = await iterationError(stream, (chunk) => {
      if (chunk.choices[0]?.finish_reason)
        finishReasons.push(chunk.choices[0].finish_reason);
    });
    assert.deepEqual(finishReasons, [], 'no finish_reason after a reset');
    assert.ok(error instanceof Error, `an Error, got ${error}`);
  });

  test('the client credential reaches the upstream', { timeout: TEST_TIMEOUT_MS }, async () => {
    const prompt = uniquePrompt('o-journal');
    await client().chat.completions.create({ model: MODEL, messages: userMessage(prompt.text) });
    const entry = await journalEntryWith(prompt.marker);
    assert.equal(entry.method, 'POST');
    assert.equal(entry.path.split('?')[0], '/v1/chat/completions');
    assert.equal(entry.headers.authorization, `Bearer ${CLIENT_KEY}`,
      'with no provider key configured, the client key passes through');
    assert.equal(entry.headers['x-api-key'], undefined);
    assert.equal(JSON.parse(entry.body).model, MODEL);
  });
});
