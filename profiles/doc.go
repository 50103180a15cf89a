// Package profiles defines cfbench's profile: one YAML file declaring the database, the IdP, Kafka,
// the changefeed and the workload of a benchmark run, and an optional matrix of variants.
//
// Load reads a profile by name (an embedded example, see Examples) or path. It expands ${VAR}
// and ${VAR:-default} from the environment, applies extends (inherit another profile, then
// override), decodes strictly (an unknown key or a value of the wrong type is an error naming the
// file, line, key path and what is allowed), applies defaults, reads secrets from files or
// environment variables into Secret values that never print, and validates the rules that span
// fields, including every matrix variant. A bad profile is rejected before anything starts:
//
//	parsing --profile staging.yaml:12: workload.rate: want a number of ops/s, got "fast"
//	parsing --profile staging.yaml:7: unknown key 'brokerz' in kafka (allowed: brokers, security_protocol, …); did you mean 'brokers'?
//
// A minimal profile for the local stack (deploy/local; eval "$(deploy/local/stack env)"):
//
//	extends: local
//	workload:
//	  rate: 500
//	  duration: 30s
//	matrix:
//	  changefeed.kafka_sink_config.Flush.Frequency: [0s, 50ms, 500ms]
//
// Redacted gives the effective profile for a result file's run.config; Variants and Interleave
// give the runs of cfbench run --matrix.
//
// The package reads files only; it never talks to a network.
package profiles
