package changefeed

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
)

// Statement is a SQL statement in two forms: SQL, to execute (it may contain secrets), and
// Display, with every sink URI redacted, for logs, errors, dry runs and golden files. String,
// fmt verbs and slog all show Display.
type Statement struct {
	SQL     string
	Display string
}

// String returns the display form.
func (s Statement) String() string { return s.Display }

// Format implements fmt.Formatter with the display form for every verb.
func (s Statement) Format(f fmt.State, verb rune) { _, _ = fmt.Fprint(f, s.Display) }

// LogValue implements slog.LogValuer with the display form.
func (s Statement) LogValue() slog.Value { return slog.StringValue(s.Display) }

// QuoteString returns s as a SQL string literal: in single quotes, each quote doubled. With
// standard_conforming_strings (always on in CockroachDB, the default in PostgreSQL) backslashes
// are literal, so nothing else needs escaping.
func QuoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

var bareIdent = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// reservedWords are the SQL reserved keywords that cannot be bare identifiers (CockroachDB's
// reserved_keyword list, the subset a table or connection name plausibly collides with).
var reservedWords = map[string]bool{
	"all": true, "analyse": true, "analyze": true, "and": true, "any": true, "array": true, "as": true,
	"asc": true, "asymmetric": true, "both": true, "case": true, "cast": true, "check": true,
	"collate": true, "column": true, "concurrently": true, "constraint": true, "create": true,
	"current_catalog": true, "current_date": true, "current_role": true, "current_schema": true,
	"current_time": true, "current_timestamp": true, "current_user": true, "default": true,
	"deferrable": true, "desc": true, "distinct": true, "do": true, "else": true, "end": true,
	"except": true, "false": true, "fetch": true, "for": true, "foreign": true, "from": true,
	"grant": true, "group": true, "having": true, "in": true, "index": true, "initially": true,
	"intersect": true, "into": true, "lateral": true, "leading": true, "limit": true,
	"localtime": true, "localtimestamp": true, "not": true, "nothing": true, "null": true,
	"offset": true, "on": true, "only": true, "or": true, "order": true, "placing": true,
	"primary": true, "references": true, "returning": true, "select": true, "session_user": true,
	"some": true, "symmetric": true, "table": true, "then": true, "to": true, "trailing": true,
	"true": true, "union": true, "unique": true, "user": true, "using": true, "variadic": true,
	"when": true, "where": true, "window": true, "with": true,
}

// QuoteIdent returns name as a SQL identifier: bare when it is lower-case letters, digits and
// underscores and not a reserved word, otherwise in double quotes with each quote doubled.
func QuoteIdent(name string) string {
	if bareIdent.MatchString(name) && !reservedWords[name] {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// quoteTableName quotes each dot-separated part of a possibly qualified table name
// ("movr.public.vehicles").
func quoteTableName(name string) (string, error) {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		if p == "" {
			return "", fmt.Errorf("table name %q has an empty part", name)
		}
		parts[i] = QuoteIdent(p)
	}
	return strings.Join(parts, "."), nil
}

// CreateExternalConnection renders CREATE EXTERNAL CONNECTION name AS 'uri'. CockroachDB validates
// the URI when the statement runs; a changefeed then uses it as SinkURI{Scheme: SchemeExternal,
// ExternalConnection: name} (external://name).
func CreateExternalConnection(name string, sink SinkURI) (Statement, error) {
	if name == "" {
		return Statement{}, errors.New("external connection name is empty")
	}
	if sink.Scheme == SchemeExternal {
		return Statement{}, errors.New("an external connection cannot point at another external connection")
	}
	if err := sink.Validate(); err != nil {
		return Statement{}, fmt.Errorf("external connection %s: %w", name, err)
	}
	head := "CREATE EXTERNAL CONNECTION " + QuoteIdent(name) + " AS "
	return Statement{SQL: head + QuoteString(sink.String()), Display: head + QuoteString(sink.Redacted())}, nil
}

// DropExternalConnection renders DROP EXTERNAL CONNECTION name.
func DropExternalConnection(name string) Statement {
	s := "DROP EXTERNAL CONNECTION " + QuoteIdent(name)
	return Statement{SQL: s, Display: s}
}

// CreateChangefeed renders CREATE CHANGEFEED FOR TABLE t1, t2 INTO 'uri' [WITH options]. Table
// names may be qualified (db.schema.table); each part is quoted as needed.
func CreateChangefeed(tables []string, sink SinkURI, opts Options) (Statement, error) {
	if len(tables) == 0 {
		return Statement{}, errors.New("CREATE CHANGEFEED needs at least one table")
	}
	quoted := make([]string, len(tables))
	for i, t := range tables {
		q, err := quoteTableName(t)
		if err != nil {
			return Statement{}, err
		}
		quoted[i] = q
	}
	if err := sink.Validate(); err != nil {
		return Statement{}, fmt.Errorf("changefeed sink: %w", err)
	}
	if err := opts.Validate(); err != nil {
		return Statement{}, fmt.Errorf("changefeed options: %w", err)
	}
	head := "CREATE CHANGEFEED FOR TABLE " + strings.Join(quoted, ", ") + " INTO "
	tail := ""
	if w := opts.SQL(); w != "" {
		tail = " WITH " + w
	}
	return Statement{
		SQL:     head + QuoteString(sink.String()) + tail,
		Display: head + QuoteString(sink.Redacted()) + tail,
	}, nil
}

// CancelJob renders CANCEL JOB id.
func CancelJob(jobID int64) Statement {
	s := fmt.Sprintf("CANCEL JOB %d", jobID)
	return Statement{SQL: s, Display: s}
}

// showChangefeedJob renders the query behind JobInfo: one row of SHOW CHANGEFEED JOB with every
// column cast to STRING so that it scans the same way whatever the CockroachDB version's types.
func showChangefeedJob(jobID int64) Statement {
	s := fmt.Sprintf(`SELECT job_id, status, coalesce(running_status, ''), coalesce(high_water_timestamp::STRING, ''), `+
		`coalesce(error, ''), coalesce(sink_uri, ''), coalesce(topics, ''), `+
		`coalesce(array_to_string(full_table_names, ','), ''), coalesce(description, '') `+
		`FROM [SHOW CHANGEFEED JOB %d]`, jobID)
	return Statement{SQL: s, Display: s}
}
