package profiles

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// redacted is what a Secret prints as, whatever the verb.
const redacted = "redacted"

// Secret holds a client secret or password read from a file or an environment variable. Every
// way of printing or encoding it (String, GoString, Format, MarshalJSON, MarshalYAML, MarshalText,
// LogValue) yields "redacted"; only Reveal returns the value. The zero Secret is empty.
type Secret struct {
	value  string
	source string // "file /path" or "environment variable NAME": safe to show
}

// NewSecret returns a Secret holding value; source says where it came from (shown in errors,
// e.g. "environment variable X"), never the value itself.
func NewSecret(value, source string) Secret { return Secret{value: value, source: source} }

// secretFromFile reads path and trims surrounding white space. The error names the file, never
// its content.
func secretFromFile(path string) (Secret, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Secret{}, fmt.Errorf("reading secret file: %w", err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return Secret{}, fmt.Errorf("secret file %s is empty", path)
	}
	return Secret{value: v, source: "file " + path}, nil
}

// secretFromEnv reads the environment variable name with getenv, trimmed.
func secretFromEnv(name string, getenv func(string) string) (Secret, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return Secret{}, fmt.Errorf("environment variable %s is not set or empty (export it with the secret, or use a *_file key)", name)
	}
	return Secret{value: v, source: "environment variable " + name}, nil
}

// Reveal returns the secret's value, for the code that must send it (token requests, the sink
// URI). Never log or print it.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.value == "" }

// Source says where the secret was read from ("file /path", "environment variable NAME").
func (s Secret) Source() string { return s.source }

// String returns "redacted".
func (s Secret) String() string { return redacted }

// GoString returns "redacted", so %#v does not show the value either.
func (s Secret) GoString() string { return redacted }

// Format prints "redacted" for every verb, %+v and %#v included.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalJSON encodes the secret as the JSON string "redacted".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText returns "redacted" (used by encoding/xml, map keys, some loggers).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// MarshalYAML encodes the secret as "redacted".
func (s Secret) MarshalYAML() (any, error) { return redacted, nil }

// LogValue makes log/slog print "redacted".
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }
