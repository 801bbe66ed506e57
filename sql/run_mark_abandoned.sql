-- Runs left 'running' by a process that died (the caller holds the run lock, so no other run is
-- alive) are recorded as failed.
update runs
set status = 'failed',
    finished_at = coalesce(finished_at, $now),
    error = coalesce(error, 'abandoned: the process ended before the run finished')
where status = 'running';
