"""The event spine: the CloudEvents envelope, its Kafka codec and the versioned catalogue."""
