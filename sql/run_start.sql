-- Record a new attempt as running. Parameters: run_id, as_of, started_at, input_dir, pid, config.
insert into runs (run_id, as_of, started_at, status, input_dir, pid, config)
values ($run_id, $as_of, $started_at, 'running', $input_dir, $pid, $config);
