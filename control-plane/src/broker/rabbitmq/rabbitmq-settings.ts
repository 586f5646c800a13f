/** The external broker mode (FLOTILLA_BROKER=rabbitmq): a RabbitMQ cluster shared by every control-plane replica. */
export interface RabbitMqSettings {
  /** One AMQP URL per node (user and password of the control plane's own RabbitMQ user); reconnects go round them. */
  amqpUrls: string[];
  /** The management API of each node (same user, tagged administrator): cluster status and closing device connections. */
  managementUrls: string[];
  /** Where devices connect (a load balancer over the nodes' MQTT listeners), as provisioning hands it out. */
  deviceMqttUrl: string;
  /** The private listener RabbitMQ's HTTP auth backend calls (never exposed to devices or operators). */
  authListener: { host: string; port: number };
  /** The vhost devices use (the MQTT plugin's `mqtt.vhost`). */
  vhost: string;
  /** Unacknowledged uplink messages per replica at once. */
  prefetch: number;
}

export const RABBITMQ_SETTINGS = Symbol('RabbitMqSettings');

/** The quorum queue every replica consumes device uplink from (competing consumers). */
export const UPLINK_QUEUE = 'flotilla.uplink';
