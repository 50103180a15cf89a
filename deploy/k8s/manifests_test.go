// Package k8s_test checks the Kubernetes manifests of deploy/k8s: they parse, and the fields
// cfbench relies on agree with each other and with the profile they carry.
package k8s_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/cfbench/cfbench/profiles"
)

type meta struct {
	Name string `yaml:"name"`
}

type volumeMount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			FieldRef *struct {
				FieldPath string `yaml:"fieldPath"`
			} `yaml:"fieldRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	VolumeMounts []volumeMount `yaml:"volumeMounts"`
}

type object struct {
	APIVersion string            `yaml:"apiVersion"`
	Kind       string            `yaml:"kind"`
	Metadata   meta              `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		CompletionMode string   `yaml:"completionMode"`
		Completions    *int     `yaml:"completions"`
		Parallelism    *int     `yaml:"parallelism"`
		BackoffLimit   *int     `yaml:"backoffLimit"`
		AccessModes    []string `yaml:"accessModes"`
		Template       struct {
			Metadata struct {
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec struct {
				RestartPolicy  string      `yaml:"restartPolicy"`
				InitContainers []container `yaml:"initContainers"`
				Containers     []container `yaml:"containers"`
				Volumes        []struct {
					Name      string `yaml:"name"`
					ConfigMap *struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
					Secret *struct {
						SecretName string `yaml:"secretName"`
					} `yaml:"secret"`
					PersistentVolumeClaim *struct {
						ClaimName string `yaml:"claimName"`
					} `yaml:"persistentVolumeClaim"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// load parses every YAML document of every manifest, strictly (unknown fields are errors).
func load(t *testing.T) map[string]object {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	objs := map[string]object{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(false)
		for {
			var o object
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
				t.Fatalf("%s: a document without apiVersion, kind or metadata.name", f)
			}
			key := o.Kind + "/" + o.Metadata.Name
			if _, dup := objs[key]; dup {
				t.Fatalf("%s: %s defined twice", f, key)
			}
			objs[key] = o
		}
	}
	return objs
}

func TestManifests(t *testing.T) {
	objs := load(t)
	var job object
	for k, o := range objs {
		if o.Kind == "Job" {
			if job.Kind != "" {
				t.Fatalf("two Jobs (%s)", k)
			}
			job = o
		}
	}
	if job.Kind == "" || job.APIVersion != "batch/v1" {
		t.Fatal("no batch/v1 Job")
	}
	s := job.Spec
	if s.CompletionMode != "Indexed" {
		t.Errorf("completionMode %q, want Indexed (JOB_COMPLETION_INDEX gives each worker its index)", s.CompletionMode)
	}
	if s.Completions == nil || s.Parallelism == nil {
		t.Fatal("completions and parallelism must be set")
	}
	if *s.Completions != *s.Parallelism || *s.Completions < 1 {
		t.Fatalf("completions %d and parallelism %d must be equal: every worker runs at once", *s.Completions, *s.Parallelism)
	}
	n := *s.Completions
	if s.BackoffLimit == nil || *s.BackoffLimit != 0 || s.Template.Spec.RestartPolicy != "Never" {
		t.Errorf("backoffLimit %v, restartPolicy %q: want 0 and Never (a retried worker would write its share twice)", s.BackoffLimit, s.Template.Spec.RestartPolicy)
	}
	if len(s.Template.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(s.Template.Spec.Containers))
	}
	c := s.Template.Spec.Containers[0]
	cmd := strings.Join(append(append([]string{}, c.Command...), c.Args...), " ")
	env := map[string]string{}
	runID := ""
	for _, e := range c.Env {
		env[e.Name] = e.Value
		if e.Name == "CFBENCH_RUN_ID" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			runID = e.ValueFrom.FieldRef.FieldPath
		}
	}
	// Every pod of one Job, and no other Job, must get the same run id: the Job's uid label.
	if runID != "metadata.labels['batch.kubernetes.io/controller-uid']" {
		t.Errorf("env CFBENCH_RUN_ID from %q, want the fieldRef metadata.labels['batch.kubernetes.io/controller-uid'] (shared by the Job's pods, unique per Job)", runID)
	}
	if w, err := strconv.Atoi(env["WORKERS"]); err != nil || w != n {
		t.Errorf("env WORKERS = %q, want %d (= completions)", env["WORKERS"], n)
	}
	for _, want := range []string{"cfbench run", `--worker "$((JOB_COMPLETION_INDEX + 1))/${WORKERS}"`, "--out \"/results/worker-$((JOB_COMPLETION_INDEX + 1))\""} {
		if !strings.Contains(cmd, want) {
			t.Errorf("the container's command lacks %q:\n%s", want, cmd)
		}
	}

	// Volumes: each refers to an object defined here, and each mount to a volume.
	vols := map[string]string{} // volume name → object key
	for _, v := range s.Template.Spec.Volumes {
		switch {
		case v.ConfigMap != nil:
			vols[v.Name] = "ConfigMap/" + v.ConfigMap.Name
		case v.Secret != nil:
			vols[v.Name] = "Secret/" + v.Secret.SecretName
		case v.PersistentVolumeClaim != nil:
			vols[v.Name] = "PersistentVolumeClaim/" + v.PersistentVolumeClaim.ClaimName
		}
		if _, ok := objs[vols[v.Name]]; !ok {
			t.Errorf("volume %s refers to %s, which no manifest defines", v.Name, vols[v.Name])
		}
	}
	mounts := map[string]string{} // mount path → object key
	for _, ct := range append(s.Template.Spec.InitContainers, c) {
		for _, m := range ct.VolumeMounts {
			obj, ok := vols[m.Name]
			if !ok {
				t.Errorf("container %s mounts volume %s, which is not defined", ct.Name, m.Name)
			}
			mounts[m.MountPath] = obj
		}
	}

	// The profile: --profile names a key of the mounted ConfigMap.
	profPath := regexp.MustCompile(`--profile (\S+)`).FindStringSubmatch(cmd)
	if profPath == nil {
		t.Fatal("no --profile in the command")
	}
	cm, ok := objs[mounts[filepath.Dir(profPath[1])]]
	if !ok || cm.Kind != "ConfigMap" {
		t.Fatalf("--profile %s is not in a mounted ConfigMap", profPath[1])
	}
	profYAML, ok := cm.Data[filepath.Base(profPath[1])]
	if !ok {
		t.Fatalf("ConfigMap %s has no key %s", cm.Metadata.Name, filepath.Base(profPath[1]))
	}
	for _, ic := range s.Template.Spec.InitContainers {
		if strings.Join(ic.Args, " ") != "doctor --profile "+profPath[1] {
			t.Errorf("init container %s runs %q, want the doctor on the same profile", ic.Name, ic.Args)
		}
	}

	// Every file the profile reads from the secrets mount is a key of the mounted Secret. Then
	// the profile must load: the files are materialised in a temporary directory.
	var secretDir string
	var secret object
	for path, key := range mounts {
		if strings.HasPrefix(key, "Secret/") {
			secretDir, secret = path, objs[key]
		}
	}
	if secretDir == "" {
		t.Fatal("no Secret mounted")
	}
	tmp := t.TempDir()
	files := regexp.MustCompile(regexp.QuoteMeta(secretDir)+`/([A-Za-z0-9._-]+)`).FindAllStringSubmatch(profYAML, -1)
	if len(files) == 0 {
		t.Fatal("the profile reads no file from the Secret: credentials must come from files")
	}
	for _, f := range files {
		v, ok := secret.StringData[f[1]]
		if !ok {
			t.Errorf("the profile reads %s, but Secret %s has no key %s", f[0], secret.Metadata.Name, f[1])
			continue
		}
		if err := os.WriteFile(filepath.Join(tmp, f[1]), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p, err := profiles.Parse("profile.yaml", []byte(strings.ReplaceAll(profYAML, secretDir, tmp)), func(string) string { return "" })
	if err != nil {
		t.Fatalf("the ConfigMap's profile does not load: %v", err)
	}
	if p.Changefeed.Mode != profiles.ModeExisting {
		t.Errorf("changefeed.mode %s: several workers attach to one existing changefeed", p.Changefeed.Mode)
	}
	if p.Kafka.GroupID != "" {
		t.Error("kafka.group_id is set: every run of the Job would share that group; leave it empty so the group is cfbench-<CFBENCH_RUN_ID>")
	}
	if p.Changefeed.Options.Resolved <= 0 {
		t.Error("changefeed.options.resolved is off: the workers' drain fence needs resolved timestamps")
	}

	// Metrics: the port served is the one declared and annotated.
	addr := regexp.MustCompile(`--metrics-addr (\S*):(\d+)`).FindStringSubmatch(cmd)
	if addr == nil {
		t.Fatal("no --metrics-addr")
	}
	if !strings.Contains(cmd, "--metrics-allow-remote") && addr[1] != "127.0.0.1" {
		t.Error("--metrics-addr listens beyond loopback without --metrics-allow-remote: cfbench refuses it")
	}
	if len(c.Ports) != 1 || strconv.Itoa(c.Ports[0].ContainerPort) != addr[2] || s.Template.Metadata.Annotations["prometheus.io/port"] != addr[2] {
		t.Errorf("metrics port %s: containerPort %v and prometheus.io/port %q must match", addr[2], c.Ports, s.Template.Metadata.Annotations["prometheus.io/port"])
	}
}
