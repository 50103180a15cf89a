package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cfbench/cfbench/oauth"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// stack is the local stack's coordinates, from the variables `deploy/local/stack env` exports.
type stack struct {
	brokers, adminBrokers  string
	tokenURL, clientID     string
	secretFile, audience   string
	scope, pgURL, stateDir string
}

func stackEnv() (stack, error) {
	s := stack{
		brokers: os.Getenv("CFBENCH_KAFKA_BROKERS"), adminBrokers: os.Getenv("CFBENCH_KAFKA_ADMIN_BROKERS"),
		tokenURL: os.Getenv("CFBENCH_TOKEN_URL"), clientID: os.Getenv("CFBENCH_CLIENT_ID"),
		secretFile: os.Getenv("CFBENCH_CLIENT_SECRET_FILE"), audience: os.Getenv("CFBENCH_TOKEN_AUDIENCE"),
		scope: os.Getenv("CFBENCH_TOKEN_SCOPE"), pgURL: os.Getenv("CFBENCH_PG_URL"), stateDir: os.Getenv("CFBENCH_STATE_DIR"),
	}
	for name, v := range map[string]string{"CFBENCH_KAFKA_BROKERS": s.brokers, "CFBENCH_KAFKA_ADMIN_BROKERS": s.adminBrokers,
		"CFBENCH_TOKEN_URL": s.tokenURL, "CFBENCH_CLIENT_ID": s.clientID, "CFBENCH_CLIENT_SECRET_FILE": s.secretFile,
		"CFBENCH_PG_URL": s.pgURL, "CFBENCH_STATE_DIR": s.stateDir} {
		if v == "" {
			return s, fmt.Errorf("%s is empty: eval \"$(deploy/local/stack env)\" first", name)
		}
	}
	return s, nil
}

// kafkaLibs is the Java class path of the stack's Kafka jars.
func (s stack) kafkaLibs() string { return filepath.Join(s.stateDir, "kafka-4.1.1", "libs", "*") }

// tokenSource returns an instrumented OAuth source for the consumer client.
func (s stack) tokenSource() (*oauth.Source, error) {
	b, err := os.ReadFile(s.secretFile)
	if err != nil {
		return nil, fmt.Errorf("reading CFBENCH_CLIENT_SECRET_FILE: %w", err)
	}
	var scopes []string
	if s.scope != "" {
		scopes = []string{s.scope}
	}
	return oauth.New(oauth.Config{TokenURL: s.tokenURL, ClientID: s.clientID, ClientSecret: strings.TrimSpace(string(b)),
		Scopes: scopes, Audience: s.audience})
}

func librdkafkaVersion() string {
	_, v := kafka.LibraryVersion()
	return v
}
