-- profile okta-staging (changefeed.mode create)
-- WITH updated, resolved='1s', min_checkpoint_frequency='1s', initial_scan='no'
-- topics users, vehicles, rides, vehicle_location_histories, promo_codes, user_promo_codes
CREATE EXTERNAL CONNECTION cfbench_kafka_oauth AS 'kafka://127.0.0.1:29093?sasl_client_id=cfbench-producer&sasl_client_secret=redacted&sasl_enabled=true&sasl_mechanism=OAUTHBEARER&sasl_scopes=kafka&sasl_token_url=https%3A%2F%2Fdev-123456.okta.com%2Foauth2%2Fdefault%2Fv1%2Ftoken&tls_enabled=true';
CREATE CHANGEFEED FOR TABLE users, vehicles, rides, vehicle_location_histories, promo_codes, user_promo_codes INTO 'external://cfbench_kafka_oauth' WITH updated, resolved = '1s', min_checkpoint_frequency = '1s', initial_scan = 'no';
-- sink kafka://127.0.0.1:29093?sasl_client_id=cfbench-producer&sasl_client_secret=redacted&sasl_enabled=true&sasl_mechanism=OAUTHBEARER&sasl_scopes=kafka&sasl_token_url=https%3A%2F%2Fdev-123456.okta.com%2Foauth2%2Fdefault%2Fv1%2Ftoken&tls_enabled=true
