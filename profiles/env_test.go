package profiles

import "path/filepath"

// Secrets of the fake environment, searched for in every rendering of a profile.
var testSecrets = []string{
	"consumer-S3CRET-from-file", "producer-S3CRET-from-file", // testdata/secrets/*
	"consumer-S3CRET-from-env", "producer-S3CRET-from-env",
	"PG-PASSW0RD",
}

// fakeEnv is what `deploy/local/stack env` exports plus okta-staging's variables, with secret
// files under testdata/secrets.
func fakeEnv() map[string]string {
	return map[string]string{
		"CFBENCH_PG_URL":                      "postgres://cfbench@127.0.0.1:25432/cfbench?sslmode=disable",
		"CFBENCH_KAFKA_BROKERS":               "127.0.0.1:29093",
		"CFBENCH_TOKEN_URL":                   "http://127.0.0.1:24444/oauth2/token",
		"CFBENCH_TOKEN_AUDIENCE":              "cfbench-kafka",
		"CFBENCH_CLIENT_ID":                   "cfbench-consumer",
		"CFBENCH_CLIENT_SECRET_FILE":          filepath.Join("testdata", "secrets", "consumer-client-secret"),
		"CFBENCH_PRODUCER_CLIENT_ID":          "cfbench-producer",
		"CFBENCH_PRODUCER_CLIENT_SECRET_FILE": filepath.Join("testdata", "secrets", "producer-client-secret"),
		"CFBENCH_CRDB_URL":                    "postgres://cfbench@crdb.staging.example:26257/movr?sslmode=verify-full",
		"CFBENCH_OKTA_DOMAIN":                 "dev-123456.okta.com",
		"CFBENCH_CLIENT_SECRET":               "consumer-S3CRET-from-env",
		"CFBENCH_PRODUCER_CLIENT_SECRET":      "producer-S3CRET-from-env",
		"CFBENCH_TLS_KAFKA_BROKERS":           "127.0.0.1:29096",
		"CFBENCH_TLS_TOKEN_URL":               "https://127.0.0.1:24446/oauth2/token",
		"CFBENCH_TLS_CA_FILE":                 filepath.Join("testdata", "tls", "ca.pem"),
	}
}

func getenvFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

var testGetenv = getenvFrom(fakeEnv())
