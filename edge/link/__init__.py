"""The gate's link to central: durable outbox, MQTT client, command intake, heartbeat."""
