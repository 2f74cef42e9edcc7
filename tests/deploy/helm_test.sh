#!/usr/bin/env bash
# The Helm chart (deploy/helm/noisegate) with real Helm: it lints, refuses to render without
# a broker, renders probes on /healthz and /readyz on the port of metrics_listen, keeps secrets
# out of the ConfigMap, rolls pods when the run config changes (not the rules), renders rules
# and a run config that noisegate accepts, alerts on noisegate itself that promtool accepts and
# its unit tests pass, objects the Kubernetes API types accept, and renders its notes whatever
# the rules are.
#   helm_test.sh HELM NOISEGATE
set -euo pipefail
HELM=$1
NG=$(realpath "$2")
CHART=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../deploy/helm/noisegate" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "helm_test: FAIL: $*" >&2
  exit 1
}
PY=/usr/bin/python3  # Debian's, with python3-yaml (tools/setup.sh)

"$HELM" lint "$CHART" --set kafka.bootstrapServers=kafka:9092 >"$work/lint.out" 2>&1 ||
  { cat "$work/lint.out"; fail "helm lint"; }
if "$HELM" template t "$CHART" >/dev/null 2>"$work/err"; then fail "rendered without kafka.bootstrapServers"; fi
grep -q "kafka.bootstrapServers is required" "$work/err" || fail "no clear error without a broker: $(cat "$work/err")"

cat >"$work/values.yaml" <<'EOV'
kafka:
  bootstrapServers: kafka-0:9093,kafka-1:9093
  properties:
    security.protocol: SASL_SSL
    sasl.mechanism: SCRAM-SHA-512
    sasl.username: noisegate
  secretEnv:
    - {name: NOISEGATE_KAFKA_SASL_PASSWORD, secretName: kafka-creds, secretKey: password}
runConfig:
  group: ng-prod
  partitions: 12
  partition_by: [cluster]
  commit_interval: 1s
  idle_timeout: 10s
  shutdown_timeout: 30s
  metrics_listen: 0.0.0.0:9464
EOV
"$HELM" template rel "$CHART" -f "$work/values.yaml" >"$work/out.yaml" || fail "helm template"
"$PY" - "$work/out.yaml" "$work" <<'EOP' || fail "rendered manifests"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
def need(cond, what):
    if not cond:
        sys.exit("helm_test: " + what)
