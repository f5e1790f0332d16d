{{- define "worker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "worker.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "worker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "worker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "worker.labels" -}}
{{ include "worker.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: temporal-worker
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{- define "worker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "worker.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "worker.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/*
The Kubernetes user the worker is in a target cluster: GKE names a Google service account by its
email. The worker reaches every cluster through `gcloud container clusters get-credentials`
(gke-gcloud-auth-plugin), never with its ServiceAccount token, so that is the identity RBAC sees,
in this cluster as in any other.
*/}}
{{- define "worker.rbacUser" -}}
{{- required "rbac.create needs rbac.user or serviceAccount.gcpServiceAccount: the Google service account the worker acts as" (.Values.rbac.user | default .Values.serviceAccount.gcpServiceAccount) -}}
{{- end -}}

{{/* The subject every binding grants to. */}}
{{- define "worker.subject" -}}
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: {{ include "worker.rbacUser" . | quote }}
{{- end -}}
