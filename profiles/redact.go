package profiles

import (
	"bytes"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// Redacted returns the effective profile as a JSON-ready tree (maps, lists, strings, numbers,
// bools) keyed like the profile file, for the result file's run.config: durations as strings
// ("500ms"), secrets left out (only the files and variable names they come from appear), and a
// password in the database URL, if any, replaced by "redacted".
func (p *Profile) Redacted() map[string]any {
	var m map[string]any
	if err := p.redactedNode().Decode(&m); err != nil {
		panic(fmt.Sprintf("profiles: decoding the redacted profile: %v", err)) // built from plain values
	}
	return m
}

// RedactedYAML returns the effective profile as YAML, keys in the schema's order, redacted as
// Redacted; what `cfbench profiles show` prints.
func (p *Profile) RedactedYAML() ([]byte, error) {
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{p.redactedNode()}}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encoding profile %s: %w", p.Name, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding profile %s: %w", p.Name, err)
	}
	return buf.Bytes(), nil
}

func (p *Profile) redactedNode() *yaml.Node {
	c := p.Clone()
	c.Database.URL = redactURL(c.Database.URL)
	return encode(reflect.ValueOf(c).Elem())
}

// redactURL replaces a password in a URL (user info or password= parameter) with "redacted".
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if s == "" {
			return ""
		}
		return redacted // unparsable: it could hold anything
	}
	changed := false
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), redacted)
		changed = true
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", redacted)
		u.RawQuery = q.Encode()
		changed = true
	}
	if !changed {
		return s
	}
	return u.String()
}

func scalarNode(tag, value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}

// encode renders v as a YAML node: structs in field order, maps sorted by key, lists in flow
// style, durations as duration strings. Fields tagged yaml:"-" (secrets) are left out, and so
// are an empty extends and an empty matrix.
func encode(v reflect.Value) *yaml.Node {
	t := v.Type()
	switch {
	case t == durationType:
		return scalarNode("!!str", time.Duration(v.Int()).String())
	case t == matrixType:
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, ax := range v.Interface().(Matrix) {
			seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
			for _, s := range ax.Values {
				seq.Content = append(seq.Content, scalarNode("!!str", s))
			}
			if len(ax.nodes) == len(ax.Values) {
				seq.Content = nil
				for _, n := range ax.nodes {
					c := *n
					c.Line, c.Column = 0, 0
					c.HeadComment, c.LineComment, c.FootComment = "", "", ""
					seq.Content = append(seq.Content, &c)
				}
			}
			m.Content = append(m.Content, scalarNode("!!str", ax.Path), seq)
		}
		return m
	}
	switch t.Kind() {
	case reflect.Struct:
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for i := range t.NumField() {
			k := yamlKey(t.Field(i))
			if k == "" {
				continue
			}
			f := v.Field(i)
			if (k == "extends" && f.String() == "") || (k == "matrix" && f.Len() == 0) {
				continue
			}
			m.Content = append(m.Content, scalarNode("!!str", k), encode(f))
		}
		return m
	case reflect.String:
		return scalarNode("!!str", v.String())
	case reflect.Bool:
		return scalarNode("!!bool", strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int64:
		return scalarNode("!!int", strconv.FormatInt(v.Int(), 10))
	case reflect.Float64:
		return encodeFloat(v.Float())
	case reflect.Slice:
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
		for i := range v.Len() {
			seq.Content = append(seq.Content, encode(v.Index(i)))
		}
		return seq
	case reflect.Map:
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		for _, k := range keys {
			m.Content = append(m.Content, scalarNode("!!str", k), encodeAny(v.MapIndex(reflect.ValueOf(k)).Interface()))
		}
		return m
	}
	panic(fmt.Sprintf("profiles: cannot encode %s", t)) // programmer error: a new field type
}

// encodeFloat leaves the tag to the emitter, so a whole rate prints as 200 rather than
// "!!float 200".
func encodeFloat(f float64) *yaml.Node {
	return scalarNode("", strconv.FormatFloat(f, 'g', -1, 64))
}

// encodeAny encodes a map value: a string, bool, int64 or float64.
func encodeAny(x any) *yaml.Node {
	switch x := x.(type) {
	case string:
		return scalarNode("!!str", x)
	case bool:
		return scalarNode("!!bool", strconv.FormatBool(x))
	case int64:
		return scalarNode("!!int", strconv.FormatInt(x, 10))
	case float64:
		return encodeFloat(x)
	}
	return scalarNode("!!str", fmt.Sprint(x))
}