dep = by[("Deployment", "rel-noisegate")]
pod = dep["spec"]["template"]["spec"]
c = pod["containers"][0]
need(c["livenessProbe"]["httpGet"]["path"] == "/healthz", "liveness probe is not /healthz")
need(c["readinessProbe"]["httpGet"]["path"] == "/readyz", "readiness probe is not /readyz")
need(c["args"][:1] == ["run"], "container does not run noisegate run")
need(pod["initContainers"][0]["args"][0] == "check", "no rules check before start")
need(pod["terminationGracePeriodSeconds"] > 30, "grace period not above shutdown_timeout")
env = {e["name"]: e for e in c.get("env", [])}
need(env["NOISEGATE_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] ==
     {"name": "kafka-creds", "key": "password"}, "password not taken from the Secret")
cm = by[("ConfigMap", "rel-noisegate")]
need("password" not in cm["data"]["run.yaml"], "a secret reached the ConfigMap")
run = yaml.safe_load(cm["data"]["run.yaml"])
need(run["kafka"]["bootstrap.servers"] == "kafka-0:9093,kafka-1:9093", "bootstrap servers")
need(run["kafka"]["security.protocol"] == "SASL_SSL", "kafka properties not passed")
need(run["group"] == "ng-prod" and run["partition_by"] == ["cluster"], "runConfig not passed")
need(("Job", "rel-noisegate-topics") in by, "no topics job")
need(by[("Job", "rel-noisegate-topics")]["metadata"]["annotations"]["helm.sh/hook"] ==
     "pre-install,pre-upgrade", "topics job is not a pre-install/upgrade hook")
# The topics Job gets the rules too: it creates their silences input, compacted.
job = by[("Job", "rel-noisegate-topics")]["spec"]["template"]["spec"]["containers"][0]
need("--rules" in job["args"], "the topics job is not given the rules")
topics_cm = by[("ConfigMap", "rel-noisegate-topics")]
need(topics_cm["data"].get("rules.yaml") == cm["data"]["rules.yaml"],
     "the topics job's rules are not the release's")
need(("PodDisruptionBudget", "rel-noisegate") in by, "no PodDisruptionBudget")
open(sys.argv[2] + "/rules.yaml", "w").write(cm["data"]["rules.yaml"])
open(sys.argv[2] + "/run.yaml", "w").write(cm["data"]["run.yaml"])
EOP
"$NG" check "$work/rules.yaml" --config "$work/run.yaml" >/dev/null || fail "noisegate rejects the rendered rules or run config"

# Other rules: the same checksum (the pods reload the rules in place, they do not roll);
# another run config: a new checksum, so the Deployment rolls.
checksum() {
  "$PY" -c 'import sys,yaml; print([d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"]=="Deployment"][0]["spec"]["template"]["metadata"]["annotations"]["checksum/config"])' "$1"
}
sum1=$(checksum "$work/out.yaml")
printf 'inputs:\n  - {topic: other, format: alertmanager}\n' >"$work/other-rules.yaml"
"$HELM" template rel "$CHART" -f "$work/values.yaml" --set-file rules="$work/other-rules.yaml" >"$work/out2.yaml"
[[ $sum1 == "$(checksum "$work/out2.yaml")" ]] || fail "changing the rules rolls the pods (they reload in place)"
"$HELM" template rel "$CHART" -f "$work/values.yaml" --set runConfig.commit_interval=2s >"$work/out3.yaml"
[[ $sum1 != "$(checksum "$work/out3.yaml")" ]] || fail "changing the run config does not roll the pods"
# Pod Security "restricted" for every container (the Deployment's and the topics Job's), each
# with resources; a startup probe before liveness counts.
"$PY" - "$work/out.yaml" <<'EOP' || fail "not Pod Security restricted"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
pods = [d["spec"]["template"]["spec"] for d in docs if d["kind"] in ("Deployment", "Job")]
assert len(pods) == 2, [d["kind"] for d in docs]
for pod in pods:
    psc = pod["securityContext"]
    assert psc["runAsNonRoot"] is True and psc["seccompProfile"]["type"] == "RuntimeDefault", psc
    for c in pod.get("initContainers", []) + pod["containers"]:
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False, c["name"]
        assert sc["capabilities"]["drop"] == ["ALL"], c["name"]
        assert sc["runAsNonRoot"] is True and sc["readOnlyRootFilesystem"] is True, c["name"]
        assert c["resources"]["requests"] and c["resources"]["limits"]["memory"], c["name"]
main = [d for d in docs if d["kind"] == "Deployment"][0]["spec"]["template"]["spec"]["containers"][0]
assert main["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}, main
assert main["startupProbe"]["failureThreshold"] * main["startupProbe"]["periodSeconds"] >= 120
EOP

# Rules from a ConfigMap of the user's: the pod reads rules.yaml from it (projected, so a change
# reaches the pod and reloads) and run.yaml from the chart's, which no longer holds rules.
# ServiceMonitor labels for kube-prometheus-stack's selector.
"$HELM" template rel "$CHART" -f "$work/values.yaml" --set rulesConfigMap.name=team-rules \
  --set rulesConfigMap.key=noisegate.yaml --set serviceMonitor.enabled=true \
  --set serviceMonitor.labels.release=kps >"$work/ext.yaml" || fail "helm template with rulesConfigMap"
"$PY" - "$work/ext.yaml" <<'EOP' || fail "rules from an existing ConfigMap"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
dep = [d for d in docs if d["kind"] == "Deployment"][0]
vol = dep["spec"]["template"]["spec"]["volumes"][0]["projected"]["sources"]
maps = {s["configMap"]["name"]: s["configMap"]["items"] for s in vol}
assert maps["rel-noisegate"] == [{"key": "run.yaml", "path": "run.yaml"}], maps
assert maps["team-rules"] == [{"key": "noisegate.yaml", "path": "rules.yaml"}], maps
cm = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "rel-noisegate"][0]
assert "rules.yaml" not in cm["data"], cm["data"].keys()
sm = [d for d in docs if d["kind"] == "ServiceMonitor"][0]
assert sm["metadata"]["labels"]["release"] == "kps", sm["metadata"]["labels"]
# (The topics Job has no rules then: it runs before anything, and the ConfigMap is the user's.)
job = [d for d in docs if d["kind"] == "Job"][0]["spec"]["template"]["spec"]["containers"][0]
assert "--rules" not in job["args"], job["args"]
EOP

# The HTTP intake: off by default; with a listen address, a container port and a Service port
# follow it, and a token Secret is mounted and named in the run config.
"$PY" - "$work/out.yaml" <<'EOP' || fail "an intake port without the intake"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
svc = [d for d in docs if d["kind"] == "Service"][0]
assert [p["name"] for p in svc["spec"]["ports"]] == ["metrics"], svc["spec"]["ports"]
EOP
"$HELM" template rel "$CHART" -f "$work/values.yaml" --set runConfig.intake.listen=0.0.0.0:9093 \
  --set intakeAuth.bearerTokenSecret.name=intake-token >"$work/intake.yaml" ||
  fail "helm template with the intake on"
"$PY" - "$work/intake.yaml" "$work" <<'EOP' || fail "the intake's port, Service and token"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
pod = [d for d in docs if d["kind"] == "Deployment"][0]["spec"]["template"]["spec"]
c = pod["containers"][0]
assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"metrics": 9464, "intake": 9093}
svc = [d for d in docs if d["kind"] == "Service"][0]
assert {"name": "intake", "port": 9093, "targetPort": "intake"} in svc["spec"]["ports"], svc
vol = [v for v in pod["volumes"] if v["name"] == "intake-token"][0]
assert vol["secret"] == {"secretName": "intake-token", "items": [{"key": "token", "path": "token"}]}
assert {"name": "intake-token", "mountPath": "/etc/noisegate-intake", "readOnly": True} in c["volumeMounts"]
cm = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "rel-noisegate"][0]
run = yaml.safe_load(cm["data"]["run.yaml"])
assert run["intake"] == {"listen": "0.0.0.0:9093", "bearer_token_file": "/etc/noisegate-intake/token"}, run
open(sys.argv[2] + "/intake-run.yaml", "w").write(cm["data"]["run.yaml"])
EOP
"$NG" check "$work/rules.yaml" --config "$work/intake-run.yaml" >/dev/null ||
  fail "noisegate rejects the rendered run config with the intake"
