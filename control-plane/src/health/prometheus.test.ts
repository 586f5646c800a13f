import { renderPrometheus } from './prometheus';

describe('renderPrometheus', () => {
  it('writes HELP, TYPE and samples with escaped labels', () => {
    expect(
      renderPrometheus([
        { name: 'flotilla_devices_online', help: 'Devices connected now', type: 'gauge', samples: [{ value: 3 }] },
        {
          name: 'flotilla_http_requests_total',
          help: 'HTTP requests',
          type: 'counter',
          samples: [{ labels: { method: 'GET', route: '/a"b', status: '200' }, value: 2 }],
        },
      ]),
    ).toBe(
      [
        '# HELP flotilla_devices_online Devices connected now',
        '# TYPE flotilla_devices_online gauge',
        'flotilla_devices_online 3',
        '# HELP flotilla_http_requests_total HTTP requests',
        '# TYPE flotilla_http_requests_total counter',
        'flotilla_http_requests_total{method="GET",route="/a\\"b",status="200"} 2',
        '',
      ].join('\n'),
    );
  });
});
