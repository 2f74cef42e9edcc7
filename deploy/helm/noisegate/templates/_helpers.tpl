{{- define "noisegate.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "noisegate.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "noisegate.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "noisegate.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The run config file: runConfig plus the non-secret Kafka properties. */}}
{{- define "noisegate.runConfig" -}}
{{- $kafka := merge (dict "bootstrap.servers" (required "kafka.bootstrapServers is required" .Values.kafka.bootstrapServers)) .Values.kafka.properties -}}
{{- $own := dict "kafka" $kafka -}}
{{- if .Values.intakeAuth.bearerTokenSecret.name -}}
{{- $_ := set $own "intake" (merge (dict "bearer_token_file" "/etc/noisegate-intake/token") (.Values.runConfig.intake | default dict)) -}}
{{- end -}}
{{- toYaml (merge $own .Values.runConfig) -}}
{{- end -}}

{{/* The port of runConfig.intake.listen, where the HTTP intake answers; empty when it is off. */}}
{{- define "noisegate.intakePort" -}}
{{- $listen := (.Values.runConfig.intake | default dict).listen | default "" | toString -}}
{{- if $listen -}}
{{- $port := splitList ":" $listen | last -}}
{{- if not (regexMatch "^[1-9][0-9]*$" $port) -}}
{{- fail (printf "runConfig.intake.listen must be host:port with a fixed port (the Service needs it), got %q" $listen) -}}
{{- end -}}
{{- $port -}}
{{- end -}}
{{- end -}}

{{- define "noisegate.secretEnv" -}}
{{- range .Values.kafka.secretEnv }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ .secretKey }}
{{- end }}
{{- end -}}

{{/* The port of runConfig.metrics_listen (host:port or [v6]:port), where /metrics, /healthz
     and /readyz answer: the container port, the Service and the probes all follow it. */}}
{{- define "noisegate.metricsPort" -}}
{{- $listen := .Values.runConfig.metrics_listen | default "" | toString -}}
{{- $port := splitList ":" $listen | last -}}
{{- if not (regexMatch "^[0-9]+$" $port) -}}
{{- fail (printf "runConfig.metrics_listen must be host:port (the probes and the Service need it), got %q" $listen) -}}
{{- end -}}
{{- $port -}}
{{- end -}}

{{/* Every container runs as Pod Security "restricted" asks: no privilege escalation, no
     capabilities, a read-only root filesystem, not root. */}}
{{- define "noisegate.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{- define "noisegate.podSecurity" -}}
runAsNonRoot: true
runAsUser: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}