if "$HELM" template rel "$CHART" -f "$work/values.yaml" --set runConfig.intake.listen=0.0.0.0:0 \
  >/dev/null 2>"$work/err"; then fail "rendered an intake on port 0 (the Service needs a port)"; fi

# The port follows metrics_listen: the container port, the Service and (by name) the probes.
"$HELM" template rel "$CHART" -f "$work/values.yaml" --set runConfig.metrics_listen=0.0.0.0:9100 \
  >"$work/port.yaml" || fail "helm template with metrics_listen 0.0.0.0:9100"
"$PY" - "$work/port.yaml" <<'EOP' || fail "the port does not follow metrics_listen"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
dep = [d for d in docs if d["kind"] == "Deployment"][0]
c = dep["spec"]["template"]["spec"]["containers"][0]
ports = {p["name"]: p["containerPort"] for p in c["ports"]}
assert ports == {"metrics": 9100}, ports
assert c["livenessProbe"]["httpGet"]["port"] == "metrics"
assert c["readinessProbe"]["httpGet"]["port"] == "metrics"
svc = [d for d in docs if d["kind"] == "Service"][0]
assert svc["spec"]["ports"][0]["port"] == 9100, svc["spec"]["ports"]
EOP
if "$HELM" template rel "$CHART" -f "$work/values.yaml" --set runConfig.metrics_listen= \
  >/dev/null 2>"$work/err"; then fail "rendered without a metrics port for the probes"; fi
grep -q "metrics_listen" "$work/err" || fail "no clear error without metrics_listen: $(cat "$work/err")"

# values.schema.json: a mistyped key or a wrong type is refused, naming it.
if "$HELM" template rel "$CHART" -f "$work/values.yaml" --set replicaCont=3 >/dev/null 2>"$work/err"; then
  fail "a mistyped value key was accepted"
fi
grep -q "replicaCont" "$work/err" || fail "the schema error does not name the key: $(cat "$work/err")"
if "$HELM" template rel "$CHART" -f "$work/values.yaml" --set-string replicaCount=two >/dev/null 2>"$work/err"; then
  fail "replicaCount=two was accepted"
fi
grep -q "/replicaCount" "$work/err" || fail "the schema error does not name replicaCount: $(cat "$work/err")"

