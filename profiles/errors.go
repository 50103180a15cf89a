package profiles

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error is one problem with a profile, located in the file the user named. Load and Validate
// return one *Error, or several joined with errors.Join (one per line); use errors.As to get
// at them.
type Error struct {
	File string // the profile as the user named it, or "embedded:<name>.yaml"; "" when unknown
	Line int    // 1-based; 0 when unknown (e.g. a profile built in code)
	Path string // dotted key path, e.g. "workload.rate"; "" when Msg names the place itself
	Msg  string // what is wrong, what is allowed and what to do
}

// Error formats e as
//
//	parsing --profile staging.yaml:12: workload.rate: want a number of ops/s, got "fast"
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("parsing --profile ")
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	default:
		b.WriteString("(built in code): ")
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// maxErrors is how many problems one error reports.
const maxErrors = 20

// joinErrors returns nil, the only error, or errors.Join of the first maxErrors of errs.
func joinErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	// In file order: the way a user fixes them. Errors without a place keep theirs, last.
	sort.SliceStable(errs, func(i, j int) bool {
		a, aok := errs[i].(*Error)
		b, bok := errs[j].(*Error)
		if aok != bok {
			return aok
		}
		if !aok || a.File != b.File {
			return false
		}
		return a.Line < b.Line
	})
	if len(errs) > maxErrors {
		more := len(errs) - maxErrors
		errs = append(errs[:maxErrors:maxErrors], fmt.Errorf("(%d more problems not shown)", more))
	}
	return errors.Join(errs...)
}

// expand replaces ${NAME} with getenv(NAME) and ${NAME:-default} with the default when NAME is
// unset or empty; "$$" is a literal "$". An unset variable without a default is an error
// naming it.
func expand(s string, getenv func(string) string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' {
			b.WriteByte(c)
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		if i+1 >= len(s) || s[i+1] != '{' {
			b.WriteByte('$')
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated ${ in %q: write ${NAME} (or $$ for a literal $)", s)
		}
		expr := s[i+2 : i+end]
		name, def, hasDef := strings.Cut(expr, ":-")
		if !validEnvName(name) {
			return "", fmt.Errorf("bad environment variable reference ${%s}: want ${NAME} or ${NAME:-default}, NAME made of letters, digits and _", expr)
		}
		v := getenv(name)
		if v == "" {
			if !hasDef {
				return "", &unsetError{name: name}
			}
			v = def
		}
		b.WriteString(v)
		i += end
	}
	return b.String(), nil
}

// unsetError is an unset environment variable without a default.
type unsetError struct{ name string }

func (e *unsetError) Error() string {
	return fmt.Sprintf("environment variable %s is not set; export it or write ${%s:-default}", e.name, e.name)
}

// unsetMessage words an unset-variable error: in full the first time the load meets a variable,
// with the local stack's hint the first time one of its variables is missing; short afterwards.
func unsetMessage(err error, seen map[string]bool) string {
	var ue *unsetError
	if !errors.As(err, &ue) || seen == nil {
		return err.Error()
	}
	if seen[ue.name] {
		return "environment variable " + ue.name + " is not set"
	}
	seen[ue.name] = true
	msg := ue.Error()
	if stackVars[ue.name] && !seen["\x00hinted"] {
		seen["\x00hinted"] = true
		msg += ` (the local stack exports it: eval "$(deploy/local/stack env)")`
	}
	return msg
}

// stackVars are the variables `deploy/local/stack env` exports.
var stackVars = map[string]bool{
	"CFBENCH_PG_URL": true, "CFBENCH_KAFKA_BROKERS": true, "CFBENCH_KAFKA_ADMIN_BROKERS": true,
	"CFBENCH_TOKEN_URL": true, "CFBENCH_TOKEN_AUDIENCE": true, "CFBENCH_TOKEN_SCOPE": true,
	"CFBENCH_CLIENT_ID": true, "CFBENCH_CLIENT_SECRET_FILE": true, "CFBENCH_PRODUCER_CLIENT_ID": true,
	"CFBENCH_PRODUCER_CLIENT_SECRET_FILE": true, "CFBENCH_HYDRA_ADMIN_URL": true, "CFBENCH_STATE_DIR": true,
	"CFBENCH_TLS_KAFKA_BROKERS": true, "CFBENCH_TLS_KAFKA_ADMIN_BROKERS": true, "CFBENCH_TLS_TOKEN_URL": true,
	"CFBENCH_TLS_HYDRA_ISSUER": true, "CFBENCH_TLS_CA_FILE": true,
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
