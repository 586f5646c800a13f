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
  // The Erlang processes behind each MQTT connection (reader, its AMQP channel, the session
  // queue) keep the heap they grew while connecting; most of RabbitMQ 3.10's ~290 KiB per
  // connection is there. Collecting every process in the background every 30 s gives some of it
  // back (~15 % of RSS measured), at a few percent of one core for 10,000 connections.
  'background_gc_enabled = true',
  'background_gc_target_interval = 30000',
  // A device sends a few small messages a minute: socket buffers of 16 KiB (the kernel's default
  // receive window grows to 128 KiB and more per socket under a burst) bound the kernel's memory
  // per connection. They did not change the node's RSS measurably when idle.
  'mqtt.tcp_listen_options.sndbuf = 16384',
  'mqtt.tcp_listen_options.recbuf = 16384',
  'mqtt.tcp_listen_options.buffer = 16384',
  'mqtt.tcp_listen_options.nodelay = true',
  // The management plugin keeps statistics for every connection, channel and session queue and
  // recomputes them on every emission: every 30 s instead of 5 s, and no message rates (the
  // control plane asks the management API only for nodes and for a user's connections).
  'collect_statistics_interval = 30000',
  'management.rates_mode = none',
];