# The PrometheusRule on noisegate itself: valid for Prometheus (promtool check rules) and each
# alert firing on its failure and not on a healthy replica (promtool test rules, with the unit
# tests in noisegate_alerts_test.yaml). Off by default.
"$HELM" template rel "$CHART" -f "$work/values.yaml" | grep -q "kind: PrometheusRule" &&
  fail "a PrometheusRule without prometheusRule.enabled"
if "$HELM" template rel "$CHART" -f "$work/values.yaml" --set prometheusRule.enabled=true \
  >/dev/null 2>"$work/err"; then fail "a PrometheusRule without the ServiceMonitor its alerts select by"; fi
grep -q "prometheusRule.enabled needs serviceMonitor.enabled" "$work/err" ||
  fail "no clear error for a PrometheusRule without a ServiceMonitor: $(cat "$work/err")"
mkdir "$work/alerts"
"$HELM" template rel "$CHART" -f "$work/values.yaml" --namespace ops --set prometheusRule.enabled=true \
  --set serviceMonitor.enabled=true \
  --set prometheusRule.labels.release=kps --show-only templates/prometheusrule.yaml \
  >"$work/alerts/rendered.yaml" || fail "helm template with prometheusRule.enabled"
"$PY" - "$work/alerts/rendered.yaml" "$work/alerts/rules.yaml" <<'EOP' || fail "the PrometheusRule"
import sys, yaml
rule = yaml.safe_load(open(sys.argv[1]))
assert rule["kind"] == "PrometheusRule" and rule["metadata"]["labels"]["release"] == "kps", rule["metadata"]
yaml.safe_dump({"groups": rule["spec"]["groups"]}, open(sys.argv[2], "w"), sort_keys=False)
EOP
cp "$(dirname "${BASH_SOURCE[0]}")/noisegate_alerts_test.yaml" "$work/alerts/"
promtool check rules "$work/alerts/rules.yaml" >"$work/promtool.out" 2>&1 ||
  { cat "$work/promtool.out"; fail "promtool check rules"; }
promtool test rules "$work/alerts/noisegate_alerts_test.yaml" >"$work/promtool.out" 2>&1 ||
  { cat "$work/promtool.out"; fail "promtool test rules"; }

# The Grafana dashboard: a ConfigMap the dashboard sidecar picks up, whose JSON queries are
# PromQL that Prometheus parses (promtool, as recording rules) and name only metrics noisegate
# exports (those its source registers); the PrometheusRule's alerts too.
"$HELM" template rel "$CHART" -f "$work/values.yaml" --set grafanaDashboard.enabled=true \
  --set grafanaDashboard.annotations.grafana_folder=SRE --show-only templates/dashboard.yaml \
  >"$work/dashboard.yaml" || fail "helm template with grafanaDashboard.enabled"
