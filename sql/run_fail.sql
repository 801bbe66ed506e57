update runs
set status = 'failed', finished_at = $finished_at, error = $error
where run_id = $run_id;
