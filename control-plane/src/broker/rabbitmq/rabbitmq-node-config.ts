/** The plugins every node runs (deploy/ha/rabbitmq/enabled_plugins): MQTT, the management API the control plane asks, device auth through Flotilla. */
export const RABBITMQ_PLUGINS: readonly string[] = [
  'rabbitmq_mqtt',
  'rabbitmq_management',
  'rabbitmq_auth_backend_http',
  'rabbitmq_auth_backend_cache',
];

/**
 * rabbitmq.conf lines Flotilla ships for every RabbitMQ node (deploy/ha/rabbitmq/rabbitmq.conf holds
 * them verbatim, a unit test checks it; the test cluster and the benchmarks append them), for a
 * node that holds tens of thousands of mostly idle device connections, following RabbitMQ's
 * networking guide, "tuning for a large number of concurrent connections". Measured in
 * BENCHMARKS.md ("RabbitMQ memory per connection").
 */
export const RABBITMQ_NODE_TUNING: readonly string[] = [
  // A device exchanges a few small messages a minute: kernel socket buffers of 16 KiB and an
  // Erlang receive buffer of the same size (instead of the kernel's default ~128 KiB receive
  // window the runtime mirrors in user space) are enough. A desired state larger than the buffer
  // still arrives, in more reads.
  'mqtt.tcp_listen_options.sndbuf = 16384',
  'mqtt.tcp_listen_options.recbuf = 16384',
  'mqtt.tcp_listen_options.buffer = 4096',
  'mqtt.tcp_listen_options.nodelay = true',
  // Statistics for every connection, channel and session queue are what the management plugin
  // keeps in memory and recomputes on every emission: emitted every 30 s instead of 5 s, and
  // without message rates (the control plane asks the management API only for nodes and for a
  // user's connections; /metrics is its own).
  'collect_statistics_interval = 30000',
  'management.rates_mode = none',
  'background_gc_enabled = true',
  'background_gc_target_interval = 30000',
];
