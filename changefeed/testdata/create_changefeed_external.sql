CREATE CHANGEFEED FOR TABLE movr.public.vehicles, movr.public.rides INTO 'external://cfbench_kafka' WITH updated, resolved = '10s', min_checkpoint_frequency = '10s', initial_scan = 'no';
