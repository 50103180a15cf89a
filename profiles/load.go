package profiles

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed examples/*.yaml
var examplesFS embed.FS

// maxExtends bounds a chain of extends.
const maxExtends = 8

// Example is an embedded example profile.
type Example struct {
	Name        string // what --profile takes, e.g. "local"
	Description string // the file's description
}

// Examples lists the embedded example profiles, sorted by name. It reads only their
// descriptions: it needs no environment variables.
func Examples() []Example {
	entries, err := fs.ReadDir(examplesFS, "examples")
	if err != nil {
		panic(fmt.Sprintf("profiles: embedded examples: %v", err)) // cannot happen: embedded at build time
	}
	var out []Example
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".yaml")
		if !ok {
			continue
		}
		data, _ := examplesFS.ReadFile("examples/" + e.Name())
		var head struct {
			Description string `yaml:"description"`
		}
		_ = yaml.Unmarshal(data, &head) // examples are tested to parse
		out = append(out, Example{Name: name, Description: head.Description})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ExampleYAML returns the text of the embedded example name, as written (before expansion).
func ExampleYAML(name string) ([]byte, bool) {
	b, err := examplesFS.ReadFile("examples/" + name + ".yaml")
	return b, err == nil
}

func exampleNames() []string {
	var names []string
	for _, e := range Examples() {
		names = append(names, e.Name)
	}
	return names
}

// source is one profile file.
type source struct {
	label    string // for errors: the path as given, or "embedded:<name>.yaml"
	name     string // default profile name: file name without extension
	dir      string // directory for relative extends; "" for embedded
	embedded bool
	data     []byte
}

// isPathLike reports whether s must be a path rather than an example name.
func isPathLike(s string) bool {
	return strings.ContainsAny(s, `/\`) || strings.HasSuffix(s, ".yaml") || strings.HasSuffix(s, ".yml")
}

func baseName(p string) string {
	b := filepath.Base(p)
	return strings.TrimSuffix(b, filepath.Ext(b))
}

// open finds nameOrPath: an embedded example unless it looks like a path; a file otherwise.
// from is the profile that extends it (nil at the top): paths are relative to its directory,
// and an embedded profile can only extend embedded ones.
func open(nameOrPath string, from *source) (*source, error) {
	if nameOrPath == "" {
		return nil, errors.New("no profile given: want the name of an embedded example (" + strings.Join(exampleNames(), ", ") + ") or a path to a YAML file")
	}
	if !isPathLike(nameOrPath) {
		if b, ok := ExampleYAML(nameOrPath); ok {
			return &source{label: "embedded:" + nameOrPath + ".yaml", name: nameOrPath, embedded: true, data: b}, nil
		}
	}
	if from != nil && from.embedded {
		return nil, fmt.Errorf("no embedded example %q (embedded: %s)", nameOrPath, strings.Join(exampleNames(), ", "))
	}
	p := nameOrPath
	if from != nil && !filepath.IsAbs(p) {
		p = filepath.Join(from.dir, p)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !isPathLike(nameOrPath) {
			return nil, fmt.Errorf("profile %q: no embedded example of that name (embedded: %s) and no such file", nameOrPath, strings.Join(exampleNames(), ", "))
		}
		return nil, fmt.Errorf("reading profile: %w", err)
	}
	return &source{label: p, name: baseName(p), dir: filepath.Dir(p), data: b}, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parserErrors are the messages of yaml.v3's parser (as opposed to its scanner) that carry a
// line number.
var parserErrors = map[string]bool{
	"did not find expected <document start>": true, "did not find expected key": true,
	"did not find expected node content": true, "did not find expected '-' indicator": true,
	"did not find expected ',' or ']'": true, "did not find expected ',' or '}'": true,
}

// parse returns the top-level mapping of src.
func parse(src *source) (top *yaml.Node, err error) {
	defer func() {
		// The YAML parser reads untrusted input: turn a parser panic into an error.
		if r := recover(); r != nil {
			top, err = nil, &Error{File: src.label, Msg: fmt.Sprintf("not valid YAML (%v)", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(src.data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: src.label, Msg: "the profile is empty"}
		}
		return nil, yamlError(src, err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		line := next.Line
		if err != nil {
			return nil, yamlError(src, err)
		}
		return nil, &Error{File: src.label, Line: line, Msg: "a second YAML document (---): a profile is one document"}
	}
	if len(doc.Content) == 0 {
		return nil, &Error{File: src.label, Msg: "the profile is empty"}
	}
	top = doc.Content[0]
	if top.Kind != yaml.MappingNode {
		if isNull(top) {
			return nil, &Error{File: src.label, Msg: "the profile is empty"}
		}
		return nil, &Error{File: src.label, Line: top.Line, Msg: "want a mapping of keys (" +
			strings.Join(structKeys(reflect.TypeFor[Profile]()), ", ") + ") at the top level, got " + describe(top, top.Value)}
	}
	return top, nil
}

func yamlError(src *source, err error) error {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		if parserErrors[m[2]] {
			line++ // yaml.v3 reports the parser's (not the scanner's) marks 0-based
		}
		msg := "not valid YAML: " + m[2]
		// ${VAR} inside [ ] or { } reads as a flow mapping: the most likely mistake.
		lines := strings.Split(string(src.data), "\n")
		for _, l := range lines[min(max(0, line-2), len(lines)):min(len(lines), line+1)] {
			if strings.Contains(l, "${") && strings.ContainsAny(l, "[{") {
				msg += ` (inside [ ] or { }, quote ${VAR}: ["${CFBENCH_KAFKA_BROKERS}"])`
				break
			}
		}
		return &Error{File: src.label, Line: line, Msg: msg}
	}
	return &Error{File: src.label, Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
}

// topKey returns the value node of key k in mapping top, or nil.
func topKey(top *yaml.Node, k string) *yaml.Node {
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Kind == yaml.ScalarNode && top.Content[i].Value == k {
			return top.Content[i+1]
		}
	}
	return nil
}

type layer struct {
	src *source
	top *yaml.Node
}

// chain returns src and the profiles it extends, the most basic first.
func chain(src *source, getenv func(string) string) ([]layer, error) {
	var layers []layer
	seen := map[string]bool{}
	for {
		top, err := parse(src)
		if err != nil {
			return nil, err
		}
		layers = append(layers, layer{src, top})
		seen[src.label] = true
		ext := topKey(top, "extends")
		if ext == nil || isNull(ext) {
			break
		}
		if ext.Kind != yaml.ScalarNode {
			return nil, &Error{File: src.label, Line: ext.Line, Path: "extends", Msg: "want the name of an embedded example or a path to a profile, got " + describe(ext, "")}
		}
		name, err := expand(ext.Value, getenv)
		if err != nil {
			return nil, &Error{File: src.label, Line: ext.Line, Path: "extends", Msg: err.Error()}
		}
		if len(layers) > maxExtends {
			return nil, &Error{File: src.label, Line: ext.Line, Path: "extends", Msg: fmt.Sprintf("more than %d profiles extend each other", maxExtends)}
		}
		base, err := open(name, src)
		if err != nil {
			return nil, &Error{File: src.label, Line: ext.Line, Path: "extends", Msg: err.Error()}
		}
		if seen[base.label] {
			return nil, &Error{File: src.label, Line: ext.Line, Path: "extends", Msg: fmt.Sprintf("%s extends itself (through %s)", base.label, src.label)}
		}
		src = base
	}
	for i, j := 0, len(layers)-1; i < j; i, j = i+1, j-1 {
		layers[i], layers[j] = layers[j], layers[i]
	}
	return layers, nil
}

// Load reads the profile nameOrPath — the name of an embedded example ("local") or a path to a
// YAML file — and returns it with its extends applied, ${VAR} references expanded with getenv
// (os.Getenv in production), defaults applied, secrets read from their files or variables, and
// validated, matrix variants included. Every problem found is returned, each an *Error naming
// the file, line, key path and what is allowed.
//
// Load reads files only (the profile, the profiles it extends, secret files, CA files): it never
// talks to a network.
func Load(nameOrPath string, getenv func(string) string) (*Profile, error) {
	src, err := open(nameOrPath, nil)
	if err != nil {
		return nil, &Error{File: nameOrPath, Msg: err.Error()}
	}
	return loadSource(src, getenv)
}

// Parse is Load for a profile held in memory; file names it in errors, and a relative extends
// path is resolved against file's directory.
func Parse(file string, data []byte, getenv func(string) string) (*Profile, error) {
	return loadSource(&source{label: file, name: baseName(file), dir: filepath.Dir(file), data: data}, getenv)
}

func loadSource(src *source, getenv func(string) string) (*Profile, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	layers, err := chain(src, getenv)
	if err != nil {
		return nil, err
	}
	p := defaults()
	p.pos = map[string]pos{}
	var errs []error
	unset := map[string]bool{}
	for _, l := range layers {
		d := newDecoder(l.src.label, getenv)
		d.unset = unset
		d.decode(l.top, reflect.ValueOf(p).Elem(), "", "")
		errs = append(errs, d.errs...)
		for k, v := range d.pos {
			p.pos[k] = v
		}
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	leaf := layers[len(layers)-1]
	if topKey(leaf.top, "name") == nil {
		p.Name = leaf.src.name
	}
	p.Source = leaf.src.label
	p.applyDefaults()
	if errs := p.readSecrets(getenv); len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// readSecrets reads the secrets named by *_file and *_env keys.
func (p *Profile) readSecrets(getenv func(string) string) []error {
	var errs []error
	if f := p.Database.URLFile; f != "" {
		s, err := secretFromFile(f)
		if err != nil {
			errs = append(errs, p.errAt("database.url_file", "%v", err))
		}
		p.Database.URLFromFile = s
	}
	read := func(prefix, file, env string, dst *Secret) {
		switch {
		case file != "" && env != "":
			errs = append(errs, p.errAt(prefix+".client_secret_file", "set client_secret_file or client_secret_env, not both"))
		case file != "":
			s, err := secretFromFile(file)
			if err != nil {
				errs = append(errs, p.errAt(prefix+".client_secret_file", "%v", err))
			}
			*dst = s
		case env != "":
			if !conventionalEnvName(env) {
				// Not echoed: it may be the secret itself, written where its variable's name belongs.
				errs = append(errs, p.errAt(prefix+".client_secret_env", "want the name of an environment variable (upper-case letters, digits, _), not the secret itself; the value is not shown"))
				return
			}
			s, err := secretFromEnv(env, getenv)
			if err != nil {
				errs = append(errs, p.errAt(prefix+".client_secret_env", "%v", err))
			}
			*dst = s
		}
	}
	read("idp", p.IdP.ClientSecretFile, p.IdP.ClientSecretEnv, &p.IdP.ClientSecret)
	read("changefeed.sink", p.Changefeed.Sink.ClientSecretFile, p.Changefeed.Sink.ClientSecretEnv, &p.Changefeed.Sink.ClientSecret)
	return errs
}

var envNameRE = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)

// conventionalEnvName reports whether s looks like an environment variable's name, so that
// printing it cannot leak a secret pasted in its place.
func conventionalEnvName(s string) bool { return len(s) <= 128 && envNameRE.MatchString(s) }

// at returns where keyPath was set; else where a key inside it was set (preferring the
// profile's own file, then the latest line); else where its nearest parent was set.
func (p *Profile) at(keyPath string) pos {
	if ps, ok := p.pos[keyPath]; ok {
		return ps
	}
	var best pos
	found := false
	for k, ps := range p.pos {
		if !strings.HasPrefix(k, keyPath+".") && !strings.HasPrefix(k, keyPath+"[") {
			continue
		}
		better := !found ||
			(ps.file == p.Source) && (best.file != p.Source || ps.line > best.line) ||
			(ps.file != p.Source && best.file != p.Source && ps.line > best.line)
		if better {
			best, found = ps, true
		}
	}
	if found {
		return best
	}
	for k := keyPath; ; {
		if ps, ok := p.pos[k]; ok {
			return ps
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return pos{file: p.Source}
}

// errAt returns an *Error for keyPath located where it was set.
func (p *Profile) errAt(keyPath, format string, args ...any) error {
	ps := p.at(keyPath)
	return &Error{File: ps.file, Line: ps.line, Path: keyPath, Msg: fmt.Sprintf(format, args...)}
}