grep -ho 'Name("noisegate_[a-z_]*")' "$(dirname "${BASH_SOURCE[0]}")"/../../processor/kafka/*.h \
  "$(dirname "${BASH_SOURCE[0]}")"/../../processor/kafka/*.cc | cut -d'"' -f2 | sort -u >"$work/exported.txt"
[[ $(wc -l <"$work/exported.txt") -gt 10 ]] || fail "found no metric names in processor/kafka"
"$PY" - "$work/dashboard.yaml" "$work/alerts/rules.yaml" "$work/exported.txt" "$work/queries.yaml" <<'EOP' ||
import json, re, sys, yaml
cm = yaml.safe_load(open(sys.argv[1]))
assert cm["metadata"]["labels"]["grafana_dashboard"] == "1", cm["metadata"]
assert cm["metadata"]["annotations"]["grafana_folder"] == "SRE", cm["metadata"]
dash = json.loads(cm["data"]["rel-noisegate.json"])
assert dash["uid"] == "rel-noisegate" and dash["title"] == "noisegate (rel-noisegate)", dash["uid"]
exported = set(open(sys.argv[3]).read().split())
exported |= {n + s for n in exported for s in ("_bucket", "_sum", "_count")}
exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
assert len(exprs) >= 15, len(exprs)
alerts = [r["expr"] for g in yaml.safe_load(open(sys.argv[2]))["groups"] for r in g["rules"]]
for e in exprs + alerts:
    for name in re.findall(r"\bnoisegate_[a-z_]+", e):
        assert name in exported, f"{name} is not a metric noisegate exports: {e}"
sub = lambda e: (e.replace("$namespace", "ops").replace("$service", "rel-noisegate")
                 .replace("$__rate_interval", "2m"))
rules = [{"record": f"dashboard:query{i}", "expr": sub(e)} for i, e in enumerate(exprs)]
yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, open(sys.argv[4], "w"))
EOP
  fail "the Grafana dashboard"
promtool check rules "$work/queries.yaml" >"$work/promtool.out" 2>&1 ||
  { cat "$work/promtool.out"; fail "a dashboard query is not PromQL"; }

# Every object rendered, with every optional part on, is valid for the Kubernetes API (and the
# Prometheus Operator's): decoded strictly into the API types (k8svalidate/, built from the Go
# module proxy), names and labels checked. A field the API does not know is refused.
export PATH=$PATH:/usr/local/go/bin
(cd "$(dirname "${BASH_SOURCE[0]}")/k8svalidate" && GOFLAGS=-mod=mod go build -o "$work/k8s-validate" .) ||
  fail "building k8svalidate"
"$HELM" template rel "$CHART" -f "$work/values.yaml" --set prometheusRule.enabled=true \
  --set serviceMonitor.enabled=true --set grafanaDashboard.enabled=true >"$work/all.yaml" ||
  fail "helm template with every part on"
for f in out ext port all intake; do
  "$work/k8s-validate" "$work/$f.yaml" >/dev/null 2>"$work/err" ||
    fail "$f.yaml is not valid for the Kubernetes API: $(cat "$work/err")"
done
for typo in replica Replicas; do
  sed "s/^\\(  *\\)replicas:/\\1$typo:/" "$work/all.yaml" >"$work/typo.yaml"
  if "$work/k8s-validate" "$work/typo.yaml" 2>"$work/err"; then fail "k8svalidate accepted $typo:"; fi
  grep -q "unknown field \"spec.$typo\"" "$work/err" || fail "k8svalidate does not name $typo: $(cat "$work/err")"
done

# NOTES.txt renders whatever the rules are (helm template renders it too): without inputs, or
# rules that are not YAML, it warns instead of failing the install. Its text is read from a
# copy of the chart where it is an ordinary template (--debug prints it).
cp -r "$CHART" "$work/chart"
cp "$work/chart/templates/NOTES.txt" "$work/chart/templates/notes-preview.txt"
for rules in 'correlate: []' 'inputs: [' 'inputs: [{topic: a, format: alertmanager}]'; do
  printf '%s\n' "$rules" >"$work/r.yaml"
  "$HELM" template rel "$CHART" -f "$work/values.yaml" --set-file rules="$work/r.yaml" >/dev/null 2>"$work/err" ||
    fail "helm template fails with rules '$rules': $(cat "$work/err")"
  "$HELM" template rel "$work/chart" -f "$work/values.yaml" --set-file rules="$work/r.yaml" \
    --show-only templates/notes-preview.txt --debug >"$work/notes.txt" 2>&1 || true
  case $rules in
    'correlate: []') grep -q 'WARNING: the rules have no `inputs`' "$work/notes.txt" || fail "no warning without inputs: $(cat "$work/notes.txt")" ;;
    'inputs: [') grep -q 'WARNING: the rules do not parse as YAML' "$work/notes.txt" || fail "no warning for rules that do not parse" ;;
    *) grep -q 'is consuming 1 input topic(s)' "$work/notes.txt" && ! grep -q WARNING "$work/notes.txt" ||
      fail "notes for good rules: $(cat "$work/notes.txt")" ;;
  esac
done
# With the intake on: where to point the senders, and a warning while it asks no credentials.
"$HELM" template rel "$work/chart" -f "$work/values.yaml" --set runConfig.intake.listen=0.0.0.0:9093 \
  --show-only templates/notes-preview.txt --debug >"$work/notes.txt" 2>&1 || true
grep -q 'webhooks .* to http://rel-noisegate.default:9093/webhook/<input topic>' "$work/notes.txt" ||
  fail "the notes do not say where the intake is: $(cat "$work/notes.txt")"
grep -q 'WARNING: the intake asks no credentials' "$work/notes.txt" || fail "no warning for an open intake"
"$HELM" template rel "$work/chart" -f "$work/values.yaml" --set runConfig.intake.listen=0.0.0.0:9093 \
  --set intakeAuth.bearerTokenSecret.name=t --show-only templates/notes-preview.txt --debug >"$work/notes.txt" 2>&1 || true
if grep -q 'WARNING' "$work/notes.txt"; then fail "a warning although the intake asks a token"; fi
echo "helm_test: passed ($("$HELM" version --short))"
