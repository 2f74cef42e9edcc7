// k8s-validate: checks rendered Kubernetes objects against the API types of the release they
// target, as the API server's decoder would: every document decodes strictly (no unknown or
// duplicate field, field names matched case-sensitively, every value of its field's type) into
// the typed object its apiVersion and kind name; names, labels, annotation keys and ports are
// valid. It is not the API server's whole validation (no defaulting, no cross-field rules but
// the few in checkKind). It reads the multi-document YAML that
// `helm template` prints and names each problem by document, kind and name.
//
//	k8s-validate FILE   (exit 0: all valid; 1: problems, listed on stderr; 2: usage)
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// The kinds a chart may render, by apiVersion and kind.
var kinds = map[string]func() any{
	"v1/ConfigMap":                             func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                                func() any { return &corev1.Secret{} },
	"v1/Service":                               func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                        func() any { return &corev1.ServiceAccount{} },
	"apps/v1/Deployment":                       func() any { return &appsv1.Deployment{} },
	"batch/v1/Job":                             func() any { return &batchv1.Job{} },
	"policy/v1/PodDisruptionBudget":            func() any { return &policyv1.PodDisruptionBudget{} },
	"rbac.authorization.k8s.io/v1/Role":        func() any { return &rbacv1.Role{} },
	"rbac.authorization.k8s.io/v1/RoleBinding": func() any { return &rbacv1.RoleBinding{} },
	"monitoring.coreos.com/v1/ServiceMonitor":  func() any { return &monitoringv1.ServiceMonitor{} },
	"monitoring.coreos.com/v1/PrometheusRule":  func() any { return &monitoringv1.PrometheusRule{} },
}

// Splits a multi-document YAML stream at lines that are exactly "---".
func documents(r io.Reader) ([][]byte, error) {
	var docs [][]byte
	var cur bytes.Buffer
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimRight(line, " ") == "---" {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
			cur.Reset()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	docs = append(docs, cur.Bytes())
	return docs, sc.Err()
}

// Problems with one document, or nil; `what` names it in messages.
func check(doc []byte) (what string, problems []string) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return "?", []string{"not YAML: " + err.Error()}
	}
	what = head.Kind + " " + head.Metadata.Name
	newObj, ok := kinds[head.APIVersion+"/"+head.Kind]
	if !ok {
		return what, []string{fmt.Sprintf("unknown apiVersion/kind %s/%s", head.APIVersion, head.Kind)}
	}
	// Strict: duplicate keys are refused by the YAML step, unknown fields by the JSON one.
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return what, []string{err.Error()}
	}
	obj := newObj()
	// As the API server decodes: field names match case-sensitively, unknown ones are errors.
	strict, err := kjson.UnmarshalStrict(js, obj)
	if err != nil {
		return what, []string{err.Error()}
	}
	for _, e := range strict {
		problems = append(problems, e.Error())
	}
	meta := obj.(metav1.Object)
	nameCheck := validation.IsDNS1123Subdomain
	if head.Kind == "Service" {
		nameCheck = validation.IsDNS1035Label // a Service's name is a DNS label
	}
	for _, msg := range nameCheck(meta.GetName()) {
		problems = append(problems, "metadata.name: "+msg)
	}
	for k := range meta.GetAnnotations() {
		for _, msg := range validation.IsQualifiedName(k) {
			problems = append(problems, fmt.Sprintf("annotation %q: %s", k, msg))
		}
	}
	for k, v := range meta.GetLabels() {
		for _, msg := range validation.IsQualifiedName(k) {
			problems = append(problems, fmt.Sprintf("label %q: %s", k, msg))
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			problems = append(problems, fmt.Sprintf("label %q value %q: %s", k, v, msg))
		}
	}
	problems = append(problems, checkKind(obj)...)
	return what, problems
}

// Checks of the fields the API server validates that strict decoding cannot see.
func checkKind(obj any) []string {
	var problems []string
	pod := func(path string, spec *corev1.PodSpec) {
		if len(spec.Containers) == 0 {
			problems = append(problems, path+".containers: at least one container")
		}
		for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
			for _, msg := range validation.IsDNS1123Label(c.Name) {
				problems = append(problems, fmt.Sprintf("%s container %q: %s", path, c.Name, msg))
			}
			if c.Image == "" {
				problems = append(problems, fmt.Sprintf("%s container %q: no image", path, c.Name))
			}
			for _, p := range c.Ports {
				if p.ContainerPort < 1 || p.ContainerPort > 65535 {
					problems = append(problems, fmt.Sprintf("%s container %q: port %d", path, c.Name, p.ContainerPort))
				}
				if p.Name != "" {
					for _, msg := range validation.IsValidPortName(p.Name) {
						problems = append(problems, fmt.Sprintf("%s port %q: %s", path, p.Name, msg))
					}
				}
			}
		}
	}
	switch o := obj.(type) {
	case *appsv1.Deployment:
		if o.Spec.Selector == nil {
			problems = append(problems, "spec.selector: required")
		} else {
			for k, v := range o.Spec.Selector.MatchLabels {
				if o.Spec.Template.Labels[k] != v {
					problems = append(problems, fmt.Sprintf("spec.selector %s=%s does not select the pod template", k, v))
				}
			}
		}
		pod("spec.template.spec", &o.Spec.Template.Spec)
	case *batchv1.Job:
		pod("spec.template.spec", &o.Spec.Template.Spec)
		if rp := o.Spec.Template.Spec.RestartPolicy; rp != corev1.RestartPolicyNever && rp != corev1.RestartPolicyOnFailure {
			problems = append(problems, fmt.Sprintf("spec.template.spec.restartPolicy: %q (a Job needs Never or OnFailure)", rp))
		}
	case *corev1.Service:
		for _, p := range o.Spec.Ports {
			if p.Port < 1 || p.Port > 65535 {
				problems = append(problems, fmt.Sprintf("spec.ports %q: port %d", p.Name, p.Port))
			}
		}
	}
	return problems
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: k8s-validate FILE")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8s-validate:", err)
		os.Exit(2)
	}
	docs, err := documents(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8s-validate:", err)
		os.Exit(2)
	}
	bad, n := 0, 0
	for i, doc := range docs {
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		n++
		what, problems := check(doc)
		for _, p := range problems {
			fmt.Fprintf(os.Stderr, "document %d (%s): %s\n", i+1, what, p)
			bad++
		}
	}
	if n == 0 {
		fmt.Fprintln(os.Stderr, "k8s-validate:", errors.New("no objects"))
		os.Exit(1)
	}
	if bad > 0 {
		os.Exit(1)
	}
	fmt.Printf("k8s-validate: %d objects valid\n", n)
}

func stripComments(doc []byte) []byte {
	var out bytes.Buffer
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			out.WriteString(line + "\n")
		}
	}
	return out.Bytes()
}
