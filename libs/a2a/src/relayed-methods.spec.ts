import { pointCardAt } from './a2a-gateway.service';
import { isRelayedMethod, isStreamingMethod, RELAYED_METHODS } from './relayed-methods';

describe('relayed methods', () => {
  it('relays sending, task reads and cancels in both protocol versions', () => {
    for (const method of [
      'SendMessage',
      'SendStreamingMessage',
      'GetTask',
      'CancelTask',
      'message/send',
      'message/stream',
      'tasks/get',
      'tasks/cancel',
    ]) {
      expect(isRelayedMethod(method)).toBe(true);
    }
  });

  it('does not relay push-notification settings, unknown names or non-strings', () => {
    for (const method of [
      'CreateTaskPushNotificationConfig',
      'tasks/pushNotificationConfig/set',
      'constructor',
      '__proto__',
      'sendmessage',
      42,
      undefined,
    ]) {
      expect(isRelayedMethod(method)).toBe(false);
    }
  });

  it('knows which methods answer with a stream', () => {
    expect(RELAYED_METHODS.filter(isStreamingMethod).sort()).toEqual([
      'SendStreamingMessage',
      'SubscribeToTask',
      'message/stream',
      'tasks/resubscribe',
    ]);
  });
});

describe('pointCardAt', () => {
  const proxy = 'https://registry.example.com/registry/a2a/w-1';

  it('points every interface of a v1.0 card at the proxy, and leaves the rest alone', () => {
    const card = {
      name: 'agent',
      supportedInterfaces: [
        {
          url: 'http://10.0.0.7:8000/a2a/jsonrpc',
          protocolBinding: 'JSONRPC',
          protocolVersion: '1.0',
        },
        {
          url: 'http://10.0.0.7:8000/a2a/jsonrpc',
          protocolBinding: 'JSONRPC',
          protocolVersion: '0.3',
        },
      ],
      skills: [{ id: 'echo' }],
    };
    expect(pointCardAt(card, proxy)).toEqual({
      name: 'agent',
      supportedInterfaces: [
        { url: proxy, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
        { url: proxy, protocolBinding: 'JSONRPC', protocolVersion: '0.3' },
      ],
      skills: [{ id: 'echo' }],
    });
    expect(card.supportedInterfaces[0].url).toBe('http://10.0.0.7:8000/a2a/jsonrpc');
  });

  it('points a v0.3 card’s url and additional interfaces at the proxy', () => {
    expect(
      pointCardAt(
        {
          url: 'http://10.0.0.7/a2a',
          additionalInterfaces: [{ url: 'http://10.0.0.7/x', transport: 'JSONRPC' }],
        },
        proxy,
      ),
    ).toEqual({ url: proxy, additionalInterfaces: [{ url: proxy, transport: 'JSONRPC' }] });
  });

  it('passes anything that is not a card object through', () => {
    expect(pointCardAt(null, proxy)).toBeNull();
    expect(pointCardAt([1], proxy)).toEqual([1]);
    expect(pointCardAt('card', proxy)).toBe('card');
  });
});
