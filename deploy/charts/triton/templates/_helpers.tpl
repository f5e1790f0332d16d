{{/*
Resource names: the release name itself. The pipeline's HPA (src/plan/helm-values.ts
tritonDeploymentName) targets the Deployment by the release name, so it is not prefixed with the
chart name (the sample's `triton-triton-inference-server` broke every rename of the HPA target).
*/}}
{{- define "triton.fullname" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "triton.name" -}}
{{- default "triton" .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "triton.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: stable for the life of the release (Deployment selectors are immutable). */}}
{{- define "triton.selectorLabels" -}}
app.kubernetes.io/name: {{ include "triton.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "triton.labels" -}}
{{ include "triton.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: inference-server
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "triton.chart" . }}
{{- end -}}

{{- define "triton.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "triton.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* tritonserver argv (the NGC image's entrypoint runs it). */}}
{{- define "triton.args" -}}
- tritonserver
- {{ printf "--model-repository=%s" (required "modelRepositoryPath is required" .Values.modelRepositoryPath) | quote }}
- {{ printf "--model-control-mode=%s" .Values.modelControlMode | quote }}
{{- if eq .Values.modelControlMode "explicit" }}
{{- if not .Values.models }}
{{- fail "modelControlMode explicit needs at least one entry in models (Triton would start with nothing loaded)" }}
{{- end }}
{{- range .Values.models }}
- {{ printf "--load-model=%s" . | quote }}
{{- end }}
{{- end }}
- {{ printf "--strict-model-config=%t" .Values.strictModelConfig | quote }}
- {{ printf "--log-verbose=%d" (int .Values.logVerbose) | quote }}
{{- if .Values.metrics.summaryLatencies }}
- "--metrics-config=summary_latencies=true"
{{- end }}
{{- range .Values.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end -}}
