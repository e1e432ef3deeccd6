"""Running replication: planning executions, dispatching their tasks to workers, leases, retries."""
